/* SPDX-License-Identifier: MIT */
/*
 * Format-independent page-table tests: the same tests run for every format
 * configuration in cfgs[] (one cmocka test per test x configuration, named
 * "test/config", and "test/config/algorithm" for the read-and-clear tests),
 * in the manner of Linux generic_pt's kunit tests.  Scenario ids refer to
 * shared/spec/test-cases.md, section numbers to formats.md/algorithms.md.
 *
 * Only the public API (iodirty/pt.h) is used, plus the raw item pointer that
 * idt_pt_lookup() hands out, whose values are compared as opaque 64-bit
 * words (which item changed), never decoded.
 * Bit-exact encodings are in test_pt_formats.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iodirty/bitmap.h"
#include "iodirty/pt.h"

#define SZ_4K 0x1000ull
#define SZ_8K 0x2000ull
#define SZ_64K 0x10000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define SZ_4M 0x400000ull
#define SZ_8M 0x800000ull
#define SZ_16M 0x1000000ull
#define SZ_1G 0x40000000ull
#define SZ_512G 0x8000000000ull
#define SZ_1T 0x10000000000ull

#define RW (IDT_PROT_READ | IDT_PROT_WRITE)

/* Base IOVA of the small layouts: 1 GiB, inside every width (>= 39 bits). */
#define BASE SZ_1G
/* Base output address of the small layouts (2 MiB aligned, < 2^48). */
#define OA_BASE 0x12340000000ull
/* Output-address bit pattern, masked to the OA width and the page size. */
#define OA_PATTERN 0x5a5a5a5a5a5a5a5aull

static const enum idt_rcd_algo algos[] = { IDT_RCD_IODIRTY, IDT_RCD_GENERIC_PT, IDT_RCD_LEGACY };
static const char *const algo_names[] = { "iodirty", "generic_pt", "legacy" };

/* ---- the configurations ------------------------------------------------ */

struct fmt_cfg {
	const char *name;
	uint32_t format;
	uint32_t iova_width; /* 0 = the format's default */
	uint32_t granule_lg2;
	uint32_t flags;
	bool trackable;    /* make_dirty works on a writable leaf */
	bool starts_dirty; /* a writable leaf is dirty right after map (formats.md 4.4, 5.6) */
	bool holes_error;  /* read_and_clear fails with -EINVAL on a hole (PT-12) */
	bool write_only;   /* a write-only leaf stays write-only (AMD, VT-d) */
	bool dynamic_top;  /* AMD: starts at 3 levels and grows (formats.md 2.3) */
};

static const struct fmt_cfg cfgs[] = {
	{ .name = "amdv1-48", .format = IDT_PT_AMDV1, .iova_width = 48,
	  .trackable = true, .write_only = true },
	{ .name = "amdv1-64-dyntop", .format = IDT_PT_AMDV1, .iova_width = 64,
	  .flags = IDT_PT_DYNAMIC_TOP | IDT_PT_DIRTY_TRACKING,
	  .trackable = true, .write_only = true, .dynamic_top = true },
	/* the iommufd mock device's layout: 2 KiB granule, default (64-bit) width */
	{ .name = "amdv1-g11", .format = IDT_PT_AMDV1, .granule_lg2 = 11,
	  .trackable = true, .write_only = true },
	{ .name = "vtdss-39", .format = IDT_PT_VTDSS, .iova_width = 39,
	  .trackable = true, .write_only = true },
	{ .name = "vtdss-48", .format = IDT_PT_VTDSS, .iova_width = 48,
	  .flags = IDT_PT_DIRTY_TRACKING, .trackable = true, .write_only = true },
	{ .name = "vtdss-57", .format = IDT_PT_VTDSS, .iova_width = 57,
	  .flags = IDT_PT_VTD_SNOOP, .trackable = true, .write_only = true },
	{ .name = "arm-39", .format = IDT_PT_ARM_S1, .iova_width = 39, .holes_error = true },
	{ .name = "arm-39-dt", .format = IDT_PT_ARM_S1, .iova_width = 39,
	  .flags = IDT_PT_DIRTY_TRACKING, .trackable = true, .starts_dirty = true,
	  .holes_error = true },
	{ .name = "arm-48", .format = IDT_PT_ARM_S1, .iova_width = 48, .holes_error = true },
	{ .name = "arm-48-dt", .format = IDT_PT_ARM_S1, .iova_width = 48,
	  .flags = IDT_PT_DIRTY_TRACKING, .trackable = true, .starts_dirty = true,
	  .holes_error = true },
	{ .name = "riscv-39", .format = IDT_PT_RISCV, .iova_width = 39,
	  .trackable = true, .starts_dirty = true },
	{ .name = "riscv-48", .format = IDT_PT_RISCV, .iova_width = 48,
	  .flags = IDT_PT_DIRTY_TRACKING, .trackable = true, .starts_dirty = true },
	{ .name = "riscv-57", .format = IDT_PT_RISCV, .iova_width = 57,
	  .trackable = true, .starts_dirty = true },
	{ .name = "riscv-48-napot", .format = IDT_PT_RISCV, .iova_width = 48,
	  .flags = IDT_PT_RISCV_NAPOT, .trackable = true, .starts_dirty = true },
	{ .name = "riscv-39x4", .format = IDT_PT_RISCV, .iova_width = 41,
	  .flags = IDT_PT_RISCV_GSTAGE, .trackable = true, .starts_dirty = true },
	{ .name = "riscv-57x4-napot", .format = IDT_PT_RISCV, .iova_width = 59,
	  .flags = IDT_PT_RISCV_GSTAGE | IDT_PT_RISCV_NAPOT, .trackable = true,
	  .starts_dirty = true },
};

#define NUM_CFGS (sizeof(cfgs) / sizeof(cfgs[0]))

/* What each registered test runs on: a configuration, and for the
 * read-and-clear tests one algorithm. */
struct test_state {
	const struct fmt_cfg *cfg;
	enum idt_rcd_algo algo;
};

#define CFG(state) (((const struct test_state *)*(state))->cfg)
#define ALGO(state) (((const struct test_state *)*(state))->algo)

/* ---- helpers ----------------------------------------------------------- */

static struct idt_pt_config make_config(const struct fmt_cfg *c, uint64_t page_sizes)
{
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = c->format,
		.iova_width = c->iova_width,
		.granule_lg2 = c->granule_lg2,
		.page_sizes = page_sizes,
		.flags = c->flags,
	};
	return cfg;
}

static struct idt_pt *new_pt_sizes(const struct fmt_cfg *c, uint64_t page_sizes)
{
	struct idt_pt_config cfg = make_config(c, page_sizes);
	struct idt_pt *pt = NULL;

	assert_int_equal(idt_pt_create(&cfg, &pt), 0);
	assert_non_null(pt);
	return pt;
}

static struct idt_pt *new_pt(const struct fmt_cfg *c)
{
	return new_pt_sizes(c, 0);
}

static struct idt_pt_info get_info(const struct idt_pt *pt)
{
	struct idt_pt_info info;

	idt_pt_get_info(pt, &info);
	return info;
}

static uint64_t tables_of(const struct idt_pt *pt)
{
	return get_info(pt).tables;
}

/*
 * Nothing but the roots is allocated: the root, and for AMD's dynamic top
 * the chain of roots grown so far (3 levels at creation, one root per level
 * added), which unmap keeps as Linux does.
 */
static void expect_only_roots(const struct fmt_cfg *c, const struct idt_pt *pt)
{
	struct idt_pt_info info = get_info(pt);

	assert_int_equal(info.tables, c->dynamic_top ? info.levels - 2 : 1);
}

static uint64_t last_iova_of(const struct idt_pt_info *info)
{
	return info->max_iova_width >= 64 ? UINT64_MAX : (1ull << info->max_iova_width) - 1;
}

static uint64_t oa_last_of(const struct idt_pt_info *info)
{
	return info->oa_width >= 64 ? UINT64_MAX : (1ull << info->oa_width) - 1;
}

static uint64_t min_page_of(const struct idt_pt_info *info)
{
	return info->page_sizes & -info->page_sizes;
}

/* An output address aligned to size with a mix of bits, inside the OA width. */
static uint64_t pattern_oa(const struct idt_pt_info *info, uint64_t size)
{
	return OA_PATTERN & oa_last_of(info) & ~(size - 1);
}

static void expect_unmapped(const struct idt_pt *pt, uint64_t iova)
{
	struct idt_pt_leaf leaf;
	uint64_t oa;

	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), -ENOENT);
	assert_int_equal(idt_pt_iova_to_phys(pt, iova, &oa), -ENOENT);
}

static void expect_phys(const struct idt_pt *pt, uint64_t iova, uint64_t oa)
{
	uint64_t got = 0;

	assert_int_equal(idt_pt_iova_to_phys(pt, iova, &got), 0);
	assert_int_equal(got, oa);
}

/* The entry covering iova is [entry_iova, + 2^size_lg2) -> entry_oa. */
static void expect_leaf(const struct idt_pt *pt, uint64_t iova, uint64_t entry_iova,
			uint64_t entry_oa, unsigned int size_lg2)
{
	struct idt_pt_leaf leaf;

	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	assert_int_equal(leaf.iova, entry_iova);
	assert_int_equal(leaf.oa, entry_oa);
	assert_int_equal(leaf.size_lg2, size_lg2);
	expect_phys(pt, iova, entry_oa + (iova - entry_iova));
}

static bool is_dirty(const struct idt_pt *pt, uint64_t iova)
{
	bool dirty = false;

	assert_int_equal(idt_pt_is_dirty(pt, iova, &dirty), 0);
	return dirty;
}

static void do_map(struct idt_pt *pt, uint64_t iova, uint64_t oa, uint64_t size, int prot)
{
	assert_int_equal(idt_pt_map(pt, iova, oa, size, prot), 0);
}

static void do_unmap(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t expect_bytes)
{
	uint64_t unmapped = 0xdeadbeef;

	assert_int_equal(idt_pt_unmap(pt, iova, size, &unmapped), 0);
	assert_int_equal(unmapped, expect_bytes);
}

/* Unmaps the whole IOVA space (two calls when it is 2^64 bytes). */
static void unmap_all(struct idt_pt *pt, uint64_t expect_bytes)
{
	struct idt_pt_info info = get_info(pt);
	uint64_t last = last_iova_of(&info);
	uint64_t a = 0, b = 0;

	if (last == UINT64_MAX) {
		assert_int_equal(idt_pt_unmap(pt, 0, 1ull << 63, &a), 0);
		assert_int_equal(idt_pt_unmap(pt, 1ull << 63, 1ull << 63, &b), 0);
	} else {
		assert_int_equal(idt_pt_unmap(pt, 0, last + 1, &a), 0);
	}
	assert_int_equal(a + b, expect_bytes);
}

/* The largest allowed page that fits and divides iova and oa (formats.md 7.1). */
static unsigned int ref_best_lg2(uint64_t mask, uint64_t iova, uint64_t oa, uint64_t remaining)
{
	for (int b = 63; b >= 0; b--) {
		uint64_t s = 1ull << b;

		if ((mask & s) && s <= remaining && !((iova | oa) & (s - 1)))
			return (unsigned int)b;
	}
	fail_msg("no page size fits iova 0x%" PRIx64 " oa 0x%" PRIx64, iova, oa);
	return 0;
}

/* [iova, iova + size) is mapped to oa with exactly the leaves the greedy
 * reference choice predicts; returns the number of leaves. */
