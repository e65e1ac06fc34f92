/*
 * Host (runner) side of the mcore-rs native_sim IPM driver: POSIX shared
 * memory and the kick socket. Compiled against the host C library.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MCORE_RS_IPM_NATIVE_SIM_BOTTOM_H_
#define MCORE_RS_IPM_NATIVE_SIM_BOTTOM_H_

#include <stddef.h>
#include <stdint.h>

/* Creates the shm object anew, maps it at addr, listens on sock_path. 0 or -errno. */
int mcore_nsim_bottom_init(const char *sock_path, const char *shm_name, uintptr_t addr,
			   size_t size);
/* Non-blocking: accepts a host, reads kick bytes. Returns kicks (>= 0), or -1 when the host
 * just closed its connection. */
int mcore_nsim_bottom_poll(void);
/* Writes one kick byte if a host is connected. 0, or -errno. */
int mcore_nsim_bottom_kick(void);
/* Closes everything and removes the socket file and the shm object. */
void mcore_nsim_bottom_cleanup(void);

#endif
