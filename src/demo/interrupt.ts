/**
 * Ctrl-C on a terminal normally sends SIGINT to the whole foreground process group: to Prosody
 * and socat as well, which then die under the agent before it can sign off, and the demo would
 * report a lost server instead of stopping. With the terminal in raw mode Ctrl-C arrives as a
 * key that only the demo sees, and it stops everything in order.
 */
import { emitKeypressEvents } from "node:readline";

interface Key {
  ctrl?: boolean;
  name?: string;
}

/** Calls `onCtrlC` for each Ctrl-C typed on `input` if it is a terminal; returns the undo. */
export function catchCtrlC(input: NodeJS.ReadStream, onCtrlC: () => void): () => void {
  if (!input.isTTY) return () => undefined;
  emitKeypressEvents(input);
  const onKey = (_text: string | undefined, key: Key | undefined) => {
    if (key?.ctrl === true && key.name === "c") onCtrlC();
  };
  input.setRawMode(true);
  input.on("keypress", onKey);
  input.resume();
  return () => {
    input.off("keypress", onKey);
    input.setRawMode(false);
    // A flowing stdin would keep the process alive after the demo is done.
    input.pause();
  };
}
