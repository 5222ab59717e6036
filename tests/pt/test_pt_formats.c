/* SPDX-License-Identifier: MIT */
/*
 * Bit-exact per-format tests of the page-table library: raw item values
 * compared with constants hand-computed from formats.md's bit tables, and the
 * format-level parts of test-cases.md PT-01, 02, 03, 04, 06, 07, 08, 10, 12
 * and 13.
 *
 * Every expected item is written as a literal with a comment saying how it is
 * composed from the spec's fields.  Raw items are reached through
 * idt_pt_lookup()'s leaf->item (the item the IOVA indexes) and by walking
 * table items down from idt_pt_get_info()'s root (table pointers inside items
 * are host addresses of the child tables).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iodirty/bitmap.h"
#include "iodirty/pt.h"

#define SZ_2K 0x800ull
#define SZ_4K 0x1000ull
#define SZ_16K 0x4000ull
#define SZ_32K 0x8000ull
#define SZ_64K 0x10000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define SZ_4M 0x400000ull
#define SZ_8M 0x800000ull
#define SZ_1G 0x40000000ull
#define BIT(n) (1ull << (n))

#define RW (IDT_PROT_READ | IDT_PROT_WRITE)

static const enum idt_rcd_algo all_algos[] = {
	IDT_RCD_IODIRTY,
	IDT_RCD_GENERIC_PT,
	IDT_RCD_LEGACY,
};
#define N_ALGOS (sizeof(all_algos) / sizeof(all_algos[0]))

/* Compares 64-bit values (cmocka prints both in hex). */
#define assert_u64(actual, expected) \
	assert_int_equal((uint64_t)(actual), (uint64_t)(expected))

/* ---------------------------------------------------------------------------
 * Helpers
 */

static struct idt_pt *pt_new(uint32_t format, uint32_t iova_width, uint32_t granule_lg2,
			     uint64_t page_sizes, uint32_t flags)
{
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = format,
		.iova_width = iova_width,
		.granule_lg2 = granule_lg2,
		.page_sizes = page_sizes,
		.flags = flags,
	};
	struct idt_pt *pt = NULL;

	assert_int_equal(idt_pt_create(&cfg, &pt), 0);
	assert_non_null(pt);
	return pt;
}

static struct idt_pt_info pt_info(const struct idt_pt *pt)
{
	struct idt_pt_info info;

	idt_pt_get_info(pt, &info);
	return info;
}

static struct idt_pt_leaf lookup_ok(const struct idt_pt *pt, uint64_t iova)
{
	struct idt_pt_leaf leaf;

	memset(&leaf, 0, sizeof(leaf));
	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	assert_non_null(leaf.item);
	return leaf;
}

static int lookup_ret(const struct idt_pt *pt, uint64_t iova)
{
	struct idt_pt_leaf leaf;

	return idt_pt_lookup(pt, iova, &leaf);
}

static uint64_t phys(const struct idt_pt *pt, uint64_t iova)
{
	uint64_t oa = 0;

	assert_int_equal(idt_pt_iova_to_phys(pt, iova, &oa), 0);
	return oa;
}

static bool dirty_at(const struct idt_pt *pt, uint64_t iova)
{
	bool dirty = false;

	assert_int_equal(idt_pt_is_dirty(pt, iova, &dirty), 0);
	return dirty;
}

/* Index of an item inside its table of table_bytes bytes. */
static unsigned int item_index(const uint64_t *item, uint64_t table_bytes)
{
	return (unsigned int)(((uintptr_t)item & (table_bytes - 1)) / sizeof(uint64_t));
}

/* The 4 KiB table holding an item. */
static uint64_t table_base(const uint64_t *item)
{
	return (uint64_t)(uintptr_t)item & ~0xfffull;
}

/* The table a table item points at, decoded per formats.md for each format. */
static uint64_t table_addr(uint32_t format, uint64_t item)
{
	switch (format) {
	case IDT_PT_AMDV1: /* 2.2: address 51:12 */
	case IDT_PT_VTDSS: /* 3.1: address 51:12 */
		return item & 0x000ffffffffff000ull;
	case IDT_PT_ARM_S1: /* 4.1: next-level table address 47:12 */
		return item & 0x0000fffffffff000ull;
	default: /* 5.1: PPN 53:10, PA = PPN << 12 */
		return ((item >> 10) & (BIT(44) - 1)) << 12;
	}
}

/* The item at `level` on the walk to iova, following table items from the root. */
static uint64_t *item_on_walk(const struct idt_pt *pt, uint64_t iova, unsigned int level)
{
	struct idt_pt_info info = pt_info(pt);
	unsigned int top = info.levels - 1;
	uint64_t *table = (uint64_t *)(uintptr_t)info.root;

	for (unsigned int l = top;; l--) {
		unsigned int shift = info.granule_lg2 + 9 * l;
		unsigned int bits = l == top ? info.iova_width - shift : 9;
		uint64_t *item = &table[(iova >> shift) & (BIT(bits) - 1)];

		if (l == level)
			return item;
		table = (uint64_t *)(uintptr_t)table_addr(info.format, *item);
		assert_non_null(table);
	}
}

/* A bitmap of up to 4096 bits held inline. */
struct bm {
	struct idt_bitmap bitmap;
	uint8_t data[512];
};

static void bm_init(struct bm *b, uint64_t iova, uint64_t length, uint64_t page_size)
{
	memset(b->data, 0, sizeof(b->data));
	assert_int_equal(idt_bitmap_init(&b->bitmap, iova, length, page_size, b->data), 0);
	assert_true(idt_bitmap_bytes(&b->bitmap) <= sizeof(b->data));
}

/* Bits first..last are set and no other; first > last means none. */
static void bm_expect(const struct bm *b, uint64_t first, uint64_t last)
{
	for (uint64_t n = 0; n < b->bitmap.nbits; n++) {
		bool want = n >= first && n <= last;

		if (idt_bitmap_test(&b->bitmap, n) != want)
			fail_msg("bitmap bit %" PRIu64 " is %d, expected %d (want bits %" PRIu64
				 "..%" PRIu64 ")",
				 n, !want, want, first, last);
	}
}

static void bm_expect_none(const struct bm *b)
{
	bm_expect(b, 1, 0);
}

static int rcd(struct idt_pt *pt, uint64_t iova, uint64_t size, unsigned int flags, struct bm *b,
	       struct idt_gather *gather, enum idt_rcd_algo algo)
{
	struct idt_dirty_record record = {
		.bitmap = b ? &b->bitmap : NULL,
		.gather = gather,
	};

	return idt_pt_read_and_clear_dirty(pt, iova, size, flags, &record, algo);
}

/* A fixed-seed xorshift64 for the randomized loops. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ===========================================================================
 * AMD IOMMU v1 (formats.md 2)
 */

/* AMD field masks used to take PDEs apart (formats.md 2.2). */
#define AMD_ADDR 0x000ffffffffff000ull /* 51:12 */

/*
 * formats.md 2.4 worked example 1: 32 KiB at IOVA 0x4001_8000 -> PA
 * 0x1234_0000, read+write, in a mode-3 table.
 */
#define EX1_IOVA 0x40018000ull
#define EX1_OA 0x12340000ull
/* PR | NL=7 (0xE00) | 0x1234_0000 | ones in bits 12-13 (0x3000) | FC | IR | IW */
#define EX1_ITEM 0x7000000012343E01ull
/* EX1_ITEM | D (bit 6); make_dirty sets D only, not A */
#define EX1_ITEM_D 0x7000000012343E41ull

static void amdv1_example1_32k_items_24_to_31(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct idt_pt_info info = pt_info(pt);
	struct idt_pt_leaf leaf;
	uint64_t *root = (uint64_t *)(uintptr_t)info.root;
	uint64_t *l1;

	(void)state;
	assert_int_equal(info.levels, 3);
	assert_int_equal(idt_pt_map(pt, EX1_IOVA, EX1_OA, SZ_32K, RW), 0);

	leaf = lookup_ok(pt, EX1_IOVA);
	assert_u64(leaf.iova, EX1_IOVA);
	assert_u64(leaf.oa, EX1_OA);
	assert_int_equal(leaf.size_lg2, 15);
	assert_int_equal(leaf.level, 0);
	assert_int_equal(leaf.items, 8);
	assert_int_equal(leaf.prot, RW);
	assert_false(leaf.dirty);
	/* step 2: (0x4001_8000 >> 12) & 511 = 24, run = items 24..31 */
	assert_int_equal(item_index(leaf.item, 4096), 24);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(leaf.item[i], EX1_ITEM);
	assert_u64(leaf.item[-1], 0); /* item 23 */
	assert_u64(leaf.item[8], 0);  /* item 32 */

	/* reached through level-2 index 1 and level-1 index 0 */
	assert_u64(root[0], 0);
	/* PR | NL=2 (0x400) | table address | IR | IW */
	assert_u64(root[1] & ~AMD_ADDR, 0x6000000000000401ull);
	l1 = (uint64_t *)(uintptr_t)(root[1] & AMD_ADDR);
	/* PR | NL=1 (0x200) | address of the level-0 table | IR | IW */
	assert_u64(l1[0], 0x6000000000000201ull | table_base(leaf.item));

	/* every IOVA of the page finds the same run, at its own item */
	for (unsigned int i = 0; i < 8; i++) {
		struct idt_pt_leaf l = lookup_ok(pt, EX1_IOVA + i * SZ_4K + 0x123);

		assert_ptr_equal(l.item, leaf.item + i);
		assert_u64(l.iova, EX1_IOVA);
		assert_int_equal(l.size_lg2, 15);
	}
	idt_pt_destroy(pt);
}

