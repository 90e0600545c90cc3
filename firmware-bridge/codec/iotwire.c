/*
 * iotwire: see iotwire.h. Section numbers refer to firmware-bridge/PROTOCOL.md.
 *
 * Portability notes: `int` may be 16 bits (AVR), so nothing that can exceed 32767 is held in an int;
 * lengths are size_t and are bounded by the 250-byte frame anyway.
 */
#include "iotwire.h"

#include <string.h>

/* Tables are read a byte or a record at a time so that on AVR they can stay in flash: as plain
 * const data they would be copied to the 2 KB of RAM at startup. */
#if defined(__AVR__)
#include <avr/pgmspace.h>
#define IW_ROM PROGMEM
#define rom_copy(dst, src, n) memcpy_P((dst), (src), (n))
#define rom_byte(p) pgm_read_byte(p)
#else
#define IW_ROM
#define rom_copy(dst, src, n) memcpy((dst), (src), (n))
#define rom_byte(p) (*(const uint8_t *)(p))
#endif

/* ---- Schemas (§3-§5) ------------------------------------------------------------------------ */

enum { C_UINT, C_NUM, C_NAME, C_NAMES, C_HEX8, C_DEVID, C_VER, C_CID, C_KIND, C_LEVEL, C_SCALAR, C_TEXT };
#define REQ 0x80u
#define CLASS_OF(spec) ((uint8_t)((spec) & 0x7Fu))

/* Every field of every type, each type's fields contiguous and in the order of its table, which is
 * also the order of the dump and of the encoder. */
enum {
    F_HELLO_PROTO, F_HELLO_MIN, F_HELLO_DEV, F_HELLO_FW, F_HELLO_BOOT, F_HELLO_SENSORS,
    F_HELLO_ACTUATORS,
    F_CAP_NAME, F_CAP_KIND, F_CAP_UNIT, F_CAP_MIN, F_CAP_MAX, F_CAP_VALUES,
    F_RD_BOOT, F_RD_SEQ, F_RD_T,
    F_ACK_ID, F_ACK_VAL,
    F_NACK_ID, F_NACK_REASON, F_NACK_MSG,
    F_PONG_ID,
    F_LOG_LEVEL, F_LOG_MSG,
    F_ERR_CODE, F_ERR_SENSOR, F_ERR_MSG,
    F_USE_V,
    F_CMD_ID, F_CMD_ACT, F_CMD_VAL,
    F_PING_ID,
    F_END
};

typedef struct {
    char key[10];
    uint8_t spec; /* class, | REQ when required */
} fdef;

static const fdef FIELDS[F_END] IW_ROM = {
    [F_HELLO_PROTO] = {"proto", C_UINT | REQ},
    [F_HELLO_MIN] = {"min", C_UINT},
    [F_HELLO_DEV] = {"dev", C_DEVID | REQ},
    [F_HELLO_FW] = {"fw", C_VER | REQ},
    [F_HELLO_BOOT] = {"boot", C_HEX8 | REQ},
    [F_HELLO_SENSORS] = {"sensors", C_UINT | REQ},
    [F_HELLO_ACTUATORS] = {"actuators", C_UINT | REQ},
    [F_CAP_NAME] = {"name", C_NAME | REQ},
    [F_CAP_KIND] = {"kind", C_KIND | REQ},
    [F_CAP_UNIT] = {"unit", C_TEXT},
    [F_CAP_MIN] = {"min", C_NUM},
    [F_CAP_MAX] = {"max", C_NUM},
    [F_CAP_VALUES] = {"values", C_NAMES},
    [F_RD_BOOT] = {"boot", C_HEX8 | REQ},
    [F_RD_SEQ] = {"seq", C_UINT | REQ},
    [F_RD_T] = {"t", C_UINT},
    [F_ACK_ID] = {"id", C_CID | REQ},
    [F_ACK_VAL] = {"val", C_SCALAR},
    [F_NACK_ID] = {"id", C_CID | REQ},
    [F_NACK_REASON] = {"reason", C_NAME | REQ},
    [F_NACK_MSG] = {"msg", C_TEXT},
    [F_PONG_ID] = {"id", C_CID | REQ},
    [F_LOG_LEVEL] = {"level", C_LEVEL | REQ},
    [F_LOG_MSG] = {"msg", C_TEXT | REQ},
    [F_ERR_CODE] = {"code", C_NAME | REQ},
    [F_ERR_SENSOR] = {"sensor", C_NAME},
    [F_ERR_MSG] = {"msg", C_TEXT},
    [F_USE_V] = {"v", C_UINT | REQ},
    [F_CMD_ID] = {"id", C_CID | REQ},
    [F_CMD_ACT] = {"act", C_NAME | REQ},
    [F_CMD_VAL] = {"val", C_SCALAR | REQ},
    [F_PING_ID] = {"id", C_CID | REQ},
};

typedef struct {
    char name[IW_MAX_TYPE + 1];
    uint8_t first; /* index into FIELDS */
    uint8_t count;
} tdef;