static uint64_t expect_best_leaves(const struct idt_pt *pt, uint64_t mask, uint64_t iova,
				   uint64_t oa, uint64_t size)
{
	uint64_t done = 0, leaves = 0;

	while (done < size) {
		unsigned int lg2 = ref_best_lg2(mask, iova + done, oa + done, size - done);

		expect_leaf(pt, iova + done, iova + done, oa + done, lg2);
		expect_leaf(pt, iova + done + ((1ull << lg2) - 1), iova + done, oa + done, lg2);
		done += 1ull << lg2;
		leaves++;
	}
	return leaves;
}

/* ---- bitmap and gather helpers ----------------------------------------- */

struct tbm {
	struct idt_bitmap bm;
	uint8_t *data;
	uint8_t *expect;
	size_t bytes;
	struct idt_gather gather;
	struct idt_dirty_record rec;
};

/* A 4 KiB-granular bitmap over [iova, iova + length), with a gather. */
static void tbm_init(struct tbm *t, uint64_t iova, uint64_t length)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(idt_bitmap_init(&t->bm, iova, length, SZ_4K, NULL), 0);
	t->bytes = (size_t)idt_bitmap_bytes(&t->bm);
	t->data = calloc(1, t->bytes);
	t->expect = calloc(1, t->bytes);
	assert_non_null(t->data);
	assert_non_null(t->expect);
	assert_int_equal(idt_bitmap_init(&t->bm, iova, length, SZ_4K, t->data), 0);
	idt_gather_init(&t->gather);
	t->rec.bitmap = &t->bm;
	t->rec.gather = &t->gather;
}

static void tbm_reset(struct tbm *t)
{
	memset(t->data, 0, t->bytes);
	memset(t->expect, 0, t->bytes);
	idt_gather_init(&t->gather);
}

static void tbm_free(struct tbm *t)
{
	free(t->data);
	free(t->expect);
}

/* Expect bits covering [iova, iova + length). */
static void tbm_expect(struct tbm *t, uint64_t iova, uint64_t length)
{
	uint64_t first = (iova - t->bm.iova) >> 12;
	uint64_t last = (iova + length - 1 - t->bm.iova) >> 12;

	for (uint64_t n = first; n <= last; n++)
		t->expect[n / 8] |= (uint8_t)(1u << (n % 8));
}

static void tbm_check(const struct tbm *t)
{
	for (uint64_t n = 0; n < t->bm.nbits; n++) {
		bool want = t->expect[n / 8] & (1u << (n % 8));

		if (idt_bitmap_test(&t->bm, n) != want)
			fail_msg("bit %" PRIu64 " (iova 0x%" PRIx64 ") is %d, expected %d", n,
				 t->bm.iova + (n << 12), !want, want);
	}
}

static void tbm_check_empty(const struct tbm *t)
{
	for (size_t i = 0; i < t->bytes; i++)
		if (t->data[i])
			fail_msg("byte %zu of the bitmap is 0x%02x, expected nothing", i, t->data[i]);
}

static void expect_gather(const struct tbm *t, uint64_t start, uint64_t last)
{
	assert_false(idt_gather_empty(&t->gather));
	assert_int_equal(t->gather.start, start);
	assert_int_equal(t->gather.last, last);
}

static void expect_gather_empty(const struct tbm *t)
{
	assert_true(idt_gather_empty(&t->gather));
}

static int rcd(struct idt_pt *pt, struct tbm *t, uint64_t iova, uint64_t size, unsigned int flags,
	       enum idt_rcd_algo algo)
{
	return idt_pt_read_and_clear_dirty(pt, iova, size, flags, &t->rec, algo);
}

/* ---- 1. map / unmap / iova_to_phys over every page size ----------------- */

static void map_check_unmap(const struct fmt_cfg *c, struct idt_pt *pt, uint64_t iova,
			    uint64_t oa, unsigned int lg2)
{
	struct idt_pt_info info = get_info(pt);
	uint64_t size = 1ull << lg2;
	uint64_t last = last_iova_of(&info);
	struct idt_pt_leaf leaf;

	do_map(pt, iova, oa, size, RW);
	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	assert_int_equal(leaf.iova, iova);
	assert_int_equal(leaf.oa, oa);
	assert_int_equal(leaf.size_lg2, lg2);
	assert_int_equal(leaf.prot, RW);
	assert_true(leaf.items >= 1);
	assert_non_null(leaf.item);
	/* first, a middle and the last byte of the page */
	expect_leaf(pt, iova, iova, oa, lg2);
	expect_leaf(pt, iova + size / 2 + 0x35, iova, oa, lg2);
	expect_leaf(pt, iova + (size - 1), iova, oa, lg2);
	/* nothing around it */
	if (iova)
		expect_unmapped(pt, iova - 1);
	if (iova + (size - 1) < last)
		expect_unmapped(pt, iova + size);
	if (c->dynamic_top) {
		info = get_info(pt);
		assert_true((int)info.iova_width >= 64 - __builtin_clzll(iova + (size - 1)));
	}

	do_unmap(pt, iova, size, size);
	expect_unmapped(pt, iova);
	expect_unmapped(pt, iova + (size - 1));
	expect_only_roots(c, pt);
}

static void test_map_every_page_size(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t last = last_iova_of(&info);

	assert_int_equal(info.format, c->format);
	assert_int_not_equal(info.page_sizes, 0);
	assert_int_equal(info.tables, 1);
	assert_int_not_equal(info.root, 0);
	assert_int_equal(info.root & 0xfff, 0);
	for (uint64_t m = info.page_sizes; m; m &= m - 1) {
		unsigned int lg2 = (unsigned int)__builtin_ctzll(m);
		uint64_t size = 1ull << lg2;
		/* low: the second slot of the size where it fits, else 0 */
		uint64_t low = size <= last / 4 ? size : 0;
		/* high: the highest aligned IOVA of the width, so every level exists */
		uint64_t high = last - (size - 1);

		map_check_unmap(c, pt, low, pattern_oa(&info, size), lg2);
		map_check_unmap(c, pt, high, oa_last_of(&info) - (size - 1), lg2);
		/* both at once, then unmap everything in one call */
		do_map(pt, low, pattern_oa(&info, size), size, RW);
		do_map(pt, high, oa_last_of(&info) - (size - 1), size, IDT_PROT_READ);
		expect_leaf(pt, high + size / 2, high, oa_last_of(&info) - (size - 1), lg2);
		unmap_all(pt, 2 * size);
		expect_only_roots(c, pt);
	}
	info = get_info(pt);
	if (c->dynamic_top)
		assert_int_equal(info.iova_width, info.max_iova_width);
	idt_pt_destroy(pt);
}

/* ---- 2. best page size ------------------------------------------------- */

static void test_best_page_size(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t mask = info.page_sizes;
	uint64_t width_bytes_lg2 = info.max_iova_width < info.oa_width ? info.max_iova_width
									: info.oa_width;

	assert_true(mask & SZ_4K);
	assert_true(mask & SZ_2M);
	assert_true(mask & SZ_1G);

	/* 2 MiB + 4 KiB, iova and oa 2 MiB aligned: one 2 MiB and one 4 KiB leaf */
	do_map(pt, BASE, OA_BASE, SZ_2M + SZ_4K, RW);
	expect_leaf(pt, BASE, BASE, OA_BASE, 21);
	expect_leaf(pt, BASE + SZ_2M - 1, BASE, OA_BASE, 21);
	expect_leaf(pt, BASE + SZ_2M, BASE + SZ_2M, OA_BASE + SZ_2M, 12);
	expect_leaf(pt, BASE + SZ_2M + SZ_4K - 1, BASE + SZ_2M, OA_BASE + SZ_2M, 12);
	expect_unmapped(pt, BASE + SZ_2M + SZ_4K);
	do_unmap(pt, BASE, SZ_2M + SZ_4K, SZ_2M + SZ_4K);
	expect_only_roots(c, pt);

	/* the same with the oa only 4 KiB aligned: 513 pages of 4 KiB */
	do_map(pt, BASE, OA_BASE + SZ_4K, SZ_2M + SZ_4K, RW);
	for (uint64_t off = 0; off < SZ_2M + SZ_4K; off += SZ_4K)
		expect_leaf(pt, BASE + off + 0x123, BASE + off, OA_BASE + SZ_4K + off, 12);
	assert_int_equal(expect_best_leaves(pt, mask, BASE, OA_BASE + SZ_4K, SZ_2M + SZ_4K), 513);
	do_unmap(pt, BASE, SZ_2M + SZ_4K, SZ_2M + SZ_4K);
	expect_only_roots(c, pt);

	/* the iova only 4 KiB aligned, the oa aligned: 4 KiB pages too */
	do_map(pt, BASE + SZ_4K, OA_BASE, SZ_2M, RW);
	expect_leaf(pt, BASE + SZ_4K, BASE + SZ_4K, OA_BASE, 12);
	expect_leaf(pt, BASE + SZ_2M, BASE + SZ_2M, OA_BASE + SZ_2M - SZ_4K, 12);
	do_unmap(pt, BASE + SZ_4K, SZ_2M, SZ_2M);

	/* 1 GiB + 2 MiB + 4 KiB at a 1 GiB boundary: one leaf of each */
	do_map(pt, BASE, OA_BASE & ~(SZ_1G - 1), SZ_1G + SZ_2M + SZ_4K, RW);
	assert_int_equal(expect_best_leaves(pt, mask, BASE, OA_BASE & ~(SZ_1G - 1),
					    SZ_1G + SZ_2M + SZ_4K),
			 3);
	expect_leaf(pt, BASE + SZ_1G / 2, BASE, OA_BASE & ~(SZ_1G - 1), 30);
	do_unmap(pt, BASE, SZ_1G + SZ_2M + SZ_4K, SZ_1G + SZ_2M + SZ_4K);
	expect_only_roots(c, pt);

	/*
	 * For every size s: 2s at a 2s-aligned iova whose oa is only s-aligned
	 * gives two s leaves; with both 2s-aligned it gives what the greedy
	 * choice gives (one 2s leaf if 2s is allowed).
	 */
	for (uint64_t m = mask; m; m &= m - 1) {
		unsigned int lg2 = (unsigned int)__builtin_ctzll(m);
		uint64_t s = 1ull << lg2;

		if (lg2 + 2 > width_bytes_lg2)
			continue;
		do_map(pt, 2 * s, s, 2 * s, RW);
		assert_int_equal(expect_best_leaves(pt, mask, 2 * s, s, 2 * s), 2);
		do_unmap(pt, 2 * s, 2 * s, 2 * s);
		do_map(pt, 2 * s, 2 * s, 2 * s, RW);
		assert_int_equal(expect_best_leaves(pt, mask, 2 * s, 2 * s, 2 * s),
				 (mask & (2 * s)) ? 1 : 2);
		do_unmap(pt, 2 * s, 2 * s, 2 * s);
		expect_only_roots(c, pt);
	}

	if (c->format == IDT_PT_AMDV1 && c->granule_lg2 != 11) {
		/* PT-02: 1 TiB at 512 GiB alignment uses no 512 GiB leaf: 256 GiB pieces */
		do_map(pt, SZ_1T + SZ_512G, 3 * SZ_512G, SZ_1T, RW);
		assert_int_equal(expect_best_leaves(pt, mask, SZ_1T + SZ_512G, 3 * SZ_512G, SZ_1T),
				 4);
		expect_leaf(pt, SZ_1T + SZ_512G, SZ_1T + SZ_512G, 3 * SZ_512G, 38);
		do_unmap(pt, SZ_1T + SZ_512G, SZ_1T, SZ_1T);
		/* formats.md 2.4 worked example 1: a 32 KiB page is one entry of 8 items */
		do_map(pt, 0x40018000, 0x12340000, 0x8000, RW);
		{
			struct idt_pt_leaf leaf;

			assert_int_equal(idt_pt_lookup(pt, 0x4001a123, &leaf), 0);
			assert_int_equal(leaf.size_lg2, 15);
			assert_int_equal(leaf.items, 8);
			assert_int_equal(leaf.iova, 0x40018000);
		}
		expect_phys(pt, 0x4001a123, 0x12342123);
		do_unmap(pt, 0x40018000, 0x8000, 0x8000);
	}
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);

	/* the page_sizes mask restricts the choice: 4 KiB only */
	pt = new_pt_sizes(c, SZ_4K);
	info = get_info(pt);
	assert_int_equal(info.page_sizes, SZ_4K);
	do_map(pt, BASE, OA_BASE, SZ_2M, RW);
	for (uint64_t off = 0; off < SZ_2M; off += SZ_4K)
		expect_leaf(pt, BASE + off, BASE + off, OA_BASE + off, 12);
	do_unmap(pt, BASE, SZ_2M, SZ_2M);
	/* with 4 KiB as the smallest allowed size, 2 KiB alignment is refused */
	assert_int_equal(idt_pt_map(pt, BASE + SZ_4K / 2, OA_BASE, SZ_4K, RW), -EINVAL);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);

	/* 4 KiB and 1 GiB allowed: a 2 MiB range takes 4 KiB pages, 1 GiB one leaf */
	pt = new_pt_sizes(c, SZ_4K | SZ_1G);
	info = get_info(pt);
	assert_int_equal(info.page_sizes, SZ_4K | SZ_1G);
	do_map(pt, BASE, OA_BASE & ~(SZ_1G - 1), SZ_1G + SZ_2M, RW);
	assert_int_equal(expect_best_leaves(pt, SZ_4K | SZ_1G, BASE, OA_BASE & ~(SZ_1G - 1),
					    SZ_1G + SZ_2M),
			 1 + 512);
	do_unmap(pt, BASE, SZ_1G + SZ_2M, SZ_1G + SZ_2M);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random subsets of the format's sizes (always with its smallest) and random
 * ranges: map() picks exactly the greedy choice of formats.md 7.1.
 */