/* formats.md 2.4 worked example 1, steps 5-7. */
static void amdv1_example1_translate_dirty_replica_clean(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct idt_pt_leaf leaf;
	uint64_t *run;

	(void)state;
	assert_int_equal(idt_pt_map(pt, EX1_IOVA, EX1_OA, SZ_32K, RW), 0);
	run = lookup_ok(pt, EX1_IOVA).item;

	/* step 6: 0x1234_0000 + (0x4001_A123 & 0x7FFF) */
	assert_u64(phys(pt, 0x4001A123), 0x12342123);
	leaf = lookup_ok(pt, 0x4001A123);
	assert_ptr_equal(leaf.item, run + 2); /* item 26 */
	assert_int_equal(item_index(leaf.item, 4096), 26);

	/* replica 2 = item 26 gets D (bit 6) only */
	assert_int_equal(idt_pt_make_dirty_item(pt, 0x4001A123, 2), 0);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(run[i], i == 2 ? EX1_ITEM_D : EX1_ITEM);
	/* step 7: is_dirty ORs over the replicas, asked through any of them */
	for (unsigned int i = 0; i < 8; i++)
		assert_true(dirty_at(pt, EX1_IOVA + i * SZ_4K));
	assert_true(lookup_ok(pt, EX1_IOVA + 7 * SZ_4K).dirty);

	/* make_clean clears bit 6 in all eight items */
	assert_int_equal(idt_pt_make_clean(pt, EX1_IOVA + 5 * SZ_4K), 0);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(run[i], EX1_ITEM);
	assert_false(dirty_at(pt, 0x4001A123));

	/* plain make_dirty marks the item the IOVA indexes: item 26 again */
	assert_int_equal(idt_pt_make_dirty(pt, 0x4001A123), 0);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(run[i], i == 2 ? EX1_ITEM_D : EX1_ITEM);
	/* an item index past the run is refused and changes nothing */
	assert_int_equal(idt_pt_make_dirty_item(pt, EX1_IOVA, 8), -EINVAL);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(run[i], i == 2 ? EX1_ITEM_D : EX1_ITEM);
	idt_pt_destroy(pt);
}

/* formats.md 2.4 worked example 1, step 8: reading at 4 KiB reports 8 bits. */
static void amdv1_example1_read_reports_8_bits(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	uint64_t *run;
	struct bm b;

	(void)state;
	assert_int_equal(idt_pt_map(pt, EX1_IOVA, EX1_OA, SZ_32K, RW), 0);
	run = lookup_ok(pt, EX1_IOVA).item;

	for (size_t a = 0; a < N_ALGOS; a++) {
		struct idt_gather g;

		assert_int_equal(idt_pt_make_dirty_item(pt, 0x4001A123, 2), 0);

		/* NO_CLEAR reports and leaves the item dirty */
		idt_gather_init(&g);
		bm_init(&b, 0x40000000, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x40000000, SZ_2M, IDT_DIRTY_NO_CLEAR, &b, &g,
				     all_algos[a]),
				 0);
		bm_expect(&b, 24, 31); /* [0x4001_8000, 0x4002_0000) */
		assert_u64(run[2], EX1_ITEM_D);
		/* algorithms.md: only legacy adds to the gather with NO_CLEAR */
		assert_int_equal(idt_gather_empty(&g), all_algos[a] != IDT_RCD_LEGACY);

		/* a clearing read reports the same 8 bits and cleans every replica */
		idt_gather_init(&g);
		bm_init(&b, 0x40000000, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x40000000, SZ_2M, 0, &b, &g, all_algos[a]), 0);
		bm_expect(&b, 24, 31);
		assert_u64(g.start, 0x40018000);
		assert_u64(g.last, 0x4001FFFF);
		for (unsigned int i = 0; i < 8; i++)
			assert_u64(run[i], EX1_ITEM);

		/* a second clearing read reports nothing */
		bm_init(&b, 0x40000000, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x40000000, SZ_2M, 0, &b, NULL, all_algos[a]), 0);
		bm_expect_none(&b);
	}
	idt_pt_destroy(pt);
}

/* formats.md 2.4 worked example 2: 4 MiB at 0x8040_0000 -> 0x1_2340_0000. */
static void amdv1_example2_4m_items_2_and_3(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct idt_pt_leaf leaf;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x80400000, 0x123400000, SZ_4M, RW), 0);
	leaf = lookup_ok(pt, 0x80400000);
	assert_int_equal(leaf.level, 1);
	assert_int_equal(leaf.items, 2);
	assert_int_equal(leaf.size_lg2, 22); /* first zero at bit 21 */
	assert_u64(leaf.oa, 0x123400000);
	assert_u64(leaf.iova, 0x80400000);
	/* (0x8040_0000 >> 21) & 511 = 2 */
	assert_int_equal(item_index(leaf.item, 4096), 2);
	/* PR | NL=7 (0xE00) | 0x1_2340_0000 | ones in bits 12-20 (0x1F_F000) | FC | IR | IW */
	assert_u64(leaf.item[0], 0x70000001235FFE01ull);
	assert_u64(leaf.item[1], 0x70000001235FFE01ull);
	assert_u64(leaf.item[-1], 0);
	assert_u64(leaf.item[2], 0);
	/* the second half indexes item 3 of the same run */
	assert_ptr_equal(lookup_ok(pt, 0x80600000).item, leaf.item + 1);
	assert_u64(phys(pt, 0x807FFFFF), 0x1237FFFFF);
	idt_pt_destroy(pt);
}

/* formats.md 2.4 worked example 3: natural leaf and a level-1 PDE. */
static void amdv1_example3_natural_leaf_and_pde(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct idt_pt_leaf big, small;
	uint64_t pde;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x40000000, 0x40000000, SZ_2M, RW), 0);
	assert_int_equal(idt_pt_map(pt, 0x40200000, 0x12345000, SZ_4K, RW), 0);

	big = lookup_ok(pt, 0x40000000);
	assert_int_equal(big.level, 1);
	assert_int_equal(big.items, 1);
	assert_int_equal(big.size_lg2, 21);
	/* PR | NL=0 | 0x4000_0000 | FC | IR | IW */
	assert_u64(*big.item, 0x7000000040000001ull);

	/* level-1 index 1 is a PDE to the level-0 table holding the 4 KiB page */
	small = lookup_ok(pt, 0x40200000);
	assert_int_equal(small.level, 0);
	/* PR | NL=0 | 0x1234_5000 | FC | IR | IW */
	assert_u64(*small.item, 0x7000000012345001ull);
	pde = big.item[1];
	assert_ptr_equal(&big.item[1], item_on_walk(pt, 0x40200000, 1));
	/* PR | NL=1 (0x200) | table address | IR | IW = 0x6000_0000_XXXX_X201 */
	assert_u64(pde & 0xfff, 0x201);
	assert_u64(pde & 0xfff0000000000000ull, 0x6000000000000000ull);
	assert_u64(pde & AMD_ADDR, table_base(small.item));
	assert_u64(pde, 0x6000000000000201ull | table_base(small.item));
	idt_pt_destroy(pt);
}

/*
 * PT-02: the value of every item of a 2^k page at IOVA 2^k, PA 2^k
 * (formats.md 2.4 placement and encoding rules).  For the PA 0 variant the
 * expected item is the same without bit k.
 */
