/* SPDX-License-Identifier: MIT */
/*
 * The emulated /dev/iommu, in-process (uapi.md 1, 11): iodirty_open()
 * returns a real file descriptor (a placeholder memfd unique to the open)
 * whose ioctls iodirty_ioctl() serves with the Linux 6.7 iommufd ABI of
 * <iodirty/iommufd.h>.  The LD_PRELOAD shim (`iodirty run -- PROGRAM`)
 * routes unmodified programs' open/ioctl/close/dup calls here.
 *
 * State is per process.  After fork() the child has its own copy of every
 * context, reachable through the inherited descriptors; parent and child
 * then diverge (in Linux they would share one context).
 */
#ifndef IODIRTY_DEV_IOMMU_H
#define IODIRTY_DEV_IOMMU_H

#ifdef __cplusplus
extern "C" {
#endif

/* Opens a new context.  flags: O_CLOEXEC is honoured, other bits are
 * ignored (O_RDWR as for the device node).  Returns the descriptor, or -1
 * with errno (ENOMEM, EMFILE, ...). */
int iodirty_open(int flags);

/* An ioctl on an emulated descriptor: 0, or -1 with errno exactly as
 * Linux 6.7 sets it.  Only the low 32 bits of request count.  EBADF if fd
 * is not an emulated descriptor. */
int iodirty_ioctl(int fd, unsigned long request, void *arg);

/* Closes fd; the context is destroyed when its last descriptor closes.
 * Works on any descriptor (plain close() for others). */
int iodirty_close(int fd);

/* 1 if fd is an open emulated descriptor (its placeholder is still the
 * one recorded), else 0; a stale entry is discarded. */
int iodirty_fd_is_emulated(int fd);

/* For the shim, around the real calls: newfd (from dup, dup2, dup3 or
 * fcntl F_DUPFD*) now aliases oldfd's context (0, or -1 with errno EBADF
 * if oldfd is not emulated); fd is about to be closed, so drop its alias
 * (the context dies with its last one); fd may be anything. */
int iodirty_fd_alias(int oldfd, int newfd);
void iodirty_fd_forget(int fd);

/* iodirty_fd_forget for every fd from first to last inclusive, for
 * close_range(), whose range is commonly [n, ~0U]. */
void iodirty_fd_forget_range(unsigned int first, unsigned int last);

#ifdef __cplusplus
}
#endif
#endif
