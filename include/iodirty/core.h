/* SPDX-License-Identifier: MIT */
/*
 * The iommu core: Linux's iommu_domain dirty-tracking rules over the
 * emulated IOMMU (spec: uapi.md 4; formats.md 2.8, 3.5, 4.5, 5.6;
 * hardware.md 5 and 6; algorithms.md 1 and 5).
 *
 *   idt_core_iommu  one emulated IOMMU instance (it owns the idt_iommu) plus
 *                   what the core keeps per instance: domain tags, device ids
 *   idt_device      a device behind that IOMMU; IDT_CAP_DIRTY_TRACKING is
 *                   the IOMMU's capability register (uapi.md 4.3)
 *   idt_domain      a paging domain allocated for a device (the device's
 *                   IOMMU decides the format), owning an idt_pt and a domain
 *                   tag; it has "dirty ops" iff allocated with
 *                   IDT_DOMAIN_DIRTY_TRACKING (uapi.md 4.2)
 *
 * A domain belongs to the IOMMU it was allocated for: only devices of that
 * IOMMU attach to it.  Output addresses are host virtual addresses (hw.h).
 *
 * Every function returns 0 or a negative errno and changes nothing on
 * error unless it says otherwise.  Thread safety: any function may be
 * called from any thread; each domain has a reader-writer lock (harvests
 * and the enable clean pass read, as under iommufd's IOAS read lock;
 * map, unmap, attach and detach write).  Destroying an object while
 * another thread still uses it is the caller's race, as with free().
 */
#ifndef IODIRTY_CORE_H
#define IODIRTY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iodirty/bitmap.h>
#include <iodirty/hw.h>
#include <iodirty/pt.h>