static const uint64_t amd_item_of_2k[52] = {
	[12] = 0x7000000000001001ull, /* L0, 1 item: PR | NL=0 | 2^12 | FC | IR | IW */
	[13] = 0x7000000000002E01ull, /* L0, 2 items: PR | NL=7 | 2^13 | no ones | FC | IR | IW */
	[14] = 0x7000000000005E01ull, /* L0, 4 items: PR | NL=7 | 2^14 | ones 12..12 | FC | IR | IW */
	[15] = 0x700000000000BE01ull, /* L0, 8 items: PR | NL=7 | 2^15 | ones 12..13 | FC | IR | IW */
	[16] = 0x7000000000017E01ull, /* L0, 16 items: PR | NL=7 | 2^16 | ones 12..14 | FC | IR | IW */
	[17] = 0x700000000002FE01ull, /* L0, 32 items: PR | NL=7 | 2^17 | ones 12..15 | FC | IR | IW */
	[18] = 0x700000000005FE01ull, /* L0, 64 items: PR | NL=7 | 2^18 | ones 12..16 | FC | IR | IW */
	[19] = 0x70000000000BFE01ull, /* L0, 128 items: PR | NL=7 | 2^19 | ones 12..17 | FC | IR | IW */
	[20] = 0x700000000017FE01ull, /* L0, 256 items: PR | NL=7 | 2^20 | ones 12..18 | FC | IR | IW */
	[21] = 0x7000000000200001ull, /* L1, 1 item: PR | NL=0 | 2^21 | FC | IR | IW */
	[22] = 0x70000000005FFE01ull, /* L1, 2 items: PR | NL=7 | 2^22 | ones 12..20 | FC | IR | IW */
	[23] = 0x7000000000BFFE01ull, /* L1, 4 items: PR | NL=7 | 2^23 | ones 12..21 | FC | IR | IW */
	[24] = 0x70000000017FFE01ull, /* L1, 8 items: PR | NL=7 | 2^24 | ones 12..22 | FC | IR | IW */
	[25] = 0x7000000002FFFE01ull, /* L1, 16 items: PR | NL=7 | 2^25 | ones 12..23 | FC | IR | IW */
	[26] = 0x7000000005FFFE01ull, /* L1, 32 items: PR | NL=7 | 2^26 | ones 12..24 | FC | IR | IW */
	[27] = 0x700000000BFFFE01ull, /* L1, 64 items: PR | NL=7 | 2^27 | ones 12..25 | FC | IR | IW */
	[28] = 0x7000000017FFFE01ull, /* L1, 128 items: PR | NL=7 | 2^28 | ones 12..26 | FC | IR | IW */
	[29] = 0x700000002FFFFE01ull, /* L1, 256 items: PR | NL=7 | 2^29 | ones 12..27 | FC | IR | IW */
	[30] = 0x7000000040000001ull, /* L2, 1 item: PR | NL=0 | 2^30 | FC | IR | IW */
	[31] = 0x70000000BFFFFE01ull, /* L2, 2 items: PR | NL=7 | 2^31 | ones 12..29 | FC | IR | IW */
	[32] = 0x700000017FFFFE01ull, /* L2, 4 items: PR | NL=7 | 2^32 | ones 12..30 | FC | IR | IW */
	[33] = 0x70000002FFFFFE01ull, /* L2, 8 items: PR | NL=7 | 2^33 | ones 12..31 | FC | IR | IW */
	[34] = 0x70000005FFFFFE01ull, /* L2, 16 items: PR | NL=7 | 2^34 | ones 12..32 | FC | IR | IW */
	[35] = 0x7000000BFFFFFE01ull, /* L2, 32 items: PR | NL=7 | 2^35 | ones 12..33 | FC | IR | IW */
	[36] = 0x70000017FFFFFE01ull, /* L2, 64 items: PR | NL=7 | 2^36 | ones 12..34 | FC | IR | IW */
	[37] = 0x7000002FFFFFFE01ull, /* L2, 128 items: PR | NL=7 | 2^37 | ones 12..35 | FC | IR | IW */
	[38] = 0x7000005FFFFFFE01ull, /* L2, 256 items: PR | NL=7 | 2^38 | ones 12..36 | FC | IR | IW */
	/* [39]: 512 GiB is excluded (hardware bug) */
	[40] = 0x7000017FFFFFFE01ull, /* L3, 2 items: PR | NL=7 | 2^40 | ones 12..38 | FC | IR | IW */
	[41] = 0x700002FFFFFFFE01ull, /* L3, 4 items: PR | NL=7 | 2^41 | ones 12..39 | FC | IR | IW */
	[42] = 0x700005FFFFFFFE01ull, /* L3, 8 items: PR | NL=7 | 2^42 | ones 12..40 | FC | IR | IW */
	[43] = 0x70000BFFFFFFFE01ull, /* L3, 16 items: PR | NL=7 | 2^43 | ones 12..41 | FC | IR | IW */
	[44] = 0x700017FFFFFFFE01ull, /* L3, 32 items: PR | NL=7 | 2^44 | ones 12..42 | FC | IR | IW */
	[45] = 0x70002FFFFFFFFE01ull, /* L3, 64 items: PR | NL=7 | 2^45 | ones 12..43 | FC | IR | IW */
	[46] = 0x70005FFFFFFFFE01ull, /* L3, 128 items: PR | NL=7 | 2^46 | ones 12..44 | FC | IR | IW */
	[47] = 0x7000BFFFFFFFFE01ull, /* L3, 256 items: PR | NL=7 | 2^47 | ones 12..45 | FC | IR | IW */
	[48] = 0x7001000000000001ull, /* L4, 1 item: PR | NL=0 | 2^48 | FC | IR | IW */
	[49] = 0x7002FFFFFFFFFE01ull, /* L4, 2 items: PR | NL=7 | 2^49 | ones 12..47 | FC | IR | IW */
	[50] = 0x7005FFFFFFFFFE01ull, /* L4, 4 items: PR | NL=7 | 2^50 | ones 12..48 | FC | IR | IW */
	[51] = 0x700BFFFFFFFFFE01ull, /* L4, 8 items: PR | NL=7 | 2^51 | ones 12..49 | FC | IR | IW */
};

static void amdv1_pt02_check_page(struct idt_pt *pt, unsigned int k, uint64_t oa)
{
	uint64_t iova = BIT(k);
	unsigned int level = (k - 12) / 9;             /* L = floor((k - 12) / 9) */
	unsigned int count = 1u << ((k - 12) % 9);     /* count = 2^((k - 12) mod 9) */
	uint64_t expected = amd_item_of_2k[k] & ~(oa ? 0 : BIT(k));
	struct idt_pt_leaf leaf;
	uint64_t unmapped = 0;

	assert_int_equal(idt_pt_map(pt, iova, oa, BIT(k), RW), 0);
	leaf = lookup_ok(pt, iova);
	assert_int_equal(leaf.level, level);
	assert_int_equal(leaf.items, count);
	assert_int_equal(leaf.size_lg2, k);
	assert_u64(leaf.iova, iova);
	assert_u64(leaf.oa, oa);
	/* the run starts at index (2^k >> (12 + 9L)) & 511 = count */
	assert_int_equal(item_index(leaf.item, 4096), count);
	for (unsigned int i = 0; i < count; i++) {
		uint64_t item_iova = iova + ((uint64_t)i << (12 + 9 * level));
		struct idt_pt_leaf l = lookup_ok(pt, item_iova);

		assert_u64(leaf.item[i], expected);
		/* every item decodes to the whole page */
		assert_ptr_equal(l.item, leaf.item + i);
		assert_u64(l.iova, iova);
		assert_u64(l.oa, oa);
		assert_int_equal(l.size_lg2, k);
		assert_int_equal(l.items, count);
	}
	assert_u64(leaf.item[-1], 0);
	if (2 * count < 512)
		assert_u64(leaf.item[count], 0);
	assert_u64(phys(pt, iova + BIT(k) - 1), oa + BIT(k) - 1);
	assert_int_equal(idt_pt_unmap(pt, iova, BIT(k), &unmapped), 0);
	assert_u64(unmapped, BIT(k));
	assert_int_equal(lookup_ret(pt, iova), -ENOENT);
}

static void amdv1_pt02_every_size_encodes_and_decodes(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 64, 0, 0, 0);
	struct idt_pt_info info = pt_info(pt);

	(void)state;
	assert_int_equal(info.levels, 6);
	/* 2^12..2^51 except 2^39 (formats.md 2.4) */
	assert_u64(info.page_sizes, (BIT(52) - BIT(12)) & ~BIT(39));
	for (unsigned int k = 12; k <= 51; k++) {
		if (k == 39)
			continue;
		amdv1_pt02_check_page(pt, k, BIT(k));
		amdv1_pt02_check_page(pt, k, 0);
	}
	/* everything unmapped: only the root remains */
	assert_u64(pt_info(pt).tables, 1);
	idt_pt_destroy(pt);
}

/* PT-02: 512 GiB is never a leaf; a 2^39 map becomes two 256 GiB pages. */
static void amdv1_pt02_512g_split_into_256g(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 64, 0, 0, 0);
	struct idt_pt_leaf leaf;
	uint64_t unmapped = 0;

	(void)state;
	assert_false(pt_info(pt).page_sizes & BIT(39));
	assert_int_equal(idt_pt_map(pt, BIT(39), BIT(39), BIT(39), RW), 0);
	leaf = lookup_ok(pt, BIT(39));
	assert_int_equal(leaf.size_lg2, 38);
	assert_int_equal(leaf.level, 2);
	assert_int_equal(leaf.items, 256);
	/* PR | NL=7 | 0x80_0000_0000 | ones 12..36 (0x1F_FFFF_F000) | FC | IR | IW */
	assert_u64(*leaf.item, 0x7000009FFFFFFE01ull);
	leaf = lookup_ok(pt, BIT(39) + BIT(38));
	assert_int_equal(leaf.size_lg2, 38);
	assert_u64(leaf.iova, BIT(39) + BIT(38));
	/* PR | NL=7 | 0xC0_0000_0000 | ones 12..36 | FC | IR | IW */
	assert_u64(*leaf.item, 0x700000DFFFFFFE01ull);
	assert_int_equal(idt_pt_unmap(pt, BIT(39), BIT(39), &unmapped), 0);
	assert_u64(unmapped, BIT(39));
	idt_pt_destroy(pt);
}

/* PT-02: 1 TiB at a 512 GiB-aligned, not 1 TiB-aligned IOVA/PA: four 256 GiB pages. */
static void amdv1_pt02_1t_unaligned_uses_256g_pieces(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 64, 0, 0, 0);
	const uint64_t base = 3 * BIT(39); /* 0x180_0000_0000 */
	uint64_t unmapped = 0;

	(void)state;
	assert_int_equal(idt_pt_map(pt, base, base, BIT(40), RW), 0);
	for (unsigned int p = 0; p < 4; p++) {
		uint64_t piece = base + p * BIT(38);
		struct idt_pt_leaf leaf = lookup_ok(pt, piece + BIT(38) - SZ_4K);

		assert_int_equal(leaf.size_lg2, 38);
		assert_int_equal(leaf.level, 2);
		assert_int_equal(leaf.items, 256);
		assert_u64(leaf.iova, piece);
		assert_u64(leaf.oa, piece);
	}
	/* PR | NL=7 | 0x180_0000_0000 | ones 12..36 (0x1F_FFFF_F000) | FC | IR | IW */
	assert_u64(*lookup_ok(pt, base).item, 0x7000019FFFFFFE01ull);
	assert_int_equal(idt_pt_unmap(pt, base, BIT(40), &unmapped), 0);
	assert_u64(unmapped, BIT(40));
	idt_pt_destroy(pt);
}

/*
 * formats.md 2.3-2.4 decoding rules on raw items: a size-encoded leaf of the
 * level's natural size is valid; one below it or above half the table, an NL
 * other than 0 or 7 at level 0, and a PDE whose NL is not its own level
 * (level skipping) are malformed and fault.
 */
