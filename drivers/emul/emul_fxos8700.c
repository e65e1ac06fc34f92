/*
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 *
 * I2C target emulator of the NXP FXOS8700CQ 6-axis accelerometer and
 * magnetometer (Adafruit Precision NXP 9-DOF board), after the register
 * map of the FXOS8700CQ data sheet (rev. 8, section 14):
 *
 * - WHO_AM_I (0x0D) reads 0xC7.
 * - Standby after reset; CTRL_REG1 ACTIVE starts the sampling. SYSMOD,
 *   STATUS (0x0F: ZYXDR, XDR, YDR, ZDR) and M_DR_STATUS follow the mode.
 * - OUT_X_MSB..OUT_Z_LSB (0x01..0x06): 14-bit two's complement,
 *   left-justified, MSB first, scaled by XYZ_DATA_CFG fs (4096, 2048 or
 *   1024 counts/g). M_OUT_X_MSB..M_OUT_Z_LSB (0x33..0x38): 16-bit, 0.1 µT
 *   per LSB. They read 0 in standby, and the disabled sensor of M_CTRL_REG1
 *   m_hms (accelerometer only / magnetometer only) reads 0 as well.
 * - Reads auto-increment the register address; in hybrid mode (m_hms = 3)
 *   with M_CTRL_REG2 hyb_autoinc_mode, OUT_Z_LSB (0x06) is followed by
 *   M_OUT_X_MSB (0x33). Writes auto-increment too.
 * - As on the chip, XYZ_DATA_CFG, M_CTRL_REG1/2 and the CTRL_REG1 fields
 *   other than ACTIVE can only be changed in standby: such writes while
 *   active are ignored (with a warning). A CTRL_REG1 write that clears
 *   ACTIVE is taken whole.
 * - CTRL_REG2 RST resets the registers; like the chip, the emulator does
 *   not acknowledge that write (the transfer fails with -EIO).
 *
 * Not emulated: fast-read (F_READ) mode, FIFO, interrupts and the embedded
 * event functions (their registers are plain storage), magnetometer
 * min/max/offset registers, noise.
 */

#define DT_DRV_COMPAT mcore_rs_fxos8700_emul

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

LOG_MODULE_REGISTER(mcore_fxos8700_emul, CONFIG_EMUL_LOG_LEVEL);

#define FXOS8700_REG_STATUS       0x00
#define FXOS8700_REG_OUT_X_MSB    0x01
#define FXOS8700_REG_OUT_Z_LSB    0x06
#define FXOS8700_REG_SYSMOD       0x0b
#define FXOS8700_REG_WHO_AM_I     0x0d
#define FXOS8700_REG_XYZ_DATA_CFG 0x0e
#define FXOS8700_REG_CTRL_REG1    0x2a
#define FXOS8700_REG_CTRL_REG2    0x2b
#define FXOS8700_REG_M_DR_STATUS  0x32
#define FXOS8700_REG_M_OUT_X_MSB  0x33
#define FXOS8700_REG_M_OUT_Z_LSB  0x38
#define FXOS8700_REG_TEMP         0x51
#define FXOS8700_REG_M_CTRL_REG1  0x5b
#define FXOS8700_REG_M_CTRL_REG2  0x5c

/* Registers 0x00..0x78; the address pointer is 7 bits wide. */
#define FXOS8700_NUM_REGS  0x80
#define FXOS8700_ADDR_MASK 0x7f

#define FXOS8700_WHO_AM_I 0xc7

#define FXOS8700_STATUS_DATA_READY 0x0f /* ZYXDR | ZDR | YDR | XDR */
#define FXOS8700_SYSMOD_WAKE       0x01

#define FXOS8700_XYZ_DATA_CFG_FS_MASK  0x03
#define FXOS8700_CTRL_REG1_ACTIVE      BIT(0)
#define FXOS8700_CTRL_REG2_RST         BIT(6)
#define FXOS8700_M_CTRL_REG1_M_HMS     0x03
#define FXOS8700_M_HMS_ACCEL_ONLY      0
#define FXOS8700_M_HMS_MAG_ONLY        1
#define FXOS8700_M_HMS_HYBRID          3
#define FXOS8700_M_CTRL_REG2_AUTOINC   BIT(5)
#define FXOS8700_M_CTRL_REG2_M_RST     BIT(6)

