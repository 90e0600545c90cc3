/*
 * Unit tests of the C codec (CRC, framer edges, encoders, helpers) and of the envnode firmware
 * logic on a fake HAL.
 *
 *   test_codec [PROTOCOL_MD]     default ../PROTOCOL.md (the layout when run from test/)
 *
 * Every example frame of PROTOCOL.md must be produced exactly by one of the encoders here; the test
 * reads the document to make sure no example is left unchecked. Ends with `N passed, M failed`.
 */
#include "envnode_app.h"
#include "iotwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned passed, failed;

static void check(int ok, const char *name)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s\n", name);
}

static void print_escaped(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c <= 0x7E && c != '\\') putchar(c);
        else printf("\\x%02x", c);
    }
}

static void check_mem(const void *got, size_t gotlen, const char *want, const char *name)
{
    size_t wantlen = strlen(want);
    if (gotlen == wantlen && memcmp(got, want, wantlen) == 0) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s: expected \"", name);
    print_escaped(want, wantlen);
    printf("\" got \"");
    print_escaped((const char *)got, gotlen);
    printf("\"\n");
}

/* `$payload*HHHH\n`, for expectations that are not PROTOCOL.md examples. */
static const char *frame(const char *payload)
{
    static char out[8][300];
    static unsigned next;
    char *s = out[next++ % 8];
    sprintf(s, "$%s*%04X\n", payload, (unsigned)iw_crc16((const uint8_t *)payload, strlen(payload)));
    return s;
}

/* ---- PROTOCOL.md examples -------------------------------------------------------------------- */

#define MAX_EXAMPLES 64
static uint8_t encoded[MAX_EXAMPLES][IW_ENC_BUF + 1];
static unsigned nencoded;

static void example(size_t len, const char *want, const char *name)
{
    check_mem(encoded[nencoded], len, want, name);
    if (nencoded < MAX_EXAMPLES - 1) nencoded++;
}

#define BUF encoded[nencoded], IW_ENC_BUF

static void test_examples_device(void)
{
    static const iw_cap temp = {"temp", "num", "\xC2\xB0" "C", "-40", "85", 0};
    static const iw_cap hum = {"hum", "num", "%", "0", "100", 0};
    static const iw_cap door = {"door", "bool", 0, 0, 0, 0};
    static const iw_cap relay = {"relay", "bool", 0, 0, 0, 0};
    static const iw_cap led = {"led", "enum", 0, 0, 0, "off|on|blink"};
    static const iw_kv rd1[] = {{"temp", "21.50"}, {"hum", "40.2"}, {"door", "0"}};
    static const iw_kv rd2[] = {{"temp", "21.52"}};
    uint32_t t = 1520;
    example(iw_encode_hello(BUF, 1, 1, "envnode-01", "1.0.0", 0x3f9a12c0u, 3, 2),
            "$HELLO proto=1 dev=envnode-01 fw=1.0.0 boot=3f9a12c0 sensors=3 actuators=2*2D40\n", "HELLO");
    example(iw_encode_sensor(BUF, &temp), "$SENSOR name=temp kind=num unit=%C2%B0C min=-40 max=85*1053\n",
            "SENSOR temp");
    example(iw_encode_sensor(BUF, &hum), "$SENSOR name=hum kind=num unit=%25 min=0 max=100*D255\n",
            "SENSOR hum");
    example(iw_encode_sensor(BUF, &door), "$SENSOR name=door kind=bool*AA9B\n", "SENSOR door");
    example(iw_encode_actuator(BUF, &relay), "$ACTUATOR name=relay kind=bool*57F7\n", "ACTUATOR relay");
    example(iw_encode_actuator(BUF, &led), "$ACTUATOR name=led kind=enum values=off|on|blink*BD52\n",
            "ACTUATOR led");
    example(iw_encode_rd(BUF, 0x3f9a12c0u, 1, &t, rd1, 3),
            "$RD boot=3f9a12c0 seq=1 t=1520 temp=21.50 hum=40.2 door=0*AB90\n", "RD 1");
    example(iw_encode_rd(BUF, 0x3f9a12c0u, 2, 0, rd2, 1), "$RD boot=3f9a12c0 seq=2 temp=21.52*1394\n",
            "RD 2");
    example(iw_encode_ack(BUF, "7", "1"), "$ACK id=7 val=1*2EB2\n", "ACK");
    example(iw_encode_nack(BUF, "8", "bad_value", "led accepts off|on|blink"),
            "$NACK id=8 reason=bad_value msg=led%20accepts%20off|on|blink*B851\n", "NACK");
    example(iw_encode_pong(BUF, "9"), "$PONG id=9*477B\n", "PONG");
    example(iw_encode_log(BUF, "info", "sensor warm-up done"), "$LOG level=info msg=sensor%20warm-up%20done*78C5\n",
            "LOG");
    example(iw_encode_err(BUF, "sensor_fail", "hum", "no response from SHT31"),
            "$ERR code=sensor_fail sensor=hum msg=no%20response%20from%20SHT31*8492\n", "ERR");
}