static void amdv1_raw_items_decode_or_fault(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct idt_pt_leaf leaf;
	uint64_t *big, *small, *pde, pde_good;

	(void)state;
	assert_int_equal(idt_pt_map(pt, SZ_2M, 0x40000000, SZ_2M, RW), 0);
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x12345000, SZ_4K, RW), 0);
	big = lookup_ok(pt, SZ_2M).item;
	small = lookup_ok(pt, 0x1000).item;
	assert_u64(*big, 0x7000000040000001ull);   /* PR | NL=0 | 0x4000_0000 | FC | IR | IW */
	assert_u64(*small, 0x7000000012345001ull); /* PR | NL=0 | 0x1234_5000 | FC | IR | IW */

	/* PR | NL=7 | 0x4000_0000 | ones 12..19 (0xF_F000) | FC | IR | IW: 2 MiB at level 1 */
	*big = 0x70000000400FFE01ull;
	leaf = lookup_ok(pt, SZ_2M + 0x1234);
	assert_int_equal(leaf.size_lg2, 21);
	assert_int_equal(leaf.items, 1);
	assert_u64(leaf.oa, 0x40000000);
	assert_u64(leaf.iova, SZ_2M);

	/* PR | NL=7 | 0x4000_0000 (first zero bit 12: 8 KiB) at level 1: below natural */
	*big = 0x7000000040000E01ull;
	assert_int_equal(lookup_ret(pt, SZ_2M), -ENOENT);
	/* PR | NL=7 | 0x4000_0000 | ones 12..28 (0x1FFF_F000): 1 GiB at level 1, over half */
	*big = 0x700000005FFFFE01ull;
	assert_int_equal(lookup_ret(pt, SZ_2M), -ENOENT);
	*big = 0x7000000040000001ull;
	assert_u64(lookup_ok(pt, SZ_2M).oa, 0x40000000);

	/* PR | NL=1 (0x200) | 0x1234_5000 | FC | IR | IW at level 0 */
	*small = 0x7000000012345201ull;
	assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
	/* PR | NL=7 | 0x1234_5000 | ones 12..19: 2 MiB at level 0, over half */
	*small = 0x70000000123FFE01ull;
	assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
	*small = 0x7000000012345001ull;
	assert_u64(lookup_ok(pt, 0x1000).oa, 0x12345000);

	/* the level-1 PDE with NL=2 instead of 1: level skipping */
	pde = item_on_walk(pt, 0x1000, 1);
	pde_good = *pde;
	assert_u64(pde_good & ~AMD_ADDR, 0x6000000000000201ull);
	*pde = (pde_good & ~0xe00ull) | 0x400;
	assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
	*pde = pde_good;
	assert_u64(lookup_ok(pt, 0x1000).oa, 0x12345000);
	idt_pt_destroy(pt);
}

/* PT-01 without DMA: D in a random replica always reports the whole page. */
static void amdv1_pt01_random_replica_reports_whole_page(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	uint64_t *run;
	struct bm b;

	(void)state;
	assert_int_equal(idt_pt_map(pt, EX1_IOVA, EX1_OA, SZ_32K, RW), 0);
	run = lookup_ok(pt, EX1_IOVA).item;
	for (size_t a = 0; a < N_ALGOS; a++) {
		for (unsigned int it = 0; it < 1000; it++) {
			uint64_t r = rng_next(&seed);
			uint32_t replica = (uint32_t)(r & 7);
			uint64_t offset = (r >> 3) % SZ_32K;

			assert_int_equal(idt_pt_make_dirty_item(pt, EX1_IOVA + offset, replica), 0);
			for (unsigned int i = 0; i < 8; i++)
				assert_u64(run[i], i == replica ? EX1_ITEM_D : EX1_ITEM);
			bm_init(&b, 0x40000000, SZ_2M, SZ_4K);
			assert_int_equal(rcd(pt, 0x40000000, SZ_2M, 0, &b, NULL, all_algos[a]), 0);
			bm_expect(&b, 24, 31);
			for (unsigned int i = 0; i < 8; i++)
				assert_u64(run[i], EX1_ITEM);
		}
	}
	idt_pt_destroy(pt);
}

/* PT-06: D only in the last replica; generic_pt reports 32 KiB, not 28 KiB. */
static void amdv1_pt06_generic_pt_reports_whole_run(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct idt_gather g;
	uint64_t *run;
	struct bm b;

	(void)state;
	assert_int_equal(idt_pt_map(pt, EX1_IOVA, EX1_OA, SZ_32K, RW), 0);
	run = lookup_ok(pt, EX1_IOVA).item;
	assert_int_equal(idt_pt_make_dirty_item(pt, EX1_IOVA, 7), 0);
	assert_u64(run[7], EX1_ITEM_D);

	/* over exactly the page */
	idt_gather_init(&g);
	bm_init(&b, EX1_IOVA, SZ_32K, SZ_4K);
	assert_int_equal(rcd(pt, EX1_IOVA, SZ_32K, 0, &b, &g, IDT_RCD_GENERIC_PT), 0);
	bm_expect(&b, 0, 7);
	assert_u64(g.start, EX1_IOVA);
	assert_u64(g.last, EX1_IOVA + SZ_32K - 1);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(run[i], EX1_ITEM);

	/* and over a range around it */
	assert_int_equal(idt_pt_make_dirty_item(pt, EX1_IOVA, 7), 0);
	bm_init(&b, 0x40000000, SZ_2M, SZ_4K);
	assert_int_equal(rcd(pt, 0x40000000, SZ_2M, 0, &b, NULL, IDT_RCD_GENERIC_PT), 0);
	bm_expect(&b, 24, 31);
	for (unsigned int i = 0; i < 8; i++)
		assert_u64(run[i], EX1_ITEM);
	idt_pt_destroy(pt);
}

/* PT-10: the legacy algorithm records at the unaligned cursor. */
static void amdv1_pt10_legacy_unaligned_cursor(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 39, 0, 0, 0);
	struct bm b;

	(void)state;
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(idt_pt_map(pt, i * SZ_2M, 0x40000000 + i * SZ_2M, SZ_2M, RW), 0);
	for (unsigned int i = 0; i < 4; i++) {
		struct idt_pt_leaf leaf = lookup_ok(pt, i * SZ_2M);

		assert_int_equal(leaf.size_lg2, 21);
		/* PR | NL=0 | 0x4000_0000 + i * 2 MiB | FC | IR | IW */
		assert_u64(*leaf.item, 0x7000000040000001ull + i * SZ_2M);
	}
	for (size_t a = 0; a < N_ALGOS; a++) {
		assert_int_equal(idt_pt_make_dirty(pt, SZ_2M), 0);
		/* PR | NL=0 | 0x4020_0000 | D | FC | IR | IW */
		assert_u64(*lookup_ok(pt, SZ_2M).item, 0x7000000040200041ull);
		bm_init(&b, 0, SZ_8M, SZ_4K);
		assert_int_equal(rcd(pt, SZ_1M, 6 * SZ_1M, 0, &b, NULL, all_algos[a]), 0);
		if (all_algos[a] == IDT_RCD_LEGACY)
			bm_expect(&b, 768, 1279); /* [3 MiB, 5 MiB) */
		else
			bm_expect(&b, 512, 1023); /* [2 MiB, 4 MiB) */
		/* the leaf is clean again */
		assert_u64(*lookup_ok(pt, SZ_2M).item, 0x7000000040200001ull);
		for (unsigned int i = 0; i < 4; i++)
			assert_false(dirty_at(pt, i * SZ_2M));
	}
	idt_pt_destroy(pt);
}

/* PT-13: growing the top keeps dirty state; the new root's item 0 points at the old root. */
static void amdv1_pt13_dynamic_top_keeps_dirty(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 64, 0, 0, IDT_PT_DYNAMIC_TOP);
	struct idt_pt_info before = pt_info(pt), after;
	uint64_t *new_root, *old_root;
	uint64_t old_root_item0;
	struct bm b;

	(void)state;
	assert_int_equal(before.levels, 3); /* mode 3 */
	assert_int_equal(before.iova_width, 39);
	assert_int_equal(before.max_iova_width, 64);
	assert_int_equal(idt_pt_map(pt, SZ_4K, 0x12345000, SZ_4K, RW), 0);
	assert_int_equal(idt_pt_make_dirty(pt, SZ_4K), 0);
	/* PR | D | NL=0 | 0x1234_5000 | FC | IR | IW */
	assert_u64(*lookup_ok(pt, SZ_4K).item, 0x7000000012345041ull);
	old_root = (uint64_t *)(uintptr_t)before.root;
	old_root_item0 = old_root[0];

	assert_int_equal(idt_pt_map(pt, BIT(39), 0x23456000, SZ_4K, RW), 0);
	after = pt_info(pt);
	assert_int_equal(after.levels, 4); /* mode 4 */
	assert_int_equal(after.iova_width, 48);
	assert_true(after.root != before.root);
	new_root = (uint64_t *)(uintptr_t)after.root;
	/* PR | NL=3 (0x600) | old root address | IR | IW */
	assert_u64(new_root[0], 0x6000000000000601ull | before.root);
	/* 2^39 is level-3 index 1: a PDE to a new level-2 table */
	assert_u64(new_root[1] & ~AMD_ADDR, 0x6000000000000601ull);
	assert_true((new_root[1] & AMD_ADDR) != before.root);
	assert_u64(old_root[0], old_root_item0);

	/* the old dirty page is still dirty and reported */
	assert_u64(*lookup_ok(pt, SZ_4K).item, 0x7000000012345041ull);
	assert_true(dirty_at(pt, SZ_4K));
	assert_u64(phys(pt, BIT(39) + 0x10), 0x23456010);
	for (size_t a = 0; a < N_ALGOS; a++) {
		struct idt_gather g;

		assert_int_equal(idt_pt_make_dirty(pt, SZ_4K), 0);
		assert_int_equal(idt_pt_make_dirty(pt, BIT(39)), 0);
		idt_gather_init(&g);
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0, BIT(39) + SZ_4K, 0, &b, &g, all_algos[a]), 0);
		bm_expect(&b, 1, 1);
		assert_u64(g.start, SZ_4K);
		assert_u64(g.last, BIT(39) + SZ_4K - 1);
		assert_false(dirty_at(pt, SZ_4K));
		assert_false(dirty_at(pt, BIT(39)));
	}
	idt_pt_destroy(pt);
}