/* Die temperature reported while active, °C (about 0.96 °C/LSB). */
#define FXOS8700_EMUL_TEMP_C 25

/* 14-bit accelerometer samples */
#define FXOS8700_ACCEL_MIN (-8192)
#define FXOS8700_ACCEL_MAX 8191

struct fxos8700_emul_motion {
	/* Constant acceleration, milli-g */
	int32_t accel_mg[3];
	/* Sinusoid added to X: amplitude (milli-g) and period (ms) */
	int32_t accel_sine_mg;
	uint32_t accel_sine_period_ms;
	/* Magnetic field, 0.1 µT */
	int32_t mag_ut10[3];
};

struct fxos8700_emul_cfg {
	/* Motion from the devicetree */
	struct fxos8700_emul_motion motion;
};

struct fxos8700_emul_data {
	struct mcore_imu_emul_bus bus;
	uint8_t regs[FXOS8700_NUM_REGS];
	struct fxos8700_emul_motion motion;
};

static bool fxos8700_active(const struct fxos8700_emul_data *data)
{
	return (data->regs[FXOS8700_REG_CTRL_REG1] & FXOS8700_CTRL_REG1_ACTIVE) != 0U;
}

static uint8_t fxos8700_m_hms(const struct fxos8700_emul_data *data)
{
	return data->regs[FXOS8700_REG_M_CTRL_REG1] & FXOS8700_M_CTRL_REG1_M_HMS;
}

static void fxos8700_reset_regs(struct fxos8700_emul_data *data)
{
	memset(data->regs, 0, sizeof(data->regs));
	data->regs[FXOS8700_REG_WHO_AM_I] = FXOS8700_WHO_AM_I;
	data->bus.cur_reg = 0;
}

static void fxos8700_put_be16(uint8_t *dst, uint16_t v)
{
	dst[0] = (uint8_t)(v >> 8);
	dst[1] = (uint8_t)v;
}

/* Recompute the status and output registers for the current uptime. */
static void fxos8700_update_outputs(void *chip)
{
	struct fxos8700_emul_data *data = chip;
	const struct fxos8700_emul_motion *m = &data->motion;
	uint8_t *regs = data->regs;
	bool active = fxos8700_active(data);
	uint8_t m_hms = fxos8700_m_hms(data);
	bool accel_on = active && (m_hms != FXOS8700_M_HMS_MAG_ONLY);
	bool mag_on = active && (m_hms != FXOS8700_M_HMS_ACCEL_ONLY);
	int64_t now = k_uptime_get();

	regs[FXOS8700_REG_SYSMOD] = active ? FXOS8700_SYSMOD_WAKE : 0U;
	regs[FXOS8700_REG_STATUS] = accel_on ? FXOS8700_STATUS_DATA_READY : 0U;
	regs[FXOS8700_REG_M_DR_STATUS] = mag_on ? FXOS8700_STATUS_DATA_READY : 0U;
	regs[FXOS8700_REG_TEMP] = active ? (uint8_t)FXOS8700_EMUL_TEMP_C : 0U;

	/* fs = 0, 1, 2: 4096, 2048, 1024 counts/g (3 is reserved: as 2) */
	uint8_t fs = MIN(regs[FXOS8700_REG_XYZ_DATA_CFG] & FXOS8700_XYZ_DATA_CFG_FS_MASK, 2);
	int64_t counts_per_g = 4096 >> fs;

	for (int axis = 0; axis < 3; axis++) {
		int32_t counts = 0;

		if (accel_on) {
			int64_t mg = m->accel_mg[axis];

			if (axis == 0) {
				mg += mcore_imu_emul_sine(now, m->accel_sine_mg,
							  m->accel_sine_period_ms);
			}
			counts = mcore_imu_emul_sat(
				mcore_imu_emul_div_round(mg * counts_per_g, 1000),
				FXOS8700_ACCEL_MIN, FXOS8700_ACCEL_MAX);
		}
		/* Left-justified: the 14 bits go to [15:2]. */
		fxos8700_put_be16(&regs[FXOS8700_REG_OUT_X_MSB + 2 * axis],
				  (uint16_t)((uint32_t)counts << 2));
	}

	for (int axis = 0; axis < 3; axis++) {
		int32_t counts = 0;

		if (mag_on) {
			counts = mcore_imu_emul_sat(m->mag_ut10[axis], INT16_MIN, INT16_MAX);
		}
		fxos8700_put_be16(&regs[FXOS8700_REG_M_OUT_X_MSB + 2 * axis], (uint16_t)counts);
	}
}