static void test_best_page_size_random_masks(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	uint64_t all = get_info(pt).page_sizes;
	uint64_t min = all & -all;
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ c->format ^ ((uint64_t)c->iova_width << 8);

	idt_pt_destroy(pt);
	for (int it = 0; it < 24; it++) {
		uint64_t mask = (all & xorshift64(&seed)) | min;
		uint64_t r = xorshift64(&seed);
		/* offsets often 2 MiB or 64 KiB aligned, so that large pages fit */
		uint64_t iova = BASE + (r % 8) * SZ_2M +
				((r >> 3) % 3 == 0 ? 0 : ((r >> 5) % 64) * SZ_64K) +
				((r >> 11) % 2 ? 0 : ((r >> 12) % 16) * min);
		uint64_t oa = OA_BASE + ((r >> 16) % 8) * SZ_2M +
			      (iova & (SZ_2M - 1) & ~(((r >> 19) % 2 ? SZ_64K : min) - 1));
		uint64_t len = (((r >> 24) % 3) * SZ_2M + ((r >> 26) % 64) * SZ_64K +
				((r >> 32) % 16 + 1) * min);
		struct idt_pt_info info;

		pt = new_pt_sizes(c, mask);
		info = get_info(pt);
		assert_int_equal(info.page_sizes, mask);
		do_map(pt, iova, oa, len, RW);
		expect_best_leaves(pt, mask, iova, oa, len);
		if (iova > BASE)
			expect_unmapped(pt, iova - 1);
		expect_unmapped(pt, iova + len);
		do_unmap(pt, iova, len, len);
		expect_only_roots(c, pt);
		idt_pt_destroy(pt);
	}
}

/* ---- 3. read_and_clear_dirty -------------------------------------------- */

/*
 * Layout: [BASE, +2 MiB) as 512 pages of 4 KiB (oa only 4 KiB aligned),
 * [BASE + 2 MiB, +2 MiB) as one 2 MiB leaf, and a read-only 4 KiB page at
 * BASE + 4 MiB.  [BASE, BASE + 4 MiB + 4 KiB) is fully mapped.
 */
#define L_PAGES BASE
#define L_LARGE (BASE + SZ_2M)
#define L_RO (BASE + SZ_4M)
#define L_SIZE (SZ_4M + SZ_4K)
#define PAGE(n) (L_PAGES + (uint64_t)(n) * SZ_4K)

static struct idt_pt *map_layout(const struct fmt_cfg *c)
{
	struct idt_pt *pt = new_pt(c);

	do_map(pt, L_PAGES, OA_BASE + SZ_4K, SZ_2M, RW);
	do_map(pt, L_LARGE, OA_BASE + SZ_4M, SZ_2M, RW);
	do_map(pt, L_RO, OA_BASE + SZ_8M, SZ_4K, IDT_PROT_READ);
	expect_leaf(pt, PAGE(7), PAGE(7), OA_BASE + SZ_4K + 7 * SZ_4K, 12);
	expect_leaf(pt, L_LARGE + SZ_1M, L_LARGE, OA_BASE + SZ_4M, 21);
	return pt;
}

static void unmap_layout(const struct fmt_cfg *c, struct idt_pt *pt)
{
	do_unmap(pt, L_PAGES, L_SIZE, L_SIZE);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

/* formats.md 4.4 and 5.6: writable leaves start dirty; a clearing read
 * reports them once (the read-only page never) and leaves them clean. */
static void start_clean(const struct fmt_cfg *c, struct idt_pt *pt, struct tbm *t,
			enum idt_rcd_algo algo)
{
	tbm_reset(t);
	if (c->starts_dirty) {
		assert_true(is_dirty(pt, PAGE(0)));
		assert_true(is_dirty(pt, L_LARGE));
		assert_int_equal(rcd(pt, t, L_PAGES, L_SIZE, 0, algo), 0);
		tbm_expect(t, L_PAGES, SZ_4M);
		tbm_check(t);
		expect_gather(t, L_PAGES, L_PAGES + SZ_4M - 1);
	} else {
		assert_int_equal(rcd(pt, t, L_PAGES, L_SIZE, 0, algo), 0);
		tbm_check_empty(t);
		expect_gather_empty(t);
	}
	assert_false(is_dirty(pt, PAGE(0)));
	assert_false(is_dirty(pt, PAGE(511)));
	assert_false(is_dirty(pt, L_LARGE));
	assert_false(is_dirty(pt, L_RO));
	tbm_reset(t);
	assert_int_equal(rcd(pt, t, L_PAGES, L_SIZE, 0, algo), 0);
	tbm_check_empty(t);
	expect_gather_empty(t);
}

static const unsigned int dirty_pages[] = { 3, 4, 200, 511 };

static void test_read_and_clear(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	enum idt_rcd_algo algo = ALGO(state);

	{
		struct idt_pt *pt = map_layout(c);
		struct tbm t;

		tbm_init(&t, L_PAGES, SZ_8M);
		start_clean(c, pt, &t, algo);
		if (!c->trackable) {
			/* ARM without DBM: nothing can become dirty (formats.md 4.4) */
			assert_int_equal(idt_pt_make_dirty(pt, PAGE(3)), -EINVAL);
			assert_int_equal(idt_pt_make_dirty(pt, L_LARGE), -EINVAL);
			assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, IDT_DIRTY_NO_CLEAR, algo), 0);
			tbm_check_empty(&t);
			tbm_free(&t);
			unmap_layout(c, pt);
			return;
		}

		/* dirty four 4 KiB pages and the 2 MiB page (in its middle) */
		for (size_t i = 0; i < 4; i++)
			assert_int_equal(idt_pt_make_dirty(pt, PAGE(dirty_pages[i])), 0);
		assert_int_equal(idt_pt_make_dirty(pt, L_LARGE + 37 * SZ_4K), 0);
		assert_true(is_dirty(pt, PAGE(3)));
		assert_false(is_dirty(pt, PAGE(5)));
		assert_true(is_dirty(pt, L_LARGE));

		/* NO_CLEAR reports exactly those, twice, and leaves them dirty */
		for (int round = 0; round < 2; round++) {
			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, IDT_DIRTY_NO_CLEAR, algo), 0);
			for (size_t i = 0; i < 4; i++)
				tbm_expect(&t, PAGE(dirty_pages[i]), SZ_4K);
			tbm_expect(&t, L_LARGE, SZ_2M); /* 512 bits */
			tbm_check(&t);
			/* the gather sees NO_CLEAR records only in the legacy algorithm */
			if (algo == IDT_RCD_LEGACY)
				expect_gather(&t, PAGE(3), L_LARGE + SZ_2M - 1);
			else
				expect_gather_empty(&t);
			for (size_t i = 0; i < 4; i++)
				assert_true(is_dirty(pt, PAGE(dirty_pages[i])));
			assert_true(is_dirty(pt, L_LARGE + SZ_2M - 1));
		}

		/* a clearing read reports the same and cleans them */
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, 0, algo), 0);
		for (size_t i = 0; i < 4; i++)
			tbm_expect(&t, PAGE(dirty_pages[i]), SZ_4K);
		tbm_expect(&t, L_LARGE, SZ_2M);
		tbm_check(&t);
		expect_gather(&t, PAGE(3), L_LARGE + SZ_2M - 1);
		for (size_t i = 0; i < 4; i++)
			assert_false(is_dirty(pt, PAGE(dirty_pages[i])));
		assert_false(is_dirty(pt, L_LARGE));

		/* a second clearing read reports nothing */
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, 0, algo), 0);
		tbm_check_empty(&t);
		expect_gather_empty(&t);

		/* one page in the middle: the gather is exactly that page */
		assert_int_equal(idt_pt_make_dirty(pt, PAGE(200) + 0x777), 0);
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, 0, algo), 0);
		tbm_expect(&t, PAGE(200), SZ_4K);
		tbm_check(&t);
		expect_gather(&t, PAGE(200), PAGE(201) - 1);

		/* a read of a sub-range reports and cleans only inside it */
		assert_int_equal(idt_pt_make_dirty(pt, PAGE(3)), 0);
		assert_int_equal(idt_pt_make_dirty(pt, PAGE(200)), 0);
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, PAGE(100), 200 * SZ_4K, 0, algo), 0);
		tbm_expect(&t, PAGE(200), SZ_4K);
		tbm_check(&t);
		expect_gather(&t, PAGE(200), PAGE(201) - 1);
		assert_true(is_dirty(pt, PAGE(3)));
		assert_false(is_dirty(pt, PAGE(200)));
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, 0, algo), 0);
		tbm_expect(&t, PAGE(3), SZ_4K);
		tbm_check(&t);
		expect_gather(&t, PAGE(3), PAGE(4) - 1);

		/*
		 * A read starting in the middle of the dirty 2 MiB page: iodirty
		 * records [cursor, end of the walk]; generic_pt records from the
		 * cursor the items from the current one to the end of the run;
		 * legacy records (cursor, whole leaf size).  algorithms.md 2 and 3.
		 */
		{
			struct idt_pt_leaf leaf;
			uint64_t cursor = L_LARGE + SZ_1M;
			uint64_t item_size, item_start, end;

			assert_int_equal(idt_pt_make_dirty(pt, L_LARGE), 0);
			assert_int_equal(idt_pt_lookup(pt, cursor, &leaf), 0);
			item_size = SZ_2M / leaf.items;
			item_start = cursor & ~(item_size - 1);
			if (algo == IDT_RCD_IODIRTY)
				end = L_LARGE + SZ_2M;
			else if (algo == IDT_RCD_GENERIC_PT)
				end = cursor + (L_LARGE + SZ_2M - item_start);
			else
				end = cursor + SZ_2M;
			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, cursor, SZ_1M, 0, algo), 0);
			tbm_expect(&t, cursor, end - cursor);
			tbm_check(&t);
			expect_gather(&t, cursor, end - 1);
			assert_false(is_dirty(pt, L_LARGE));

			/* a read ending in its middle: iodirty stops at the walk's
			 * end, generic_pt at the end of the current table's walk
			 * (whole items), legacy records the whole leaf size */
			assert_int_equal(idt_pt_make_dirty(pt, L_LARGE), 0);
			if (algo == IDT_RCD_IODIRTY)
				end = L_LARGE + SZ_1M;
			else if (algo == IDT_RCD_GENERIC_PT)
				end = L_LARGE + (item_size > SZ_1M ? item_size : SZ_1M);
			else
				end = L_LARGE + SZ_2M;
			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, L_LARGE, SZ_1M, 0, algo), 0);
			tbm_expect(&t, L_LARGE, end - L_LARGE);
			tbm_check(&t);
			expect_gather(&t, L_LARGE, end - 1);
			assert_false(is_dirty(pt, L_LARGE));
		}

		tbm_free(&t);
		unmap_layout(c, pt);
	}
}

