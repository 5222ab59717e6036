/* SPDX-License-Identifier: MIT */
/*
 * The emulated IOMMU (issue 3; hardware.md; formats.md 2.8, 3.5, 4.5, 5.6):
 * per-format A/D behaviour of DMA through the A/D-updating walk, gates and
 * their misconfigurations, the IOTLB and its invalidation, the drain,
 * faults and the fault queue, the harvest protocol, and test-cases.md
 * HW-01, 02, 03, 05, 06, 07, 09, 12, 13, 14, PT-01, PT-08, PT-11 (a) and
 * hardware.md 7.2 R4, R9.
 *
 * Raw items are checked against the bit positions of formats.md, written
 * out here rather than taken from the library's headers.  Guest memory is a
 * 2 MiB-aligned heap buffer registered with the IOMMU and mapped at IOVA0,
 * so a page table's output addresses are host addresses (hw.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "iodirty/bitmap.h"
#include "iodirty/hw.h"
#include "iodirty/pt.h"

#define SZ_4K 0x1000ull
#define SZ_32K 0x8000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define BIT(n) (1ull << (n))
#define RW (IDT_PROT_READ | IDT_PROT_WRITE)

#define assert_u64(actual, expected) assert_int_equal((uint64_t)(actual), (uint64_t)(expected))

#define DEV 7
#define DEV2 9
#define TAG 1
#define TAG2 2
#define IOVA0 0x40000000ull /* 1 GiB */
#define MEM_SIZE (2 * SZ_2M)
#define PAGE(n) (IOVA0 + (uint64_t)(n) * SZ_4K)

/* ---- bit positions from formats.md -------------------------------------- */

/* AMD 2.1/2.2 */
#define AMD_A BIT(5)
#define AMD_D BIT(6)
#define AMD_IW BIT(62)
#define AMD_IGNORED BIT(1) /* bits 4:1 are ignored by hardware */
#define AMD_ADDR 0x000ffffffffff000ull
/* AMD DTE qword 0 (2.3) */
#define DTE_V BIT(0)
#define DTE_TV BIT(1)
#define DTE_HAD_SHIFT 7
#define DTE_HAD_MASK (3ull << DTE_HAD_SHIFT)
#define DTE_MODE_SHIFT 9
#define DTE_MODE_MASK (7ull << DTE_MODE_SHIFT)
#define DTE_ROOT 0x000ffffffffff000ull
#define DTE_IR BIT(61)
#define DTE_IW BIT(62)
/* VT-d 3.1 and the PASID entry (3.5) */
#define VTD_R BIT(0)
#define VTD_W BIT(1)
#define VTD_A BIT(8)
#define VTD_D BIT(9)
#define PE_P BIT(0)
#define PE_AW_SHIFT 2
#define PE_PGTT_SHIFT 6
#define PE_SSADE BIT(9)
/* ARM 4.1 and the CD (4.5) */
#define ARM_AP2 BIT(7)
#define ARM_AF BIT(10)
#define ARM_DBM BIT(51)
#define CD_V BIT(31)
#define CD_AA64 BIT(41)
#define CD_HD BIT(42)
#define CD_HA BIT(43)
/* RISC-V 5.1 and DC.tc (5.6) */
#define RV_W BIT(2)
#define RV_A BIT(6)
#define RV_D BIT(7)
#define TC_V BIT(0)
#define TC_SADE BIT(8)

static const uint32_t all_formats[] = { IDT_PT_AMDV1, IDT_PT_VTDSS, IDT_PT_ARM_S1, IDT_PT_RISCV };
#define N_FORMATS (sizeof(all_formats) / sizeof(all_formats[0]))

static bool raw_accessed(uint32_t format, uint64_t item)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return item & AMD_A;
	case IDT_PT_VTDSS:
		return item & VTD_A;
	case IDT_PT_ARM_S1:
		return item & ARM_AF;
	default:
		return item & RV_A;
	}
}

static bool raw_dirty(uint32_t format, uint64_t item)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return item & AMD_D;
	case IDT_PT_VTDSS:
		return item & VTD_D;
	case IDT_PT_ARM_S1: /* 4.4: DBM = 1 and AP[2] = 0 */
		return (item & (ARM_AP2 | ARM_DBM)) == ARM_DBM;
	default:
		return item & RV_D;
	}
}

/* The accessed bit hardware sets in a leaf (ARM: AF). */
static uint64_t leaf_a_bit(uint32_t format)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return AMD_A;
	case IDT_PT_VTDSS:
		return VTD_A;
	case IDT_PT_ARM_S1:
		return ARM_AF;
	default:
		return RV_A;
	}
}

/* The table address inside a table item (formats.md per format). */
static uint64_t table_addr(uint32_t format, uint64_t item)
{
	switch (format) {
	case IDT_PT_AMDV1:
	case IDT_PT_VTDSS:
		return item & 0x000ffffffffff000ull;
	case IDT_PT_ARM_S1:
		return item & 0x0000fffffffff000ull;
	default:
		return ((item >> 10) & (BIT(44) - 1)) << 12;
	}
}

/* ---- the rig: an IOMMU, one table, registered guest memory -------------- */

struct rig_opts {
	uint32_t iommu_flags;
	uint32_t pt_flags;       /* ARM always gets IDT_PT_DIRTY_TRACKING */
	uint64_t page_sizes;     /* 0: 4 KiB only */
	uint32_t iova_width;     /* 0: 48 */
	bool cap_given;
	uint64_t cap;            /* with cap_given; else the A/D-capable register */
	uint32_t sets, ways, no_iotlb, fault_queue_len;
	uint64_t seed;
	bool gate;               /* set the gate after attach */
	bool unmapped;           /* do not map guest memory at IOVA0 */
};

struct rig {
	uint32_t format;
	struct idt_iommu *iommu;
	struct idt_pt *pt;
	uint8_t *mem;
};

static struct idt_iommu *iommu_new(uint32_t format, const struct rig_opts *o)
{
	struct idt_iommu_config cfg = {
		.size = sizeof(cfg),
		.format = format,
		.cap = o->cap_given ? o->cap : idt_iommu_capability(format, true),
		.iotlb_sets = o->sets,
		.iotlb_ways = o->ways,
		.fault_queue_len = o->fault_queue_len,
		.flags = o->iommu_flags,
		.seed = o->seed,
		.no_iotlb = o->no_iotlb,
	};
	struct idt_iommu *iommu = NULL;

	assert_int_equal(idt_iommu_create(&cfg, &iommu), 0);
	assert_non_null(iommu);
	return iommu;
}

static struct idt_pt *pt_new(uint32_t format, const struct rig_opts *o)
{
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = format,
		.iova_width = o->iova_width ? o->iova_width : 48,
		.page_sizes = o->page_sizes ? o->page_sizes : SZ_4K,
		.flags = o->pt_flags | (format == IDT_PT_ARM_S1 ? IDT_PT_DIRTY_TRACKING : 0),
	};
	struct idt_pt *pt = NULL;

	assert_int_equal(idt_pt_create(&cfg, &pt), 0);
	return pt;
}

