/*
 * Host (runner) side of the mcore-rs native_sim IPM driver. Runs in the
 * native simulator's runner context with the host libc. See
 * ipm_native_sim_bottom.h for the protocol.
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

_Static_assert(sizeof(struct mcore_nsim_msg) == 16, "wire message is 16 bytes");

static int listen_fd = -1;
static int conn_fd = -1;
static int rsc_fd = -1;
static size_t rsc_len;
static uintptr_t mem_base;
static size_t mem_len;      /* devicetree size of the region */
static uint64_t mem_phys;   /* Linux physical address at mem_base (devicetree phys-base) */
static size_t mem_mapped;   /* bytes of Linux's memory mapped now */
static char sock_file[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char shm_file[256];

/* Anonymous, inaccessible pages over [addr, addr + len): no one else gets the addresses. */
static int reserve(uintptr_t addr, size_t len, int extra_flags)
{
	void *p = mmap((void *)addr, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra_flags, -1, 0);

	if (p == MAP_FAILED) {
		return -errno;
	}
	if (p != (void *)addr) {
		munmap(p, len);
		return -EADDRINUSE;
	}
	return 0;
}

int mcore_nsim_bottom_init(const char *sock_path, const char *rsc_name, uintptr_t rsc_addr,
			   size_t rsc_size, uintptr_t mem_addr, size_t mem_size,
			   uint64_t mem_phys_base)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	void *p;
	int rc;

	if (strlen(sock_path) >= sizeof(sa.sun_path) || strlen(rsc_name) + 2 > sizeof(shm_file)) {
		return -ENAMETOOLONG;
	}
	snprintf(shm_file, sizeof(shm_file), "/%s", rsc_name[0] == '/' ? rsc_name + 1 : rsc_name);
	/* A fresh object each run: no stale resource table from an earlier firmware. */
	shm_unlink(shm_file);
	rsc_fd = shm_open(shm_file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (rsc_fd < 0) {
		return -errno;
	}
	if (ftruncate(rsc_fd, (off_t)rsc_size) < 0) {
		return -errno;
	}
	p = mmap((void *)rsc_addr, rsc_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, rsc_fd, 0);
	if (p == MAP_FAILED) {
		return -errno;
	}
	if (p != (void *)rsc_addr) {
		munmap(p, rsc_size);
		return -EADDRINUSE;
	}
	rsc_len = rsc_size;

	/* Linux's memory arrives with each Linux (MEM); until then the region is not there. */
	if (mem_phys_base % (uint64_t)sysconf(_SC_PAGESIZE) != 0) {
		return -EINVAL;
	}
	rc = reserve(mem_addr, mem_size, MAP_FIXED_NOREPLACE);
	if (rc < 0) {
		return rc;
	}
	mem_base = mem_addr;
	mem_len = mem_size;
	mem_phys = mem_phys_base;

	strcpy(sa.sun_path, sock_path);
	strcpy(sock_file, sock_path);
	unlink(sock_path);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0) {
		return -errno;
	}
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 1) < 0) {
		return -errno;
	}
	return 0;
}

static int send_msg(uint32_t kind, uint32_t vring, uint64_t arg, int fd)
{
	struct mcore_nsim_msg m = {.kind = kind, .vring = vring, .arg = arg};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(conn_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		return -errno;
	}
	return 0;
}

/*
 * Maps Linux's memory file `fd` (`size` bytes; file offset = physical address) from physical
 * address mem_phys on at the region's base, replacing the previous Linux's memory (as a new
 * kernel's memory replaces the old contents of DDR), and makes the rest of the region
 * inaccessible again. Returns the bytes mapped, or -errno.
 */
static int64_t map_linux_memory(int fd, uint64_t size)
{
	uint64_t len = size > mem_phys ? size - mem_phys : 0;
	void *p;

	if (len == 0 || len > mem_len) {
		return -EFBIG;
	}
	p = mmap((void *)mem_base, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, (off_t)mem_phys);
	if (p == MAP_FAILED) {
		return -errno;
	}
	if (mem_mapped > len) {
		int rc = reserve(mem_base + len, mem_mapped - len, MAP_FIXED);

		if (rc < 0) {
			return rc;
		}
	}
	mem_mapped = (size_t)len;
	return (int64_t)len;
}

static void close_conn(void)
{
	close(conn_fd);
	conn_fd = -1;
}

void mcore_nsim_bottom_poll(struct mcore_nsim_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (conn_fd < 0) {
		conn_fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (conn_fd < 0) {
			return;
		}
		if (send_msg(MCORE_NSIM_RSC, 0, rsc_len, rsc_fd) < 0) {
			close_conn();
			return;
		}
		ev->connected = 1;
	}
	for (;;) {
		struct mcore_nsim_msg m;
		struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		struct cmsghdr *c;
		int fd = -1;
		ssize_t n = recvmsg(conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			return;
		}
		if (n <= 0) {
			close_conn();
			ev->disconnected = 1;
			return;
		}
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
			}
		}
		if (n != sizeof(m)) {
			/* Not this protocol: ignore the message (and any fd it carried). */
		} else if (m.kind == MCORE_NSIM_KICK) {
			ev->kicks++;
		} else if (m.kind == MCORE_NSIM_MEM) {
			int64_t mapped = fd < 0 ? -EBADF : map_linux_memory(fd, m.arg);
			int rc = mapped < 0 ? (int)mapped : 0;

			ev->mem_maps++;
			ev->mem_err = rc;
			ev->mem_size = rc == 0 ? (uint64_t)mapped : 0;
			(void)send_msg(MCORE_NSIM_MEM_ACK, 0, (uint64_t)(int64_t)rc, -1);
		}
		if (fd >= 0) {
			close(fd); /* the mapping keeps Linux's memory */
		}
	}
}

int mcore_nsim_bottom_kick(uint32_t id)
{
	int rc;

	if (conn_fd < 0) {
		return 0; /* no device: Linux is not there to hear it, as with no Linux on the SoC */
	}
	rc = send_msg(MCORE_NSIM_KICK, id, 0, -1);
	return rc == -EAGAIN ? 0 : rc;
}

void mcore_nsim_bottom_cleanup(void)
{
	if (conn_fd >= 0) {
		close_conn();
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(sock_file);
		listen_fd = -1;
	}
	if (rsc_fd >= 0) {
		close(rsc_fd);
		rsc_fd = -1;
	}
	if (shm_file[0] != '\0') {
		shm_unlink(shm_file);
		shm_file[0] = '\0';
	}
}
