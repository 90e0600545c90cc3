/** Public API of the iot-wire v1 codec (PROTOCOL.md). */
export * from "./frames.js";
export { crc16, crc16Range, crcHex } from "./crc.js";
export { decodeText, encodeText, dumpText, escapeBytes } from "./text.js";
export {
  CLASS_CHECKS,
  formatNum,
  isCid,
  isDevid,
  isHex8,
  isKind,
  isLevel,
  isName,
  isNames,
  isNum,
  isScalar,
  isText,
  isUint,
  isVer,
  parseNum,
  parseUint,
  UINT_MAX,
} from "./classes.js";
export type { ValueClass } from "./classes.js";
export { decodeLine, FRAME_TYPES, RESERVED_RD_KEYS } from "./decode.js";
export { encodeFrame, encodePayload, WireEncodeError } from "./encode.js";
export { FramerStream, LineFramer } from "./framer.js";
export type { FramerEvent } from "./framer.js";
export { dumpError, dumpFrame, escapeVectorBytes, unescapeVectorBytes } from "./dump.js";