static uint64_t host(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void rig_open(struct rig *r, uint32_t format, const struct rig_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->format = format;
	r->iommu = iommu_new(format, o);
	r->pt = pt_new(format, o);
	r->mem = aligned_alloc(SZ_2M, MEM_SIZE);
	assert_non_null(r->mem);
	memset(r->mem, 0xee, MEM_SIZE);
	assert_int_equal(idt_iommu_register_memory(r->iommu, r->mem, MEM_SIZE), 0);
	if (!o->unmapped)
		assert_int_equal(idt_pt_map(r->pt, IOVA0, host(r->mem), MEM_SIZE, RW), 0);
	assert_int_equal(idt_iommu_attach(r->iommu, DEV, r->pt, TAG), 0);
	if (o->gate)
		assert_int_equal(idt_iommu_set_gate(r->iommu, DEV, true), 0);
}

static void rig_close(struct rig *r)
{
	assert_int_equal(idt_iommu_detach(r->iommu, DEV), 0);
	assert_int_equal(idt_iommu_destroy(r->iommu), 0);
	idt_pt_destroy(r->pt);
	free(r->mem);
}

static struct idt_iommu_counters counters(const struct rig *r)
{
	struct idt_iommu_counters c;

	idt_iommu_get_counters(r->iommu, &c);
	return c;
}

static uint64_t *leaf_item(const struct rig *r, uint64_t iova)
{
	struct idt_pt_leaf leaf;

	assert_int_equal(idt_pt_lookup(r->pt, iova, &leaf), 0);
	return leaf.item;
}

static uint64_t load(const uint64_t *item)
{
	return __atomic_load_n(item, __ATOMIC_SEQ_CST);
}

static void store(uint64_t *item, uint64_t value)
{
	__atomic_store_n(item, value, __ATOMIC_SEQ_CST);
}

/* The items on the walk to iova, root first; returns how many (leaf last). */
static unsigned int walk_items(const struct rig *r, uint64_t iova, uint64_t **items)
{
	struct idt_pt_info info;
	struct idt_pt_leaf leaf;
	uint64_t *table;
	unsigned int n = 0;

	idt_pt_get_info(r->pt, &info);
	assert_int_equal(idt_pt_lookup(r->pt, iova, &leaf), 0);
	table = (uint64_t *)(uintptr_t)info.root;
	for (unsigned int level = info.levels - 1;; level--) {
		unsigned int shift = info.granule_lg2 + 9 * level;
		unsigned int bits = level == info.levels - 1 ? info.iova_width - shift : 9;
		uint64_t *item = &table[(iova >> shift) & (BIT(bits) - 1)];

		items[n++] = item;
		if (level == leaf.level) {
			assert_ptr_equal(item, leaf.item);
			return n;
		}
		table = (uint64_t *)(uintptr_t)table_addr(r->format, load(item));
	}
}

static void snapshot(uint64_t *const *items, unsigned int n, uint64_t *values)
{
	for (unsigned int i = 0; i < n; i++)
		values[i] = load(items[i]);
}

static void expect_unchanged(uint64_t *const *items, unsigned int n, const uint64_t *values)
{
	for (unsigned int i = 0; i < n; i++)
		assert_u64(load(items[i]), values[i]);
}

static size_t dma_write(const struct rig *r, uint64_t iova, const void *buf, size_t len,
			struct idt_fault *fault)
{
	return idt_dma_write(r->iommu, DEV, iova, buf, len, fault);
}

static void write_ok(const struct rig *r, uint64_t iova, uint8_t byte, size_t len)
{
	uint8_t buf[SZ_4K];
	struct idt_fault fault;

	assert_true(len <= sizeof(buf));
	memset(buf, byte, len);
	assert_int_equal(dma_write(r, iova, buf, len, &fault), len);
	assert_int_equal(fault.kind, IDT_FAULT_NONE);
	assert_memory_equal(r->mem + (iova - IOVA0), buf, len);
}

static void read_ok(const struct rig *r, uint64_t iova, size_t len)
{
	uint8_t buf[SZ_4K];
	struct idt_fault fault;

	assert_int_equal(idt_dma_read(r->iommu, DEV, iova, buf, len, &fault), len);
	assert_int_equal(fault.kind, IDT_FAULT_NONE);
	assert_memory_equal(buf, r->mem + (iova - IOVA0), len);
}

/* A write that must fault with kind, moving nothing; returns the record. */
static struct idt_fault write_faults(const struct rig *r, uint64_t iova, enum idt_fault_kind kind)
{
	uint8_t buf[64], before[64];
	struct idt_fault fault;

	memset(buf, 0x11, sizeof(buf));
	memcpy(before, r->mem + (iova - IOVA0), sizeof(before));
	assert_int_equal(dma_write(r, iova, buf, sizeof(buf), &fault), 0);
	assert_int_equal(fault.kind, kind);
	assert_int_equal(fault.device_id, DEV);
	assert_u64(fault.iova, iova);
	assert_int_equal(fault.access, IDT_ACCESS_WRITE);
	assert_memory_equal(r->mem + (iova - IOVA0), before, sizeof(before));
	return fault;
}

static struct idt_fault read_faults(const struct rig *r, uint64_t iova, enum idt_fault_kind kind)
{
	uint8_t buf[64], before[64];
	struct idt_fault fault;

	memset(buf, 0x5a, sizeof(buf));
	memcpy(before, buf, sizeof(buf));
	assert_int_equal(idt_dma_read(r->iommu, DEV, iova, buf, sizeof(buf), &fault), 0);
	assert_int_equal(fault.kind, kind);
	assert_int_equal(fault.access, IDT_ACCESS_READ);
	assert_memory_equal(buf, before, sizeof(buf)); /* the buffer is untouched */
	return fault;
}

/* Harvests [first_iova, + npages pages) at 4 KiB into reported[]. */
static void harvest(const struct rig *r, uint64_t first_iova, unsigned int npages,
		    unsigned int flags, enum idt_rcd_algo algo, bool *reported)
{
	uint8_t data[64] = { 0 };
	struct idt_bitmap bitmap;

	assert_true(npages <= 8 * sizeof(data));
	assert_int_equal(idt_bitmap_init(&bitmap, first_iova, npages * SZ_4K, SZ_4K, data), 0);
	assert_int_equal(idt_iommu_harvest(r->iommu, TAG, r->pt, first_iova, npages * SZ_4K, flags,
					   &bitmap, algo),
			 0);
	for (unsigned int i = 0; i < npages; i++)
		reported[i] = idt_bitmap_test(&bitmap, i);
}

static bool harvest_one(const struct rig *r, uint64_t iova, unsigned int flags)
{
	bool reported;

	harvest(r, iova, 1, flags, IDT_RCD_IODIRTY, &reported);
	return reported;
}

/* ARM and RISC-V writable leaves start dirty: clean them (iommufd's
 * enable-time pass) with a NULL-bitmap harvest, which also invalidates. */
static void clean_range(const struct rig *r, uint64_t iova, uint64_t size)
{
	assert_int_equal(idt_iommu_harvest(r->iommu, TAG, r->pt, iova, size, 0, NULL,
					   IDT_RCD_IODIRTY),
			 0);
}

static void clean_all(const struct rig *r)
{
	clean_range(r, IOVA0, MEM_SIZE);
}

/* ===========================================================================
 * Per format: writes, reads, read-only pages, the gate off
 */

/* A DMA write sets D in the leaf, and A where the format says (2.3). */
static void write_sets_d_and_a(uint32_t format)
{
	struct rig_opts o = { .gate = true };
	uint64_t *items[8], before[8], *neighbour;
	uint64_t neighbour_before;
	struct idt_iommu_counters c;
	unsigned int n, leaf;
	struct rig r;

	rig_open(&r, format, &o);
	clean_all(&r);
	n = walk_items(&r, PAGE(3), items);
	leaf = n - 1;
	snapshot(items, n, before);
	neighbour = leaf_item(&r, PAGE(4));
	neighbour_before = load(neighbour);
	assert_false(raw_dirty(format, before[leaf]));
	c = counters(&r);

	write_ok(&r, PAGE(3) + 0x40, 0xa1, 64);

	switch (format) {
	case IDT_PT_AMDV1: /* A in every PDE walked and in the leaf item, D in the leaf */
		for (unsigned int i = 0; i < leaf; i++)
			assert_u64(load(items[i]), before[i] | AMD_A);
		assert_u64(load(items[leaf]), before[leaf] | AMD_A | AMD_D);
		break;
	case IDT_PT_VTDSS: /* A in every entry walked, D in the leaf */
		for (unsigned int i = 0; i < leaf; i++)
			assert_u64(load(items[i]), before[i] | VTD_A);
		assert_u64(load(items[leaf]), before[leaf] | VTD_A | VTD_D);
		break;
	case IDT_PT_ARM_S1: /* AF preset; the write clears AP[2]; tables have no AF */
		assert_true(before[leaf] & ARM_AF);
		expect_unchanged(items, leaf, before);
		assert_u64(load(items[leaf]), before[leaf] & ~ARM_AP2);
		break;
	default: /* A preset at map; D set in the leaf only */
		assert_true(before[leaf] & RV_A);
		expect_unchanged(items, leaf, before);
		assert_u64(load(items[leaf]), before[leaf] | RV_D);
		break;
	}
	assert_true(raw_dirty(format, load(items[leaf])));
	assert_u64(load(neighbour), neighbour_before);

	/* one miss, one walk, its updates: PDEs and leaf (AMD, VT-d) or the leaf */
	{
		struct idt_iommu_counters after = counters(&r);

		assert_u64(after.misses - c.misses, 1);
		assert_u64(after.walks - c.walks, 1);
		assert_u64(after.hits - c.hits, 0);
		assert_u64(after.ad_updates - c.ad_updates,
			   format == IDT_PT_AMDV1 || format == IDT_PT_VTDSS ? n : 1);
		assert_u64(after.dma_bytes - c.dma_bytes, 64);
	}
	/* the same page again: an IOTLB hit with d = 1 touches nothing */
	snapshot(items, n, before);
	write_ok(&r, PAGE(3), 0xa2, 8);
	expect_unchanged(items, n, before);
	assert_u64(counters(&r).hits - c.hits, 1);
	rig_close(&r);
}

/* A DMA read sets A only (where A is preset, it is cleared raw first). */
static void read_sets_a_only(uint32_t format)
{
	struct rig_opts o = { .gate = true };
	uint64_t *items[8], before[8];
	struct idt_iommu_counters c;
	unsigned int n, leaf;
	struct rig r;

	rig_open(&r, format, &o);
	clean_all(&r);
	n = walk_items(&r, PAGE(5), items);
	leaf = n - 1;
	store(items[leaf], load(items[leaf]) & ~leaf_a_bit(format));
	snapshot(items, n, before);

	read_ok(&r, PAGE(5) + 8, 100);

	for (unsigned int i = 0; i < leaf; i++)
		assert_u64(load(items[i]), before[i] | (format == IDT_PT_AMDV1	 ? AMD_A
							: format == IDT_PT_VTDSS ? VTD_A
										 : 0));
	assert_u64(load(items[leaf]), before[leaf] | leaf_a_bit(format));
	assert_false(raw_dirty(format, load(items[leaf])));

	/* the read cached d = 0, t = 1: a write drops the entry and re-walks */
	c = counters(&r);
	write_ok(&r, PAGE(5) + 8, 0x5d, 8);
	assert_true(raw_dirty(format, load(items[leaf])));
	assert_u64(counters(&r).hits - c.hits, 0);
	assert_u64(counters(&r).walks - c.walks, 1);
	rig_close(&r);
}

/* A write to a read-only page faults, writes nothing, sets nothing and
 * caches nothing (hardware.md 3, test-cases.md HW-13; HW-05 for AMD and
 * VT-d: the fresh PDEs show that no A was set anywhere either). */
static void write_to_read_only_faults(uint32_t format)
{
	struct rig_opts o = { .gate = true, .unmapped = true };
	uint64_t *items[8], before[8];
	struct idt_pt_walk_result res;
	struct idt_fault fault, queued;
	unsigned int n;
	struct rig r;

	rig_open(&r, format, &o);
	assert_int_equal(idt_pt_map(r.pt, PAGE(0), host(r.mem), SZ_4K, IDT_PROT_READ), 0);
	n = walk_items(&r, PAGE(0), items);
	snapshot(items, n, before);

	fault = write_faults(&r, PAGE(0) + 0x10, IDT_FAULT_PERMISSION);
	assert_int_equal(fault.level, 0);
	assert_u64(fault.item, before[n - 1]);
	assert_int_equal(fault.cause, format == IDT_PT_RISCV ? 15 : 0);
	expect_unchanged(items, n, before);
	assert_int_equal(idt_iommu_drain_faults(r.iommu, &queued, 1), 1);
	assert_memory_equal(&queued, &fault, sizeof(fault));

	/* nothing was cached: the next translation misses */
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, PAGE(0), IDT_ACCESS_READ, &res), 0);
	assert_int_equal(res.fault, IDT_FAULT_NONE);
	assert_u64(counters(&r).hits, 0);
	assert_u64(counters(&r).misses, 2);
	assert_false(raw_dirty(format, load(items[n - 1])));
	rig_close(&r);
}

/* Gate off (2.3): AMD/VT-d write with no A/D change; ARM HD = 0 makes a
 * writable-clean page read-only; RISC-V faults when an update is needed. */