#define SPAN(from, to) (from), (uint8_t)((to) - (from))
static const tdef TYPES[] IW_ROM = {
    [IW_T_NONE] = {"", 0, 0},
    [IW_T_HELLO] = {"HELLO", SPAN(F_HELLO_PROTO, F_CAP_NAME)},
    [IW_T_SENSOR] = {"SENSOR", SPAN(F_CAP_NAME, F_RD_BOOT)},
    [IW_T_ACTUATOR] = {"ACTUATOR", SPAN(F_CAP_NAME, F_RD_BOOT)},
    [IW_T_RD] = {"RD", SPAN(F_RD_BOOT, F_ACK_ID)},
    [IW_T_ACK] = {"ACK", SPAN(F_ACK_ID, F_NACK_ID)},
    [IW_T_NACK] = {"NACK", SPAN(F_NACK_ID, F_PONG_ID)},
    [IW_T_PONG] = {"PONG", SPAN(F_PONG_ID, F_LOG_LEVEL)},
    [IW_T_LOG] = {"LOG", SPAN(F_LOG_LEVEL, F_ERR_CODE)},
    [IW_T_ERR] = {"ERR", SPAN(F_ERR_CODE, F_USE_V)},
    [IW_T_WHO] = {"WHO", SPAN(F_USE_V, F_USE_V)},
    [IW_T_USE] = {"USE", SPAN(F_USE_V, F_CMD_ID)},
    [IW_T_CMD] = {"CMD", SPAN(F_CMD_ID, F_PING_ID)},
    [IW_T_PING] = {"PING", SPAN(F_PING_ID, F_END)},
};
#define TYPE_COUNT (sizeof TYPES / sizeof TYPES[0])

static const char KINDS[] IW_ROM = "num|bool|enum";
static const char LEVELS[] IW_ROM = "debug|info|warn|error";
static const char RESERVED[] IW_ROM = "boot|seq|t"; /* RD's own keys; no sensor may take them */
static const char HEX_UPPER[] IW_ROM = "0123456789ABCDEF";
static const char HEX_LOWER[] IW_ROM = "0123456789abcdef";

static void load_type(uint8_t type, tdef *td) { rom_copy(td, &TYPES[type], sizeof *td); }
static void load_field(uint8_t idx, fdef *fd) { rom_copy(fd, &FIELDS[idx], sizeof *fd); }

const char *iw_err_name(iw_err err)
{
    static const char *const names[] = {"ok", "noise", "truncated", "length", "frame",
                                        "crc", "syntax", "type", "field"};
    return (unsigned)err < sizeof names / sizeof names[0] ? names[err] : "?";
}

/* ---- CRC -------------------------------------------------------------------------------------- */

uint16_t iw_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFFu;
    uint8_t bit;
    while (len--) {
        crc ^= (uint16_t)((uint16_t)*data++ << 8);
        for (bit = 0; bit < 8; bit++)
            crc = (uint16_t)((crc & 0x8000u) ? ((unsigned)crc << 1) ^ 0x1021u : (unsigned)crc << 1);
    }
    return crc;
}

/* ---- Characters and value classes (§2 Tokens, §3) --------------------------------------------- */

enum { K_DIGIT = 1, K_LOWER = 2, K_UPPER = 4, K_DOT = 8, K_UNDER = 16, K_DASH = 32, K_PLUS = 64,
       K_HEXLOW = 128 };

static uint8_t char_kind(uint8_t c)
{
    if (c >= '0' && c <= '9') return K_DIGIT;
    if (c >= 'a' && c <= 'z') return (uint8_t)(K_LOWER | (c <= 'f' ? K_HEXLOW : 0));
    if (c >= 'A' && c <= 'Z') return K_UPPER;
    switch (c) {
    case '.': return K_DOT;
    case '_': return K_UNDER;
    case '-': return K_DASH;
    case '+': return K_PLUS;
    default: return 0;
    }
}

static int chars_ok(const uint8_t *p, size_t n, size_t max, uint8_t allowed)
{
    if (n == 0 || n > max) return 0;
    for (; n; n--, p++)
        if (!(char_kind(*p) & allowed)) return 0;
    return 1;
}

