/**
 * Structured logging (pino): one JSON object per line, which journald and log shippers keep
 * intact. Credentials are redacted by key wherever they appear in a logged object.
 */
import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

const REDACTED_KEYS = ["password", "passphrase", "secret", "token", "key", "credentials"];

export function createLogger(options: {
  level?: LevelWithSilent;
  /** File descriptor to write to; 2 (stderr) keeps stdout free for data. */
  fd?: number;
  name?: string;
}): Logger {
  return pino(
    {
      name: options.name ?? "iot-agent",
      level: options.level ?? "info",
      redact: {
        paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((k) => `*.${k}`)],
        censor: "[redacted]",
      },
    },
    pino.destination({ fd: options.fd ?? 2, sync: true }),
  );
}