static void test_examples_agent(void)
{
    static const char *const use[] = {"1"};
    static const char *const cmd7[] = {"7", "relay", "1"};
    static const char *const cmd8[] = {"8", "led", "strobe"};
    static const char *const ping[] = {"9"};
    example(iw_encode_values(BUF, IW_T_WHO, 0), "$WHO*2A8C\n", "WHO");
    example(iw_encode_values(BUF, IW_T_USE, use), "$USE v=1*E6E8\n", "USE");
    example(iw_encode_values(BUF, IW_T_CMD, cmd7), "$CMD id=7 act=relay val=1*CBD4\n", "CMD 7");
    example(iw_encode_values(BUF, IW_T_CMD, cmd8), "$CMD id=8 act=led val=strobe*1837\n", "CMD 8");
    example(iw_encode_values(BUF, IW_T_PING, ping), "$PING id=9*C7B0\n", "PING");
}

static int was_encoded(const char *line)
{
    unsigned i;
    size_t n = strlen(line);
    for (i = 0; i < nencoded; i++)
        if (memcmp(encoded[i], line, n) == 0 && encoded[i][n] == '\n') return 1;
    return 0;
}

/* Every `$...*HHHH` line in the document must be one the encoders above produced, byte for byte. */
static void test_examples_cover_protocol(const char *path)
{
    char line[512], name[600];
    unsigned found = 0;
    FILE *fp = fopen(path, "r");
    check(fp != NULL, "PROTOCOL.md readable");
    if (!fp) return;
    while (fgets(line, sizeof line, fp)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        if (n < 6 || line[0] != '$' || line[n - 5] != '*') continue;
        found++;
        snprintf(name, sizeof name, "PROTOCOL.md example produced by an encoder: %s", line);
        check(was_encoded(line), name);
    }
    fclose(fp);
    check(found >= 18, "PROTOCOL.md has its 18 examples");
}

/* ---- CRC, helpers, framer ---------------------------------------------------------------------- */

static void test_crc(void)
{
    check(iw_crc16((const uint8_t *)"123456789", 9) == 0x29B1, "crc check value 29B1");
    check(iw_crc16((const uint8_t *)"", 0) == 0xFFFF, "crc of nothing is the init value");
}

static int cmp(const char *a, const char *b)
{
    return iw_num_cmp((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b));
}

static void test_num_cmp(void)
{
    check(cmp("-0", "0") == 0 && cmp("-0.0", "0.00") == 0, "num_cmp: zero has many spellings");
    check(cmp("1.5", "1.25") == 1 && cmp("1.25", "1.5") == -1, "num_cmp: fractions");
    check(cmp("-40", "85") == -1 && cmp("85", "-40") == 1, "num_cmp: signs");
    check(cmp("-1.5", "-1.25") == -1 && cmp("-2", "-10") == 1, "num_cmp: negative magnitudes");
    check(cmp("10", "9") == 1 && cmp("0.10", "0.1") == 0, "num_cmp: lengths and trailing zeros");
    check(cmp("1", "1.0001") == -1 && cmp("99999999999999999999", "99999999999999999998") == 1,
          "num_cmp: beyond double precision");
}

static int push_all(iw_framer *fr, const char *s, size_t n, iw_fr *last)
{
    int reports = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        iw_fr r = iw_framer_push(fr, (uint8_t)s[i]);
        if (r != IW_FR_NONE) {
            reports++;
            *last = r;
        }
    }
    return reports;
}

