/*
 * RPMsg shim for Rust: devicetree and Kconfig facts that only C macros can
 * read. OpenAMP's own functions are called from Rust directly. No logic here.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#include <zephyr/kernel.h>
#include <zephyr/devicetree.h>
#include <mcore_rs/shim.h>

#if !DT_HAS_CHOSEN(zephyr_ipc_shm)
#error "CONFIG_RUST_RPMSG needs a chosen zephyr,ipc_shm node (see mcore-rs boards/)"
#endif
#if !DT_HAS_CHOSEN(zephyr_ipc)
#error "CONFIG_RUST_RPMSG needs a chosen zephyr,ipc IPM device (see mcore-rs boards/)"
#endif
BUILD_ASSERT(CONFIG_OPENAMP_RSC_TABLE_NUM_RPMSG_BUFF > 0,
	     "a resource table without RPMsg buffers has no vdev for Linux remoteproc");
BUILD_ASSERT((CONFIG_OPENAMP_RSC_TABLE_NUM_RPMSG_BUFF &
	      (CONFIG_OPENAMP_RSC_TABLE_NUM_RPMSG_BUFF - 1)) == 0,
	     "virtio vring sizes must be a power of two (virtio 1.1, 2.6)");

uintptr_t mcore_rpmsg_shm_addr(void)
{
	return DT_REG_ADDR(DT_CHOSEN(zephyr_ipc_shm));
}

size_t mcore_rpmsg_shm_size(void)
{
	return DT_REG_SIZE(DT_CHOSEN(zephyr_ipc_shm));
}

uintptr_t mcore_rpmsg_shm_phys(void)
{
	/* native_sim (mcore-rs,native-sim-shm): device addresses are offsets; i.MX: identity. */
	return DT_PROP_OR(DT_CHOSEN(zephyr_ipc_shm), phys_base, DT_REG_ADDR(DT_CHOSEN(zephyr_ipc_shm)));
}
