/* SPDX-License-Identifier: MIT */
/*
 * Randomized page-table test (issue 2, "What it must show": a randomized test
 * per format checked against a plain reference model).
 *
 * For each format, IODIRTY_ITERATIONS (default 10^5) random operations run
 * against the library and against the reference model of pt_model.h (shared
 * with the page-table fuzz target), and every return value, byte count,
 * bitmap, gather and lookup is compared with its prediction.  Every CHECK_EVERY
 * operations a full check compares every entry, unmapped samples and the
 * exact number of allocated tables (tables are freed when they become empty:
 * issue 2, item 5).
 *
 * Operations run inside an 8 GiB window at a random base (sometimes the top
 * of the address space); most of them inside a 128 MiB "small" region of it
 * with 4 KiB..8 MiB mappings, occasionally 2 MiB..8 GiB-aligned big ones.
 *
 * The seed comes from IODIRTY_SEED (default DEFAULT_SEED); each format mixes
 * its own salt into it.  Seed, iteration count, format and operation index
 * are printed, with the last few operations, when a check fails, so that a
 * failure replays with IODIRTY_SEED=<seed>.
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
#include "pt_model.h"

#define SZ_4K 0x1000ull
#define SZ_64K 0x10000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull
#define BIT64(n) (1ull << (n))

#define WIN_SIZE (8 * SZ_1G)      /* the whole window, 8 GiB aligned */
#define SMALL_SIZE (128 * SZ_1M)  /* where most operations happen */
#define MAX_ENTRIES 4096          /* keeps memory and the reference bounded */
#define CHECK_EVERY 1000
#define DEFAULT_SEED 0x10d1127ull
#define DEFAULT_ITERATIONS 100000ul
#define LOG_DEPTH 8
#define LOG_LEN 200

/* ---- the formats under test -------------------------------------------- */

struct fmt_case {
	const char *name;
	uint32_t format;
	uint32_t iova_width;
	uint32_t flags;
	uint64_t salt;
	uint64_t expect_sizes;       /* info.page_sizes the format must offer */
	struct pt_model_rules rules;
};

/* Bits lo..hi (hi < 63) of a mask. */
#define BITS_RANGE(lo, hi) (((2ull << (hi)) - 1) & ~(BIT64(lo) - 1))

/* ---- state --------------------------------------------------------------- */

enum op_kind { OP_MAP, OP_UNMAP, OP_SPLIT, OP_DIRTY, OP_CLEAN, OP_RCD, OP_XLATE, OP_KINDS };
static const char *const op_names[OP_KINDS] = { "map", "unmap", "split", "make_dirty",
						"make_clean", "read_and_clear", "iova_to_phys" };

struct rt {
	const struct fmt_case *fc;
	struct idt_pt *pt;
	uint64_t seed;
	uint64_t rng;
	unsigned long iterations;
	unsigned long op;
	unsigned int oa_width;
	uint64_t base, win_last;
	uint64_t small, small_last;
	uint64_t max_last_ok, max_last_tried; /* dynamic top: highest map() end */
	bool mapped_any, tried_any;
	struct pt_model m;
	struct pt_model_entry *tmp; /* pieces of a map or split */
	uint8_t *bm, *exp;     /* read-and-clear bitmaps */
	char log[LOG_DEPTH][LOG_LEN];
	unsigned long ok[OP_KINDS], err[OP_KINDS], skipped[OP_KINDS];
	unsigned long full_checks;
};

/* ---- failure reporting ---------------------------------------------------- */

static void rt_log(struct rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rt_log(struct rt *rt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rt->log[rt->op % LOG_DEPTH], LOG_LEN, fmt, ap);
	va_end(ap);
}