static void gate_off(uint32_t format)
{
	struct rig_opts o = { 0 };
	uint64_t *items[8], before[8];
	struct idt_fault fault;
	unsigned int n, leaf;
	struct rig r;

	rig_open(&r, format, &o);
	clean_all(&r);
	n = walk_items(&r, PAGE(2), items);
	leaf = n - 1;
	snapshot(items, n, before);
	switch (format) {
	case IDT_PT_AMDV1:
	case IDT_PT_VTDSS:
		write_ok(&r, PAGE(2), 0x33, 128);
		read_ok(&r, PAGE(2), 128);
		break;
	/* reads first: the write then finds a cached clean entry, and must
	 * still fault rather than use it */
	case IDT_PT_ARM_S1:
		read_ok(&r, PAGE(2), 128); /* AF is preset */
		fault = write_faults(&r, PAGE(2), IDT_FAULT_PERMISSION);
		assert_u64(fault.item, before[leaf]);
		break;
	default:
		read_ok(&r, PAGE(2), 128); /* A is preset */
		fault = write_faults(&r, PAGE(2), IDT_FAULT_AD_DISABLED);
		assert_int_equal(fault.cause, 15);
		/* software clears A, then must invalidate (RISC-V spec, hardware.md 5) */
		before[leaf] &= ~RV_A;
		store(items[leaf], before[leaf]);
		idt_iommu_invalidate_range(r.iommu, TAG, PAGE(2), PAGE(3) - 1);
		fault = read_faults(&r, PAGE(2), IDT_FAULT_AD_DISABLED);
		assert_int_equal(fault.cause, 13);
		break;
	}
	expect_unchanged(items, n, before);
	rig_close(&r);
}

static void per_format(void (*fn)(uint32_t))
{
	for (size_t i = 0; i < N_FORMATS; i++)
		fn(all_formats[i]);
}

static void test_write_sets_d_and_a(void **state)
{
	(void)state;
	per_format(write_sets_d_and_a);
}

static void test_read_sets_a_only(void **state)
{
	(void)state;
	per_format(read_sets_a_only);
}

static void test_write_to_read_only_faults(void **state)
{
	(void)state;
	per_format(write_to_read_only_faults);
}

static void test_gate_off(void **state)
{
	(void)state;
	per_format(gate_off);
}

/* ===========================================================================
 * AMD replicated pages (formats.md 2.4 worked example 1, hardware.md 2.4)
 */

#define EX1_IOVA 0x40018000ull
#define EX1_WRITE_IOVA 0x4001a123ull
/* PR | NL = 7 (0xE00) | 0x1234_0000 | ones in bits 12-13 | FC | IR | IW */
#define EX1_ITEM 0x7000000012343e01ull
/* ... with A (bit 5) and D (bit 6) */
#define EX1_ITEM_AD 0x7000000012343e61ull

static void ex1_rig(struct rig *r, uint32_t iommu_flags, uint64_t seed)
{
	struct rig_opts o = {
		.gate = true,
		.unmapped = true,
		.iova_width = 39, /* mode 3 */
		.page_sizes = SZ_4K | SZ_32K,
		.iommu_flags = iommu_flags,
		.seed = seed,
	};

	rig_open(r, IDT_PT_AMDV1, &o);
}

/* A translation-only write request at the worked example's PA sets A and D
 * in item 26 only: 0x7000_0000_1234_3E61; items 24, 25, 27-31 unchanged. */
static void test_amd_example1_translate_sets_walked_replica(void **state)
{
	struct idt_pt_walk_result res;
	struct rig r;

	(void)state;
	ex1_rig(&r, 0, 0);
	assert_int_equal(idt_pt_map(r.pt, EX1_IOVA, 0x12340000ull, SZ_32K, RW), 0);
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, EX1_WRITE_IOVA, IDT_ACCESS_WRITE, &res),
			 0);
	assert_int_equal(res.fault, IDT_FAULT_NONE);
	assert_u64(res.oa, 0x12342123ull);
	assert_u64(res.page_iova, EX1_IOVA);
	assert_u64(res.page_oa, 0x12340000ull);
	assert_int_equal(res.size_lg2, 15);
	assert_int_equal(res.prot, RW);
	assert_true(res.dirty);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(load(leaf_item(&r, EX1_IOVA + i * SZ_4K)),
			   i == 2 ? EX1_ITEM_AD : EX1_ITEM);
	assert_int_equal(idt_iommu_drain_faults(r.iommu, &(struct idt_fault){ 0 }, 1), 0);
	rig_close(&r);
}

/* The same page in guest memory: a DMA write marks only the walked replica,
 * and a harvest reports all 8 pages and cleans every replica. */
static void test_amd_replica_dma_and_harvest(void **state)
{
	bool reported[10];
	struct rig r;

	(void)state;
	ex1_rig(&r, 0, 0);
	assert_int_equal(idt_pt_map(r.pt, EX1_IOVA, host(r.mem) + (EX1_IOVA - IOVA0), SZ_32K, RW),
			 0);
	write_ok(&r, EX1_WRITE_IOVA, 0x77, 16);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(!!(load(leaf_item(&r, EX1_IOVA + i * SZ_4K)) & AMD_D), i == 2);
	/* one page before and one after: only the 8 pages of the entry */
	harvest(&r, EX1_IOVA - SZ_4K, 10, 0, IDT_RCD_IODIRTY, reported);
	for (unsigned int i = 0; i < 10; i++)
		assert_int_equal(reported[i], i >= 1 && i <= 8);
	for (unsigned int i = 0; i < 8; i++)
		assert_false(load(leaf_item(&r, EX1_IOVA + i * SZ_4K)) & AMD_D);
	rig_close(&r);
}

/* PT-01: in random-replica mode D lands in any replica, and every harvest,
 * with each algorithm, still reports exactly the 8 pages. */
static void test_pt01_random_replica_reports_whole_page(void **state)
{
	static const enum idt_rcd_algo algos[] = { IDT_RCD_IODIRTY, IDT_RCD_GENERIC_PT,
						   IDT_RCD_LEGACY };
	unsigned int replicas_hit = 0;
	uint64_t rng = 0x5eed;
	struct rig r;

	(void)state;
	ex1_rig(&r, IDT_IOMMU_RANDOM_REPLICA, 42);
	assert_int_equal(idt_pt_map(r.pt, EX1_IOVA, host(r.mem) + (EX1_IOVA - IOVA0), SZ_32K, RW),
			 0);
	for (unsigned int iter = 0; iter < 300; iter++) {
		uint64_t offset;
		unsigned int dirty_items = 0;
		bool reported[8];

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		/* 8-aligned: one transaction, so one walk, so one replica */
		offset = ((rng >> 33) % SZ_32K) & ~7ull;
		write_ok(&r, EX1_IOVA + offset, (uint8_t)iter, 8);
		for (unsigned int i = 0; i < 8; i++)
			if (load(leaf_item(&r, EX1_IOVA + i * SZ_4K)) & AMD_D) {
				dirty_items++;
				replicas_hit |= 1u << i;
			}
		assert_int_equal(dirty_items, 1);
		harvest(&r, EX1_IOVA, 8, 0, algos[iter % 3], reported);
		for (unsigned int i = 0; i < 8; i++) {
			assert_true(reported[i]);
			assert_false(load(leaf_item(&r, EX1_IOVA + i * SZ_4K)) & AMD_D);
		}
	}
	/* the seeded choice spreads over the run (all 8 with this seed) */
	assert_int_equal(replicas_hit, 0xff);
	rig_close(&r);
}

/* ===========================================================================
 * The harvest protocol and the IOTLB's dirty state
 */

/* HW-01: a clean without invalidation loses the next write through a cached
 * d = 1; with the invalidation it is reported.  Both directions. */
static void missing_flush(uint32_t format, bool forget)
{
	struct rig_opts o = { .gate = true, .iommu_flags = forget ? IDT_IOMMU_FORGET_FLUSH : 0 };
	struct rig r;

	rig_open(&r, format, &o);
	clean_all(&r);
	write_ok(&r, PAGE(7), 0x01, 64);
	assert_true(harvest_one(&r, PAGE(7), 0));
	write_ok(&r, PAGE(7), 0x02, 64);
	/* with the flush forgotten the write hit d = 1 and left memory clean */
	assert_int_equal(raw_dirty(format, load(leaf_item(&r, PAGE(7)))), !forget);
	assert_int_equal(harvest_one(&r, PAGE(7), 0), !forget);
	rig_close(&r);
}

static void missing_flush_both(uint32_t format)
{
	missing_flush(format, true);
	missing_flush(format, false);
}

static void test_hw01_missing_flush_loses_write(void **state)
{
	(void)state;
	per_format(missing_flush_both);
}

/* HW-02: NO_CLEAR reports without clearing and invalidates nothing; the
 * clearing harvest invalidates once; an empty gather invalidates nothing. */
static void no_clear_skips_flush(uint32_t format)
{
	struct rig_opts o = { .gate = true };
	uint64_t before;
	struct rig r;

	rig_open(&r, format, &o);
	clean_all(&r);
	write_ok(&r, PAGE(1), 0x42, 8);
	before = counters(&r).invalidations;
	assert_true(harvest_one(&r, PAGE(1), IDT_DIRTY_NO_CLEAR));
	assert_true(harvest_one(&r, PAGE(1), IDT_DIRTY_NO_CLEAR));
	assert_u64(counters(&r).invalidations, before);
	assert_true(harvest_one(&r, PAGE(1), 0));
	assert_u64(counters(&r).invalidations, before + 1);
	assert_false(harvest_one(&r, PAGE(1), 0));
	assert_u64(counters(&r).invalidations, before + 1);
	rig_close(&r);
}

static void test_hw02_no_clear_skips_flush(void **state)
{
	(void)state;
	per_format(no_clear_skips_flush);
}

/* HW-07: a write through a cached d = 1 between clear and invalidate lands
 * before the copy, and its page was reported in that round. */
static void test_hw07_sneak_write_is_harmless(void **state)
{
	struct rig_opts o = { .gate = true };
	struct idt_gather gather;
	uint8_t data[64] = { 0 }, copy[SZ_4K];
	struct idt_bitmap bitmap;
	struct idt_dirty_record record = { &bitmap, &gather };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_VTDSS, &o);
	write_ok(&r, PAGE(9), 0x01, SZ_4K); /* cached with d = 1 */
	/* steps 1 and 2: record and clear */
	idt_gather_init(&gather);
	assert_int_equal(idt_bitmap_init(&bitmap, PAGE(9), SZ_4K, SZ_4K, data), 0);
	assert_int_equal(idt_pt_read_and_clear_dirty(r.pt, PAGE(9), SZ_4K, 0, &record,
						     IDT_RCD_GENERIC_PT),
			 0);
	assert_true(idt_bitmap_test(&bitmap, 0));
	/* the sneak write: an IOTLB hit, no page-table update */
	write_ok(&r, PAGE(9) + 100, 0x02, 200);
	assert_false(load(leaf_item(&r, PAGE(9))) & VTD_D);
	/* steps 3 and 4, then 5: the copy holds the sneak write */
	idt_iommu_sync_gather(r.iommu, TAG, &gather);
	assert_true(idt_gather_empty(&gather));
	idt_guest_copy(copy, r.mem + (PAGE(9) - IOVA0), SZ_4K);
	assert_memory_equal(copy, r.mem + (PAGE(9) - IOVA0), SZ_4K);
	assert_int_equal(copy[100], 0x02);
	/* the next round does not report P, unless written after the sync */
	assert_false(harvest_one(&r, PAGE(9), 0));
	write_ok(&r, PAGE(9), 0x03, 8);
	assert_true(harvest_one(&r, PAGE(9), 0));
	rig_close(&r);
}

