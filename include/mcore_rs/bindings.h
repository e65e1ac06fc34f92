/*
 * Seed header for bindgen in src/zephyr-mcore/build.rs: the OpenAMP,
 * libmetal and Zephyr declarations that the zephyr-mcore crate binds, and the
 * mcore-rs shims. Not included by any C file.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#undef KERNEL

#ifdef RUST_BINDGEN
extern int errno;
#endif

#include <zephyr/autoconf.h>

#if defined(CONFIG_CPU_CORTEX_M)
#if !defined(CONFIG_FP_HARDABI) && !defined(FORCE_FP_HARDABI) && !defined(__SOFTFP__)
#define __SOFTFP__
#endif
#endif

#include <zephyr/kernel.h>
#include <mcore_rs/shim.h>

#ifdef CONFIG_RUST_RPMSG
#include <openamp/open_amp.h>
#include <openamp/remoteproc.h>
#include <openamp/rpmsg_virtio.h>
#include <metal/sys.h>
#include <metal/io.h>
#include <resource_table.h>
#include <addr_translation.h>
#include <mcore_rs/linux_shim.h>
#endif

#ifdef CONFIG_RUST_I2C
#include <zephyr/drivers/i2c.h>
#endif