static void rt_fail(struct rt *rt, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rt_fail(struct rt *rt, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_message("[  FAILED  ] %s: IODIRTY_SEED=0x%" PRIx64 " IODIRTY_ITERATIONS=%lu, op %lu "
		      "(window 0x%" PRIx64 ", small region 0x%" PRIx64 ", %zu live entries)\n",
		      rt->fc->name, rt->seed, rt->iterations, rt->op, rt->base, rt->small, rt->m.n);
	for (unsigned long i = rt->op >= LOG_DEPTH - 1 ? rt->op - (LOG_DEPTH - 1) : 0; i <= rt->op;
	     i++)
		print_message("    op %lu: %s\n", i, rt->log[i % LOG_DEPTH]);
	fail_msg("line %d: %s", line, msg);
}

#define CHECK(rt, cond, ...)                                     \
	do {                                                     \
		if (!(cond))                                     \
			rt_fail((rt), __LINE__, __VA_ARGS__);    \
	} while (0)

/* ---- random numbers (splitmix64) ------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct rt *rt)
{
	rt->rng += 0x9e3779b97f4a7c15ull;
	return mix64(rt->rng);
}

static uint64_t rnd_below(struct rt *rt, uint64_t n)
{
	return n ? rnd(rt) % n : 0;
}

/* 1..max, roughly log-uniform. */
static uint64_t rnd_log(struct rt *rt, unsigned int max_lg2)
{
	return 1 + rnd_below(rt, BIT64(rnd_below(rt, max_lg2 + 1)));
}

/* ---- comparing with the library ------------------------------------------- */

static void check_entry_at(struct rt *rt, const struct pt_model_entry *e, uint64_t addr,
			   const char *why)
{
	char msg[256];

	CHECK(rt, pt_model_check_entry_at(rt->pt, e, addr, msg, sizeof(msg)), "%s: %s", why, msg);
}

static void check_entry(struct rt *rt, const struct pt_model_entry *e, const char *why)
{
	check_entry_at(rt, e, e->iova, why);
}

/* Compares the library at addr with the reference, mapped or not. */
static void check_addr(struct rt *rt, uint64_t addr, const char *why)
{
	char msg[256];

	CHECK(rt, pt_model_check_addr(&rt->m, rt->pt, addr, msg, sizeof(msg)), "%s: %s", why, msg);
}

/* ---- choosing addresses -------------------------------------------------- */

static uint64_t pages_of(const struct pt_model_entry *e)
{
	return pt_model_entry_size(e) >> 12;
}

/* A 4 KiB-aligned address: mostly inside a live entry, else in the small
 * region, sometimes anywhere in the window. */
static uint64_t pick_addr(struct rt *rt)
{
	uint64_t r = rnd_below(rt, 10);

	if (rt->m.n && r < 6) {
		const struct pt_model_entry *e = &rt->m.e[rnd_below(rt, rt->m.n)];

		return e->iova + (rnd_below(rt, pages_of(e)) << 12);
	}
	if (r < 9)
		return rt->small + (rnd_below(rt, SMALL_SIZE >> 12) << 12);
	return rt->base + (rnd_below(rt, WIN_SIZE >> 12) << 12);
}

/* An output address for a mapping (of at most WIN_SIZE bytes) at iova: mostly
 * congruent to iova modulo 8 GiB (so large pages fit), else with a random
 * alignment; the mapping stays inside the OA width either way. */
static uint64_t pick_oa(struct rt *rt, uint64_t iova, unsigned int align_lg2)
{
	uint64_t room = BIT64(rt->oa_width - 33) - 1;
	uint64_t r = rnd_below(rt, 8);
	uint64_t oa;

	if (r < 6)
		return (rnd_below(rt, room) << 33) | (iova & (WIN_SIZE - 1));
	if (r == 6)
		align_lg2 = 12;
	oa = rnd_below(rt, (BIT64(rt->oa_width) - WIN_SIZE) >> align_lg2) << align_lg2;
	return oa;
}

static int pick_prot(struct rt *rt)
{
	static const int prots[4] = { IDT_PROT_READ | IDT_PROT_WRITE, IDT_PROT_READ | IDT_PROT_WRITE,
				      IDT_PROT_READ, IDT_PROT_WRITE };

	return prots[rnd_below(rt, 4)];
}

/* ---- map ------------------------------------------------------------------ */

static void op_map(struct rt *rt)
{
	uint64_t iova, size, oa, last;
	unsigned int a;
	int prot = pick_prot(rt), ret;
	bool overlap;
	size_t count = 0;

	if (rnd_below(rt, 25)) {
		/* small: alignment 4 KiB .. 4 MiB, 1 page .. 8 MiB */
		static const unsigned int aligns[16] = { 12, 12, 12, 12, 12, 12, 13, 14,
							 15, 16, 16, 18, 20, 21, 21, 22 };
		uint64_t r = rnd_below(rt, 4);

		a = aligns[rnd_below(rt, 16)];
		iova = rt->small + (rnd_below(rt, SMALL_SIZE >> a) << a);
		if (r < 2)
			size = rnd_log(rt, 10) << 12;
		else if (r == 2)
			size = BIT64(12 + rnd_below(rt, a - 11));
		else
			size = (1 + rnd_below(rt, 4)) * SZ_2M;
		if (size > rt->small_last - iova + 1)
			size = rt->small_last - iova + 1;
	} else {
		/* big: alignment 2 MiB .. 8 GiB, up to 4 pieces of up to the alignment */
		unsigned int c;

		a = 21 + (unsigned int)rnd_below(rt, 13);
		c = 21 + (unsigned int)rnd_below(rt, a - 20);
		iova = rt->base + (rnd_below(rt, WIN_SIZE >> a) << a);
		size = (1 + rnd_below(rt, 4)) << c;
		if (size > rt->win_last - iova + 1)
			size = rt->win_last - iova + 1;
	}
	oa = pick_oa(rt, iova, a);
	last = iova + (size - 1);
	overlap = pt_model_overlaps(&rt->m, iova, last);
	if (!overlap) {
		count = pt_model_map_pieces(&rt->m, iova, oa, size, prot, rt->tmp,
					    MAX_ENTRIES - rt->m.n);
		if (count == SIZE_MAX) {
			rt_log(rt, "map 0x%" PRIx64 " -> 0x%" PRIx64 " size 0x%" PRIx64 ": skipped",
			       iova, oa, size);
			rt->skipped[OP_MAP]++;
			return;
		}
	}
	rt_log(rt, "map(0x%" PRIx64 ", oa 0x%" PRIx64 ", size 0x%" PRIx64 ", prot %d)%s", iova, oa,
	       size, prot, overlap ? " [overlaps]" : "");
	rt->tried_any = true;
	if (last > rt->max_last_tried)
		rt->max_last_tried = last;
	ret = idt_pt_map(rt->pt, iova, oa, size, prot);
	if (overlap) {
		/* formats.md 7.1: -EEXIST, all or nothing */
		CHECK(rt, ret == -EEXIST, "map over a mapping returned %d, expected -EEXIST", ret);
		for (size_t i = pt_model_lower(&rt->m, iova), k = 0;
		     i < rt->m.n && rt->m.e[i].iova <= last && k < 8; i++, k++)
			check_entry(rt, &rt->m.e[i], "after a refused map");
		for (int k = 0; k < 4; k++)
			check_addr(rt, iova + (rnd_below(rt, size >> 12) << 12), "after a refused map");
		rt->err[OP_MAP]++;
		return;
	}
	CHECK(rt, ret == 0, "map of a free range returned %d", ret);
	pt_model_replace(&rt->m, pt_model_lower(&rt->m, iova), pt_model_lower(&rt->m, iova), rt->tmp,
			 count);
	rt->mapped_any = true;
	if (last > rt->max_last_ok)
		rt->max_last_ok = last;
	for (size_t i = 0; i < count; i++)
		check_entry(rt, &rt->tmp[i], "piece of a new mapping");
	rt->ok[OP_MAP]++;
}

/* ---- unmap ----------------------------------------------------------------- */

static void do_unmap(struct rt *rt, uint64_t first, uint64_t last)
{
	size_t i, j;
	const struct pt_model_entry *lo = pt_model_find(&rt->m, first);
	const struct pt_model_entry *hi = pt_model_find(&rt->m, last);
	uint64_t expect = 0, unmapped = UINT64_MAX;
	int ret, predicted = pt_model_unmap_predict(&rt->m, first, last, &i, &j, &expect);

	rt_log(rt, "unmap(0x%" PRIx64 ", size 0x%" PRIx64 ")", first, last - first + 1);
	ret = idt_pt_unmap(rt->pt, first, last - first + 1, &unmapped);
	if (predicted) {
		CHECK(rt, ret == -EINVAL, "unmap cutting a leaf returned %d, expected -EINVAL", ret);
		if (lo)
			check_entry(rt, lo, "after a refused unmap");
		if (hi)
			check_entry(rt, hi, "after a refused unmap");
		i = pt_model_lower(&rt->m, first);
		if (i < rt->m.n)
			check_entry(rt, &rt->m.e[i], "after a refused unmap");
		rt->err[OP_UNMAP]++;
		return;
	}
	CHECK(rt, ret == 0, "unmap returned %d, expected success", ret);
	CHECK(rt, unmapped == expect, "unmap reported 0x%" PRIx64 " bytes, expected 0x%" PRIx64,
	      unmapped, expect);
	pt_model_replace(&rt->m, i, j, NULL, 0);
	check_addr(rt, first, "after an unmap");
	check_addr(rt, last & ~(SZ_4K - 1), "after an unmap");
	rt->ok[OP_UNMAP]++;
}

static void op_unmap(struct rt *rt)
{
	uint64_t r = rnd_below(rt, 20), first, last;

	if (rt->m.n && r < 9) {
		/* whole entries i..j, sometimes reaching into the holes around them */
		size_t i = rnd_below(rt, rt->m.n);
		size_t j = i + rnd_below(rt, rt->m.n - i < 16 ? rt->m.n - i : 16);
		uint64_t floor = i ? rt->m.e[i - 1].last + 1 : rt->base;
		uint64_t ceil = j + 1 < rt->m.n ? rt->m.e[j + 1].iova - 1 : rt->win_last;

		first = rt->m.e[i].iova;
		last = rt->m.e[j].last;
		if (first > floor && rnd_below(rt, 3) == 0)
			first -= (1 + rnd_below(rt, (first - floor) >> 12)) << 12;
		if (last < ceil && rnd_below(rt, 3) == 0)
			last += (1 + rnd_below(rt, (ceil - last + 1) >> 12)) << 12;
	} else if (rt->m.n && r < 11) {
		/* inside one entry: cuts it unless it is the whole entry */
		const struct pt_model_entry *e = &rt->m.e[rnd_below(rt, rt->m.n)];
		uint64_t a = rnd_below(rt, pages_of(e)), b = rnd_below(rt, pages_of(e));

		if (a > b) {
			uint64_t t = a;

			a = b;
			b = t;
		}
		first = e->iova + (a << 12);
		last = e->iova + (b << 12) + (SZ_4K - 1);
	} else if (r < 19) {
		uint64_t len = rnd_log(rt, 12) << 12;

		first = rt->small + (rnd_below(rt, SMALL_SIZE >> 12) << 12);
		last = len - 1 > rt->small_last - first ? rt->small_last : first + (len - 1);
	} else {
		uint64_t len = rnd_log(rt, 12) << 21;

		first = rt->base + (rnd_below(rt, WIN_SIZE >> 21) << 21);
		last = len - 1 > rt->win_last - first ? rt->win_last : first + (len - 1);
	}
	do_unmap(rt, first, last);
}

/* Keeps the number of live entries bounded: unmaps a run of whole entries. */
static void op_shrink(struct rt *rt)
{
	size_t i = rnd_below(rt, rt->m.n / 2);

	do_unmap(rt, rt->m.e[i].iova, rt->m.e[i + rt->m.n / 4].last);
}

/* ---- split ------------------------------------------------------------------ */

static void op_split(struct rt *rt)
{
	uint64_t addr = pick_addr(rt);
	struct pt_model_entry *e = pt_model_find(&rt->m, addr);
	size_t at, count;
	int ret;

	if (!e) {
		rt_log(rt, "split(0x%" PRIx64 ") [unmapped]", addr);
		ret = idt_pt_split(rt->pt, addr);
		CHECK(rt, ret == -ENOENT, "split of an unmapped address returned %d, expected -ENOENT",
		      ret);
		rt->err[OP_SPLIT]++;
		return;
	}
	if (e->lg2 == 12) {
		/* a single granule cannot be split (project decision) */
		rt_log(rt, "split(0x%" PRIx64 ") [4 KiB leaf]", addr);
		ret = idt_pt_split(rt->pt, addr);
		CHECK(rt, ret == -EINVAL, "split of a 4 KiB leaf returned %d, expected -EINVAL", ret);
		check_entry(rt, e, "after a refused split");
		rt->err[OP_SPLIT]++;
		return;
	}
	count = pt_model_split_pieces(&rt->m, e, rt->tmp, MAX_ENTRIES + 1 - rt->m.n);
	if (count == SIZE_MAX) {
		rt_log(rt, "split(0x%" PRIx64 "): skipped", addr);
		rt->skipped[OP_SPLIT]++;
		return;
	}
	rt_log(rt, "split(0x%" PRIx64 ") of 0x%" PRIx64 " size 2^%u into %zu x 2^%u%s", addr,
	       e->iova, e->lg2, count, rt->tmp[0].lg2, e->dirty ? " [dirty]" : "");
	ret = idt_pt_split(rt->pt, addr);
	CHECK(rt, ret == 0, "split returned %d, expected success", ret);
	at = (size_t)(e - rt->m.e);
	pt_model_replace(&rt->m, at, at + 1, rt->tmp, count);
	for (size_t k = 0; k < count; k++)
		check_entry(rt, &rt->m.e[at + k], "piece of a split");
	rt->ok[OP_SPLIT]++;
}

/* ---- dirty primitives --------------------------------------------------------- */

static void op_make_dirty(struct rt *rt)
{
	uint64_t addr = pick_addr(rt);
	struct pt_model_entry *e = pt_model_find(&rt->m, addr);
	bool use_item = rnd_below(rt, 2), bad_index = false, dirty = false;
	uint32_t index = 0;
	int ret, expect;

	if (use_item) {
		uint32_t items = e ? pt_model_items(e) : 1;

		bad_index = rnd_below(rt, 10) == 0;
		index = bad_index ? items : (uint32_t)rnd_below(rt, items);
		rt_log(rt, "make_dirty_item(0x%" PRIx64 ", %u)", addr, index);
		ret = idt_pt_make_dirty_item(rt->pt, addr, index);
	} else {
		rt_log(rt, "make_dirty(0x%" PRIx64 ")", addr);
		ret = idt_pt_make_dirty(rt->pt, addr);
	}
	expect = pt_model_make_dirty_result(&rt->m, e, bad_index);
	CHECK(rt, ret == expect, "make_dirty returned %d, expected %d", ret, expect);
	if (expect) {
		rt->err[OP_DIRTY]++;
		if (e)
			check_entry(rt, e, "after a refused make_dirty");
		return;
	}
	e->dirty = true;
	ret = idt_pt_is_dirty(rt->pt, addr, &dirty);
	CHECK(rt, ret == 0 && dirty, "is_dirty after make_dirty: %d, %d", ret, dirty);
	rt->ok[OP_DIRTY]++;
}

static void op_make_clean(struct rt *rt)
{
	uint64_t addr = pick_addr(rt);
	struct pt_model_entry *e = pt_model_find(&rt->m, addr);
	bool dirty = true;
	int ret;

	rt_log(rt, "make_clean(0x%" PRIx64 ")", addr);
	ret = idt_pt_make_clean(rt->pt, addr);
	if (!e) {
		CHECK(rt, ret == -ENOENT, "make_clean of an unmapped address returned %d", ret);
		rt->err[OP_CLEAN]++;
		return;
	}
	CHECK(rt, ret == 0, "make_clean returned %d", ret);
	e->dirty = false;
	ret = idt_pt_is_dirty(rt->pt, addr, &dirty);
	CHECK(rt, ret == 0 && !dirty, "is_dirty after make_clean: %d, %d", ret, dirty);
	rt->ok[OP_CLEAN]++;
}

/* ---- read and clear dirty ---------------------------------------------------- */

/* Picks a range for read_and_clear: for legacy from an entry's start to an
 * entry's end (where it equals iodirty, algorithms.md 2 and 4), on ARM
 * contiguous there; otherwise random, entry-relative or whole regions. */
static bool pick_rcd_range(struct rt *rt, unsigned int algo, uint64_t *first, uint64_t *last)
{
	uint64_t r = rnd_below(rt, 20);

	if (algo == IDT_RCD_LEGACY || (rt->m.n && r < 8)) {
		size_t i, j, span;

		if (!rt->m.n)
			return false;
		i = rnd_below(rt, rt->m.n);
		span = rt->m.n - i < 32 ? rt->m.n - i : 32;
		j = i + rnd_below(rt, span);
		/* ARM: inside a fully mapped run most of the time */
		if (rt->fc->rules.holes_are_errors && (algo == IDT_RCD_LEGACY || rnd_below(rt, 4))) {
			for (size_t k = i; k < j; k++)
				if (rt->m.e[k].last + 1 != rt->m.e[k + 1].iova) {
					j = k;
					break;
				}
		}
		if (algo == IDT_RCD_LEGACY) {
			*first = rt->m.e[i].iova;
			*last = rt->m.e[j].last;
		} else {
			uint64_t a = rnd_below(rt, pages_of(&rt->m.e[i]));
			uint64_t b = rnd_below(rt, pages_of(&rt->m.e[j]));

			if (i == j && a > b) {
				uint64_t t = a;

				a = b;
				b = t;
			}
			*first = rt->m.e[i].iova + (a << 12);
			*last = rt->m.e[j].iova + (b << 12) + (SZ_4K - 1);
			if (rnd_below(rt, 3) == 0)
				*first = rt->m.e[i].iova;
			if (rnd_below(rt, 3) == 0)
				*last = rt->m.e[j].last;
		}
		return true;
	}
	if (r < 18) {
		uint64_t len = rnd_log(rt, 12) << 12;

		*first = rt->small + (rnd_below(rt, SMALL_SIZE >> 12) << 12);
		/* inclusive ends: the region may end at 2^64 - 1 */
		*last = len - 1 > rt->small_last - *first ? rt->small_last : *first + (len - 1);
	} else if (r < 19) {
		*first = rt->small;
		*last = rt->small_last;
	} else {
		*first = rt->base;
		*last = rt->win_last;
	}
	return true;
}

static void op_rcd(struct rt *rt)
{
	static const char *const algo_names[3] = { "iodirty", "generic_pt", "legacy" };
	struct pt_model_rcd x = { .algo = (unsigned int)rnd_below(rt, 3), .shift = 12 };
	struct idt_bitmap bitmap;
	struct idt_gather gather;
	struct idt_dirty_record record = { 0 };
	struct idt_pt_info info;
	unsigned int flags = rnd_below(rt, 3) == 0 ? IDT_DIRTY_NO_CLEAR : 0;
	uint64_t nbits, bytes;
	bool use_bitmap = rnd_below(rt, 10) != 0, use_gather = rnd_below(rt, 10) != 0;
	int ret;

	if (!pick_rcd_range(rt, x.algo, &x.first, &x.last)) {
		x.algo = IDT_RCD_IODIRTY;
		pick_rcd_range(rt, x.algo, &x.first, &x.last);
	}
	x.clear = !(flags & IDT_DIRTY_NO_CLEAR);
	nbits = ((x.last - x.first) >> 12) + 1;
	bytes = (nbits + 7) / 8;
	memset(rt->bm, 0, bytes);
	memset(rt->exp, 0, bytes);
	assert_int_equal(idt_bitmap_init(&bitmap, x.first, x.last - x.first + 1, SZ_4K, rt->bm), 0);
	assert_int_equal(idt_bitmap_bytes(&bitmap), bytes);
	idt_gather_init(&gather);
	if (use_bitmap)
		record.bitmap = &bitmap;
	if (use_gather)
		record.gather = &gather;

	idt_pt_get_info(rt->pt, &info);
	x.decoded_width = info.iova_width;
	pt_model_rcd_predict(&rt->m, &x, rt->exp);
	if (x.beyond_top)
		assert_int_equal(rt->m.n, 0);

	rt_log(rt, "read_and_clear(0x%" PRIx64 ", size 0x%" PRIx64 ", %s, %s%s%s)%s", x.first,
	       x.last - x.first + 1, algo_names[x.algo], x.clear ? "clear" : "NO_CLEAR",
	       use_bitmap ? ", bitmap" : "", use_gather ? ", gather" : "",
	       x.hole ? " [hole]" : x.beyond_top ? " [above the top]" : "");
	ret = idt_pt_read_and_clear_dirty(rt->pt, x.first, x.last - x.first + 1, flags, &record,
					  (enum idt_rcd_algo)x.algo);
	CHECK(rt, ret == x.expect, "read_and_clear returned %d, expected %d", ret, x.expect);
	if (use_bitmap && memcmp(rt->bm, rt->exp, bytes)) {
		for (uint64_t b = 0; b < nbits; b++) {
			bool got = rt->bm[b / 8] & (1u << (b & 7));
			bool want = rt->exp[b / 8] & (1u << (b & 7));

			CHECK(rt, got == want, "bitmap bit %" PRIu64 " (iova 0x%" PRIx64 ") is %d, "
			      "expected %d", b, x.first + (b << 12), got, want);
		}
	}
	if (use_gather) {
		if (!pt_model_rcd_gathers(&x))
			CHECK(rt, idt_gather_empty(&gather),
			      "gather [0x%" PRIx64 ", 0x%" PRIx64 "], expected empty", gather.start,
			      gather.last);
		else
			CHECK(rt, gather.start == x.g_start && gather.last == x.g_last,
			      "gather [0x%" PRIx64 ", 0x%" PRIx64 "], expected [0x%" PRIx64
			      ", 0x%" PRIx64 "]", gather.start, gather.last, x.g_start, x.g_last);
	}
	/* Reported entries are clean after a clearing read, the others unchanged. */
	for (size_t k = x.from; k < x.to; k++) {
		if (x.clear)
			rt->m.e[k].dirty = false;
		if (k - x.from < 64 || rnd_below(rt, 16) == 0)
			check_entry(rt, &rt->m.e[k], "after read_and_clear");
	}
	if (x.to < rt->m.n && (x.hole || rt->m.e[x.to].iova <= x.last))
		check_entry(rt, &rt->m.e[x.to], "after read_and_clear, past a hole");
	if (x.expect)
		rt->err[OP_RCD]++;
	else
		rt->ok[OP_RCD]++;
}

/* ---- translation ------------------------------------------------------------- */

static void op_translate(struct rt *rt)
{
	uint64_t addr = pick_addr(rt) + rnd_below(rt, SZ_4K);

	rt_log(rt, "iova_to_phys(0x%" PRIx64 ")", addr);
	check_addr(rt, addr, "iova_to_phys");
	if (pt_model_find(&rt->m, addr))
		rt->ok[OP_XLATE]++;
	else
		rt->err[OP_XLATE]++;
}

/* ---- full consistency check ----------------------------------------------------- */

static void full_check(struct rt *rt)
{
	struct idt_pt_info info;
	unsigned int top;

	rt_log(rt, "full check");
	idt_pt_get_info(rt->pt, &info);
	top = info.levels - 1;
	if (rt->fc->rules.dynamic_top) {
		unsigned int lo = rt->mapped_any ? pt_model_top_needed(rt->max_last_ok) : 2;
		unsigned int hi = rt->tried_any ? pt_model_top_needed(rt->max_last_tried) : 2;

		CHECK(rt, top >= lo && top <= hi, "dynamic top: %u levels, expected %u..%u",
		      info.levels, lo + 1, hi + 1);
	}
	for (size_t i = 0; i < rt->m.n; i++) {
		const struct pt_model_entry *e = &rt->m.e[i];

		check_entry(rt, e, "full check");
		check_entry_at(rt, e, e->iova + (rnd_below(rt, pt_model_entry_size(e)) & ~7ull), "full check");
	}
	for (int k = 0; k < 64; k++) {
		uint64_t addr = (k & 1 ? rt->small + rnd_below(rt, SMALL_SIZE)
				       : rt->base + rnd_below(rt, WIN_SIZE)) & ~7ull;

		check_addr(rt, addr, "full check sample");
	}
	CHECK(rt, info.tables == pt_model_expected_tables(&rt->m, top),
	      "%" PRIu64 " tables allocated, expected %" PRIu64, info.tables,
	      pt_model_expected_tables(&rt->m, top));
	rt->full_checks++;
}

/* ---- the driver ------------------------------------------------------------------ */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 0);
	return *end ? dflt : v;
}