/* The mock device layout: granule 11, address field = oa >> 11 (formats.md 2, pt.h). */
static void amdv1_granule11_items(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_AMDV1, 0, 11, 0, 0);
	struct idt_pt_info info = pt_info(pt);
	struct idt_pt_leaf leaf;
	uint64_t *pde;
	struct bm b;

	(void)state;
	assert_int_equal(info.granule_lg2, 11);
	assert_true(info.page_sizes & SZ_2K);
	assert_true(info.page_sizes & SZ_1M);

	/* 2 KiB natural leaf at level 0 */
	assert_int_equal(idt_pt_map(pt, 0x800, 0x12345800, SZ_2K, RW), 0);
	leaf = lookup_ok(pt, 0x800);
	assert_int_equal(leaf.level, 0);
	assert_int_equal(leaf.size_lg2, 11);
	assert_int_equal(leaf.items, 1);
	assert_int_equal(item_index(leaf.item, 4096), 1);
	/* PR | NL=0 | (0x1234_5800 >> 11 = 0x2_468B) << 12 | FC | IR | IW */
	assert_u64(*leaf.item, 0x700000002468B001ull);
	assert_u64(phys(pt, 0x8AB), 0x123458AB);
	assert_u64(leaf.oa, 0x12345800);

	/* the level-1 PDE still holds the 4 KiB host address of the level-0 table */
	pde = item_on_walk(pt, 0x800, 1);
	/* PR | NL=1 (0x200) | table address | IR | IW */
	assert_u64(*pde, 0x6000000000000201ull | table_base(leaf.item));

	/* 4 KiB = two items at level 0: NL=7, field 0x5000 >> 11 = 0xA, field bit 0 = 0 */
	assert_int_equal(idt_pt_map(pt, 0x2000, 0x5000, SZ_4K, RW), 0);
	leaf = lookup_ok(pt, 0x2000);
	assert_int_equal(leaf.size_lg2, 12);
	assert_int_equal(leaf.items, 2);
	assert_int_equal(item_index(leaf.item, 4096), 4);
	/* PR | NL=7 (0xE00) | 0xA << 12 | FC | IR | IW */
	assert_u64(leaf.item[0], 0x700000000000AE01ull);
	assert_u64(leaf.item[1], 0x700000000000AE01ull);
	assert_u64(phys(pt, 0x2FFF), 0x5FFF);

	/* 8 KiB = four items: field 0x8000 >> 11 = 0x10, ones in field bit 0 */
	assert_int_equal(idt_pt_map(pt, 0x4000, 0x8000, 2 * SZ_4K, RW), 0);
	leaf = lookup_ok(pt, 0x4000);
	assert_int_equal(leaf.size_lg2, 13);
	assert_int_equal(leaf.items, 4);
	/* PR | NL=7 | (0x10 | 0x1) << 12 | FC | IR | IW */
	for (unsigned int i = 0; i < 4; i++)
		assert_u64(leaf.item[i], 0x7000000000011E01ull);

	/* 1 MiB is the natural leaf size of level 1 */
	assert_int_equal(idt_pt_map(pt, SZ_1M, 0x40000000, SZ_1M, RW), 0);
	leaf = lookup_ok(pt, SZ_1M);
	assert_int_equal(leaf.level, 1);
	assert_int_equal(leaf.size_lg2, 20);
	assert_int_equal(leaf.items, 1);
	assert_int_equal(item_index(leaf.item, 4096), 1);
	/* PR | NL=0 | (0x4000_0000 >> 11 = 0x8_0000) << 12 | FC | IR | IW */
	assert_u64(*leaf.item, 0x7000000080000001ull);
	assert_ptr_equal(leaf.item, pde + 1);
	assert_u64(phys(pt, SZ_1M + 0x12345), 0x40012345);

	/* dirty the 2 KiB page and read at 2 KiB granularity: one bit */
	assert_int_equal(idt_pt_make_dirty(pt, 0x800), 0);
	/* PR | D | NL=0 | 0x2468B << 12 | FC | IR | IW */
	assert_u64(*lookup_ok(pt, 0x800).item, 0x700000002468B041ull);
	for (size_t a = 0; a < N_ALGOS; a++) {
		assert_int_equal(idt_pt_make_dirty(pt, 0x800), 0);
		bm_init(&b, 0, SZ_1M, SZ_2K);
		assert_int_equal(rcd(pt, 0, SZ_1M, 0, &b, NULL, all_algos[a]), 0);
		bm_expect(&b, 1, 1);
		assert_u64(*lookup_ok(pt, 0x800).item, 0x700000002468B001ull);
	}
	idt_pt_destroy(pt);
}

/* ===========================================================================
 * Intel VT-d second stage (formats.md 3)
 */

/* formats.md 3.4: a 2 MiB leaf for PA 0x4000_0000, read+write. */
static void vtdss_2m_leaf_dirty_and_clean(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_VTDSS, 48, 0, 0, 0);
	struct idt_pt_leaf leaf;
	uint64_t *item;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x40000000, 0x40000000, SZ_2M, RW), 0);
	leaf = lookup_ok(pt, 0x40000000);
	assert_int_equal(leaf.level, 1);
	assert_int_equal(leaf.size_lg2, 21);
	assert_int_equal(leaf.items, 1);
	item = leaf.item;
	/* R | W | PS (bit 7) | 0x4000_0000 */
	assert_u64(*item, 0x40000083ull);
	assert_false(dirty_at(pt, 0x40000000));

	/* make_dirty sets D (bit 9) only, not A */
	assert_int_equal(idt_pt_make_dirty(pt, 0x40012345), 0);
	assert_u64(*item, 0x40000283ull); /* R | W | PS | D | 0x4000_0000 */
	assert_true(dirty_at(pt, 0x401FF000));

	/* formats.md 3.4 example: after a hardware write, A | D */
	*item = 0x40000383ull; /* R | W | PS | A | D | 0x4000_0000 */
	assert_true(dirty_at(pt, 0x40000000));
	assert_int_equal(idt_pt_make_clean(pt, 0x40000000), 0);
	assert_u64(*item, 0x40000183ull); /* R | W | PS | A | 0x4000_0000 */
	assert_false(dirty_at(pt, 0x40000000));

	/* read-and-clear does the same, with each algorithm */
	for (size_t a = 0; a < N_ALGOS; a++) {
		struct bm b;

		*item = 0x40000383ull;
		bm_init(&b, 0x40000000, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x40000000, SZ_2M, 0, &b, NULL, all_algos[a]), 0);
		bm_expect(&b, 0, 511);
		assert_u64(*item, 0x40000183ull);
	}
	idt_pt_destroy(pt);
}

/* formats.md 3.1-3.2: 4 KiB leaves have no PS; 1 GiB leaves have PS at level 2. */
static void vtdss_4k_and_1g_leaves(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_VTDSS, 48, 0, 0, 0);
	struct idt_pt_leaf leaf;

	(void)state;
	assert_u64(pt_info(pt).page_sizes, SZ_4K | SZ_2M | SZ_1G);
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x12345000, SZ_4K, RW), 0);
	leaf = lookup_ok(pt, 0x1000);
	assert_int_equal(leaf.level, 0);
	assert_u64(*leaf.item, 0x12345003ull); /* R | W | 0x1234_5000 */

	assert_int_equal(idt_pt_map(pt, 0x2000, 0x23456000, SZ_4K, IDT_PROT_READ), 0);
	leaf = lookup_ok(pt, 0x2000);
	assert_u64(*leaf.item, 0x23456001ull); /* R | 0x2345_6000 */
	assert_int_equal(leaf.prot, IDT_PROT_READ);

	assert_int_equal(idt_pt_map(pt, 0x80000000, 0x80000000, SZ_1G, RW), 0);
	leaf = lookup_ok(pt, 0x80000000);
	assert_int_equal(leaf.level, 2);
	assert_int_equal(leaf.size_lg2, 30);
	assert_int_equal(item_index(leaf.item, 4096), 2);
	assert_u64(*leaf.item, 0x80000083ull); /* R | W | PS | 0x8000_0000 */
	assert_int_equal(idt_pt_make_dirty(pt, 0xBFFFF000), 0);
	assert_u64(*leaf.item, 0x80000283ull); /* R | W | PS | D | 0x8000_0000 */
	assert_u64(phys(pt, 0x80000000 + 0x3FFFFFFF), 0xBFFFFFFF);
	idt_pt_destroy(pt);
}

/* formats.md 3.1: SNP (bit 11) with IDT_PT_VTD_SNOOP. */
static void vtdss_snoop_sets_snp(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_VTDSS, 48, 0, 0, IDT_PT_VTD_SNOOP);

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x12345000, SZ_4K, RW), 0);
	assert_u64(*lookup_ok(pt, 0x1000).item, 0x12345803ull); /* R | W | SNP | 0x1234_5000 */
	assert_int_equal(idt_pt_map(pt, SZ_2M, 0x40000000, SZ_2M, RW), 0);
	assert_u64(*lookup_ok(pt, SZ_2M).item, 0x40000883ull); /* R | W | PS | SNP | 0x4000_0000 */
	/* tables carry no SNP: R | W | address */
	assert_u64(*item_on_walk(pt, 0x1000, 1) & 0xfff, 0x003);
	idt_pt_destroy(pt);
}