#ifdef __cplusplus
extern "C" {
#endif

struct idt_core_iommu;
struct idt_device;
struct idt_domain;

/* ---- IOMMU instances ------------------------------------------------------ */

/*
 * Creates the emulated IOMMU described by config (idt_iommu_create) and the
 * core's state for it.  Errors of idt_iommu_create; -EINVAL for NULL.
 */
int idt_core_iommu_create(const struct idt_iommu_config *config, struct idt_core_iommu **out);
/* Destroys both; -EBUSY while devices or domains of it exist. */
int idt_core_iommu_destroy(struct idt_core_iommu *iommu);
/* The emulated hardware, for DMA, memory registration and counters. */
struct idt_iommu *idt_core_iommu_hw(const struct idt_core_iommu *iommu);
/* enum idt_pt_format of the instance, 0 for NULL. */
uint32_t idt_core_iommu_format(const struct idt_core_iommu *iommu);

/* ---- devices -------------------------------------------------------------- */

/* Device capabilities (Linux enum iommu_cap). */
enum idt_cap {
	IDT_CAP_DIRTY_TRACKING = 1, /* IOMMU_CAP_DIRTY_TRACKING */
};

/* -EEXIST if the IOMMU already has a device with that id. */
int idt_device_create(struct idt_core_iommu *iommu, uint32_t device_id,
		      struct idt_device **out);

/* idt_device_config.flags */
enum {
	/* The device lacks IDT_CAP_DIRTY_TRACKING even when its IOMMU has it (a
	 * per-device property in Linux: the mock's MOCK_FLAGS_DEVICE_NO_DIRTY). */
	IDT_DEVICE_NO_DIRTY_TRACKING = 1 << 0,
};

/* Size-extensible as idt_domain_config (-E2BIG, -EINVAL for unknown flags);
 * NULL means all zero. */
struct idt_device_config {
	uint32_t size;
	uint32_t flags; /* IDT_DEVICE_* */
};

/* idt_device_create with a config. */
int idt_device_create_config(struct idt_core_iommu *iommu, uint32_t device_id,
			     const struct idt_device_config *config, struct idt_device **out);
/* -EBUSY while attached to a domain. */
int idt_device_destroy(struct idt_device *dev);
/* uapi.md 4.3: IOMMU_CAP_DIRTY_TRACKING comes from the capability register
 * (idt_iommu_dirty_capable), unless the device was created with
 * IDT_DEVICE_NO_DIRTY_TRACKING.  false for unknown capabilities or NULL. */
bool idt_device_capable(const struct idt_device *dev, enum idt_cap cap);
uint32_t idt_device_id(const struct idt_device *dev);
struct idt_core_iommu *idt_device_iommu(const struct idt_device *dev);
/* The domain the device is attached to, or NULL. */
struct idt_domain *idt_device_domain(const struct idt_device *dev);

/* ---- paging domains ------------------------------------------------------- */

/* idt_domain_config.flags */
enum {
	/* IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the domain gets dirty ops */
	IDT_DOMAIN_DIRTY_TRACKING = 1 << 0,
};

/*
 * Size-extensible: set size = sizeof(struct idt_domain_config); fields past a
 * caller's size read as zero, bytes past the known struct must be zero
 * (-E2BIG), unknown flags are refused (-EINVAL).  A NULL config means all
 * zero.
 */
struct idt_domain_config {
	uint32_t size;
	uint32_t flags;        /* IDT_DOMAIN_* */
	uint64_t page_sizes;   /* 0 = every leaf size of the format; else intersected with
				* them (4 KiB only = IOMMU_OPTION_HUGE_PAGES 0) */
	uint32_t iova_width;   /* 0 = the core's default: AMD 64 (grown on demand), VT-d,
				* ARM and RISC-V (Sv48) 48 */
	uint32_t granule_lg2;  /* 0 = 12; AMD also 11 (the mock layout) */
	uint32_t rcd_algo;     /* enum idt_rcd_algo used by the dirty ops (default iodirty) */
	uint32_t rcd_threads;  /* 0 or 1: one thread; 2..64 threads (IDT_RCD_IODIRTY only) */
};

/*
 * Linux's domain_alloc_user for a paging domain.  -EOPNOTSUPP: dirty
 * tracking requested on a device without IDT_CAP_DIRTY_TRACKING (uapi.md
 * 4.3; test-cases.md UA-04); -EINVAL: bad config or a geometry the format
 * refuses; -ENOSPC: no domain tag left on the IOMMU; -ENOMEM.
 */
int idt_domain_alloc(struct idt_device *dev, const struct idt_domain_config *config,
		     struct idt_domain **out);
/* Frees the domain and its table.  -EBUSY while devices are attached. */
int idt_domain_free(struct idt_domain *domain);

/*
 * Attaches dev (uapi.md 4.3).  -EINVAL: the domain has dirty ops and the
 * device lacks IDT_CAP_DIRTY_TRACKING, or the device is behind another
 * IOMMU than the domain's; -EBUSY: the device is attached to a domain
 * already.  The gate is set at attach when the domain's tracking is
 * enabled (AMD, VT-d: test-cases.md HW-09) and always for a dirty domain on
 * ARM and RISC-V, whose tracking is always on (formats.md 4.5, 5.6).
 */
int idt_domain_attach(struct idt_domain *domain, struct idt_device *dev);
/* -ENOENT if dev is not attached to domain.  The device cannot DMA after. */
int idt_domain_detach(struct idt_domain *domain, struct idt_device *dev);

/*
 * Maps [iova, iova + length) to host addresses [oa, oa + length) (the user
 * VA) with IDT_PROT_* prot.  -EINVAL: length 0, misaligned to the smallest
 * page size, outside the aperture, bad prot; -EEXIST: overlaps a mapping.
 */
int idt_domain_map(struct idt_domain *domain, uint64_t iova, uint64_t oa, uint64_t length,
		   int prot);
/* idt_domain_map with leaves of the smallest page size only
 * (IOMMU_OPTION_HUGE_PAGES = 0, uapi.md 5.10). */
int idt_domain_map_smallest(struct idt_domain *domain, uint64_t iova, uint64_t oa,
			    uint64_t length, int prot);
/*
 * Unmaps every mapping in [iova, iova + length), invalidates the range
 * (with the drain) when devices are attached, then frees emptied tables.
 * *unmapped (may be NULL) gets the bytes unmapped.  -EINVAL: misaligned,
 * outside the aperture, or a leaf straddling either end (nothing changed).
 */
int idt_domain_unmap(struct idt_domain *domain, uint64_t iova, uint64_t length,
		     uint64_t *unmapped);

/* ---- dirty ops (uapi.md 4.2, 4.4) ----------------------------------------- */

/*
 * set_dirty_tracking.  -EINVAL if the domain has no dirty ops.  Enabling
 * first cleans every mapped area in ascending IOVA order (read-and-clear
 * with no bitmap), syncs the gather once even after an error, and returns
 * the error if any, with tracking unchanged; every enable does this, even
 * when tracking is on already (uapi.md 4.4).  Then AMD and VT-d set the
 * gate of every attached device (formats.md 2.8, 3.5); ARM and RISC-V do
 * nothing (always on, formats.md 4.5, 5.6).  Disabling clears nothing: AMD
 * and VT-d clear the gates.
 */
int idt_domain_set_dirty_tracking(struct idt_domain *domain, bool enable);

/*
 * The driver's read_and_clear_dirty op: records each dirty leaf of
 * [iova, iova + size) into record (bitmap and gather, either may be NULL)
 * and cleans it unless IDT_DIRTY_NO_CLEAR.  Never invalidates: sync the
 * gather with idt_domain_iotlb_sync().  -EINVAL: no dirty ops, unknown
 * flags, a bad range (ARM: a hole, formats.md 7), or, on AMD and VT-d with
 * tracking disabled, a non-NULL bitmap (algorithms.md 1; uapi.md 4.2).
 */
int idt_domain_read_and_clear_dirty(struct idt_domain *domain, uint64_t iova, uint64_t size,
				    unsigned int flags, struct idt_dirty_record *record);
/* Invalidates the gather's range on the domain's IOMMU and resets it. */
void idt_domain_iotlb_sync(struct idt_domain *domain, struct idt_gather *gather);

/*
 * Harvest (hardware.md 6): read_and_clear_dirty into bitmap (may be NULL)
 * and a gather, then, unless IDT_DIRTY_NO_CLEAR, one invalidation over the
 * gathered range (also after an error part-way).  Errors as
 * idt_domain_read_and_clear_dirty.
 */
int idt_domain_harvest(struct idt_domain *domain, uint64_t iova, uint64_t size,
		       unsigned int flags, struct idt_bitmap *bitmap);

/* Chooses the read-and-clear algorithm and thread count of the dirty ops
 * (as the config fields; for benchmarks and tests). */
int idt_domain_set_rcd(struct idt_domain *domain, enum idt_rcd_algo algo, unsigned int threads);

/* ---- queries -------------------------------------------------------------- */

bool idt_domain_has_dirty_ops(const struct idt_domain *domain);
/* AMD, VT-d: the driver's state; ARM, RISC-V dirty domains: always true. */
bool idt_domain_dirty_tracking_enabled(const struct idt_domain *domain);

struct idt_domain_info {
	uint32_t format;          /* enum idt_pt_format */
	uint32_t flags;           /* IDT_DOMAIN_* as allocated */
	uint64_t page_sizes;      /* leaf sizes the domain maps with */
	uint64_t min_page_size;   /* smallest of them: the alignment of map/unmap */
	uint64_t aperture_start;  /* IOVA range the table decodes, inclusive */
	uint64_t aperture_last;
	uint32_t domain_tag;      /* domain id / ASID / GSCID on the IOMMU */
	uint32_t devices;         /* attached devices */
	uint32_t areas;           /* mapped areas */
	uint32_t rcd_algo;
	uint32_t rcd_threads;
	uint32_t granule_lg2;
	uint64_t mapped_bytes;
	bool dirty_ops;
	bool dirty_tracking;      /* idt_domain_dirty_tracking_enabled() */
};
int idt_domain_get_info(const struct idt_domain *domain, struct idt_domain_info *info);

/* A mapped area as the domain tracks it (map and unmap keep the list). */
struct idt_domain_area {
	uint64_t iova;
	uint64_t length;
};
/* Copies up to max areas in ascending IOVA order; returns how many exist. */
size_t idt_domain_get_areas(const struct idt_domain *domain, struct idt_domain_area *areas,
			    size_t max);

/* The domain's page table (for the mock DIRTY op and tests: make_dirty,
 * lookups).  Owned by the domain. */
struct idt_pt *idt_domain_pt(const struct idt_domain *domain);
struct idt_core_iommu *idt_domain_iommu(const struct idt_domain *domain);

#ifdef __cplusplus
}
#endif
#endif