static int hex_upper_val(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A byte a value may carry without an escape. */
static int literal_ok(uint8_t c)
{
    return c >= 0x21 && c <= 0x7E && c != '$' && c != '*' && c != '%' && c != '=';
}

/* Keys have the grammar of the `name` class. */
static int is_name(const uint8_t *p, size_t n)
{
    return n >= 1 && (char_kind(p[0]) & K_LOWER) &&
           chars_ok(p, n, IW_MAX_KEY, K_LOWER | K_DIGIT | K_UNDER);
}

static int parse_u32(const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    if (!chars_ok(p, n, 10, K_DIGIT) || (n > 1 && p[0] == '0')) return 0;
    for (; n; n--, p++) {
        uint8_t d = (uint8_t)(*p - '0');
        if (v > (UINT32_MAX - d) / 10u) return 0;
        v = v * 10u + d;
    }
    *out = v;
    return 1;
}

static size_t digits(const uint8_t *p, size_t i, size_t n)
{
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    return i;
}

/*
 * Significant digits of a `num` (§3: at most 15, so that every num survives a trip through an IEEE-754
 * double and back). The rule counts digits as written from the first non-zero one: drop the `-`, the
 * `0` of `0.xxx` and the zeros right after its point, and count every digit left, zeros included.
 * So `0.000123` has 3, `1.00000000000000` has 15 and `1000000000000000` (1e15) has 16.
 */
#define IW_NUM_DIGITS 15u

static int is_num(const uint8_t *p, size_t n)
{
    size_t neg, i, j, frac, ndigits, skip = 0;
    if (n == 0 || n > 20) return 0;
    neg = (p[0] == '-');
    i = digits(p, neg, n);
    if (i == neg || (p[neg] == '0' && i - neg > 1)) return 0;
    ndigits = i - neg;
    if (i < n) {
        if (p[i] != '.') return 0;
        frac = i + 1;
        i = digits(p, frac, n);
        if (i != n || i == frac) return 0;
        ndigits += n - frac;
        if (p[neg] == '0') /* `0.000ddd`: the 0 and the zeros after the point are not significant */
            for (skip = 1, j = frac; j < n && p[j] == '0'; j++) skip++;
    }
    return ndigits - skip <= IW_NUM_DIGITS;
}

/*
 * The dump's shortest form of a valid `num` (vectors/README.md): without the trailing zeros of the
 * fraction, and without the point when nothing remains. It is always a prefix of the wire text.
 */
static size_t num_trim(const uint8_t *p, size_t n)
{
    size_t dot = 0;
    while (dot < n && p[dot] != '.') dot++;
    if (dot == n) return n;
    while (n > dot + 1 && p[n - 1] == '0') n--;
    return n == dot + 1 ? dot : n;
}

static int is_names(const uint8_t *p, size_t n)
{
    size_t start = 0, i, count = 0;
    for (i = 0; i <= n; i++) {
        if (i < n && p[i] != '|') continue;
        if (++count > 16 || !is_name(p + start, i - start)) return 0;
        start = i + 1;
    }
    return 1;
}

/* Whether p[0..n) is one of the members of a `|`-separated list kept in ROM. */
static int in_list(const uint8_t *p, size_t n, const char *list)
{
    size_t i = 0;
    int match = 1;
    for (;; list++) {
        uint8_t c = rom_byte(list);
        if (c == '|' || c == 0) {
            if (match && i == n) return 1;
            if (c == 0) return 0;
            i = 0;
            match = 1;
        } else {
            if (i >= n || p[i] != c) match = 0;
            i++;
        }
    }
}

/* Next byte of an encoded text value, advancing *i past a `%HH` escape. */
static uint8_t text_byte(const uint8_t *p, size_t *i)
{
    uint8_t c = p[*i];
    if (c == '%') {
        c = (uint8_t)(hex_upper_val(p[*i + 1]) << 4 | hex_upper_val(p[*i + 2]));
        *i += 2;
    }
    (*i)++;
    return c;
}

/*
 * A `text` value (§3): its bytes, escapes decoded, must be well-formed UTF-8 (Unicode Table 3-7).
 * No overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF), nothing above
 * U+10FFFF (F4 90.., F5..FF), no stray continuation byte and no sequence cut short.
 */
static int utf8_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    uint8_t need = 0, lo = 0x80, hi = 0xBF; /* continuation bytes still due, range of the next */
    while (i < n) {
        uint8_t c = text_byte(p, &i);
        if (need) {
            if (c < lo || c > hi) return 0;
            need--;
            lo = 0x80;
            hi = 0xBF;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else if (c >= 0x80) {
            return 0;
        }
    }
    return need == 0;
}

static int class_ok(uint8_t cls, const uint8_t *p, size_t n)
{
    uint32_t ignored;
    switch (cls) {
    case C_UINT: return parse_u32(p, n, &ignored);
    case C_NUM: return is_num(p, n);
    case C_NAME: return is_name(p, n);
    case C_NAMES: return is_names(p, n);
    case C_HEX8: return n == 8 && chars_ok(p, n, 8, K_DIGIT | K_HEXLOW);
    case C_DEVID: return chars_ok(p, n, 32, K_DIGIT | K_LOWER | K_UPPER | K_DOT | K_UNDER | K_DASH);
    case C_VER:
        return chars_ok(p, n, 24, K_DIGIT | K_LOWER | K_UPPER | K_DOT | K_UNDER | K_DASH | K_PLUS);
    case C_CID: return chars_ok(p, n, 8, K_DIGIT | K_LOWER);
    case C_KIND: return in_list(p, n, KINDS);
    case C_LEVEL: return in_list(p, n, LEVELS);
    case C_SCALAR: return is_num(p, n) || is_name(p, n);
    case C_TEXT: return utf8_ok(p, n); /* the syntax check already validated bytes and escapes */
    default: return 0;
    }
}

/* ---- Exact decimal comparison ------------------------------------------------------------------- */

typedef struct {
    const uint8_t *ip, *fp; /* integer and fraction digits */
    size_t il, fl;
    int sign; /* -1, 0 (the value is zero, whatever its spelling) or 1 */
} decimal;

static void decimal_split(const uint8_t *p, size_t n, decimal *d)
{
    size_t i, neg = (n > 0 && p[0] == '-');
    d->ip = p + neg;
    d->il = digits(p, neg, n) - neg;
    d->fp = d->ip;
    d->fl = 0;
    if (neg + d->il < n) { /* a `.` and at least one digit follow */
        d->fp += d->il + 1;
        d->fl = n - neg - d->il - 1;
    }
    d->sign = 0;
    for (i = neg; i < n; i++)
        if (p[i] >= '1' && p[i] <= '9') d->sign = neg ? -1 : 1;
}

/* Magnitudes; the grammar forbids leading zeros, so a longer integer part is a larger number. */
static int magnitude_cmp(const decimal *a, const decimal *b)
{
    size_t i, fl = a->fl > b->fl ? a->fl : b->fl;
    if (a->il != b->il) return a->il < b->il ? -1 : 1;
    for (i = 0; i < a->il; i++)
        if (a->ip[i] != b->ip[i]) return a->ip[i] < b->ip[i] ? -1 : 1;
    for (i = 0; i < fl; i++) {
        uint8_t da = i < a->fl ? a->fp[i] : '0', db = i < b->fl ? b->fp[i] : '0';
        if (da != db) return da < db ? -1 : 1;
    }
    return 0;
}

int iw_num_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    decimal da, db;
    decimal_split(a, alen, &da);
    decimal_split(b, blen, &db);
    if (da.sign != db.sign) return da.sign < db.sign ? -1 : 1;
    if (da.sign == 0) return 0;
    return da.sign * magnitude_cmp(&da, &db);
}

