/*
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 *
 * I2C target emulator of the NXP FXAS21002C 3-axis gyroscope (Adafruit
 * Precision NXP 9-DOF board), after the register map of the FXAS21002C
 * data sheet (rev. 2.1, section 13):
 *
 * - WHO_AM_I (0x0C) reads 0xD7.
 * - Standby after reset; CTRL_REG1 ACTIVE starts the sampling (READY alone
 *   does not). STATUS and DR_STATUS read 0x0F (ZYXDR, ZDR, YDR, XDR) while
 *   active.
 * - OUT_X_MSB..OUT_Z_LSB (0x01..0x06): 16-bit two's complement, MSB first,
 *   scaled by CTRL_REG0 FS (62.5, 31.25, 15.625 or 7.8125 mdps/LSB), twice
 *   that with CTRL_REG3 FS_DOUBLE. They read 0 unless active.
 * - Reads auto-increment the register address; after OUT_Z_LSB (0x06) the
 *   address rolls over to 0x00, or to 0x01 with CTRL_REG3 WRAPTOONE.
 *   Writes auto-increment linearly.
 * - As on the chip, CTRL_REG0 can only be changed in standby or ready mode:
 *   writes while active are ignored (with a warning).
 * - CTRL_REG1 RST resets the registers; like the chip, the emulator does
 *   not acknowledge that write (the transfer fails with -EIO).
 *
 * Not emulated: FIFO, interrupts, rate threshold detection and self-test
 * (their registers are plain storage), noise.
 */

#define DT_DRV_COMPAT mcore_rs_fxas21002_emul

#include <string.h>

#include <zephyr/device.h>
#include <zephyr/drivers/emul.h>
#include <zephyr/drivers/i2c.h>
#include <zephyr/drivers/i2c_emul.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/spinlock.h>
#include <zephyr/sys/util.h>

#include "mcore_imu_emul.h"
#include "mcore_imu_emul_common.h"

LOG_MODULE_REGISTER(mcore_fxas21002_emul, CONFIG_EMUL_LOG_LEVEL);

#define FXAS21002_REG_STATUS    0x00
#define FXAS21002_REG_OUT_X_MSB 0x01
#define FXAS21002_REG_OUT_Z_LSB 0x06
#define FXAS21002_REG_DR_STATUS 0x07
#define FXAS21002_REG_F_STATUS  0x08
#define FXAS21002_REG_F_EVENT   0x0a
#define FXAS21002_REG_INT_SRC   0x0b
#define FXAS21002_REG_WHO_AM_I  0x0c
#define FXAS21002_REG_CTRL_REG0 0x0d
#define FXAS21002_REG_RT_SRC    0x0f
#define FXAS21002_REG_TEMP      0x12
#define FXAS21002_REG_CTRL_REG1 0x13
#define FXAS21002_REG_CTRL_REG3 0x15

/* Registers 0x00..0x15; a 6-bit address pointer is assumed. */
#define FXAS21002_NUM_REGS  0x40
#define FXAS21002_ADDR_MASK 0x3f

#define FXAS21002_WHO_AM_I 0xd7

#define FXAS21002_STATUS_DATA_READY 0x0f /* ZYXDR | ZDR | YDR | XDR */

#define FXAS21002_CTRL_REG0_FS_MASK     0x03
#define FXAS21002_CTRL_REG1_READY       BIT(0)
#define FXAS21002_CTRL_REG1_ACTIVE      BIT(1)
#define FXAS21002_CTRL_REG1_RST         BIT(6)
#define FXAS21002_CTRL_REG3_FS_DOUBLE   BIT(0)
#define FXAS21002_CTRL_REG3_WRAPTOONE   BIT(3)

/* Die temperature reported while active, °C (1 °C/LSB). */
#define FXAS21002_EMUL_TEMP_C 25

struct fxas21002_emul_motion {
	/* Constant angular rate, milli-dps */
	int32_t gyro_mdps[3];
	/* Sinusoid added to Z: amplitude (milli-dps) and period (ms) */
	int32_t gyro_sine_mdps;
	uint32_t gyro_sine_period_ms;
};

struct fxas21002_emul_cfg {
	/* Motion from the devicetree */
	struct fxas21002_emul_motion motion;
};

struct fxas21002_emul_data {
	struct mcore_imu_emul_bus bus;
	uint8_t regs[FXAS21002_NUM_REGS];
	struct fxas21002_emul_motion motion;
};

