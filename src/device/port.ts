/**
 * The serial port as the link sees it. The hardware sits behind an injected factory, the way
 * node-serialport puts it behind a binding: production opens a real `SerialPort`, unit tests may
 * pass serialport's own `SerialPortMock`, integration tests open a real pseudo-terminal.
 */
import { SerialPort } from "serialport";

export interface PortCloseError extends Error {
  /** Set by serialport when the device went away (USB unplug, pty peer closed). */
  disconnected?: boolean;
}

export interface SerialPortLike {
  readonly isOpen: boolean;
  open(callback: (error: Error | null) => void): void;
  write(chunk: Buffer, callback: (error: Error | null | undefined) => void): boolean;
  close(callback?: (error: Error | null) => void): void;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "close", listener: (error?: PortCloseError | null) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  removeAllListeners(): unknown;
}

export interface PortOptions {
  path: string;
  baudRate: number;
}

export type PortFactory = (options: PortOptions) => SerialPortLike;

/** 8N1, no flow control: what PROTOCOL.md §1 specifies. */
export const openSerialPort: PortFactory = ({ path, baudRate }) =>
  new SerialPort({ path, baudRate, dataBits: 8, parity: "none", stopBits: 1, autoOpen: false });

/** Bytes per second an 8N1 line carries: each byte costs a start and a stop bit. */
export function lineBytesPerSecond(baudRate: number): number {
  return baudRate / 10;
}

/**
 * Write with a deadline. serialport never calls back a write queued after an unplug, so without
 * one a command would wait forever; on timeout the port is closed, which starts a reconnect.
 */
export function writeWithDeadline(
  port: SerialPortLike,
  bytes: Buffer,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`write timed out after ${timeoutMs} ms`));
      port.close();
    }, timeoutMs);
    port.write(bytes, (error) => {
      clearTimeout(timer);
      if (error) reject(new Error(`write failed: ${error.message}`));
      else resolve();
    });
  });
}

/** Detach from a port and close it; late errors from it are of no interest any more. */
export function discardPort(port: SerialPortLike): Promise<void> {
  port.removeAllListeners();
  port.on("error", () => undefined);
  if (!port.isOpen) return Promise.resolve();
  return new Promise<void>((resolve) => port.close(() => resolve()));
}
