/*
 * Host (runner) side of the mcore-rs native_sim IPM driver: the socket to the
 * PC's virtio device (mcore-vdev, src/sim-vdev), Linux's memory mapped at the
 * shared-memory address, and the resource-table shm object. Compiled against
 * the host C library.
 *
 * Wire protocol (SOCK_SEQPACKET, the firmware listens, mcore-vdev connects;
 * every message is struct mcore_nsim_msg, little-endian, 16 bytes):
 *   RSC     fw -> dev  first message after accept; fd (SCM_RIGHTS) of the
 *                      resource-table object, arg = its size in bytes
 *   KICK    both ways  dev -> fw: Linux kicked vring `vring`;
 *                      fw -> dev: ipm_send(id), vring = id
 *   MEM     dev -> fw  fd (SCM_RIGHTS) of Linux's memory; arg = its size in
 *                      bytes (file offset = Linux physical address); the driver
 *                      maps [phys_base, arg) of it at base, so that physical
 *                      address P is at base + P - phys_base
 *   MEM_ACK fw -> dev  arg = 0 or -errno
 * The same layout is `sim_vdev::wire` on the device side.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MCORE_RS_IPM_NATIVE_SIM_BOTTOM_H_
#define MCORE_RS_IPM_NATIVE_SIM_BOTTOM_H_

#include <stddef.h>
#include <stdint.h>

enum mcore_nsim_kind {
	MCORE_NSIM_KICK = 1,
	MCORE_NSIM_MEM = 2,
	MCORE_NSIM_MEM_ACK = 3,
	MCORE_NSIM_RSC = 4,
};

struct mcore_nsim_msg {
	uint32_t kind;
	uint32_t vring;
	uint64_t arg;
};

/* What one poll saw. */
struct mcore_nsim_events {
	int kicks;           /* KICK messages received */
	int connected;       /* a device connected (and was sent RSC) */
	int disconnected;    /* the device closed its connection */
	int mem_maps;        /* MEM messages handled (Linux's memory remapped) */
	int mem_err;         /* last MEM error (-errno), 0 if none */
	uint64_t mem_size;   /* bytes mapped by the last MEM */
};

/*
 * Creates the resource-table shm object anew and maps it at rsc_addr; reserves
 * [mem_addr, mem_addr + mem_size) for Linux's memory (no access until a device
 * maps it), where Linux physical address mem_phys (page-aligned) will be;
 * listens on sock_path. 0 or -errno.
 */
int mcore_nsim_bottom_init(const char *sock_path, const char *rsc_name, uintptr_t rsc_addr,
			   size_t rsc_size, uintptr_t mem_addr, size_t mem_size,
			   uint64_t mem_phys);
/* Non-blocking: accepts a device, handles its messages. */
void mcore_nsim_bottom_poll(struct mcore_nsim_events *ev);
/* Sends KICK for `id` if a device is connected. 0, or -errno. */
int mcore_nsim_bottom_kick(uint32_t id);
/* Closes everything and removes the socket file and the shm object. */
void mcore_nsim_bottom_cleanup(void);

#endif