static uint8_t fxos8700_next_read_addr(const void *chip, uint8_t reg)
{
	const struct fxos8700_emul_data *data = chip;

	if (reg == FXOS8700_REG_OUT_Z_LSB && fxos8700_m_hms(data) == FXOS8700_M_HMS_HYBRID &&
	    (data->regs[FXOS8700_REG_M_CTRL_REG2] & FXOS8700_M_CTRL_REG2_AUTOINC) != 0U) {
		return FXOS8700_REG_M_OUT_X_MSB;
	}

	return (reg + 1) & FXOS8700_ADDR_MASK;
}

/* Write one register. Returns true if the chip reset itself (no ACK). */
static bool fxos8700_reg_write(void *chip, uint8_t reg, uint8_t val)
{
	struct fxos8700_emul_data *data = chip;
	uint8_t *regs = data->regs;
	bool active = fxos8700_active(data);

	switch (reg) {
	case FXOS8700_REG_STATUS:
	case FXOS8700_REG_OUT_X_MSB ... FXOS8700_REG_OUT_Z_LSB:
	case FXOS8700_REG_SYSMOD:
	case FXOS8700_REG_WHO_AM_I:
	case FXOS8700_REG_M_DR_STATUS:
	case FXOS8700_REG_M_OUT_X_MSB ... FXOS8700_REG_M_OUT_Z_LSB:
	case FXOS8700_REG_TEMP:
		LOG_DBG("write 0x%02x to read-only register 0x%02x ignored", val, reg);
		return false;
	case FXOS8700_REG_CTRL_REG1:
		/* Going to standby takes the whole value; staying active only ACTIVE. */
		if (active && (val & FXOS8700_CTRL_REG1_ACTIVE) != 0U) {
			uint8_t keep = regs[reg];

			if (val != keep) {
				LOG_WRN("CTRL_REG1 fields other than ACTIVE only change in standby: "
					"write 0x%02x ignored",
					val);
			}
			val = keep;
		}
		break;
	case FXOS8700_REG_CTRL_REG2:
		if ((val & FXOS8700_CTRL_REG2_RST) != 0U) {
			LOG_DBG("software reset");
			fxos8700_reset_regs(data);
			return true;
		}
		break;
	case FXOS8700_REG_XYZ_DATA_CFG:
	case FXOS8700_REG_M_CTRL_REG1:
	case FXOS8700_REG_M_CTRL_REG2:
		if (reg == FXOS8700_REG_M_CTRL_REG2) {
			/* m_rst is self-clearing */
			val &= ~FXOS8700_M_CTRL_REG2_M_RST;
		}
		if (active && val != regs[reg]) {
			LOG_WRN("register 0x%02x only changes in standby: write 0x%02x ignored",
				reg, val);
			return false;
		}
		break;
	default:
		break;
	}

	regs[reg] = val;

	return false;
}

/* The transfer indexes the register file with the masked address pointer. */
BUILD_ASSERT(FXOS8700_NUM_REGS == FXOS8700_ADDR_MASK + 1);

static const struct mcore_imu_emul_ops fxos8700_emul_ops = {
	.addr_mask = FXOS8700_ADDR_MASK,
	.update_outputs = fxos8700_update_outputs,
	.next_read_addr = fxos8700_next_read_addr,
	.reg_write = fxos8700_reg_write,
};

static int fxos8700_emul_transfer(const struct emul *target, struct i2c_msg *msgs, int num_msgs,
				  int addr)
{
	struct fxos8700_emul_data *data = target->data;

	ARG_UNUSED(addr);

	return mcore_imu_emul_transfer(&fxos8700_emul_ops, data, &data->bus, data->regs, msgs,
				       num_msgs);
}

static const struct i2c_emul_api fxos8700_emul_api_i2c = {
	.transfer = fxos8700_emul_transfer,
};