/* ===========================================================================
 * HW-03: the CAS against a concurrent software change (pre-CAS hook)
 */

enum cas_change { CHANGE_CLEAR_AD, CHANGE_UNMAP, CHANGE_REMAP, CHANGE_READ_ONLY };

struct cas_layout {
	uint32_t format;
	uint64_t a, d, w, ignored, addr;
};

static const struct cas_layout cas_layouts[] = {
	{ IDT_PT_AMDV1, AMD_A, AMD_D, AMD_IW, AMD_IGNORED, AMD_ADDR },
	/* VT-d bit 10 is ignored by hardware (software bit 0) */
	{ IDT_PT_VTDSS, VTD_A, VTD_D, VTD_W, BIT(10), 0x000ffffffffff000ull },
};

struct cas_hook {
	const struct cas_layout *layout;
	enum cas_change change;
	uint64_t new_oa;
	unsigned int fired;
	uint64_t written; /* what software stored */
};

/* Software's change between the walk's read of the leaf and its CAS, once. */
static void cas_hook_fn(void *arg, uint64_t *item, unsigned int level)
{
	struct cas_hook *h = arg;
	const struct cas_layout *l = h->layout;
	uint64_t v = load(item);

	if (level != 0 || h->fired++)
		return;
	switch (h->change) {
	case CHANGE_CLEAR_AD:
		h->written = (v & ~(l->a | l->d)) | l->ignored;
		break;
	case CHANGE_UNMAP:
		h->written = 0;
		break;
	case CHANGE_REMAP:
		h->written = (v & ~l->addr) | (h->new_oa & l->addr);
		break;
	case CHANGE_READ_ONLY:
		h->written = v & ~l->w;
		break;
	}
	store(item, h->written);
}

static void cas_case(const struct cas_layout *l, enum cas_change change)
{
	struct rig_opts o = { .gate = true };
	struct cas_hook h = { .layout = l, .change = change };
	uint64_t *items[8], before[8], *leaf;
	uint8_t old_page[SZ_4K];
	struct idt_fault fault;
	uint8_t buf[32];
	unsigned int n;
	struct rig r;

	rig_open(&r, l->format, &o);
	h.new_oa = host(r.mem) + 64 * SZ_4K;
	read_ok(&r, PAGE(3), 8); /* A everywhere: only the leaf's D is left to set */
	n = walk_items(&r, PAGE(3), items);
	leaf = items[n - 1];
	snapshot(items, n, before);
	memcpy(old_page, r.mem + 3 * SZ_4K, SZ_4K);
	idt_iommu_set_walk_hooks(r.iommu, &(struct idt_pt_walk_hooks){ .pre_cas = cas_hook_fn,
								       .arg = &h });
	memset(buf, 0xc3, sizeof(buf));
	dma_write(&r, PAGE(3) + 16, buf, sizeof(buf), &fault);
	idt_iommu_set_walk_hooks(r.iommu, NULL);
	assert_true(h.fired >= 1);
	expect_unchanged(items, n - 1, before); /* the tables were not touched */
	assert_true(counters(&r).cas_retries >= 1);

	switch (change) {
	case CHANGE_CLEAR_AD: /* the retry sets A and D in the new value */
		assert_int_equal(fault.kind, IDT_FAULT_NONE);
		assert_u64(load(leaf), h.written | l->a | l->d);
		assert_memory_equal(r.mem + 3 * SZ_4K + 16, buf, sizeof(buf));
		break;
	case CHANGE_UNMAP:
		assert_int_equal(fault.kind, IDT_FAULT_NOT_PRESENT);
		assert_int_equal(fault.level, 0);
		assert_u64(load(leaf), 0);
		assert_memory_equal(r.mem + 3 * SZ_4K, old_page, SZ_4K);
		break;
	case CHANGE_REMAP: /* the write lands at the new output address */
		assert_int_equal(fault.kind, IDT_FAULT_NONE);
		assert_u64(load(leaf), h.written | l->d);
		assert_memory_equal(r.mem + 64 * SZ_4K + 16, buf, sizeof(buf));
		assert_memory_equal(r.mem + 3 * SZ_4K, old_page, SZ_4K);
		break;
	case CHANGE_READ_ONLY:
		assert_int_equal(fault.kind, IDT_FAULT_PERMISSION);
		assert_u64(load(leaf), h.written);
		assert_memory_equal(r.mem + 3 * SZ_4K, old_page, SZ_4K);
		break;
	}
	rig_close(&r);
}

static void test_hw03_cas_against_software_change(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cas_layouts) / sizeof(cas_layouts[0]); i++) {
		cas_case(&cas_layouts[i], CHANGE_CLEAR_AD);
		cas_case(&cas_layouts[i], CHANGE_UNMAP);
		cas_case(&cas_layouts[i], CHANGE_REMAP);
		cas_case(&cas_layouts[i], CHANGE_READ_ONLY);
	}
}

/* HW-06: a RISC-V translation-only request for write on a read-only page
 * returns no write permission and sets A only; a DMA write still faults. */
static void test_hw06_riscv_translate_write_on_read_only(void **state)
{
	struct rig_opts o = { .gate = true, .unmapped = true };
	struct idt_pt_walk_result res;
	uint64_t *leaf;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_RISCV, &o);
	assert_int_equal(idt_pt_map(r.pt, PAGE(0), host(r.mem), SZ_4K, IDT_PROT_READ), 0);
	leaf = leaf_item(&r, PAGE(0));
	store(leaf, load(leaf) & ~RV_A);
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, PAGE(0) + 0x20, IDT_ACCESS_WRITE, &res),
			 0);
	assert_int_equal(res.fault, IDT_FAULT_NONE);
	assert_int_equal(res.prot, IDT_PROT_READ);
	assert_u64(res.oa, host(r.mem) + 0x20);
	assert_true(load(leaf) & RV_A);
	assert_false(load(leaf) & (RV_D | RV_W));
	assert_int_equal(idt_iommu_drain_faults(r.iommu, &(struct idt_fault){ 0 }, 1), 0);
	assert_int_equal(write_faults(&r, PAGE(0), IDT_FAULT_PERMISSION).cause, 15);
	rig_close(&r);
}

/* HW-12: hardware never clears A or D (ARM: never sets AP[2]), however
 * many accesses walk the page. */
static void ad_sticky(uint32_t format)
{
	struct rig_opts o = { .gate = true, .no_iotlb = 1 };
	uint64_t *leaf, value;
	struct rig r;

	rig_open(&r, format, &o);
	clean_all(&r);
	write_ok(&r, PAGE(4), 0x01, 8);
	leaf = leaf_item(&r, PAGE(4));
	value = load(leaf);
	assert_true(raw_accessed(format, value) && raw_dirty(format, value));
	for (unsigned int i = 0; i < 1000; i++) {
		if (i % 2)
			write_ok(&r, PAGE(4) + 8 * (i % 64), (uint8_t)i, 8);
		else
			read_ok(&r, PAGE(4), 8);
	}
	assert_u64(load(leaf), value);
	assert_u64(counters(&r).walks, 1001);
	rig_close(&r);
}

static void test_hw12_ad_are_sticky(void **state)
{
	(void)state;
	per_format(ad_sticky);
}

/* ARM with HA = 0: a leaf with AF = 0 takes an access-flag fault. */
static void test_arm_access_flag_fault(void **state)
{
	struct rig_opts o = { 0 };
	uint64_t *leaf, value;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_ARM_S1, &o);
	leaf = leaf_item(&r, PAGE(8));
	value = load(leaf) & ~ARM_AF;
	store(leaf, value);
	assert_int_equal(read_faults(&r, PAGE(8), IDT_FAULT_ACCESS_FLAG).level, 0);
	assert_u64(load(leaf), value);
	assert_int_equal(idt_iommu_set_gate(r.iommu, DEV, true), 0); /* HA = 1 sets it */
	read_ok(&r, PAGE(8), 8);
	assert_u64(load(leaf), value | ARM_AF);
	rig_close(&r);
}

/* PT-08 through DMA: A set in a RISC-V non-leaf item is malformed; the
 * read faults with cause 13 and nothing is written. */
static void test_riscv_non_leaf_a_is_malformed(void **state)
{
	struct rig_opts o = { .gate = true };
	uint64_t *items[8], before[8];
	struct idt_fault fault;
	unsigned int n;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_RISCV, &o);
	n = walk_items(&r, PAGE(0), items);
	store(items[n - 2], load(items[n - 2]) | RV_A);
	snapshot(items, n, before);
	fault = read_faults(&r, PAGE(0), IDT_FAULT_MALFORMED);
	assert_int_equal(fault.level, 1);
	assert_u64(fault.item, before[n - 2]);
	assert_int_equal(fault.cause, 13);
	expect_unchanged(items, n, before);
	store(items[n - 2], before[n - 2] & ~RV_A); /* so that destroy frees the child */
	rig_close(&r);
}

/* ===========================================================================
 * Contexts and gates
 */

static uint64_t context_word(const struct rig *r, uint32_t device_id)
{
	uint64_t word0 = 0;

	assert_int_equal(idt_iommu_context_read(r->iommu, device_id, &word0), 0);
	return word0;
}

/* Attach writes word 0 at the format's bit positions; the gate sets and
 * clears exactly its bits. */
