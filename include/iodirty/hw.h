/* SPDX-License-Identifier: MIT */
/*
 * The emulated IOMMU (spec: hardware.md, formats.md gate sections): an
 * instance of one format with its capability register, device contexts with
 * the format's dirty-enable gate behind a context cache, the A/D-updating
 * walk (idt_pt_hw_walk), an IOTLB that caches the dirty state, invalidation
 * with drain, a DMA engine over registered process memory, and a bounded
 * fault queue.
 *
 * Output-address convention: a page table's output address is the host
 * virtual address of the guest memory (as iommufd records the user VA as the
 * "physical" address).  DMA reaches only memory registered with
 * idt_iommu_register_memory(); any other output address faults.
 *
 * Concurrency: DMA from any number of threads, harvests, invalidations and
 * context changes may run together.  An IOTLB hit takes only the lock of
 * its IOTLB set; invalidation returns only after no cached entry in its
 * range remains and every transaction translated with a removed entry has
 * finished (the drain).
 *
 * Unmapping while devices may DMA: idt_pt_unmap_deferred(), then invalidate
 * the unmapped range (which drains), then idt_pt_free_list_release(): a
 * walk that began before the unmap has ended by then and cannot touch a
 * freed table.
 */
#ifndef IODIRTY_HW_H
#define IODIRTY_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iodirty/bitmap.h>
#include <iodirty/pt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Capability register bits, at their architectural positions. */
#define IDT_AMD_EFR_HASUP (1ull << 49)   /* AMD EFR: hardware can update A */
#define IDT_AMD_EFR_HDSUP (1ull << 52)   /* AMD EFR: hardware can update D */
#define IDT_VTD_ECAP_SMTS (1ull << 43)   /* VT-d ECAP: scalable mode */
#define IDT_VTD_ECAP_SSADS (1ull << 45)  /* VT-d ECAP: second-stage A/D */
#define IDT_ARM_IDR0_HTTU_SHIFT 6        /* SMMU_IDR0.HTTU, bits 7:6 */
#define IDT_ARM_IDR0_HTTU_HA (1ull << 6) /* HTTU = 1: access flag only */
#define IDT_ARM_IDR0_HTTU_HAD (2ull << 6) /* HTTU = 2: access and dirty */
#define IDT_RISCV_CAP_AMO_HWAD (1ull << 24) /* RISC-V capabilities.AMO_HWAD */

/* idt_iommu_config.flags: test switches (hardware.md 8) */
enum {
	/* D and A go to a random (seeded) item of a multi-item entry */
	IDT_IOMMU_RANDOM_REPLICA = 1 << 0,
	/* IOTLB invalidations remove nothing (they still drain): shows the lost
	 * write (hardware.md 5); context invalidation still works */
	IDT_IOMMU_FORGET_FLUSH = 1 << 1,
};

/* Size-extensible: size = sizeof; unknown trailing bytes must be zero. */
struct idt_iommu_config {
	uint32_t size;
	uint32_t format;          /* enum idt_pt_format */
	uint64_t cap;             /* capability register: EFR, ECAP, IDR0 or capabilities */
	uint32_t iotlb_sets;      /* 0 = default (64); must be a power of two */
	uint32_t iotlb_ways;      /* 0 = default (8); iotlb_sets * ways = capacity */
	uint32_t fault_queue_len; /* 0 = default (256) */
	uint32_t flags;           /* IDT_IOMMU_* */
	uint64_t seed;            /* seeded randomness (random replica) */
	uint32_t no_iotlb;        /* 1: capacity 0, every translation walks */
	uint32_t __reserved;      /* must be 0 */
};

struct idt_iommu;

int idt_iommu_create(const struct idt_iommu_config *config, struct idt_iommu **out);
/* Fails with -EBUSY while devices are attached. */
int idt_iommu_destroy(struct idt_iommu *iommu);

/* IOMMU_CAP_DIRTY_TRACKING: the capability register allows D updates
 * (AMD HDSup; VT-d SMTS and SSADS; ARM HTTU = 2; RISC-V AMO_HWAD). */
bool idt_iommu_dirty_capable(const struct idt_iommu *iommu);

/* The capability register of an IOMMU of format (enum idt_pt_format) that
 * updates Access flags and, if dirty, Dirty flags too: AMD HASup (and
 * HDSup); VT-d SMTS (and SSADS); ARM HTTU = 1 (2); RISC-V 0 (AMO_HWAD,
 * which is both).  0 for an unknown format. */
uint64_t idt_iommu_capability(uint32_t format, bool dirty);

/* Guest memory the DMA engine may reach.  -EEXIST on overlap, -EINVAL on
 * an empty or wrapping range; unregister takes the exact range back. */
int idt_iommu_register_memory(struct idt_iommu *iommu, void *base, size_t length);
int idt_iommu_unregister_memory(struct idt_iommu *iommu, void *base, size_t length);

/* ---- device contexts ----------------------------------------------------- */

/*
 * Binds device_id to a page table under a domain tag (domain id, ASID,
 * GSCID): writes the context in memory and invalidates that device's
 * context.  The gate starts off.  -EEXIST if already attached, -EINVAL for a
 * table of another format, or for a domain tag an attached device uses
 * with another table (the IOTLB is tagged by domain only).
 */
int idt_iommu_attach(struct idt_iommu *iommu, uint32_t device_id, struct idt_pt *pt,
		     uint32_t domain_tag);
/* Removes the context, invalidates it and the domain's IOTLB, and drains:
 * the device cannot DMA afterwards.  -ENOENT if not attached. */
int idt_iommu_detach(struct idt_iommu *iommu, uint32_t device_id);