/* PT-07: a write-only entry is present. */
static void vtdss_pt07_write_only_is_present(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_VTDSS, 48, 0, 0, 0);
	struct idt_pt_leaf leaf;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x12345000, SZ_4K, IDT_PROT_WRITE), 0);
	leaf = lookup_ok(pt, 0x1000);
	assert_u64(*leaf.item, 0x12345002ull); /* W | 0x1234_5000 */
	assert_int_equal(leaf.prot, IDT_PROT_WRITE);
	assert_u64(leaf.oa, 0x12345000);
	assert_int_equal(idt_pt_make_dirty(pt, 0x1000), 0);
	assert_u64(*leaf.item, 0x12345202ull); /* W | D | 0x1234_5000 */
	assert_true(dirty_at(pt, 0x1000));
	idt_pt_destroy(pt);
}

/* PT-07: R = W = 0 with address bits set is not present, even with D set. */
static void vtdss_pt07_no_rw_is_not_present(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_VTDSS, 48, 0, 0, 0);
	uint64_t *slot;

	(void)state;
	/* two pages so the level-0 table stays when one slot is overwritten */
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x12345000, SZ_4K, RW), 0);
	assert_int_equal(idt_pt_map(pt, 0x2000, 0x23456000, SZ_4K, RW), 0);
	slot = lookup_ok(pt, 0x1000).item;
	*slot = 0x12345200ull; /* D | 0x1234_5000, R = W = 0 */
	assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
	{
		uint64_t oa;

		assert_int_equal(idt_pt_iova_to_phys(pt, 0x1000, &oa), -ENOENT);
	}
	assert_int_equal(idt_pt_make_dirty(pt, 0x1000), -ENOENT);
	for (size_t a = 0; a < N_ALGOS; a++) {
		struct bm b;

		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0, SZ_2M, 0, &b, NULL, all_algos[a]), 0);
		bm_expect_none(&b);
		assert_u64(*slot, 0x12345200ull); /* skipped: nothing written */
	}
	assert_u64(*lookup_ok(pt, 0x2000).item, 0x23456003ull);
	idt_pt_destroy(pt);
}

/* formats.md 3.3: table items are R | W | address; PS at level 3 is malformed. */
static void vtdss_table_items(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_VTDSS, 48, 0, 0, 0);
	struct idt_pt_info info = pt_info(pt);
	uint64_t *leaf_item, *l3, *l2, *l1;

	(void)state;
	assert_int_equal(info.levels, 4);
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x12345000, SZ_4K, RW), 0);
	leaf_item = lookup_ok(pt, 0x1000).item;
	l3 = item_on_walk(pt, 0x1000, 3);
	l2 = item_on_walk(pt, 0x1000, 2);
	l1 = item_on_walk(pt, 0x1000, 1);
	assert_ptr_equal(l3, (uint64_t *)(uintptr_t)info.root);
	/* R | W | address of the child table; nothing else (no A written by software) */
	assert_u64(*l3, 0x3ull | table_base(l2));
	assert_u64(*l2, 0x3ull | table_base(l1));
	assert_u64(*l1, 0x3ull | table_base(leaf_item));

	/* PS in a level-3 item is malformed: the walk faults */
	*l3 |= 0x80;
	assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
	*l3 &= ~0x80ull;
	assert_u64(lookup_ok(pt, 0x1000).oa, 0x12345000);
	idt_pt_destroy(pt);
}

/* ===========================================================================
 * ARM LPAE stage 1 (formats.md 4)
 */

/* formats.md 4.4: writable-dirty / writable-clean 4 KiB page at PA 0x8000_0000. */
#define ARM_4K_DIRTY 0x0008000080000743ull /* page 11b | AP[1] | SH=11b | AF | DBM | 0x8000_0000 */
#define ARM_4K_CLEAN 0x00080000800007C3ull /* ARM_4K_DIRTY | AP[2] */
#define ARM_4K_RO 0x00000000800007C3ull    /* page | AP[1] | AP[2] | SH | AF, no DBM */
#define ARM_4K_RW 0x0000000080000743ull    /* page | AP[1] | SH | AF, no DBM, AP[2] = 0 */

/* PT-04: with dirty tracking a fresh writable mapping starts dirty. */
static void arm_pt04_writable_starts_dirty(void **state)
{
	(void)state;
	for (size_t a = 0; a < N_ALGOS; a++) {
		struct idt_pt *pt = pt_new(IDT_PT_ARM_S1, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
		struct idt_pt_leaf leaf;
		struct bm b;

		assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
		leaf = lookup_ok(pt, 0x1000);
		assert_int_equal(leaf.level, 0);
		assert_u64(*leaf.item, ARM_4K_DIRTY);
		assert_int_equal(leaf.prot, RW);
		assert_true(leaf.dirty);

		/* NO_CLEAR reports and leaves it dirty */
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x1000, SZ_4K, IDT_DIRTY_NO_CLEAR, &b, NULL,
				     all_algos[a]),
				 0);
		bm_expect(&b, 1, 1);
		assert_u64(*leaf.item, ARM_4K_DIRTY);

		/* a clearing read reports it and sets AP[2]: writable-clean */
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x1000, SZ_4K, 0, &b, NULL, all_algos[a]), 0);
		bm_expect(&b, 1, 1);
		assert_u64(*leaf.item, ARM_4K_CLEAN);
		assert_false(dirty_at(pt, 0x1000));
		/* still writable (DBM) */
		assert_int_equal(lookup_ok(pt, 0x1000).prot, RW);

		/* then clean: nothing reported */
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x1000, SZ_4K, 0, &b, NULL, all_algos[a]), 0);
		bm_expect_none(&b);

		/* make_dirty = what hardware does: clear AP[2] */
		assert_int_equal(idt_pt_make_dirty(pt, 0x1000), 0);
		assert_u64(*leaf.item, ARM_4K_DIRTY);
		idt_pt_destroy(pt);
	}
}

/* formats.md 4.4: read-only mappings get AP[2] and no DBM; never dirty. */
static void arm_read_only_never_dirty(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_ARM_S1, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	struct idt_pt_leaf leaf;
	struct bm b;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, IDT_PROT_READ), 0);
	leaf = lookup_ok(pt, 0x1000);
	assert_u64(*leaf.item, ARM_4K_RO);
	assert_int_equal(leaf.prot, IDT_PROT_READ);
	assert_false(leaf.dirty);
	assert_int_equal(idt_pt_make_dirty(pt, 0x1000), -EINVAL);
	assert_u64(*leaf.item, ARM_4K_RO);
	for (size_t a = 0; a < N_ALGOS; a++) {
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x1000, SZ_4K, 0, &b, NULL, all_algos[a]), 0);
		bm_expect_none(&b);
		assert_u64(*leaf.item, ARM_4K_RO);
	}
	assert_int_equal(idt_pt_make_clean(pt, 0x1000), 0);
	assert_u64(*leaf.item, ARM_4K_RO);
	idt_pt_destroy(pt);
}

/* formats.md 4.4: without the dirty flag writable leaves have DBM = 0, AP[2] = 0. */
static void arm_without_tracking_writable_not_dirty(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_ARM_S1, 48, 0, 0, 0);
	struct idt_pt_leaf leaf;
	struct bm b;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	leaf = lookup_ok(pt, 0x1000);
	assert_u64(*leaf.item, ARM_4K_RW);
	assert_int_equal(leaf.prot, RW);
	assert_false(leaf.dirty);
	assert_false(dirty_at(pt, 0x1000));
	/* DBM = 0: not trackable */
	assert_int_equal(idt_pt_make_dirty(pt, 0x1000), -EINVAL);
	assert_u64(*leaf.item, ARM_4K_RW);
	for (size_t a = 0; a < N_ALGOS; a++) {
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0x1000, SZ_4K, 0, &b, NULL, all_algos[a]), 0);
		bm_expect_none(&b);
		/* cleaning must not revoke write by setting AP[2] */
		assert_u64(*leaf.item, ARM_4K_RW);
	}
	idt_pt_destroy(pt);
}

/* formats.md 4.1-4.2: blocks at ARM levels 1-2 are type 01b; tables are 11b | address. */
static void arm_blocks_and_tables(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_ARM_S1, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	struct idt_pt_info info = pt_info(pt);
	struct idt_pt_leaf leaf;
	uint64_t *l3, *l2, *l1;

	(void)state;
	assert_int_equal(info.levels, 4);
	assert_u64(info.page_sizes, SZ_4K | SZ_2M | SZ_1G);
	/* 2 MiB block (ARM level 2 = genpt level 1) */
	assert_int_equal(idt_pt_map(pt, SZ_2M, 0x80000000, SZ_2M, RW), 0);
	leaf = lookup_ok(pt, SZ_2M);
	assert_int_equal(leaf.level, 1);
	assert_int_equal(leaf.size_lg2, 21);
	/* block 01b | AP[1] | SH=11b | AF | DBM | 0x8000_0000 */
	assert_u64(*leaf.item, 0x0008000080000741ull);
	assert_true(leaf.dirty);
	assert_int_equal(idt_pt_make_clean(pt, SZ_2M), 0);
	assert_u64(*leaf.item, 0x00080000800007C1ull); /* ... | AP[2] */

	/* 1 GiB block (ARM level 1 = genpt level 2) */
	assert_int_equal(idt_pt_map(pt, SZ_1G, 0xC0000000, SZ_1G, IDT_PROT_READ), 0);
	leaf = lookup_ok(pt, SZ_1G);
	assert_int_equal(leaf.level, 2);
	assert_int_equal(leaf.size_lg2, 30);
	/* block 01b | AP[1] | AP[2] | SH=11b | AF | 0xC000_0000 */
	assert_u64(*leaf.item, 0x00000000C00007C1ull);

	/* a 4 KiB page and the table descriptors above it */
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	leaf = lookup_ok(pt, 0x1000);
	l3 = item_on_walk(pt, 0x1000, 3);
	l2 = item_on_walk(pt, 0x1000, 2);
	l1 = item_on_walk(pt, 0x1000, 1);
	/* table 11b | next-level table address, no other attribute */
	assert_u64(*l3, 0x3ull | table_base(l2));
	assert_u64(*l2, 0x3ull | table_base(l1));
	assert_u64(*l1, 0x3ull | table_base(leaf.item));

	/* type 01b at ARM level 3 (genpt 0) is invalid */
	*leaf.item = 0x0008000080000741ull;
	assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
	*leaf.item = ARM_4K_DIRTY;
	assert_u64(lookup_ok(pt, 0x1000).oa, 0x80000000);
	idt_pt_destroy(pt);
}