static void test_framer_limits(void)
{
    char s[300];
    iw_framer fr;
    iw_fr last = IW_FR_NONE;
    size_t len;
    memset(s, 'A', sizeof s);
    s[0] = '$';
    iw_framer_init(&fr);
    check(push_all(&fr, s, 251, &last) == 0, "framer: 251 bytes fit the buffer");
    check(push_all(&fr, "\n", 1, &last) == 1 && last == IW_FR_LINE, "framer: 251-byte line handed over");
    iw_framer_line(&fr, &len);
    check(len == 251, "framer: 251-byte line kept whole (decoder reports length)");
    check(push_all(&fr, s, 252, &last) == 1 && last == IW_FR_LENGTH, "framer: 252nd byte is length");
    check(push_all(&fr, "xx\n", 3, &last) == 0, "framer: discard until LF, no noise");
    check(push_all(&fr, "ab\r\n", 4, &last) == 1 && last == IW_FR_NOISE, "framer: noise once at CR");
    check(push_all(&fr, "$A\r\r\n", 5, &last) == 1 && last == IW_FR_LINE, "framer: CR CR LF");
    iw_framer_line(&fr, &len);
    check(len == 3, "framer: only one CR dropped");
}

static void test_decode_access(void)
{
    const char *line = "$NACK id=8 reason=bad_value msg=led%20accepts%20off%7Con%7Cblink*BDB9"; /* %7C: | */
    iw_frame f;
    uint8_t text[70];
    uint32_t v = 0;
    char dump[64];
    check(iw_decode_line((const uint8_t *)line, strlen(line), &f) == IW_OK && f.type == IW_T_NACK,
          "decode NACK example");
    check(iw_get_text(&f, "msg", text, sizeof text) == 24 &&
              strcmp((char *)text, "led accepts off|on|blink") == 0,
          "get_text percent-decodes");
    check(iw_get_text(&f, "msg", text, 24) == 0, "get_text refuses a short buffer");
    check(iw_get_is(&f, "reason", "bad_value") && !iw_get_is(&f, "reason", "bad"), "get_is exact");
    check(iw_get_u32(&f, "id", &v) && v == 8 && !iw_get_u32(&f, "nope", &v), "get_u32");
    check(iw_dump(&f, dump, 20) == 0, "dump refuses a short buffer");
    check(strcmp(iw_err_name(IW_E_TRUNCATED), "truncated") == 0 && strcmp(iw_err_name(IW_E_FIELD), "field") == 0,
          "error names");
}

/* ---- Encoders: refusals and escapes ------------------------------------------------------------ */

static void test_encoder_refusals(void)
{
    uint8_t buf[IW_ENC_BUF];
    static const iw_cap enum_no_values = {"led", "enum", 0, 0, 0, 0};
    static const iw_cap reserved = {"seq", "num", 0, 0, 0, 0};
    static const iw_cap bad_range = {"x", "num", 0, "1.5", "1.25", 0};
    static const iw_kv bad_scalar[] = {{"temp", "1e5"}};
    check(iw_encode_ack(buf, 20, "7", "1") == 0 && iw_encode_ack(buf, 21, "7", "1") == 21,
          "encode: exact buffer size needed");
    check(iw_encode_ack(buf, sizeof buf, "A7", "1") == 0, "encode: cid is lowercase");
    check(iw_encode_ack(buf, sizeof buf, 0, "1") == 0, "encode: required field");
    check(iw_encode_nack(buf, sizeof buf, "1", "bad value", 0) == 0, "encode: name class");
    check(iw_encode_sensor(buf, sizeof buf, &enum_no_values) == 0, "encode: enum needs values");
    check(iw_encode_sensor(buf, sizeof buf, &reserved) == 0, "encode: reserved sensor name");
    check(iw_encode_sensor(buf, sizeof buf, &bad_range) == 0, "encode: min <= max");
    check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, bad_scalar, 1) == 0, "encode: RD scalar");
    check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, 0, 0) == 0, "encode: RD needs a sensor");
    check(iw_encode_hello(buf, sizeof buf, 1, 2, "d", "1", 0, 0, 0) == 0, "encode: min <= proto");
    check(iw_encode_hello(buf, sizeof buf, 1, 1, "d", "1", 0, 33, 0) == 0, "encode: at most 32 sensors");
    check(iw_encode_log(buf, sizeof buf, "info", "") == 0, "encode: empty text");
    check(iw_encode_values(buf, sizeof buf, (iw_type)99, 0) == 0, "encode: unknown type");
}