/* ---- Framer (§2 state machine) ---------------------------------------------------------------- */

enum { ST_IDLE, ST_FRAME, ST_DISCARD };

void iw_framer_init(iw_framer *fr)
{
    fr->len = 0;
    fr->state = ST_IDLE;
    fr->noise = 0;
}

static void framer_start(iw_framer *fr)
{
    fr->buf[0] = '$';
    fr->len = 1;
    fr->state = ST_FRAME;
}

static iw_fr framer_idle(iw_framer *fr, uint8_t b)
{
    iw_fr report = fr->noise ? IW_FR_NOISE : IW_FR_NONE;
    if (b == '$') {
        framer_start(fr);
    } else if (b != '\r' && b != '\n') {
        fr->noise = 1; /* reported once, when the run ends */
        return IW_FR_NONE;
    }
    fr->noise = 0;
    return report;
}

static iw_fr framer_frame(iw_framer *fr, uint8_t b)
{
    if (b == '\n') {
        if (fr->buf[fr->len - 1] == '\r') fr->len--;
        fr->state = ST_IDLE;
        return IW_FR_LINE;
    }
    if (b == '$') {
        framer_start(fr);
        return IW_FR_TRUNCATED;
    }
    if (fr->len == IW_LINE_BUF) {
        fr->state = ST_DISCARD;
        return IW_FR_LENGTH;
    }
    fr->buf[fr->len++] = b;
    return IW_FR_NONE;
}

iw_fr iw_framer_push(iw_framer *fr, uint8_t b)
{
    switch (fr->state) {
    case ST_FRAME: return framer_frame(fr, b);
    case ST_DISCARD:
        if (b == '\n') fr->state = ST_IDLE;
        if (b == '$') framer_start(fr);
        return IW_FR_NONE;
    default: return framer_idle(fr, b);
    }
}

const uint8_t *iw_framer_line(const iw_framer *fr, size_t *len)
{
    *len = fr->len;
    return fr->buf;
}

iw_err iw_fr_err(iw_fr report)
{
    switch (report) {
    case IW_FR_NOISE: return IW_E_NOISE;
    case IW_FR_TRUNCATED: return IW_E_TRUNCATED;
    case IW_FR_LENGTH: return IW_E_LENGTH;
    default: return IW_OK;
    }
}

/* ---- Decoder (§2 Line decoding) ------------------------------------------------------------------ */

static int frame_ok(const uint8_t *s, size_t len)
{
    size_t i;
    if (len < 6 || s[0] != '$' || s[len - 5] != '*') return 0;
    for (i = len - 4; i < len; i++)
        if (hex_upper_val(s[i]) < 0) return 0;
    return 1;
}

static uint16_t hex4(const uint8_t *s)
{
    uint16_t v = 0;
    uint8_t i;
    for (i = 0; i < 4; i++) v = (uint16_t)((v << 4) | (uint16_t)hex_upper_val(s[i]));
    return v;
}

static int find_key(const iw_frame *f, const uint8_t *key, size_t klen)
{
    uint8_t i;
    for (i = 0; i < f->nfields; i++)
        if (f->field[i].key_len == klen && memcmp(f->line + f->field[i].key_off, key, klen) == 0)
            return i;
    return -1;
}

/* End of a value starting at i: the next space or `end`, or 0 when a byte or escape is bad. */
static size_t scan_value(const uint8_t *s, size_t i, size_t end)
{
    while (i < end && s[i] != ' ') {
        if (s[i] == '%') {
            if (i + 2 >= end || hex_upper_val(s[i + 1]) < 0 || hex_upper_val(s[i + 2]) < 0) return 0;
            i += 3;
        } else if (literal_ok(s[i])) {
            i++;
        } else {
            return 0;
        }
    }
    return i;
}

/* Parses ` key=value` whose key starts at i; returns where it ends, 0 on a syntax error. */
static size_t split_field(iw_frame *f, size_t i, size_t end)
{
    const uint8_t *s = f->line;
    size_t k = i, v;
    iw_field *fd;
    while (i < end && s[i] != '=') i++;
    if (i == end || !is_name(s + k, i - k) || f->nfields == IW_MAX_FIELDS) return 0;
    v = i + 1;
    i = scan_value(s, v, end);
    if (i <= v || i - v > IW_MAX_VALUE || find_key(f, s + k, v - 1 - k) >= 0) return 0;
    fd = &f->field[f->nfields++];
    fd->key_off = (uint8_t)k;
    fd->key_len = (uint8_t)(v - 1 - k);
    fd->val_off = (uint8_t)v;
    fd->val_len = (uint8_t)(i - v);
    return i;
}