/* PT-03 (format part): the four (DBM, AP[2]) states written raw. */
static void arm_pt03_dbm_state_machine(void **state)
{
	static const struct {
		uint64_t value;
		bool dirty;
		uint64_t after_clean;
	} states[] = {
		{ ARM_4K_RW, false, ARM_4K_RW },       /* (0,0) writable, not tracked */
		{ ARM_4K_RO, false, ARM_4K_RO },       /* (0,1) read-only */
		{ ARM_4K_CLEAN, false, ARM_4K_CLEAN }, /* (1,1) writable-clean */
		{ ARM_4K_DIRTY, true, ARM_4K_CLEAN },  /* (1,0) writable-dirty */
	};
	struct idt_pt *pt = pt_new(IDT_PT_ARM_S1, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	uint64_t *item;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	item = lookup_ok(pt, 0x1000).item;
	for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		*item = states[s].value;
		assert_int_equal(dirty_at(pt, 0x1000), states[s].dirty);
		assert_int_equal(idt_pt_make_clean(pt, 0x1000), 0);
		assert_u64(*item, states[s].after_clean);
		assert_false(dirty_at(pt, 0x1000));

		/* read-and-clear reports only (1,0) and turns only it into (1,1) */
		for (size_t a = 0; a < N_ALGOS; a++) {
			struct bm b;

			*item = states[s].value;
			bm_init(&b, 0, SZ_2M, SZ_4K);
			assert_int_equal(rcd(pt, 0x1000, SZ_4K, 0, &b, NULL, all_algos[a]), 0);
			if (states[s].dirty)
				bm_expect(&b, 1, 1);
			else
				bm_expect_none(&b);
			assert_u64(*item, states[s].after_clean);
		}
	}
	idt_pt_destroy(pt);
}

/*
 * PT-12 (format part): a hole in the range -> -EINVAL after recording what
 * came before.  The table lives in the cmocka state so that a failing
 * assertion still frees it.
 */
static int arm_pt12_setup(void **state)
{
	*state = pt_new(IDT_PT_ARM_S1, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	return 0;
}

static int arm_pt12_teardown(void **state)
{
	idt_pt_destroy(*state);
	return 0;
}

static void arm_pt12_hole_is_einval(struct idt_pt *pt, enum idt_rcd_algo algo)
{
	struct bm b;

	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	assert_int_equal(idt_pt_map(pt, 0x3000, 0x80002000, SZ_4K, RW), 0);
	/* both start dirty; 0x2000 is a hole */
	assert_true(dirty_at(pt, 0x1000));
	assert_true(dirty_at(pt, 0x3000));
	bm_init(&b, 0, SZ_16K, SZ_4K);
	assert_int_equal(rcd(pt, 0x1000, 3 * SZ_4K, 0, &b, NULL, algo), -EINVAL);
	if (algo != IDT_RCD_LEGACY)
		bm_expect(&b, 1, 1); /* the page before the hole */
	/* the page after the hole is neither reported nor cleaned */
	assert_false(idt_bitmap_test(&b.bitmap, 3));
	assert_true(dirty_at(pt, 0x3000));
	/* a range without the hole is fine */
	assert_int_equal(idt_pt_make_dirty(pt, 0x1000), 0);
	bm_init(&b, 0, SZ_16K, SZ_4K);
	assert_int_equal(rcd(pt, 0x1000, SZ_4K, 0, &b, NULL, algo), 0);
	bm_expect(&b, 1, 1);
}

static void arm_pt12_hole_is_einval_iodirty(void **state)
{
	arm_pt12_hole_is_einval(*state, IDT_RCD_IODIRTY);
}

static void arm_pt12_hole_is_einval_generic_pt(void **state)
{
	arm_pt12_hole_is_einval(*state, IDT_RCD_GENERIC_PT);
}

/* The legacy walk fails on the hole too, so switching algorithm never
 * changes ARM's behaviour (a regression test: it once skipped the hole). */
static void arm_pt12_hole_is_einval_legacy(void **state)
{
	arm_pt12_hole_is_einval(*state, IDT_RCD_LEGACY);
}

/* ===========================================================================
 * RISC-V Sv39/Sv48/Sv57 (formats.md 5)
 */

/* V | R | W | U | A | D (0xD7) | PPN 0x8_0000 << 10 */
#define RV_4K_RW 0x200000D7ull
/* V | R | U | A (0x53) | PPN 0x8_0000 << 10 */
#define RV_4K_RO 0x20000053ull

/* formats.md 5.1, 5.6: leaves preset A and U, D when writable; tables are V | PPN. */
static void riscv_leaf_and_table_items(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_RISCV, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	struct idt_pt_leaf leaf;
	uint64_t *l1;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	leaf = lookup_ok(pt, 0x1000);
	assert_u64(*leaf.item, RV_4K_RW);
	assert_true(leaf.dirty);
	assert_int_equal(leaf.prot, RW);

	assert_int_equal(idt_pt_map(pt, 0x2000, 0x80000000, SZ_4K, IDT_PROT_READ), 0);
	leaf = lookup_ok(pt, 0x2000);
	assert_u64(*leaf.item, RV_4K_RO);
	assert_false(leaf.dirty);
	assert_int_equal(leaf.prot, IDT_PROT_READ);
	assert_int_equal(idt_pt_make_dirty(pt, 0x2000), -EINVAL); /* W = 0 */
	assert_u64(*leaf.item, RV_4K_RO);

	/* table items: V | PPN of the next table; R = W = X = 0, A = D = U = 0 */
	for (unsigned int level = 3; level >= 1; level--) {
		uint64_t item = *item_on_walk(pt, 0x1000, level);
		uint64_t *below = item_on_walk(pt, 0x1000, level - 1);

		assert_u64(item & 0x3ff, 0x001);
		assert_u64(item >> 54, 0);
		assert_u64(item, 0x1ull | ((table_base(below) >> 12) << 10));
	}

	/* clean: D cleared, A left */
	assert_int_equal(idt_pt_make_clean(pt, 0x1000), 0);
	assert_u64(*lookup_ok(pt, 0x1000).item, 0x20000057ull); /* V|R|W|U|A | PPN */
	assert_int_equal(idt_pt_make_dirty(pt, 0x1000), 0);
	assert_u64(*lookup_ok(pt, 0x1000).item, RV_4K_RW);

	/* a 2 MiB superpage at level 1: PPN 0x8_0000, same flags */
	assert_int_equal(idt_pt_map(pt, SZ_2M, 0x80000000, SZ_2M, RW), 0);
	leaf = lookup_ok(pt, SZ_2M);
	assert_int_equal(leaf.level, 1);
	assert_u64(*leaf.item, RV_4K_RW);
	l1 = item_on_walk(pt, 0x1000, 1);
	assert_ptr_equal(leaf.item, l1 + 1);
	idt_pt_destroy(pt);
}

/* formats.md 5.2: top levels of Sv39/48/57 and the x4 roots, at the highest IOVA. */
static void riscv_widths_top_level_and_highest_iova(void **state)
{
	static const struct {
		uint32_t width;
		uint32_t flags;
		unsigned int levels;
		unsigned int root_items;
	} modes[] = {
		{ 39, 0, 3, 512 },  { 48, 0, 4, 512 },  { 57, 0, 5, 512 },
		{ 41, IDT_PT_RISCV_GSTAGE, 3, 2048 },
		{ 50, IDT_PT_RISCV_GSTAGE, 4, 2048 },
		{ 59, IDT_PT_RISCV_GSTAGE, 5, 2048 },
	};

	(void)state;
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct idt_pt *pt = pt_new(IDT_PT_RISCV, modes[m].width, 0, 0, modes[m].flags);
		struct idt_pt_info info = pt_info(pt);
		uint64_t last_page = BIT(modes[m].width) - SZ_4K;
		unsigned int top = modes[m].levels - 1;
		uint64_t root_bytes = modes[m].root_items * 8ull;
		uint64_t *root = (uint64_t *)(uintptr_t)info.root;
		uint64_t *root_item, *below;
		uint64_t unmapped = 0;

		assert_int_equal(info.levels, modes[m].levels);
		assert_int_equal(info.iova_width, modes[m].width);
		assert_u64(info.root & (root_bytes - 1), 0); /* x4 root: 16 KiB aligned */
		assert_int_equal(idt_pt_map(pt, last_page, 0x80000000, SZ_4K, RW), 0);
		assert_u64(*lookup_ok(pt, last_page).item, RV_4K_RW);
		assert_u64(phys(pt, last_page + 0xFFF), 0x80000FFF);
		/* the root index is (iova >> (12 + 9 * top)) & (root_items - 1): the last one */
		root_item = &root[(last_page >> (12 + 9 * top)) & (modes[m].root_items - 1)];
		assert_int_equal(item_index(root_item, root_bytes), modes[m].root_items - 1);
		below = item_on_walk(pt, last_page, top - 1);
		assert_u64(*root_item, 0x1ull | ((table_base(below) >> 12) << 10)); /* V | PPN */
		/* one past the width is refused */
		assert_int_equal(idt_pt_map(pt, BIT(modes[m].width), 0x80000000, SZ_4K, RW),
				 -EINVAL);
		assert_int_equal(idt_pt_unmap(pt, last_page, SZ_4K, &unmapped), 0);
		assert_u64(unmapped, SZ_4K);
		assert_u64(*root_item, 0);
		assert_u64(pt_info(pt).tables, 1);
		idt_pt_destroy(pt);
	}
}

