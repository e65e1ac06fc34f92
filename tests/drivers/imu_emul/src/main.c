/*
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 *
 * The FXOS8700CQ and FXAS21002C emulators, driven through the Zephyr I2C
 * API only, the way the firmware drives the real chips.
 */

#include <errno.h>
#include <stdlib.h>

#include <zephyr/device.h>
#include <zephyr/devicetree.h>
#include <zephyr/drivers/emul.h>
#include <zephyr/drivers/i2c.h>
#include <zephyr/kernel.h>
#include <zephyr/sys/byteorder.h>
#include <zephyr/ztest.h>

#include "mcore_imu_emul.h"

#define FXOS_NODE DT_NODELABEL(fxos8700)
#define FXAS_NODE DT_NODELABEL(fxas21002)

#define FXOS_ADDR DT_REG_ADDR(FXOS_NODE)
#define FXAS_ADDR DT_REG_ADDR(FXAS_NODE)

/* FXOS8700CQ registers */
#define FXOS_STATUS       0x00
#define FXOS_OUT_X_MSB    0x01
#define FXOS_SYSMOD       0x0b
#define FXOS_WHO_AM_I     0x0d
#define FXOS_XYZ_DATA_CFG 0x0e
#define FXOS_CTRL_REG1    0x2a
#define FXOS_CTRL_REG2    0x2b
#define FXOS_M_OUT_X_MSB  0x33
#define FXOS_M_CTRL_REG1  0x5b
#define FXOS_M_CTRL_REG2  0x5c

#define FXOS_CTRL_REG1_ACTIVE  0x01
/* DR = 1 (400 Hz, 200 Hz per sensor in hybrid mode), low noise, active */
#define FXOS_CTRL_REG1_RUN     ((1 << 3) | BIT(2) | FXOS_CTRL_REG1_ACTIVE)
#define FXOS_CTRL_REG2_RST     BIT(6)
#define FXOS_M_CTRL_REG1_HYB   0x1f /* m_hms = 3 (hybrid), m_os = 7 */
#define FXOS_M_CTRL_REG2_AUTO  BIT(5)
#define FXOS_FS_2G             0
#define FXOS_FS_4G             1
#define FXOS_FS_8G             2

/* FXAS21002C registers */
#define FXAS_STATUS    0x00
#define FXAS_OUT_X_MSB 0x01
#define FXAS_WHO_AM_I  0x0c
#define FXAS_CTRL_REG0 0x0d
#define FXAS_CTRL_REG1 0x13
#define FXAS_CTRL_REG3 0x15

#define FXAS_CTRL_REG1_READY  BIT(0)
#define FXAS_CTRL_REG1_ACTIVE BIT(1)
#define FXAS_CTRL_REG1_RST    BIT(6)
/* DR = 3 (100 Hz), active */
#define FXAS_CTRL_REG1_RUN    ((3 << 2) | FXAS_CTRL_REG1_ACTIVE)
#define FXAS_CTRL_REG3_WRAPTOONE BIT(3)
#define FXAS_FS_2000DPS       0
#define FXAS_FS_250DPS        3

#define STATUS_ZYXDR BIT(3)

static const struct device *const bus = DEVICE_DT_GET(DT_NODELABEL(imu_i2c));
static const struct emul *const fxos = EMUL_DT_GET(FXOS_NODE);
static const struct emul *const fxas = EMUL_DT_GET(FXAS_NODE);

static uint8_t read_reg(uint16_t addr, uint8_t reg)
{
	uint8_t val = 0xa5;

	zassert_ok(i2c_write_read(bus, addr, &reg, 1, &val, 1), "read 0x%02x:0x%02x", addr, reg);

	return val;
}

static void write_reg(uint16_t addr, uint8_t reg, uint8_t val)
{
	zassert_ok(i2c_reg_write_byte(bus, addr, reg, val), "write 0x%02x:0x%02x", addr, reg);
}

static int16_t be16(const uint8_t *p)
{
	return (int16_t)sys_get_be16(p);
}

/* Accelerometer sample: 14 bits, left-justified */
static int16_t accel_counts(const uint8_t *p)
{
	return be16(p) >> 2;
}

