/**
 * What an operator should see in the log of a serial link: state changes, handshakes, every
 * dropped line with its reason, gaps, and what the device itself reports.
 */
import type { Logger } from "../core/logger.js";
import type { SerialLink } from "./serial-link.js";

export function logLinkEvents(link: SerialLink, log: Logger): void {
  link.on("state", (state, reason) => log.info({ state }, reason));
  link.on("hello", (device, { rebooted }) =>
    log.info(
      { device, rebooted },
      `device ${device.id} online${rebooted ? " after a reboot" : ""}`,
    ),
  );
  link.on("wire-error", (e) => log.warn({ wireError: e.code }, e.detail));
  link.on("protocol-error", (p) => log.warn({ problem: p.kind }, p.detail));
  link.on("gap", (g) => log.warn({ gap: g }, `${g.missing} readings missing after seq ${g.after}`));
  link.on("device-error", (f) =>
    log.warn({ deviceError: f.code, sensor: f.sensor }, f.msg ?? f.code),
  );
  link.on("log", (f) => log.info({ deviceLog: f.level }, f.msg));
}
