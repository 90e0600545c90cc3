/**
 * Private files (the configuration and the password file) and the XMPP password they lead to.
 * Problems are phrased as "found ..." so the loader can prefix what was expected; none of them
 * ever quotes a file's content or an environment variable's value.
 */
import { open } from "node:fs/promises";
import type { SecretRef } from "./schema.js";

/** Far more than any password or config; a bigger file is the wrong file (or a device). */
const MAX_PRIVATE_BYTES = 256 * 1024;

export type ReadResult = { text: string; mode: number } | { problem: string };

function fsProblem(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return "found no such file";
  if (code === "EACCES" || code === "EPERM") return "found it unreadable (permission denied)";
  if (code === "EISDIR") return "found a directory";
  return `found it unreadable (${typeof code === "string" ? code : (error as Error).message})`;
}

export async function readPrivateFile(path: string): Promise<ReadResult> {
  try {
    const handle = await open(path, "r");
    try {
      // fstat on the open handle: the mode checked is that of the file actually read.
      const stat = await handle.stat();
      if (!stat.isFile()) return { problem: "found something that is not a regular file" };
      if (stat.size > MAX_PRIVATE_BYTES) {
        return { problem: `found a file larger than ${MAX_PRIVATE_BYTES / 1024} KiB` };
      }
      return { text: await handle.readFile("utf8"), mode: stat.mode };
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { problem: fsProblem(error) };
  }
}

/** A warning when group or others may open `path`; `why` says what the file exposes. */
export function permissionWarning(path: string, mode: number, why: string): string | undefined {
  // Windows has no such mode bits; Node reports a synthetic 0o666 there.
  if (process.platform === "win32" || (mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return `${path} is accessible to group or others (mode ${octal}) and ${why}: run chmod 600 ${path}`;
}

export type PasswordResult = { password: string; warning?: string } | { problem: string };

/** What each kind of reference promises, the start of any problem with it. */
export function passwordExpectation(ref: SecretRef): string {
  return "env" in ref
    ? "expected the XMPP password in an environment variable"
    : "expected a readable file holding the XMPP password";
}

export function passwordFromEnv(name: string, env: NodeJS.ProcessEnv): PasswordResult {
  const value = env[name];
  if (value === undefined) return { problem: `found ${name} not set` };
  if (value === "") return { problem: `found ${name} set but empty` };
  return { password: value };
}

export async function resolvePassword(
  ref: SecretRef,
  env: NodeJS.ProcessEnv,
): Promise<PasswordResult> {
  if ("env" in ref) return passwordFromEnv(ref.env, env);
  const read = await readPrivateFile(ref.file);
  if ("problem" in read) return read;
  // Trimmed: `echo secret > file` leaves a newline that is not part of the password.
  const password = read.text.trim();
  if (password === "") return { problem: "found an empty file" };
  const warning = permissionWarning(ref.file, read.mode, "holds the XMPP password");
  return warning === undefined ? { password } : { password, warning };
}
