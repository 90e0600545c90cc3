/**
 * A failing disk for a child process: test/support/eio-shim.c built into an LD_PRELOAD library.
 * While the trigger file exists, fsync and fdatasync (and write, with ops "sync,write") on files
 * under the chosen directory return EIO; removing the file ends the fault.
 */
import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const SOURCE = join(import.meta.dirname, "eio-shim.c");

/** Compiles the shim into `dir`; a clear error when no C compiler is installed. */
export async function buildEioShim(dir: string): Promise<string> {
  const out = join(dir, "eio-shim.so");
  try {
    await promisify(execFile)("gcc", ["-shared", "-fPIC", "-O2", "-o", out, SOURCE, "-ldl"]);
  } catch (error) {
    const why = (error as Error).message;
    throw new Error(`cannot build the EIO shim from ${SOURCE}: ${why}`, { cause: error });
  }
  return out;
}

export interface EioFault {
  /** Environment for the child: the shim preloaded, aimed at `dir`. */
  env: NodeJS.ProcessEnv;
  set(failing: boolean): Promise<void>;
}

export function eioFault(shim: string, dir: string, trigger: string, ops = "sync"): EioFault {
  return {
    env: {
      ...process.env,
      LD_PRELOAD: shim,
      EIO_DIR: dir,
      EIO_TRIGGER: trigger,
      EIO_OPS: ops,
      // With io_uring libuv would bypass libc, and the shim with it.
      UV_USE_IO_URING: "0",
    },
    set: (failing) => (failing ? writeFile(trigger, "") : rm(trigger, { force: true })),
  };
}
