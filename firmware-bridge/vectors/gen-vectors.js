// @ts-check
/**
 * Writes lines.tsv and stream.tsv (format: README.md here). Expected results are written by hand
 * below; the script only supplies CRCs, escapes bytes and builds the long boundary lines, so the
 * vectors do not depend on either codec. Self-contained and plain JS so it runs with bare node:
 *
 *   node firmware-bridge/vectors/gen-vectors.js          # rewrite both files
 *   node firmware-bridge/vectors/gen-vectors.js --check  # exit 1 if they are out of date
 */
import console from "node:console";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { URL } from "node:url";

/** CRC-16/CCITT-FALSE, bitwise as in PROTOCOL.md §2 (deliberately not the agent's table version). */
function crc16(/** @type {string} */ s) {
  let crc = 0xffff;
  for (let i = 0; i < s.length; i++) {
    crc ^= s.charCodeAt(i) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    crc &= 0xffff;
  }
  return crc;
}

/** `$payload*CRC` with the right CRC. */
const L = (/** @type {string} */ payload) =>
  `$${payload}*${crc16(payload).toString(16).toUpperCase().padStart(4, "0")}`;

/** Vector-file escapes for an input: `\` and bytes outside 0x20..0x7E. */
function esc(/** @type {string} */ s) {
  return s.replace(/[^\x20-\x5b\x5d-\x7e]/g, (c) =>
    c === "\\" ? "\\\\" : "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"),
  );
}

const BOOT = "3f9a12c0";
const rd = (/** @type {string} */ rest) => L(`RD boot=${BOOT} ${rest}`);
const C = "canonical";
const HELLO0 = `dev=n1 fw=1 boot=${BOOT} sensors=0 actuators=0`;

/**
 * A `num` of `len` bytes (1..20) with at most 15 significant digits: `122…` up to 15 bytes, then
 * `0.0…01222222222222` (13 significant digits after the point's zeros).
 */
const numOfLen = (/** @type {number} */ len) =>
  len <= 15 ? "1" + "2".repeat(len - 1) : "0." + "0".repeat(len - 15) + "1" + "2".repeat(12);

/**
 * An RD line of exactly `total` bytes (`$` to the last CRC digit): `boot`, `seq`, then sensors
 * s01, s02… with 20-byte numbers while they fit, the last ones shortened to land on `total`.
 */
function longRd(/** @type {number} */ total) {
  const head = `RD boot=${BOOT} seq=1`;
  const fields = [];
  // Each field is ` sNN=` (5 bytes) plus a value of 1..20 bytes; never leave less than 6 bytes.
  for (let room = total - 6 - head.length; room > 0; ) {
    const len = room === 25 || room >= 31 ? 20 : room > 25 ? room - 11 : room - 5;
    fields.push(`s${String(fields.length + 1).padStart(2, "0")}=${numOfLen(len)}`);
    room -= 5 + len;
  }
  const payload = `${head} ${fields.join(" ")}`;
  const line = L(payload);
  if (line.length !== total) throw new Error(`longRd(${total}) made ${line.length} bytes`);
  return { line, dump: `ok ${payload}` };
}

/** RD with boot, seq, t and `n` sensor fields: 3 + n fields. */
function manyFields(/** @type {number} */ n) {
  const sensors = Array.from({ length: n }, (_, i) => `v${i}=${i}`).join(" ");
  return { line: rd(`seq=1 t=2 ${sensors}`), dump: `ok RD boot=${BOOT} seq=1 t=2 ${sensors}` };
}

const len250 = longRd(250);
const len251 = longRd(251);
const f16 = manyFields(13);
const f17 = manyFields(14);
const msg64 = "m".repeat(64);
const esc64 = "%20".repeat(21) + "x";
const names16 = Array.from({ length: 16 }, (_, i) => `a${String(i + 1).padStart(2, "0")}`);
const names17 = [...names16.slice(0, 15), "b", "c"];

