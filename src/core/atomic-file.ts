/**
 * Replacing a small file so that a crash at any moment leaves the old content or the new one,
 * never a mix or an empty file: write a temporary file next to it, fsync it, rename it over the
 * target, fsync the directory (without that, the rename itself may be lost on a power cut).
 * The temporary file is `<target>.tmp`; a reader should ignore or remove one left by a crash.
 */
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Runs one file operation, so that the caller's errors say which operation on which file
 * failed in the caller's own error type.
 */
export type FileOp = <T>(op: string, file: string, run: () => Promise<T>) => Promise<T>;

export function temporaryFileOf(target: string): string {
  return `${target}.tmp`;
}

/** Replaces `target` with `data` atomically; `fsynced` is called after each fsync (for counters). */
export async function replaceFile(
  target: string,
  data: string | Buffer,
  io: FileOp,
  fsynced: () => void = () => undefined,
): Promise<void> {
  const tmp = temporaryFileOf(target);
  const handle = await io("open", tmp, () => open(tmp, "w"));
  try {
    await io("write", tmp, () => handle.writeFile(data));
    await io("fsync", tmp, () => handle.sync());
    fsynced();
  } finally {
    await io("close", tmp, () => handle.close());
  }
  await io("rename", target, () => rename(tmp, target));
  await syncDirectory(dirname(target), io);
  fsynced();
}

/** Makes the directory's entries (a create, rename or unlink in it) durable. */
export async function syncDirectory(dir: string, io: FileOp): Promise<void> {
  const handle = await io("open", dir, () => open(dir, "r"));
  try {
    await io("fsync", dir, () => handle.sync());
  } finally {
    await io("close", dir, () => handle.close());
  }
}
