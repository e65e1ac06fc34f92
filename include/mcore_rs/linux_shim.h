/*
 * mcore-rs: what the firmware assumes about the Linux side, for Rust and for
 * `mcore check-elf --board`. src/shim/mcore_linux_shim.c. Facts from the
 * devicetree and Kconfig only; the logic is in Rust (zephyr_mcore::rsc_table).
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MCORE_RS_LINUX_SHIM_H_
#define MCORE_RS_LINUX_SHIM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** First word of the layout record: "MCRL" read as a little-endian u32. */
#define MCORE_RS_LINUX_LAYOUT_MAGIC 0x4c52434dU
/** Layout flag: the firmware copies its resource table to rsc_da unless a live one is there. */
#define MCORE_RS_LINUX_LAYOUT_RSC_COPIED 1U

/**
 * The firmware's view of the Linux side, kept in the ELF as symbol
 * mcore_rs_linux_layout. `mcore check-elf --board` (src/imx-rproc) reads it and
 * compares it with the board's Linux devicetree overlay (linux/dts/), so that
 * the Zephyr board overlay and the Linux overlay cannot disagree silently.
 * Little-endian, 48 bytes; addresses are device (Linux physical) addresses.
 */
struct mcore_rs_linux_layout {
	uint32_t magic;        /**< MCORE_RS_LINUX_LAYOUT_MAGIC */
	uint32_t version;      /**< 1 */
	uint64_t shm_da;       /**< zephyr,ipc_shm: device address of its first byte */
	uint64_t shm_size;     /**< zephyr,ipc_shm: size in bytes */
	uint64_t rsc_da;       /**< zephyr,ipc_rsc_table address, 0 without a copy */
	uint64_t rsc_size;     /**< zephyr,ipc_rsc_table size in bytes, 0 without a copy */
	uint32_t kick_channel; /**< CONFIG_MCORE_RS_KICK_CHANNEL */
	uint32_t flags;        /**< MCORE_RS_LINUX_LAYOUT_RSC_COPIED */
};

extern const struct mcore_rs_linux_layout mcore_rs_linux_layout;

/** The MU register index (IPM id) every kick to Linux goes to: the index of Linux's
 *  "rx" mailbox channel. Read from mcore_rs_linux_layout, which this keeps in the image. */
uint32_t mcore_rpmsg_kick_channel(void);

/* ---- With CONFIG_OPENAMP_COPY_RSC_TABLE: the parts of rsc_table_get() ---- */

/** The firmware's own resource table as Zephyr's resource_table.c builds it
 *  (RESOURCE_TABLE_INIT), and its length in bytes. */
const void *mcore_rsc_pristine(size_t *len);
/** The zephyr,ipc_rsc_table region where Linux keeps the live table, and its size. */
void *mcore_rsc_region(size_t *size);
/** sys_cache_data_invd_range(); nothing on cores without a data cache. */
void mcore_rsc_cache_invd(void *addr, size_t size);
/** sys_cache_data_flush_range(); nothing on cores without a data cache. */
void mcore_rsc_cache_flush(void *addr, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MCORE_RS_LINUX_SHIM_H_ */