static void test_encoder_text_and_limits(void)
{
    uint8_t buf[IW_ENC_BUF];
    char text[80];
    iw_kv many[15];
    char names[15][12];
    int i;
    size_t n = iw_encode_log(buf, sizeof buf, "warn", "100% = $5 * 2 \\ |\t\xC3\xA9");
    check_mem(buf, n, frame("LOG level=warn msg=100%25%20%3D%20%245%20%2A%202%20\\%20|%09%C3%A9"), "text escapes");
    memset(text, 'a', sizeof text);
    text[64] = 0;
    check(iw_encode_log(buf, sizeof buf, "info", text) > 0, "text of 64 bytes");
    text[63] = ' ';
    check(iw_encode_log(buf, sizeof buf, "info", text) == 0, "text over 64 bytes once escaped");
    for (i = 0; i < 15; i++) {
        sprintf(names[i], "sensor_%02d", i);
        many[i].name = names[i];
        many[i].val = "-1234567.1234567";
    }
    check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, many, 8) > 0, "RD of 8 long values fits");
    check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, many, 9) == 0, "RD over 250 bytes refused");
    for (i = 0; i < 15; i++) many[i].val = "1";
    check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, many, 14) > 0, "16 fields");
    check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, many, 15) == 0, "17 fields refused");
}

/* §3 num: at most 15 significant digits; dump and encoders write min/max in shortest form. */
static void test_num_digits_and_shortest_form(void)
{
    uint8_t buf[IW_ENC_BUF];
    char dump[256];
    iw_frame f;
    static const iw_kv ok15[] = {{"a", "123456789012345"}, {"b", "-0.00123456789012345"},
                                 {"c", "1.00000000000000"}, {"d", "0.123456789012345"}};
    static const iw_kv bad16[] = {{"a", "1234567890123456"}, {"b", "-0.01234567890123456"},
                                  {"c", "1.000000000000000"}, {"d", "0.1234567890123456"},
                                  {"e", "1000000000000000"}};
    static const iw_cap padded = {"x", "num", 0, "-0.0", "100.50", 0};
    static const iw_cap too_precise = {"x", "num", 0, "0.01234567890123456", 0, 0};
    const char *line = frame("SENSOR name=k kind=num min=-0.000 max=10.0100");
    char name[64];
    size_t i, n;
    for (i = 0; i < sizeof ok15 / sizeof ok15[0]; i++) {
        sprintf(name, "num: 15 significant digits, %s", ok15[i].val);
        check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, ok15 + i, 1) > 0, name);
    }
    for (i = 0; i < sizeof bad16 / sizeof bad16[0]; i++) {
        sprintf(name, "num: refused, %s", bad16[i].val);
        check(iw_encode_rd(buf, sizeof buf, 1, 1, 0, bad16 + i, 1) == 0, name);
    }
    check(iw_encode_ack(buf, sizeof buf, "1", "-0.1234567890123456") == 0, "num: ACK val refused");
    check(iw_encode_sensor(buf, sizeof buf, &too_precise) == 0, "num: SENSOR min refused");
    n = iw_encode_sensor(buf, sizeof buf, &padded);
    check_mem(buf, n, frame("SENSOR name=x kind=num min=-0 max=100.5"), "num: encoder writes shortest form");
    check(iw_decode_line((const uint8_t *)line, strlen(line) - 1, &f) == IW_OK, "num: padded min/max decode");
    n = iw_dump(&f, dump, sizeof dump);
    check_mem(dump, n, "ok SENSOR name=k kind=num min=-0 max=10.01", "num: dump in shortest form");
    n = iw_encode_frame(&f, buf, sizeof buf);
    check_mem(buf, n, frame("SENSOR name=k kind=num min=-0 max=10.01"), "num: re-encoded in shortest form");
}

