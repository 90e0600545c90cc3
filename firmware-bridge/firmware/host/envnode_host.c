/*
 * envnode-host: the envnode reference firmware (../envnode/envnode_app.c) on a POSIX host, talking
 * over a serial device or a pty instead of a UART, with simulated sensors. It lets the agent's
 * integration tests run against the real device logic:
 *
 *   socat -d -d pty,raw,echo=0,link=/tmp/A pty,raw,echo=0,link=/tmp/B &
 *   build/envnode-host -p 1000 /tmp/A &      # the device on one end
 *   iot-agent ... /tmp/B                     # the agent (or `cat /tmp/B`) on the other
 *
 * Usage: envnode-host [-p PERIOD_MS] [-d DEV_ID] [-b BOOT_HEX8] [-v] TTY   ("-" = stdin/stdout)
 *
 * Simulated hardware: temperature and humidity follow slow sines (periods of 5 and 7 minutes), the
 * door is open for 10 s of every minute, relay and LED changes are printed on stderr.
 */
#include "envnode_app.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PI 3.14159265358979323846
/* How long a write may wait for a reader before the frame is dropped: a real UART never waits,
 * but a pty whose far end nobody reads fills up and would otherwise stall the whole device. */
#define WRITE_WAIT_MS 100

typedef struct {
    int in, out;
    int verbose;
    struct timespec start;
    uint32_t boot;
    int fixed_boot;
} host;

static void die(const char *what)
{
    fprintf(stderr, "envnode-host: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint32_t host_millis(void *ctx)
{
    host *h = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* Truncating to 32 bits wraps like Arduino's millis(); the app is written for that. */
    return (uint32_t)((now.tv_sec - h->start.tv_sec) * 1000 + (now.tv_nsec - h->start.tv_nsec) / 1000000);
}

static void log_bytes(const char *dir, const uint8_t *p, size_t n)
{
    size_t i;
    fprintf(stderr, "%s ", dir);
    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] <= 0x7E) fputc(p[i], stderr);
        else if (p[i] == '\n') fputs("\\n", stderr);
        else fprintf(stderr, "\\x%02x", p[i]);
    }
    fputc('\n', stderr);
}

static int wait_writable(int fd)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLOUT;
    return poll(&p, 1, WRITE_WAIT_MS) > 0;
}

static void host_write(void *ctx, const uint8_t *data, size_t len)
{
    host *h = ctx;
    if (h->verbose) log_bytes(">", data, len);
    while (len > 0) {
        ssize_t n = write(h->out, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN && wait_writable(h->out)) {
            continue;
        } else if (n < 0 && errno != EAGAIN) {
            die("write");
        } else {
            fprintf(stderr, "envnode-host: nobody is reading, %zu bytes dropped\n", len);
            return;
        }
    }
}

static int host_read_env(void *ctx, envnode_env *out)
{
    double s = host_millis(ctx) / 1000.0;
    out->temp_centi = (int16_t)lround(100.0 * (21.5 + 3.0 * sin(2 * PI * s / 300.0)));
    out->hum_deci = (uint16_t)lround(10.0 * (45.0 + 10.0 * sin(2 * PI * s / 420.0 + 1.0)));
    return 0;
}

static int host_read_door(void *ctx)
{
    return (host_millis(ctx) / 1000u) % 60u >= 50u;
}

static void host_set_relay(void *ctx, int on)
{
    (void)ctx;
    fprintf(stderr, "envnode-host: relay %s\n", on ? "on" : "off");
}

static void host_set_led(void *ctx, envnode_led mode)
{
    static const char *const names[] = {"off", "on", "blink"};
    (void)ctx;
    fprintf(stderr, "envnode-host: led %s\n", names[mode]);
}

static uint32_t host_random32(void *ctx)
{
    host *h = ctx;
    uint32_t r = 0;
    int fd;
    if (h->fixed_boot) return h->boot;
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &r, sizeof r) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^ (uint32_t)h->start.tv_nsec;
    if (fd >= 0) close(fd);
    return r;
}

/* Raw 8N1 at 115200, as the device's UART: no echo, no CR/LF translation, no signals. */
static void make_raw(int fd)
{
    struct termios t;
    if (!isatty(fd)) return;
    if (tcgetattr(fd, &t) != 0) die("tcgetattr");
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, B115200);
    cfsetospeed(&t, B115200);
    if (tcsetattr(fd, TCSANOW, &t) != 0) die("tcsetattr");
}