/*
 * A 64 KiB range mapped at 64 KiB alignment: one 16-item entry on AMD
 * (NextLevel 7) and RISC-V with Svnapot (32 items at a 2 KiB granule),
 * sixteen 4 KiB leaves elsewhere.  Whichever item is marked, the whole entry
 * the lookup reports is recorded, and a clearing read cleans every item
 * (PT-01, PT-06, formats.md 2.5 and 5.3).
 */
static void test_read_and_clear_multi_item_entry(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	enum idt_rcd_algo algo = ALGO(state);
	const uint64_t iova = BASE + SZ_64K;
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_leaf leaf;
	struct tbm t;

	do_map(pt, iova, OA_BASE, SZ_64K, RW);
	tbm_init(&t, iova, SZ_64K);
	assert_int_equal(rcd(pt, &t, iova, SZ_64K, 0, algo), 0);
	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	for (int which = 0; which < 2; which++) {
		uint32_t item = which ? leaf.items - 1 : 0;
		uint64_t item_size = (1ull << leaf.size_lg2) / leaf.items;
		uint64_t probe = leaf.iova + item * item_size;

		assert_false(is_dirty(pt, iova));
		assert_int_equal(idt_pt_make_dirty_item(pt, probe, item), 0);
		for (int round = 0; round < 2; round++) {
			unsigned int flags = round ? 0 : IDT_DIRTY_NO_CLEAR;

			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, iova, SZ_64K, flags, algo), 0);
			tbm_expect(&t, leaf.iova, 1ull << leaf.size_lg2);
			tbm_check(&t);
			if (flags == 0 || algo == IDT_RCD_LEGACY)
				expect_gather(&t, leaf.iova, leaf.iova + (1ull << leaf.size_lg2) - 1);
			else
				expect_gather_empty(&t);
			/* NO_CLEAR leaves it dirty, the clearing read cleans all items */
			assert_int_equal(is_dirty(pt, probe), flags != 0);
			for (uint32_t i = 0; i < leaf.items && !flags; i++)
				assert_int_equal(leaf.item[i], leaf.item[0]);
		}
	}
	if (c->format == IDT_PT_AMDV1)
		assert_int_equal(leaf.size_lg2, 16);
	if (c->flags & IDT_PT_RISCV_NAPOT) {
		assert_int_equal(leaf.size_lg2, 16);
		assert_int_equal(leaf.items, 16);
	}
	tbm_free(&t);
	do_unmap(pt, iova, SZ_64K, SZ_64K);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

/* All three algorithms give the same bitmap on an aligned, fully mapped range. */
static void test_read_and_clear_algorithms_agree(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	uint8_t *first = NULL;
	size_t bytes = 0;

	for (size_t a = 0; a < 3; a++) {
		struct idt_pt *pt = map_layout(c);
		struct tbm t;
		uint32_t seed = 12345;

		tbm_init(&t, L_PAGES, L_SIZE);
		start_clean(c, pt, &t, algos[a]);
		/* the same pseudo-random third of the pages, and the 2 MiB page */
		for (unsigned int n = 0; n < 512; n++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 3 == 0)
				assert_int_equal(idt_pt_make_dirty(pt, PAGE(n)), 0);
		}
		assert_int_equal(idt_pt_make_dirty(pt, L_LARGE + SZ_2M - SZ_4K), 0);
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, L_PAGES, L_SIZE, 0, algos[a]), 0);
		if (!first) {
			bytes = t.bytes;
			first = malloc(bytes);
			assert_non_null(first);
			memcpy(first, t.data, bytes);
		} else {
			assert_memory_equal(first, t.data, bytes);
		}
		/* the large page is reported whole by every algorithm */
		for (uint64_t n = 512; n < 1024; n++)
			assert_true(idt_bitmap_test(&t.bm, n));
		assert_false(idt_bitmap_test(&t.bm, 1024));
		tbm_free(&t);
		unmap_layout(c, pt);
	}
	free(first);
}

/*
 * Holes: [BASE, +64 KiB) 4 KiB pages, a hole, one 4 KiB page at BASE + 1 MiB
 * (same leaf table), a hole to BASE + 2 MiB, a 2 MiB page, a hole to
 * BASE + 8 MiB, one 4 KiB page at BASE + 8 MiB.
 */
#define H_PAGES BASE
#define H_MID (BASE + SZ_1M)
#define H_LARGE (BASE + SZ_2M)
#define H_LONE (BASE + SZ_8M)

static void test_read_and_clear_holes(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	enum idt_rcd_algo algo = ALGO(state);

	{
		struct idt_pt *pt = new_pt(c);
		struct tbm t;
		int ret;

		do_map(pt, H_PAGES, OA_BASE + SZ_4K, SZ_64K, RW);
		do_map(pt, H_LARGE, OA_BASE + SZ_4M, SZ_2M, RW);
		do_map(pt, H_LONE, OA_BASE + SZ_16M, SZ_4K, RW);
		do_map(pt, H_MID, OA_BASE + SZ_16M + SZ_4K, SZ_4K, RW);
		tbm_init(&t, BASE, SZ_16M);
		if (c->starts_dirty) {
			/* clean each mapped piece (each is hole-free) */
			assert_int_equal(rcd(pt, &t, H_PAGES, SZ_64K, 0, algo), 0);
			assert_int_equal(rcd(pt, &t, H_LARGE, SZ_2M, 0, algo), 0);
			assert_int_equal(rcd(pt, &t, H_LONE, SZ_4K, 0, algo), 0);
			assert_int_equal(rcd(pt, &t, H_MID, SZ_4K, 0, algo), 0);
			tbm_reset(&t);
		}
		if (c->trackable) {
			assert_int_equal(idt_pt_make_dirty(pt, H_PAGES + SZ_4K), 0);
			assert_int_equal(idt_pt_make_dirty(pt, H_LARGE + 5 * SZ_4K), 0);
			assert_int_equal(idt_pt_make_dirty(pt, H_LONE), 0);
			assert_int_equal(idt_pt_make_dirty(pt, H_MID), 0);
		}

		ret = rcd(pt, &t, BASE, SZ_16M, 0, algo);
		if (c->holes_error) {
			/* PT-12: -EINVAL at the hole, after recording what came before */
			assert_int_equal(ret, -EINVAL);
			if (c->trackable) {
				tbm_expect(&t, H_PAGES + SZ_4K, SZ_4K);
				tbm_check(&t);
				expect_gather(&t, H_PAGES + SZ_4K, H_PAGES + SZ_8K - 1);
				assert_false(is_dirty(pt, H_PAGES + SZ_4K));
				/* nothing past the hole was read or cleaned */
				assert_true(is_dirty(pt, H_MID));
				assert_true(is_dirty(pt, H_LARGE));
				assert_true(is_dirty(pt, H_LONE));
			} else {
				tbm_check_empty(&t);
			}
			/* a range starting in a hole records nothing */
			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, H_PAGES + SZ_64K, SZ_4K, 0, algo), -EINVAL);
			tbm_check_empty(&t);
			expect_gather_empty(&t);
			/* the mapped pieces alone still read fine */
			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, H_LARGE, SZ_2M, 0, algo), 0);
			assert_int_equal(rcd(pt, &t, H_LONE, SZ_4K, 0, algo), 0);
			if (c->trackable) {
				tbm_expect(&t, H_LARGE, SZ_2M);
				tbm_expect(&t, H_LONE, SZ_4K);
				tbm_check(&t);
			} else {
				tbm_check_empty(&t);
			}
		} else {
			/* holes are skipped: exactly the dirtied pages */
			assert_int_equal(ret, 0);
			tbm_expect(&t, H_PAGES + SZ_4K, SZ_4K);
			tbm_expect(&t, H_MID, SZ_4K);
			tbm_expect(&t, H_LARGE, SZ_2M);
			tbm_expect(&t, H_LONE, SZ_4K);
			tbm_check(&t);
			expect_gather(&t, H_PAGES + SZ_4K, H_LONE + SZ_4K - 1);
			assert_false(is_dirty(pt, H_PAGES + SZ_4K));
			assert_false(is_dirty(pt, H_LARGE));
			assert_false(is_dirty(pt, H_LONE));
			assert_false(is_dirty(pt, H_MID));
			tbm_reset(&t);
			assert_int_equal(rcd(pt, &t, BASE, SZ_16M, 0, algo), 0);
			tbm_check_empty(&t);
			expect_gather_empty(&t);
			/* a range that is all hole */
			assert_int_equal(rcd(pt, &t, BASE + SZ_16M, SZ_1G - SZ_16M, 0, algo), 0);
			assert_int_equal(rcd(pt, &t, 0, SZ_1G, 0, algo), 0);
			tbm_check_empty(&t);
			expect_gather_empty(&t);
		}
		tbm_free(&t);
		do_unmap(pt, BASE, SZ_16M, SZ_64K + SZ_2M + 2 * SZ_4K);
		expect_only_roots(c, pt);
		idt_pt_destroy(pt);
	}
}

/* ---- 4. PT-05 test_dirty per level and size ------------------------------ */