/* §3 text: the decoded bytes must be UTF-8; encoders refuse text that is not. */
static void test_text_utf8(void)
{
    uint8_t buf[IW_ENC_BUF];
    static const char *const bad[] = {"\x80", "caf\xC3", "\xC3x", "\xC0\xAF", "\xE0\x80\xAF",
                                      "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                                      "\xF0\x8F\xBF\xBF", "\xFF", "\xE2\x82"};
    static const char *const good[] = {"\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xED\x9F\xBF",
                                       "\xEE\x80\x80", "\xF4\x8F\xBF\xBF", "\xC2\x80",
                                       "\xEF\xBB\xBF"};
    char name[64];
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sprintf(name, "utf8: invalid text %u refused", (unsigned)i);
        check(iw_encode_log(buf, sizeof buf, "info", bad[i]) == 0, name);
    }
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        sprintf(name, "utf8: valid text %u accepted", (unsigned)i);
        check(iw_encode_log(buf, sizeof buf, "info", good[i]) > 0, name);
    }
}

/* Reference UTF-8 check by code points (Unicode §3.9), independent of the codec's byte ranges. */
static int ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0, len, k;
    uint32_t cp;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0) return 0;
        cp = c & (0x7Fu >> len);
        if (i + len > n) return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u)) return 0; /* overlong */
        if ((cp >= 0xD800u && cp <= 0xDFFFu) || cp > 0x10FFFFu) return 0;
        i += len;
    }
    return 1;
}

/* Whether a LOG whose msg carries these bytes decodes (the encoder escapes them all). */
static int log_text_decodes(const uint8_t *text, size_t n)
{
    uint8_t buf[IW_ENC_BUF];
    iw_enc e;
    iw_frame f;
    size_t len;
    iw_enc_begin(&e, buf, sizeof buf, "LOG");
    iw_enc_str(&e, "level", "info");
    iw_enc_text(&e, "msg", text, n);
    len = iw_enc_end(&e);
    return len > 0 && iw_decode_line(buf, len - 1, &f) == IW_OK;
}

/* Every sequence of 1..4 bytes over the bytes at the edges of the UTF-8 table, and every pair. */
static void test_text_utf8_exhaustive(void)
{
    static const uint8_t edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
                                   0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF3, 0xF4, 0xF5, 0xFF};
    const size_t ne = sizeof edge;
    uint8_t t[4];
    size_t len, idx, total, k, i;
    unsigned mismatches = 0, accepted = 0, tried = 0;
    for (len = 1; len <= 4; len++) {
        for (total = 1, k = 0; k < len; k++) total *= ne;
        for (idx = 0; idx < total; idx++) {
            size_t rest = idx;
            for (k = 0; k < len; k++, rest /= ne) t[k] = edge[rest % ne];
            accepted += (unsigned)ref_utf8(t, len);
            mismatches += (unsigned)(log_text_decodes(t, len) != ref_utf8(t, len));
            tried++;
        }
    }
    for (i = 0; i < 0x10000u; i++) {
        t[0] = (uint8_t)(i >> 8);
        t[1] = (uint8_t)i;
        mismatches += (unsigned)(log_text_decodes(t, 2) != ref_utf8(t, 2));
    }
    check(tried > 200000 && accepted > 1000, "utf8: exhaustive edge sequences tried");
    check(mismatches == 0, "utf8: text accepted exactly when it is UTF-8 (reference by code points)");
}

static void test_builder(void)
{
    uint8_t buf[IW_ENC_BUF];
    iw_enc e;
    iw_enc_begin(&e, buf, sizeof buf, "NEWTYPE");
    iw_enc_u32(&e, "n", 4294967295u);
    iw_enc_hex8(&e, "h", 0xDEADBEEFu);
    iw_enc_text(&e, "t", (const uint8_t *)"a b", 3);
    check_mem(buf, iw_enc_end(&e), frame("NEWTYPE n=4294967295 h=deadbeef t=a%20b"), "builder");
    iw_enc_begin(&e, buf, sizeof buf, "lower");
    check(iw_enc_end(&e) == 0, "builder: TYPE is uppercase");
    iw_enc_begin(&e, buf, sizeof buf, "X");
    iw_enc_str(&e, "Key", "1");
    check(iw_enc_end(&e) == 0, "builder: key grammar");
    iw_enc_begin(&e, buf, sizeof buf, "X");
    iw_enc_str(&e, "k", "a=b");
    check(iw_enc_end(&e) == 0, "builder: raw values carry no = $ * %");
}

