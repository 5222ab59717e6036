/* SPDX-License-Identifier: MIT */
/*
 * Randomized page-table test (issue 2, "What it must show": a randomized test
 * per format checked against a plain reference model).
 *
 * For each format, IODIRTY_ITERATIONS (default 10^5) random operations run
 * against the library and against a reference model: a sorted array of the
 * entries map() produced, {iova, size, oa, prot, dirty}.  The reference
 * predicts the library's choice of page sizes with its own implementation of
 * formats.md 7.1 (the largest allowed size <= the remaining length that
 * divides both iova and oa), and every return value, byte count, bitmap,
 * gather and lookup is compared with the prediction.  Every CHECK_EVERY
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
	bool ro_untrackable;         /* make_dirty on read-only: -EINVAL (formats.md 4.4, 5.4) */
	bool write_implies_read;     /* ARM and RISC-V have no write-only leaves */
	bool writable_starts_dirty;  /* formats.md 4.4 (ARM with tracking), 5.6 (RISC-V) */
	bool holes_are_errors;       /* ARM read-and-clear: -EINVAL on a hole (PT-12) */
	bool dynamic_top;            /* AMD grows its top (formats.md 2.3) */
};

/* Bits lo..hi (hi < 63) of a mask. */
#define BITS_RANGE(lo, hi) (((2ull << (hi)) - 1) & ~(BIT64(lo) - 1))

/* ---- state --------------------------------------------------------------- */

struct ref_entry {
	uint64_t iova;
	uint64_t last;   /* inclusive: the window may end at 2^64 */
	uint64_t oa;
	unsigned int lg2;
	int prot;
	bool dirty;
};

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
	uint64_t sizes;       /* info.page_sizes */
	unsigned int oa_width;
	uint64_t base, win_last;
	uint64_t small, small_last;
	uint64_t max_last_ok, max_last_tried; /* dynamic top: highest map() end */
	bool mapped_any, tried_any;
	struct ref_entry *e;
	size_t n;
	struct ref_entry *tmp; /* pieces of a map or split */
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
		      rt->fc->name, rt->seed, rt->iterations, rt->op, rt->base, rt->small, rt->n);
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

/* ---- the reference model --------------------------------------------------- */

static uint64_t ref_size(const struct ref_entry *e)
{
	return e->last - e->iova + 1;
}

/* Level and item size of an entry: at level L an item covers 2^(12 + 9L)
 * (formats.md 1); AMD replicas and RISC-V NAPOT copies are items of the
 * level their size falls in (formats.md 2.4, 5.3). */
static unsigned int ref_level(const struct ref_entry *e)
{
	return (e->lg2 - 12) / 9;
}

static unsigned int ref_item_lg2(const struct ref_entry *e)
{
	return 12 + 9 * ref_level(e);
}

static unsigned int ref_items(const struct ref_entry *e)
{
	return 1u << (e->lg2 - ref_item_lg2(e));
}