static void test_dirty_one(const struct fmt_cfg *c, struct idt_pt *pt, uint64_t iova, uint64_t oa,
			   unsigned int lg2)
{
	struct idt_pt_info info = get_info(pt);
	uint64_t size = 1ull << lg2;
	unsigned int g = info.granule_lg2;
	struct idt_pt_leaf leaf;
	uint64_t snap[256];
	uint64_t *run;
	uint64_t item_size;

	do_map(pt, iova, oa, size, RW);
	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	assert_int_equal(leaf.size_lg2, lg2);
	assert_int_equal(leaf.level, (lg2 - g) / 9);
	assert_int_equal(leaf.items, 1u << ((lg2 - g) % 9));
	assert_true(leaf.items <= 256);
	run = leaf.item; /* the lookup at the entry's start gives its first item */
	item_size = size / leaf.items;

	/* 1. install and make_clean: not dirty */
	assert_int_equal(idt_pt_make_clean(pt, iova + size / 2), 0);
	assert_false(is_dirty(pt, iova));
	assert_false(is_dirty(pt, iova + (size - 1)));
	for (uint32_t i = 0; i < leaf.items; i++)
		snap[i] = run[i];

	/* 2. for each item: make_dirty(item), dirty, make_clean, clean */
	for (uint32_t i = 0; i < leaf.items; i++) {
		uint64_t probe = (i & 1) ? iova + (size - 1) : iova;
		struct idt_pt_leaf at;

		/* lookup hands out the item the iova indexes */
		assert_int_equal(idt_pt_lookup(pt, iova + (uint64_t)i * item_size, &at), 0);
		assert_ptr_equal(at.item, run + i);
		assert_int_equal(at.iova, iova);
		assert_int_equal(at.items, leaf.items);

		if (!c->trackable) {
			assert_int_equal(idt_pt_make_dirty_item(pt, probe, i), -EINVAL);
			assert_false(is_dirty(pt, iova));
			for (uint32_t j = 0; j < leaf.items; j++)
				assert_int_equal(run[j], snap[j]);
			continue;
		}
		assert_int_equal(idt_pt_make_dirty_item(pt, probe, i), 0);
		assert_true(is_dirty(pt, iova));
		assert_true(is_dirty(pt, iova + (size - 1)));
		/* only the chosen item changed */
		for (uint32_t j = 0; j < leaf.items; j++) {
			if (j == i)
				assert_int_not_equal(run[j], snap[j]);
			else
				assert_int_equal(run[j], snap[j]);
		}
		assert_int_equal(idt_pt_make_clean(pt, iova + (uint64_t)i * item_size), 0);
		assert_false(is_dirty(pt, iova));
		for (uint32_t j = 0; j < leaf.items; j++)
			assert_int_equal(run[j], snap[j]);

		/* make_dirty marks the item the iova indexes */
		assert_int_equal(idt_pt_make_dirty(pt, iova + (uint64_t)i * item_size + item_size / 2),
				 0);
		assert_true(is_dirty(pt, iova + (size - 1)));
		for (uint32_t j = 0; j < leaf.items; j++) {
			if (j == i)
				assert_int_not_equal(run[j], snap[j]);
			else
				assert_int_equal(run[j], snap[j]);
		}
		/* make_dirty on a dirty item changes nothing */
		assert_int_equal(idt_pt_make_dirty_item(pt, iova, i), 0);
		assert_int_equal(idt_pt_make_clean(pt, iova), 0);
		assert_false(is_dirty(pt, iova));
	}
	/* translation never changed */
	expect_leaf(pt, iova + (size - 1), iova, oa, lg2);
	do_unmap(pt, iova, size, size);
}

static void test_dirty_per_level_and_size(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t last = last_iova_of(&info);

	for (uint64_t m = info.page_sizes; m; m &= m - 1) {
		unsigned int lg2 = (unsigned int)__builtin_ctzll(m);
		uint64_t size = 1ull << lg2;

		test_dirty_one(c, pt, size <= last / 4 ? size : 0, pattern_oa(&info, size), lg2);
		/* PT-05: one mapping at the highest IOVA so every level exists */
		test_dirty_one(c, pt, last - (size - 1), oa_last_of(&info) - (size - 1), lg2);
		expect_only_roots(c, pt);
	}
	idt_pt_destroy(pt);
}

/* ---- 5. split ---------------------------------------------------------- */

static bool can_dirty(const struct fmt_cfg *c, int prot)
{
	if (!c->trackable)
		return false;
	/* ARM needs DBM (writable), RISC-V needs W */
	return c->format == IDT_PT_AMDV1 || c->format == IDT_PT_VTDSS || (prot & IDT_PROT_WRITE);
}

static void expect_piece(const struct idt_pt *pt, uint64_t iova, uint64_t oa, unsigned int lg2,
			 int prot, bool dirty)
{
	struct idt_pt_leaf leaf;

	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	assert_int_equal(leaf.iova, iova);
	assert_int_equal(leaf.oa, oa);
	assert_int_equal(leaf.size_lg2, lg2);
	assert_int_equal(leaf.prot, prot);
	assert_int_equal(leaf.dirty, dirty);
	expect_phys(pt, iova + (1ull << lg2) / 2 + 3, oa + (1ull << lg2) / 2 + 3);
}

static void split_one(const struct fmt_cfg *c, unsigned int lg2, int prot, bool make_it_dirty)
{
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t last = last_iova_of(&info);
	uint64_t size = 1ull << lg2;
	uint64_t iova = size <= last / 4 ? size : 0;
	uint64_t oa = pattern_oa(&info, size);
	uint64_t tables_before;
	struct idt_pt_leaf leaf0, leaf;
	unsigned int piece_lg2, prev_lg2;
	bool dirty;
	int steps = 0;

	do_map(pt, iova, oa, size, prot);
	assert_int_equal(idt_pt_lookup(pt, iova, &leaf0), 0);
	assert_int_equal(leaf0.size_lg2, lg2);
	if (make_it_dirty && can_dirty(c, prot)) {
		/* D in the last item only: the entry is dirty (OR over items) */
		assert_int_equal(idt_pt_make_dirty_item(pt, iova, leaf0.items - 1), 0);
		dirty = true;
	} else {
		assert_int_equal(idt_pt_make_clean(pt, iova), 0);
		dirty = false;
	}
	assert_int_equal(is_dirty(pt, iova), dirty);

	/* one step: a multi-item entry becomes natural items of its level, a
	 * natural leaf a table of natural leaves of the level below */
	tables_before = tables_of(pt);
	/* any iova inside the entry names it: split at a middle byte */
	assert_int_equal(idt_pt_split(pt, iova + size / 2 + 0x11), 0);
	piece_lg2 = lg2 - (unsigned int)__builtin_ctz(leaf0.items); /* the level's natural size */
	if (leaf0.items > 1 && (info.page_sizes & (1ull << piece_lg2))) {
		assert_int_equal(tables_of(pt), tables_before);
	} else {
		/* a natural leaf, or a run whose natural size the format excludes
		 * (AMD 512 GiB): each item becomes a table of the level below */
		piece_lg2 -= 9;
		assert_int_equal(tables_of(pt), tables_before + leaf0.items);
	}
	for (uint64_t k = 0; k < (size >> piece_lg2); k++)
		expect_piece(pt, iova + (k << piece_lg2), oa + (k << piece_lg2), piece_lg2,
			     leaf0.prot, dirty);
	expect_phys(pt, iova, oa);
	expect_phys(pt, iova + size / 2 + 5, oa + size / 2 + 5);
	expect_phys(pt, iova + size / 3 + 1, oa + size / 3 + 1);
	expect_phys(pt, iova + (size - 1), oa + (size - 1));
	if (iova)
		expect_unmapped(pt, iova - 1);
	if (iova + (size - 1) < last)
		expect_unmapped(pt, iova + size);

	/* repeated split of the first piece reaches the granule */
	prev_lg2 = piece_lg2;
	for (;;) {
		int ret = idt_pt_split(pt, iova);

		if (ret == -EINVAL)
			break;
		assert_int_equal(ret, 0);
		assert_true(++steps <= 12);
		assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
		assert_true(leaf.size_lg2 < prev_lg2);
		prev_lg2 = leaf.size_lg2;
		expect_piece(pt, iova, oa, leaf.size_lg2, leaf0.prot, dirty);
		expect_piece(pt, iova + (1ull << prev_lg2), oa + (1ull << prev_lg2), prev_lg2,
			     leaf0.prot, dirty);
		expect_phys(pt, iova + (size - 1), oa + (size - 1));
	}
	assert_int_equal(idt_pt_lookup(pt, iova, &leaf), 0);
	assert_int_equal(leaf.size_lg2, info.granule_lg2);
	assert_int_equal(leaf.level, 0);
	assert_int_equal(leaf.items, 1);
	assert_int_equal(leaf.dirty, dirty);
	/* split on a single base page: -EINVAL, nothing changed */
	assert_int_equal(idt_pt_split(pt, iova + 1), -EINVAL);
	expect_piece(pt, iova, oa, info.granule_lg2, leaf0.prot, dirty);

	do_unmap(pt, iova, size, size);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

static void test_split(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	int prots[3] = { RW, IDT_PROT_READ, IDT_PROT_WRITE };
	int nprots = c->write_only ? 3 : 2;

	/* split of an unmapped iova: -ENOENT; outside the width: -EINVAL */
	assert_int_equal(idt_pt_split(pt, BASE), -ENOENT);
	if (info.max_iova_width < 64)
		assert_int_equal(idt_pt_split(pt, last_iova_of(&info) + 1), -EINVAL);
	/* split on a single base page: -EINVAL */
	do_map(pt, BASE, OA_BASE, 1ull << info.granule_lg2, RW);
	assert_int_equal(idt_pt_split(pt, BASE), -EINVAL);
	expect_leaf(pt, BASE, BASE, OA_BASE, info.granule_lg2);
	do_unmap(pt, BASE, 1ull << info.granule_lg2, 1ull << info.granule_lg2);
	idt_pt_destroy(pt);

	for (uint64_t m = info.page_sizes; m; m &= m - 1) {
		unsigned int lg2 = (unsigned int)__builtin_ctzll(m);

		if (lg2 == info.granule_lg2)
			continue;
		for (int p = 0; p < nprots; p++) {
			split_one(c, lg2, prots[p], true);
			split_one(c, lg2, prots[p], false);
		}
	}
}

/* A write-only request maps write-only (AMD, VT-d) or read-write (ARM, RISC-V:
 * write implies read, a project decision). */
static void test_write_only_prot(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_leaf leaf;

	do_map(pt, BASE, OA_BASE, SZ_4K, IDT_PROT_WRITE);
	assert_int_equal(idt_pt_lookup(pt, BASE, &leaf), 0);
	assert_int_equal(leaf.prot, c->write_only ? IDT_PROT_WRITE : RW);
	do_map(pt, BASE + SZ_4K, OA_BASE, SZ_4K, IDT_PROT_READ);
	assert_int_equal(idt_pt_lookup(pt, BASE + SZ_4K, &leaf), 0);
	assert_int_equal(leaf.prot, IDT_PROT_READ);
	do_unmap(pt, BASE, SZ_8K, SZ_8K);
	idt_pt_destroy(pt);
}

/* ---- 6. bad input ------------------------------------------------------- */

/* A reference mapping that must survive every refused call: a 2 MiB leaf at
 * BASE, dirty when the format can make it so. */
static void expect_reference_intact(const struct fmt_cfg *c, const struct idt_pt *pt,
				    uint64_t tables)
{
	expect_leaf(pt, BASE, BASE, OA_BASE, 21);
	expect_leaf(pt, BASE + SZ_2M - 1, BASE, OA_BASE, 21);
	assert_int_equal(is_dirty(pt, BASE), c->trackable);
	assert_int_equal(tables_of(pt), tables);
}

static void test_bad_map(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t min = min_page_of(&info);
	uint64_t half = min / 2;
	uint64_t last = last_iova_of(&info);
	uint64_t oa_last = oa_last_of(&info);
	uint64_t free_iova = BASE + SZ_8M;
	uint64_t tables;

	do_map(pt, BASE, OA_BASE, SZ_2M, RW);
	if (c->trackable)
		assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_4K), 0);
	else
		assert_int_equal(idt_pt_make_clean(pt, BASE), 0);
	tables = tables_of(pt);

	/* misaligned iova, oa, size; size 0 */
	assert_int_equal(idt_pt_map(pt, free_iova + half, OA_BASE, min, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE + half, min, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE, min + half, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE, 0, RW), -EINVAL);
	/* iova + size wrapping past 2^64 */
	assert_int_equal(idt_pt_map(pt, 0 - min, OA_BASE, 2 * min, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, 0 - SZ_2M, OA_BASE, SZ_4M, RW), -EINVAL);
	/* beyond the width */
	if (last < UINT64_MAX) {
		assert_int_equal(idt_pt_map(pt, last + 1, OA_BASE, min, RW), -EINVAL);
		assert_int_equal(idt_pt_map(pt, last + 1 - min, OA_BASE, 2 * min, RW), -EINVAL);
		expect_unmapped(pt, last + 1 - min);
		assert_int_equal(idt_pt_map(pt, 1ull << 63, OA_BASE, min, RW), -EINVAL);
	}
	/* oa beyond the OA width, or wrapping */
	assert_int_equal(idt_pt_map(pt, free_iova, oa_last + 1, min, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, oa_last + 1 - min, 2 * min, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, 0 - min, 2 * min, RW), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, 1ull << 63, min, RW), -EINVAL);
	/* prot 0 or unknown bits */
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE, min, 0), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE, min, 4), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE, min, RW | 8), -EINVAL);
	assert_int_equal(idt_pt_map(pt, free_iova, OA_BASE, min, -1), -EINVAL);
	assert_int_equal(idt_pt_map(NULL, free_iova, OA_BASE, min, RW), -EINVAL);
	expect_unmapped(pt, free_iova);
	expect_reference_intact(c, pt, tables);

	/* over an existing mapping: -EEXIST */
	assert_int_equal(idt_pt_map(pt, BASE, OA_BASE, SZ_2M, RW), -EEXIST);
	assert_int_equal(idt_pt_map(pt, BASE + SZ_4K, OA_BASE, SZ_4K, RW), -EEXIST);
	assert_int_equal(idt_pt_map(pt, BASE + SZ_2M - SZ_4K, OA_BASE, SZ_8K, RW), -EEXIST);
	expect_unmapped(pt, BASE + SZ_2M);
	/* all or nothing: the first half [BASE - 2 MiB, BASE) is free, the second overlaps */
	assert_int_equal(idt_pt_map(pt, BASE - SZ_2M, OA_BASE, SZ_4M, RW), -EEXIST);
	expect_unmapped(pt, BASE - SZ_2M);
	assert_int_equal(idt_pt_map(pt, BASE - SZ_2M, OA_BASE + SZ_4K, SZ_4M, RW), -EEXIST);
	expect_unmapped(pt, BASE - SZ_2M);
	expect_unmapped(pt, BASE - SZ_4K);
	expect_reference_intact(c, pt, tables);

	/* all or nothing across new tables: the free first half needs tables of
	 * its own (previous 1 GiB), the second half hits a 4 KiB page */
	do_map(pt, 2 * SZ_1G, OA_BASE, SZ_4K, RW);
	tables = tables_of(pt);
	assert_int_equal(idt_pt_map(pt, 2 * SZ_1G - SZ_1M, OA_BASE + SZ_4K, SZ_2M, RW), -EEXIST);
	expect_unmapped(pt, 2 * SZ_1G - SZ_1M);
	expect_unmapped(pt, 2 * SZ_1G - SZ_4K);
	expect_leaf(pt, 2 * SZ_1G, 2 * SZ_1G, OA_BASE, 12);
	assert_int_equal(tables_of(pt), tables);
	/* a 2 MiB leaf over a table holding a 4 KiB page */
	assert_int_equal(idt_pt_map(pt, 2 * SZ_1G, OA_BASE, SZ_2M, RW), -EEXIST);
	/* a multi-item or 4 KiB run over one present item in its middle */
	do_map(pt, 2 * SZ_1G + SZ_2M + SZ_8K, OA_BASE, SZ_4K, RW);
	tables = tables_of(pt);
	assert_int_equal(idt_pt_map(pt, 2 * SZ_1G + SZ_2M, OA_BASE, SZ_64K, RW), -EEXIST);
	expect_unmapped(pt, 2 * SZ_1G + SZ_2M);
	expect_unmapped(pt, 2 * SZ_1G + SZ_2M + SZ_4K);
	assert_int_equal(tables_of(pt), tables);
	do_unmap(pt, 2 * SZ_1G, SZ_1G, 2 * SZ_4K);
	tables = tables_of(pt);
	expect_reference_intact(c, pt, tables);

	/* a mapping at the very top of the width; unmapping it frees its tables
	 * (a dynamic top keeps the roots it grew) */
	{
		uint32_t levels = get_info(pt).levels;

		do_map(pt, last - (min - 1), OA_BASE, min, RW);
		assert_int_equal(idt_pt_map(pt, last - (min - 1), OA_BASE, min, RW), -EEXIST);
		do_unmap(pt, last - (min - 1), min, min);
		assert_int_equal(tables_of(pt), tables + (get_info(pt).levels - levels));
	}

	do_unmap(pt, BASE, SZ_2M, SZ_2M);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