/* ---- Mutations: no crash (the sanitizers watch), and re-encoding keeps the frame ------------------ */

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* One random edit of a line: flip a byte to something protocol-relevant, delete or duplicate one. */
static size_t mutate(uint8_t *line, size_t n, size_t cap, uint32_t *rng)
{
    static const char interesting[] = "$*%= |\r\n0aAZz-._9F";
    size_t at = n ? lcg(rng) % n : 0;
    switch (lcg(rng) % 3) {
    case 0:
        if (n) line[at] = lcg(rng) % 4 ? (uint8_t)interesting[lcg(rng) % (sizeof interesting - 1)] : (uint8_t)lcg(rng);
        return n;
    case 1:
        if (n) memmove(line + at, line + at + 1, n - at - 1);
        return n ? n - 1 : 0;
    default:
        if (n == 0 || n >= cap) return n;
        memmove(line + at + 1, line + at, n - at);
        return n + 1;
    }
}

/* Fixes the CRC so that mutations reach the checks behind it. */
static void fix_crc(uint8_t *line, size_t n)
{
    char hex[5];
    if (n < 6 || line[0] != '$' || line[n - 5] != '*') return;
    sprintf(hex, "%04X", (unsigned)iw_crc16(line + 1, n - 6));
    memcpy(line + n - 4, hex, 4);
}

static int reencode_ok(const iw_frame *f)
{
    uint8_t enc[IW_ENC_BUF];
    char want[1024], got[1024];
    iw_frame g;
    size_t n = iw_encode_frame(f, enc, sizeof enc);
    iw_dump(f, want, sizeof want);
    return n > 0 && iw_decode_line(enc, n - 1, &g) == IW_OK && iw_dump(&g, got, sizeof got) > 0 &&
           strcmp(want, got) == 0;
}

static void test_mutations(void)
{
    uint8_t line[300];
    uint32_t rng = 12345;
    unsigned i, decoded = 0, bad = 0;
    iw_framer fr;
    iw_framer_init(&fr);
    check(nencoded > 0, "mutations: seeded by the encoded examples");
    for (i = 0; nencoded > 0 && i < 40000; i++) {
        const uint8_t *src = encoded[i % nencoded];
        size_t n = strcspn((const char *)src, "\n"), k, edits = 1 + lcg(&rng) % 4;
        iw_frame f;
        memcpy(line, src, n);
        for (k = 0; k < edits; k++) n = mutate(line, n, sizeof line, &rng);
        if (lcg(&rng) % 2) fix_crc(line, n);
        for (k = 0; k < n; k++) iw_framer_push(&fr, line[k]);
        if (iw_decode_line(line, n, &f) != IW_OK) continue;
        decoded++;
        if (!reencode_ok(&f)) bad++;
    }
    check(decoded > 1000, "mutations: many mutated lines still decode");
    check(bad == 0, "mutations: every decoded frame re-encodes to the same frame");
}

/* ---- envnode on a fake HAL --------------------------------------------------------------------- */

typedef struct {
    char out[8192];
    size_t len;
    unsigned writes;
    uint32_t now;
    int env_rc;
    envnode_env env;
    int door, relay, led;
    uint32_t random;
} fake;

static void fake_write(void *ctx, const uint8_t *data, size_t len)
{
    fake *f = ctx;
    if (f->len + len <= sizeof f->out) memcpy(f->out + f->len, data, len);
    f->len += len;
    f->writes++;
}
static uint32_t fake_millis(void *ctx) { return ((fake *)ctx)->now; }
static int fake_read_env(void *ctx, envnode_env *out)
{
    *out = ((fake *)ctx)->env;
    return ((fake *)ctx)->env_rc;
}
static int fake_read_door(void *ctx) { return ((fake *)ctx)->door; }
static void fake_set_relay(void *ctx, int on) { ((fake *)ctx)->relay = on; }
static void fake_set_led(void *ctx, envnode_led mode) { ((fake *)ctx)->led = (int)mode; }
static uint32_t fake_random32(void *ctx) { return ((fake *)ctx)->random; }