static void fxos_start(uint8_t fs)
{
	write_reg(FXOS_ADDR, FXOS_CTRL_REG1, 0);
	write_reg(FXOS_ADDR, FXOS_XYZ_DATA_CFG, fs);
	write_reg(FXOS_ADDR, FXOS_M_CTRL_REG1, FXOS_M_CTRL_REG1_HYB);
	write_reg(FXOS_ADDR, FXOS_M_CTRL_REG2, FXOS_M_CTRL_REG2_AUTO);
	write_reg(FXOS_ADDR, FXOS_CTRL_REG1, FXOS_CTRL_REG1_RUN);
}

static void fxas_start(uint8_t fs)
{
	write_reg(FXAS_ADDR, FXAS_CTRL_REG1, 0);
	write_reg(FXAS_ADDR, FXAS_CTRL_REG0, fs);
	write_reg(FXAS_ADDR, FXAS_CTRL_REG1, FXAS_CTRL_REG1_RUN);
}

/* STATUS, 6 accelerometer bytes, 6 magnetometer bytes */
static void fxos_read13(uint8_t buf[13])
{
	zassert_ok(i2c_burst_read(bus, FXOS_ADDR, FXOS_STATUS, buf, 13));
}

static int16_t fxos_accel_z(void)
{
	uint8_t buf[2];

	zassert_ok(i2c_burst_read(bus, FXOS_ADDR, FXOS_OUT_X_MSB + 4, buf, sizeof(buf)));

	return accel_counts(buf);
}

static void imu_emul_before(void *fixture)
{
	ARG_UNUSED(fixture);

	zassert_true(device_is_ready(bus), "emulated I2C bus not ready");
	mcore_fxos8700_emul_reset(fxos);
	mcore_fxas21002_emul_reset(fxas);
}

ZTEST_SUITE(imu_emul, NULL, NULL, imu_emul_before, NULL, NULL);

ZTEST(imu_emul, test_who_am_i)
{
	zassert_equal(read_reg(FXOS_ADDR, FXOS_WHO_AM_I), 0xc7);
	zassert_equal(read_reg(FXAS_ADDR, FXAS_WHO_AM_I), 0xd7);
}

ZTEST(imu_emul, test_standby_reads_zero)
{
	uint8_t buf[13];
	uint8_t gyro[7];

	/* Hybrid mode configured, but not active */
	write_reg(FXOS_ADDR, FXOS_M_CTRL_REG1, FXOS_M_CTRL_REG1_HYB);
	write_reg(FXOS_ADDR, FXOS_M_CTRL_REG2, FXOS_M_CTRL_REG2_AUTO);
	fxos_read13(buf);
	for (int i = 0; i < ARRAY_SIZE(buf); i++) {
		zassert_equal(buf[i], 0, "FXOS byte %d = 0x%02x in standby", i, buf[i]);
	}
	zassert_equal(read_reg(FXOS_ADDR, FXOS_SYSMOD), 0);

	/* READY is not ACTIVE: no data either */
	write_reg(FXAS_ADDR, FXAS_CTRL_REG1, FXAS_CTRL_REG1_READY);
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_STATUS, gyro, sizeof(gyro)));
	for (int i = 0; i < ARRAY_SIZE(gyro); i++) {
		zassert_equal(gyro[i], 0, "FXAS byte %d = 0x%02x in standby", i, gyro[i]);
	}
}

ZTEST(imu_emul, test_hybrid_burst)
{
	uint8_t buf[13];
	int16_t x;

	fxos_start(FXOS_FS_2G);
	zassert_equal(read_reg(FXOS_ADDR, FXOS_SYSMOD), 1, "not in wake mode");

	fxos_read13(buf);
	zassert_true(buf[0] & STATUS_ZYXDR, "STATUS 0x%02x", buf[0]);

	/* 1 g on Z at 4096 counts/g, left-justified */
	zassert_equal(sys_get_be16(&buf[5]), 0x4000, "Z raw 0x%04x", sys_get_be16(&buf[5]));
	zassert_equal(accel_counts(&buf[3]), 0, "Y");
	/* X: the 200 mg sinusoid only, 819 counts at most */
	x = accel_counts(&buf[1]);
	zassert_true(abs(x) <= 820, "X %d", x);
	/* The two low bits of a left-justified sample are zero. */
	zassert_equal(buf[2] & 0x03, 0);

	/* Magnetometer defaults: 20 uT, 0, -40 uT at 0.1 uT/LSB */
	zassert_equal(be16(&buf[7]), 200, "mag X %d", be16(&buf[7]));
	zassert_equal(be16(&buf[9]), 0, "mag Y %d", be16(&buf[9]));
	zassert_equal(be16(&buf[11]), -400, "mag Z %d", be16(&buf[11]));

	/* The same magnetometer data at its own address */
	zassert_ok(i2c_burst_read(bus, FXOS_ADDR, FXOS_M_OUT_X_MSB, buf, 6));
	zassert_equal(be16(&buf[0]), 200);
	zassert_equal(be16(&buf[4]), -400);
}