void mcore_fxos8700_emul_set_accel(const struct emul *target, const int32_t mg[3])
{
	struct fxos8700_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		memcpy(data->motion.accel_mg, mg, sizeof(data->motion.accel_mg));
	}
}

void mcore_fxos8700_emul_set_accel_sine(const struct emul *target, int32_t amplitude_mg,
					uint32_t period_ms)
{
	struct fxos8700_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		data->motion.accel_sine_mg = amplitude_mg;
		data->motion.accel_sine_period_ms = period_ms;
	}
}

void mcore_fxos8700_emul_set_mag(const struct emul *target, const int32_t ut10[3])
{
	struct fxos8700_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		memcpy(data->motion.mag_ut10, ut10, sizeof(data->motion.mag_ut10));
	}
}

void mcore_fxos8700_emul_set_absent(const struct emul *target, bool absent)
{
	struct fxos8700_emul_data *data = target->data;

	mcore_imu_emul_set_absent(&data->bus, absent);
}

void mcore_fxos8700_emul_reset(const struct emul *target)
{
	const struct fxos8700_emul_cfg *cfg = target->cfg;
	struct fxos8700_emul_data *data = target->data;

	K_SPINLOCK(&data->bus.lock) {
		fxos8700_reset_regs(data);
		data->motion = cfg->motion;
		data->bus.absent = false;
	}
}

int mcore_fxos8700_emul_get_reg(const struct emul *target, uint8_t reg, uint8_t *val)
{
	struct fxos8700_emul_data *data = target->data;

	return mcore_imu_emul_get_reg(&data->bus, data->regs, FXOS8700_NUM_REGS, reg, val);
}

static int fxos8700_emul_init(const struct emul *target, const struct device *parent)
{
	ARG_UNUSED(parent);

	mcore_fxos8700_emul_reset(target);

	return 0;
}

#define FXOS8700_DT_S32(n, prop, idx) MCORE_IMU_EMUL_DT_S32(DT_INST_PROP_BY_IDX(n, prop, idx))

#define FXOS8700_EMUL_DEFINE(n)                                                                    \
	BUILD_ASSERT(DT_INST_PROP_LEN(n, accel_milli_g) == 3,                                      \
		     "accel-milli-g needs 3 cells (X, Y, Z)");                                     \
	BUILD_ASSERT(DT_INST_PROP_LEN(n, mag_tenth_microtesla) == 3,                               \
		     "mag-tenth-microtesla needs 3 cells (X, Y, Z)");                              \
	static const struct fxos8700_emul_cfg fxos8700_emul_cfg_##n = {                            \
		.motion = {                                                                        \
			.accel_mg = {FXOS8700_DT_S32(n, accel_milli_g, 0),                         \
				     FXOS8700_DT_S32(n, accel_milli_g, 1),                         \
				     FXOS8700_DT_S32(n, accel_milli_g, 2)},                        \
			.accel_sine_mg = MCORE_IMU_EMUL_DT_S32(                                    \
				DT_INST_PROP(n, accel_sine_x_amplitude_milli_g)),                  \
			.accel_sine_period_ms = DT_INST_PROP(n, accel_sine_x_period_ms),           \
			.mag_ut10 = {FXOS8700_DT_S32(n, mag_tenth_microtesla, 0),                  \
				     FXOS8700_DT_S32(n, mag_tenth_microtesla, 1),                  \
				     FXOS8700_DT_S32(n, mag_tenth_microtesla, 2)},                 \
		},                                                                                 \
	};                                                                                         \
	static struct fxos8700_emul_data fxos8700_emul_data_##n;                                   \
	EMUL_DT_INST_DEFINE(n, fxos8700_emul_init, &fxos8700_emul_data_##n,                        \
			    &fxos8700_emul_cfg_##n, &fxos8700_emul_api_i2c, NULL);                 \
	/* The emulated chip has no driver of its own: an empty device stands in. */               \
	DEVICE_DT_INST_DEFINE(n, NULL, NULL, NULL, NULL, POST_KERNEL,                              \
			      CONFIG_APPLICATION_INIT_PRIORITY, NULL);

DT_INST_FOREACH_STATUS_OKAY(FXOS8700_EMUL_DEFINE)
