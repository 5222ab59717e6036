/* SPDX-License-Identifier: MIT */
/*
 * I/O page tables with hardware Access/Dirty tracking, bit-exact for
 * AMD IOMMU v1, Intel VT-d second stage, ARM LPAE stage 1 (SMMUv3 DBM) and
 * RISC-V Sv39/48/57 (spec: formats.md; algorithms in algorithms.md).
 *
 * Level 0 is the table whose items map one granule; at level L an item covers
 * 2^(granule_lg2 + 9L) bytes.  Tables live in process memory; table pointers
 * in items hold the table's host address.  Leaf output addresses (oa) are
 * opaque numbers to this layer.
 *
 * Every function returns 0 or a negative errno and changes nothing on error.
 * Concurrency: map, unmap and split serialise among themselves on a lock of
 * the table.  Lookups, make_dirty and read_and_clear take no lock: they may
 * run concurrently with each other and with map/unmap/split of *other*
 * ranges (items are 64-bit words accessed with atomics, as hardware walks
 * them).  Unmapping a range while it is being read is the caller's race to
 * prevent, as in the kernel.
 */
#ifndef IODIRTY_PT_H
#define IODIRTY_PT_H

#include <stdbool.h>
#include <stdint.h>

#include <iodirty/bitmap.h>