static void test_context_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FORMATS; i++) {
		uint32_t format = all_formats[i];
		struct rig_opts o = { 0 };
		struct idt_pt_info info;
		uint64_t expected, gate;
		struct rig r;

		rig_open(&r, format, &o);
		idt_pt_get_info(r.pt, &info);
		assert_int_equal(info.levels, 4);
		switch (format) {
		case IDT_PT_AMDV1: /* V | TV | Mode 4 | root | IR | IW */
			expected = DTE_V | DTE_TV | (4ull << DTE_MODE_SHIFT) | info.root | DTE_IR |
				   DTE_IW;
			gate = 3ull << DTE_HAD_SHIFT;
			break;
		case IDT_PT_VTDSS: /* P | AW 2 (48-bit) | PGTT 2 | root */
			expected = PE_P | (2ull << PE_AW_SHIFT) | (2ull << PE_PGTT_SHIFT) | info.root;
			gate = PE_SSADE;
			break;
		case IDT_PT_ARM_S1: /* T0SZ 16 | V | AA64 */
			expected = 16 | CD_V | CD_AA64;
			gate = CD_HA | CD_HD;
			break;
		default:
			expected = TC_V;
			gate = TC_SADE;
			break;
		}
		assert_u64(context_word(&r, DEV), expected);
		assert_int_equal(idt_iommu_set_gate(r.iommu, DEV, true), 0);
		assert_u64(context_word(&r, DEV), expected | gate);
		assert_int_equal(idt_iommu_set_gate(r.iommu, DEV, false), 0);
		assert_u64(context_word(&r, DEV), expected);
		rig_close(&r);
	}
}

/* The capability bits of formats.md 6, and set_gate refused without D. */
static void test_dirty_capability(void **state)
{
	static const struct {
		uint32_t format;
		uint64_t cap;
		bool capable;
	} cases[] = {
		{ IDT_PT_AMDV1, IDT_AMD_EFR_HDSUP, true },
		{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP, false },
		{ IDT_PT_VTDSS, IDT_VTD_ECAP_SMTS | IDT_VTD_ECAP_SSADS, true },
		{ IDT_PT_VTDSS, IDT_VTD_ECAP_SSADS, false }, /* not scalable mode */
		{ IDT_PT_VTDSS, IDT_VTD_ECAP_SMTS, false },
		{ IDT_PT_ARM_S1, IDT_ARM_IDR0_HTTU_HAD, true },
		{ IDT_PT_ARM_S1, IDT_ARM_IDR0_HTTU_HA, false },
		{ IDT_PT_RISCV, IDT_RISCV_CAP_AMO_HWAD, true },
		{ IDT_PT_RISCV, 0, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig_opts o = { .cap_given = true, .cap = cases[i].cap };
		struct rig r;

		rig_open(&r, cases[i].format, &o);
		assert_int_equal(idt_iommu_dirty_capable(r.iommu), cases[i].capable);
		assert_int_equal(idt_iommu_set_gate(r.iommu, DEV, true),
				 cases[i].capable ? 0 : -EOPNOTSUPP);
		rig_close(&r);
	}
}

/* idt_iommu_capability gives the registers above: Access updates always,
 * Dirty updates exactly when asked for. */
static void test_capability_register(void **state)
{
	static const struct {
		uint32_t format;
		uint64_t dirty, access_only;
	} expect[] = {
		{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, IDT_AMD_EFR_HASUP },
		{ IDT_PT_VTDSS, IDT_VTD_ECAP_SMTS | IDT_VTD_ECAP_SSADS, IDT_VTD_ECAP_SMTS },
		{ IDT_PT_ARM_S1, IDT_ARM_IDR0_HTTU_HAD, IDT_ARM_IDR0_HTTU_HA },
		{ IDT_PT_RISCV, IDT_RISCV_CAP_AMO_HWAD, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		struct rig_opts o = { .cap_given = true };
		struct rig r;

		assert_int_equal(idt_iommu_capability(expect[i].format, true), expect[i].dirty);
		assert_int_equal(idt_iommu_capability(expect[i].format, false),
				 expect[i].access_only);
		for (int dirty = 0; dirty <= 1; dirty++) {
			o.cap = idt_iommu_capability(expect[i].format, dirty);
			rig_open(&r, expect[i].format, &o);
			assert_int_equal(idt_iommu_dirty_capable(r.iommu), dirty);
			rig_close(&r);
		}
	}
	assert_int_equal(idt_iommu_capability(99, true), 0);
}

/* HW-14 and the gate misconfigurations of formats.md 2.8, 3.5, 4.5, 5.6: a
 * context word written and invalidated; a DMA write then succeeds with the
 * given A/D effect, or takes a context fault with the given cause. */
struct context_case {
	uint32_t format;
	uint64_t cap;
	uint64_t set, clear; /* applied to the attach-time word */
	bool usable;
	bool sets_a, sets_d;
	uint32_t cause;
};

static const struct context_case context_cases[] = {
	/* AMD HAD (HW-14) */
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, 0, 0, true, false, false, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, 1ull << DTE_HAD_SHIFT, 0, true,
	  true, false, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, 3ull << DTE_HAD_SHIFT, 0, true,
	  true, true, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, 2ull << DTE_HAD_SHIFT, 0, false, false, false, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP, 3ull << DTE_HAD_SHIFT, 0, false, false, false, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HDSUP, 1ull << DTE_HAD_SHIFT, 0, false, false, false, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, 0, DTE_V, false, false, false, 0 },
	{ IDT_PT_AMDV1, IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP, 0, DTE_TV, false, false, false, 0 },
	/* VT-d */
	{ IDT_PT_VTDSS, IDT_VTD_ECAP_SMTS | IDT_VTD_ECAP_SSADS, PE_SSADE, 0, true, true, true, 0 },
	{ IDT_PT_VTDSS, IDT_VTD_ECAP_SMTS, PE_SSADE, 0, false, false, false, 0 },
	{ IDT_PT_VTDSS, 0, 0, PE_P, false, false, false, 0 },
	{ IDT_PT_VTDSS, 0, 1ull << PE_PGTT_SHIFT, 2ull << PE_PGTT_SHIFT, false, false, false, 0 }, /* first stage */
	{ IDT_PT_VTDSS, 0, 1ull << PE_AW_SHIFT, 2ull << PE_AW_SHIFT, false, false, false, 0 },     /* 39-bit AW */
	/* ARM (A is preset at map, so only D shows) */
	{ IDT_PT_ARM_S1, IDT_ARM_IDR0_HTTU_HAD, CD_HA | CD_HD, 0, true, true, true, 0 },
	{ IDT_PT_ARM_S1, IDT_ARM_IDR0_HTTU_HA, CD_HD, 0, false, false, false, 0 },
	{ IDT_PT_ARM_S1, 0, CD_HA, 0, false, false, false, 0 },
	{ IDT_PT_ARM_S1, 0, 0, CD_V, false, false, false, 0 },
	{ IDT_PT_ARM_S1, 0, 0, CD_AA64, false, false, false, 0 },
	{ IDT_PT_ARM_S1, 0, 25, 16, false, false, false, 0 }, /* T0SZ for IAS 39 on a 48-bit table */
	/* RISC-V: 258 DDT entry not valid, 259 misconfigured */
	{ IDT_PT_RISCV, IDT_RISCV_CAP_AMO_HWAD, TC_SADE, 0, true, true, true, 0 },
	{ IDT_PT_RISCV, 0, TC_SADE, 0, false, false, false, 259 },
	{ IDT_PT_RISCV, 0, BIT(7) /* GADE */, 0, false, false, false, 259 },
	{ IDT_PT_RISCV, IDT_RISCV_CAP_AMO_HWAD, 0, TC_V, false, false, false, 258 },
};

static void test_context_gate_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(context_cases) / sizeof(context_cases[0]); i++) {
		const struct context_case *c = &context_cases[i];
		struct rig_opts o = { .cap_given = true, .cap = c->cap };
		uint64_t *items[8], before[8];
		unsigned int n;
		struct rig r;

		rig_open(&r, c->format, &o);
		clean_all(&r);
		n = walk_items(&r, PAGE(0), items);
		if (c->format == IDT_PT_RISCV) /* make A's update visible too */
			store(items[n - 1], load(items[n - 1]) & ~RV_A);
		snapshot(items, n, before);
		assert_int_equal(idt_iommu_context_write(r.iommu, DEV, (context_word(&r, DEV) &
									~c->clear) |
									       c->set),
				 0);
		assert_int_equal(idt_iommu_invalidate_context(r.iommu, DEV), 0);
		idt_iommu_invalidate_domain(r.iommu, TAG);
		if (c->usable) {
			uint64_t leaf;

			write_ok(&r, PAGE(0), 0x5c, 8);
			leaf = load(items[n - 1]);
			assert_int_equal(raw_accessed(c->format, leaf),
					 c->sets_a || raw_accessed(c->format, before[n - 1]));
			assert_int_equal(raw_dirty(c->format, leaf), c->sets_d);
		} else {
			struct idt_fault fault = write_faults(&r, PAGE(0), IDT_FAULT_CONTEXT);

			assert_int_equal(fault.cause, c->cause);
			expect_unchanged(items, n, before);
		}
		rig_close(&r);
	}
}

/* AMD DTE.IR/IW are ANDed into every walk (formats.md 2.3). */
static void test_amd_dte_permissions(void **state)
{
	struct rig_opts o = { .gate = true };
	uint64_t *items[8], before[8];
	unsigned int n;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	assert_int_equal(idt_iommu_context_write(r.iommu, DEV, context_word(&r, DEV) & ~DTE_IW), 0);
	assert_int_equal(idt_iommu_invalidate_context(r.iommu, DEV), 0);
	n = walk_items(&r, PAGE(0), items);
	snapshot(items, n, before);
	write_faults(&r, PAGE(0), IDT_FAULT_PERMISSION);
	expect_unchanged(items, n, before);
	read_ok(&r, PAGE(0), 16);
	rig_close(&r);
}

/* The gate bits set_gate writes: AMD HAD = 11b, VT-d SSADE. */
static uint64_t gate_bits(uint32_t format)
{
	return format == IDT_PT_AMDV1 ? 3ull << DTE_HAD_SHIFT : PE_SSADE;
}

/* HW-09: a second device attached to the domain has the gate off until the
 * core sets it: without the gate its writes set no D; with it they do. */
static void hw09_second_device(uint32_t format)
{
	struct rig_opts o = { .gate = true };
	bool reported[3];
	struct rig r;

	rig_open(&r, format, &o);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV2, r.pt, TAG), 0);
	assert_u64(context_word(&r, DEV2) & gate_bits(format), 0);
	assert_int_equal(idt_dma_write(r.iommu, DEV2, PAGE(20), "y", 1, NULL), 1);
	assert_false(raw_dirty(format, load(leaf_item(&r, PAGE(20)))));
	assert_false(raw_accessed(format, load(leaf_item(&r, PAGE(20)))));

	assert_int_equal(idt_iommu_set_gate(r.iommu, DEV2, true), 0);
	assert_u64(context_word(&r, DEV2) & gate_bits(format), gate_bits(format));
	assert_int_equal(idt_dma_write(r.iommu, DEV2, PAGE(20), "y", 1, NULL), 1);
	write_ok(&r, PAGE(22), 0x58, 1);
	harvest(&r, PAGE(20), 3, 0, IDT_RCD_IODIRTY, reported);
	assert_true(reported[0]);
	assert_false(reported[1]);
	assert_true(reported[2]);
	assert_int_equal(idt_iommu_detach(r.iommu, DEV2), 0);
	rig_close(&r);
}