static bool fxas21002_active(const struct fxas21002_emul_data *data)
{
	return (data->regs[FXAS21002_REG_CTRL_REG1] & FXAS21002_CTRL_REG1_ACTIVE) != 0U;
}

static void fxas21002_reset_regs(struct fxas21002_emul_data *data)
{
	memset(data->regs, 0, sizeof(data->regs));
	data->regs[FXAS21002_REG_WHO_AM_I] = FXAS21002_WHO_AM_I;
	data->bus.cur_reg = 0;
}

/* Recompute the status and output registers for the current uptime. */
static void fxas21002_update_outputs(void *chip)
{
	struct fxas21002_emul_data *data = chip;
	const struct fxas21002_emul_motion *m = &data->motion;
	uint8_t *regs = data->regs;
	bool active = fxas21002_active(data);
	int64_t now = k_uptime_get();
	/* LSB in 1/16 mdps: FS 0..3 = 62.5, 31.25, 15.625, 7.8125 mdps */
	int64_t lsb16 = 1000 >> (regs[FXAS21002_REG_CTRL_REG0] & FXAS21002_CTRL_REG0_FS_MASK);

	if ((regs[FXAS21002_REG_CTRL_REG3] & FXAS21002_CTRL_REG3_FS_DOUBLE) != 0U) {
		lsb16 *= 2;
	}

	regs[FXAS21002_REG_STATUS] = active ? FXAS21002_STATUS_DATA_READY : 0U;
	regs[FXAS21002_REG_DR_STATUS] = regs[FXAS21002_REG_STATUS];
	regs[FXAS21002_REG_TEMP] = active ? (uint8_t)FXAS21002_EMUL_TEMP_C : 0U;

	for (int axis = 0; axis < 3; axis++) {
		int32_t counts = 0;

		if (active) {
			int64_t mdps = m->gyro_mdps[axis];

			if (axis == 2) {
				mdps += mcore_imu_emul_sine(now, m->gyro_sine_mdps,
							    m->gyro_sine_period_ms);
			}
			counts = mcore_imu_emul_sat(mcore_imu_emul_div_round(mdps * 16, lsb16),
						    INT16_MIN, INT16_MAX);
		}
		regs[FXAS21002_REG_OUT_X_MSB + 2 * axis] = (uint8_t)((uint16_t)counts >> 8);
		regs[FXAS21002_REG_OUT_X_MSB + 2 * axis + 1] = (uint8_t)counts;
	}
}

static uint8_t fxas21002_next_read_addr(const void *chip, uint8_t reg)
{
	const struct fxas21002_emul_data *data = chip;

	if (reg == FXAS21002_REG_OUT_Z_LSB) {
		return ((data->regs[FXAS21002_REG_CTRL_REG3] & FXAS21002_CTRL_REG3_WRAPTOONE) != 0U)
			       ? FXAS21002_REG_OUT_X_MSB
			       : FXAS21002_REG_STATUS;
	}

	return (reg + 1) & FXAS21002_ADDR_MASK;
}

/* Write one register. Returns true if the chip reset itself (no ACK). */
static bool fxas21002_reg_write(void *chip, uint8_t reg, uint8_t val)
{
	struct fxas21002_emul_data *data = chip;
	uint8_t *regs = data->regs;

	switch (reg) {
	case FXAS21002_REG_STATUS ... FXAS21002_REG_F_STATUS:
	case FXAS21002_REG_F_EVENT:
	case FXAS21002_REG_INT_SRC:
	case FXAS21002_REG_WHO_AM_I:
	case FXAS21002_REG_RT_SRC:
	case FXAS21002_REG_TEMP:
		LOG_DBG("write 0x%02x to read-only register 0x%02x ignored", val, reg);
		return false;
	case FXAS21002_REG_CTRL_REG0:
		if (fxas21002_active(data) && val != regs[reg]) {
			LOG_WRN("CTRL_REG0 only changes in standby or ready mode: "
				"write 0x%02x ignored",
				val);
			return false;
		}
		break;
	case FXAS21002_REG_CTRL_REG1:
		if ((val & FXAS21002_CTRL_REG1_RST) != 0U) {
			LOG_DBG("software reset");
			fxas21002_reset_regs(data);
			return true;
		}
		break;
	default:
		break;
	}

	regs[reg] = val;

	return false;
}