static void test_bad_unmap(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t min = min_page_of(&info);
	uint64_t last = last_iova_of(&info);
	uint64_t tables, unmapped;

	do_map(pt, BASE, OA_BASE, SZ_2M, RW);
	do_map(pt, BASE - SZ_4K, OA_BASE + SZ_8M, SZ_4K, RW);
	if (c->trackable)
		assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_4K), 0);
	else
		assert_int_equal(idt_pt_make_clean(pt, BASE), 0);
	tables = tables_of(pt);

	/* part of a large page, at either end: -EINVAL, nothing changed */
	unmapped = 7;
	assert_int_equal(idt_pt_unmap(pt, BASE + SZ_4K, SZ_2M - SZ_4K, &unmapped), -EINVAL);
	assert_int_equal(idt_pt_unmap(pt, BASE, SZ_4K, &unmapped), -EINVAL);
	assert_int_equal(idt_pt_unmap(pt, BASE, SZ_1M, &unmapped), -EINVAL);
	assert_int_equal(idt_pt_unmap(pt, BASE + SZ_1M, SZ_2M, &unmapped), -EINVAL);
	/* the page before is fully inside, but the large page straddles the end */
	assert_int_equal(idt_pt_unmap(pt, BASE - SZ_4K, SZ_8K, &unmapped), -EINVAL);
	expect_leaf(pt, BASE - SZ_4K, BASE - SZ_4K, OA_BASE + SZ_8M, 12);
	/* misaligned, size 0, wrapping, beyond the width */
	assert_int_equal(idt_pt_unmap(pt, BASE, 0, &unmapped), -EINVAL);
	assert_int_equal(idt_pt_unmap(pt, BASE + min / 2, min, &unmapped), -EINVAL);
	assert_int_equal(idt_pt_unmap(pt, BASE, SZ_2M + min / 2, &unmapped), -EINVAL);
	assert_int_equal(idt_pt_unmap(pt, 0 - min, 2 * min, &unmapped), -EINVAL);
	if (last < UINT64_MAX) {
		assert_int_equal(idt_pt_unmap(pt, last + 1, min, &unmapped), -EINVAL);
		assert_int_equal(idt_pt_unmap(pt, 0, last + 1 + min, &unmapped), -EINVAL);
	}
	assert_int_equal(idt_pt_unmap(NULL, BASE, SZ_2M, &unmapped), -EINVAL);
	assert_int_equal(unmapped, 7);
	expect_reference_intact(c, pt, tables);
	expect_leaf(pt, BASE - SZ_4K, BASE - SZ_4K, OA_BASE + SZ_8M, 12);

	/* nothing mapped in the range: success, 0 bytes */
	do_unmap(pt, BASE + SZ_4M, SZ_4M, 0);
	expect_reference_intact(c, pt, tables);
	/* unmapped may be NULL */
	assert_int_equal(idt_pt_unmap(pt, BASE - SZ_4K, SZ_4K, NULL), 0);
	expect_unmapped(pt, BASE - SZ_4K);
	/* a range covering the whole leaf and more */
	do_unmap(pt, BASE - SZ_2M, SZ_8M, SZ_2M);
	expect_unmapped(pt, BASE);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

static void test_bad_read_and_clear(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t last = last_iova_of(&info);
	uint64_t tables;
	struct tbm t;

	do_map(pt, BASE, OA_BASE, SZ_2M, RW);
	if (c->trackable)
		assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_4K), 0);
	else
		assert_int_equal(idt_pt_make_clean(pt, BASE), 0);
	tables = tables_of(pt);
	tbm_init(&t, BASE, SZ_2M);

	for (size_t a = 0; a < 3; a++) {
		enum idt_rcd_algo algo = algos[a];

		assert_int_equal(rcd(pt, &t, BASE, SZ_2M, 2, algo), -EINVAL);
		assert_int_equal(rcd(pt, &t, BASE, SZ_2M, IDT_DIRTY_NO_CLEAR | 0x100, algo),
				 -EINVAL);
		assert_int_equal(rcd(pt, &t, BASE, SZ_2M, ~0u, algo), -EINVAL);
		assert_int_equal(rcd(pt, &t, BASE, 0, 0, algo), -EINVAL);
		assert_int_equal(idt_pt_read_and_clear_dirty(pt, BASE, SZ_2M, 0, NULL, algo),
				 -EINVAL);
		assert_int_equal(idt_pt_read_and_clear_dirty(NULL, BASE, SZ_2M, 0, &t.rec, algo),
				 -EINVAL);
		assert_int_equal(rcd(pt, &t, 0 - SZ_4K, SZ_8K, 0, algo), -EINVAL);
		if (last < UINT64_MAX) {
			assert_int_equal(rcd(pt, &t, last + 1, SZ_4K, 0, algo), -EINVAL);
			assert_int_equal(rcd(pt, &t, BASE, last + 1, 0, algo), -EINVAL);
		}
	}
	assert_int_equal(rcd(pt, &t, BASE, SZ_2M, 0, (enum idt_rcd_algo)3), -EINVAL);
	assert_int_equal(rcd(pt, &t, BASE, SZ_2M, 0, (enum idt_rcd_algo)-1), -EINVAL);
	tbm_check_empty(&t);
	expect_gather_empty(&t);
	expect_reference_intact(c, pt, tables);

	/* a record with neither bitmap nor gather is fine: it only cleans */
	{
		struct idt_dirty_record none = { NULL, NULL };

		assert_int_equal(idt_pt_read_and_clear_dirty(pt, BASE, SZ_2M, IDT_DIRTY_NO_CLEAR,
							     &none, IDT_RCD_IODIRTY),
				 0);
		assert_int_equal(is_dirty(pt, BASE), c->trackable);
		assert_int_equal(idt_pt_read_and_clear_dirty(pt, BASE, SZ_2M, 0, &none,
							     IDT_RCD_IODIRTY),
				 0);
		assert_false(is_dirty(pt, BASE));
	}
	tbm_free(&t);
	do_unmap(pt, BASE, SZ_2M, SZ_2M);
	idt_pt_destroy(pt);
}