static void test_hw09_device_attached_later(void **state)
{
	(void)state;
	hw09_second_device(IDT_PT_AMDV1);
	hw09_second_device(IDT_PT_VTDSS);
}

/* R9: a gate enabled in memory without invalidation changes nothing; the
 * context invalidation alone leaves cached t = 0 entries skipping D; the
 * domain IOTLB invalidation completes the change. */
static void test_r9_gate_toggle_needs_invalidation(void **state)
{
	struct rig_opts o = { 0 };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	write_ok(&r, PAGE(1), 0x01, 8); /* cached with t = 0 */
	assert_int_equal(idt_iommu_context_write(r.iommu, DEV, context_word(&r, DEV) |
								       3ull << DTE_HAD_SHIFT),
			 0);
	write_ok(&r, PAGE(2), 0x02, 8);
	assert_false(load(leaf_item(&r, PAGE(2))) & (AMD_A | AMD_D));

	assert_int_equal(idt_iommu_invalidate_context(r.iommu, DEV), 0);
	write_ok(&r, PAGE(1), 0x03, 8);
	assert_false(load(leaf_item(&r, PAGE(1))) & (AMD_A | AMD_D));
	write_ok(&r, PAGE(3), 0x04, 8); /* not cached: the new gate applies */
	assert_u64(load(leaf_item(&r, PAGE(3))) & (AMD_A | AMD_D), AMD_A | AMD_D);

	idt_iommu_invalidate_domain(r.iommu, TAG);
	write_ok(&r, PAGE(1), 0x05, 8);
	assert_u64(load(leaf_item(&r, PAGE(1))) & (AMD_A | AMD_D), AMD_A | AMD_D);
	rig_close(&r);
}

/* AMD growth (formats.md 2.3): the context shows the new root and mode
 * after the context invalidation that follows the growth. */
static void test_amd_dynamic_top_context_update(void **state)
{
	struct rig_opts o = { .gate = true, .pt_flags = IDT_PT_DYNAMIC_TOP };
	const uint64_t high = 1ull << 40;
	struct idt_pt_info info;
	uint64_t word0, old_root;
	uint8_t back[8];
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	idt_pt_get_info(r.pt, &info);
	old_root = info.root;
	word0 = context_word(&r, DEV);
	assert_u64((word0 & DTE_MODE_MASK) >> DTE_MODE_SHIFT, 3);
	assert_u64(word0 & DTE_ROOT, old_root);

	assert_int_equal(idt_pt_map(r.pt, high, host(r.mem) + 100 * SZ_4K, SZ_4K, RW), 0);
	idt_pt_get_info(r.pt, &info);
	assert_int_equal(info.levels, 4);
	assert_u64(context_word(&r, DEV), word0); /* memory changes only on update */
	assert_int_equal(idt_iommu_invalidate_context(r.iommu, DEV), 0);
	word0 = context_word(&r, DEV);
	assert_u64((word0 & DTE_MODE_MASK) >> DTE_MODE_SHIFT, 4);
	assert_u64(word0 & DTE_ROOT, info.root);
	assert_true(info.root != old_root);

	assert_int_equal(idt_dma_write(r.iommu, DEV, high + 8, "grown", 5, NULL), 5);
	assert_memory_equal(r.mem + 100 * SZ_4K + 8, "grown", 5);
	assert_int_equal(idt_dma_read(r.iommu, DEV, high + 8, back, 5, NULL), 5);
	assert_memory_equal(back, "grown", 5);
	write_ok(&r, PAGE(0), 0x10, 8); /* the old range still translates */
	rig_close(&r);
}

/* ===========================================================================
 * DMA and faults
 */

/* A request across pages stops at the faulting page: bytes before it
 * completed, the faulting page and everything after untouched. */
static void fault_mid_request(uint32_t format)
{
	struct rig_opts o = { .gate = true, .unmapped = true };
	const size_t start = 0x100, length = 10 * SZ_4K - 0x200;
	uint8_t *buf = malloc(length), *expect_mem = malloc(MEM_SIZE);
	struct idt_fault fault, queued;
	struct rig r;

	rig_open(&r, format, &o);
	assert_int_equal(idt_pt_map(r.pt, PAGE(0), host(r.mem), 5 * SZ_4K, RW), 0);
	assert_int_equal(idt_pt_map(r.pt, PAGE(6), host(r.mem) + 6 * SZ_4K, 4 * SZ_4K, RW), 0);
	clean_range(&r, PAGE(0), 5 * SZ_4K); /* ARM refuses a hole in the range */
	clean_range(&r, PAGE(6), 4 * SZ_4K);
	for (size_t i = 0; i < length; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	memcpy(expect_mem, r.mem, MEM_SIZE);
	memcpy(expect_mem + start, buf, 5 * SZ_4K - start);

	assert_int_equal(dma_write(&r, PAGE(0) + start, buf, length, &fault), 5 * SZ_4K - start);
	assert_memory_equal(r.mem, expect_mem, MEM_SIZE);
	assert_int_equal(fault.device_id, DEV);
	assert_int_equal(fault.access, IDT_ACCESS_WRITE);
	assert_u64(fault.iova, PAGE(5));
	assert_int_equal(fault.kind, IDT_FAULT_NOT_PRESENT);
	assert_int_equal(fault.level, 0);
	assert_u64(fault.item, 0);
	assert_int_equal(fault.cause, format == IDT_PT_RISCV ? 15 : 0);
	assert_int_equal(idt_iommu_drain_faults(r.iommu, &queued, 1), 1);
	assert_memory_equal(&queued, &fault, sizeof(fault));
	for (unsigned int p = 0; p < 10; p++)
		if (p != 5)
			assert_int_equal(raw_dirty(format, load(leaf_item(&r, PAGE(p)))), p < 5);

	/* a read the same way: the buffer past the completed bytes is untouched */
	memset(buf, 0x5a, length);
	assert_int_equal(idt_dma_read(r.iommu, DEV, PAGE(0) + start, buf, length, &fault),
			 5 * SZ_4K - start);
	assert_memory_equal(buf, r.mem + start, 5 * SZ_4K - start);
	for (size_t i = 5 * SZ_4K - start; i < length; i++)
		assert_int_equal(buf[i], 0x5a);
	assert_int_equal(fault.cause, format == IDT_PT_RISCV ? 13 : 0);
	free(buf);
	free(expect_mem);
	rig_close(&r);
}

static void test_fault_mid_request(void **state)
{
	(void)state;
	per_format(fault_mid_request);
}

/* HW-13: a queue of 4 with 6 faults keeps the first 4 and counts 2 dropped. */
static void test_fault_queue_overflow(void **state)
{
	struct rig_opts o = { .gate = true, .fault_queue_len = 4 };
	struct idt_fault records[8];
	struct idt_iommu_counters c;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	for (unsigned int i = 0; i < 6; i++)
		read_faults(&r, PAGE(2000 + i), IDT_FAULT_NOT_PRESENT);
	c = counters(&r);
	assert_u64(c.faults, 6);
	assert_u64(c.faults_dropped, 2);
	assert_int_equal(idt_iommu_drain_faults(r.iommu, records, 8), 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_u64(records[i].iova, PAGE(2000 + i));
		assert_int_equal(records[i].kind, IDT_FAULT_NOT_PRESENT);
		assert_int_equal(records[i].access, IDT_ACCESS_READ);
		assert_int_equal(records[i].device_id, DEV);
	}
	assert_int_equal(idt_iommu_drain_faults(r.iommu, records, 8), 0);
	read_faults(&r, PAGE(3000), IDT_FAULT_NOT_PRESENT);
	assert_int_equal(idt_iommu_drain_faults(r.iommu, records, 8), 1);
	assert_u64(records[0].iova, PAGE(3000));
	rig_close(&r);
}

/* An output address outside registered memory faults and moves nothing;
 * registering the memory makes the same DMA succeed. */
static void test_outside_registered_memory(void **state)
{
	struct rig_opts o = { .gate = true, .unmapped = true };
	uint8_t *other = aligned_alloc(SZ_4K, SZ_4K);
	struct idt_fault fault;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	memset(other, 0x44, SZ_4K);
	assert_int_equal(idt_pt_map(r.pt, PAGE(0), host(other), SZ_4K, RW), 0);
	assert_int_equal(dma_write(&r, PAGE(0), "zz", 2, &fault), 0);
	assert_int_equal(fault.kind, IDT_FAULT_OUTSIDE_MEMORY);
	assert_int_equal(other[0], 0x44);
	assert_int_equal(idt_iommu_register_memory(r.iommu, other, SZ_4K), 0);
	assert_int_equal(dma_write(&r, PAGE(0), "zz", 2, &fault), 2);
	assert_memory_equal(other, "zz", 2);
	assert_int_equal(idt_iommu_unregister_memory(r.iommu, other, SZ_4K), 0);
	assert_int_equal(dma_write(&r, PAGE(0), "yy", 2, &fault), 0);
	assert_int_equal(fault.kind, IDT_FAULT_OUTSIDE_MEMORY);
	assert_memory_equal(other, "zz", 2);
	rig_close(&r);
	free(other);
}

/* AMD with the 2 KiB granule: transactions never cross 2 KiB, so a 4 KiB
 * write over a writable and a read-only 2 KiB page completes 2 KiB. */
static void test_amd_granule_2k_transactions(void **state)
{
	struct rig_opts o = { .gate = true, .unmapped = true };
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = IDT_PT_AMDV1,
		.iova_width = 48,
		.granule_lg2 = 11,
	};
	uint8_t buf[SZ_4K];
	struct idt_fault fault;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	assert_int_equal(idt_iommu_detach(r.iommu, DEV), 0);
	idt_pt_destroy(r.pt);
	assert_int_equal(idt_pt_create(&cfg, &r.pt), 0);
	assert_int_equal(idt_pt_map(r.pt, IOVA0, host(r.mem), 0x800, RW), 0);
	assert_int_equal(idt_pt_map(r.pt, IOVA0 + 0x800, host(r.mem) + 0x800, 0x800,
				    IDT_PROT_READ),
			 0);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV, r.pt, TAG), 0);
	assert_int_equal(idt_iommu_set_gate(r.iommu, DEV, true), 0);
	memset(buf, 0x21, sizeof(buf));
	assert_int_equal(dma_write(&r, IOVA0, buf, SZ_4K, &fault), 0x800);
	assert_int_equal(fault.kind, IDT_FAULT_PERMISSION);
	assert_u64(fault.iova, IOVA0 + 0x800);
	assert_int_equal(r.mem[0x7ff], 0x21);
	assert_int_equal(r.mem[0x800], 0xee);
	rig_close(&r);
}

