/* SPDX-License-Identifier: MIT */
/*
 * Fault-free access to caller memory.  process_vm_readv/writev on our own
 * pid lets the kernel do the access checks (same thread group: always
 * permitted); where a sandbox refuses them (EPERM, ENOSYS) a pipe does the
 * same job, since read(2) and write(2) report EFAULT for bad buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iommufd/usermem.h"

#define HOST_PAGE 4096u
/* Pipe fallback chunk: below the default pipe capacity (64 KiB). */
#define PIPE_CHUNK 16384u

/* Copies through a pipe: write(2) from src, read(2) into dst. */
static int pipe_copy(void *dst, const void *src, size_t length)
{
	int fds[2];
	int ret = 0;

	if (pipe2(fds, O_CLOEXEC))
		return -EFAULT;
	while (length && !ret) {
		size_t chunk = length < PIPE_CHUNK ? length : PIPE_CHUNK;
		ssize_t n = write(fds[1], src, chunk);

		if (n <= 0 || read(fds[0], dst, (size_t)n) != n)
			ret = -EFAULT;
		else {
			src = (const char *)src + n;
			dst = (char *)dst + n;
			length -= (size_t)n;
		}
	}
	close(fds[0]);
	close(fds[1]);
	return ret;
}

static int vm_copy(void *dst, const void *src, size_t length, bool to_user)
{
	struct iovec local = { to_user ? (void *)src : dst, length };
	struct iovec remote = { to_user ? dst : (void *)src, length };
	ssize_t n;

	if (!length)
		return 0;
	n = to_user ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
		    : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n == (ssize_t)length)
		return 0;
	if (n < 0 && (errno == EPERM || errno == ENOSYS))
		return pipe_copy(dst, src, length);
	return -EFAULT;
}

int usermem_read(void *dst, uint64_t uptr, size_t length)
{
	if (uptr + length < uptr)
		return -EFAULT;
	return vm_copy(dst, (const void *)(uintptr_t)uptr, length, false);
}

int usermem_write(uint64_t uptr, const void *src, size_t length)
{
	if (uptr + length < uptr)
		return -EFAULT;
	return vm_copy((void *)(uintptr_t)uptr, src, length, true);
}

size_t usermem_writable_prefix(uint64_t uptr, size_t length)
{
	size_t done = 0;

	while (done < length) {
		uint64_t at = uptr + done;
		size_t in_page = HOST_PAGE - (size_t)(at % HOST_PAGE);
		uint8_t byte;

		if (at < uptr || usermem_read(&byte, at, 1) || usermem_write(at, &byte, 1))
			break;
		done += in_page < length - done ? in_page : length - done;
	}
	return done;
}

bool usermem_mapped(uint64_t uptr, uint64_t length)
{
	uint64_t start = uptr & ~(uint64_t)(HOST_PAGE - 1);
	uint64_t end = uptr + length;
	unsigned char vec[64];

	if (end < uptr)
		return false;
	/* mincore fails with ENOMEM on any unmapped page of the range */
	while (start < end) {
		uint64_t span = end - start;

		if (span > 64ull * HOST_PAGE)
			span = 64ull * HOST_PAGE;
		if (mincore((void *)(uintptr_t)start, (size_t)span, vec))
			return false;
		start += span;
	}
	return true;
}

bool usermem_accessible(uint64_t uptr, uint64_t length, bool write)
{
	uint64_t cursor = uptr, end = uptr + length;
	char *line = NULL;
	size_t line_cap = 0;
	FILE *maps;

	if (!length || end < uptr)
		return false;
	maps = fopen("/proc/self/maps", "re");
	if (!maps)
		return false;
	/* the lines are sorted by address: walk them while they continue the range */
	while (cursor < end && getline(&line, &line_cap, maps) > 0) {
		unsigned long long lo, hi;
		char perms[5];

		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3)
			break;
		if (hi <= cursor)
			continue;
		if (lo > cursor || perms[0] != 'r' || (write && perms[1] != 'w'))
			break;
		cursor = hi;
	}
	free(line);
	fclose(maps);
	return cursor >= end;
}
