/*
 * iotwire: C99 codec for the iot-wire line protocol v1 (firmware-bridge/PROTOCOL.md).
 *
 * Written for 8-bit MCUs as much as for hosts: no malloc, no stdio, no floating point. Numbers are
 * validated and carried as their decimal text, so a value goes from the wire to the application
 * without rounding. All buffers are fixed and sized by the protocol limits; the largest object is
 * the framer (about 255 bytes). On AVR the schema tables live in flash (PROGMEM).
 *
 * Receiving:  bytes -> iw_framer_push() -> a line -> iw_decode_line() -> iw_frame (zero copy:
 *             the frame points into the line, which must outlive it).
 * Sending:    iw_encode_*() write a complete frame, `$...*HHHH\n`, into a caller's buffer.
 */
#ifndef IOTWIRE_H
#define IOTWIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IW_PROTO_VERSION 1u
#define IW_MAX_FRAME 250u  /* bytes from `$` to the last CRC digit */
#define IW_MAX_FIELDS 16u  /* fields per frame, TYPE not counted */
#define IW_MAX_VALUE 64u   /* bytes per value as encoded (an escape counts 3) */
#define IW_MAX_TYPE 8u     /* letters in TYPE */
#define IW_MAX_KEY 16u     /* bytes in a key */
#define IW_MAX_CAPS 32u    /* sensors or actuators announced by HELLO */
/* The framer keeps one byte more than a frame so that a CR before the LF still fits. */
#define IW_LINE_BUF (IW_MAX_FRAME + 1u)
/* Room an encoder needs for any frame: the frame plus its LF. */
#define IW_ENC_BUF (IW_MAX_FRAME + 1u)

/* Outcome of framing and decoding; the names (iw_err_name) are shared with the TypeScript codec. */
typedef enum {
    IW_OK = 0,
    IW_E_NOISE,     /* framer: bytes outside any frame */
    IW_E_TRUNCATED, /* framer: a frame cut off by the next `$` */
    IW_E_LENGTH,
    IW_E_FRAME,
    IW_E_CRC,
    IW_E_SYNTAX,
    IW_E_TYPE,
    IW_E_FIELD
} iw_err;

typedef enum {
    IW_T_NONE = 0,
    IW_T_HELLO,
    IW_T_SENSOR,
    IW_T_ACTUATOR,
    IW_T_RD,
    IW_T_ACK,
    IW_T_NACK,
    IW_T_PONG,
    IW_T_LOG,
    IW_T_ERR,
    IW_T_WHO,
    IW_T_USE,
    IW_T_CMD,
    IW_T_PING
} iw_type;

/* "noise", "truncated", ... ; "ok" for IW_OK. */
const char *iw_err_name(iw_err err);

/* CRC-16/CCITT-FALSE; iw_crc16("123456789", 9) == 0x29B1. */
uint16_t iw_crc16(const uint8_t *data, size_t len);

/* ---- Framer: PROTOCOL.md §2 "Receiver framing state machine" ---------------------------------- */

typedef enum {
    IW_FR_NONE = 0,  /* nothing to report yet */
    IW_FR_LINE,      /* a line is ready: iw_framer_line(); valid until the next push */
    IW_FR_NOISE,     /* a noise run just ended */
    IW_FR_TRUNCATED, /* the frame in progress was cut off by a new `$` */
    IW_FR_LENGTH     /* the frame in progress outgrew the buffer and is being discarded */
} iw_fr;

typedef struct {
    uint8_t buf[IW_LINE_BUF];
    uint8_t len;
    uint8_t state;
    uint8_t noise; /* a noise run is open */
} iw_framer;

void iw_framer_init(iw_framer *fr);
/* Feeds one byte. Each byte causes at most one report. */
iw_fr iw_framer_push(iw_framer *fr, uint8_t byte);
/* The line of the last IW_FR_LINE, without its LF and without one CR before it. */
const uint8_t *iw_framer_line(const iw_framer *fr, size_t *len);
/* IW_E_NOISE etc. for a framer report, IW_OK for IW_FR_NONE and IW_FR_LINE. */
iw_err iw_fr_err(iw_fr report);

/* ---- Decoding ------------------------------------------------------------------------------- */

/* Where one ` key=value` sits in the line (offsets from the `$`; a frame is at most 250 bytes). */
typedef struct {
    uint8_t key_off, key_len;
    uint8_t val_off, val_len; /* the value as encoded, escapes included */
} iw_field;

typedef struct {
    const uint8_t *line;
    uint8_t type; /* iw_type */
    uint8_t nfields;
    iw_field field[IW_MAX_FIELDS]; /* in wire order */
} iw_frame;

/*
 * Decodes one line (as the framer hands it over: `$...*HHHH`, no LF) with the checks of PROTOCOL.md
 * §2 "Line decoding" in their order. On IW_OK `out` points into `line`; on an error its content is
 * unspecified and must not be used.
 */
iw_err iw_decode_line(const uint8_t *line, size_t len, iw_frame *out);

