/*
 * I2C shim for Rust: i2c_transfer() and i2c_configure() are syscalls
 * (static inline), so Rust calls these plain functions. No logic here.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#include <zephyr/drivers/i2c.h>
#include <mcore_rs/shim.h>

int mcore_i2c_transfer(const struct device *dev, struct i2c_msg *msgs, uint8_t num_msgs,
		       uint16_t addr)
{
	return i2c_transfer(dev, msgs, num_msgs, addr);
}

int mcore_i2c_configure(const struct device *dev, uint32_t dev_config)
{
	return i2c_configure(dev, dev_config);
}

const struct device *mcore_i2c_alias_imu_i2c(void)
{
#if DT_NODE_EXISTS(DT_ALIAS(imu_i2c))
	return DEVICE_DT_GET(DT_ALIAS(imu_i2c));
#else
	return NULL;
#endif
}