static fake dev;
static envnode app;
static const envnode_hal hal = {&dev,          fake_write,     fake_millis,  fake_read_env,
                                fake_read_door, fake_set_relay, fake_set_led, fake_random32};

static void boot(uint32_t now, uint32_t period)
{
    envnode_config cfg = {"envnode-01", "1.0.0", 0};
    cfg.period_ms = period;
    memset(&dev, 0, sizeof dev);
    dev.now = now;
    dev.random = 0x3f9a12c0u;
    dev.env.temp_centi = 2150;
    dev.env.hum_deci = 402;
    dev.relay = dev.led = -1;
    envnode_begin(&app, &hal, &cfg);
}

/* Checks and clears what the device wrote. */
static void expect_out(const char *want, const char *name)
{
    check_mem(dev.out, dev.len, want, name);
    dev.len = 0;
    dev.writes = 0;
}

static void rx(const char *s) { envnode_rx(&app, (const uint8_t *)s, strlen(s)); }

static const char HELLO_SEQUENCE[] =
    "$HELLO proto=1 dev=envnode-01 fw=1.0.0 boot=3f9a12c0 sensors=3 actuators=2*2D40\n"
    "$SENSOR name=temp kind=num unit=%C2%B0C min=-40 max=85*1053\n"
    "$SENSOR name=hum kind=num unit=%25 min=0 max=100*D255\n"
    "$SENSOR name=door kind=bool*AA9B\n"
    "$ACTUATOR name=relay kind=bool*57F7\n"
    "$ACTUATOR name=led kind=enum values=off|on|blink*BD52\n";

static void test_app_boot_and_readings(void)
{
    boot(0, 1520);
    check(dev.relay == 0 && dev.led == ENVNODE_LED_OFF, "app: actuators off at boot");
    check(dev.writes == 6, "app: one write per frame");
    expect_out(HELLO_SEQUENCE, "app: HELLO and capabilities at boot");
    dev.now = 1519;
    envnode_poll(&app);
    expect_out("", "app: no reading before the period");
    check(envnode_ms_until_reading(&app) == 1, "app: ms until reading");
    dev.now = 1520;
    envnode_poll(&app);
    expect_out("$RD boot=3f9a12c0 seq=1 t=1520 temp=21.50 hum=40.2 door=0*AB90\n", "app: first reading");
    dev.now = 3100;
    dev.door = 1;
    dev.env.temp_centi = -505;
    dev.env.hum_deci = 1000;
    envnode_poll(&app);
    expect_out(frame("RD boot=3f9a12c0 seq=2 t=3100 temp=-5.05 hum=100.0 door=1"), "app: second reading");
    rx("$WHO*2A8C\n");
    expect_out(HELLO_SEQUENCE, "app: WHO repeats the HELLO sequence, same boot id");
}

static void test_app_sensor_failure(void)
{
    boot(0, 1000);
    expect_out(HELLO_SEQUENCE, "app: boot");
    dev.env_rc = -1;
    dev.now = 1000;
    envnode_poll(&app);
    expect_out("$ERR code=sensor_fail sensor=temp msg=no%20response%20from%20sensor*0A83\n"
               "$ERR code=sensor_fail sensor=hum msg=no%20response%20from%20sensor*7540\n"
               "$RD boot=3f9a12c0 seq=1 t=1000 door=0*12F4\n",
               "app: failed sensor reported, reading without it");
    dev.now = 2000;
    envnode_poll(&app);
    expect_out(frame("RD boot=3f9a12c0 seq=2 t=2000 door=0"), "app: failure reported once");
    dev.env_rc = 0;
    dev.now = 3000;
    envnode_poll(&app);
    expect_out(frame("RD boot=3f9a12c0 seq=3 t=3000 temp=21.50 hum=40.2 door=0"), "app: sensor recovered");
    dev.env.temp_centi = 8501;
    dev.now = 4000;
    envnode_poll(&app);
    expect_out("$ERR code=sensor_fail sensor=temp msg=reading%20out%20of%20range*E1CA\n"
               "$RD boot=3f9a12c0 seq=4 t=4000 hum=40.2 door=0*AE57\n",
               "app: out-of-range value left out");
}