/** @type {Array<[string, string, string, string?]>} name, input, expected, canonical */
const lines = [
  // Every example of PROTOCOL.md; each is also what the encoders write for its frame.
  ["ex-hello", "$HELLO proto=1 dev=envnode-01 fw=1.0.0 boot=3f9a12c0 sensors=3 actuators=2*2D40", "ok HELLO proto=1 min=1 dev=envnode-01 fw=1.0.0 boot=3f9a12c0 sensors=3 actuators=2", C],
  ["ex-sensor-temp", "$SENSOR name=temp kind=num unit=%C2%B0C min=-40 max=85*1053", String.raw`ok SENSOR name=temp kind=num unit=\xc2\xb0C min=-40 max=85`, C],
  ["ex-sensor-hum", "$SENSOR name=hum kind=num unit=%25 min=0 max=100*D255", "ok SENSOR name=hum kind=num unit=% min=0 max=100", C],
  ["ex-sensor-door", "$SENSOR name=door kind=bool*AA9B", "ok SENSOR name=door kind=bool", C],
  ["ex-actuator-relay", "$ACTUATOR name=relay kind=bool*57F7", "ok ACTUATOR name=relay kind=bool", C],
  ["ex-actuator-led", "$ACTUATOR name=led kind=enum values=off|on|blink*BD52", "ok ACTUATOR name=led kind=enum values=off|on|blink", C],
  ["ex-rd-1", "$RD boot=3f9a12c0 seq=1 t=1520 temp=21.50 hum=40.2 door=0*AB90", "ok RD boot=3f9a12c0 seq=1 t=1520 temp=21.50 hum=40.2 door=0", C],
  ["ex-rd-2", "$RD boot=3f9a12c0 seq=2 temp=21.52*1394", "ok RD boot=3f9a12c0 seq=2 temp=21.52", C],
  ["ex-ack", "$ACK id=7 val=1*2EB2", "ok ACK id=7 val=1", C],
  ["ex-nack", "$NACK id=8 reason=bad_value msg=led%20accepts%20off|on|blink*B851", String.raw`ok NACK id=8 reason=bad_value msg=led\x20accepts\x20off|on|blink`, C],
  ["ex-pong", "$PONG id=9*477B", "ok PONG id=9", C],
  ["ex-log", "$LOG level=info msg=sensor%20warm-up%20done*78C5", String.raw`ok LOG level=info msg=sensor\x20warm-up\x20done`, C],
  ["ex-err", "$ERR code=sensor_fail sensor=hum msg=no%20response%20from%20SHT31*8492", String.raw`ok ERR code=sensor_fail sensor=hum msg=no\x20response\x20from\x20SHT31`, C],
  ["ex-who", "$WHO*2A8C", "ok WHO", C],
  ["ex-use", "$USE v=1*E6E8", "ok USE v=1", C],
  ["ex-cmd-relay", "$CMD id=7 act=relay val=1*CBD4", "ok CMD id=7 act=relay val=1", C],
  ["ex-cmd-led", "$CMD id=8 act=led val=strobe*1837", "ok CMD id=8 act=led val=strobe", C],
  ["ex-ping", "$PING id=9*C7B0", "ok PING id=9", C],
  ["ex-budget-line", rd("seq=1234 t=1234567 temp=21.50 hum=40.2 door=0"), `ok RD boot=${BOOT} seq=1234 t=1234567 temp=21.50 hum=40.2 door=0`, C],

  // Valid frames, with and without optional fields.
  ["hello-min", L("HELLO proto=2 min=1 dev=n-2_x.y fw=2.0.0-rc.1+b7 boot=00000000 sensors=0 actuators=0"), "ok HELLO proto=2 min=1 dev=n-2_x.y fw=2.0.0-rc.1+b7 boot=00000000 sensors=0 actuators=0", C],
  ["hello-min-equal", L(`HELLO proto=2 min=2 ${HELLO0}`), `ok HELLO proto=2 min=2 ${HELLO0}`],
  ["hello-min-zero", L(`HELLO proto=1 min=0 ${HELLO0}`), `ok HELLO proto=1 min=0 ${HELLO0}`, C],
  ["hello-caps-32", L(`HELLO proto=1 dev=n1 fw=1 boot=${BOOT} sensors=32 actuators=32`), `ok HELLO proto=1 min=1 dev=n1 fw=1 boot=${BOOT} sensors=32 actuators=32`, C],
  ["hello-proto-max", L(`HELLO proto=4294967295 min=1 ${HELLO0}`), `ok HELLO proto=4294967295 min=1 ${HELLO0}`, C],
  ["hello-unknown-field", L(`HELLO proto=1 ${HELLO0} color=blue`), `ok HELLO proto=1 min=1 ${HELLO0}`],
  ["hello-unknown-field-first", L(`HELLO zz=%20%7E proto=1 ${HELLO0}`), `ok HELLO proto=1 min=1 ${HELLO0}`],
  ["hello-field-order", L(`HELLO actuators=0 sensors=0 boot=${BOOT} fw=1 dev=n1 proto=1`), `ok HELLO proto=1 min=1 ${HELLO0}`],
  ["hello-dev-32", L(`HELLO proto=1 dev=${"Ab9._-".repeat(5)}zz fw=${"1.2+A_b-".repeat(3)} boot=${BOOT} sensors=0 actuators=0`), `ok HELLO proto=1 min=1 dev=${"Ab9._-".repeat(5)}zz fw=${"1.2+A_b-".repeat(3)} boot=${BOOT} sensors=0 actuators=0`, C],
  ["sensor-minimal", L("SENSOR name=x kind=num"), "ok SENSOR name=x kind=num", C],
  ["sensor-min-only", L("SENSOR name=pressure kind=num unit=hPa min=300"), "ok SENSOR name=pressure kind=num unit=hPa min=300", C],
  ["sensor-max-only", L("SENSOR name=ratio kind=num max=0.5"), "ok SENSOR name=ratio kind=num max=0.5", C],
  ["sensor-min-eq-max", L("SENSOR name=k kind=num min=5 max=5"), "ok SENSOR name=k kind=num min=5 max=5", C],
  ["sensor-negative-range", L("SENSOR name=k kind=num min=-12.75 max=-0.5"), "ok SENSOR name=k kind=num min=-12.75 max=-0.5", C],
  ["sensor-min-neg-zero", L("SENSOR name=k kind=num min=-0 max=0"), "ok SENSOR name=k kind=num min=-0 max=0", C],
  ["sensor-num-20-bytes", L("SENSOR name=k kind=num min=-0.00000000000000001 max=0.000000000000000001"), "ok SENSOR name=k kind=num min=-0.00000000000000001 max=0.000000000000000001", C],
  ["sensor-enum", L("SENSOR name=mode kind=enum values=auto|manual|off_peak"), "ok SENSOR name=mode kind=enum values=auto|manual|off_peak", C],
  ["sensor-enum-16-values", L(`SENSOR name=ch kind=enum values=${names16.join("|")}`), `ok SENSOR name=ch kind=enum values=${names16.join("|")}`, C],
  ["sensor-values-on-num", L("SENSOR name=x kind=num values=a|b"), "ok SENSOR name=x kind=num values=a|b", C],
  ["sensor-unit-utf8", L("SENSOR name=pm kind=num unit=%C2%B5g/m%C2%B3"), String.raw`ok SENSOR name=pm kind=num unit=\xc2\xb5g/m\xc2\xb3`, C],
  ["sensor-unit-escaped-ascii", L("SENSOR name=p kind=num unit=%68Pa"), "ok SENSOR name=p kind=num unit=hPa"],
  ["sensor-unit-backslash", L("SENSOR name=p kind=num unit=a\\b"), String.raw`ok SENSOR name=p kind=num unit=a\x5cb`, C],
  ["sensor-unit-bom", L("SENSOR name=p kind=num unit=%EF%BB%BFx"), String.raw`ok SENSOR name=p kind=num unit=\xef\xbb\xbfx`, C],
  ["sensor-unknown-field", L("SENSOR name=p kind=bool color=red"), "ok SENSOR name=p kind=bool"],
  ["actuator-num", L("ACTUATOR name=dimmer kind=num unit=%25 min=0 max=100"), "ok ACTUATOR name=dimmer kind=num unit=% min=0 max=100", C],
  ["rd-no-t", rd("seq=0 temp=1"), `ok RD boot=${BOOT} seq=0 temp=1`, C],
  ["rd-seq-max", rd("seq=4294967295 t=4294967295 temp=1"), `ok RD boot=${BOOT} seq=4294967295 t=4294967295 temp=1`, C],
  ["rd-name-values", rd("seq=3 mode=auto state=off_peak"), `ok RD boot=${BOOT} seq=3 mode=auto state=off_peak`, C],
  ["rd-neg-zero", rd("seq=3 temp=-0"), `ok RD boot=${BOOT} seq=3 temp=-0`, C],
  ["rd-trailing-zeros", rd("seq=3 temp=21.500 hum=0.0"), `ok RD boot=${BOOT} seq=3 temp=21.500 hum=0.0`, C],
  ["rd-reserved-looking-keys", rd("seq=3 boots=1 seq2=2 tt=3 time=4 t_=5 b=6"), `ok RD boot=${BOOT} seq=3 boots=1 seq2=2 tt=3 time=4 t_=5 b=6`, C],
  ["rd-field-order", L(`RD temp=1 t=9 seq=5 hum=2 boot=${BOOT}`), `ok RD boot=${BOOT} seq=5 t=9 temp=1 hum=2`],
  ["rd-value-20-bytes", rd("seq=1 x=-0.00123456789012345"), `ok RD boot=${BOOT} seq=1 x=-0.00123456789012345`, C],
  ["rd-name-value-16", rd("seq=1 mode=abcdefghijklmnop"), `ok RD boot=${BOOT} seq=1 mode=abcdefghijklmnop`, C],
  ["rd-key-16", rd("seq=1 abcdefghijklmn_9=1"), `ok RD boot=${BOOT} seq=1 abcdefghijklmn_9=1`, C],
  ["ack-no-val", L("ACK id=a1b2c3d4"), "ok ACK id=a1b2c3d4", C],
  ["ack-val-name", L("ACK id=1 val=blink"), "ok ACK id=1 val=blink", C],
  ["ack-val-num", L("ACK id=2 val=-3.25"), "ok ACK id=2 val=-3.25", C],
  ["nack-no-msg", L("NACK id=3 reason=busy"), "ok NACK id=3 reason=busy", C],
  ["nack-other-reason", L("NACK id=3 reason=over_temp_2"), "ok NACK id=3 reason=over_temp_2", C],
  // `|` may be escaped; it decodes the same, but the encoders leave it literal.
  ["nack-msg-pipe-escaped", "$NACK id=8 reason=bad_value msg=led%20accepts%20off%7Con%7Cblink*BDB9", String.raw`ok NACK id=8 reason=bad_value msg=led\x20accepts\x20off|on|blink`],
  ["log-debug", L("LOG level=debug msg=x"), "ok LOG level=debug msg=x", C],
  ["log-warn", L("LOG level=warn msg=low%20battery"), String.raw`ok LOG level=warn msg=low\x20battery`, C],
  ["log-error", L("LOG level=error msg=i2c"), "ok LOG level=error msg=i2c", C],
  ["log-utf8", L("LOG level=info msg=caf%C3%A9%20%E2%9C%93"), String.raw`ok LOG level=info msg=caf\xc3\xa9\x20\xe2\x9c\x93`, C],
  ["log-specials", L("LOG level=info msg=%24%2A%25%3D"), "ok LOG level=info msg=$*%=", C],
  ["log-printables", L("LOG level=info msg=a|b#c~d!\"'()+,-./:;<>?@[]^_`{}"), "ok LOG level=info msg=a|b#c~d!\"'()+,-./:;<>?@[]^_`{}", C],
  ["log-control-escaped", L("LOG level=info msg=a%09b%0D%0A%7F"), String.raw`ok LOG level=info msg=a\x09b\x0d\x0a\x7f`, C],
  ["log-value-64", L(`LOG level=info msg=${msg64}`), `ok LOG level=info msg=${msg64}`, C],
  ["log-escapes-64", L(`LOG level=info msg=${esc64}`), `ok LOG level=info msg=${"\\x20".repeat(21)}x`, C],
  ["err-minimal", L("ERR code=overrun"), "ok ERR code=overrun", C],
  ["err-sensor", L("ERR code=sensor_fail sensor=hum"), "ok ERR code=sensor_fail sensor=hum", C],
  ["who-extra-field", L("WHO x=1"), "ok WHO"],
  ["use-v0", L("USE v=0"), "ok USE v=0", C],
  ["cmd-num", L("CMD id=z9 act=dimmer val=42.5"), "ok CMD id=z9 act=dimmer val=42.5", C],
  ["ping-cid-8", L("PING id=abcdefgh"), "ok PING id=abcdefgh", C],
  ["len-250", len250.line, len250.dump, C],
  ["fields-16", f16.line, f16.dump, C],

  // num: at most 15 significant digits (PROTOCOL.md §3), counted as written from the first non-zero
  // digit: the `-`, the `0` of `0.xxx` and the zeros right after its point do not count, every other
  // digit does (trailing zeros too, in the fraction and in the integer). Same rule for RD values,
  // ACK/CMD val (the num branch of scalar) and SENSOR/ACTUATOR min, max.
  ["num-rd-15-int", rd("seq=1 x=123456789012345"), `ok RD boot=${BOOT} seq=1 x=123456789012345`, C],
  ["num-rd-16-int", rd("seq=1 x=1234567890123456"), "err field"],
  ["num-rd-15-neg-int", rd("seq=1 x=-999999999999999"), `ok RD boot=${BOOT} seq=1 x=-999999999999999`, C],
  ["num-rd-16-neg-int", rd("seq=1 x=-1234567890123456"), "err field"],
  ["num-rd-15-mixed", rd("seq=1 x=12345678.1234567"), `ok RD boot=${BOOT} seq=1 x=12345678.1234567`, C],
  ["num-rd-16-mixed", rd("seq=1 x=12345678.12345678"), "err field"],
  ["num-rd-15-zero-point", rd("seq=1 x=0.123456789012345"), `ok RD boot=${BOOT} seq=1 x=0.123456789012345`, C],
  ["num-rd-16-zero-point", rd("seq=1 x=0.1234567890123456"), "err field"],
  ["num-rd-15-leading-zeros", rd("seq=1 x=0.000123456789012345"), `ok RD boot=${BOOT} seq=1 x=0.000123456789012345`, C],
  ["num-rd-16-leading-zero", rd("seq=1 x=0.01234567890123456"), "err field"],
  ["num-rd-15-neg-leading-zero", rd("seq=1 x=-0.0999999999999999"), `ok RD boot=${BOOT} seq=1 x=-0.0999999999999999`, C],
  ["num-rd-16-neg-leading-zero", rd("seq=1 x=-0.01234567890123456"), "err field"],
  ["num-rd-15-trailing-zeros", rd("seq=1 x=1.00000000000000"), `ok RD boot=${BOOT} seq=1 x=1.00000000000000`, C],
  ["num-rd-16-trailing-zeros", rd("seq=1 x=1.000000000000000"), "err field"],
  ["num-rd-15-int-zeros", rd("seq=1 x=100000000000000"), `ok RD boot=${BOOT} seq=1 x=100000000000000`, C],
  ["num-rd-16-int-zeros", rd("seq=1 x=1000000000000000"), "err field"],
  ["num-rd-20-int-zeros", rd("seq=1 x=10000000000000000000"), "err field"],
  ["num-rd-tiny", rd("seq=1 x=0.000000000000001 y=-0.00000000000000001"), `ok RD boot=${BOOT} seq=1 x=0.000000000000001 y=-0.00000000000000001`, C],
  ["num-rd-zero-18-places", rd("seq=1 x=0.000000000000000000"), `ok RD boot=${BOOT} seq=1 x=0.000000000000000000`, C],
  ["num-rd-16-among-valid", rd("seq=1 a=1 b=0.1234567890123456 c=2"), "err field"],
  ["num-ack-val-15", L("ACK id=4 val=0.100000000000000"), "ok ACK id=4 val=0.100000000000000", C],
  ["num-ack-val-16", L("ACK id=4 val=0.1000000000000000"), "err field"],
  ["num-cmd-val-15", L("CMD id=5 act=dimmer val=99999999999999.9"), "ok CMD id=5 act=dimmer val=99999999999999.9", C],
  ["num-cmd-val-16", L("CMD id=5 act=dimmer val=-999999999999999.9"), "err field"],
  ["num-sensor-15", L("SENSOR name=k kind=num min=-123456789012345 max=0.000123456789012345"), "ok SENSOR name=k kind=num min=-123456789012345 max=0.000123456789012345", C],
  ["num-sensor-min-16", L("SENSOR name=k kind=num min=-1234567890123456"), "err field"],
  ["num-sensor-max-16-leading-zero", L("SENSOR name=k kind=num max=0.01234567890123456"), "err field"],
  ["num-sensor-max-16-trailing-zeros", L("SENSOR name=k kind=num min=0 max=1.000000000000000"), "err field"],
  ["num-sensor-max-15-trailing-zeros", L("SENSOR name=k kind=num min=0 max=1.00000000000000"), "ok SENSOR name=k kind=num min=0 max=1"],
  ["num-actuator-min-16", L("ACTUATOR name=dim kind=num min=0.1234567890123456 max=1"), "err field"],

  // num dump: SENSOR/ACTUATOR min and max in shortest form (vectors/README.md "Decoded form");
  // scalar values (RD, ACK/CMD val) stay as written.
  ["num-dump-half", L("SENSOR name=k kind=num min=0.50 max=100.0"), "ok SENSOR name=k kind=num min=0.5 max=100"],
  ["num-dump-zeros", L("SENSOR name=k kind=num min=-0.0 max=0.000"), "ok SENSOR name=k kind=num min=-0 max=0"],
  ["num-dump-mixed", L("SENSOR name=k kind=num unit=%25 min=-12.500 max=10.010"), "ok SENSOR name=k kind=num unit=% min=-12.5 max=10.01"],
  ["num-dump-tiny", L("SENSOR name=k kind=num min=0.000000000000001 max=0.0000000000000010"), "ok SENSOR name=k kind=num min=0.000000000000001 max=0.000000000000001"],
  ["num-dump-15-digits", L("SENSOR name=k kind=num min=-99999999999999.0 max=99999999999999.9"), "ok SENSOR name=k kind=num min=-99999999999999 max=99999999999999.9"],
  ["num-dump-actuator", L("ACTUATOR name=dim kind=num min=0.0 max=100.00"), "ok ACTUATOR name=dim kind=num min=0 max=100"],
  ["num-dump-integer-zeros-kept", L("SENSOR name=k kind=num min=-100 max=1000"), "ok SENSOR name=k kind=num min=-100 max=1000", C],
  ["num-dump-largest", L("SENSOR name=k kind=num min=-999999999999999 max=123456789012345"), "ok SENSOR name=k kind=num min=-999999999999999 max=123456789012345", C],
  ["num-dump-scalars-as-written", rd("seq=1 a=1.50 b=-0.0 c=100.000"), `ok RD boot=${BOOT} seq=1 a=1.50 b=-0.0 c=100.000`, C],
  ["num-dump-ack-val-as-written", L("ACK id=2 val=1.50"), "ok ACK id=2 val=1.50", C],
  ["num-dump-cmd-val-as-written", L("CMD id=3 act=dimmer val=-0.0"), "ok CMD id=3 act=dimmer val=-0.0", C],

  // text: the decoded bytes must be valid UTF-8 (PROTOCOL.md §3); the dump shows them as byte escapes.
  ["utf8-euro", L("LOG level=info msg=%E2%82%AC"), String.raw`ok LOG level=info msg=\xe2\x82\xac`, C],
  ["utf8-emoji", L("LOG level=info msg=%F0%9F%98%80"), String.raw`ok LOG level=info msg=\xf0\x9f\x98\x80`, C],
  ["utf8-bounds-2-3", L("LOG level=info msg=%C2%80%DF%BF%E0%A0%80%ED%9F%BF%EE%80%80%EF%BF%BF"), String.raw`ok LOG level=info msg=\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf`, C],
  ["utf8-bounds-4", L("LOG level=info msg=%F0%90%80%80%F4%8F%BF%BF"), String.raw`ok LOG level=info msg=\xf0\x90\x80\x80\xf4\x8f\xbf\xbf`, C],
  ["utf8-nul", L("LOG level=info msg=a%00b"), String.raw`ok LOG level=info msg=a\x00b`, C],
  ["utf8-unit", L("SENSOR name=c kind=num unit=%E2%82%AC"), String.raw`ok SENSOR name=c kind=num unit=\xe2\x82\xac`, C],
  ["utf8-nack-msg", L("NACK id=1 reason=x msg=%F0%9F%98%80"), String.raw`ok NACK id=1 reason=x msg=\xf0\x9f\x98\x80`, C],
  ["utf8-lone-continuation", L("LOG level=info msg=a%80b"), "err field"],
  ["utf8-extra-continuation", L("LOG level=info msg=%C3%A9%A9"), "err field"],
  ["utf8-truncated-end", L("LOG level=info msg=caf%C3"), "err field"],
  ["utf8-truncated-by-ascii", L("LOG level=info msg=%C3a"), "err field"],
  ["utf8-truncated-3", L("LOG level=info msg=%E2%82"), "err field"],
  ["utf8-truncated-4", L("LOG level=info msg=%F0%9F%98x"), "err field"],
  ["utf8-overlong-2", L("LOG level=info msg=%C0%AF"), "err field"],
  ["utf8-overlong-c1", L("LOG level=info msg=%C1%BF"), "err field"],
  ["utf8-overlong-3", L("LOG level=info msg=%E0%80%AF"), "err field"],
  ["utf8-overlong-4", L("LOG level=info msg=%F0%8F%BF%BF"), "err field"],
  ["utf8-surrogate-high", L("LOG level=info msg=%ED%A0%80"), "err field"],
  ["utf8-surrogate-low", L("LOG level=info msg=%ED%BF%BF"), "err field"],
  ["utf8-surrogate-pair", L("LOG level=info msg=%ED%A0%BD%ED%B8%80"), "err field"],
  ["utf8-above-max", L("LOG level=info msg=%F4%90%80%80"), "err field"],
  ["utf8-f5", L("LOG level=info msg=%F5%80%80%80"), "err field"],
  ["utf8-fe", L("LOG level=info msg=%FE"), "err field"],
  ["utf8-ff", L("LOG level=info msg=%FF"), "err field"],
  ["utf8-bad-unit-latin1", L("SENSOR name=t kind=num unit=%B0C"), "err field"],
  ["utf8-bad-actuator-unit", L("ACTUATOR name=a kind=bool unit=%C0%80"), "err field"],
  ["utf8-bad-nack-msg", L("NACK id=1 reason=x msg=%E9t%E9"), "err field"],
  ["utf8-bad-err-msg", L("ERR code=x sensor=hum msg=%ED%A0%80"), "err field"],
  ["utf8-unknown-field-unchecked", L(`HELLO proto=1 ${HELLO0} note=%FF`), `ok HELLO proto=1 min=1 ${HELLO0}`],

  // length: checked first, so even a line that is not a frame at all reports it.
  ["len-251", len251.line, "err length"],
  ["len-251-not-a-frame", "x".repeat(251), "err length"],
  ["len-308-bad-crc", `$LOG level=info ${"a=1 ".repeat(71)}b=1*0000`, "err length"],

  // frame
  ["frame-dollar-only", "$", "err frame"],
  ["frame-star-only", "$*", "err frame"],
  ["frame-no-dollar", "PING id=9*C7B0", "err frame"],
  ["frame-leading-space", " $PING id=9*C7B0", "err frame"],
  ["frame-no-star", "$PING id=9", "err frame"],
  ["frame-crc-3-digits", "$PING id=9*C7B", "err frame"],
  ["frame-crc-5-digits", "$PING id=9*C7B00", "err frame"],
  ["frame-crc-lowercase", "$PING id=9*c7b0", "err frame"],
  ["frame-crc-nonhex", "$PING id=9*C7BG", "err frame"],
  ["frame-trailing-space", "$PING id=9*C7B0 ", "err frame"],
  ["frame-trailing-cr", "$PING id=9*C7B0\r", "err frame"],
  ["frame-before-syntax", "$ping  id=9*c7b0", "err frame"],

  // crc
  ["crc-wrong", "$PING id=9*C7B1", "err crc"],
  ["crc-swapped", "$PING id=9*B0C7", "err crc"],
  ["crc-other-payload", "$PING id=8*C7B0", "err crc"],
  ["crc-empty-payload", "$*0000", "err crc"],
  ["crc-before-syntax", "$ping  id=9*0000", "err crc"],
  ["crc-high-byte", "$LOG level=info msg=\xff*0000", "err crc"],
  ["crc-example-edited", "$RD boot=3f9a12c0 seq=1 t=1520 temp=21.51 hum=40.2 door=0*AB90", "err crc"],

  // syntax (every line here has a correct CRC)
  ["syn-empty-payload", "$*FFFF", "err syntax"],
  ["syn-type-lowercase", L("ping id=9"), "err syntax"],
  ["syn-type-9-letters", L("ABCDEFGHI"), "err syntax"],
  ["syn-type-digit", L("RD2 a=1"), "err syntax"],
  ["syn-type-underscore", L("MY_TYPE"), "err syntax"],
  ["syn-leading-space", L(" PING id=9"), "err syntax"],
  ["syn-double-space", L("PING  id=9"), "err syntax"],
  ["syn-trailing-space", L("PING id=9 "), "err syntax"],
  ["syn-type-only-space", L("WHO "), "err syntax"],
  ["syn-empty-value", L("PING id="), "err syntax"],
  ["syn-empty-key", L("PING =9"), "err syntax"],
  ["syn-no-equals", L("PING id"), "err syntax"],
  ["syn-double-equals", L("PING id==9"), "err syntax"],
  ["syn-key-uppercase", L("PING ID=9"), "err syntax"],
  ["syn-key-digit-first", rd("seq=1 1a=1"), "err syntax"],
  ["syn-key-underscore-first", rd("seq=1 _a=1"), "err syntax"],
  ["syn-key-hyphen", rd("seq=1 a-b=1"), "err syntax"],
  ["syn-key-17", rd("seq=1 abcdefghijklmnopq=1"), "err syntax"],
  ["syn-dup-key", L("PING id=9 id=9"), "err syntax"],
  ["syn-dup-sensor", rd("seq=1 temp=1 temp=2"), "err syntax"],
  ["syn-dup-unknown-key", L(`HELLO proto=1 ${HELLO0} x=1 x=2`), "err syntax"],
  ["syn-17-fields", f17.line, "err syntax"],
  ["syn-value-65", L(`LOG level=info msg=${msg64}m`), "err syntax"],
  ["syn-escapes-66", L(`LOG level=info msg=${"%20".repeat(22)}`), "err syntax"],
  ["syn-escape-lowercase", L("LOG level=info msg=%2a"), "err syntax"],
  ["syn-escape-nonhex", L("LOG level=info msg=%G0"), "err syntax"],
  ["syn-escape-short", L("LOG level=info msg=abc%2"), "err syntax"],
  ["syn-escape-percent-alone", L("LOG level=info msg=%"), "err syntax"],
  ["syn-escape-cut-by-space", L("LOG level=info msg=%2 x=1"), "err syntax"],
  ["syn-star-in-payload", L("PING id=9*C7B0"), "err syntax"],
  ["syn-dollar-in-payload", L("PING id=$9"), "err syntax"],
  ["syn-equals-in-value", L("LOG level=info msg=a=b"), "err syntax"],
  ["syn-cr-inside", L("PING\r id=9"), "err syntax"],
  ["syn-tab", L("PING\tid=9"), "err syntax"],
  ["syn-high-byte", L("LOG level=info msg=caf\xe9"), "err syntax"],
  ["syn-raw-utf8", L("SENSOR name=t kind=num unit=\xc2\xb0C"), "err syntax"],
  ["syn-control-byte", L("LOG level=info msg=a\x07b"), "err syntax"],
  ["syn-nul", L("PING id=9\x00"), "err syntax"],
  ["syn-del", L("LOG level=info msg=a\x7fb"), "err syntax"],
  ["syn-before-type", L("FOO  a=1"), "err syntax"],
  ["syn-unknown-field-checked", L(`HELLO proto=1 ${HELLO0} x=a%zz`), "err syntax"],

  // type: well-formed, but not a v1 frame type
  ["type-unknown", L("FOO a=1"), "err type"],
  ["type-unknown-no-fields", L("XYZZY"), "err type"],
  ["type-unknown-8-letters", L("ABCDEFGH"), "err type"],
  ["type-near-hello", L("HELO proto=1"), "err type"],
  ["type-before-field", L("STATUS rssi=-70 x=%FF"), "err type"],

  // field: HELLO
  ["hello-missing-proto", L(`HELLO ${HELLO0}`), "err field"],
  ["hello-missing-fw", L(`HELLO proto=1 dev=n1 boot=${BOOT} sensors=0 actuators=0`), "err field"],
  ["hello-missing-boot", L("HELLO proto=1 dev=n1 fw=1 sensors=0 actuators=0"), "err field"],
  ["hello-missing-actuators", L(`HELLO proto=1 dev=n1 fw=1 boot=${BOOT} sensors=0`), "err field"],
  ["hello-proto-zero", L(`HELLO proto=0 ${HELLO0}`), "err field"],
  ["hello-proto-leading-zero", L(`HELLO proto=01 ${HELLO0}`), "err field"],
  ["hello-proto-negative", L(`HELLO proto=-1 ${HELLO0}`), "err field"],
  ["hello-min-above-proto", L(`HELLO proto=1 min=2 ${HELLO0}`), "err field"],
  ["hello-sensors-33", L(`HELLO proto=1 dev=n1 fw=1 boot=${BOOT} sensors=33 actuators=0`), "err field"],
  ["hello-actuators-33", L(`HELLO proto=1 dev=n1 fw=1 boot=${BOOT} sensors=0 actuators=33`), "err field"],
  ["hello-dev-33", L(`HELLO proto=1 dev=${"d".repeat(33)} fw=1 boot=${BOOT} sensors=0 actuators=0`), "err field"],
  ["hello-dev-bad-char", L(`HELLO proto=1 dev=env@node fw=1 boot=${BOOT} sensors=0 actuators=0`), "err field"],
  ["hello-dev-escape", L(`HELLO proto=1 dev=env%2Dnode fw=1 boot=${BOOT} sensors=0 actuators=0`), "err field"],
  ["hello-fw-25", L(`HELLO proto=1 dev=n1 fw=${"1".repeat(25)} boot=${BOOT} sensors=0 actuators=0`), "err field"],
  ["hello-boot-uppercase", L("HELLO proto=1 dev=n1 fw=1 boot=3F9A12C0 sensors=0 actuators=0"), "err field"],
  ["hello-boot-7", L("HELLO proto=1 dev=n1 fw=1 boot=3f9a12c sensors=0 actuators=0"), "err field"],

  // field: SENSOR / ACTUATOR
  ["sensor-enum-no-values", L("SENSOR name=mode kind=enum"), "err field"],
  ["actuator-enum-no-values", L("ACTUATOR name=led kind=enum unit=x"), "err field"],
  ["sensor-min-above-max", L("SENSOR name=k kind=num min=10 max=5"), "err field"],
  ["sensor-min-above-max-decimals", L("SENSOR name=k kind=num min=-1.5 max=-2"), "err field"],
  ["sensor-name-boot", L("SENSOR name=boot kind=num"), "err field"],
  ["sensor-name-seq", L("SENSOR name=seq kind=num"), "err field"],
  ["actuator-name-t", L("ACTUATOR name=t kind=bool"), "err field"],
  ["sensor-name-uppercase", L("SENSOR name=Temp kind=num"), "err field"],
  ["sensor-name-17", L("SENSOR name=abcdefghijklmnopq kind=num"), "err field"],
  ["sensor-missing-kind", L("SENSOR name=k"), "err field"],
  ["sensor-kind-float", L("SENSOR name=k kind=float"), "err field"],
  ["sensor-values-17", L(`SENSOR name=ch kind=enum values=${names17.join("|")}`), "err field"],
  ["sensor-values-empty-member", L("SENSOR name=ch kind=enum values=a||b"), "err field"],
  ["sensor-values-trailing-bar", L("SENSOR name=ch kind=enum values=a|"), "err field"],
  ["sensor-values-uppercase", L("SENSOR name=ch kind=enum values=off|On"), "err field"],
  ["sensor-min-exponent", L("SENSOR name=k kind=num min=1e3"), "err field"],
  ["sensor-min-trailing-dot", L("SENSOR name=k kind=num min=1."), "err field"],
  ["sensor-min-leading-dot", L("SENSOR name=k kind=num min=.5"), "err field"],
  ["sensor-min-leading-zero", L("SENSOR name=k kind=num min=01"), "err field"],
  ["sensor-min-neg-leading-zero", L("SENSOR name=k kind=num min=-01.5"), "err field"],
  ["sensor-min-plus", L("SENSOR name=k kind=num min=+1"), "err field"],
  ["sensor-min-21-bytes", L("SENSOR name=k kind=num min=0.0000000000000000001"), "err field"],
  ["sensor-max-escape", L("SENSOR name=k kind=num max=%31"), "err field"],

  // field: RD
  ["rd-no-values", rd("seq=1"), "err field"],
  ["rd-no-values-with-t", rd("seq=1 t=5"), "err field"],
  ["rd-missing-boot", L("RD seq=1 temp=1"), "err field"],
  ["rd-missing-seq", rd("t=1 temp=1"), "err field"],
  ["rd-boot-uppercase", L("RD boot=3F9A12C0 seq=1 temp=1"), "err field"],
  ["rd-seq-overflow", rd("seq=4294967296 temp=1"), "err field"],
  ["rd-seq-10-nines", rd("seq=9999999999 temp=1"), "err field"],
  ["rd-seq-11-digits", rd("seq=10000000000 temp=1"), "err field"],
  ["rd-seq-leading-zero", rd("seq=01 temp=1"), "err field"],
  ["rd-seq-negative", rd("seq=-1 temp=1"), "err field"],
  ["rd-seq-alpha", rd("seq=12a temp=1"), "err field"],
  ["rd-seq-escape", rd("seq=%31 temp=1"), "err field"],
  ["rd-t-decimal", rd("seq=1 t=1.5 temp=1"), "err field"],
  ["rd-value-exponent", rd("seq=1 temp=1e3"), "err field"],
  ["rd-value-trailing-dot", rd("seq=1 temp=1."), "err field"],
  ["rd-value-leading-dot", rd("seq=1 temp=.5"), "err field"],
  ["rd-value-leading-zero", rd("seq=1 temp=007"), "err field"],
  ["rd-value-plus", rd("seq=1 temp=+1"), "err field"],
  ["rd-value-escape", rd("seq=1 temp=%32"), "err field"],
  ["rd-value-21-bytes", rd("seq=1 x=-0.000123456789012345"), "err field"],
  ["rd-value-64-bytes", rd(`seq=1 x=${"a".repeat(64)}`), "err field"],
  ["rd-value-name-17", rd("seq=1 mode=abcdefghijklmnopq"), "err field"],
  ["rd-value-uppercase", rd("seq=1 mode=Auto"), "err field"],
  ["rd-value-slash", rd("seq=1 temp=n/a"), "err field"],

  // field: the other frames
  ["ack-missing-id", L("ACK val=1"), "err field"],
  ["ack-id-9", L("ACK id=123456789"), "err field"],
  ["ack-id-uppercase", L("ACK id=A1"), "err field"],
  ["ack-val-uppercase", L("ACK id=1 val=ON"), "err field"],
  ["nack-missing-reason", L("NACK id=1 msg=x"), "err field"],
  ["nack-reason-uppercase", L("NACK id=1 reason=Busy"), "err field"],
  ["pong-missing-id", L("PONG"), "err field"],
  ["log-missing-msg", L("LOG level=info"), "err field"],
  ["log-level-trace", L("LOG level=trace msg=x"), "err field"],
  ["log-level-uppercase", L("LOG level=INFO msg=x"), "err field"],
  ["err-missing-code", L("ERR sensor=hum"), "err field"],
  ["err-sensor-uppercase", L("ERR code=x sensor=Hum"), "err field"],
  ["use-missing-v", L("USE"), "err field"],
  ["use-v-negative", L("USE v=-1"), "err field"],
  ["cmd-missing-val", L("CMD id=1 act=relay"), "err field"],
  ["cmd-act-uppercase", L("CMD id=1 act=Relay val=1"), "err field"],
  ["cmd-val-escape", L("CMD id=1 act=relay val=%31"), "err field"],
  ["ping-id-underscore", L("PING id=a_b"), "err field"],
];