/* Detach: the device takes context faults; translate reports -ENOENT. */
static void test_detach_faults_context(void **state)
{
	struct rig_opts o = { .gate = true };
	struct idt_pt_walk_result res;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_RISCV, &o);
	write_ok(&r, PAGE(0), 0x01, 8);
	assert_int_equal(idt_iommu_detach(r.iommu, DEV), 0);
	assert_int_equal(write_faults(&r, PAGE(0), IDT_FAULT_CONTEXT).cause, 258);
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, PAGE(0), IDT_ACCESS_READ, &res),
			 -ENOENT);
	assert_int_equal(idt_iommu_detach(r.iommu, DEV), -ENOENT);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV, r.pt, TAG), 0);
	write_ok(&r, PAGE(0), 0x02, 8);
	rig_close(&r);
}

/* Unmap while a translation is cached: the stale entry still translates
 * until the range is invalidated (hardware.md 5: invalidate before reuse);
 * the deferred free list keeps the emptied table alive until then. */
static void test_unmap_needs_invalidation(void **state)
{
	struct rig_opts o = { .gate = true };
	struct idt_pt_free_list list = { 0 };
	uint64_t unmapped = 0;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	write_ok(&r, PAGE(5), 0x01, 8);
	assert_int_equal(idt_pt_unmap_deferred(r.pt, IOVA0, SZ_2M, &unmapped, &list), 0);
	assert_u64(unmapped, SZ_2M);
	assert_true(list.count >= 1); /* the emptied level-0 table */
	write_ok(&r, PAGE(5), 0x02, 8); /* stale IOTLB hit */
	idt_iommu_invalidate_range(r.iommu, TAG, IOVA0, IOVA0 + SZ_2M - 1);
	idt_pt_free_list_release(r.pt, &list);
	assert_int_equal(list.count, 0);
	write_faults(&r, PAGE(5), IDT_FAULT_NOT_PRESENT);
	rig_close(&r);
}

/* ===========================================================================
 * Invalidation against a walk in flight (deterministic, with the pre-CAS
 * hook pausing the walk while another thread invalidates)
 */

struct race {
	struct rig *r;
	uint64_t iova;
	bool harvest;            /* the helper harvests, else only invalidates */
	unsigned int fired;
	pthread_t helper;
	atomic_bool helper_done;
	bool done_while_in_flight; /* the helper returned before the walk ended */
	int harvest_ret;
	uint8_t bitmap_data[8];
	struct idt_bitmap bitmap;
};

static void *race_helper(void *arg)
{
	struct race *x = arg;

	if (x->harvest)
		x->harvest_ret = idt_iommu_harvest(x->r->iommu, TAG, x->r->pt, x->iova, SZ_4K, 0,
						   &x->bitmap, IDT_RCD_IODIRTY);
	else
		idt_iommu_invalidate_range(x->r->iommu, TAG, x->iova, x->iova + SZ_4K - 1);
	atomic_store(&x->helper_done, true);
	return NULL;
}

/* At the walk's first PDE update (the leaf was read already), start the
 * helper and wait until its invalidation has removed entries: it is then
 * waiting in the drain for this transaction. */
static void race_hook(void *arg, uint64_t *item, unsigned int level)
{
	struct race *x = arg;
	uint64_t before = counters(x->r).invalidations;

	(void)item;
	if (level == 0 || x->fired++)
		return;
	pthread_create(&x->helper, NULL, race_helper, x);
	while (counters(x->r).invalidations == before)
		sched_yield();
	nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	x->done_while_in_flight = atomic_load(&x->helper_done);
}

/* Clears the A bits of the PDEs on the walk, so that the next walk CASes
 * them (AMD) and the hook runs after the leaf was read. */
static void clear_pde_a(const struct rig *r, uint64_t iova)
{
	uint64_t *items[8];
	unsigned int n = walk_items(r, iova, items);

	for (unsigned int i = 0; i + 1 < n; i++)
		store(items[i], load(items[i]) & ~AMD_A);
}

static void race_write(struct rig *r, struct race *x)
{
	idt_iommu_set_walk_hooks(r->iommu, &(struct idt_pt_walk_hooks){ .pre_cas = race_hook,
									.arg = x });
	write_ok(r, x->iova, 0x61, 64);
	idt_iommu_set_walk_hooks(r->iommu, NULL);
	assert_true(x->fired >= 1);
	assert_int_equal(pthread_join(x->helper, NULL), 0);
}

/* The drain: an invalidation returns only after the transaction that was
 * in flight when it removed entries has finished (hardware.md 5). */
static void test_invalidation_waits_for_transaction_in_flight(void **state)
{
	struct rig_opts o = { .gate = true };
	struct race x = { .harvest = false };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	x.r = &r;
	x.iova = PAGE(12);
	race_write(&r, &x);
	assert_false(x.done_while_in_flight);
	assert_true(atomic_load(&x.helper_done));
	rig_close(&r);
}

/*
 * A walk reads a dirty leaf, then a harvest cleans it and invalidates
 * before the walk fills the IOTLB: the fill must not be inserted, or its
 * stale d = 1 would let the next write skip D and be lost (iotlb.h).
 */
static void test_fill_after_invalidation_is_dropped(void **state)
{
	struct rig_opts o = { .gate = true };
	struct race x = { .harvest = true };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	x.r = &r;
	x.iova = PAGE(13);
	assert_int_equal(idt_bitmap_init(&x.bitmap, x.iova, SZ_4K, SZ_4K, x.bitmap_data), 0);
	write_ok(&r, x.iova, 0x60, 8); /* D = 1 in memory */
	idt_iommu_invalidate_range(r.iommu, TAG, x.iova, x.iova + SZ_4K - 1);
	clear_pde_a(&r, x.iova);
	race_write(&r, &x); /* reads D = 1; the harvest cleans and invalidates */
	assert_int_equal(x.harvest_ret, 0);
	assert_true(idt_bitmap_test(&x.bitmap, 0));
	assert_false(load(leaf_item(&r, x.iova)) & AMD_D);
	/* the next write must walk and set D, so the next round reports it */
	write_ok(&r, x.iova, 0x62, 8);
	assert_true(load(leaf_item(&r, x.iova)) & AMD_D);
	assert_true(harvest_one(&r, x.iova, 0));
	rig_close(&r);
}

/* ===========================================================================
 * The IOTLB
 */

static void probe(const struct rig *r, uint32_t device_id, uint64_t iova)
{
	struct idt_pt_walk_result res;

	assert_int_equal(idt_iommu_translate(r->iommu, device_id, iova, IDT_ACCESS_READ, &res), 0);
	assert_int_equal(res.fault, IDT_FAULT_NONE);
}

/* Probes iova pages of device_id and checks the hits and misses it took. */
static void probe_expect(const struct rig *r, uint32_t device_id, const unsigned int *pages,
			 size_t n, uint64_t hits, uint64_t misses)
{
	struct idt_iommu_counters before = counters(r), after;

	for (size_t i = 0; i < n; i++)
		probe(r, device_id, PAGE(pages[i]));
	after = counters(r);
	assert_u64(after.hits - before.hits, hits);
	assert_u64(after.misses - before.misses, misses);
}

#define PROBE(r, dev, hits, misses, ...)                                                       \
	probe_expect(r, dev, (const unsigned int[]){ __VA_ARGS__ },                              \
		     sizeof((const unsigned int[]){ __VA_ARGS__ }) / sizeof(unsigned int), hits, \
		     misses)

/* One set of 4 ways: LRU replacement, counted in hits and misses. */
static void test_iotlb_lru_capacity(void **state)
{
	struct rig_opts o = { .gate = true, .sets = 1, .ways = 4 };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	PROBE(&r, DEV, 0, 4, 0, 1, 2, 3);
	PROBE(&r, DEV, 4, 0, 0, 1, 2, 3);
	PROBE(&r, DEV, 0, 1, 4);       /* evicts page 0, the least recently used */
	PROBE(&r, DEV, 3, 0, 1, 2, 3);
	PROBE(&r, DEV, 0, 1, 0);       /* evicts page 4 */
	PROBE(&r, DEV, 0, 1, 4);       /* evicts page 1 */
	PROBE(&r, DEV, 4, 0, 2, 3, 0, 4);
	assert_u64(counters(&r).walks, counters(&r).misses);
	rig_close(&r);
}

/* Capacity 0: every translation walks. */
static void test_iotlb_disabled(void **state)
{
	struct rig_opts o = { .gate = true, .no_iotlb = 1 };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_VTDSS, &o);
	PROBE(&r, DEV, 0, 6, 0, 0, 0, 1, 1, 1);
	rig_close(&r);
}

/* Range, domain and global invalidation remove exactly their entries. */
static void test_iotlb_invalidation_scopes(void **state)
{
	struct rig_opts o = { .gate = true };
	struct idt_pt *pt2 = pt_new(IDT_PT_AMDV1, &o);
	uint64_t invalidations;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	assert_int_equal(idt_pt_map(pt2, IOVA0, host(r.mem), MEM_SIZE, RW), 0);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV2, pt2, TAG2), 0);
	invalidations = counters(&r).invalidations;
	PROBE(&r, DEV, 0, 4, 0, 1, 2, 3);
	PROBE(&r, DEV2, 0, 4, 0, 1, 2, 3);

	idt_iommu_invalidate_range(r.iommu, TAG, PAGE(1), PAGE(3) - 1);
	PROBE(&r, DEV, 2, 2, 0, 1, 2, 3);
	PROBE(&r, DEV2, 4, 0, 0, 1, 2, 3);

	idt_iommu_invalidate_domain(r.iommu, TAG2);
	PROBE(&r, DEV2, 0, 4, 0, 1, 2, 3);
	PROBE(&r, DEV, 4, 0, 0, 1, 2, 3);

	idt_iommu_invalidate_all(r.iommu);
	PROBE(&r, DEV, 0, 4, 0, 1, 2, 3);
	PROBE(&r, DEV2, 0, 4, 0, 1, 2, 3);
	assert_u64(counters(&r).invalidations - invalidations, 3);

	/* a sync of an empty gather invalidates nothing */
	idt_iommu_sync_gather(r.iommu, TAG, &(struct idt_gather){ UINT64_MAX, 0 });
	assert_u64(counters(&r).invalidations - invalidations, 3);
	assert_int_equal(idt_iommu_detach(r.iommu, DEV2), 0);
	rig_close(&r);
	idt_pt_destroy(pt2);
}