/*
 * Sets the format's dirty gate in the device's context, in the order the
 * real enable sequences use (formats.md): rewrite the context, invalidate
 * the context, invalidate the domain's IOTLB, wait for completion.
 * AMD HAD 11b/00b, VT-d SSADE, ARM CD.HA and CD.HD, RISC-V SADE.
 * -EOPNOTSUPP when the capability lacks D updates, -ENOENT if not attached.
 */
int idt_iommu_set_gate(struct idt_iommu *iommu, uint32_t device_id, bool enable);

/*
 * The context as raw 64-bit words at the format's bit positions (AMD DTE
 * qword 0, VT-d PASID entry qword 0, SMMUv3 CD word 0, RISC-V DC.tc), for
 * tests and tools; context_write changes memory only: the change takes
 * effect after idt_iommu_invalidate_context().
 */
int idt_iommu_context_read(struct idt_iommu *iommu, uint32_t device_id, uint64_t *word0);
int idt_iommu_context_write(struct idt_iommu *iommu, uint32_t device_id, uint64_t word0);

/* ---- invalidation -------------------------------------------------------- */

/* Each returns after the drain (hardware.md 5). */
void idt_iommu_invalidate_range(struct idt_iommu *iommu, uint32_t domain_tag, uint64_t start,
				uint64_t last);
void idt_iommu_invalidate_domain(struct idt_iommu *iommu, uint32_t domain_tag);
void idt_iommu_invalidate_all(struct idt_iommu *iommu);
int idt_iommu_invalidate_context(struct idt_iommu *iommu, uint32_t device_id);

/* Invalidates a gather's range (nothing if it is empty) and resets it. */
void idt_iommu_sync_gather(struct idt_iommu *iommu, uint32_t domain_tag,
			   struct idt_gather *gather);

/* ---- translation and DMA ------------------------------------------------- */

/*
 * A fault record (hardware.md 3).  cause is the architectural cause where
 * one exists, else 0.  RISC-V: 13 load and 15 store page fault (not
 * present, malformed, permission, A/D update with the gate off), 5 load and
 * 7 store access fault (outside registered memory), 258 device context not
 * valid or absent, 259 device context misconfigured.
 */
struct idt_fault {
	uint32_t device_id;
	uint32_t access;     /* enum idt_access */
	uint64_t iova;
	uint32_t kind;       /* enum idt_fault_kind */
	uint32_t level;
	uint64_t item;
	uint32_t cause;
	uint32_t __pad;
};

/*
 * Translation-only request (ATS-like): walks and updates A/D as a memory
 * access would, fills the IOTLB, moves no data (so the output address is
 * not checked against registered memory).  On RISC-V a write request on a
 * read-only page succeeds with prot lacking write and sets A only
 * (hardware.md 2.5).  Returns 0 with the walk's result (result->fault set
 * and a fault queued when it faulted), or -ENOENT for an unknown device.
 */
int idt_iommu_translate(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova,
			enum idt_access access, struct idt_pt_walk_result *result);

/*
 * DMA: splits [iova, iova + length) into transactions that never cross a
 * granule boundary (4 KiB, or the table's granule if smaller), translates
 * and performs each.  A fault stops the request at the faulting
 * transaction, which moves nothing; earlier ones have completed.  Returns
 * the bytes completed; *fault (may be NULL) gets the fault, kind NONE if
 * none.  A request no device could issue (NULL iommu or buffer, a range
 * wrapping past 2^64) moves nothing, returns 0 and queues no fault.  Data moves in 8-byte atomic units where aligned, so a concurrent
 * reader of guest memory sees each unit old or new.
 */
size_t idt_dma_write(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova,
		     const void *buffer, size_t length, struct idt_fault *fault);
size_t idt_dma_read(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova, void *buffer,
		    size_t length, struct idt_fault *fault);

/* Copies guest memory with the same 8-byte atomic units as the DMA engine
 * (for harvesters copying pages while devices write). */
void idt_guest_copy(void *dst, const void *src, size_t length);

/* Drains up to max faults into records; returns how many. */
size_t idt_iommu_drain_faults(struct idt_iommu *iommu, struct idt_fault *records, size_t max);

/* ---- harvest ------------------------------------------------------------- */

/*
 * The harvest protocol of hardware.md 6 over [iova, iova + size) of a
 * domain: record and clear (read_and_clear_dirty with algo), then, unless
 * IDT_DIRTY_NO_CLEAR, invalidate exactly the gathered range and drain.
 * Only after it returns may the caller copy the reported pages.
 */
int idt_iommu_harvest(struct idt_iommu *iommu, uint32_t domain_tag, struct idt_pt *pt,
		      uint64_t iova, uint64_t size, unsigned int flags, struct idt_bitmap *bitmap,
		      enum idt_rcd_algo algo);

/* ---- counters and hooks -------------------------------------------------- */

struct idt_iommu_counters {
	uint64_t hits;
	uint64_t misses;
	uint64_t walks;
	uint64_t ad_updates;
	uint64_t cas_retries;
	uint64_t invalidations;  /* IOTLB invalidations performed (not context ones) */
	uint64_t faults;
	uint64_t faults_dropped; /* fault queue overflow */
	uint64_t dma_bytes;
};
void idt_iommu_get_counters(const struct idt_iommu *iommu, struct idt_iommu_counters *counters);

/* Walk hooks for tests (pre-CAS rewrite, replica choice); NULL removes them.
 * A hook runs inside a transaction: it must not invalidate (the drain would
 * wait for the hook's own transaction).  The caller's replica choice takes
 * precedence over IDT_IOMMU_RANDOM_REPLICA. */
void idt_iommu_set_walk_hooks(struct idt_iommu *iommu, const struct idt_pt_walk_hooks *hooks);

#ifdef __cplusplus
}
#endif
#endif
