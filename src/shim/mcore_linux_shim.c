/*
 * Linux-side facts of an mcore-rs RPMsg firmware (include/mcore_rs/linux_shim.h):
 * the layout record `mcore check-elf --board` compares with the board's Linux
 * overlay, the MU register the firmware kicks, and what Rust's replacement of
 * rsc_table_get() needs from C macros. No logic here.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#include <zephyr/kernel.h>
#include <zephyr/devicetree.h>
#include <zephyr/cache.h>
#include <mcore_rs/linux_shim.h>

#ifdef CONFIG_OPENAMP_COPY_RSC_TABLE
#include <resource_table.h>
#define MCORE_RSC_NODE DT_CHOSEN(zephyr_ipc_rsc_table)
#endif

/*
 * On i.MX 95 the kick goes through zephyr,mbox-ipm, whose "tx" channel is the MU
 * register written whatever the IPM id: it must be the same register.
 */
#if DT_NODE_HAS_COMPAT(DT_CHOSEN(zephyr_ipc), zephyr_mbox_ipm)
BUILD_ASSERT(DT_PHA_BY_NAME(DT_CHOSEN(zephyr_ipc), mboxes, tx, channel) ==
		     CONFIG_MCORE_RS_KICK_CHANNEL,
	     "zephyr,mbox-ipm \"tx\" channel and CONFIG_MCORE_RS_KICK_CHANNEL differ");
#endif

const struct mcore_rs_linux_layout mcore_rs_linux_layout = {
	.magic = MCORE_RS_LINUX_LAYOUT_MAGIC,
	.version = 1,
	.shm_da = DT_PROP_OR(DT_CHOSEN(zephyr_ipc_shm), phys_base,
			     DT_REG_ADDR(DT_CHOSEN(zephyr_ipc_shm))),
	.shm_size = DT_REG_SIZE(DT_CHOSEN(zephyr_ipc_shm)),
#ifdef CONFIG_OPENAMP_COPY_RSC_TABLE
	.rsc_da = DT_REG_ADDR(MCORE_RSC_NODE),
	.rsc_size = DT_REG_SIZE(MCORE_RSC_NODE),
	.flags = MCORE_RS_LINUX_LAYOUT_RSC_COPIED,
#endif
	.kick_channel = CONFIG_MCORE_RS_KICK_CHANNEL,
};

uint32_t mcore_rpmsg_kick_channel(void)
{
	/* A real read keeps the record in the image (--gc-sections) for check-elf. */
	return *(const volatile uint32_t *)&mcore_rs_linux_layout.kick_channel;
}

#ifdef CONFIG_OPENAMP_COPY_RSC_TABLE
BUILD_ASSERT(!IS_ENABLED(CONFIG_OPENAMP_VENDOR_RSC_TABLE),
	     "mcore-rs rebuilds Zephyr's generic resource table, not a vendor one");
BUILD_ASSERT(sizeof(struct fw_resource_table) <= DT_REG_SIZE(MCORE_RSC_NODE),
	     "the resource table does not fit zephyr,ipc_rsc_table");

#ifdef CONFIG_RAM_CONSOLE
extern char ram_console_buf[];
#endif

/* Byte for byte the table resource_table.c links into .resource_table. */
static const struct fw_resource_table mcore_rsc_pristine_table = RESOURCE_TABLE_INIT;

const void *mcore_rsc_pristine(size_t *len)
{
	*len = sizeof(mcore_rsc_pristine_table);
	return &mcore_rsc_pristine_table;
}

void *mcore_rsc_region(size_t *size)
{
	*size = DT_REG_SIZE(MCORE_RSC_NODE);
	return (void *)DT_REG_ADDR(MCORE_RSC_NODE);
}

void mcore_rsc_cache_invd(void *addr, size_t size)
{
	(void)sys_cache_data_invd_range(addr, size);
}

void mcore_rsc_cache_flush(void *addr, size_t size)
{
	(void)sys_cache_data_flush_range(addr, size);
}
#endif /* CONFIG_OPENAMP_COPY_RSC_TABLE */
