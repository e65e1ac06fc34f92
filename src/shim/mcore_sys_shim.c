/*
 * System shim for Rust: the devicetree's entropy source. No logic here.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <zephyr/kernel.h>
#include <zephyr/devicetree.h>
#include <mcore_rs/shim.h>
#if defined(CONFIG_ENTROPY_GENERATOR)
#include <zephyr/drivers/entropy.h>
#endif

int mcore_entropy_u32(uint32_t *out)
{
#if defined(CONFIG_ENTROPY_GENERATOR) && DT_HAS_CHOSEN(zephyr_entropy)
	const struct device *dev = DEVICE_DT_GET(DT_CHOSEN(zephyr_entropy));

	if (!device_is_ready(dev)) {
		return -ENODEV;
	}
	return entropy_get_entropy(dev, (uint8_t *)out, sizeof(*out));
#else
	ARG_UNUSED(out);
	return -ENOTSUP;
#endif
}
