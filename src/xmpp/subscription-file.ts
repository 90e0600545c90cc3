/**
 * Chat subscriptions on disk, so that a restart does not quietly stop telemetry to whoever typed
 * `subscribe`: `{"version":1,"chat":["juliet@capulet.lit"]}`, replaced atomically at each change.
 */
import { readFile } from "node:fs/promises";
import { replaceFile, type FileOp } from "../core/atomic-file.js";
import { bareJid } from "../core/jid.js";

export const SUBSCRIPTIONS_FILE = "subscriptions.json";

/** The file cannot be read or written, or does not hold what saveChatSubscriptions writes. */
export class SubscriptionFileError extends Error {
  override readonly name = "SubscriptionFileError";

  constructor(
    readonly file: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`chat subscriptions ${file}: ${problem}`, options);
  }
}

/** The bare JIDs saved in `file`; none when there is no such file. */
export async function loadChatSubscriptions(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new SubscriptionFileError(file, `cannot be read: ${describe(cause)}`, { cause });
  }
  return decode(file, text);
}

export async function saveChatSubscriptions(file: string, jids: readonly string[]): Promise<void> {
  const text = `${JSON.stringify({ version: 1, chat: jids })}\n`;
  await replaceFile(file, text, failuresNamed);
}

function decode(file: string, text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new SubscriptionFileError(file, `is not valid JSON (${describe(cause)})`, { cause });
  }
  const { version, chat } = (typeof parsed === "object" && parsed !== null ? parsed : {}) as {
    version?: unknown;
    chat?: unknown;
  };
  if (version !== 1) {
    throw new SubscriptionFileError(
      file,
      `expected "version": 1, found ${JSON.stringify(version)}`,
    );
  }
  if (!Array.isArray(chat)) {
    throw new SubscriptionFileError(file, `expected "chat": a list of bare JIDs`);
  }
  return chat.map((jid: unknown, i) => {
    const bare = typeof jid === "string" ? bareJid(jid) : undefined;
    if (bare === undefined) {
      throw new SubscriptionFileError(
        file,
        `chat[${i}]: expected a bare JID, found ${JSON.stringify(jid)}`,
      );
    }
    return bare;
  });
}

const failuresNamed: FileOp = async (op, file, run) => {
  try {
    return await run();
  } catch (cause) {
    throw new SubscriptionFileError(file, `${op} failed: ${describe(cause)}`, { cause });
  }
};

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