/* First entry whose last byte is >= addr (entries are sorted and disjoint). */
static size_t ref_lower(const struct rt *rt, uint64_t addr)
{
	size_t lo = 0, hi = rt->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rt->e[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct ref_entry *ref_find(const struct rt *rt, uint64_t addr)
{
	size_t i = ref_lower(rt, addr);

	return i < rt->n && rt->e[i].iova <= addr ? &rt->e[i] : NULL;
}

static bool ref_overlaps(const struct rt *rt, uint64_t first, uint64_t last)
{
	size_t i = ref_lower(rt, first);

	return i < rt->n && rt->e[i].iova <= last;
}

/* Replaces entries [i, j) by count entries from pieces. */
static void ref_replace(struct rt *rt, size_t i, size_t j, const struct ref_entry *pieces,
			size_t count)
{
	memmove(&rt->e[i + count], &rt->e[j], (rt->n - j) * sizeof(*rt->e));
	if (count)
		memcpy(&rt->e[i], pieces, count * sizeof(*pieces));
	rt->n = rt->n - (j - i) + count;
}

/* formats.md 7.1, written independently of the library: repeatedly the
 * largest allowed size <= the remaining length dividing both iova and oa. */
static size_t ref_pieces(const struct rt *rt, uint64_t iova, uint64_t oa, uint64_t size, int prot,
			 bool dirty, struct ref_entry *out, size_t max)
{
	size_t count = 0;

	while (size) {
		unsigned int lg2 = 64;

		for (int b = 63; b >= 0; b--) {
			uint64_t s = BIT64(b);

			if ((rt->sizes & s) && s <= size && !((iova | oa) & (s - 1))) {
				lg2 = (unsigned int)b;
				break;
			}
		}
		if (lg2 == 64 || count == max)
			return SIZE_MAX;
		out[count++] = (struct ref_entry){ .iova = iova, .last = iova + (BIT64(lg2) - 1),
						   .oa = oa, .lg2 = lg2, .prot = prot,
						   .dirty = dirty };
		iova += BIT64(lg2);
		oa += BIT64(lg2);
		size -= BIT64(lg2);
	}
	return count;
}

static int ref_prot(const struct rt *rt, int prot)
{
	if (rt->fc->write_implies_read && (prot & IDT_PROT_WRITE))
		prot |= IDT_PROT_READ;
	return prot;
}

/* ---- comparing one entry with the library ----------------------------------- */

static void check_entry_at(struct rt *rt, const struct ref_entry *e, uint64_t addr,
			   const char *why)
{
	struct idt_pt_leaf leaf;
	uint64_t oa = 0;
	int ret = idt_pt_lookup(rt->pt, addr, &leaf);

	CHECK(rt, ret == 0, "%s: lookup(0x%" PRIx64 ") = %d, expected the entry 0x%" PRIx64
	      " size 2^%u", why, addr, ret, e->iova, e->lg2);
	CHECK(rt, leaf.iova == e->iova && leaf.size_lg2 == e->lg2,
	      "%s: lookup(0x%" PRIx64 ") gives entry 0x%" PRIx64 " size 2^%u, expected 0x%" PRIx64
	      " size 2^%u (formats.md 7.1)", why, addr, leaf.iova, leaf.size_lg2, e->iova, e->lg2);
	CHECK(rt, leaf.oa == e->oa, "%s: entry 0x%" PRIx64 ": oa 0x%" PRIx64 ", expected 0x%" PRIx64,
	      why, e->iova, leaf.oa, e->oa);
	CHECK(rt, leaf.prot == e->prot, "%s: entry 0x%" PRIx64 ": prot %d, expected %d", why,
	      e->iova, leaf.prot, e->prot);
	CHECK(rt, leaf.dirty == e->dirty, "%s: entry 0x%" PRIx64 " (size 2^%u): dirty %d, expected %d",
	      why, e->iova, e->lg2, leaf.dirty, e->dirty);
	CHECK(rt, leaf.level == ref_level(e) && leaf.items == ref_items(e),
	      "%s: entry 0x%" PRIx64 " size 2^%u: level %u items %u, expected level %u items %u", why,
	      e->iova, e->lg2, leaf.level, leaf.items, ref_level(e), ref_items(e));
	ret = idt_pt_iova_to_phys(rt->pt, addr, &oa);
	CHECK(rt, ret == 0 && oa == e->oa + (addr - e->iova),
	      "%s: iova_to_phys(0x%" PRIx64 ") = %d, 0x%" PRIx64 ", expected 0x%" PRIx64, why, addr,
	      ret, oa, e->oa + (addr - e->iova));
}

static void check_entry(struct rt *rt, const struct ref_entry *e, const char *why)
{
	check_entry_at(rt, e, e->iova, why);
}

static void check_unmapped(struct rt *rt, uint64_t addr, const char *why)
{
	struct idt_pt_leaf leaf;
	uint64_t oa;
	int ret = idt_pt_lookup(rt->pt, addr, &leaf);

	CHECK(rt, ret == -ENOENT, "%s: lookup(0x%" PRIx64 ") = %d (entry 0x%" PRIx64
	      " size 2^%u), expected -ENOENT", why, addr, ret, ret ? 0 : leaf.iova,
	      ret ? 0 : leaf.size_lg2);
	ret = idt_pt_iova_to_phys(rt->pt, addr, &oa);
	CHECK(rt, ret == -ENOENT, "%s: iova_to_phys(0x%" PRIx64 ") = %d, expected -ENOENT", why, addr,
	      ret);
}

/* Compares the library at addr with the reference, mapped or not. */
static void check_addr(struct rt *rt, uint64_t addr, const char *why)
{
	const struct ref_entry *e = ref_find(rt, addr);

	if (e)
		check_entry_at(rt, e, addr, why);
	else
		check_unmapped(rt, addr, why);
}

/* ---- choosing addresses -------------------------------------------------- */

static uint64_t pages_of(const struct ref_entry *e)
{
	return ref_size(e) >> 12;
}

/* A 4 KiB-aligned address: mostly inside a live entry, else in the small
 * region, sometimes anywhere in the window. */
static uint64_t pick_addr(struct rt *rt)
{
	uint64_t r = rnd_below(rt, 10);

	if (rt->n && r < 6) {
		const struct ref_entry *e = &rt->e[rnd_below(rt, rt->n)];

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
	overlap = ref_overlaps(rt, iova, last);
	if (!overlap) {
		count = ref_pieces(rt, iova, oa, size, ref_prot(rt, prot),
				   rt->fc->writable_starts_dirty && (prot & IDT_PROT_WRITE), rt->tmp,
				   MAX_ENTRIES - rt->n);
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
		for (size_t i = ref_lower(rt, iova), k = 0; i < rt->n && rt->e[i].iova <= last && k < 8;
		     i++, k++)
			check_entry(rt, &rt->e[i], "after a refused map");
		for (int k = 0; k < 4; k++)
			check_addr(rt, iova + (rnd_below(rt, size >> 12) << 12), "after a refused map");
		rt->err[OP_MAP]++;
		return;
	}
	CHECK(rt, ret == 0, "map of a free range returned %d", ret);
	ref_replace(rt, ref_lower(rt, iova), ref_lower(rt, iova), rt->tmp, count);
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
	size_t i = ref_lower(rt, first), j = i;
	const struct ref_entry *lo = ref_find(rt, first), *hi = ref_find(rt, last);
	uint64_t expect = 0, unmapped = UINT64_MAX;
	int ret;

	rt_log(rt, "unmap(0x%" PRIx64 ", size 0x%" PRIx64 ")", first, last - first + 1);
	ret = idt_pt_unmap(rt->pt, first, last - first + 1, &unmapped);
	if ((lo && lo->iova < first) || (hi && hi->last > last)) {
		/* formats.md 7.2: a leaf straddling either end, nothing changes */
		CHECK(rt, ret == -EINVAL, "unmap cutting a leaf returned %d, expected -EINVAL", ret);
		if (lo)
			check_entry(rt, lo, "after a refused unmap");
		if (hi)
			check_entry(rt, hi, "after a refused unmap");
		if (i < rt->n)
			check_entry(rt, &rt->e[i], "after a refused unmap");
		rt->err[OP_UNMAP]++;
		return;
	}
	while (j < rt->n && rt->e[j].last <= last)
		expect += ref_size(&rt->e[j++]);
	CHECK(rt, ret == 0, "unmap returned %d, expected success", ret);
	CHECK(rt, unmapped == expect, "unmap reported 0x%" PRIx64 " bytes, expected 0x%" PRIx64,
	      unmapped, expect);
	ref_replace(rt, i, j, NULL, 0);
	check_addr(rt, first, "after an unmap");
	check_addr(rt, last & ~(SZ_4K - 1), "after an unmap");
	rt->ok[OP_UNMAP]++;
}

static void op_unmap(struct rt *rt)
{
	uint64_t r = rnd_below(rt, 20), first, last;

	if (rt->n && r < 9) {
		/* whole entries i..j, sometimes reaching into the holes around them */
		size_t i = rnd_below(rt, rt->n);
		size_t j = i + rnd_below(rt, rt->n - i < 16 ? rt->n - i : 16);
		uint64_t floor = i ? rt->e[i - 1].last + 1 : rt->base;
		uint64_t ceil = j + 1 < rt->n ? rt->e[j + 1].iova - 1 : rt->win_last;

		first = rt->e[i].iova;
		last = rt->e[j].last;
		if (first > floor && rnd_below(rt, 3) == 0)
			first -= (1 + rnd_below(rt, (first - floor) >> 12)) << 12;
		if (last < ceil && rnd_below(rt, 3) == 0)
			last += (1 + rnd_below(rt, (ceil - last + 1) >> 12)) << 12;
	} else if (rt->n && r < 11) {
		/* inside one entry: cuts it unless it is the whole entry */
		const struct ref_entry *e = &rt->e[rnd_below(rt, rt->n)];
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
	size_t i = rnd_below(rt, rt->n / 2);

	do_unmap(rt, rt->e[i].iova, rt->e[i + rt->n / 4].last);
}

/* ---- split ------------------------------------------------------------------ */

static void op_split(struct rt *rt)
{
	uint64_t addr = pick_addr(rt);
	struct ref_entry *e = ref_find(rt, addr);
	size_t at, count;
	unsigned int piece_lg2;
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
	/* multi-item: natural items of its level (unless that size is excluded,
	 * AMD 512 GiB); natural: leaves of the level below (project decision) */
	piece_lg2 = ref_items(e) > 1 && (rt->sizes & BIT64(ref_item_lg2(e))) ? ref_item_lg2(e)
									  : ref_item_lg2(e) - 9;
	count = (size_t)1 << (e->lg2 - piece_lg2);
	if (rt->n - 1 + count > MAX_ENTRIES) {
		rt_log(rt, "split(0x%" PRIx64 "): skipped", addr);
		rt->skipped[OP_SPLIT]++;
		return;
	}
	rt_log(rt, "split(0x%" PRIx64 ") of 0x%" PRIx64 " size 2^%u into %zu x 2^%u%s", addr,
	       e->iova, e->lg2, count, piece_lg2, e->dirty ? " [dirty]" : "");
	for (size_t k = 0; k < count; k++)
		rt->tmp[k] = (struct ref_entry){ .iova = e->iova + (k << piece_lg2),
						 .last = e->iova + (k << piece_lg2) +
							 (BIT64(piece_lg2) - 1),
						 .oa = e->oa + (k << piece_lg2), .lg2 = piece_lg2,
						 .prot = e->prot, .dirty = e->dirty };
	ret = idt_pt_split(rt->pt, addr);
	CHECK(rt, ret == 0, "split returned %d, expected success", ret);
	at = (size_t)(e - rt->e);
	ref_replace(rt, at, at + 1, rt->tmp, count);
	for (size_t k = 0; k < count; k++)
		check_entry(rt, &rt->e[at + k], "piece of a split");
	rt->ok[OP_SPLIT]++;
}

/* ---- dirty primitives --------------------------------------------------------- */

static void op_make_dirty(struct rt *rt)
{
	uint64_t addr = pick_addr(rt);
	struct ref_entry *e = ref_find(rt, addr);
	bool use_item = rnd_below(rt, 2), bad_index = false, dirty = false;
	uint32_t index = 0;
	int ret, expect;

	if (use_item) {
		uint32_t items = e ? ref_items(e) : 1;

		bad_index = rnd_below(rt, 10) == 0;
		index = bad_index ? items : (uint32_t)rnd_below(rt, items);
		rt_log(rt, "make_dirty_item(0x%" PRIx64 ", %u)", addr, index);
		ret = idt_pt_make_dirty_item(rt->pt, addr, index);
	} else {
		rt_log(rt, "make_dirty(0x%" PRIx64 ")", addr);
		ret = idt_pt_make_dirty(rt->pt, addr);
	}
	if (!e)
		expect = -ENOENT;
	else if (bad_index || (rt->fc->ro_untrackable && !(e->prot & IDT_PROT_WRITE)))
		expect = -EINVAL; /* formats.md 4.4 (DBM = 0), 5.4 (W = 0) */
	else
		expect = 0;
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
	struct ref_entry *e = ref_find(rt, addr);
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

/* Sets bits first..last of a bitmap, a byte at a time in the middle. */
static void set_bits(uint8_t *map, uint64_t first, uint64_t last)
{
	while (first <= last && (first & 7)) {
		map[first / 8] |= (uint8_t)(1u << (first & 7));
		first++;
	}
	if (first + 7 <= last) {
		uint64_t bytes = (last + 1 - first) / 8;

		memset(&map[first / 8], 0xff, bytes);
		first += bytes * 8;
	}
	while (first <= last) {
		map[first / 8] |= (uint8_t)(1u << (first & 7));
		first++;
	}
}

struct rcd_expect {
	uint64_t first, last;  /* the range */
	unsigned int algo;
	bool clear;
	bool any;
	uint64_t g_start, g_last;
};

/* Records [start, start + length) as the library would: the bitmap clips to
 * the range, the gather does not (but stops at 2^64 - 1). */
static void expect_record(struct rcd_expect *x, uint8_t *exp, uint64_t start,
			  unsigned __int128 end)
{
	uint64_t last = end > (unsigned __int128)UINT64_MAX ? UINT64_MAX : (uint64_t)(end - 1);
	uint64_t clip = last < x->last ? last : x->last;

	set_bits(exp, (start - x->first) >> 12, (clip - x->first) >> 12);
	if (!x->any || start < x->g_start)
		x->g_start = start;
	if (!x->any || last > x->g_last)
		x->g_last = last;
	x->any = true;
}

/* Picks a range for read_and_clear: for legacy from an entry's start to an
 * entry's end (where it equals iodirty, algorithms.md 2 and 4), on ARM
 * contiguous there; otherwise random, entry-relative or whole regions. */
static bool pick_rcd_range(struct rt *rt, unsigned int algo, uint64_t *first, uint64_t *last)
{
	uint64_t r = rnd_below(rt, 20);

	if (algo == IDT_RCD_LEGACY || (rt->n && r < 8)) {
		size_t i, j, span;

		if (!rt->n)
			return false;
		i = rnd_below(rt, rt->n);
		span = rt->n - i < 32 ? rt->n - i : 32;
		j = i + rnd_below(rt, span);
		/* ARM: inside a fully mapped run most of the time */
		if (rt->fc->holes_are_errors && (algo == IDT_RCD_LEGACY || rnd_below(rt, 4))) {
			for (size_t k = i; k < j; k++)
				if (rt->e[k].last + 1 != rt->e[k + 1].iova) {
					j = k;
					break;
				}
		}
		if (algo == IDT_RCD_LEGACY) {
			*first = rt->e[i].iova;
			*last = rt->e[j].last;
		} else {
			uint64_t a = rnd_below(rt, pages_of(&rt->e[i]));
			uint64_t b = rnd_below(rt, pages_of(&rt->e[j]));

			if (i == j && a > b) {
				uint64_t t = a;

				a = b;
				b = t;
			}
			*first = rt->e[i].iova + (a << 12);
			*last = rt->e[j].iova + (b << 12) + (SZ_4K - 1);
			if (rnd_below(rt, 3) == 0)
				*first = rt->e[i].iova;
			if (rnd_below(rt, 3) == 0)
				*last = rt->e[j].last;
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
	struct rcd_expect x = { .algo = (unsigned int)rnd_below(rt, 3) };
	struct idt_bitmap bitmap;
	struct idt_gather gather;
	struct idt_dirty_record record = { 0 };
	unsigned int flags = rnd_below(rt, 3) == 0 ? IDT_DIRTY_NO_CLEAR : 0;
	uint64_t nbits, bytes, cursor;
	size_t i, done;
	bool hole = false, beyond_top = false;
	bool use_bitmap = rnd_below(rt, 10) != 0, use_gather = rnd_below(rt, 10) != 0;
	int ret, expect = 0;

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

	/* The prediction: every entry meeting the range, in address order; on
	 * ARM the walk stops with -EINVAL at the first hole (PT-12). */
	i = ref_lower(rt, x.first);
	cursor = x.first;
	for (done = i; done < rt->n && rt->e[done].iova <= x.last; done++) {
		struct ref_entry *e = &rt->e[done];
		uint64_t start = e->iova > x.first ? e->iova : x.first;
		uint64_t stop = e->last < x.last ? e->last : x.last;

		if (rt->fc->holes_are_errors && e->iova > cursor) {
			hole = true;
			break;
		}
		cursor = e->last + 1;
		if (!e->dirty)
			continue;
		if (x.algo == IDT_RCD_GENERIC_PT) {
			/* algorithms.md 3: from the cursor, the items from its index
			 * to the run's end (clamped to the walk's end) */
			unsigned int ilg2 = ref_item_lg2(e);
			unsigned __int128 items = (stop >> ilg2) - (start >> ilg2) + 1;

			expect_record(&x, rt->exp, start, (unsigned __int128)start + (items << ilg2));
		} else {
			/* iodirty: exactly the intersection; legacy: the whole
			 * entry (the range starts and ends on entries) */
			expect_record(&x, rt->exp, start, (unsigned __int128)stop + 1);
		}
	}
	if (rt->fc->holes_are_errors && !hole && (done == i || rt->e[done - 1].last < x.last))
		hole = true;
	if (hole)
		expect = -EINVAL;
	if (rt->fc->dynamic_top) {
		/* A range above what the grown table decodes now lies outside the
		 * table's IOVA limits: -EINVAL, nothing reported (algorithms.md 3
		 * step 1, as Linux's dynamic-top range check).  Entries exist only
		 * below the top, so this happens before the first map. */
		struct idt_pt_info info;

		idt_pt_get_info(rt->pt, &info);
		if (info.iova_width < 64 && x.last >> info.iova_width) {
			assert_int_equal(rt->n, 0);
			expect = -EINVAL;
			beyond_top = true;
		}
	}

	rt_log(rt, "read_and_clear(0x%" PRIx64 ", size 0x%" PRIx64 ", %s, %s%s%s)%s", x.first,
	       x.last - x.first + 1, algo_names[x.algo], x.clear ? "clear" : "NO_CLEAR",
	       use_bitmap ? ", bitmap" : "", use_gather ? ", gather" : "",
	       hole ? " [hole]" : beyond_top ? " [above the top]" : "");
	ret = idt_pt_read_and_clear_dirty(rt->pt, x.first, x.last - x.first + 1, flags, &record,
					  (enum idt_rcd_algo)x.algo);
	CHECK(rt, ret == expect, "read_and_clear returned %d, expected %d", ret, expect);
	if (use_bitmap && memcmp(rt->bm, rt->exp, bytes)) {
		for (uint64_t b = 0; b < nbits; b++) {
			bool got = rt->bm[b / 8] & (1u << (b & 7));
			bool want = rt->exp[b / 8] & (1u << (b & 7));

			CHECK(rt, got == want, "bitmap bit %" PRIu64 " (iova 0x%" PRIx64 ") is %d, "
			      "expected %d", b, x.first + (b << 12), got, want);
		}
	}
	if (use_gather) {
		/* iodirty and generic_pt gather only what they clear; legacy
		 * gathers every record (algorithms.md 2 step 4, 3 step 3) */
		bool gathers = x.any && (x.clear || x.algo == IDT_RCD_LEGACY);

		if (!gathers)
			CHECK(rt, idt_gather_empty(&gather),
			      "gather [0x%" PRIx64 ", 0x%" PRIx64 "], expected empty", gather.start,
			      gather.last);
		else
			CHECK(rt, gather.start == x.g_start && gather.last == x.g_last,
			      "gather [0x%" PRIx64 ", 0x%" PRIx64 "], expected [0x%" PRIx64
			      ", 0x%" PRIx64 "]", gather.start, gather.last, x.g_start, x.g_last);
	}
	/* Reported entries are clean after a clearing read, the others unchanged. */
	for (size_t k = i; k < done; k++) {
		if (x.clear)
			rt->e[k].dirty = false;
		if (k - i < 64 || rnd_below(rt, 16) == 0)
			check_entry(rt, &rt->e[k], "after read_and_clear");
	}
	if (done < rt->n && (hole || rt->e[done].iova <= x.last))
		check_entry(rt, &rt->e[done], "after read_and_clear, past a hole");
	if (expect)
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
	if (ref_find(rt, addr))
		rt->ok[OP_XLATE]++;
	else
		rt->err[OP_XLATE]++;
}

/* ---- full consistency check ----------------------------------------------------- */

/* Top level a dynamic-top table needs to decode last (formats.md 2.3). */
static unsigned int top_needed(uint64_t last)
{
	unsigned int top = 2;

	while (top < 5 && last >> (12 + 9 * (top + 1)))
		top++;
	return top;
}

/* Tables that must exist: the root, the grown chain of a dynamic top (the old
 * roots stay as entry 0 of each new root), and for every level L below the
 * top one table per span of 2^(12 + 9(L + 1)) holding an entry of level <= L.
 * Empty tables are freed (issue 2, item 5). */
static uint64_t expected_tables(const struct rt *rt, unsigned int top)
{
	uint64_t tables = 1;

	for (unsigned int level = 0; level < top; level++) {
		unsigned int shift = 12 + 9 * (level + 1);
		bool any = false, have_zero = false;
		uint64_t prev = 0;

		for (size_t i = 0; i < rt->n; i++) {
			uint64_t region;

			if (ref_level(&rt->e[i]) > level)
				continue;
			region = rt->e[i].iova >> shift;
			if (!any || region != prev)
				tables++;
			any = true;
			prev = region;
			have_zero |= region == 0;
		}
		if (rt->fc->dynamic_top && level >= 2 && !have_zero)
			tables++;
	}
	return tables;
}

static void full_check(struct rt *rt)
{
	struct idt_pt_info info;
	unsigned int top;

	rt_log(rt, "full check");
	idt_pt_get_info(rt->pt, &info);
	top = info.levels - 1;
	if (rt->fc->dynamic_top) {
		unsigned int lo = rt->mapped_any ? top_needed(rt->max_last_ok) : 2;
		unsigned int hi = rt->tried_any ? top_needed(rt->max_last_tried) : 2;

		CHECK(rt, top >= lo && top <= hi, "dynamic top: %u levels, expected %u..%u",
		      info.levels, lo + 1, hi + 1);
	}
	for (size_t i = 0; i < rt->n; i++) {
		const struct ref_entry *e = &rt->e[i];

		check_entry(rt, e, "full check");
		check_entry_at(rt, e, e->iova + (rnd_below(rt, ref_size(e)) & ~7ull), "full check");
	}
	for (int k = 0; k < 64; k++) {
		uint64_t addr = (k & 1 ? rt->small + rnd_below(rt, SMALL_SIZE)
				       : rt->base + rnd_below(rt, WIN_SIZE)) & ~7ull;

		check_addr(rt, addr, "full check sample");
	}
	CHECK(rt, info.tables == expected_tables(rt, top),
	      "%" PRIu64 " tables allocated, expected %" PRIu64, info.tables,
	      expected_tables(rt, top));
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
	rt->sizes = info.page_sizes;
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

	if (fc->dynamic_top && rnd_below(rt, 2)) {
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
			      top_needed(rt->max_last_ok) + 1);
	}

	rt->e = calloc(MAX_ENTRIES + 1, sizeof(*rt->e));
	rt->tmp = calloc(MAX_ENTRIES + 1, sizeof(*rt->tmp));
	rt->bm = malloc(WIN_SIZE >> 15);
	rt->exp = malloc(WIN_SIZE >> 15);
	assert_non_null(rt->e);
	assert_non_null(rt->tmp);
	assert_non_null(rt->bm);
	assert_non_null(rt->exp);

	for (rt->op = 0; rt->op < rt->iterations; rt->op++) {
		uint64_t r = rnd_below(rt, 100);

		if (rt->n > MAX_ENTRIES - 512 && rnd_below(rt, 4) == 0)
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
	for (size_t i = 0; i < rt->n; i++)
		total += ref_size(&rt->e[i]);
	rt_log(rt, "unmap the whole window");
	assert_int_equal(idt_pt_unmap(rt->pt, rt->base, WIN_SIZE, &unmapped), 0);
	CHECK(rt, unmapped == total, "final unmap: 0x%" PRIx64 " bytes, expected 0x%" PRIx64,
	      unmapped, total);
	rt->n = 0;
	full_check(rt);
	idt_pt_get_info(rt->pt, &info);
	if (!fc->dynamic_top)
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
	free(rt->e);
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
		.dynamic_top = true,
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
		.ro_untrackable = true,
		.write_implies_read = true,
		.writable_starts_dirty = true,
		.holes_are_errors = true,
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
		.ro_untrackable = true,
		.write_implies_read = true,
		.writable_starts_dirty = true,
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