ZTEST(imu_emul, test_no_hybrid_autoinc)
{
	uint8_t buf[8];

	/* Hybrid mode without hyb_autoinc_mode: 0x06 is followed by 0x07. */
	write_reg(FXOS_ADDR, FXOS_M_CTRL_REG1, FXOS_M_CTRL_REG1_HYB);
	write_reg(FXOS_ADDR, FXOS_CTRL_REG1, FXOS_CTRL_REG1_RUN);
	zassert_ok(i2c_burst_read(bus, FXOS_ADDR, FXOS_STATUS, buf, sizeof(buf)));
	zassert_equal(sys_get_be16(&buf[5]), 0x4000);
	zassert_equal(buf[7], 0, "register 0x07 0x%02x", buf[7]);
}

ZTEST(imu_emul, test_accel_sine_moves)
{
	const int period_ms = 2000;
	const int steps = 8;
	int16_t min = INT16_MAX;
	int16_t max = INT16_MIN;
	uint8_t buf[13];

	fxos_start(FXOS_FS_2G);

	/*
	 * Eight samples about evenly spread over one period (k_sleep() may add
	 * a tick): whatever the phase, the extremes reach about cos(pi / 8) =
	 * 0.92 of the 819-count amplitude.
	 */
	for (int i = 0; i < steps; i++) {
		int16_t x;

		k_sleep(K_MSEC(period_ms / steps));
		fxos_read13(buf);
		x = accel_counts(&buf[1]);
		min = MIN(min, x);
		max = MAX(max, x);
		/* Z stays at 1 g */
		zassert_equal(accel_counts(&buf[5]), 4096);
	}

	zassert_true(max >= 700 && max <= 820, "X max %d", max);
	zassert_true(min <= -700 && min >= -820, "X min %d", min);
}

ZTEST(imu_emul, test_accel_range)
{
	static const int32_t still[3] = {-500, 250, 1000};

	mcore_fxos8700_emul_set_accel_sine(fxos, 0, 0);
	mcore_fxos8700_emul_set_accel(fxos, still);

	fxos_start(FXOS_FS_2G);
	zassert_equal(fxos_accel_z(), 4096);

	/* Ranges only change in standby: ignored while active */
	write_reg(FXOS_ADDR, FXOS_XYZ_DATA_CFG, FXOS_FS_8G);
	zassert_equal(read_reg(FXOS_ADDR, FXOS_XYZ_DATA_CFG), FXOS_FS_2G);
	zassert_equal(fxos_accel_z(), 4096);

	fxos_start(FXOS_FS_4G);
	zassert_equal(fxos_accel_z(), 2048);

	fxos_start(FXOS_FS_8G);
	zassert_equal(fxos_accel_z(), 1024);

	uint8_t buf[6];

	zassert_ok(i2c_burst_read(bus, FXOS_ADDR, FXOS_OUT_X_MSB, buf, sizeof(buf)));
	zassert_equal(accel_counts(&buf[0]), -512, "X %d", accel_counts(&buf[0]));
	zassert_equal(accel_counts(&buf[2]), 256, "Y %d", accel_counts(&buf[2]));
	zassert_equal(sys_get_be16(&buf[4]), 0x1000);

	/* Saturation at the 14-bit limits */
	static const int32_t hard[3] = {3000, -3000, 0};

	mcore_fxos8700_emul_set_accel(fxos, hard);
	fxos_start(FXOS_FS_2G);
	zassert_ok(i2c_burst_read(bus, FXOS_ADDR, FXOS_OUT_X_MSB, buf, sizeof(buf)));
	zassert_equal(sys_get_be16(&buf[0]), 0x7ffc);
	zassert_equal(sys_get_be16(&buf[2]), 0x8000);
}