/* A 2 MiB entry cached by an access in its middle is removed by a range
 * invalidation that touches only its first page, and survives one that
 * misses it. */
static void test_iotlb_large_page_range_invalidation(void **state)
{
	/* an odd page number: not in the IOTLB set of the entry's first page */
	const uint64_t MIDDLE = IOVA0 + SZ_1M + 5 * SZ_4K;
	struct rig_opts o = { .gate = true, .page_sizes = SZ_4K | SZ_2M };
	struct idt_pt_walk_result res;
	struct idt_iommu_counters before;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_VTDSS, &o);
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, MIDDLE, IDT_ACCESS_READ, &res), 0);
	assert_int_equal(res.size_lg2, 21);
	before = counters(&r);
	idt_iommu_invalidate_range(r.iommu, TAG, IOVA0 + SZ_2M, IOVA0 + 2 * SZ_2M - 1);
	probe(&r, DEV, MIDDLE);
	assert_u64(counters(&r).hits - before.hits, 1);
	idt_iommu_invalidate_range(r.iommu, TAG, IOVA0, IOVA0 + SZ_4K - 1);
	probe(&r, DEV, MIDDLE);
	assert_u64(counters(&r).misses - before.misses, 1);
	rig_close(&r);
}

/* PT-11 (a): a gather ending at 2^64 - 1 invalidates exactly the last page;
 * the page below it stays cached. */
static void test_iotlb_top_of_address_space(void **state)
{
	struct rig_opts o = { .gate = true, .unmapped = true, .iova_width = 64 };
	const uint64_t last_page = 0ull - SZ_4K, below = last_page - SZ_4K;
	struct idt_gather gather;
	struct idt_iommu_counters before;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, &o);
	assert_int_equal(idt_pt_map(r.pt, below, host(r.mem), 2 * SZ_4K, RW), 0);
	probe(&r, DEV, below);
	probe(&r, DEV, last_page);
	idt_gather_init(&gather);
	idt_gather_add(&gather, last_page, SZ_4K);
	assert_u64(gather.last, UINT64_MAX);
	before = counters(&r);
	idt_iommu_sync_gather(r.iommu, TAG, &gather);
	probe(&r, DEV, below);
	probe(&r, DEV, last_page);
	assert_u64(counters(&r).hits - before.hits, 1);
	assert_u64(counters(&r).misses - before.misses, 1);
	rig_close(&r);
}

/* ===========================================================================
 * Bad input
 */

static void test_bad_input(void **state)
{
	struct idt_iommu_config cfg = { .size = sizeof(cfg), .format = IDT_PT_AMDV1 };
	struct rig_opts o = { 0 };
	struct { struct idt_iommu_config cfg; uint64_t extra; } big = { cfg, 1 };
	struct idt_iommu *iommu = NULL;
	struct idt_pt *other = pt_new(IDT_PT_VTDSS, &o);
	struct idt_pt_walk_result res;
	uint64_t word0;
	struct rig r;

	(void)state;
	assert_int_equal(idt_iommu_create(NULL, &iommu), -EINVAL);
	assert_int_equal(idt_iommu_create(&cfg, NULL), -EINVAL);
#define BAD_CONFIG(field, value, err)                                        \
	do {                                                                 \
		struct idt_iommu_config bad = cfg;                           \
		bad.field = value;                                           \
		assert_int_equal(idt_iommu_create(&bad, &iommu), err);       \
	} while (0)
	BAD_CONFIG(size, 4, -EINVAL);
	BAD_CONFIG(format, 0, -EINVAL);
	BAD_CONFIG(format, 5, -EINVAL);
	BAD_CONFIG(iotlb_sets, 3, -EINVAL);
	BAD_CONFIG(flags, 1u << 7, -EINVAL);
	BAD_CONFIG(__reserved, 1, -EINVAL);
	BAD_CONFIG(no_iotlb, 2, -EINVAL);
	BAD_CONFIG(iotlb_sets, 1u << 17, -EINVAL);
	BAD_CONFIG(iotlb_ways, 65, -EINVAL);
	BAD_CONFIG(fault_queue_len, (1u << 20) + 1, -EINVAL);
#undef BAD_CONFIG
	cfg.format = IDT_PT_ARM_S1;
	cfg.cap = 3ull << IDT_ARM_IDR0_HTTU_SHIFT; /* HTTU = 3 is reserved */
	assert_int_equal(idt_iommu_create(&cfg, &iommu), -EINVAL);
	cfg.format = IDT_PT_AMDV1;
	cfg.cap = 0;
	big.cfg.size = sizeof(big);
	assert_int_equal(idt_iommu_create(&big.cfg, &iommu), -E2BIG);
	big.extra = 0;
	assert_int_equal(idt_iommu_create(&big.cfg, &iommu), 0);
	assert_int_equal(idt_iommu_destroy(iommu), 0);
	assert_int_equal(idt_iommu_destroy(NULL), -EINVAL);
	assert_false(idt_iommu_dirty_capable(NULL));

	rig_open(&r, IDT_PT_AMDV1, &o);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV, r.pt, TAG), -EEXIST);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV2, NULL, TAG), -EINVAL);
	assert_int_equal(idt_iommu_attach(r.iommu, DEV2, other, TAG2), -EINVAL); /* format */
	assert_int_equal(idt_iommu_attach(NULL, DEV2, r.pt, TAG), -EINVAL);
	assert_int_equal(idt_iommu_destroy(r.iommu), -EBUSY);
	assert_int_equal(idt_iommu_detach(r.iommu, DEV2), -ENOENT);
	assert_int_equal(idt_iommu_set_gate(r.iommu, DEV2, true), -ENOENT);
	assert_int_equal(idt_iommu_context_read(r.iommu, DEV2, &word0), -ENOENT);
	assert_int_equal(idt_iommu_context_read(r.iommu, DEV, NULL), -EINVAL);
	assert_int_equal(idt_iommu_context_write(r.iommu, DEV2, 0), -ENOENT);
	assert_int_equal(idt_iommu_invalidate_context(r.iommu, DEV2), -ENOENT);
	assert_int_equal(idt_iommu_register_memory(r.iommu, r.mem + SZ_4K, SZ_4K), -EEXIST);
	assert_int_equal(idt_iommu_register_memory(r.iommu, r.mem - SZ_4K, 2 * SZ_4K), -EEXIST);
	assert_int_equal(idt_iommu_register_memory(r.iommu, r.mem, 0), -EINVAL);
	assert_int_equal(idt_iommu_register_memory(r.iommu, (void *)(uintptr_t)-SZ_4K, 2 * SZ_4K),
			 -EINVAL);
	assert_int_equal(idt_iommu_unregister_memory(r.iommu, r.mem, SZ_4K), -ENOENT);
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, PAGE(0), 0, &res), -EINVAL);
	assert_int_equal(idt_iommu_translate(r.iommu, DEV, PAGE(0), IDT_ACCESS_READ, NULL),
			 -EINVAL);
	assert_int_equal(idt_dma_write(NULL, DEV, PAGE(0), "x", 1, NULL), 0);
	assert_int_equal(idt_dma_write(r.iommu, DEV, PAGE(0), NULL, 1, NULL), 0);
	assert_int_equal(idt_dma_write(r.iommu, DEV, UINT64_MAX, "xy", 2, NULL), 0); /* wraps */
	assert_int_equal(idt_iommu_drain_faults(r.iommu, NULL, 4), 0);
	assert_int_equal(idt_iommu_harvest(r.iommu, TAG, NULL, IOVA0, SZ_4K, 0, NULL,
					   IDT_RCD_IODIRTY),
			 -EINVAL);
	assert_int_equal(idt_iommu_harvest(r.iommu, TAG, r.pt, IOVA0, SZ_4K, 1u << 5, NULL,
					   IDT_RCD_IODIRTY),
			 -EINVAL);
	assert_u64(counters(&r).faults, 0); /* refused requests are not faults */
	rig_close(&r);
	idt_pt_destroy(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_sets_d_and_a),
		cmocka_unit_test(test_read_sets_a_only),
		cmocka_unit_test(test_write_to_read_only_faults),
		cmocka_unit_test(test_gate_off),
		cmocka_unit_test(test_amd_example1_translate_sets_walked_replica),
		cmocka_unit_test(test_amd_replica_dma_and_harvest),
		cmocka_unit_test(test_pt01_random_replica_reports_whole_page),
		cmocka_unit_test(test_hw01_missing_flush_loses_write),
		cmocka_unit_test(test_hw02_no_clear_skips_flush),
		cmocka_unit_test(test_hw07_sneak_write_is_harmless),
		cmocka_unit_test(test_hw03_cas_against_software_change),
		cmocka_unit_test(test_hw06_riscv_translate_write_on_read_only),
		cmocka_unit_test(test_hw12_ad_are_sticky),
		cmocka_unit_test(test_arm_access_flag_fault),
		cmocka_unit_test(test_riscv_non_leaf_a_is_malformed),
		cmocka_unit_test(test_context_words),
		cmocka_unit_test(test_dirty_capability),
		cmocka_unit_test(test_capability_register),
		cmocka_unit_test(test_context_gate_cases),
		cmocka_unit_test(test_amd_dte_permissions),
		cmocka_unit_test(test_hw09_device_attached_later),
		cmocka_unit_test(test_r9_gate_toggle_needs_invalidation),
		cmocka_unit_test(test_amd_dynamic_top_context_update),
		cmocka_unit_test(test_fault_mid_request),
		cmocka_unit_test(test_fault_queue_overflow),
		cmocka_unit_test(test_outside_registered_memory),
		cmocka_unit_test(test_amd_granule_2k_transactions),
		cmocka_unit_test(test_detach_faults_context),
		cmocka_unit_test(test_unmap_needs_invalidation),
		cmocka_unit_test(test_invalidation_waits_for_transaction_in_flight),
		cmocka_unit_test(test_fill_after_invalidation_is_dropped),
		cmocka_unit_test(test_iotlb_lru_capacity),
		cmocka_unit_test(test_iotlb_disabled),
		cmocka_unit_test(test_iotlb_invalidation_scopes),
		cmocka_unit_test(test_iotlb_large_page_range_invalidation),
		cmocka_unit_test(test_iotlb_top_of_address_space),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
