/*
 * mcore-rs IPM driver for native_sim: kicks a Linux-side host over a Unix
 * stream socket (one byte per kick, OpenAMP Linux machine convention) and
 * provides the shared memory as a POSIX shm object mapped at the devicetree
 * address. Lets the i.MX RPMsg firmware run unchanged on a PC.
 *
 * Received kicks are picked up by a polling thread (every poll-interval-us)
 * and delivered to the IPM callback in thread context, with id 0 and no data.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#define DT_DRV_COMPAT mcore_rs_native_sim_ipm

#include <errno.h>
#include <zephyr/drivers/ipm.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <cmdline.h>
#include <posix_native_task.h>
#include <posix_board_if.h>

#include "ipm_native_sim_bottom.h"

LOG_MODULE_REGISTER(ipm_native_sim, CONFIG_IPM_LOG_LEVEL);

BUILD_ASSERT(DT_NUM_INST_STATUS_OKAY(DT_DRV_COMPAT) == 1,
	     "one mcore-rs,native-sim-ipm instance (one socket, one shm per process)");

#define SHM_NODE DT_INST_PHANDLE(0, memory_region)

struct nsim_ipm_data {
	ipm_callback_t cb;
	void *user_data;
	bool enabled;
	struct k_thread thread;
};

static K_KERNEL_STACK_DEFINE(nsim_ipm_stack, 1024);
static struct nsim_ipm_data nsim_ipm_data_0;

/* Command-line overrides (native_sim: --mcore-ipc=, --mcore-shm=, --mcore-exit-on-close). */
static char *opt_socket;
static char *opt_shm;
static bool opt_exit_on_close;

static int nsim_ipm_send(const struct device *dev, int wait, uint32_t id, const void *data,
			 int size)
{
	ARG_UNUSED(dev);
	ARG_UNUSED(wait);
	ARG_UNUSED(data);

	if (id > 1) {
		return -EINVAL;
	}
	if (size > 0) {
		return -EMSGSIZE;
	}
	return mcore_nsim_bottom_kick();
}

static void nsim_ipm_register_callback(const struct device *dev, ipm_callback_t cb,
				       void *user_data)
{
	struct nsim_ipm_data *data = dev->data;

	data->cb = cb;
	data->user_data = user_data;
}

static int nsim_ipm_max_data_size_get(const struct device *dev)
{
	ARG_UNUSED(dev);
	return 0;
}

static uint32_t nsim_ipm_max_id_val_get(const struct device *dev)
{
	ARG_UNUSED(dev);
	return 1; /* vring notify ids 0 and 1 */
}

static int nsim_ipm_set_enabled(const struct device *dev, int enable)
{
	struct nsim_ipm_data *data = dev->data;

	data->enabled = enable != 0;
	return 0;
}

static void nsim_ipm_rx_thread(void *p1, void *p2, void *p3)
{
	const struct device *dev = p1;
	struct nsim_ipm_data *data = dev->data;

	ARG_UNUSED(p2);
	ARG_UNUSED(p3);

	for (;;) {
		int n = mcore_nsim_bottom_poll();

		if (n < 0) {
			LOG_INF("host disconnected");
			if (opt_exit_on_close) {
				posix_exit(0);
			}
		} else if (n > 0) {
			LOG_DBG("%d kick(s), %s", n,
				data->enabled && data->cb != NULL ? "delivered" : "dropped (disabled)");
			if (data->enabled && data->cb != NULL) {
				data->cb(dev, data->user_data, 0, NULL);
			}
		}
		k_sleep(K_USEC(DT_INST_PROP(0, poll_interval_us)));
	}
}

static int nsim_ipm_init(const struct device *dev)
{
	const char *sock = opt_socket ? opt_socket : DT_INST_PROP(0, socket_path);
	const char *shm = opt_shm ? opt_shm : DT_PROP(SHM_NODE, shm_name);
	int rc = mcore_nsim_bottom_init(sock, shm, DT_REG_ADDR(SHM_NODE), DT_REG_SIZE(SHM_NODE));

	if (rc < 0) {
		LOG_ERR("shm '%s' at %p or socket '%s': error %d", shm,
			(void *)DT_REG_ADDR(SHM_NODE), sock, rc);
		return rc;
	}
	LOG_INF("shm '%s' (%u KiB) at %p, listening on %s", shm,
		(unsigned int)(DT_REG_SIZE(SHM_NODE) / 1024), (void *)DT_REG_ADDR(SHM_NODE), sock);
	k_thread_create(&nsim_ipm_data_0.thread, nsim_ipm_stack,
			K_KERNEL_STACK_SIZEOF(nsim_ipm_stack), nsim_ipm_rx_thread, (void *)dev,
			NULL, NULL, K_PRIO_COOP(2), 0, K_NO_WAIT);
	k_thread_name_set(&nsim_ipm_data_0.thread, "ipm_native_sim");
	return 0;
}

static DEVICE_API(ipm, nsim_ipm_api) = {
	.send = nsim_ipm_send,
	.register_callback = nsim_ipm_register_callback,
	.max_data_size_get = nsim_ipm_max_data_size_get,
	.max_id_val_get = nsim_ipm_max_id_val_get,
	.set_enabled = nsim_ipm_set_enabled,
};

DEVICE_DT_INST_DEFINE(0, nsim_ipm_init, NULL, &nsim_ipm_data_0, NULL, POST_KERNEL,
		      CONFIG_KERNEL_INIT_PRIORITY_DEVICE, &nsim_ipm_api);

static void nsim_ipm_options(void)
{
	static struct args_struct_t opts[] = {
		{.option = "mcore-ipc", .name = "path", .type = 's', .dest = (void *)&opt_socket,
		 .descript = "Unix socket the RPMsg host connects to (kicks)"},
		{.option = "mcore-shm", .name = "name", .type = 's', .dest = (void *)&opt_shm,
		 .descript = "POSIX shared-memory object holding the vrings and buffers"},
		{.is_switch = true, .option = "mcore-exit-on-close", .type = 'b',
		 .dest = (void *)&opt_exit_on_close,
		 .descript = "Exit when the RPMsg host closes its connection"},
		ARG_TABLE_ENDMARKER,
	};

	native_add_command_line_opts(opts);
}
NATIVE_TASK(nsim_ipm_options, PRE_BOOT_1, 10);

static void nsim_ipm_cleanup(void)
{
	mcore_nsim_bottom_cleanup();
}
NATIVE_TASK(nsim_ipm_cleanup, ON_EXIT, 10);
