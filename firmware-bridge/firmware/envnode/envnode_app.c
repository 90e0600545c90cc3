/*
 * envnode device logic: see envnode_app.h. Frame names and obligations are those of
 * firmware-bridge/PROTOCOL.md §4-§6.
 */
#include "envnode_app.h"

#include <string.h>

enum { S_TEMP, S_HUM, S_DOOR, N_SENSORS };
enum { A_RELAY, A_LED, N_ACTUATORS };

#define TEMP_MIN_CENTI (-4000)
#define TEMP_MAX_CENTI 8500
#define HUM_MAX_DECI 1000u

/* The declared ranges below must match these limits: a value outside them is not sent (§3). */
static const iw_cap SENSORS[N_SENSORS] = {
    [S_TEMP] = {"temp", "num", "\xC2\xB0" "C", "-40", "85", 0},
    [S_HUM] = {"hum", "num", "%", "0", "100", 0},
    [S_DOOR] = {"door", "bool", 0, 0, 0, 0},
};

static const iw_cap ACTUATORS[N_ACTUATORS] = {
    [A_RELAY] = {"relay", "bool", 0, 0, 0, 0},
    [A_LED] = {"led", "enum", 0, 0, 0, "off|on|blink"},
};

static void send(envnode *app, size_t len)
{
    /* 0 means the frame could not be encoded (e.g. a bad dev id in the config); nothing to send. */
    if (len) app->hal->write(app->hal->ctx, app->tx, len);
}

static void send_hello(envnode *app)
{
    uint8_t i;
    send(app, iw_encode_hello(app->tx, sizeof app->tx, IW_PROTO_VERSION, IW_PROTO_VERSION,
                              app->cfg.dev, app->cfg.fw, app->boot, N_SENSORS, N_ACTUATORS));
    for (i = 0; i < N_SENSORS; i++) send(app, iw_encode_sensor(app->tx, sizeof app->tx, &SENSORS[i]));
    for (i = 0; i < N_ACTUATORS; i++)
        send(app, iw_encode_actuator(app->tx, sizeof app->tx, &ACTUATORS[i]));
}

static void send_err(envnode *app, const char *code, const char *sensor, const char *msg)
{
    send(app, iw_encode_err(app->tx, sizeof app->tx, code, sensor, msg));
}

void envnode_begin(envnode *app, const envnode_hal *hal, const envnode_config *cfg)
{
    app->hal = hal;
    app->cfg = *cfg;
    if (app->cfg.period_ms == 0) app->cfg.period_ms = ENVNODE_DEFAULT_PERIOD_MS;
    iw_framer_init(&app->rx);
    app->boot = hal->random32(hal->ctx);
    app->seq = 0;
    app->env_failed = 0;
    /* Actuator state after boot must be what the agent will assume from a fresh HELLO. */
    hal->set_relay(hal->ctx, 0);
    hal->set_led(hal->ctx, ENVNODE_LED_OFF);
    app->last_rd = hal->millis(hal->ctx);
    send_hello(app);
}

/* ---- Readings ---------------------------------------------------------------------------------- */

/* v / 10^decimals as a `num`: (2150, 2) -> "21.50", (-5, 2) -> "-0.05". out holds 13 bytes. */
static void fmt_fixed(char *out, int32_t v, uint8_t decimals)
{
    char tmp[12];
    uint32_t m = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    size_t n = 0;
    uint8_t i = 0;
    do {
        if (i == decimals && decimals) tmp[n++] = '.';
        tmp[n++] = (char)('0' + m % 10u);
        m /= 10u;
        i++;
    } while (m || i <= decimals);
    if (v < 0) *out++ = '-';
    while (n) *out++ = tmp[--n];
    *out = 0;
}

/* Reports a failing sensor once per failure run, so a dead sensor does not flood the link. */
static int sensor_ok(envnode *app, uint8_t sensor, int ok, const char *why)
{
    uint8_t bit = (uint8_t)(1u << sensor);
    if (ok) {
        app->env_failed &= (uint8_t)~bit;
        return 1;
    }
    if (!(app->env_failed & bit)) {
        app->env_failed |= bit;
        send_err(app, "sensor_fail", SENSORS[sensor].name, why);
    }
    return 0;
}

static void send_reading(envnode *app, uint32_t now)
{
    const envnode_hal *hal = app->hal;
    envnode_env env;
    char temp[13], hum[13];
    iw_kv kv[N_SENSORS];
    uint8_t n = 0;
    int read = hal->read_env(hal->ctx, &env) == 0;
    const char *why = read ? "reading out of range" : "no response from sensor";
    if (sensor_ok(app, S_TEMP,
                  read && env.temp_centi >= TEMP_MIN_CENTI && env.temp_centi <= TEMP_MAX_CENTI, why)) {
        fmt_fixed(temp, env.temp_centi, 2);
        kv[n].name = SENSORS[S_TEMP].name;
        kv[n++].val = temp;
    }
    if (sensor_ok(app, S_HUM, read && env.hum_deci <= HUM_MAX_DECI, why)) {
        fmt_fixed(hum, env.hum_deci, 1);
        kv[n].name = SENSORS[S_HUM].name;
        kv[n++].val = hum;
    }
    kv[n].name = SENSORS[S_DOOR].name;
    kv[n++].val = hal->read_door(hal->ctx) ? "1" : "0";
    app->seq++; /* 4294967295 + 1 wraps to 0, as §4 RD asks */
    send(app, iw_encode_rd(app->tx, sizeof app->tx, app->boot, app->seq, &now, kv, n));
}