static void test_app_commands(void)
{
    boot(0, 1000);
    expect_out(HELLO_SEQUENCE, "app: boot");
    rx("$PING id=9*C7B0\n");
    expect_out("$PONG id=9*477B\n", "app: PING -> PONG");
    rx("$CMD id=7 act=relay val=1*CBD4\n");
    expect_out("$ACK id=7 val=1*2EB2\n", "app: CMD relay");
    check(dev.relay == 1, "app: relay switched");
    rx("$CMD id=8 act=led val=strobe*1837\n");
    expect_out("$NACK id=8 reason=bad_value msg=led%20accepts%20off|on|blink*B851\n", "app: bad led value");
    check(dev.led == ENVNODE_LED_OFF, "app: led unchanged by a bad value");
    rx(frame("CMD id=a1 act=led val=blink"));
    expect_out(frame("ACK id=a1 val=blink"), "app: CMD led");
    check(dev.led == ENVNODE_LED_BLINK, "app: led blinking");
    rx(frame("CMD id=2 act=relay val=2"));
    expect_out(frame("NACK id=2 reason=bad_value msg=relay%20accepts%200|1"), "app: bad relay value");
    rx(frame("CMD id=3 act=fan val=1"));
    expect_out(frame("NACK id=3 reason=unknown_actuator"), "app: unknown actuator");
}

static void test_app_line_handling(void)
{
    const char *cmd = "$CMD id=7 act=relay val=0*";
    size_t i;
    boot(0, 1000);
    expect_out(HELLO_SEQUENCE, "app: boot");
    rx("$USE v=1*E6E8\n");
    expect_out("", "app: USE v=1 accepted silently");
    rx(frame("USE v=2"));
    expect_out(frame("ERR code=bad_version msg=speaks%20version%201%20only"), "app: USE v=2 refused");
    rx("$WHO*2A8D\n");
    expect_out(frame("ERR code=bad_frame msg=crc"), "app: bad CRC reported");
    rx(frame("REBOOT"));
    rx("garbage\r\n");
    rx(frame("RD boot=3f9a12c0 seq=1 temp=1"));
    expect_out("", "app: unknown types, noise and device frames ignored");
    rx("$CMD id=1$PING id=9*C7B0\n");
    expect_out("$ERR code=bad_frame msg=truncated*AA63\n$PONG id=9*477B\n", "app: truncated then resync");
    /* A command trickling in byte by byte is answered once, when its LF arrives. */
    for (i = 0; cmd[i]; i++) envnode_rx(&app, (const uint8_t *)cmd + i, 1);
    rx("DBF5\r");
    expect_out("", "app: nothing before LF");
    rx("\n");
    expect_out(frame("ACK id=7 val=0"), "app: CMD fed byte by byte, CRLF");
}

static void test_app_wraps(void)
{
    boot(0xFFFFF000u, 8192);
    dev.len = 0;
    dev.now = 0x00000FFFu;
    envnode_poll(&app);
    expect_out("", "app: millis wrap, not yet due");
    dev.now = 0x00001000u;
    envnode_poll(&app);
    expect_out(frame("RD boot=3f9a12c0 seq=1 t=4096 temp=21.50 hum=40.2 door=0"), "app: millis wrap");
    app.seq = 4294967295u;
    dev.now += 8192;
    envnode_poll(&app);
    expect_out(frame("RD boot=3f9a12c0 seq=0 t=12288 temp=21.50 hum=40.2 door=0"), "app: seq wraps to 0");
    boot(0, 0);
    check(app.cfg.period_ms == ENVNODE_DEFAULT_PERIOD_MS, "app: default period");
}

int main(int argc, char **argv)
{
    test_crc();
    test_num_cmp();
    test_framer_limits();
    test_decode_access();
    test_examples_device();
    test_examples_agent();
    test_examples_cover_protocol(argc > 1 ? argv[1] : "../PROTOCOL.md");
    test_encoder_refusals();
    test_encoder_text_and_limits();
    test_num_digits_and_shortest_form();
    test_text_utf8();
    test_text_utf8_exhaustive();
    test_builder();
    test_mutations();
    test_app_boot_and_readings();
    test_app_sensor_failure();
    test_app_commands();
    test_app_line_handling();
    test_app_wraps();
    printf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
