/**
 * Argument checks shared by the CLI commands. A UsageError names the option and what it expects;
 * the CLI prints it and exits with status 2.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parseCount(option: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${option} ${text}: expected a whole number of at least 1`);
  }
  return n;
}

const STANDARD_BAUDS = [
  1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
];

export function parseBaud(text: string): number {
  const n = Number(text);
  if (!STANDARD_BAUDS.includes(n)) {
    throw new UsageError(`--baud ${text}: expected one of ${STANDARD_BAUDS.join(", ")}`);
  }
  return n;
}
