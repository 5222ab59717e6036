/* SPDX-License-Identifier: MIT */
/*
 * A plain program under the LD_PRELOAD shim (uapi.md 11.1), run as
 * `iodirty run -- shim_probe`: it does not link libiodirty and uses only
 * libc's open, ioctl, dup*, fcntl and close*.  Every open variant of
 * "/dev/iommu" is emulated, duplicates alias one context, the last close ends
 * it, and every other file passes through with errno intact.
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "shim_cmds.h"

#define PAGE 4096u
#define BUF_LEN (16u * PAGE)

/* glibc's fortified and large-file open variants, which the shim hooks too */
int open64(const char *path, int flags, ...);
int openat64(int dirfd, const char *path, int flags, ...);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int fcntl64(int fd, int cmd, ...);

static int plain_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static uint32_t ioas_alloc(int fd)
{
	uint32_t id = 0;

	assert_int_equal(ioas_alloc_e(plain_ioctl, fd, &id), 0);
	return id;
}

/* A fresh emulated descriptor: its first IOAS is 1. */
static void expect_new_context(int fd)
{
	assert_true(fd >= 0);
	assert_int_equal(ioas_alloc(fd), 1);
	assert_int_equal(destroy_e(plain_ioctl, fd, 1), 0);
	assert_int_equal(close(fd), 0);
}

static void t_open_variants(void **state)
{
	(void)state;
	expect_new_context(open("/dev/iommu", O_RDWR));
	expect_new_context(open64("/dev/iommu", O_RDWR));
	expect_new_context(openat(AT_FDCWD, "/dev/iommu", O_RDWR));
	expect_new_context(openat64(-1, "/dev/iommu", O_RDWR | O_CLOEXEC));
	expect_new_context(__open_2("/dev/iommu", O_RDWR));
	expect_new_context(__open64_2("/dev/iommu", O_RDWR));
	expect_new_context(__openat_2(AT_FDCWD, "/dev/iommu", O_RDWR));
	expect_new_context(__openat64_2(AT_FDCWD, "/dev/iommu", O_RDWR));
}

static void t_ioctl(void **state)
{
	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ioas_alloc(fd), 1);
	/* the low 32 bits of the request */
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC | (1ul << 40), &cmd), 0);
	assert_int_equal(cmd.out_ioas_id, 2);
	assert_int_equal(destroy_e(plain_ioctl, fd, 1), 0);
	assert_int_equal(destroy_e(plain_ioctl, fd, 1), ENOENT);
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(fd, FIONREAD, &cmd), -1); /* not an iommufd command */
	assert_int_equal(errno, ENOTTY);
	/* other fcntl commands reach the placeholder */
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(close(fd), 0);
	assert_int_equal(destroy_e(plain_ioctl, fd, 2), EBADF); /* the real kernel's answer */
}

