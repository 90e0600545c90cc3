/*
 * Runs the shared vectors (firmware-bridge/vectors/, format in its README.md) through the C codec.
 *
 *   test_vectors [VECTORS_DIR]      default ../vectors (the layout when run from test/)
 *
 * Each vector is one test, and each `canonical` line adds one encoder test. A mismatch prints one
 * line naming the vector with what was expected and what came out; the last line is the summary
 * `N passed, M failed`, and the exit status is non-zero when anything failed.
 */
#include "iotwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 64
#define OUT_CAP 1024

static unsigned passed, failed;

typedef struct {
    char *col[MAX_COLS];
    int ncols;
    unsigned lineno;
} row;

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *data;
    long size;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return NULL;
    }
    data = malloc((size_t)size + 1);
    if (data && fread(data, 1, (size_t)size, fp) != (size_t)size) {
        free(data);
        data = NULL;
    }
    if (data) data[size] = 0;
    fclose(fp);
    return data;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Vector byte escapes: `\\` and `\xHH`; anything else stands for itself. Returns the byte count. */
static size_t unescape(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (s[0] == '\\' && s[1] == '\\') {
            out[n++] = '\\';
            s += 2;
        } else if (s[0] == '\\' && s[1] == 'x' && hex_val(s[2]) >= 0 && hex_val(s[3]) >= 0) {
            out[n++] = (uint8_t)(hex_val(s[2]) << 4 | hex_val(s[3]));
            s += 4;
        } else {
            out[n++] = (uint8_t)*s++;
        }
    }
    return n;
}

/* For messages: bytes outside printable ASCII (and `\`) as \xhh, like the dump. */
static void print_bytes(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] <= 0x7E && p[i] != '\\') putchar(p[i]);
        else printf("\\x%02x", p[i]);
    }
}

static void fail(const char *file, const char *name, const char *what, const uint8_t *exp,
                 size_t explen, const uint8_t *got, size_t gotlen)
{
    failed++;
    printf("FAIL %s %s: %s: expected \"", file, name, what);
    print_bytes(exp, explen);
    printf("\" got \"");
    print_bytes(got, gotlen);
    printf("\"\n");
}

/* Splits the next line of *text into tab-separated columns; returns 0 at the end of the text. */
static int next_row(char **text, row *r)
{
    char *line = *text, *end, *p;
    size_t len;
    if (*line == 0) return 0;
    end = strchr(line, '\n');
    *text = end ? end + 1 : line + strlen(line);
    if (end) *end = 0;
    len = strlen(line);
    if (len > 0 && line[len - 1] == '\r') line[len - 1] = 0;
    r->lineno++;
    r->ncols = 0;
    if (line[0] == '#' || line[0] == 0) return 1;
    for (p = line; r->ncols < MAX_COLS;) {
        r->col[r->ncols++] = p;
        p = strchr(p, '\t');
        if (!p) break;
        *p++ = 0;
    }
    return 1;
}

/* Names must be unique within a file: a copy-pasted name would hide which vector failed. */
static int seen_before(char **names, size_t count, const char *name)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

static void check_canonical(const char *name, const uint8_t *in, size_t n, const iw_frame *f)
{
    uint8_t enc[IW_ENC_BUF + 8], want[IW_ENC_BUF + 8];
    size_t len = iw_encode_frame(f, enc, sizeof enc);
    if (n + 1 > sizeof want) n = sizeof want - 1;
    memcpy(want, in, n);
    want[n] = '\n';
    if (len == n + 1 && memcmp(enc, want, len) == 0) {
        passed++;
        return;
    }
    fail("lines.tsv", name, "encode", want, n + 1, enc, len);
}