static void run_case(struct rt *rt, const struct fmt_case *fc)
{
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = fc->format,
		.iova_width = fc->iova_width,
		.flags = fc->flags,
	};
	struct idt_pt_info info;
	uint64_t initial_tables, top_base, unmapped = 0, total = 0;
	unsigned int width;

	rt->fc = fc;
	rt->seed = env_u64("IODIRTY_SEED", DEFAULT_SEED);
	rt->iterations = (unsigned long)env_u64("IODIRTY_ITERATIONS", DEFAULT_ITERATIONS);
	rt->rng = mix64(rt->seed ^ fc->salt);
	print_message("[ RANDOM   ] %s: IODIRTY_SEED=0x%" PRIx64 " IODIRTY_ITERATIONS=%lu\n",
		      fc->name, rt->seed, rt->iterations);

	assert_int_equal(idt_pt_create(&cfg, &rt->pt), 0);
	idt_pt_get_info(rt->pt, &info);
	assert_int_equal(info.page_sizes, fc->expect_sizes);
	rt->m.rules = fc->rules;
	rt->m.sizes = info.page_sizes;
	rt->m.format_sizes = info.page_sizes;
	rt->oa_width = info.oa_width;
	initial_tables = info.tables;
	assert_int_equal(initial_tables, 1);
	width = info.max_iova_width;

	/* The window: sometimes at the top of the address space (PT-11). */
	top_base = width >= 64 ? 0 - WIN_SIZE : BIT64(width) - WIN_SIZE;
	switch (rnd_below(rt, 8)) {
	case 0:
	case 1:
		rt->base = top_base;
		break;
	case 2:
		rt->base = 0;
		break;
	default: {
		unsigned int bits = 33 + (unsigned int)rnd_below(rt, width - 32);

		rt->base = (rnd(rt) & (bits >= 64 ? ~0ull : BIT64(bits) - 1)) & ~(WIN_SIZE - 1);
		if (rt->base > top_base)
			rt->base = top_base;
	}
	}
	rt->win_last = rt->base + (WIN_SIZE - 1);
	rt->small = rt->base + (rnd_below(rt, (WIN_SIZE - SMALL_SIZE) / SZ_2M + 1) * SZ_2M);
	rt->small_last = rt->small + (SMALL_SIZE - 1);
	print_message("[ RANDOM   ] %s: window 0x%" PRIx64 ", small region 0x%" PRIx64 "\n", fc->name,
		      rt->base, rt->small);

	if (fc->rules.dynamic_top && rnd_below(rt, 2)) {
		/* Grow the top to 6 levels from outside the window first, so the
		 * window's unmaps walk tables of the chain of old roots, which
		 * must stay (formats.md 2.3). */
		uint64_t far = rt->base >> 63 ? 0 : 0 - SZ_4K, unmapped = 0;

		rt_log(rt, "map and unmap 0x%" PRIx64 " to grow the top", far);
		assert_int_equal(idt_pt_map(rt->pt, far, 0, SZ_4K, IDT_PROT_READ), 0);
		assert_int_equal(idt_pt_unmap(rt->pt, far, SZ_4K, &unmapped), 0);
		assert_int_equal(unmapped, SZ_4K);
		rt->mapped_any = rt->tried_any = true;
		rt->max_last_ok = rt->max_last_tried = far + (SZ_4K - 1);
		print_message("[ RANDOM   ] %s: top grown to %u levels first\n", fc->name,
			      pt_model_top_needed(rt->max_last_ok) + 1);
	}

	rt->m.e = calloc(MAX_ENTRIES + 1, sizeof(*rt->m.e));
	rt->tmp = calloc(MAX_ENTRIES + 1, sizeof(*rt->tmp));
	rt->bm = malloc(WIN_SIZE >> 15);
	rt->exp = malloc(WIN_SIZE >> 15);
	assert_non_null(rt->m.e);
	assert_non_null(rt->tmp);
	assert_non_null(rt->bm);
	assert_non_null(rt->exp);

	for (rt->op = 0; rt->op < rt->iterations; rt->op++) {
		uint64_t r = rnd_below(rt, 100);

		if (rt->m.n > MAX_ENTRIES - 512 && rnd_below(rt, 4) == 0)
			op_shrink(rt);
		else if (r < 28)
			op_map(rt);
		else if (r < 42)
			op_unmap(rt);
		else if (r < 48)
			op_split(rt);
		else if (r < 60)
			op_make_dirty(rt);
		else if (r < 64)
			op_make_clean(rt);
		else if (r < 86)
			op_rcd(rt);
		else
			op_translate(rt);
		if ((rt->op + 1) % CHECK_EVERY == 0)
			full_check(rt);
	}
	full_check(rt);

	/* Unmap everything: the byte count, then only the root (and a dynamic
	 * top's chain of old roots) remains. */
	for (size_t i = 0; i < rt->m.n; i++)
		total += pt_model_entry_size(&rt->m.e[i]);
	rt_log(rt, "unmap the whole window");
	assert_int_equal(idt_pt_unmap(rt->pt, rt->base, WIN_SIZE, &unmapped), 0);
	CHECK(rt, unmapped == total, "final unmap: 0x%" PRIx64 " bytes, expected 0x%" PRIx64,
	      unmapped, total);
	rt->m.n = 0;
	full_check(rt);
	idt_pt_get_info(rt->pt, &info);
	if (!fc->rules.dynamic_top)
		assert_int_equal(info.tables, initial_tables);
	else
		assert_int_equal(info.tables, info.levels - 2);

	print_message("[ RANDOM   ] %s: %lu full checks; ok/refused/skipped:", fc->name,
		      rt->full_checks);
	for (int k = 0; k < OP_KINDS; k++)
		print_message(" %s %lu/%lu/%lu", op_names[k], rt->ok[k], rt->err[k], rt->skipped[k]);
	print_message("\n");
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct rt));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct rt *rt = *state;

	idt_pt_destroy(rt->pt);
	free(rt->m.e);
	free(rt->tmp);
	free(rt->bm);
	free(rt->exp);
	free(rt);
	return 0;
}