static void test_bad_dirty_primitives(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t last = last_iova_of(&info);
	struct idt_pt_leaf leaf;
	uint64_t tables, ro_item, oa;
	bool dirty = true;

	do_map(pt, BASE, OA_BASE, SZ_2M, RW);
	if (c->trackable)
		assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_4K), 0);
	else
		assert_int_equal(idt_pt_make_clean(pt, BASE), 0);
	tables = tables_of(pt);

	/* unmapped iova: -ENOENT */
	assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_4M), -ENOENT);
	assert_int_equal(idt_pt_make_dirty_item(pt, BASE + SZ_4M, 0), -ENOENT);
	assert_int_equal(idt_pt_make_clean(pt, BASE + SZ_4M), -ENOENT);
	assert_int_equal(idt_pt_is_dirty(pt, BASE + SZ_4M, &dirty), -ENOENT);
	assert_int_equal(idt_pt_make_dirty(pt, BASE - 1), -ENOENT);
	expect_unmapped(pt, BASE + SZ_2M);
	/* outside the width: -EINVAL */
	if (last < UINT64_MAX) {
		assert_int_equal(idt_pt_make_dirty(pt, last + 1), -EINVAL);
		assert_int_equal(idt_pt_make_clean(pt, last + 1), -EINVAL);
		assert_int_equal(idt_pt_lookup(pt, last + 1, &leaf), -EINVAL);
		assert_int_equal(idt_pt_iova_to_phys(pt, last + 1, &oa), -EINVAL);
	}
	/* an item index past the entry */
	assert_int_equal(idt_pt_lookup(pt, BASE, &leaf), 0);
	assert_int_equal(idt_pt_make_dirty_item(pt, BASE, leaf.items), -EINVAL);
	assert_int_equal(idt_pt_make_dirty_item(pt, BASE, UINT32_MAX), -EINVAL);
	/* NULL arguments */
	assert_int_equal(idt_pt_lookup(pt, BASE, NULL), -EINVAL);
	assert_int_equal(idt_pt_iova_to_phys(pt, BASE, NULL), -EINVAL);
	assert_int_equal(idt_pt_is_dirty(pt, BASE, NULL), -EINVAL);
	assert_int_equal(idt_pt_make_dirty(NULL, BASE), -EINVAL);
	expect_reference_intact(c, pt, tables);

	/* a read-only leaf cannot become dirty on ARM (DBM = 0) and RISC-V (W = 0) */
	do_map(pt, BASE + SZ_4M, OA_BASE + SZ_4M, SZ_4K, IDT_PROT_READ);
	assert_int_equal(idt_pt_lookup(pt, BASE + SZ_4M, &leaf), 0);
	ro_item = *leaf.item;
	if (c->format == IDT_PT_ARM_S1 || c->format == IDT_PT_RISCV) {
		assert_false(is_dirty(pt, BASE + SZ_4M));
		assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_4M), -EINVAL);
		assert_int_equal(idt_pt_make_dirty_item(pt, BASE + SZ_4M, 0), -EINVAL);
		assert_int_equal(*leaf.item, ro_item);
		assert_false(is_dirty(pt, BASE + SZ_4M));
	}
	/* ARM without dirty tracking: a writable leaf has no DBM either */
	if (!c->trackable) {
		do_map(pt, BASE + SZ_8M, OA_BASE, SZ_4K, RW);
		assert_int_equal(idt_pt_make_dirty(pt, BASE + SZ_8M), -EINVAL);
		assert_false(is_dirty(pt, BASE + SZ_8M));
		do_unmap(pt, BASE + SZ_8M, SZ_4K, SZ_4K);
	}
	do_unmap(pt, BASE, SZ_8M, SZ_2M + SZ_4K);
	expect_only_roots(c, pt);
	idt_pt_destroy(pt);
}

/* Create-time checks, for every format (not table driven). */
static int try_create(struct idt_pt_config cfg)
{
	struct idt_pt *pt = (struct idt_pt *)0x1;
	int ret = idt_pt_create(&cfg, &pt);

	if (ret) {
		assert_true(pt == (struct idt_pt *)0x1);
	} else {
		assert_true(pt != (struct idt_pt *)0x1 && pt != NULL);
		idt_pt_destroy(pt);
	}
	return ret;
}

static struct idt_pt_config cfg_of(uint32_t format, uint32_t width, uint32_t granule,
				   uint32_t flags)
{
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = format,
		.iova_width = width,
		.granule_lg2 = granule,
		.flags = flags,
	};
	return cfg;
}

static void test_bad_create(void **state)
{
	struct idt_pt_config cfg;
	struct idt_pt *pt = NULL;
	static const uint32_t formats[] = { IDT_PT_AMDV1, IDT_PT_VTDSS, IDT_PT_ARM_S1,
					    IDT_PT_RISCV };

	(void)state;
	/* the names */
	assert_string_equal(idt_pt_format_name(IDT_PT_AMDV1), "amdv1");
	assert_string_equal(idt_pt_format_name(IDT_PT_VTDSS), "vtdss");
	assert_string_equal(idt_pt_format_name(IDT_PT_ARM_S1), "arm");
	assert_string_equal(idt_pt_format_name(IDT_PT_RISCV), "riscv");
	assert_null(idt_pt_format_name((enum idt_pt_format)0));
	assert_null(idt_pt_format_name((enum idt_pt_format)5));

	/* NULL arguments */
	cfg = cfg_of(IDT_PT_AMDV1, 0, 0, 0);
	assert_int_equal(idt_pt_create(NULL, &pt), -EINVAL);
	assert_int_equal(idt_pt_create(&cfg, NULL), -EINVAL);
	idt_pt_destroy(NULL);

	/* unknown format */
	assert_int_equal(try_create(cfg_of(0, 0, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(5, 0, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(UINT32_MAX, 48, 0, 0)), -EINVAL);

	/* widths: AMD 21..64, VT-d 39/48/57, ARM 39/48, RISC-V 39/48/57 (+2 G-stage) */
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 21, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 39, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 64, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 20, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 65, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 12, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, UINT32_MAX, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_VTDSS, 39, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_VTDSS, 57, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_VTDSS, 40, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_VTDSS, 64, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_VTDSS, 30, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_ARM_S1, 39, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_ARM_S1, 57, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_ARM_S1, 40, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_ARM_S1, 32, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 57, 0, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 41, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 64, 0, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 50, 0, IDT_PT_RISCV_GSTAGE)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 39, 0, IDT_PT_RISCV_GSTAGE)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 48, 0, IDT_PT_RISCV_GSTAGE)), -EINVAL);

	/* the default width (0): AMD 64, others 48 */
	for (size_t f = 0; f < 4; f++) {
		struct idt_pt_info info;

		cfg = cfg_of(formats[f], 0, 0, 0);
		assert_int_equal(idt_pt_create(&cfg, &pt), 0);
		idt_pt_get_info(pt, &info);
		assert_int_equal(info.max_iova_width, formats[f] == IDT_PT_AMDV1 ? 64 : 48);
		assert_int_equal(info.granule_lg2, 12);
		idt_pt_destroy(pt);
	}

	/* granule: 12 everywhere (0 = 12), AMD also 11 */
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 0, 11, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 0, 12, 0)), 0);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 0, 10, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 0, 13, 0)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 0, 16, 0)), -EINVAL);
	for (size_t f = 1; f < 4; f++) {
		assert_int_equal(try_create(cfg_of(formats[f], 0, 12, 0)), 0);
		assert_int_equal(try_create(cfg_of(formats[f], 0, 11, 0)), -EINVAL);
		assert_int_equal(try_create(cfg_of(formats[f], 0, 13, 0)), -EINVAL);
		assert_int_equal(try_create(cfg_of(formats[f], 0, 21, 0)), -EINVAL);
	}

	/* unknown flags, and flags of another format */
	for (size_t f = 0; f < 4; f++) {
		assert_int_equal(try_create(cfg_of(formats[f], 0, 0, 1u << 31)), -EINVAL);
		assert_int_equal(try_create(cfg_of(formats[f], 0, 0, 1u << 5)), -EINVAL);
		assert_int_equal(try_create(cfg_of(formats[f], 0, 0, IDT_PT_DIRTY_TRACKING)), 0);
	}
	assert_int_equal(try_create(cfg_of(IDT_PT_VTDSS, 0, 0, IDT_PT_DYNAMIC_TOP)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_ARM_S1, 0, 0, IDT_PT_RISCV_NAPOT)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_AMDV1, 0, 0, IDT_PT_RISCV_GSTAGE)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_RISCV, 0, 0, IDT_PT_VTD_SNOOP)), -EINVAL);
	assert_int_equal(try_create(cfg_of(IDT_PT_ARM_S1, 0, 0, IDT_PT_VTD_SNOOP)), -EINVAL);

	/* nonzero __reserved */
	cfg = cfg_of(IDT_PT_VTDSS, 48, 0, 0);
	cfg.__reserved = 1;
	assert_int_equal(try_create(cfg), -EINVAL);
	cfg.__reserved = 0x80000000u;
	assert_int_equal(try_create(cfg), -EINVAL);

	/* a page-size mask with no size the format supports */
	cfg = cfg_of(IDT_PT_VTDSS, 48, 0, 0);
	cfg.page_sizes = 1ull << 13;
	assert_int_equal(try_create(cfg), -EINVAL);
	cfg = cfg_of(IDT_PT_AMDV1, 48, 0, 0);
	cfg.page_sizes = 1ull << 39; /* 512 GiB is excluded (formats.md 2.4) */
	assert_int_equal(try_create(cfg), -EINVAL);
	cfg.page_sizes = 1ull << 11; /* below the granule */
	assert_int_equal(try_create(cfg), -EINVAL);

	/* config size too small: it must reach at least the granule */
	cfg = cfg_of(IDT_PT_AMDV1, 48, 0, 0);
	cfg.size = 0;
	assert_int_equal(try_create(cfg), -EINVAL);
	cfg.size = 4;
	assert_int_equal(try_create(cfg), -EINVAL);
	cfg.size = offsetof(struct idt_pt_config, granule_lg2);
	assert_int_equal(try_create(cfg), -EINVAL);
	/* bytes past the caller's size read as zero */
	cfg = cfg_of(IDT_PT_ARM_S1, 39, 0, 0);
	cfg.size = offsetof(struct idt_pt_config, page_sizes);
	cfg.page_sizes = 1ull << 13; /* would be refused if read */
	cfg.flags = 0xffffffffu;     /* would be refused if read */
	cfg.__reserved = 1;          /* would be refused if read */
	assert_int_equal(idt_pt_create(&cfg, &pt), 0);
	{
		struct idt_pt_info info;

		idt_pt_get_info(pt, &info);
		assert_int_equal(info.page_sizes, SZ_4K | SZ_2M | SZ_1G);
		assert_int_equal(info.max_iova_width, 39);
		/* no DBM: flags were read as 0 */
		do_map(pt, BASE, OA_BASE, SZ_4K, RW);
		assert_false(is_dirty(pt, BASE));
		assert_int_equal(idt_pt_make_dirty(pt, BASE), -EINVAL);
	}
	idt_pt_destroy(pt);
	/* a larger caller struct: zero tail accepted, nonzero tail refused */
	{
		struct {
			struct idt_pt_config c;
			uint8_t tail[8];
		} big;

		memset(&big, 0, sizeof(big));
		big.c = cfg_of(IDT_PT_RISCV, 39, 0, 0);
		big.c.size = sizeof(big);
		assert_int_equal(idt_pt_create(&big.c, &pt), 0);
		idt_pt_destroy(pt);
		big.tail[7] = 1;
		pt = NULL;
		assert_int_equal(idt_pt_create(&big.c, &pt), -E2BIG);
		assert_null(pt);
	}
}

/* ---- 7. the top of the address space (PT-11) ----------------------------- */