static void run_line_vector(const row *r, uint8_t *in)
{
    const char *name = r->col[0];
    size_t n = unescape(r->col[1], in);
    iw_frame f;
    char out[OUT_CAP];
    iw_err err = iw_decode_line(in, n, &f);
    size_t len = iw_dump_result(err, &f, out, sizeof out);
    int canonical = r->ncols >= 4 && strcmp(r->col[3], "canonical") == 0;
    if (strcmp(out, r->col[2]) == 0) passed++;
    else fail("lines.tsv", name, "decode", (const uint8_t *)r->col[2], strlen(r->col[2]),
              (const uint8_t *)out, len);
    if (canonical && err == IW_OK) check_canonical(name, in, n, &f);
    else if (canonical) fail("lines.tsv", name, "encode", (const uint8_t *)"ok", 2,
                             (const uint8_t *)out, len);
}

/* Every result the framer and decoder give for a stream, as the vector columns spell them. */
static int run_stream(const uint8_t *in, size_t n, char results[][OUT_CAP], int max)
{
    iw_framer fr;
    iw_frame f;
    int count = 0;
    size_t i;
    iw_framer_init(&fr);
    for (i = 0; i < n && count < max; i++) {
        iw_fr rep = iw_framer_push(&fr, in[i]);
        if (rep == IW_FR_LINE) {
            size_t len;
            const uint8_t *line = iw_framer_line(&fr, &len);
            iw_err err = iw_decode_line(line, len, &f);
            iw_dump_result(err, &f, results[count++], OUT_CAP);
        } else if (rep != IW_FR_NONE) {
            iw_dump_result(iw_fr_err(rep), &f, results[count++], OUT_CAP);
        }
    }
    return count;
}

/* Columns as one tab-separated string, for the failure message. */
static void join(char *dst, size_t cap, const char *const *items, int n)
{
    int i;
    dst[0] = 0;
    for (i = 0; i < n && strlen(dst) + strlen(items[i]) + 2 < cap; i++) {
        if (i) strcat(dst, "\t");
        strcat(dst, items[i]);
    }
}

static void run_stream_vector(const row *r, uint8_t *in)
{
    static char got[MAX_COLS][OUT_CAP];
    static char want_s[MAX_COLS * OUT_CAP], got_s[MAX_COLS * OUT_CAP];
    const char *got_p[MAX_COLS];
    size_t n = unescape(r->col[1], in);
    int want = (r->ncols == 3 && strcmp(r->col[2], "-") == 0) ? 0 : r->ncols - 2;
    int count = run_stream(in, n, got, MAX_COLS), i, same = (count == want);
    for (i = 0; same && i < want; i++) same = strcmp(got[i], r->col[i + 2]) == 0;
    if (same) {
        passed++;
        return;
    }
    for (i = 0; i < count; i++) got_p[i] = got[i];
    join(want_s, sizeof want_s, (const char *const *)r->col + 2, want);
    join(got_s, sizeof got_s, got_p, count);
    fail("stream.tsv", r->col[0], "results (tab-separated)", (const uint8_t *)want_s,
         strlen(want_s), (const uint8_t *)got_s, strlen(got_s));
}

static void run_file(const char *dir, const char *file, int min_cols,
                     void (*run)(const row *, uint8_t *))
{
    char path[1024], *text, *cursor;
    char **names;
    size_t nnames = 0;
    row r;
    uint8_t *in;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    text = read_file(path);
    if (!text) {
        failed++;
        printf("FAIL %s: cannot read %s\n", file, path);
        return;
    }
    in = malloc(strlen(text) + 1);
    names = malloc(sizeof *names * (strlen(text) / 2 + 1));
    r.lineno = 0;
    for (cursor = text; next_row(&cursor, &r);) {
        if (r.ncols == 0) continue;
        if (r.ncols < min_cols || seen_before(names, nnames, r.col[0])) {
            failed++;
            printf("FAIL %s line %u: %s\n", file, r.lineno,
                   r.ncols < min_cols ? "too few columns" : "duplicate vector name");
            continue;
        }
        names[nnames++] = r.col[0];
        run(&r, in);
    }
    free(names);
    free(in);
    free(text);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../vectors";
    run_file(dir, "lines.tsv", 3, run_line_vector);
    run_file(dir, "stream.tsv", 3, run_stream_vector);
    printf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
