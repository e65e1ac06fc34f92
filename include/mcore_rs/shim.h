/*
 * mcore-rs C shims: one plain C function per Zephyr syscall or devicetree
 * macro that Rust needs. No logic: each forwards its arguments unchanged.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MCORE_RS_SHIM_H_
#define MCORE_RS_SHIM_H_

#include <stddef.h>
#include <stdint.h>
#include <zephyr/device.h>
#include <zephyr/kernel.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IPM (zephyr/drivers/ipm.h), src/shim/mcore_ipm_shim.c ---- */

/** Callback type of ipm_register_callback(). */
typedef void (*mcore_ipm_callback_t)(const struct device *ipmdev, void *user_data,
				     uint32_t id, volatile void *data);

/** DEVICE_DT_GET(DT_CHOSEN(zephyr_ipc)), or NULL without that chosen node. */
const struct device *mcore_ipm_chosen(void);
int mcore_ipm_send(const struct device *ipmdev, int wait, uint32_t id,
		   const void *data, int size);
void mcore_ipm_register_callback(const struct device *ipmdev, mcore_ipm_callback_t cb,
				 void *user_data);
int mcore_ipm_max_data_size_get(const struct device *ipmdev);
uint32_t mcore_ipm_max_id_val_get(const struct device *ipmdev);
int mcore_ipm_set_enabled(const struct device *ipmdev, int enable);

/* ---- RPMsg (devicetree facts), src/shim/mcore_rpmsg_shim.c ---- */

/** DT_REG_ADDR(DT_CHOSEN(zephyr_ipc_shm)): physical base of the shared memory. */
uintptr_t mcore_rpmsg_shm_addr(void);
/** DT_REG_SIZE(DT_CHOSEN(zephyr_ipc_shm)) in bytes. */
size_t mcore_rpmsg_shm_size(void);
/** Device (physical) address of the first byte of the shared memory: the `phys-base`
 *  property where the node has one (native_sim), else its address (identity, i.MX). */
uintptr_t mcore_rpmsg_shm_phys(void);

/** Starts the link thread of zephyr_mcore::rpmsg (CONFIG_MCORE_RS_RPMSG_THREAD_*), once. */
void mcore_rpmsg_thread_start(k_thread_entry_t entry);
/** sys_cache_data_invd_range(): a no-op on cores without a data cache. */
void mcore_cache_invd(void *addr, size_t size);
/** sizeof / alignment of the OpenAMP structs that Rust allocates, as the C compiler sees them. */
extern const size_t mcore_sizeof_rpmsg_endpoint;
extern const size_t mcore_sizeof_rpmsg_virtio_device;
extern const size_t mcore_sizeof_metal_io_region;
extern const size_t mcore_alignof_rpmsg_endpoint;
extern const size_t mcore_alignof_rpmsg_virtio_device;

/* ---- System, src/shim/mcore_sys_shim.c ---- */

/** entropy_get_entropy() on the chosen zephyr,entropy device: 0, -ENODEV, or -ENOTSUP when
 *  the image has no entropy driver (CONFIG_ENTROPY_GENERATOR). */
int mcore_entropy_u32(uint32_t *out);

/* ---- I2C (zephyr/drivers/i2c.h), src/shim/mcore_i2c_shim.c ---- */

struct i2c_msg;
int mcore_i2c_transfer(const struct device *dev, struct i2c_msg *msgs, uint8_t num_msgs,
		       uint16_t addr);
int mcore_i2c_configure(const struct device *dev, uint32_t dev_config);
/** DEVICE_DT_GET(DT_ALIAS(imu_i2c)), or NULL without that alias. */
const struct device *mcore_i2c_alias_imu_i2c(void);

#ifdef __cplusplus
}
#endif

#endif /* MCORE_RS_SHIM_H_ */