/* TYPE and fields of the payload line[1..end); returns the TYPE length, 0 on a syntax error. */
static size_t split_payload(iw_frame *f, size_t end)
{
    const uint8_t *s = f->line;
    size_t i = 1, tlen;
    while (i < end && s[i] != ' ') {
        if (char_kind(s[i]) != K_UPPER) return 0;
        i++;
    }
    tlen = i - 1;
    if (tlen == 0 || tlen > IW_MAX_TYPE) return 0;
    f->nfields = 0;
    while (i < end) {
        i = split_field(f, i + 1, end);
        if (i == 0) return 0;
    }
    return tlen;
}

static uint8_t lookup_type(const uint8_t *name, size_t len)
{
    uint8_t t;
    tdef td;
    for (t = IW_T_HELLO; t < TYPE_COUNT; t++) {
        load_type(t, &td);
        if (strlen(td.name) == len && memcmp(td.name, name, len) == 0) return t;
    }
    return IW_T_NONE;
}

/* The value of FIELDS[idx] in f, or 0 when absent. */
static int schema_val(const iw_frame *f, uint8_t idx, const uint8_t **p, size_t *n)
{
    fdef fd;
    int i;
    load_field(idx, &fd);
    i = find_key(f, (const uint8_t *)fd.key, strlen(fd.key));
    if (i < 0) return 0;
    *p = f->line + f->field[i].val_off;
    *n = f->field[i].val_len;
    return 1;
}

static int schema_u32(const iw_frame *f, uint8_t idx, uint32_t *v)
{
    const uint8_t *p;
    size_t n;
    return schema_val(f, idx, &p, &n) && parse_u32(p, n, v);
}

static int hello_ok(const iw_frame *f)
{
    uint32_t proto, min, sensors, actuators;
    if (!schema_u32(f, F_HELLO_PROTO, &proto) || proto < 1) return 0;
    if (schema_u32(f, F_HELLO_MIN, &min) && min > proto) return 0;
    return schema_u32(f, F_HELLO_SENSORS, &sensors) && sensors <= IW_MAX_CAPS &&
           schema_u32(f, F_HELLO_ACTUATORS, &actuators) && actuators <= IW_MAX_CAPS;
}

static int capability_ok(const iw_frame *f)
{
    const uint8_t *p, *q;
    size_t n, m;
    if (!schema_val(f, F_CAP_NAME, &p, &n) || in_list(p, n, RESERVED)) return 0;
    if (!schema_val(f, F_CAP_KIND, &p, &n)) return 0;
    if (n == 4 && memcmp(p, "enum", 4) == 0 && !schema_val(f, F_CAP_VALUES, &q, &m)) return 0;
    if (schema_val(f, F_CAP_MIN, &p, &n) && schema_val(f, F_CAP_MAX, &q, &m))
        return iw_num_cmp(p, n, q, m) <= 0;
    return 1;
}

static int is_sensor_key(const iw_frame *f, uint8_t i)
{
    return !in_list(f->line + f->field[i].key_off, f->field[i].key_len, RESERVED);
}

static int reading_ok(const iw_frame *f)
{
    uint8_t i, sensors = 0;
    for (i = 0; i < f->nfields; i++) {
        if (!is_sensor_key(f, i)) continue;
        if (!class_ok(C_SCALAR, f->line + f->field[i].val_off, f->field[i].val_len)) return 0;
        sensors++;
    }
    return sensors > 0;
}

static int schema_ok(const iw_frame *f)
{
    tdef td;
    fdef fd;
    uint8_t i;
    const uint8_t *p;
    size_t n;
    load_type(f->type, &td);
    for (i = 0; i < td.count; i++) {
        load_field((uint8_t)(td.first + i), &fd);
        if (!schema_val(f, (uint8_t)(td.first + i), &p, &n)) {
            if (fd.spec & REQ) return 0;
        } else if (!class_ok(CLASS_OF(fd.spec), p, n)) {
            return 0;
        }
    }
    return 1;
}

static int rules_ok(const iw_frame *f)
{
    switch (f->type) {
    case IW_T_HELLO: return hello_ok(f);
    case IW_T_SENSOR:
    case IW_T_ACTUATOR: return capability_ok(f);
    case IW_T_RD: return reading_ok(f);
    default: return 1;
    }
}

iw_err iw_decode_line(const uint8_t *line, size_t len, iw_frame *out)
{
    size_t tlen;
    if (len > IW_MAX_FRAME) return IW_E_LENGTH;
    if (!frame_ok(line, len)) return IW_E_FRAME;
    if (iw_crc16(line + 1, len - 6) != hex4(line + len - 4)) return IW_E_CRC;
    out->line = line;
    out->type = IW_T_NONE;
    tlen = split_payload(out, len - 5);
    if (tlen == 0) return IW_E_SYNTAX;
    out->type = lookup_type(line + 1, tlen);
    if (out->type == IW_T_NONE) return IW_E_TYPE;
    if (!schema_ok(out) || !rules_ok(out)) return IW_E_FIELD;
    return IW_OK;
}

/* ---- Field access ------------------------------------------------------------------------------ */

int iw_get(const iw_frame *f, const char *key, const uint8_t **val, size_t *len)
{
    int i = find_key(f, (const uint8_t *)key, strlen(key));
    if (i < 0) return 0;
    *val = f->line + f->field[i].val_off;
    *len = f->field[i].val_len;
    return 1;
}