static void open_port(host *h, const char *path)
{
    if (strcmp(path, "-") == 0) {
        h->in = STDIN_FILENO;
        h->out = STDOUT_FILENO;
        return;
    }
    h->in = h->out = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (h->in < 0) die(path);
    make_raw(h->in);
}

static void usage(void)
{
    fprintf(stderr, "usage: envnode-host [-p PERIOD_MS] [-d DEV_ID] [-b BOOT_HEX8] [-v] TTY\n"
                    "  TTY        serial device or pty (e.g. a socat link); - for stdin/stdout\n"
                    "  -p         milliseconds between readings (default %u)\n"
                    "  -d         device id (default envnode-host)\n"
                    "  -b         fixed boot id instead of a random one, e.g. 3f9a12c0\n"
                    "  -v         log frames sent and bytes received on stderr\n",
            ENVNODE_DEFAULT_PERIOD_MS);
    exit(2);
}

static uint32_t parse_number(const char *s, int base)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, base);
    if (errno || *s == 0 || *end != 0 || *s == '-' || v > 0xFFFFFFFFul) usage();
    return (uint32_t)v;
}

static void parse_args(int argc, char **argv, host *h, envnode_config *cfg, const char **path)
{
    int c;
    while ((c = getopt(argc, argv, "p:d:b:v")) != -1) {
        switch (c) {
        case 'p': cfg->period_ms = parse_number(optarg, 10); break;
        case 'd': cfg->dev = optarg; break;
        case 'b':
            if (strlen(optarg) != 8) usage();
            h->boot = parse_number(optarg, 16);
            h->fixed_boot = 1;
            break;
        case 'v': h->verbose = 1; break;
        default: usage();
        }
    }
    if (optind != argc - 1) usage();
    *path = argv[optind];
}

/* The app drops frames it cannot encode; a bad device id would leave it silent, so refuse it. */
static void check_config(const envnode_config *cfg)
{
    uint8_t buf[IW_ENC_BUF];
    if (iw_encode_hello(buf, sizeof buf, 1, 1, cfg->dev, cfg->fw, 0, 0, 0) == 0) {
        fprintf(stderr, "envnode-host: invalid device id '%s' (1-32 of A-Za-z0-9._-)\n", cfg->dev);
        exit(2);
    }
}

/* Returns 0 when the far end is gone for good. */
static int pump_input(host *h, envnode *app)
{
    uint8_t buf[256];
    ssize_t n = read(h->in, buf, sizeof buf);
    if (n > 0) {
        if (h->verbose) log_bytes("<", buf, (size_t)n);
        envnode_rx(app, buf, (size_t)n);
        return 1;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    /* A pty whose master went away reads as EIO; a pipe or file ends with 0. */
    if (n < 0) fprintf(stderr, "envnode-host: read: %s\n", strerror(errno));
    else fprintf(stderr, "envnode-host: end of input\n");
    return 0;
}

static void run(host *h, envnode *app)
{
    for (;;) {
        struct pollfd p;
        uint32_t wait = envnode_ms_until_reading(app);
        int r;
        p.fd = h->in;
        p.events = POLLIN;
        r = poll(&p, 1, wait > 60000u ? 60000 : (int)wait);
        if (r < 0 && errno != EINTR) die("poll");
        if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && !pump_input(h, app)) return;
        envnode_poll(app);
    }
}

int main(int argc, char **argv)
{
    static host h;
    static envnode app;
    envnode_config cfg = {"envnode-host", "1.0.0", ENVNODE_DEFAULT_PERIOD_MS};
    envnode_hal hal = {&h, host_write, host_millis, host_read_env, host_read_door,
                       host_set_relay, host_set_led, host_random32};
    const char *path;
    clock_gettime(CLOCK_MONOTONIC, &h.start);
    parse_args(argc, argv, &h, &cfg, &path);
    check_config(&cfg);
    open_port(&h, path);
    envnode_begin(&app, &hal, &cfg);
    fprintf(stderr, "envnode-host: %s on %s, boot %08lx, a reading every %lu ms\n", cfg.dev, path,
            (unsigned long)app.boot, (unsigned long)app.cfg.period_ms);
    run(&h, &app);
    return 0;
}
