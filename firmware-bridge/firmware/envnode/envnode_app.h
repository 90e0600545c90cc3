/*
 * envnode: the reference device of the iot-wire protocol (firmware-bridge/PROTOCOL.md).
 *
 * An environment node with a temperature/humidity sensor, a door contact, a relay and an LED. This
 * is the whole device behaviour in portable C99; the hardware is reached only through envnode_hal,
 * so the same code runs in the Arduino sketch (envnode.ino), in the POSIX host build
 * (../host/envnode_host.c) and in the unit tests (../../test/test_codec.c).
 *
 * Declared capabilities (the SENSOR/ACTUATOR frames sent after every HELLO):
 *   temp   sensor   num   degrees C, -40..85, two decimals
 *   hum    sensor   num   %RH, 0..100, one decimal
 *   door   sensor   bool  1 = open (contact broken)
 *   relay  actuator bool  1 = energised
 *   led    actuator enum  off|on|blink
 */
#ifndef ENVNODE_APP_H
#define ENVNODE_APP_H

#include "iotwire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENVNODE_DEFAULT_PERIOD_MS 2000u

/* LED modes, in the order of the actuator's declared values. */
typedef enum { ENVNODE_LED_OFF = 0, ENVNODE_LED_ON = 1, ENVNODE_LED_BLINK = 2 } envnode_led;

/* Fixed point keeps floating point off the device: 2150 is 21.50 degC, 402 is 40.2 %RH. */
typedef struct {
    int16_t temp_centi;
    uint16_t hum_deci;
} envnode_env;

typedef struct {
    void *ctx; /* passed back to every function */
    /* Must take the whole buffer (block if need be): a frame is only valid in one piece. */
    void (*write)(void *ctx, const uint8_t *data, size_t len);
    uint32_t (*millis)(void *ctx); /* wraps after ~49.7 days; the app copes */
    int (*read_env)(void *ctx, envnode_env *out); /* 0 on success */
    int (*read_door)(void *ctx);                  /* 1 when open */
    void (*set_relay)(void *ctx, int on);
    void (*set_led)(void *ctx, envnode_led mode); /* blinking is the HAL's job */
    uint32_t (*random32)(void *ctx);              /* for the boot id: must differ per boot */
} envnode_hal;

typedef struct {
    const char *dev; /* class devid: [A-Za-z0-9._-]{1,32} */
    const char *fw;  /* class ver */
    uint32_t period_ms; /* between readings; 0 means ENVNODE_DEFAULT_PERIOD_MS */
} envnode_config;

typedef struct {
    const envnode_hal *hal;
    envnode_config cfg;
    iw_framer rx;
    uint8_t tx[IW_ENC_BUF];
    uint32_t boot;
    uint32_t seq;     /* of the last RD sent; 0 before the first */
    uint32_t last_rd; /* millis() when the period last started */
    uint8_t env_failed; /* the sensor failure has been reported; report again only after recovery */
} envnode;

/* Boots the node: new boot id, actuators off, HELLO and capabilities sent. */
void envnode_begin(envnode *app, const envnode_hal *hal, const envnode_config *cfg);
/* Feeds bytes received from the agent; answers go out through hal->write before it returns. */
void envnode_rx(envnode *app, const uint8_t *data, size_t len);
/* Call often: sends a reading when one is due. */
void envnode_poll(envnode *app);
/* Milliseconds until the next reading is due (0: now), for a host's sleep or poll timeout. */
uint32_t envnode_ms_until_reading(const envnode *app);

#ifdef __cplusplus
}
#endif

#endif