const PING = "$PING id=9*C7B0";
const PING_OK = "ok PING id=9";
const HELLO = "$HELLO proto=1 dev=envnode-01 fw=1.0.0 boot=3f9a12c0 sensors=3 actuators=2*2D40";
const HELLO_OK = "ok HELLO proto=1 min=1 dev=envnode-01 fw=1.0.0 boot=3f9a12c0 sensors=3 actuators=2";
const over = "$" + "x".repeat(300);

/** @type {Array<[string, string, ...string[]]>} name, input, results… */
const streams = [
  ["one-line", `${PING}\n`, PING_OK],
  ["crlf", `${PING}\r\n`, PING_OK],
  ["two-cr", `${PING}\r\r\n`, "err frame"],
  ["blank-lines", `\n\r\n\n${PING}\n\n\r\n`, PING_OK],
  ["cr-only", "\r\r\r", "-"],
  ["noise-before-frame", `garbage${PING}\n`, "err noise", PING_OK],
  ["noise-line", `abc\n${PING}\n`, "err noise", PING_OK],
  ["noise-crlf-once", `abc\r\n${PING}\n`, "err noise", PING_OK],
  ["noise-split-by-cr", "ab\rcd\n", "err noise", "err noise"],
  ["noise-binary", `\xff\xfe\x00\x07${PING}\n`, "err noise", PING_OK],
  ["noise-looks-like-crc", `*C7B0\n${PING}\n`, "err noise", PING_OK],
  ["noise-at-end-unreported", `${PING}\nxyz`, PING_OK],
  ["noise-only-unreported", "abc", "-"],
  ["unterminated-frame", PING, "-"],
  ["truncated-by-dollar", `$RD boot=3f9a$${PING.slice(1)}\n`, "err truncated", PING_OK],
  ["truncated-reboot-hello", `$RD boot=3f9a12c0 seq=5 te${HELLO}\r\n`, "err truncated", HELLO_OK],
  ["double-dollar", `$${PING}\n`, "err truncated", PING_OK],
  ["dollar-newline", "$\n", "err frame"],
  ["bad-crc-then-good", `$PING id=9*C7B1\n${PING}\n`, "err crc", PING_OK],
  ["cr-inside-line", "$PI\rNG id=9*C7B0\n", "err crc"],
  ["high-bytes-in-frame", `${L("LOG level=info msg=a\x80\x9f\xffb")}\n${PING}\n`, "err syntax", PING_OK],
  ["handshake-one-chunk", [HELLO, "$SENSOR name=temp kind=num unit=%C2%B0C min=-40 max=85*1053", "$SENSOR name=hum kind=num unit=%25 min=0 max=100*D255", "$SENSOR name=door kind=bool*AA9B", "$ACTUATOR name=relay kind=bool*57F7", "$ACTUATOR name=led kind=enum values=off|on|blink*BD52", "$RD boot=3f9a12c0 seq=1 t=1520 temp=21.50 hum=40.2 door=0*AB90", ""].join("\r\n"), HELLO_OK, String.raw`ok SENSOR name=temp kind=num unit=\xc2\xb0C min=-40 max=85`, "ok SENSOR name=hum kind=num unit=% min=0 max=100", "ok SENSOR name=door kind=bool", "ok ACTUATOR name=relay kind=bool", "ok ACTUATOR name=led kind=enum values=off|on|blink", "ok RD boot=3f9a12c0 seq=1 t=1520 temp=21.50 hum=40.2 door=0"],
  ["line-250-crlf", `${len250.line}\r\n`, len250.dump],
  ["line-251-lf", `${len251.line}\n`, "err length"],
  ["line-251-crlf", `${len251.line}\r\n${PING}\n`, "err length", PING_OK],
  ["line-252", `${len251.line}x\n${PING}\n`, "err length", PING_OK],
  ["overlong-recovery", `${over}\n${PING}\n`, "err length", PING_OK],
  ["overlong-ended-by-dollar", `${over}${PING}\n`, "err length", PING_OK],
  ["overlong-discards-noise", `${over}\r\xff junk\n${PING}\n`, "err length", PING_OK],
  ["overlong-twice", `${over}\n${over}\n`, "err length", "err length"],
  ["mixed", `\r\nnoise${PING}\r\n$RD boot=3f9a12c0 seq=2 temp=21.52*1394\n$X*0000\n${over}$WHO*2A8C\r\n`, "err noise", PING_OK, "ok RD boot=3f9a12c0 seq=2 temp=21.52", "err crc", "err length", "ok WHO"],
];

function render(/** @type {string} */ title, /** @type {string[][]} */ rows) {
  const names = new Set();
  const out = [`# ${title}`, "# Generated by gen-vectors.js; edit that script, not this file.", ""];
  for (const [name = "", input = "", ...rest] of rows) {
    if (names.has(name)) throw new Error(`duplicate vector name ${name}`);
    names.add(name);
    out.push([name, esc(input), ...rest].join("\t"));
  }
  return out.join("\n") + "\n";
}

const files = {
  "lines.tsv": render("Line decoder vectors: name, input line, expected dump, [canonical]", lines),
  "stream.tsv": render("Framer vectors: name, input bytes, results in order (- for none)", streams),
};

const check = process.argv.includes("--check");
let stale = false;
for (const [file, text] of Object.entries(files)) {
  const url = new URL(file, import.meta.url);
  if (!check) writeFileSync(url, text, "latin1");
  else if (readFileSync(url, "latin1") !== text) stale = true;
  console.error(`${file}: ${text.split("\n").filter((l) => l && !l.startsWith("#")).length} vectors`);
}
if (stale) {
  console.error("vectors are out of date: run node firmware-bridge/vectors/gen-vectors.js");
  process.exit(1);
}
