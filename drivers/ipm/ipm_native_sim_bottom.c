/*
 * Host (runner) side of the mcore-rs native_sim IPM driver. Runs in the
 * native simulator's runner context with the host libc: POSIX shm, mmap at a
 * fixed address, and a non-blocking Unix-domain stream socket.
 *
 * Copyright (c) 2026 mcore-rs developers
 * SPDX-License-Identifier: Apache-2.0
 */
#undef _POSIX_C_SOURCE
#undef _XOPEN_SOURCE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipm_native_sim_bottom.h"

static int listen_fd = -1;
static int conn_fd = -1;
static char sock_file[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char shm_file[256];

int mcore_nsim_bottom_init(const char *sock_path, const char *shm_name, uintptr_t addr,
			   size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;
	void *p;

	if (strlen(sock_path) >= sizeof(sa.sun_path) || strlen(shm_name) + 2 > sizeof(shm_file)) {
		return -ENAMETOOLONG;
	}
	snprintf(shm_file, sizeof(shm_file), "/%s", shm_name[0] == '/' ? shm_name + 1 : shm_name);
	/* A fresh object each run: no stale resource table or vrings from an earlier firmware. */
	shm_unlink(shm_file);
	fd = shm_open(shm_file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	p = mmap((void *)addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		return -errno;
	}
	if (p != (void *)addr) {
		munmap(p, size);
		return -EADDRINUSE;
	}

	strcpy(sa.sun_path, sock_path);
	strcpy(sock_file, sock_path);
	unlink(sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0) {
		return -errno;
	}
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 1) < 0) {
		return -errno;
	}
	return 0;
}

int mcore_nsim_bottom_poll(void)
{
	char buf[64];
	ssize_t n;

	if (conn_fd < 0) {
		conn_fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		/* A new host: report one kick so the firmware looks at the rings. */
		return conn_fd < 0 ? 0 : 1;
	}
	n = read(conn_fd, buf, sizeof(buf));
	if (n > 0) {
		return (int)n;
	}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		close(conn_fd);
		conn_fd = -1;
		return -1;
	}
	return 0;
}

int mcore_nsim_bottom_kick(void)
{
	static const char one = 1;

	if (conn_fd < 0) {
		return 0; /* no host: it will look at the rings when it attaches */
	}
	if (send(conn_fd, &one, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
		return -errno;
	}
	return 0;
}

void mcore_nsim_bottom_cleanup(void)
{
	if (conn_fd >= 0) {
		close(conn_fd);
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(sock_file);
	}
	if (shm_file[0] != '\0') {
		shm_unlink(shm_file);
	}
	conn_fd = listen_fd = -1;
}