/* ---- the five cases ---------------------------------------------------------------- */

/* AMD v1, 4 levels, every size 4 KiB..2^47 but 512 GiB (formats.md 2.4). */
static void test_random_amdv1_48_all_sizes(void **state)
{
	static const struct fmt_case fc = {
		.name = "amdv1-48-all-sizes",
		.format = IDT_PT_AMDV1,
		.iova_width = 48,
		.flags = IDT_PT_DIRTY_TRACKING,
		.salt = 0xa3d1,
		.expect_sizes = BITS_RANGE(12, 47) & ~BIT64(39),
	};

	run_case(*state, &fc);
}

/* AMD v1 up to 64 bits, starting at 3 levels and growing (formats.md 2.3). */
static void test_random_amdv1_64_dynamic_top(void **state)
{
	static const struct fmt_case fc = {
		.name = "amdv1-64-dynamic-top",
		.format = IDT_PT_AMDV1,
		.iova_width = 64,
		.flags = IDT_PT_DYNAMIC_TOP,
		.salt = 0xa364,
		.expect_sizes = BITS_RANGE(12, 51) & ~BIT64(39),
		.rules.dynamic_top = true,
	};

	run_case(*state, &fc);
}

/* VT-d second stage, 4 levels, 4K/2M/1G (formats.md 3). */
static void test_random_vtdss_48(void **state)
{
	static const struct fmt_case fc = {
		.name = "vtdss-48",
		.format = IDT_PT_VTDSS,
		.iova_width = 48,
		.salt = 0x7d48,
		.expect_sizes = BIT64(12) | BIT64(21) | BIT64(30),
	};

	run_case(*state, &fc);
}

