/* SPDX-License-Identifier: MIT */
/*
 * Access to the caller's memory that never faults (uapi.md 11.3): the ABI
 * layer's copy_from_user/copy_to_user.  A bad pointer gives -EFAULT instead
 * of a crash.  Copies go through the kernel (process_vm_readv/writev on the
 * own process), so an unmapped or read-only address is reported, not
 * touched.
 */
#ifndef IODIRTY_USERMEM_H
#define IODIRTY_USERMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies length bytes from the caller's address uptr.  0 or -EFAULT (then
 * dst may hold a prefix). */
int usermem_read(void *dst, uint64_t uptr, size_t length);
/* Copies length bytes to the caller's address uptr.  0 or -EFAULT; a
 * failure part-way may have written a prefix, as copy_to_user can. */
int usermem_write(uint64_t uptr, const void *src, size_t length);

/*
 * How many bytes from uptr (at most length) are writable, host page by
 * host page: the first page that cannot be written ends the count.  Each
 * page is probed by writing back one byte read from it (the caller must
 * not be writing that byte concurrently, as with any ioctl buffer).
 */
size_t usermem_writable_prefix(uint64_t uptr, size_t length);

/* true when every host page of [uptr, uptr + length) is mapped in the
 * process (any protection), as pinning would find them.  false for a
 * wrapping range. */
bool usermem_mapped(uint64_t uptr, uint64_t length);

/*
 * true when every byte of [uptr, uptr + length) lies in mappings of the
 * process that are readable and, if write, writable (from
 * /proc/self/maps), as pin_user_pages would require; false for a wrapping
 * or empty range or when the map cannot be read.
 */
bool usermem_accessible(uint64_t uptr, uint64_t length, bool write);

#endif