ZTEST(imu_emul, test_mag_override)
{
	static const int32_t field[3] = {-123, 456, 40000};
	uint8_t buf[13];

	mcore_fxos8700_emul_set_mag(fxos, field);
	fxos_start(FXOS_FS_2G);
	fxos_read13(buf);
	zassert_equal(be16(&buf[7]), -123);
	zassert_equal(be16(&buf[9]), 456);
	zassert_equal(be16(&buf[11]), INT16_MAX, "saturates");
}

ZTEST(imu_emul, test_burst_write)
{
	static const uint8_t cfg[2] = {FXOS_M_CTRL_REG1_HYB, FXOS_M_CTRL_REG2_AUTO};
	uint8_t val;

	/* Register address once, then data with auto-increment */
	zassert_ok(i2c_burst_write(bus, FXOS_ADDR, FXOS_M_CTRL_REG1, cfg, sizeof(cfg)));
	zassert_ok(mcore_fxos8700_emul_get_reg(fxos, FXOS_M_CTRL_REG1, &val));
	zassert_equal(val, FXOS_M_CTRL_REG1_HYB);
	zassert_ok(mcore_fxos8700_emul_get_reg(fxos, FXOS_M_CTRL_REG2, &val));
	zassert_equal(val, FXOS_M_CTRL_REG2_AUTO);
}

ZTEST(imu_emul, test_gyro)
{
	static const int32_t rate[3] = {10000, -20000, 125000};
	uint8_t buf[7];

	/* Default motion at +-250 dps: 90 dps sinusoid on Z, 11520 counts at most */
	fxas_start(FXAS_FS_250DPS);
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_STATUS, buf, sizeof(buf)));
	zassert_true(buf[0] & STATUS_ZYXDR, "STATUS 0x%02x", buf[0]);
	zassert_equal(be16(&buf[1]), 0);
	zassert_equal(be16(&buf[3]), 0);
	zassert_true(abs(be16(&buf[5])) <= 11521, "Z %d", be16(&buf[5]));

	/* 7.8125 mdps/LSB */
	mcore_fxas21002_emul_set_gyro(fxas, rate);
	mcore_fxas21002_emul_set_gyro_sine(fxas, 0, 0);
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_STATUS, buf, sizeof(buf)));
	zassert_equal(be16(&buf[1]), 1280, "X %d", be16(&buf[1]));
	zassert_equal(be16(&buf[3]), -2560, "Y %d", be16(&buf[3]));
	zassert_equal(be16(&buf[5]), 16000, "Z %d", be16(&buf[5]));

	/* CTRL_REG0 only changes in standby or ready mode */
	write_reg(FXAS_ADDR, FXAS_CTRL_REG0, FXAS_FS_2000DPS);
	zassert_equal(read_reg(FXAS_ADDR, FXAS_CTRL_REG0), FXAS_FS_250DPS);

	/* 62.5 mdps/LSB */
	fxas_start(FXAS_FS_2000DPS);
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_OUT_X_MSB, buf, 6));
	zassert_equal(be16(&buf[0]), 160);
	zassert_equal(be16(&buf[2]), -320);
	zassert_equal(be16(&buf[4]), 2000);

	/* Saturation at +-250 dps */
	static const int32_t fast[3] = {300000, -300000, 0};

	mcore_fxas21002_emul_set_gyro(fxas, fast);
	fxas_start(FXAS_FS_250DPS);
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_OUT_X_MSB, buf, 6));
	zassert_equal(be16(&buf[0]), INT16_MAX);
	zassert_equal(be16(&buf[2]), INT16_MIN);
}

ZTEST(imu_emul, test_gyro_sine_moves)
{
	int16_t min = INT16_MAX;
	int16_t max = INT16_MIN;
	uint8_t buf[2];

	/* 90 dps at 62.5 mdps/LSB: 1440 counts, period 4 s */
	fxas_start(FXAS_FS_2000DPS);
	for (int i = 0; i < 8; i++) {
		k_sleep(K_MSEC(500));
		zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_OUT_X_MSB + 4, buf, sizeof(buf)));
		min = MIN(min, be16(buf));
		max = MAX(max, be16(buf));
	}
	zassert_true(max >= 1250 && max <= 1440, "Z max %d", max);
	zassert_true(min <= -1250 && min >= -1440, "Z min %d", min);
}

