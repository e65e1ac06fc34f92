/*
 * IPM shim for Rust: ipm_*() are syscalls (static inline), so Rust calls
 * these plain functions instead. No logic here.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#include <zephyr/drivers/ipm.h>
#include <mcore_rs/shim.h>

const struct device *mcore_ipm_chosen(void)
{
#if DT_HAS_CHOSEN(zephyr_ipc)
	return DEVICE_DT_GET(DT_CHOSEN(zephyr_ipc));
#else
	return NULL;
#endif
}

int mcore_ipm_send(const struct device *ipmdev, int wait, uint32_t id, const void *data, int size)
{
	return ipm_send(ipmdev, wait, id, data, size);
}

void mcore_ipm_register_callback(const struct device *ipmdev, mcore_ipm_callback_t cb,
				 void *user_data)
{
	ipm_register_callback(ipmdev, cb, user_data);
}

int mcore_ipm_max_data_size_get(const struct device *ipmdev)
{
	return ipm_max_data_size_get(ipmdev);
}

uint32_t mcore_ipm_max_id_val_get(const struct device *ipmdev)
{
	return ipm_max_id_val_get(ipmdev);
}

int mcore_ipm_set_enabled(const struct device *ipmdev, int enable)
{
	return ipm_set_enabled(ipmdev, enable);
}
