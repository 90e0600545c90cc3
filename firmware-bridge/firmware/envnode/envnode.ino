/*
 * envnode: reference iot-wire firmware for an Arduino Uno / Nano (ATmega328P).
 *
 * The device logic is envnode_app.c (portable, unit-tested on the host); this sketch only supplies
 * the hardware: Serial at 115200 8N1, an SHT31 on I2C, a door reed switch, a relay and an LED.
 * Wiring and details: ../README.md.
 *
 * Building: the sketch needs the codec, ../../codec/iotwire.{c,h}. Either
 *   - copy (or symlink) both files into this folder, then build/upload with the Arduino IDE, or
 *   - arduino-cli compile --fqbn arduino:avr:uno --library "$(realpath ../../codec)" .
 *     arduino-cli upload  --fqbn arduino:avr:uno -p /dev/ttyACM0 .
 */
#include <Wire.h>

#include "envnode_app.h"
#include "iotwire.h"

#define DEVICE_ID "envnode-01" /* 1-32 of A-Za-z0-9._- ; unique per device */
#define FIRMWARE_VERSION "1.0.0"
#define READING_PERIOD_MS 2000u

static const uint8_t SHT31_ADDR = 0x44; /* ADDR pin to GND; 0x45 when tied to VIN */
static const uint8_t DOOR_PIN = 2;      /* reed switch to GND, internal pull-up */
static const uint8_t RELAY_PIN = 7;
static const uint8_t LED_PIN = LED_BUILTIN;
static const uint8_t NOISE_PIN = A0;    /* leave unconnected: its noise seeds the boot id */
static const bool RELAY_ACTIVE_LOW = false; /* many cheap relay boards switch on a LOW input */
static const unsigned long BLINK_HALF_PERIOD_MS = 250;
static const unsigned long SHT31_INTERVAL_MS = 1000;
static const unsigned long SHT31_CONVERSION_MS = 16; /* datasheet: 15.5 ms at high repeatability */

static envnode app;
static envnode_led led_mode = ENVNODE_LED_OFF;

/* The SHT31 is sampled in the background and read_env returns the latest sample: waiting 16 ms
 * for a conversion inside read_env would let more than the 64-byte Serial receive buffer arrive
 * at 115200 baud, and a command could be lost. */
static envnode_env last_env;
static bool env_valid = false;
static bool converting = false;
static unsigned long conversion_started = 0;

static uint8_t sht31_crc8(const uint8_t *p)
{
    uint8_t crc = 0xFF;
    for (uint8_t i = 0; i < 2; i++) {
        crc ^= p[i];
        for (uint8_t bit = 0; bit < 8; bit++)
            crc = (crc & 0x80) ? (uint8_t)((crc << 1) ^ 0x31) : (uint8_t)(crc << 1);
    }
    return crc;
}

static bool sht31_start(void)
{
    Wire.beginTransmission(SHT31_ADDR);
    Wire.write(0x24); /* single shot, high repeatability, no clock stretching */
    Wire.write(0x00);
    return Wire.endTransmission() == 0;
}

static bool sht31_fetch(envnode_env *out)
{
    uint8_t b[6];
    if (Wire.requestFrom(SHT31_ADDR, (uint8_t)6) != 6) return false;
    for (uint8_t i = 0; i < 6; i++) b[i] = (uint8_t)Wire.read();
    if (sht31_crc8(b) != b[2] || sht31_crc8(b + 3) != b[5]) return false;
    uint16_t raw_t = (uint16_t)b[0] << 8 | b[1];
    uint16_t raw_h = (uint16_t)b[3] << 8 | b[4];
    /* Datasheet: T = -45 + 175 * raw / 65535 degC, RH = 100 * raw / 65535 %; in fixed point. */
    out->temp_centi = (int16_t)((int32_t)(17500UL * raw_t / 65535UL) - 4500);
    out->hum_deci = (uint16_t)(1000UL * raw_h / 65535UL);
    return true;
}

static void sht31_service(void)
{
    unsigned long now = millis();
    if (converting && now - conversion_started >= SHT31_CONVERSION_MS) {
        converting = false;
        env_valid = sht31_fetch(&last_env);
    } else if (!converting && now - conversion_started >= SHT31_INTERVAL_MS) {
        conversion_started = now;
        converting = sht31_start();
        if (!converting) env_valid = false;
    }
}

/* ---- HAL for envnode_app ----------------------------------------------------------------------- */

static void hal_write(void *, const uint8_t *data, size_t len) { Serial.write(data, len); }

static uint32_t hal_millis(void *) { return millis(); }

static int hal_read_env(void *, envnode_env *out)
{
    *out = last_env;
    return env_valid ? 0 : -1;
}

static int hal_read_door(void *) { return digitalRead(DOOR_PIN) == HIGH; /* magnet away: open */ }

static void hal_set_relay(void *, int on)
{
    digitalWrite(RELAY_PIN, (on != 0) != RELAY_ACTIVE_LOW ? HIGH : LOW);
}

static void hal_set_led(void *, envnode_led mode)
{
    led_mode = mode;
    digitalWrite(LED_PIN, mode == ENVNODE_LED_ON ? HIGH : LOW);
}

/* A boot id must differ between boots: the low bits of a floating analog input and the exact
 * micros() at which each sample completes are both noisy; 32 rounds mix them into 32 bits. */
static uint32_t hal_random32(void *)
{
    uint32_t r = 0;
    for (uint8_t i = 0; i < 32; i++) {
        r = (r << 7 | r >> 25) ^ (uint32_t)analogRead(NOISE_PIN) ^ micros();
        delayMicroseconds(50 + (r & 0x7F));
    }
    return r;
}

static const envnode_hal hal = {0, hal_write, hal_millis, hal_read_env, hal_read_door,
                                hal_set_relay, hal_set_led, hal_random32};

static void blink_service(void)
{
    if (led_mode == ENVNODE_LED_BLINK)
        digitalWrite(LED_PIN, (millis() / BLINK_HALF_PERIOD_MS) % 2 ? HIGH : LOW);
}

void setup()
{
    Serial.begin(115200);
    Wire.begin();
    pinMode(DOOR_PIN, INPUT_PULLUP);
    pinMode(RELAY_PIN, OUTPUT);
    pinMode(LED_PIN, OUTPUT);
    if (sht31_start()) { /* so that the first reading already has a sample */
        delay(SHT31_CONVERSION_MS);
        env_valid = sht31_fetch(&last_env);
    }
    conversion_started = millis();
    envnode_config cfg = {DEVICE_ID, FIRMWARE_VERSION, READING_PERIOD_MS};
    envnode_begin(&app, &hal, &cfg);
}

void loop()
{
    while (Serial.available() > 0) {
        uint8_t b = (uint8_t)Serial.read();
        envnode_rx(&app, &b, 1);
    }
    sht31_service();
    envnode_poll(&app);
    blink_service();
}
