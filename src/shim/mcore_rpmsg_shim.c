/*
 * RPMsg shim for Rust: devicetree and Kconfig facts that only C macros can
 * read, the link thread's stack, the data-cache call and struct layouts.
 * OpenAMP's own functions are called from Rust directly. No logic here.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#include <zephyr/kernel.h>
#include <zephyr/devicetree.h>
#include <zephyr/cache.h>
#include <openamp/rpmsg_virtio.h>
#include <metal/io.h>
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

/* The link thread of zephyr_mcore::rpmsg: stack and priority from Kconfig. */
static K_THREAD_STACK_DEFINE(mcore_rpmsg_stack, CONFIG_MCORE_RS_RPMSG_THREAD_STACK_SIZE);
static struct k_thread mcore_rpmsg_thread;

void mcore_rpmsg_thread_start(k_thread_entry_t entry)
{
	k_thread_create(&mcore_rpmsg_thread, mcore_rpmsg_stack,
			K_THREAD_STACK_SIZEOF(mcore_rpmsg_stack), entry, NULL, NULL, NULL,
			CONFIG_MCORE_RS_RPMSG_THREAD_PRIORITY, 0, K_NO_WAIT);
	k_thread_name_set(&mcore_rpmsg_thread, "mcore_rpmsg");
}

void mcore_cache_invd(void *addr, size_t size)
{
	(void)sys_cache_data_invd_range(addr, size);
}

/* Layouts as GCC sees them, checked against bindgen's at Rpmsg::init. */
const size_t mcore_sizeof_rpmsg_endpoint = sizeof(struct rpmsg_endpoint);
const size_t mcore_sizeof_rpmsg_virtio_device = sizeof(struct rpmsg_virtio_device);
const size_t mcore_sizeof_metal_io_region = sizeof(struct metal_io_region);
const size_t mcore_alignof_rpmsg_endpoint = __alignof__(struct rpmsg_endpoint);
const size_t mcore_alignof_rpmsg_virtio_device = __alignof__(struct rpmsg_virtio_device);