/* Every way of duplicating aliases the context; it lives until the last alias closes. */
static void t_duplicates(void **state)
{
	void *buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/dev/iommu", O_RDWR), d[5], probe;
	uint32_t ioas;

	(void)state;
	assert_true(buf != MAP_FAILED && fd >= 0);
	memset(buf, 0, BUF_LEN);
	ioas = ioas_alloc(fd);
	assert_int_equal(mock_domain_e(plain_ioctl, fd, ioas), 0);
	assert_int_equal(map_fixed_e(plain_ioctl, fd, ioas, buf, BUF_LEN), 0);

	d[0] = dup(fd);
	d[1] = dup2(fd, 150);
	d[2] = dup3(fd, 151, O_CLOEXEC);
	d[3] = fcntl(fd, F_DUPFD, 160);
	d[4] = fcntl64(fd, F_DUPFD_CLOEXEC, 170);
	assert_true(d[0] >= 0);
	assert_int_equal(d[1], 150);
	assert_int_equal(d[2], 151);
	assert_true(d[3] >= 160);
	assert_true(d[4] >= 170);
	assert_int_equal(fcntl(d[4], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(dup2(fd, fd), fd);
	assert_int_equal(close(fd), 0);
	/* one id space: after IOAS 1 and the mock device's ids 2 to 4 */
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(ioas_alloc(d[i]), 5 + i);

	probe = open("/dev/iommu", O_RDWR);
	assert_true(probe >= 0);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(check_refs_e(plain_ioctl, probe, buf, BUF_LEN, 1), 0);
		assert_int_equal(close(d[i]), 0);
	}
	/* the last alias, closed with close_range */
	assert_int_equal(check_refs_e(plain_ioctl, probe, buf, BUF_LEN, 1), 0);
	assert_int_equal(close_range((unsigned int)d[4], (unsigned int)d[4], 0), 0);
	assert_int_equal(check_refs_e(plain_ioctl, probe, buf, BUF_LEN, 0), 0);

	/* dup2 onto an emulated descriptor ends that one's context */
	fd = open("/dev/iommu", O_RDWR);
	assert_true(fd >= 0);
	ioas = ioas_alloc(fd);
	assert_int_equal(mock_domain_e(plain_ioctl, fd, ioas), 0);
	assert_int_equal(map_fixed_e(plain_ioctl, fd, ioas, buf, BUF_LEN), 0);
	assert_int_equal(check_refs_e(plain_ioctl, probe, buf, BUF_LEN, 1), 0);
	int null = open("/dev/null", O_RDONLY);
	assert_int_equal(dup2(null, fd), fd);
	assert_int_equal(check_refs_e(plain_ioctl, probe, buf, BUF_LEN, 0), 0);
	assert_int_equal(destroy_e(plain_ioctl, fd, ioas), ENOTTY); /* /dev/null's answer */

	/* close_range over a span of emulated and plain descriptors */
	int e = open("/dev/iommu", O_RDWR);
	assert_true(e >= 0);
	assert_int_equal(dup2(e, 190), 190);
	assert_int_equal(close(e), 0);
	assert_int_equal(close_range(180, 190, CLOSE_RANGE_CLOEXEC), 0); /* only marks */
	assert_int_equal(ioas_alloc(190), 1);
	assert_int_equal(dup2(null, 185), 185);
	assert_int_equal(close_range(180, UINT_MAX, 0), 0);
	assert_int_equal(fcntl(185, F_GETFD), -1);
	assert_int_equal(destroy_e(plain_ioctl, 190, 1), EBADF);

	assert_int_equal(close(null), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(close(probe), 0);
	munmap(buf, BUF_LEN);
}

/* Everything that is not /dev/iommu reaches libc unchanged, errno included. */
static void t_pass_through(void **state)
{
	int pipefd[2], available = -1, fd;
	char byte = 'x';

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], &byte, 1), 1);
	errno = 4242;
	assert_int_equal(ioctl(pipefd[0], FIONREAD, &available), 0);
	assert_int_equal(available, 1);
	assert_int_equal(errno, 4242);
	fd = dup(pipefd[0]);
	assert_true(fd >= 0);
	assert_int_equal(errno, 4242);
	assert_int_equal(ioctl(fd, FIONREAD, &available), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(close(fd), 0);
	assert_int_equal(errno, 4242);

	assert_int_equal(ioctl(-1, FIONREAD, &available), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(open("/nonexistent/iommu", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(open("/dev/iommu/", O_RDONLY), -1); /* exactly "/dev/iommu" only */
	/* bad input: through a pointer, as libc declares the path nonnull */
	int (*volatile open_fn)(const char *, int, ...) = open;
	assert_int_equal(open_fn(NULL, O_RDONLY), -1);
	assert_int_equal(errno, EFAULT);
	fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0) /* the mode argument is forwarded */
		assert_int_equal(close(fd), 0);
	assert_int_equal(dup(-1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(close(-1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(close(pipefd[0]), 0);
	assert_int_equal(close(pipefd[1]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_open_variants),
		cmocka_unit_test(t_ioctl),
		cmocka_unit_test(t_duplicates),
		cmocka_unit_test(t_pass_through),
	};
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0) {
		fprintf(stderr, "shim_probe: open(\"/dev/iommu\"): %s; run it as "
				"`iodirty run -- shim_probe`\n",
			strerror(errno));
		return 1;
	}
	close(fd);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