ZTEST(imu_emul, test_gyro_wrap)
{
	uint8_t buf[8];

	fxas_start(FXAS_FS_250DPS);

	/* After OUT_Z_LSB the address rolls over to STATUS ... */
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_STATUS, buf, sizeof(buf)));
	zassert_equal(buf[7], buf[0]);

	/* ... or to OUT_X_MSB with WRAPTOONE. */
	static const int32_t rate[3] = {-1000, 0, 0};

	mcore_fxas21002_emul_set_gyro(fxas, rate);
	write_reg(FXAS_ADDR, FXAS_CTRL_REG3, FXAS_CTRL_REG3_WRAPTOONE);
	zassert_ok(i2c_burst_read(bus, FXAS_ADDR, FXAS_OUT_X_MSB, buf, sizeof(buf)));
	zassert_equal(be16(&buf[0]), -128);
	zassert_equal(buf[6], buf[0]);
	zassert_equal(buf[7], buf[1]);
}

ZTEST(imu_emul, test_soft_reset)
{
	uint8_t val = 0xff;

	fxos_start(FXOS_FS_8G);
	/* The chip resets at once and does not acknowledge the write. */
	zassert_equal(i2c_reg_write_byte(bus, FXOS_ADDR, FXOS_CTRL_REG2, FXOS_CTRL_REG2_RST),
		      -EIO);
	zassert_equal(read_reg(FXOS_ADDR, FXOS_CTRL_REG1), 0);
	zassert_equal(read_reg(FXOS_ADDR, FXOS_XYZ_DATA_CFG), 0);
	zassert_equal(read_reg(FXOS_ADDR, FXOS_WHO_AM_I), 0xc7);

	fxas_start(FXAS_FS_250DPS);
	zassert_equal(i2c_reg_write_byte(bus, FXAS_ADDR, FXAS_CTRL_REG1, FXAS_CTRL_REG1_RST),
		      -EIO);
	zassert_ok(mcore_fxas21002_emul_get_reg(fxas, FXAS_CTRL_REG1, &val));
	zassert_equal(val, 0, "RST must self-clear");
	zassert_equal(read_reg(FXAS_ADDR, FXAS_CTRL_REG0), 0);
}

ZTEST(imu_emul, test_absent)
{
	uint8_t reg = FXOS_WHO_AM_I;
	uint8_t val;
	uint8_t buf[6];

	mcore_fxos8700_emul_set_absent(fxos, true);
	zassert_equal(i2c_write_read(bus, FXOS_ADDR, &reg, 1, &val, 1), -EIO);
	zassert_equal(i2c_reg_write_byte(bus, FXOS_ADDR, FXOS_CTRL_REG1, 1), -EIO);
	zassert_equal(i2c_burst_read(bus, FXOS_ADDR, FXOS_STATUS, buf, sizeof(buf)), -EIO);
	/* The other chip on the bus still answers. */
	zassert_equal(read_reg(FXAS_ADDR, FXAS_WHO_AM_I), 0xd7);
	mcore_fxos8700_emul_set_absent(fxos, false);
	zassert_equal(read_reg(FXOS_ADDR, FXOS_WHO_AM_I), 0xc7);
	/* The write while absent did not land. */
	zassert_equal(read_reg(FXOS_ADDR, FXOS_CTRL_REG1), 0);

	mcore_fxas21002_emul_set_absent(fxas, true);
	reg = FXAS_WHO_AM_I;
	zassert_equal(i2c_write_read(bus, FXAS_ADDR, &reg, 1, &val, 1), -EIO);
	zassert_equal(i2c_reg_write_byte(bus, FXAS_ADDR, FXAS_CTRL_REG1, 2), -EIO);
	mcore_fxas21002_emul_set_absent(fxas, false);
	zassert_equal(read_reg(FXAS_ADDR, FXAS_WHO_AM_I), 0xd7);
}