uint32_t envnode_ms_until_reading(const envnode *app)
{
    /* Unsigned differences stay right across the millis() wrap. */
    uint32_t elapsed = app->hal->millis(app->hal->ctx) - app->last_rd;
    return elapsed >= app->cfg.period_ms ? 0 : app->cfg.period_ms - elapsed;
}

void envnode_poll(envnode *app)
{
    uint32_t now = app->hal->millis(app->hal->ctx);
    if (now - app->last_rd < app->cfg.period_ms) return;
    /* Restart the period from now: after a stall, one reading, not a burst of catch-up ones. */
    app->last_rd = now;
    send_reading(app, now);
}

/* ---- Commands ---------------------------------------------------------------------------------- */

/* Copies a field's encoded value as a C string; empty when absent or too long. */
static void copy_value(const iw_frame *f, const char *key, char *out, size_t cap)
{
    const uint8_t *v;
    size_t n;
    out[0] = 0;
    if (!iw_get(f, key, &v, &n) || n >= cap) return;
    memcpy(out, v, n);
    out[n] = 0;
}

/* Position of v among the members of a `|`-separated list, or -1. */
static int member_index(const char *v, const char *list)
{
    size_t n = strlen(v);
    int index = 0;
    for (;;) {
        const char *end = strchr(list, '|');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (len == n && memcmp(list, v, n) == 0) return index;
        if (!end) return -1;
        list = end + 1;
        index++;
    }
}

static const char *accepted_values(uint8_t act)
{
    return ACTUATORS[act].values ? ACTUATORS[act].values : "0|1";
}

static void apply(envnode *app, uint8_t act, int value)
{
    if (act == A_RELAY) app->hal->set_relay(app->hal->ctx, value);
    else app->hal->set_led(app->hal->ctx, (envnode_led)value);
}

static void nack_bad_value(envnode *app, const char *id, uint8_t act)
{
    char msg[48]; /* "<name> accepts <values>", e.g. "led accepts off|on|blink" */
    strcpy(msg, ACTUATORS[act].name);
    strcat(msg, " accepts ");
    strcat(msg, accepted_values(act));
    send(app, iw_encode_nack(app->tx, sizeof app->tx, id, "bad_value", msg));
}

static void handle_cmd(envnode *app, const iw_frame *f)
{
    char id[9], val[21]; /* cid is at most 8 bytes, a scalar at most 20 */
    uint8_t act;
    int value;
    copy_value(f, "id", id, sizeof id);
    copy_value(f, "val", val, sizeof val);
    for (act = 0; act < N_ACTUATORS && !iw_get_is(f, "act", ACTUATORS[act].name); act++) {}
    if (act == N_ACTUATORS) {
        send(app, iw_encode_nack(app->tx, sizeof app->tx, id, "unknown_actuator", 0));
        return;
    }
    value = member_index(val, accepted_values(act));
    if (value < 0) {
        nack_bad_value(app, id, act);
        return;
    }
    apply(app, act, value);
    send(app, iw_encode_ack(app->tx, sizeof app->tx, id, val));
}

static void handle_ping(envnode *app, const iw_frame *f)
{
    char id[9];
    copy_value(f, "id", id, sizeof id);
    send(app, iw_encode_pong(app->tx, sizeof app->tx, id));
}

static void handle_use(envnode *app, const iw_frame *f)
{
    uint32_t v = 0;
    /* Version 1 is the only one this firmware speaks, and it already speaks it (§6). */
    if (iw_get_u32(f, "v", &v) && v == IW_PROTO_VERSION) return;
    send_err(app, "bad_version", 0, "speaks version 1 only");
}

static void handle_line(envnode *app)
{
    iw_frame f;
    size_t len;
    const uint8_t *line = iw_framer_line(&app->rx, &len);
    iw_err err = iw_decode_line(line, len, &f);
    if (err == IW_E_TYPE) return; /* a newer agent's frame type: ignored by design (§2) */
    if (err != IW_OK) {
        send_err(app, "bad_frame", 0, iw_err_name(err));
        return;
    }
    switch (f.type) {
    case IW_T_WHO: send_hello(app); break;
    case IW_T_PING: handle_ping(app, &f); break;
    case IW_T_CMD: handle_cmd(app, &f); break;
    case IW_T_USE: handle_use(app, &f); break;
    default: break; /* device frames (an echo, another device) are not for us */
    }
}

void envnode_rx(envnode *app, const uint8_t *data, size_t len)
{
    while (len--) {
        iw_fr report = iw_framer_push(&app->rx, *data++);
        if (report == IW_FR_LINE) handle_line(app);
        /* A cut-off frame may have been a CMD that now gets no answer: say so. Noise is normal
         * around resets and is not worth a frame. */
        else if (report == IW_FR_TRUNCATED || report == IW_FR_LENGTH)
            send_err(app, "bad_frame", 0, iw_err_name(iw_fr_err(report)));
    }
}