int iw_get_is(const iw_frame *f, const char *key, const char *lit)
{
    const uint8_t *p;
    size_t n;
    return iw_get(f, key, &p, &n) && n == strlen(lit) && memcmp(p, lit, n) == 0;
}

int iw_get_u32(const iw_frame *f, const char *key, uint32_t *out)
{
    const uint8_t *p;
    size_t n;
    return iw_get(f, key, &p, &n) && parse_u32(p, n, out);
}

size_t iw_get_text(const iw_frame *f, const char *key, uint8_t *out, size_t cap)
{
    const uint8_t *p;
    size_t n, i = 0, o = 0;
    if (!iw_get(f, key, &p, &n)) return 0;
    while (i < n) {
        if (o + 1 >= cap) return 0;
        out[o++] = text_byte(p, &i);
    }
    out[o] = 0;
    return o;
}

/* ---- Dump (vectors/README.md) ------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t cap, len;
    int bad;
} sbuf;

static void put(sbuf *b, char c)
{
    if (b->len + 1 < b->cap) b->p[b->len++] = c;
    else b->bad = 1;
}

static void put_n(sbuf *b, const uint8_t *s, size_t n)
{
    while (n--) put(b, (char)*s++);
}

static void put_str(sbuf *b, const char *s)
{
    while (*s) put(b, *s++);
}

static void put_escaped(sbuf *b, uint8_t c)
{
    if (c >= 0x21 && c <= 0x7E && c != '\\') {
        put(b, (char)c);
        return;
    }
    put(b, '\\');
    put(b, 'x');
    put(b, (char)rom_byte(&HEX_LOWER[c >> 4]));
    put(b, (char)rom_byte(&HEX_LOWER[c & 15]));
}

/* Writes ` key=value`: text percent-decoded and byte-escaped, num in shortest form, others as is. */
static void dump_pair(sbuf *b, const char *key, size_t klen, const uint8_t *v, size_t n, uint8_t cls)
{
    size_t i = 0;
    put(b, ' ');
    put_n(b, (const uint8_t *)key, klen);
    put(b, '=');
    if (cls == C_TEXT) {
        while (i < n) put_escaped(b, text_byte(v, &i));
        return;
    }
    put_n(b, v, cls == C_NUM ? num_trim(v, n) : n);
}

static void dump_schema(sbuf *b, const iw_frame *f, const tdef *td)
{
    fdef fd;
    uint8_t i, idx;
    const uint8_t *p;
    size_t n;
    for (i = 0; i < td->count; i++) {
        idx = (uint8_t)(td->first + i);
        load_field(idx, &fd);
        /* HELLO min defaults to proto (§4), and the dump shows defaults. */
        if (!schema_val(f, idx, &p, &n) && !(idx == F_HELLO_MIN && schema_val(f, F_HELLO_PROTO, &p, &n)))
            continue;
        dump_pair(b, fd.key, strlen(fd.key), p, n, CLASS_OF(fd.spec));
    }
}

static void dump_sensors(sbuf *b, const iw_frame *f)
{
    uint8_t i;
    for (i = 0; i < f->nfields; i++) {
        const iw_field *fd = &f->field[i];
        if (is_sensor_key(f, i))
            dump_pair(b, (const char *)f->line + fd->key_off, fd->key_len, f->line + fd->val_off,
                      fd->val_len, C_SCALAR);
    }
}

static size_t sbuf_finish(sbuf *b)
{
    if (b->cap == 0) return 0;
    b->p[b->len] = 0;
    return b->bad ? 0 : b->len;
}

size_t iw_dump(const iw_frame *f, char *out, size_t cap)
{
    sbuf b = {0, 0, 0, 0};
    tdef td;
    b.p = out;
    b.cap = cap;
    load_type(f->type, &td);
    put_str(&b, "ok ");
    put_str(&b, td.name);
    dump_schema(&b, f, &td);
    if (f->type == IW_T_RD) dump_sensors(&b, f);
    return sbuf_finish(&b);
}

size_t iw_dump_result(iw_err err, const iw_frame *f, char *out, size_t cap)
{
    sbuf b = {0, 0, 0, 0};
    if (err == IW_OK) return iw_dump(f, out, cap);
    b.p = out;
    b.cap = cap;
    put_str(&b, "err ");
    put_str(&b, iw_err_name(err));
    return sbuf_finish(&b);
}

/* ---- Encoder ------------------------------------------------------------------------------------ */

static void enc_put(iw_enc *e, uint8_t c)
{
    if (e->len < e->cap) e->buf[e->len++] = c;
    else e->bad = 1;
}

static void enc_hex(iw_enc *e, uint8_t c)
{
    enc_put(e, (uint8_t)rom_byte(&HEX_UPPER[c >> 4]));
    enc_put(e, (uint8_t)rom_byte(&HEX_UPPER[c & 15]));
}

void iw_enc_begin(iw_enc *e, uint8_t *buf, size_t cap, const char *type)
{
    size_t n = strlen(type);
    e->buf = buf;
    e->cap = cap;
    e->len = 0;
    e->nfields = 0;
    e->bad = !chars_ok((const uint8_t *)type, n, IW_MAX_TYPE, K_UPPER);
    enc_put(e, '$');
    while (*type) enc_put(e, (uint8_t)*type++);
}