static void test_top_of_address_space(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	enum idt_rcd_algo algo = ALGO(state);
	const uint64_t top_page = 0 - SZ_4K;

	{
		struct idt_pt *pt = new_pt(c);
		struct idt_pt_info info;
		struct tbm t;

		/* PT-11b: map, dirty and read the last 4 KiB below 2^64 */
		do_map(pt, top_page, OA_BASE, SZ_4K, RW);
		info = get_info(pt);
		assert_int_equal(info.iova_width, 64);
		assert_int_equal(info.levels, 6);
		expect_leaf(pt, UINT64_MAX, top_page, OA_BASE, 12);
		expect_unmapped(pt, top_page - 1);
		assert_int_equal(idt_pt_map(pt, top_page, OA_BASE, SZ_8K, RW), -EINVAL);
		assert_int_equal(idt_pt_make_dirty(pt, UINT64_MAX), 0);
		assert_true(is_dirty(pt, top_page));

		tbm_init(&t, 0 - SZ_2M, SZ_2M);
		assert_int_equal(rcd(pt, &t, 0 - SZ_2M, SZ_2M, IDT_DIRTY_NO_CLEAR, algo), 0);
		tbm_expect(&t, top_page, SZ_4K);
		tbm_check(&t);
		if (algo == IDT_RCD_LEGACY)
			expect_gather(&t, top_page, UINT64_MAX);
		else
			expect_gather_empty(&t);
		assert_true(is_dirty(pt, top_page));
		/* the gather range is [2^64 - 4096, 2^64 - 1] (PT-11a) */
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, top_page, SZ_4K, 0, algo), 0);
		tbm_expect(&t, top_page, SZ_4K);
		tbm_check(&t);
		expect_gather(&t, top_page, UINT64_MAX);
		assert_false(is_dirty(pt, top_page));
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, 0 - SZ_2M, SZ_2M, 0, algo), 0);
		tbm_check_empty(&t);
		expect_gather_empty(&t);

		/* PT-11c: an unmap whose range reaches 2^64 - 1 returns 4096 */
		do_unmap(pt, 0 - SZ_1G, SZ_1G, SZ_4K);
		expect_unmapped(pt, top_page);

		/* the top 2 MiB as one leaf, reported as 512 bits */
		do_map(pt, 0 - SZ_2M, OA_BASE, SZ_2M, RW);
		expect_leaf(pt, UINT64_MAX, 0 - SZ_2M, OA_BASE, 21);
		assert_int_equal(idt_pt_make_dirty(pt, UINT64_MAX - SZ_1M), 0);
		tbm_reset(&t);
		assert_int_equal(rcd(pt, &t, 0 - SZ_2M, SZ_2M, 0, algo), 0);
		tbm_expect(&t, 0 - SZ_2M, SZ_2M);
		tbm_check(&t);
		expect_gather(&t, 0 - SZ_2M, UINT64_MAX);
		assert_int_equal(idt_pt_unmap(pt, 0 - SZ_2M, SZ_1M, NULL), -EINVAL);
		do_unmap(pt, 0 - SZ_2M, SZ_2M, SZ_2M);
		do_unmap(pt, 0 - SZ_4M, SZ_4M, 0);
		expect_only_roots(c, pt);
		tbm_free(&t);
		idt_pt_destroy(pt);
	}
}

/* ---- AMD dynamic top (formats.md 2.3, PT-13) ------------------------------ */

static void test_dynamic_top_keeps_roots(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_info info = get_info(pt);
	uint64_t root;
	struct tbm t;

	/* Linux starts at mode 3 */
	assert_int_equal(info.levels, 3);
	assert_int_equal(info.iova_width, 39);
	assert_int_equal(info.max_iova_width, 64);
	assert_int_equal(info.tables, 1);

	/* a dirty page below 2^39, then a map above 2^39 grows to mode 4 (PT-13) */
	do_map(pt, BASE, OA_BASE, SZ_4K, RW);
	assert_int_equal(idt_pt_make_dirty(pt, BASE), 0);
	assert_int_equal(tables_of(pt), 3);
	do_map(pt, SZ_1T, OA_BASE, SZ_4K, RW);
	info = get_info(pt);
	assert_int_equal(info.levels, 4);
	assert_int_equal(info.iova_width, 48);
	/* the new root, plus a level-2, level-1 and level-0 table for SZ_1T */
	assert_int_equal(info.tables, 3 + 1 + 3);
	expect_leaf(pt, BASE, BASE, OA_BASE, 12);
	assert_true(is_dirty(pt, BASE));
	tbm_init(&t, BASE, SZ_4K);
	assert_int_equal(rcd(pt, &t, 0, SZ_1T + SZ_4K, 0, IDT_RCD_IODIRTY), 0);
	tbm_expect(&t, BASE, SZ_4K);
	tbm_check(&t);
	tbm_free(&t);

	/* up to mode 6 */
	do_map(pt, 0 - SZ_4K, OA_BASE, SZ_4K, RW);
	info = get_info(pt);
	assert_int_equal(info.levels, 6);
	assert_int_equal(info.iova_width, 64);

	/* Unmapping everything frees the subtrees but keeps the grown chain of
	 * roots: 4 tables for 6 levels, and the top root's item 0 still leads
	 * to the original root. */
	root = get_info(pt).root;
	do_unmap(pt, 0 - SZ_4K, SZ_4K, SZ_4K);
	do_unmap(pt, SZ_1T, SZ_4K, SZ_4K);
	assert_int_equal(tables_of(pt), 4 + 2); /* the roots, and BASE's level-1 and level-0 */
	do_unmap(pt, BASE, SZ_4K, SZ_4K);
	assert_int_equal(tables_of(pt), 4);
	assert_int_equal(get_info(pt).root, root);
	assert_int_not_equal(((const uint64_t *)(uintptr_t)root)[0], 0);
	/* still usable afterwards */
	do_map(pt, BASE, OA_BASE, SZ_4K, RW);
	expect_leaf(pt, BASE, BASE, OA_BASE, 12);
	do_unmap(pt, BASE, SZ_4K, SZ_4K);
	assert_int_equal(tables_of(pt), 4);
	idt_pt_destroy(pt);
}

/* ---- deferred freeing and the hardware walk after unmap ------------------- */

/*
 * idt_pt_unmap_deferred unlinks emptied tables but keeps them until the
 * caller releases the list (after invalidating and draining), so a walk in
 * flight never reads freed memory; the walk already sees the range unmapped.
 */
static void test_unmap_deferred(void **state)
{
	const struct fmt_cfg *c = CFG(state);
	struct idt_pt *pt = new_pt(c);
	struct idt_pt_free_list list = { 0 };
	struct idt_pt_gate gate = { true, true };
	struct idt_pt_walk_result walk;
	uint64_t before, with_page, unmapped = 0;

	before = tables_of(pt);
	do_map(pt, BASE, OA_BASE, SZ_4K, RW);
	with_page = tables_of(pt);
	assert_true(with_page > before);

	assert_int_equal(idt_pt_unmap_deferred(pt, BASE, SZ_4K, &unmapped, &list), 0);
	assert_int_equal(unmapped, SZ_4K);
	expect_unmapped(pt, BASE);
	/* unlinked but not freed */
	assert_int_equal(list.count, with_page - before);
	assert_int_equal(tables_of(pt), with_page);
	assert_int_equal(idt_pt_hw_walk(pt, BASE, IDT_ACCESS_READ, &gate, NULL, &walk), 0);
	assert_int_equal(walk.fault, IDT_FAULT_NOT_PRESENT);

	idt_pt_free_list_release(pt, &list);
	assert_int_equal(list.count, 0);
	assert_null(list.tables);
	assert_int_equal(tables_of(pt), before);
	idt_pt_destroy(pt);
}

/* ---- registration ------------------------------------------------------- */

static bool any_cfg(const struct fmt_cfg *c)
{
	(void)c;
	return true;
}

static bool trackable(const struct fmt_cfg *c)
{
	return c->trackable;
}

static bool dynamic_top(const struct fmt_cfg *c)
{
	return c->dynamic_top;
}

static bool amd_64bit(const struct fmt_cfg *c)
{
	return c->format == IDT_PT_AMDV1 && (c->iova_width == 64 || c->iova_width == 0);
}

struct test_def {
	const char *name;
	CMUnitTestFunction fn;
	bool (*applies)(const struct fmt_cfg *c);
	bool per_algo; /* registered once per read-and-clear algorithm */
};

static const struct test_def per_cfg_tests[] = {
	{ "map_every_page_size", test_map_every_page_size, any_cfg, false },
	{ "best_page_size", test_best_page_size, any_cfg, false },
	{ "best_page_size_random_masks", test_best_page_size_random_masks, any_cfg, false },
	{ "read_and_clear", test_read_and_clear, any_cfg, true },
	{ "read_and_clear_algorithms_agree", test_read_and_clear_algorithms_agree, trackable,
	  false },
	{ "read_and_clear_multi_item_entry", test_read_and_clear_multi_item_entry, trackable,
	  true },
	{ "read_and_clear_holes", test_read_and_clear_holes, any_cfg, true },
	{ "dirty_per_level_and_size", test_dirty_per_level_and_size, any_cfg, false },
	{ "split", test_split, any_cfg, false },
	{ "write_only_prot", test_write_only_prot, any_cfg, false },
	{ "bad_map", test_bad_map, any_cfg, false },
	{ "bad_unmap", test_bad_unmap, any_cfg, false },
	{ "bad_read_and_clear", test_bad_read_and_clear, any_cfg, false },
	{ "bad_dirty_primitives", test_bad_dirty_primitives, any_cfg, false },
	{ "dynamic_top_keeps_roots", test_dynamic_top_keeps_roots, dynamic_top, false },
	{ "unmap_deferred", test_unmap_deferred, any_cfg, false },
	{ "top_of_address_space", test_top_of_address_space, amd_64bit, true },
};

#define NUM_PER_CFG (sizeof(per_cfg_tests) / sizeof(per_cfg_tests[0]))
#define MAX_TESTS (1 + NUM_PER_CFG * NUM_CFGS * 3)

int main(void)
{
	struct CMUnitTest *tests = calloc(MAX_TESTS, sizeof(*tests));
	struct test_state *states = calloc(MAX_TESTS, sizeof(*states));
	char **names = calloc(MAX_TESTS, sizeof(*names));
	size_t n = 0;
	int ret;

	if (!tests || !states || !names)
		return 1;
	tests[n++] = (struct CMUnitTest){ .name = "bad_create", .test_func = test_bad_create };
	for (size_t d = 0; d < NUM_PER_CFG; d++) {
		const struct test_def *def = &per_cfg_tests[d];

		for (size_t i = 0; i < NUM_CFGS; i++) {
			if (!def->applies(&cfgs[i]))
				continue;
			for (size_t a = 0; a < (def->per_algo ? 3u : 1u); a++) {
				int len = def->per_algo
						  ? asprintf(&names[n], "%s/%s/%s", def->name,
							     cfgs[i].name, algo_names[a])
						  : asprintf(&names[n], "%s/%s", def->name, cfgs[i].name);

				if (len < 0)
					return 1;
				states[n] = (struct test_state){ .cfg = &cfgs[i], .algo = algos[a] };
				tests[n] = (struct CMUnitTest){
					.name = names[n],
					.test_func = def->fn,
					.initial_state = &states[n],
				};
				n++;
			}
		}
	}
	ret = _cmocka_run_group_tests("pt_common", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(states);
	free(tests);
	return ret;
}
