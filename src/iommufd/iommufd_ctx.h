/* SPDX-License-Identifier: MIT */
/*
 * The iommufd ABI layer (uapi.md): one context per open of /dev/iommu,
 * holding objects by id (IOAS, HWPT_PAGING, DEVICE, SELFTEST) and serving
 * the Linux 6.7 ioctls byte for byte, plus iodirty's test ops (uapi.md 12).
 * It sits on the iommu core; the descriptor table (src/devnode) sits on it.
 *
 * Caller memory (ioctl structs, bitmaps, DMA buffers) is reached only
 * through usermem.h: a bad pointer is EFAULT, never a crash.
 */
#ifndef IODIRTY_IOMMUFD_CTX_H
#define IODIRTY_IOMMUFD_CTX_H

#include <stdint.h>

struct iommufd_ctx;

/* A new, empty context, registered process-wide (MD_CHECK_REFS sums the
 * pins of every registered context).  0 or -ENOMEM. */
int iommufd_ctx_create(struct iommufd_ctx **out);

/* Destroys every object in dependency order (devices, HWPTs, IOASes),
 * releasing every mapping and pin, and unregisters the context. */
void iommufd_ctx_destroy(struct iommufd_ctx *ctx);

/*
 * One ioctl: cmd is the low 32 bits of the request, arg the caller's
 * pointer.  Returns 0 or a negative errno, exactly as Linux 6.7 would set
 * errno (uapi.md 3, 5, 8, 10).  Thread-safe: ioctls of one context may run
 * on several threads at once.
 */
int iommufd_ctx_ioctl(struct iommufd_ctx *ctx, uint32_t cmd, uint64_t arg);

/* Pins this context holds on the host page containing page_va: one per
 * live area covering it in an IOAS that has at least one domain
 * (uapi.md 8.6). */
uint64_t iommufd_ctx_page_pins(struct iommufd_ctx *ctx, uint64_t page_va);

/*
 * Called by MD_CHECK_REFS before it sums pins over the registered
 * contexts, so the layer above can first drop contexts whose descriptors
 * are gone (uapi.md 11.1, lazy placeholder check).  NULL: none.
 */
void iommufd_set_refs_prepare(void (*prepare)(void));

/*
 * fork (uapi.md 11.2).  prepare takes the registry lock and every
 * context's lock, so no ioctl is half-done in the child's copy; parent
 * releases them; child re-initialises every lock of the copy (it has only
 * the forking thread).  iommufd_fork_child alone is also what a child made
 * by a raw clone (no pthread_atfork) runs on its first call.
 */
void iommufd_fork_prepare(void);
void iommufd_fork_parent(void);
void iommufd_fork_child(void);

#endif