static void enc_key(iw_enc *e, const uint8_t *key, size_t klen)
{
    if (!is_name(key, klen) || e->nfields == IW_MAX_FIELDS) e->bad = 1;
    e->nfields++;
    enc_put(e, ' ');
    while (klen--) enc_put(e, *key++);
    enc_put(e, '=');
}

static void enc_raw_n(iw_enc *e, const uint8_t *key, size_t klen, const uint8_t *val, size_t n)
{
    enc_key(e, key, klen);
    if (n == 0 || n > IW_MAX_VALUE) e->bad = 1;
    for (; n; n--, val++) {
        if (!literal_ok(*val)) e->bad = 1;
        enc_put(e, *val);
    }
}

void iw_enc_raw(iw_enc *e, const char *key, const uint8_t *val, size_t len)
{
    enc_raw_n(e, (const uint8_t *)key, strlen(key), val, len);
}

void iw_enc_str(iw_enc *e, const char *key, const char *val)
{
    iw_enc_raw(e, key, (const uint8_t *)val, strlen(val));
}

/*
 * The canonical text spelling, shared with the TypeScript encoder and the `canonical` vectors:
 * escape exactly the bytes a value cannot carry literally. So `|` stays literal, as in PROTOCOL.md's
 * NACK example; `%7C` decodes to the same text but is not canonical (vector nack-msg-pipe-escaped).
 */
/* Appends one text byte; *n counts the encoded length of the value. */
static void enc_text_byte(iw_enc *e, uint8_t c, size_t *n)
{
    if (literal_ok(c)) {
        enc_put(e, c);
        *n += 1;
    } else {
        enc_put(e, '%');
        enc_hex(e, c);
        *n += 3;
    }
}

void iw_enc_text(iw_enc *e, const char *key, const uint8_t *text, size_t len)
{
    size_t n = 0;
    enc_key(e, (const uint8_t *)key, strlen(key));
    while (len--) enc_text_byte(e, *text++, &n);
    if (n == 0 || n > IW_MAX_VALUE) e->bad = 1;
}

/* A text field taken from the wire (escapes decoded) and escaped again canonically. */
static void enc_text_wire(iw_enc *e, const char *key, const uint8_t *v, size_t len)
{
    size_t i = 0, n = 0;
    enc_key(e, (const uint8_t *)key, strlen(key));
    while (i < len) enc_text_byte(e, text_byte(v, &i), &n);
    if (n == 0 || n > IW_MAX_VALUE) e->bad = 1;
}