/* formats.md 5.3: Svnapot 64 KiB = 16 identical items, N = 1, PPN[3:0] = 1000b. */
static void riscv_napot_64k(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_RISCV, 48, 0, 0,
				   IDT_PT_DIRTY_TRACKING | IDT_PT_RISCV_NAPOT);
	/* N | V|R|W|U|A|D | PPN (0x8_0010 | 0x8 = 0x8_0018) << 10 */
	const uint64_t napot_dirty = 0x80000000200060D7ull;
	/* the same without D */
	const uint64_t napot_clean = 0x8000000020006057ull;
	struct idt_pt_leaf leaf;
	uint64_t *run;
	struct bm b;

	(void)state;
	assert_true(pt_info(pt).page_sizes & SZ_64K);
	assert_int_equal(idt_pt_map(pt, SZ_64K, 0x80010000, SZ_64K, RW), 0);
	leaf = lookup_ok(pt, SZ_64K);
	assert_int_equal(leaf.level, 0);
	assert_int_equal(leaf.size_lg2, 16);
	assert_int_equal(leaf.items, 16);
	assert_u64(leaf.oa, 0x80010000);
	run = leaf.item;
	assert_int_equal(item_index(run, 4096), 16);
	for (unsigned int i = 0; i < 16; i++)
		assert_u64(run[i], napot_dirty);
	assert_u64(run[-1], 0);
	assert_u64(run[16], 0);
	assert_u64(phys(pt, SZ_64K + 0xABCD), 0x8001ABCD);
	assert_ptr_equal(lookup_ok(pt, SZ_64K + 5 * SZ_4K).item, run + 5);

	assert_int_equal(idt_pt_make_clean(pt, SZ_64K), 0);
	for (unsigned int i = 0; i < 16; i++)
		assert_u64(run[i], napot_clean);
	assert_false(dirty_at(pt, SZ_64K));

	for (size_t a = 0; a < N_ALGOS; a++) {
		assert_int_equal(idt_pt_make_dirty_item(pt, SZ_64K, 5), 0);
		for (unsigned int i = 0; i < 16; i++)
			assert_u64(run[i], i == 5 ? napot_dirty : napot_clean);
		/* is_dirty ORs over the run, asked through any copy */
		assert_true(dirty_at(pt, SZ_64K));
		assert_true(dirty_at(pt, SZ_64K + 15 * SZ_4K));
		bm_init(&b, 0, SZ_2M, SZ_4K);
		assert_int_equal(rcd(pt, 0, SZ_2M, 0, &b, NULL, all_algos[a]), 0);
		bm_expect(&b, 16, 31);
		for (unsigned int i = 0; i < 16; i++)
			assert_u64(run[i], napot_clean);
	}
	idt_pt_destroy(pt);
}

/* PT-08 (format part): A, D or U in a non-leaf item makes the walk fault. */
static void riscv_pt08_non_leaf_reserved_bits(void **state)
{
	static const uint64_t bits[] = { BIT(6) /* A */, BIT(7) /* D */, BIT(4) /* U */ };
	struct idt_pt *pt = pt_new(IDT_PT_RISCV, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	uint64_t *leaf_item;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	leaf_item = lookup_ok(pt, 0x1000).item;
	for (unsigned int level = 1; level <= 3; level++) {
		uint64_t *item = item_on_walk(pt, 0x1000, level);
		uint64_t good = *item;

		for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
			uint64_t oa;

			*item = good | bits[i];
			assert_int_equal(lookup_ret(pt, 0x1000), -ENOENT);
			assert_int_equal(idt_pt_iova_to_phys(pt, 0x1000, &oa), -ENOENT);
			assert_int_equal(idt_pt_make_dirty(pt, 0x1000), -ENOENT);
			/* software walkers skip the malformed subtree and write nothing */
			for (size_t a = 0; a < N_ALGOS; a++) {
				struct bm b;

				bm_init(&b, 0, SZ_2M, SZ_4K);
				assert_int_equal(rcd(pt, 0, SZ_2M, 0, &b, NULL, all_algos[a]), 0);
				bm_expect_none(&b);
			}
			assert_u64(*leaf_item, RV_4K_RW);
			assert_u64(*item, good | bits[i]);
			*item = good;
			assert_u64(lookup_ok(pt, 0x1000).oa, 0x80000000);
		}
	}
	idt_pt_destroy(pt);
}

/* formats.md 5.3: reserved encodings in a leaf fault. */
static void riscv_leaf_reserved_encodings(void **state)
{
	static const struct {
		uint64_t value;
		const char *what;
	} bad[] = {
		{ RV_4K_RW | BIT(54), "reserved bit 54" },
		{ RV_4K_RW | BIT(58), "reserved bit 58" },
		{ RV_4K_RW | (3ull << 61), "PBMT = 3" },
		{ 0x200000D5ull, "W without R: V|W|U|A|D | PPN" },
	};
	struct idt_pt *pt = pt_new(IDT_PT_RISCV, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	uint64_t *item;

	(void)state;
	assert_int_equal(idt_pt_map(pt, 0x1000, 0x80000000, SZ_4K, RW), 0);
	item = lookup_ok(pt, 0x1000).item;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		*item = bad[i].value;
		if (lookup_ret(pt, 0x1000) != -ENOENT)
			fail_msg("%s: lookup did not fault", bad[i].what);
		*item = RV_4K_RW;
		assert_u64(lookup_ok(pt, 0x1000).oa, 0x80000000);
	}
	idt_pt_destroy(pt);
}

/* formats.md 5.3: a superpage whose PPN bits below its level are not 0 is misaligned. */
static void riscv_misaligned_superpage(void **state)
{
	struct idt_pt *pt = pt_new(IDT_PT_RISCV, 48, 0, 0, IDT_PT_DIRTY_TRACKING);
	uint64_t *item;

	(void)state;
	assert_int_equal(idt_pt_map(pt, SZ_2M, 0x80000000, SZ_2M, RW), 0);
	item = lookup_ok(pt, SZ_2M).item;
	assert_u64(*item, RV_4K_RW); /* V|R|W|U|A|D | PPN 0x8_0000, at level 1 */
	*item = 0x200004D7ull;       /* PPN 0x8_0001: PPN[0] != 0 */
	assert_int_equal(lookup_ret(pt, SZ_2M), -ENOENT);
	*item = RV_4K_RW;
	assert_u64(lookup_ok(pt, SZ_2M + 0x1234).oa, 0x80000000);
	idt_pt_destroy(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(amdv1_example1_32k_items_24_to_31),
		cmocka_unit_test(amdv1_example1_translate_dirty_replica_clean),
		cmocka_unit_test(amdv1_example1_read_reports_8_bits),
		cmocka_unit_test(amdv1_example2_4m_items_2_and_3),
		cmocka_unit_test(amdv1_example3_natural_leaf_and_pde),
		cmocka_unit_test(amdv1_pt02_every_size_encodes_and_decodes),
		cmocka_unit_test(amdv1_pt02_512g_split_into_256g),
		cmocka_unit_test(amdv1_pt02_1t_unaligned_uses_256g_pieces),
		cmocka_unit_test(amdv1_raw_items_decode_or_fault),
		cmocka_unit_test(amdv1_pt01_random_replica_reports_whole_page),
		cmocka_unit_test(amdv1_pt06_generic_pt_reports_whole_run),
		cmocka_unit_test(amdv1_pt10_legacy_unaligned_cursor),
		cmocka_unit_test(amdv1_pt13_dynamic_top_keeps_dirty),
		cmocka_unit_test(amdv1_granule11_items),
		cmocka_unit_test(vtdss_2m_leaf_dirty_and_clean),
		cmocka_unit_test(vtdss_4k_and_1g_leaves),
		cmocka_unit_test(vtdss_snoop_sets_snp),
		cmocka_unit_test(vtdss_pt07_write_only_is_present),
		cmocka_unit_test(vtdss_pt07_no_rw_is_not_present),
		cmocka_unit_test(vtdss_table_items),
		cmocka_unit_test(arm_pt04_writable_starts_dirty),
		cmocka_unit_test(arm_read_only_never_dirty),
		cmocka_unit_test(arm_without_tracking_writable_not_dirty),
		cmocka_unit_test(arm_blocks_and_tables),
		cmocka_unit_test(arm_pt03_dbm_state_machine),
		cmocka_unit_test_setup_teardown(arm_pt12_hole_is_einval_iodirty, arm_pt12_setup,
						arm_pt12_teardown),
		cmocka_unit_test_setup_teardown(arm_pt12_hole_is_einval_generic_pt, arm_pt12_setup,
						arm_pt12_teardown),
		cmocka_unit_test_setup_teardown(arm_pt12_hole_is_einval_legacy, arm_pt12_setup,
						arm_pt12_teardown),
		cmocka_unit_test(riscv_leaf_and_table_items),
		cmocka_unit_test(riscv_widths_top_level_and_highest_iova),
		cmocka_unit_test(riscv_napot_64k),
		cmocka_unit_test(riscv_pt08_non_leaf_reserved_bits),
		cmocka_unit_test(riscv_leaf_reserved_encodings),
		cmocka_unit_test(riscv_misaligned_superpage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
