/** What a CLI command may touch, injected so tests run commands in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}