/* The transfer indexes the register file with the masked address pointer. */
BUILD_ASSERT(FXAS21002_NUM_REGS == FXAS21002_ADDR_MASK + 1);

static const struct mcore_imu_emul_ops fxas21002_emul_ops = {
	.addr_mask = FXAS21002_ADDR_MASK,
	.update_outputs = fxas21002_update_outputs,
	.next_read_addr = fxas21002_next_read_addr,
	.reg_write = fxas21002_reg_write,
};

static int fxas21002_emul_transfer(const struct emul *target, struct i2c_msg *msgs, int num_msgs,
				   int addr)
{
	struct fxas21002_emul_data *data = target->data;

	ARG_UNUSED(addr);

	return mcore_imu_emul_transfer(&fxas21002_emul_ops, data, &data->bus, data->regs, msgs,
				       num_msgs);
}

static const struct i2c_emul_api fxas21002_emul_api_i2c = {
	.transfer = fxas21002_emul_transfer,
};

void mcore_fxas21002_emul_set_gyro(const struct emul *target, const int32_t mdps[3])
{
	struct fxas21002_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		memcpy(data->motion.gyro_mdps, mdps, sizeof(data->motion.gyro_mdps));
	}
}

void mcore_fxas21002_emul_set_gyro_sine(const struct emul *target, int32_t amplitude_mdps,
					uint32_t period_ms)
{
	struct fxas21002_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		data->motion.gyro_sine_mdps = amplitude_mdps;
		data->motion.gyro_sine_period_ms = period_ms;
	}
}

void mcore_fxas21002_emul_set_absent(const struct emul *target, bool absent)
{
	struct fxas21002_emul_data *data = target->data;

	mcore_imu_emul_set_absent(&data->bus, absent);
}

void mcore_fxas21002_emul_reset(const struct emul *target)
{
	const struct fxas21002_emul_cfg *cfg = target->cfg;
	struct fxas21002_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		fxas21002_reset_regs(data);
		data->motion = cfg->motion;
		data->bus.absent = false;
	}
}

int mcore_fxas21002_emul_get_reg(const struct emul *target, uint8_t reg, uint8_t *val)
{
	struct fxas21002_emul_data *data = target->data;

	return mcore_imu_emul_get_reg(&data->bus, data->regs, FXAS21002_NUM_REGS, reg, val);
}

static int fxas21002_emul_init(const struct emul *target, const struct device *parent)
{
	ARG_UNUSED(parent);

	mcore_fxas21002_emul_reset(target);

	return 0;
}

#define FXAS21002_DT_S32(n, prop, idx) MCORE_IMU_EMUL_DT_S32(DT_INST_PROP_BY_IDX(n, prop, idx))

#define FXAS21002_EMUL_DEFINE(n)                                                                   \
	BUILD_ASSERT(DT_INST_PROP_LEN(n, gyro_milli_dps) == 3,                                     \
		     "gyro-milli-dps needs 3 cells (X, Y, Z)");                                    \
	static const struct fxas21002_emul_cfg fxas21002_emul_cfg_##n = {                          \
		.motion = {                                                                        \
			.gyro_mdps = {FXAS21002_DT_S32(n, gyro_milli_dps, 0),                      \
				      FXAS21002_DT_S32(n, gyro_milli_dps, 1),                      \
				      FXAS21002_DT_S32(n, gyro_milli_dps, 2)},                     \
			.gyro_sine_mdps = MCORE_IMU_EMUL_DT_S32(                                   \
				DT_INST_PROP(n, gyro_sine_z_amplitude_milli_dps)),                 \
			.gyro_sine_period_ms = DT_INST_PROP(n, gyro_sine_z_period_ms),             \
		},                                                                                 \
	};                                                                                         \
	static struct fxas21002_emul_data fxas21002_emul_data_##n;                                 \
	EMUL_DT_INST_DEFINE(n, fxas21002_emul_init, &fxas21002_emul_data_##n,                      \
			    &fxas21002_emul_cfg_##n, &fxas21002_emul_api_i2c, NULL);               \
	/* The emulated chip has no driver of its own: an empty device stands in. */               \
	DEVICE_DT_INST_DEFINE(n, NULL, NULL, NULL, NULL, POST_KERNEL,                              \
			      CONFIG_APPLICATION_INIT_PRIORITY, NULL);

DT_INST_FOREACH_STATUS_OKAY(FXAS21002_EMUL_DEFINE)