#ifdef __cplusplus
extern "C" {
#endif

enum idt_pt_format {
	IDT_PT_AMDV1 = 1, /* AMD IOMMU v1 host page table */
	IDT_PT_VTDSS = 2, /* Intel VT-d second stage */
	IDT_PT_ARM_S1 = 3, /* ARM LPAE stage 1, 4 KiB granule (SMMUv3 HTTU/DBM) */
	IDT_PT_RISCV = 4, /* RISC-V Sv39/Sv48/Sv57 */
};

/* Permissions of a mapping. */
enum {
	IDT_PROT_READ = 1 << 0,
	IDT_PROT_WRITE = 1 << 1,
};

/* idt_pt_config.flags */
enum {
	/* The domain tracks dirty pages (ARM: writable leaves get DBM and start dirty). */
	IDT_PT_DIRTY_TRACKING = 1 << 0,
	/* AMD: start at 3 levels and grow the top on demand up to iova_width, as Linux does. */
	IDT_PT_DYNAMIC_TOP = 1 << 1,
	/* RISC-V: allow Svnapot 64 KiB leaves (16 identical items at level 0). */
	IDT_PT_RISCV_NAPOT = 1 << 2,
	/* RISC-V: G-stage "x4" layout: the root has 2048 items, IOVA 2 bits wider. */
	IDT_PT_RISCV_GSTAGE = 1 << 3,
	/* VT-d: write SNP (force snooping) in leaves. */
	IDT_PT_VTD_SNOOP = 1 << 4,
};

/*
 * Size-extensible: set size = sizeof(struct idt_pt_config); bytes past a
 * caller's size read as zero, unknown flags are refused.
 */
struct idt_pt_config {
	uint32_t size;
	uint32_t format;       /* enum idt_pt_format */
	uint32_t iova_width;   /* input bits: AMD 39..64 (mode 3..6), VT-d/RISC-V 39/48/57
				* (+2 with RISCV_GSTAGE), ARM 39/48; 0 = the format's default */
	uint32_t granule_lg2;  /* 0 = 12; AMD also allows 11 (the iommufd mock device) */
	uint64_t page_sizes;   /* allowed leaf sizes as a mask of powers of two; 0 = all
				* the format supports; it is intersected with those */
	uint32_t flags;        /* IDT_PT_* flags above */
	uint32_t __reserved;   /* must be 0 */
};

struct idt_pt;

int idt_pt_create(const struct idt_pt_config *config, struct idt_pt **out);
void idt_pt_destroy(struct idt_pt *pt);

/* The format's name ("amdv1", "vtdss", "arm", "riscv"), NULL if unknown. */
const char *idt_pt_format_name(enum idt_pt_format format);

/* Geometry of a table, as it is now (AMD grows). */
struct idt_pt_info {
	uint32_t format;
	uint32_t levels;       /* number of levels, top level = levels - 1 */
	uint32_t iova_width;   /* bits the table decodes now */
	uint32_t max_iova_width; /* bits it may grow to */
	uint32_t oa_width;
	uint32_t granule_lg2;
	uint64_t page_sizes;   /* leaf sizes map() may use */
	uint64_t root;         /* host address of the top table */
	uint64_t tables;       /* tables currently allocated */
};
void idt_pt_get_info(const struct idt_pt *pt, struct idt_pt_info *info);

/*
 * Maps [iova, iova + size) to [oa, oa + size) with the largest allowed leaf
 * sizes that fit (formats.md 7.1).  All or nothing.  -EINVAL: misaligned,
 * size 0, outside the IOVA or OA width, wrapping, bad prot; -EEXIST: something
 * is mapped in the range; -ENOMEM.
 */
int idt_pt_map(struct idt_pt *pt, uint64_t iova, uint64_t oa, uint64_t size, int prot);

/*
 * Unmaps every leaf in [iova, iova + size); size may reach 2^64 - iova, so
 * the top of the address space is reachable.  *unmapped (may be NULL) gets
 * the bytes unmapped.  -EINVAL: a leaf straddles either end (nothing is
 * changed), misaligned, size 0, outside the width.  Tables that become empty
 * are freed.
 */
int idt_pt_unmap(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t *unmapped);

/*
 * Splits the leaf containing iova one step, keeping its output, permissions
 * and dirty state (a dirty entry gives dirty pieces):
 *  - a multi-item entry (AMD NextLevel 7 run, RISC-V NAPOT) becomes natural
 *    leaves of its level, item by item with compare-and-swap;
 *  - a natural leaf above level 0 becomes a new table of natural leaves of
 *    the level below, installed with one compare-and-swap.
 * Translation never changes while it runs.  -ENOENT: not mapped; -EINVAL:
 * already a single granule; -ENOMEM.
 */
int idt_pt_split(struct idt_pt *pt, uint64_t iova);

/* Output address for iova, or -ENOENT.  Never changes A or D. */
int idt_pt_iova_to_phys(const struct idt_pt *pt, uint64_t iova, uint64_t *oa);

/* Describes the leaf covering iova (for tests and the hardware model). */
struct idt_pt_leaf {
	uint64_t iova;       /* start of the whole entry */
	uint64_t oa;         /* its output address */
	uint32_t size_lg2;   /* size of the whole entry */
	uint32_t level;
	uint32_t items;      /* items the entry occupies (AMD replicas, NAPOT) */
	int prot;            /* IDT_PROT_* */
	bool dirty;          /* is_dirty over all items */
	uint64_t *item;      /* the item iova indexes */
};
int idt_pt_lookup(const struct idt_pt *pt, uint64_t iova, struct idt_pt_leaf *leaf);

/* read_and_clear_dirty flags (uapi IOMMU_DIRTY_NO_CLEAR). */
enum { IDT_DIRTY_NO_CLEAR = 1 << 0 };

/* The read-and-clear algorithms (algorithms.md 2 and 3, and iodirty's own). */
enum idt_rcd_algo {
	IDT_RCD_IODIRTY = 0,    /* single pass, runs coalesced */
	IDT_RCD_GENERIC_PT = 1, /* Linux 6.19+ baseline */
	IDT_RCD_LEGACY = 2,     /* Linux 6.7-6.18 per-page baseline (AMD and VT-d layouts) */
};

/*
 * Reports each dirty leaf in [iova, iova + size) through record and, unless
 * IDT_DIRTY_NO_CLEAR, cleans it and adds it to record->gather.  Never
 * invalidates.  -EINVAL: bad range or flags; ARM also on a hole in the range
 * (Linux 6.11's walker).
 */
int idt_pt_read_and_clear_dirty(struct idt_pt *pt, uint64_t iova, uint64_t size,
				unsigned int flags, struct idt_dirty_record *record,
				enum idt_rcd_algo algo);

/*
 * The dirty primitives on the entry covering iova (formats.md per format):
 * is_dirty ORs over all items; make_clean cleans every item; make_dirty
 * marks the single item iova indexes by compare-and-swap from the value just
 * read, as hardware would: -EAGAIN if the item changed in between, -EINVAL if
 * the entry cannot become dirty (ARM DBM = 0, RISC-V W = 0), -ENOENT if not
 * mapped.
 */
int idt_pt_is_dirty(const struct idt_pt *pt, uint64_t iova, bool *dirty);
int idt_pt_make_clean(struct idt_pt *pt, uint64_t iova);
int idt_pt_make_dirty(struct idt_pt *pt, uint64_t iova);
/* make_dirty on a chosen item of a multi-item entry (AMD replica, NAPOT copy). */
int idt_pt_make_dirty_item(struct idt_pt *pt, uint64_t iova, uint32_t item_index);

/*
 * read_and_clear_dirty with iodirty's algorithm, the range split across
 * threads (threads <= 1: the calling thread alone).  The bitmap and gather
 * end up exactly as with one thread: each thread walks a disjoint part and
 * records into disjoint bitmap bytes, and leaves straddling a split point
 * are handled after the threads join.
 */
int idt_pt_read_and_clear_dirty_threads(struct idt_pt *pt, uint64_t iova, uint64_t size,
					unsigned int flags, struct idt_dirty_record *record,
					unsigned int threads);

/*
 * Marks dirty, as hardware writes would (make_dirty on the walked item),
 * every leaf of [iova, iova + size) that contains an address iova + k *
 * stride; stride 0 marks every leaf.  Entries that cannot become dirty (ARM
 * DBM = 0, RISC-V read-only) are skipped.  *marked (may be NULL) gets the
 * number of leaves marked.  For benchmarks and tests.
 */
int idt_pt_make_dirty_range(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t stride,
			    uint64_t *marked);

/*
 * Calls fn for every leaf-only (level 0) table the range reaches, with its
 * items and its number of items, in IOVA order (a benchmark's stream-read
 * contender reads exactly these bytes).
 */
int idt_pt_for_each_leaf_table(const struct idt_pt *pt, uint64_t iova, uint64_t size,
			       void (*fn)(void *arg, const uint64_t *items, uint32_t count),
			       void *arg);

/* The instruction set the leaf-table scan of read_and_clear_dirty uses. */
enum idt_simd {
	IDT_SIMD_AUTO = 0,  /* the best the CPU has (the default) */
	IDT_SIMD_SCALAR = 1,
	IDT_SIMD_AVX2 = 2,
	IDT_SIMD_AVX512 = 3,
};

/*
 * Chooses the scan for the whole process (tests and benchmarks compare the
 * paths); -EOPNOTSUPP if the CPU (or this build) lacks it.  Builds with
 * ThreadSanitizer always scan with scalar atomic loads.
 */
int idt_simd_select(enum idt_simd simd);
/* The scan in use (never IDT_SIMD_AUTO). */
enum idt_simd idt_simd_active(void);
/* Its name: "scalar", "avx2", "avx512". */
const char *idt_simd_name(enum idt_simd simd);

/* ---- the hardware side: the walk an emulated IOMMU performs ------------- */

/* Access types of a hardware walk. */
enum idt_access {
	IDT_ACCESS_READ = 1,
	IDT_ACCESS_WRITE = 2,
};

/* Why a hardware walk faulted (hardware.md 3). */
enum idt_fault_kind {
	IDT_FAULT_NONE = 0,
	IDT_FAULT_CONTEXT,      /* context absent, invalid or misconfigured */
	IDT_FAULT_NOT_PRESENT,  /* an item of the walk is not present, or iova beyond the width */
	IDT_FAULT_MALFORMED,    /* reserved bits or an invalid encoding */
	IDT_FAULT_PERMISSION,   /* the walk's permissions lack the access */
	IDT_FAULT_ACCESS_FLAG,  /* ARM: AF = 0 with HA = 0 */
	IDT_FAULT_AD_DISABLED,  /* RISC-V: an A/D update was needed with the gate off */
	IDT_FAULT_OUTSIDE_MEMORY, /* the output address is not registered guest memory */
};

/*
 * What the device context allows the walk to update (the format's gate:
 * AMD DTE.HAD, VT-d SSADE, SMMUv3 CD.HA/HD, RISC-V SADE/GADE).
 */
struct idt_pt_gate {
	bool update_a;
	bool update_d;
};

/*
 * Test hooks of a hardware walk (hardware.md 8).  pre_cas runs between the
 * walk's read of an item and its compare-and-swap and may rewrite the item;
 * replica picks which item of a multi-item entry receives A/D (NULL: the
 * walked item, as silicon does).  Either may be NULL.
 */
struct idt_pt_walk_hooks {
	void (*pre_cas)(void *arg, uint64_t *item, unsigned int level);
	uint32_t (*replica)(void *arg, uint32_t items);
	void *arg;
};

struct idt_pt_walk_result {
	enum idt_fault_kind fault;
	uint64_t oa;          /* output address of the accessed iova */
	uint64_t page_iova;   /* start of the whole entry */
	uint64_t page_oa;     /* its output address */
	uint32_t size_lg2;    /* size of the whole entry */
	int prot;             /* permissions granted (AND over the walk) */
	bool dirty;           /* D of the item that takes D, as in memory after the walk */
	uint32_t level;       /* level of the leaf, or of the faulting item */
	uint64_t item;        /* value read of the faulting item (fault) */
	uint32_t ad_updates;  /* items this walk changed */
	uint32_t cas_retries; /* failed compare-and-swaps */
	uint32_t restarts;    /* walks restarted because an item changed under the walk */
};

/*
 * The walk an emulated IOMMU performs (formats.md 7.6, hardware.md 2):
 * every item read once with an atomic load, presence, encoding and
 * permissions checked along the whole walk, and only then the format's A/D
 * rule applied under the gate, root first, each update a compare-and-swap
 * that re-validates the fresh value after a failure and restarts the walk if
 * the item no longer grants the access.  A faulting walk writes nothing.
 * Returns 0 (result->fault says whether it faulted) or -EINVAL for bad
 * arguments.
 */
int idt_pt_hw_walk(struct idt_pt *pt, uint64_t iova, enum idt_access access,
		   const struct idt_pt_gate *gate, const struct idt_pt_walk_hooks *hooks,
		   struct idt_pt_walk_result *result);

/*
 * Tables an unmap removed, kept until the caller has invalidated the IOTLB
 * and drained in-flight walks, so that no walk reads freed memory (as
 * Linux's gather frees page-table pages only after the flush).
 */
struct idt_pt_free_list {
	void **tables;
	uint32_t count;
	uint32_t capacity;
};

/* As idt_pt_unmap, but emptied tables go to list instead of being freed. */
int idt_pt_unmap_deferred(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t *unmapped,
			  struct idt_pt_free_list *list);
/* Frees the tables of the list and empties it. */
void idt_pt_free_list_release(struct idt_pt *pt, struct idt_pt_free_list *list);

#ifdef __cplusplus
}
#endif
#endif