static size_t fmt_u32(char *out, uint32_t v)
{
    char tmp[10];
    size_t n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    for (i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

static void fmt_hex8(char *out, uint32_t v)
{
    uint8_t i;
    for (i = 0; i < 8; i++) out[i] = (char)rom_byte(&HEX_LOWER[(v >> (28 - 4 * i)) & 15u]);
    out[8] = 0;
}

void iw_enc_u32(iw_enc *e, const char *key, uint32_t v)
{
    char s[11];
    iw_enc_raw(e, key, (const uint8_t *)s, fmt_u32(s, v));
}

void iw_enc_hex8(iw_enc *e, const char *key, uint32_t v)
{
    char s[9];
    fmt_hex8(s, v);
    iw_enc_raw(e, key, (const uint8_t *)s, 8);
}

size_t iw_enc_end(iw_enc *e)
{
    uint16_t crc;
    if (e->bad || e->len + 5 > IW_MAX_FRAME) return 0;
    crc = iw_crc16(e->buf + 1, e->len - 1);
    enc_put(e, '*');
    enc_hex(e, (uint8_t)(crc >> 8));
    enc_hex(e, (uint8_t)(crc & 0xFFu));
    enc_put(e, '\n');
    return e->bad ? 0 : e->len;
}

/* ---- Frame encoders ------------------------------------------------------------------------------ */

/*
 * A schema field other than text. `num` fields go out in the dump's shortest form (`0.50` as `0.5`),
 * which is how the TypeScript encoder writes them too; a value that is not a num is left whole for
 * the decode check to refuse.
 */
static void enc_value(iw_enc *e, const char *key, uint8_t cls, const uint8_t *v, size_t n)
{
    iw_enc_raw(e, key, v, cls == C_NUM && is_num(v, n) ? num_trim(v, n) : n);
}

/* Ends the frame and keeps it only if it decodes as a valid frame of the intended type. */
static size_t finish_checked(iw_enc *e, uint8_t type)
{
    iw_frame f;
    size_t n = iw_enc_end(e);
    if (n == 0 || iw_decode_line(e->buf, n - 1, &f) != IW_OK || f.type != type) return 0;
    return n;
}

static size_t encode_schema(uint8_t *buf, size_t cap, iw_type type, const char *const *vals,
                            const iw_kv *extra, uint8_t nextra)
{
    iw_enc e;
    tdef td;
    fdef fd;
    uint8_t i;
    if ((unsigned)type == IW_T_NONE || (unsigned)type >= TYPE_COUNT) return 0;
    load_type((uint8_t)type, &td);
    iw_enc_begin(&e, buf, cap, td.name);
    for (i = 0; i < td.count; i++) {
        if (!vals || !vals[i]) continue;
        load_field((uint8_t)(td.first + i), &fd);
        if (CLASS_OF(fd.spec) == C_TEXT)
            iw_enc_text(&e, fd.key, (const uint8_t *)vals[i], strlen(vals[i]));
        else
            enc_value(&e, fd.key, CLASS_OF(fd.spec), (const uint8_t *)vals[i], strlen(vals[i]));
    }
    for (i = 0; i < nextra; i++) iw_enc_str(&e, extra[i].name, extra[i].val);
    return finish_checked(&e, (uint8_t)type);
}

size_t iw_encode_values(uint8_t *buf, size_t cap, iw_type type, const char *const *vals)
{
    return encode_schema(buf, cap, type, vals, 0, 0);
}

size_t iw_encode_hello(uint8_t *buf, size_t cap, uint32_t proto, uint32_t min, const char *dev,
                       const char *fw, uint32_t boot, uint8_t sensors, uint8_t actuators)
{
    char sp[11], sm[11], sb[9], ss[11], sa[11];
    const char *vals[F_CAP_NAME - F_HELLO_PROTO];
    fmt_u32(sp, proto);
    fmt_u32(sm, min);
    fmt_hex8(sb, boot);
    fmt_u32(ss, sensors);
    fmt_u32(sa, actuators);
    vals[0] = sp;
    vals[1] = (min == proto) ? 0 : sm; /* the default needs no field */
    vals[2] = dev;
    vals[3] = fw;
    vals[4] = sb;
    vals[5] = ss;
    vals[6] = sa;
    return encode_schema(buf, cap, IW_T_HELLO, vals, 0, 0);
}

static size_t encode_cap(uint8_t *buf, size_t cap, iw_type type, const iw_cap *c)
{
    const char *vals[F_RD_BOOT - F_CAP_NAME];
    vals[0] = c->name;
    vals[1] = c->kind;
    vals[2] = c->unit;
    vals[3] = c->min;
    vals[4] = c->max;
    vals[5] = c->values;
    return encode_schema(buf, cap, type, vals, 0, 0);
}

size_t iw_encode_sensor(uint8_t *buf, size_t cap, const iw_cap *c)
{
    return encode_cap(buf, cap, IW_T_SENSOR, c);
}

size_t iw_encode_actuator(uint8_t *buf, size_t cap, const iw_cap *c)
{
    return encode_cap(buf, cap, IW_T_ACTUATOR, c);
}

size_t iw_encode_rd(uint8_t *buf, size_t cap, uint32_t boot, uint32_t seq, const uint32_t *t,
                    const iw_kv *vals, uint8_t nvals)
{
    char sb[9], ss[11], st[11];
    const char *fields[F_ACK_ID - F_RD_BOOT];
    fmt_hex8(sb, boot);
    fmt_u32(ss, seq);
    fields[0] = sb;
    fields[1] = ss;
    fields[2] = 0;
    if (t) {
        fmt_u32(st, *t);
        fields[2] = st;
    }
    return encode_schema(buf, cap, IW_T_RD, fields, vals, nvals);
}

size_t iw_encode_ack(uint8_t *buf, size_t cap, const char *id, const char *val)
{
    const char *vals[2];
    vals[0] = id;
    vals[1] = val;
    return encode_schema(buf, cap, IW_T_ACK, vals, 0, 0);
}

size_t iw_encode_nack(uint8_t *buf, size_t cap, const char *id, const char *reason, const char *msg)
{
    const char *vals[3];
    vals[0] = id;
    vals[1] = reason;
    vals[2] = msg;
    return encode_schema(buf, cap, IW_T_NACK, vals, 0, 0);
}

size_t iw_encode_pong(uint8_t *buf, size_t cap, const char *id)
{
    return encode_schema(buf, cap, IW_T_PONG, &id, 0, 0);
}

size_t iw_encode_log(uint8_t *buf, size_t cap, const char *level, const char *msg)
{
    const char *vals[2];
    vals[0] = level;
    vals[1] = msg;
    return encode_schema(buf, cap, IW_T_LOG, vals, 0, 0);
}

size_t iw_encode_err(uint8_t *buf, size_t cap, const char *code, const char *sensor, const char *msg)
{
    const char *vals[3];
    vals[0] = code;
    vals[1] = sensor;
    vals[2] = msg;
    return encode_schema(buf, cap, IW_T_ERR, vals, 0, 0);
}

static void encode_frame_schema(iw_enc *e, const iw_frame *f, const tdef *td)
{
    fdef fd;
    uint8_t i;
    const uint8_t *p;
    size_t n;
    for (i = 0; i < td->count; i++) {
        if (!schema_val(f, (uint8_t)(td->first + i), &p, &n)) continue;
        load_field((uint8_t)(td->first + i), &fd);
        if (CLASS_OF(fd.spec) == C_TEXT) enc_text_wire(e, fd.key, p, n);
        else enc_value(e, fd.key, CLASS_OF(fd.spec), p, n);
    }
}

size_t iw_encode_frame(const iw_frame *f, uint8_t *buf, size_t cap)
{
    iw_enc e;
    tdef td;
    uint8_t i;
    if (f->type == IW_T_NONE || f->type >= TYPE_COUNT) return 0;
    load_type(f->type, &td);
    iw_enc_begin(&e, buf, cap, td.name);
    encode_frame_schema(&e, f, &td);
    for (i = 0; f->type == IW_T_RD && i < f->nfields; i++) {
        const iw_field *fd = &f->field[i];
        if (is_sensor_key(f, i))
            enc_raw_n(&e, f->line + fd->key_off, fd->key_len, f->line + fd->val_off, fd->val_len);
    }
    return iw_enc_end(&e);
}
