/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the iommu core (uapi.md 4), shared by
 *   iommu.c   IOMMU instances, domain tags, devices;
 *   domain.c  paging domains: alloc, attach, map, unmap, queries;
 *   dirty.c   the dirty ops: set_dirty_tracking and read_and_clear_dirty.
 *
 * Locks, outermost first:
 *   domain->lock       rwlock: read for harvests, the dirty ops and the
 *                      enable clean pass (uapi.md 4.4: the IOAS read lock);
 *                      write for map, unmap, attach, detach, free;
 *   domain->gate_lock  serialises set_dirty_tracking's gate toggles, which
 *                      run under the read lock (the driver's own lock in
 *                      Linux); attach reads the state under the write lock;
 *   iommu->lock        domain tags, device ids and counts.
 */
#ifndef IODIRTY_CORE_INTERNAL_H
#define IODIRTY_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iodirty/core.h>

/* Domain tags are 16 bits on every format (AMD and VT-d domain ids, ARM
 * ASIDs, RISC-V GSCIDs); 0 is never used. */
#define CORE_TAG_LIMIT 0x10000u

struct idt_core_iommu {
	struct idt_iommu *hw;
	uint32_t format;
	bool dirty_capable;       /* idt_iommu_dirty_capable(), fixed */

	pthread_mutex_t lock;
	uint64_t tags[CORE_TAG_LIMIT / 64]; /* bit set: tag in use */
	uint32_t *device_ids;
	size_t device_count;
	size_t device_capacity;
	size_t domain_count;
};

struct idt_device {
	struct idt_core_iommu *iommu;
	uint32_t device_id;
	bool dirty_capable;
	_Atomic(struct idt_domain *) domain; /* claimed by compare-and-swap at attach */
};

struct idt_domain {
	struct idt_core_iommu *iommu;
	struct idt_pt *pt;
	uint32_t format;
	uint32_t flags;            /* IDT_DOMAIN_* */
	uint32_t tag;
	uint32_t granule_lg2;
	uint64_t page_sizes;
	uint64_t aperture_last;

	pthread_rwlock_t lock;
	pthread_mutex_t gate_lock;
	atomic_bool enabled;       /* AMD, VT-d: the driver's tracking state */
	_Atomic uint32_t rcd_algo;
	_Atomic uint32_t rcd_threads;

	/* under the write lock */
	struct idt_device **devices;
	size_t device_count;
	size_t device_capacity;
	struct idt_domain_area *areas; /* sorted, non-overlapping */
	size_t area_count;
	size_t area_capacity;
	uint64_t mapped_bytes;
	uint32_t levels;           /* AMD: levels the contexts were written with */
};

/* ---- iommu.c ----------------------------------------------------------- */

/* Lowest free tag from 1, or -ENOSPC. */
int core_tag_alloc(struct idt_core_iommu *iommu, uint32_t *tag);
void core_tag_free(struct idt_core_iommu *iommu, uint32_t tag);

/* ---- dirty.c ----------------------------------------------------------- */

/* AMD and VT-d have a disabled state and toggle gates; ARM and RISC-V dirty
 * domains are always on (formats.md 6, "set_dirty_tracking"). */
static inline bool core_format_toggles(uint32_t format)
{
	return format == IDT_PT_AMDV1 || format == IDT_PT_VTDSS;
}

#endif
