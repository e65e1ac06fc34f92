/*
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief Run-time control of the mcore-rs IMU emulators.
 *
 * The FXOS8700CQ (accelerometer + magnetometer, "mcore-rs,fxos8700-emul")
 * and FXAS21002C (gyroscope, "mcore-rs,fxas21002-emul") I2C target
 * emulators of the Adafruit Precision NXP 9-DOF board. Their motion model
 * starts from the devicetree properties; a test overrides it with these
 * functions. Get the emulator with EMUL_DT_GET(DT_NODELABEL(...)).
 *
 * The output registers are computed from k_uptime_get() whenever they are
 * read: value = constant + amplitude * sin(2 * pi * t_ms / period_ms) on
 * one axis (X for the accelerometer, Z for the gyroscope). A period or an
 * amplitude of 0 turns the sinusoid off.
 */

#ifndef MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_H_
#define MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_H_

#include <stdbool.h>
#include <stdint.h>

#include <zephyr/drivers/emul.h>

#ifdef __cplusplus
extern "C" {
#endif

/* FXOS8700CQ (accelerometer + magnetometer) */

/**
 * @brief Set the constant acceleration.
 *
 * @param target FXOS8700 emulator.
 * @param mg X, Y, Z in milli-g.
 */
void mcore_fxos8700_emul_set_accel(const struct emul *target, const int32_t mg[3]);

/**
 * @brief Set the sinusoid added to the X acceleration.
 *
 * @param target FXOS8700 emulator.
 * @param amplitude_mg Amplitude in milli-g (0: off).
 * @param period_ms Period in milliseconds (0: off).
 */
void mcore_fxos8700_emul_set_accel_sine(const struct emul *target, int32_t amplitude_mg,
					uint32_t period_ms);

/**
 * @brief Set the magnetic field.
 *
 * @param target FXOS8700 emulator.
 * @param ut10 X, Y, Z in units of 0.1 µT (= 1 LSB of M_OUT_*).
 */
void mcore_fxos8700_emul_set_mag(const struct emul *target, const int32_t ut10[3]);

/**
 * @brief Make the chip disappear from (or reappear on) the bus.
 *
 * While absent, every transfer to it fails with -EIO (address NACK); its
 * registers are kept.
 */
void mcore_fxos8700_emul_set_absent(const struct emul *target, bool absent);

/**
 * @brief Power-on reset: registers to their reset values, motion back to the
 * devicetree values, present on the bus.
 */
void mcore_fxos8700_emul_reset(const struct emul *target);

/**
 * @brief Read a register as the chip holds it, without side effects.
 *
 * Output registers hold the values of the last bus read.
 *
 * @retval 0 on success, -EINVAL if @p reg is out of range.
 */
int mcore_fxos8700_emul_get_reg(const struct emul *target, uint8_t reg, uint8_t *val);

/* FXAS21002C (gyroscope) */

/**
 * @brief Set the constant angular rate.
 *
 * @param target FXAS21002 emulator.
 * @param mdps X, Y, Z in milli-degrees per second.
 */
void mcore_fxas21002_emul_set_gyro(const struct emul *target, const int32_t mdps[3]);

/**
 * @brief Set the sinusoid added to the Z angular rate.
 *
 * @param target FXAS21002 emulator.
 * @param amplitude_mdps Amplitude in milli-degrees per second (0: off).
 * @param period_ms Period in milliseconds (0: off).
 */
void mcore_fxas21002_emul_set_gyro_sine(const struct emul *target, int32_t amplitude_mdps,
					uint32_t period_ms);

/** @brief As mcore_fxos8700_emul_set_absent(), for the gyroscope. */
void mcore_fxas21002_emul_set_absent(const struct emul *target, bool absent);

/** @brief As mcore_fxos8700_emul_reset(), for the gyroscope. */
void mcore_fxas21002_emul_reset(const struct emul *target);

/** @brief As mcore_fxos8700_emul_get_reg(), for the gyroscope. */
int mcore_fxas21002_emul_get_reg(const struct emul *target, uint8_t reg, uint8_t *val);

#ifdef __cplusplus
}
#endif

#endif /* MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_H_ */