/* Finds `key` (NUL-terminated); returns 1 and the encoded value, or 0 when absent. */
int iw_get(const iw_frame *f, const char *key, const uint8_t **val, size_t *len);
/* 1 when `key` is present and its encoded value equals `lit`. */
int iw_get_is(const iw_frame *f, const char *key, const char *lit);
/* 1 when `key` is present and is a uint; its value goes to *out. */
int iw_get_u32(const iw_frame *f, const char *key, uint32_t *out);
/*
 * Percent-decodes a text field into out (NUL-terminated). Returns the byte count, or 0 when the key
 * is absent or out is too small (cap must exceed the decoded length).
 */
size_t iw_get_text(const iw_frame *f, const char *key, uint8_t *out, size_t cap);

/* Compares two `num` values exactly, without floating point: -1, 0 or 1 (so "-0" equals "0.0"). */
int iw_num_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/*
 * The canonical "dump" of vectors/README.md: `ok TYPE key=value...`, schema order, HELLO `min`
 * defaulted, text fields percent-decoded and byte-escaped, num fields (SENSOR/ACTUATOR min, max) in
 * shortest form (`0.50` as `0.5`, `100.0` as `100`). Writes a NUL-terminated string; returns
 * its length, or 0 when cap is too small (1024 bytes is always enough).
 */
size_t iw_dump(const iw_frame *f, char *out, size_t cap);
/* iw_dump for IW_OK, `err NAME` otherwise. */
size_t iw_dump_result(iw_err err, const iw_frame *f, char *out, size_t cap);

/* ---- Encoding ------------------------------------------------------------------------------- */

/*
 * Builder for any frame. Every step checks the token grammar and the limits; the first failure is
 * remembered and makes iw_enc_end() return 0, so a caller checks once at the end. It does not check
 * per-type schemas or key uniqueness: the iw_encode_* functions below do, by decoding their output.
 */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint8_t nfields;
    uint8_t bad;
} iw_enc;

void iw_enc_begin(iw_enc *e, uint8_t *buf, size_t cap, const char *type);
/* A value that must match its class literally (no escapes), e.g. a name, a number, a cid. */
void iw_enc_raw(iw_enc *e, const char *key, const uint8_t *val, size_t len);
void iw_enc_str(iw_enc *e, const char *key, const char *val);
/* Free text: bytes outside the canonical set are written as %HH. */
void iw_enc_text(iw_enc *e, const char *key, const uint8_t *text, size_t len);
void iw_enc_u32(iw_enc *e, const char *key, uint32_t v);
void iw_enc_hex8(iw_enc *e, const char *key, uint32_t v);
/* Appends `*HHHH\n`; returns the frame length including the LF, or 0 if any step failed. */
size_t iw_enc_end(iw_enc *e);

/* Sensor or actuator capability; NULL for an absent optional field. Text fields are raw text. */
typedef struct {
    const char *name;
    const char *kind;   /* "num", "bool" or "enum" */
    const char *unit;   /* text (valid UTF-8), e.g. "\xC2\xB0" "C" */
    const char *min;    /* num; sent in shortest form ("0.50" goes out as "0.5") */
    const char *max;    /* num; likewise */
    const char *values; /* names, e.g. "off|on|blink" */
} iw_cap;

/* One RD sensor value. */
typedef struct {
    const char *name;
    const char *val; /* scalar */
} iw_kv;

/*
 * Complete, validated frames: each returns the length written (LF included) or 0 when the buffer is
 * too small or the frame would not decode as valid (bad class, more than 15 significant digits in a
 * num, text that is not UTF-8, broken rule, ...). NULL leaves an optional field out; text arguments
 * are raw text, escaped here. IW_ENC_BUF bytes always suffice.
 */
size_t iw_encode_hello(uint8_t *buf, size_t cap, uint32_t proto, uint32_t min, const char *dev,
                       const char *fw, uint32_t boot, uint8_t sensors, uint8_t actuators);
size_t iw_encode_sensor(uint8_t *buf, size_t cap, const iw_cap *c);
size_t iw_encode_actuator(uint8_t *buf, size_t cap, const iw_cap *c);
size_t iw_encode_rd(uint8_t *buf, size_t cap, uint32_t boot, uint32_t seq, const uint32_t *t,
                    const iw_kv *vals, uint8_t nvals);
size_t iw_encode_ack(uint8_t *buf, size_t cap, const char *id, const char *val);
size_t iw_encode_nack(uint8_t *buf, size_t cap, const char *id, const char *reason, const char *msg);
size_t iw_encode_pong(uint8_t *buf, size_t cap, const char *id);
size_t iw_encode_log(uint8_t *buf, size_t cap, const char *level, const char *msg);
size_t iw_encode_err(uint8_t *buf, size_t cap, const char *code, const char *sensor, const char *msg);
/*
 * Any frame type by its schema (PROTOCOL.md §4-5): vals[i] is the value of the type's i-th field in
 * table order, or NULL. Covers the agent's frames too (WHO, USE, CMD, PING).
 */
size_t iw_encode_values(uint8_t *buf, size_t cap, iw_type type, const char *const *vals);
/*
 * Re-encodes a decoded frame: schema fields in table order, RD sensor values in wire order, unknown
 * fields dropped, text re-escaped canonically, num fields in shortest form. A canonical line comes
 * back byte for byte (plus LF).
 */
size_t iw_encode_frame(const iw_frame *f, uint8_t *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
