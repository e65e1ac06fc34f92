/*
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 *
 * Private helpers shared by the FXOS8700 and FXAS21002 emulators: the
 * motion model (constant + sinusoid, evaluated from the uptime) and the
 * integer conversions to register counts.
 */

#ifndef MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_COMMON_H_
#define MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_COMMON_H_

#include <stdint.h>

/* A devicetree cell is an unsigned 32-bit value; `<(-400)>` means -400. */
#define MCORE_IMU_EMUL_DT_S32(x) ((int32_t)(uint32_t)(x))

/**
 * @brief amplitude * sin(2 * pi * t_ms / period_ms), rounded to an integer.
 *
 * A period of 0 (or an amplitude of 0) disables the sinusoid. No libm: the
 * phase is reduced to [-pi/2, pi/2] and a Taylor series to x^11 is used
 * (error below 1e-7 of the amplitude).
 */
static inline int32_t mcore_imu_emul_sine(int64_t t_ms, int32_t amplitude, uint32_t period_ms)
{
	const double pi = 3.14159265358979323846;
	double x, x2, term, sum, val;

	if (period_ms == 0U || amplitude == 0) {
		return 0;
	}

	if (t_ms < 0) {
		t_ms = 0;
	}

	/* Phase in [-pi, pi). */
	x = 2.0 * pi * (double)(t_ms % period_ms) / (double)period_ms;
	if (x >= pi) {
		x -= 2.0 * pi;
	}
	/* sin(pi - x) = sin(x): fold into [-pi/2, pi/2]. */
	if (x > pi / 2.0) {
		x = pi - x;
	} else if (x < -pi / 2.0) {
		x = -pi - x;
	}

	x2 = x * x;
	term = x;
	sum = x;
	for (int n = 1; n <= 5; n++) {
		term *= -x2 / (double)((2 * n) * (2 * n + 1));
		sum += term;
	}

	val = sum * (double)amplitude;

	return (int32_t)(val >= 0.0 ? val + 0.5 : val - 0.5);
}

/** @brief num / den rounded to nearest (halves away from zero), den > 0. */
static inline int64_t mcore_imu_emul_div_round(int64_t num, int64_t den)
{
	return (num >= 0) ? (num + den / 2) / den : -((-num + den / 2) / den);
}

/** @brief Clamp to [lo, hi]. */
static inline int32_t mcore_imu_emul_sat(int64_t v, int32_t lo, int32_t hi)
{
	if (v < lo) {
		return lo;
	}
	if (v > hi) {
		return hi;
	}
	return (int32_t)v;
}

#endif /* MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_COMMON_H_ */