/* ARM LPAE stage 1 with DBM: writable leaves start dirty, holes fail
 * read_and_clear (formats.md 4.4). */
static void test_random_arm_48_dirty_tracking(void **state)
{
	static const struct fmt_case fc = {
		.name = "arm-48-dirty-tracking",
		.format = IDT_PT_ARM_S1,
		.iova_width = 48,
		.flags = IDT_PT_DIRTY_TRACKING,
		.salt = 0xa48,
		.expect_sizes = BIT64(12) | BIT64(21) | BIT64(30),
		.rules.ro_untrackable = true,
		.rules.write_implies_read = true,
		.rules.writable_starts_dirty = true,
		.rules.holes_are_errors = true,
	};

	run_case(*state, &fc);
}

/* RISC-V Sv48 with Svnapot 64 KiB: writable leaves preset D (formats.md 5.6). */
static void test_random_riscv_sv48_napot(void **state)
{
	static const struct fmt_case fc = {
		.name = "riscv-sv48-napot",
		.format = IDT_PT_RISCV,
		.iova_width = 48,
		.flags = IDT_PT_RISCV_NAPOT,
		.salt = 0x5748,
		.expect_sizes = BIT64(12) | BIT64(16) | BIT64(21) | BIT64(30) | BIT64(39),
		.rules.ro_untrackable = true,
		.rules.write_implies_read = true,
		.rules.writable_starts_dirty = true,
	};

	run_case(*state, &fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_random_amdv1_48_all_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_amdv1_64_dynamic_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_vtdss_48, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_arm_48_dirty_tracking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_riscv_sv48_napot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
