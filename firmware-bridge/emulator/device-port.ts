/**
 * The device's end of the cable. When the cable goes away (socat killed) serialport closes the port
 * with `disconnected`; this class then waits for the path to come back and reopens it, the way a
 * self-powered board is simply there again when its USB lead is plugged back in.
 */
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { SerialPort } from "serialport";

export interface DevicePortEvents {
  data: [chunk: Buffer];
  open: [];
  /** The port closed without being asked to (cable unplugged). */
  lost: [];
}

const REOPEN_POLL_MS = 50;
const CLOSE_TIMEOUT_MS = 1000;
/** Beyond this many unsent bytes nobody is reading the other side; more would only pile up. */
const MAX_BACKLOG = 16 * 1024;

export class DevicePort extends EventEmitter<DevicePortEvents> {
  readonly path: string;
  readonly baudRate: number;
  #port: SerialPort | undefined;
  #stopped = false;
  #reopenTimer: NodeJS.Timeout | undefined;

  constructor(path: string, baudRate: number) {
    super();
    this.path = path;
    this.baudRate = baudRate;
  }

  get isOpen(): boolean {
    return this.#port?.isOpen ?? false;
  }

  /** Opens the port now; rejects with the reason if it cannot. */
  async open(): Promise<void> {
    this.#stopped = false;
    await this.#openPort();
  }

  async #openPort(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((error) => {
        if (!error) resolve();
        else reject(new Error(`cannot open device side ${this.path}: ${error.message}`));
      });
    });
    if (this.#stopped) {
      await closeQuietly(port); // close() was called while the open was under way
      return;
    }
    port.on("data", (chunk: Buffer) => this.emit("data", chunk));
    port.on("error", () => undefined); // a failed write is a lost line, like on a real UART
    port.on("close", () => this.#onClose(port));
    this.#port = port;
    this.emit("open");
  }

  /**
   * Hands bytes to the port without waiting: after a disconnect serialport never calls a write's
   * callback. Returns false when the bytes were dropped.
   */
  write(chunk: Buffer): boolean {
    const port = this.#port;
    if (!port?.isOpen || port.writableLength > MAX_BACKLOG) return false;
    port.write(chunk);
    return true;
  }

  /** Resolves when the port is open, e.g. after the cable came back. */
  whenOpen(timeoutMs: number): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("open", onOpen);
        reject(new Error(`device side ${this.path} did not reopen within ${timeoutMs} ms`));
      }, timeoutMs);
      const onOpen = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.once("open", onOpen);
    });
  }

  /**
   * Treats the port as gone now, without waiting for serialport to notice. It may never notice:
   * a read that lands just after the pty hung up returns 0 bytes, and serialport then retries the
   * read forever instead of reporting the disconnect (serialport/bindings-cpp#162).
   */
  drop(): void {
    const port = this.#port;
    if (!port) return;
    this.#port = undefined;
    void closeQuietly(port);
    this.emit("lost");
    this.#scheduleReopen();
  }

  /** Closes for good: no reopening afterwards. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reopenTimer);
    const port = this.#port;
    this.#port = undefined;
    if (port) await closeQuietly(port);
  }

  #onClose(port: SerialPort): void {
    port.removeAllListeners("data");
    if (this.#port !== port) return; // close() asked for it
    this.#port = undefined;
    this.emit("lost");
    this.#scheduleReopen();
  }

  #scheduleReopen(): void {
    if (this.#stopped) return;
    clearTimeout(this.#reopenTimer);
    this.#reopenTimer = setTimeout(() => void this.#tryReopen(), REOPEN_POLL_MS);
  }

  async #tryReopen(): Promise<void> {
    if (this.#stopped || this.#port) return;
    // Until socat is back the link is missing or dangling; opening would only fail.
    if (existsSync(this.path)) {
      try {
        await this.#openPort();
        return;
      } catch {
        // socat is still setting up the pty; poll again
      }
    }
    this.#scheduleReopen();
  }
}

/** Closes a port whether or not it is still open; never waits longer than CLOSE_TIMEOUT_MS. */
function closeQuietly(port: SerialPort): Promise<void> {
  if (!port.isOpen) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    port.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
