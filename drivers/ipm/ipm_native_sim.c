/*
 * mcore-rs IPM driver for native_sim: the i.MX RPMsg firmware, unchanged, on a
 * PC with a real Linux kernel (User-Mode Linux) as its peer.
 *
 * It stands in for the SoC: the MU (kicks) and the DDR both sides share. The
 * virtio device that User-Mode Linux talks to (mcore-vdev, src/sim-vdev)
 * connects to this driver's socket and
 * - passes Linux's memory, which this driver maps at the devicetree address
 *   of the shared memory, so that the firmware's OpenAMP reads and writes
 *   Linux's own vrings and buffers in place (address = base + Linux physical
 *   address - phys-base), and maps again for each new Linux;
 * - gets the fd of the resource-table region (a POSIX shm object mapped at
 *   the zephyr,ipc_rsc_table address), into which it writes what Linux's
 *   remoteproc would write;
 * - relays kicks: Linux's vring kicks arrive as IPM callbacks; ipm_send()
 *   becomes a kick to Linux.
 *
 * Received kicks are picked up by a polling thread (every poll-interval-us)
 * and delivered to the IPM callback in thread context, with id 0 and no data
 * (like the i.MX 95 MU through zephyr,mbox-ipm).
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

#define MEM_NODE DT_INST_PHANDLE(0, memory_region)
#define RSC_NODE DT_INST_PHANDLE(0, rsc_table)

struct nsim_ipm_data {
	ipm_callback_t cb;
	void *user_data;
	bool enabled;
	struct k_thread thread;
};

static K_KERNEL_STACK_DEFINE(nsim_ipm_stack, 1024);
static struct nsim_ipm_data nsim_ipm_data_0;

/* Command-line overrides (native_sim: --mcore-ipc=, --mcore-rsc=, --mcore-exit-on-close). */
static char *opt_socket;
static char *opt_rsc;
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
	return mcore_nsim_bottom_kick(id);
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
		struct mcore_nsim_events ev;

		mcore_nsim_bottom_poll(&ev);
		if (ev.connected) {
			LOG_INF("virtio device connected");
		}
		if (ev.mem_maps > 0) {
			if (ev.mem_err == 0) {
				LOG_INF("Linux memory mapped: %u MiB at %p",
					(unsigned int)(ev.mem_size >> 20), (void *)DT_REG_ADDR(MEM_NODE));
			} else {
				LOG_ERR("Linux memory not mapped: error %d (region is %u MiB)",
					ev.mem_err, (unsigned int)(DT_REG_SIZE(MEM_NODE) >> 20));
			}
		}
		if (ev.kicks > 0) {
			LOG_DBG("%d kick(s), %s", ev.kicks,
				data->enabled && data->cb != NULL ? "delivered" : "dropped (disabled)");
			if (data->enabled && data->cb != NULL) {
				data->cb(dev, data->user_data, 0, NULL);
			}
		}
		if (ev.disconnected) {
			LOG_INF("virtio device disconnected");
			if (opt_exit_on_close) {
				posix_exit(0);
			}
		}
		k_sleep(K_USEC(DT_INST_PROP(0, poll_interval_us)));
	}
}

static int nsim_ipm_init(const struct device *dev)
{
	const char *sock = opt_socket ? opt_socket : DT_INST_PROP(0, socket_path);
	const char *rsc = opt_rsc ? opt_rsc : DT_PROP(RSC_NODE, shm_name);
	int rc = mcore_nsim_bottom_init(sock, rsc, DT_REG_ADDR(RSC_NODE), DT_REG_SIZE(RSC_NODE),
					DT_REG_ADDR(MEM_NODE), DT_REG_SIZE(MEM_NODE),
					DT_PROP(MEM_NODE, phys_base));

	if (rc < 0) {
		LOG_ERR("resource table '%s' at %p, memory at %p or socket '%s': error %d", rsc,
			(void *)DT_REG_ADDR(RSC_NODE), (void *)DT_REG_ADDR(MEM_NODE), sock, rc);
		if (rc == -EEXIST) {
			LOG_ERR("address range in use already: with a region at low addresses "
				"(e.g. Linux memory at its physical addresses), start the "
				"firmware without ASLR (setarch -R) so that the heap is not there");
		}
		return rc;
	}
	LOG_INF("resource table '%s' at %p; Linux memory at %p (up to %u MiB); listening on %s",
		rsc, (void *)DT_REG_ADDR(RSC_NODE), (void *)DT_REG_ADDR(MEM_NODE),
		(unsigned int)(DT_REG_SIZE(MEM_NODE) >> 20), sock);
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
		 .descript = "Unix socket the virtio device (mcore-vdev) connects to"},
		{.option = "mcore-rsc", .name = "name", .type = 's', .dest = (void *)&opt_rsc,
		 .descript = "POSIX shared-memory object holding the resource table"},
		{.is_switch = true, .option = "mcore-exit-on-close", .type = 'b',
		 .dest = (void *)&opt_exit_on_close,
		 .descript = "Exit when the virtio device closes its connection"},
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
