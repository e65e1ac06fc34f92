/*
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 *
 * Private helpers shared by the FXOS8700 and FXAS21002 emulators: the
 * motion model (constant + sinusoid, evaluated from the uptime), the
 * integer conversions to register counts, and the I2C side of a chip with
 * an auto-incrementing register address pointer.
 */

#ifndef MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_COMMON_H_
#define MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_COMMON_H_

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/drivers/i2c.h>
#include <zephyr/spinlock.h>

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

/** @brief Bus state of an emulated chip, next to its register file. */
struct mcore_imu_emul_bus {
	/* Guards the bus state and the rest of the chip's emulator data */
	struct k_spinlock lock;
	/* Register address pointer */
	uint8_t cur_reg;
	/* While set, every transfer fails with -EIO (address NACK) */
	bool absent;
};

/**
 * @brief The chip-specific parts of mcore_imu_emul_transfer().
 *
 * The callbacks get the chip's emulator data and run under the bus lock.
 */
struct mcore_imu_emul_ops {
	/* Register address pointer mask; the register file has mask + 1 bytes */
	uint8_t addr_mask;
	/* Recompute the status and output registers before a read */
	void (*update_outputs)(void *data);
	/* Register address that follows @p reg in a read (auto-increment) */
	uint8_t (*next_read_addr)(const void *data, uint8_t reg);
	/* Write one register; returns true if the chip reset itself (no ACK) */
	bool (*reg_write)(void *data, uint8_t reg, uint8_t val);
};

/**
 * @brief I2C transfer to a chip with an auto-incrementing register pointer.
 *
 * The first byte written after a start, repeated start or stop sets the
 * register address pointer; further bytes written go to the registers
 * (linear auto-increment), bytes read come from them (auto-increment after
 * @p ops next_read_addr).
 *
 * @param ops The chip-specific parts.
 * @param data The chip's emulator data, passed to the callbacks of @p ops.
 * @param bus The chip's bus state.
 * @param regs The chip's register file (@p ops addr_mask + 1 bytes).
 * @param msgs The messages of the transfer.
 * @param num_msgs How many.
 *
 * @retval 0 on success.
 * @retval -EIO if the chip is absent or reset itself during the transfer.
 */
static inline int mcore_imu_emul_transfer(const struct mcore_imu_emul_ops *ops, void *data,
					  struct mcore_imu_emul_bus *bus, uint8_t *regs,
					  struct i2c_msg *msgs, int num_msgs)
{
	bool need_reg = true;
	int ret = 0;

	K_SPINLOCK(&bus->lock) {
		if (bus->absent) {
			ret = -EIO;
			K_SPINLOCK_BREAK;
		}

		for (int i = 0; i < num_msgs && ret == 0; i++) {
			struct i2c_msg *msg = &msgs[i];

			/* A repeated start begins a new register access. */
			if ((msg->flags & I2C_MSG_RESTART) != 0U) {
				need_reg = true;
			}

			if ((msg->flags & I2C_MSG_READ) != 0U) {
				ops->update_outputs(data);
				for (uint32_t j = 0; j < msg->len; j++) {
					msg->buf[j] = regs[bus->cur_reg];
					bus->cur_reg = ops->next_read_addr(data, bus->cur_reg);
				}
			} else {
				for (uint32_t j = 0; j < msg->len; j++) {
					if (need_reg) {
						bus->cur_reg = msg->buf[j] & ops->addr_mask;
						need_reg = false;
						continue;
					}
					if (ops->reg_write(data, bus->cur_reg, msg->buf[j])) {
						/* Reset: the byte is not acknowledged. */
						ret = -EIO;
						break;
					}
					bus->cur_reg = (bus->cur_reg + 1) & ops->addr_mask;
				}
			}

			if ((msg->flags & I2C_MSG_STOP) != 0U) {
				need_reg = true;
			}
		}
	}

	return ret;
}

/** @brief Make the chip absent from the bus (or present again). */
static inline void mcore_imu_emul_set_absent(struct mcore_imu_emul_bus *bus, bool absent)
{
	K_SPINLOCK(&bus->lock) {
		bus->absent = absent;
	}
}

/**
 * @brief Read register @p reg of a register file of @p num_regs bytes.
 *
 * @retval 0 on success.
 * @retval -EINVAL if @p reg is out of range.
 */
static inline int mcore_imu_emul_get_reg(struct mcore_imu_emul_bus *bus, const uint8_t *regs,
					 size_t num_regs, uint8_t reg, uint8_t *val)
{
	if (reg >= num_regs) {
		return -EINVAL;
	}

	K_SPINLOCK(&bus->lock) {
		*val = regs[reg];
	}

	return 0;
}

#endif /* MCORE_RS_DRIVERS_EMUL_MCORE_IMU_EMUL_COMMON_H_ */
