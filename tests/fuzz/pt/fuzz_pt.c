/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target (issue 7, 1b): the page-table library, every format, checked
 * after each operation against the reference model of the foundation tests
 * (tests/pt/pt_model.h, shared with test_pt_random).
 *
 * Input, little-endian; bytes past the end of the input read as zero.
 *
 *   header, 20 bytes:
 *     u8  config      index into configs[] (modulo its size): format, width, flags
 *     u8  window      0: the window starts at IOVA 0; 1: it ends at the top of
 *                     the table's IOVA space; else at base_raw, aligned down
 *     u8  simd        idt_simd_select(simd % 4) for the leaf-table scan
 *     u8  restrict    bit 0: config.page_sizes = 4 KiB | sizes_mask (the
 *                     larger sizes the mask names), else 0 (all sizes)
 *     u64 base_raw
 *     u64 sizes_mask
 *   then up to MAX_OPS operations, each a u8 opcode (modulo OP_KINDS: 0 map,
 *   1 unmap, 2 unmap_deferred, 3 split, 4 make_dirty, 5 make_dirty_item,
 *   6 make_clean, 7 read_and_clear, 8 read_and_clear_threads,
 *   9 make_dirty_range, 10 translate) and its fields:
 *     map           u8 align (iova aligned to 2^(12 + align % 22) in the
 *                   window), u32 slot, u8 size (1 + size >> 5 times
 *                   2^(12 + (size & 31) % 22)), u8 prot (% 4; 0 is invalid),
 *                   u8 oa_mode (even: oa congruent to iova modulo the window;
 *                   odd: oa = oa_field << 12), u16 oa_field
 *     unmap, unmap_deferred
 *                   u8 mode, then for mode % 3 == 0 (whole entries) u16 i,
 *                   u8 count, u16 widen (pages added into the holes around
 *                   them when mode & 4 / mode & 8); otherwise an address (see
 *                   below) and u16 pages (length (pages + 1) << 12, or << 21
 *                   when mode % 3 == 2)
 *     split, make_clean        an address
 *     make_dirty    an address; make_dirty_item: an address and u8 item
 *                   (>= 0xf0: one past the entry's items, which is refused)
 *     read_and_clear, read_and_clear_threads
 *                   u8 algo (% 3; legacy gets whole entries; threads always
 *                   use iodirty's algorithm with 2 + algo % 3 threads),
 *                   u8 flags (bit 0 NO_CLEAR, bit 1 no bitmap, bit 2 no
 *                   gather), u8 range (% 4: entries; an address and u16
 *                   pages; the whole window; a 2 MiB-aligned address and u16
 *                   2 MiB pages), u8 shift (bitmap page 2^(12 + shift % 10),
 *                   coarser if the bitmap would exceed MAX_RCD_BITS), then
 *                   the range's fields
 *     make_dirty_range  an address, u16 pages, u8 len_shift (length
 *                   (pages + 1) << (12 + len_shift % 22)), u32 stride (bytes)
 *     translate     an address and u16 byte offset (% 4 KiB)
 *   An address is u8 sel, u16 index, u32 page: sel % 4 == 0 picks a page of
 *   live entry index % n, 1 any page of the window, 2 a page of its first
 *   128 MiB, 3 a 2 MiB-aligned address of the window.
 *
 * Everything runs inside an 8 GiB window.  Each operation's return value,
 * byte count, bitmap, gather and the entries it touched are compared with
 * the model's prediction, and the number of tables after every map, unmap
 * and split;
 * at the end every entry is compared, the window is unmapped and the tables
 * must be back to the bare root.  A mismatch prints the operation on stderr
 * and aborts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iodirty/bitmap.h"
#include "iodirty/pt.h"
#include "pt_model.h"
#include "fuzz_common.h"

#define SZ_4K 0x1000ull
#define BIT64(n) (1ull << (n))
#define WIN_LG2 33                  /* an 8 GiB window holds up to 1 GiB pages 8 times */
#define WIN_SIZE BIT64(WIN_LG2)
#define SMALL_PAGES (BIT64(27) >> 12) /* the first 128 MiB, where entries crowd */
#define MAX_OPS 128
#define MAX_ENTRIES 2048
#define MAX_RCD_BITS (1u << 16)
#define MAX_CHECKED 64              /* entries compared after one operation */

enum op_kind {
	OP_MAP, OP_UNMAP, OP_UNMAP_DEFERRED, OP_SPLIT, OP_MAKE_DIRTY, OP_MAKE_DIRTY_ITEM,
	OP_MAKE_CLEAN, OP_RCD, OP_RCD_THREADS, OP_MAKE_DIRTY_RANGE, OP_TRANSLATE, OP_KINDS
};

struct fuzz_config {
	const char *name;
	uint32_t format, iova_width, flags;
	struct pt_model_rules rules;
};

/* The rules are those test_pt_random establishes for each format. */
static const struct fuzz_config configs[] = {
	{ "amdv1-48", IDT_PT_AMDV1, 48, IDT_PT_DIRTY_TRACKING, { 0 } },
	{ "amdv1-39", IDT_PT_AMDV1, 39, IDT_PT_DIRTY_TRACKING, { 0 } },
	{ "amdv1-64-dynamic-top", IDT_PT_AMDV1, 64, IDT_PT_DYNAMIC_TOP,
	  { .dynamic_top = true } },
	{ "vtdss-48", IDT_PT_VTDSS, 48, 0, { 0 } },
	{ "vtdss-57-snoop", IDT_PT_VTDSS, 57, IDT_PT_VTD_SNOOP, { 0 } },
	{ "arm-48", IDT_PT_ARM_S1, 48, IDT_PT_DIRTY_TRACKING,
	  { .ro_untrackable = true, .write_implies_read = true, .writable_starts_dirty = true,
	    .holes_are_errors = true } },
	{ "arm-39", IDT_PT_ARM_S1, 39, IDT_PT_DIRTY_TRACKING,
	  { .ro_untrackable = true, .write_implies_read = true, .writable_starts_dirty = true,
	    .holes_are_errors = true } },
	{ "riscv-sv48-napot", IDT_PT_RISCV, 48, IDT_PT_RISCV_NAPOT,
	  { .ro_untrackable = true, .write_implies_read = true, .writable_starts_dirty = true } },
	{ "riscv-sv39", IDT_PT_RISCV, 39, 0,
	  { .ro_untrackable = true, .write_implies_read = true, .writable_starts_dirty = true } },
	{ "riscv-sv57-napot", IDT_PT_RISCV, 57, IDT_PT_RISCV_NAPOT,
	  { .ro_untrackable = true, .write_implies_read = true, .writable_starts_dirty = true } },
	{ "riscv-sv39x4-gstage", IDT_PT_RISCV, 41, IDT_PT_RISCV_GSTAGE | IDT_PT_RISCV_NAPOT,
	  { .ro_untrackable = true, .write_implies_read = true, .writable_starts_dirty = true } },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

struct run {
	const struct fuzz_config *cfg;
	struct idt_pt *pt;
	struct pt_model m;
	struct pt_model_entry *tmp;   /* pieces of a map or split */
	struct reader in;
	unsigned int oa_width;
	uint64_t base, win_last;
	uint64_t max_last_ok, max_last_tried; /* dynamic top: highest map() ends */
	bool mapped_any, tried_any;
	unsigned int op;
	char what[200];               /* the current operation, for failures */
};

static void fail(const struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3),
									   noreturn));
static void fail(const struct run *run, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_pt: %s, window 0x%" PRIx64 ", op %u: %s: ", run->cfg->name, run->base,
		run->op, run->what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void describe(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void describe(struct run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->what, sizeof(run->what), fmt, ap);
	va_end(ap);
}

static void check_entry_at(struct run *run, const struct pt_model_entry *e, uint64_t addr)
{
	char msg[256];

	if (!pt_model_check_entry_at(run->pt, e, addr, msg, sizeof(msg)))
		fail(run, "%s", msg);
}

static void check_addr(struct run *run, uint64_t addr)
{
	char msg[256];

	if (!pt_model_check_addr(&run->m, run->pt, addr, msg, sizeof(msg)))
		fail(run, "%s", msg);
}

/* Compares entries [from, to), at most MAX_CHECKED of them. */
static void check_entries(struct run *run, size_t from, size_t to)
{
	for (size_t i = from; i < to && i - from < MAX_CHECKED; i++)
		check_entry_at(run, &run->m.e[i], run->m.e[i].iova);
}

/* The tables allocated, and a dynamic top between what was mapped and tried. */
static void check_tables(struct run *run)
{
	struct idt_pt_info info;
	unsigned int top;

	idt_pt_get_info(run->pt, &info);
	top = info.levels - 1;
	if (run->cfg->rules.dynamic_top) {
		unsigned int lo = run->mapped_any ? pt_model_top_needed(run->max_last_ok) : 2;
		unsigned int hi = run->tried_any ? pt_model_top_needed(run->max_last_tried) : 2;

		if (top < lo || top > hi)
			fail(run, "dynamic top: %u levels, expected %u..%u", info.levels, lo + 1, hi + 1);
	}
	if (info.tables != pt_model_expected_tables(&run->m, top))
		fail(run, "%" PRIu64 " tables allocated, expected %" PRIu64, info.tables,
		     pt_model_expected_tables(&run->m, top));
}

static uint64_t pages_of(const struct pt_model_entry *e)
{
	return pt_model_entry_size(e) >> 12;
}

/* A 4 KiB-aligned address of the window (see the top). */
static uint64_t read_addr(struct run *run)
{
	unsigned int sel = (unsigned int)read_le(&run->in, 1) % 4;
	uint64_t index = read_le(&run->in, 2), page = read_le(&run->in, 4);

	if (sel == 0 && run->m.n) {
		const struct pt_model_entry *e = &run->m.e[index % run->m.n];

		return e->iova + ((page % pages_of(e)) << 12);
	}
	if (sel == 2)
		return run->base + ((page % SMALL_PAGES) << 12);
	if (sel == 3)
		return run->base + ((page << 21) & (WIN_SIZE - 1));
	return run->base + ((page << 12) & (WIN_SIZE - 1));
}

/* [first, first + length) clipped to the window's end, as an inclusive last. */
static uint64_t clip_last(const struct run *run, uint64_t first, uint64_t length)
{
	return length - 1 > run->win_last - first ? run->win_last : first + (length - 1);
}

/* ---- operations ------------------------------------------------------------ */

static void op_map(struct run *run)
{
	unsigned int align = 12 + (unsigned int)read_le(&run->in, 1) % 22;
	uint64_t slot = read_le(&run->in, 4);
	unsigned int size_code = (unsigned int)read_le(&run->in, 1);
	int prot = (int)(read_le(&run->in, 1) % 4);
	unsigned int oa_mode = (unsigned int)read_le(&run->in, 1);
	uint64_t oa_field = read_le(&run->in, 2);
	uint64_t iova = run->base + ((slot << align) & (WIN_SIZE - 1));
	uint64_t size = (1 + (uint64_t)(size_code >> 5)) << (12 + (size_code & 31) % 22);
	uint64_t last = clip_last(run, iova, size), oa;
	size_t count = 0;
	bool overlap;
	int ret, expect = 0;

	size = last - iova + 1;
	if (oa_mode % 2 == 0)
		oa = ((oa_field % (BIT64(run->oa_width - WIN_LG2) - 1)) << WIN_LG2) |
		     (iova & (WIN_SIZE - 1));
	else
		oa = oa_field << 12;
	overlap = pt_model_overlaps(&run->m, iova, last);
	if (!prot) {
		expect = -EINVAL;
	} else if (overlap) {
		expect = -EEXIST; /* formats.md 7.1: all or nothing */
	} else {
		count = pt_model_map_pieces(&run->m, iova, oa, size, prot, run->tmp,
					    MAX_ENTRIES - run->m.n);
		if (count == SIZE_MAX)
			return; /* more entries than the model keeps */
	}
	describe(run, "map(0x%" PRIx64 ", oa 0x%" PRIx64 ", size 0x%" PRIx64 ", prot %d)", iova, oa,
		 size, prot);
	if (prot) {
		run->tried_any = true;
		if (last > run->max_last_tried)
			run->max_last_tried = last;
	}
	ret = idt_pt_map(run->pt, iova, oa, size, prot);
	if (ret != expect)
		fail(run, "returned %d, expected %d", ret, expect);
	if (expect) {
		size_t i = pt_model_lower(&run->m, iova);

		check_entries(run, i, i + 8 < run->m.n ? i + 8 : run->m.n);
		check_addr(run, iova);
		check_addr(run, last & ~(SZ_4K - 1));
		return;
	}
	pt_model_replace(&run->m, pt_model_lower(&run->m, iova), pt_model_lower(&run->m, iova),
			 run->tmp, count);
	run->mapped_any = true;
	if (last > run->max_last_ok)
		run->max_last_ok = last;
	for (size_t i = 0; i < count; i++)
		check_entry_at(run, &run->tmp[i], run->tmp[i].iova);
}

static void op_unmap(struct run *run, bool deferred)
{
	unsigned int mode = (unsigned int)read_le(&run->in, 1);
	uint64_t first, last, bytes = 0, unmapped = UINT64_MAX;
	struct idt_pt_free_list list = { 0 };
	struct idt_pt_info before, after;
	size_t from, to;
	int ret, expect;

	if (mode % 3 == 0 && run->m.n) {
		/* whole entries i..j, perhaps reaching into the holes around them */
		size_t i = read_le(&run->in, 2) % run->m.n;
		size_t span = run->m.n - i < 16 ? run->m.n - i : 16;
		size_t j = i + read_le(&run->in, 1) % span;
		uint64_t widen = read_le(&run->in, 2) << 12;
		uint64_t floor = i ? run->m.e[i - 1].last + 1 : run->base;
		uint64_t ceil = j + 1 < run->m.n ? run->m.e[j + 1].iova - 1 : run->win_last;

		first = run->m.e[i].iova;
		last = run->m.e[j].last;
		if (mode & 4)
			first = widen > first - floor ? floor : first - widen;
		if (mode & 8)
			last = widen > ceil - last ? ceil : last + widen;
	} else {
		first = read_addr(run);
		last = clip_last(run, first, (read_le(&run->in, 2) + 1) << (mode % 3 == 2 ? 21 : 12));
	}
	expect = pt_model_unmap_predict(&run->m, first, last, &from, &to, &bytes);
	describe(run, "unmap%s(0x%" PRIx64 ", size 0x%" PRIx64 ")", deferred ? "_deferred" : "",
		 first, last - first + 1);
	idt_pt_get_info(run->pt, &before);
	if (deferred)
		ret = idt_pt_unmap_deferred(run->pt, first, last - first + 1, &unmapped, &list);
	else
		ret = idt_pt_unmap(run->pt, first, last - first + 1, &unmapped);
	if (ret != expect)
		fail(run, "returned %d, expected %d", ret, expect);
	if (expect) {
		size_t i = pt_model_lower(&run->m, first);

		check_entries(run, i, i + 2 < run->m.n ? i + 2 : run->m.n);
		check_addr(run, last & ~(SZ_4K - 1));
		return;
	}
	if (unmapped != bytes)
		fail(run, "unmapped 0x%" PRIx64 " bytes, expected 0x%" PRIx64, unmapped, bytes);
	pt_model_replace(&run->m, from, to, NULL, 0);
	check_addr(run, first);
	check_addr(run, last & ~(SZ_4K - 1));
	if (deferred) {
		/* the emptied tables wait on the list until released */
		idt_pt_get_info(run->pt, &after);
		if (after.tables != before.tables)
			fail(run, "%" PRIu64 " tables before, %" PRIu64 " after a deferred unmap",
			     before.tables, after.tables);
		if (before.tables - list.count != pt_model_expected_tables(&run->m, after.levels - 1))
			fail(run, "%u tables deferred of %" PRIu64 ", expected %" PRIu64 " to remain",
			     list.count, before.tables,
			     pt_model_expected_tables(&run->m, after.levels - 1));
		idt_pt_free_list_release(run->pt, &list);
	}
}

static void op_split(struct run *run)
{
	uint64_t addr = read_addr(run);
	struct pt_model_entry *e = pt_model_find(&run->m, addr);
	size_t at, count = 0;
	int ret, expect = 0;

	if (!e)
		expect = -ENOENT;
	else if (e->lg2 == 12)
		expect = -EINVAL; /* a single granule cannot be split (project decision) */
	else if ((count = pt_model_split_pieces(&run->m, e, run->tmp,
						MAX_ENTRIES + 1 - run->m.n)) == SIZE_MAX)
		return;
	describe(run, "split(0x%" PRIx64 ")", addr);
	ret = idt_pt_split(run->pt, addr);
	if (ret != expect)
		fail(run, "returned %d, expected %d", ret, expect);
	if (expect) {
		check_addr(run, addr);
		return;
	}
	at = (size_t)(e - run->m.e);
	pt_model_replace(&run->m, at, at + 1, run->tmp, count);
	check_entries(run, at, at + count);
}

static void op_make_dirty(struct run *run, bool use_item)
{
	uint64_t addr = read_addr(run);
	struct pt_model_entry *e = pt_model_find(&run->m, addr);
	unsigned int code = use_item ? (unsigned int)read_le(&run->in, 1) : 0;
	uint32_t items = e ? pt_model_items(e) : 1, index = 0;
	bool bad_index = use_item && code >= 0xf0, dirty = false;
	int ret, expect = pt_model_make_dirty_result(&run->m, e, bad_index);

	if (use_item) {
		index = bad_index ? items : code % items;
		describe(run, "make_dirty_item(0x%" PRIx64 ", %u)", addr, index);
		ret = idt_pt_make_dirty_item(run->pt, addr, index);
	} else {
		describe(run, "make_dirty(0x%" PRIx64 ")", addr);
		ret = idt_pt_make_dirty(run->pt, addr);
	}
	if (ret != expect)
		fail(run, "returned %d, expected %d", ret, expect);
	if (expect) {
		check_addr(run, addr);
		return;
	}
	e->dirty = true;
	ret = idt_pt_is_dirty(run->pt, addr, &dirty);
	if (ret || !dirty)
		fail(run, "is_dirty afterwards: %d, %d", ret, dirty);
	check_entry_at(run, e, addr);
}

static void op_make_clean(struct run *run)
{
	uint64_t addr = read_addr(run);
	struct pt_model_entry *e = pt_model_find(&run->m, addr);
	int ret, expect = e ? 0 : -ENOENT;

	describe(run, "make_clean(0x%" PRIx64 ")", addr);
	ret = idt_pt_make_clean(run->pt, addr);
	if (ret != expect)
		fail(run, "returned %d, expected %d", ret, expect);
	if (e)
		e->dirty = false;
	check_addr(run, addr);
}

/* The range of a read-and-clear (see the top). */
static void read_rcd_range(struct run *run, unsigned int algo, unsigned int mode,
			   uint64_t *first, uint64_t *last)
{
	if (algo == IDT_RCD_LEGACY || (mode == 0 && run->m.n)) {
		/* from entry i to entry j: legacy reports whole entries, so its
		 * range starts and ends on entries (algorithms.md 2 and 4) */
		size_t i, j;
		uint64_t a = read_le(&run->in, 4), b = read_le(&run->in, 4);

		i = read_le(&run->in, 2) % run->m.n;
		j = i + read_le(&run->in, 1) % (run->m.n - i < 32 ? run->m.n - i : 32);
		/* ARM legacy: without holes, where it equals iodirty */
		if (run->cfg->rules.holes_are_errors && algo == IDT_RCD_LEGACY)
			for (size_t k = i; k < j; k++)
				if (run->m.e[k].last + 1 != run->m.e[k + 1].iova) {
					j = k;
					break;
				}
		*first = run->m.e[i].iova;
		*last = run->m.e[j].last;
		if (algo != IDT_RCD_LEGACY) {
			*first += (a % pages_of(&run->m.e[i])) << 12;
			*last -= (b % pages_of(&run->m.e[j])) << 12;
			if (*last < *first)
				*last = *first + (SZ_4K - 1);
		}
		return;
	}
	if (mode == 0 || mode == 2) {
		*first = run->base;
		*last = run->win_last;
		return;
	}
	*first = read_addr(run);
	if (mode == 3)
		*first &= ~(BIT64(21) - 1);
	*last = clip_last(run, *first, (read_le(&run->in, 2) + 1) << (mode == 3 ? 21 : 12));
}

static void op_rcd(struct run *run, bool threaded)
{
	static const char *const algo_names[3] = { "iodirty", "generic_pt", "legacy" };
	unsigned int algo_code = (unsigned int)read_le(&run->in, 1);
	unsigned int flags_code = (unsigned int)read_le(&run->in, 1);
	unsigned int mode = (unsigned int)read_le(&run->in, 1) % 4;
	unsigned int shift_code = (unsigned int)read_le(&run->in, 1);
	struct pt_model_rcd x = { .algo = threaded ? IDT_RCD_IODIRTY : algo_code % 3,
				  .clear = !(flags_code & 1),
				  .shift = 12 + shift_code % 10 };
	unsigned int threads = 2 + algo_code % 3;
	bool use_bitmap = !(flags_code & 2), use_gather = !(flags_code & 4);
	struct idt_dirty_record record = { 0 };
	struct idt_bitmap bitmap;
	struct idt_gather gather;
	struct idt_pt_info info;
	uint8_t *bits, *exp;
	uint64_t bytes;
	int ret;

	if (x.algo == IDT_RCD_LEGACY && !run->m.n)
		x.algo = IDT_RCD_IODIRTY;
	read_rcd_range(run, x.algo, mode, &x.first, &x.last);
	while ((x.last - x.first) >> x.shift >= MAX_RCD_BITS)
		x.shift++;
	idt_pt_get_info(run->pt, &info);
	x.decoded_width = info.iova_width;
	if (idt_bitmap_init(&bitmap, x.first, x.last - x.first + 1, BIT64(x.shift), NULL))
		fail(run, "bitmap_init refused [0x%" PRIx64 ", 0x%" PRIx64 "]", x.first, x.last);
	/* exact sizes, so ASan catches a write past the bitmap */
	bytes = idt_bitmap_bytes(&bitmap);
	bits = calloc(bytes, 1);
	exp = calloc(bytes, 1);
	if (!bits || !exp)
		fail(run, "out of memory");
	bitmap.data = bits;
	idt_gather_init(&gather);
	record.bitmap = use_bitmap ? &bitmap : NULL;
	record.gather = use_gather ? &gather : NULL;
	pt_model_rcd_predict(&run->m, &x, exp);
	/* ARM's threaded walk also fails on a hole, but parts past it may
	 * already have run; only the single walk's partial effect is modelled. */
	if (threaded && x.hole)
		threaded = false;
	describe(run, "read_and_clear%s(0x%" PRIx64 ", size 0x%" PRIx64 ", %s, %s, %s%s, page 2^%u,"
		 " %u threads)%s", threaded ? "_threads" : "", x.first, x.last - x.first + 1,
		 algo_names[x.algo], x.clear ? "clear" : "NO_CLEAR", use_bitmap ? "bitmap" : "",
		 use_gather ? " gather" : "", x.shift, threaded ? threads : 1,
		 x.hole ? " [hole]" : x.beyond_top ? " [above the top]" : "");
	/* windows are aligned and narrower than any top: one above it is empty */
	if (x.beyond_top && run->m.n)
		fail(run, "%zu entries in a window above the decoded width %u", run->m.n,
		     x.decoded_width);
	if (threaded)
		ret = idt_pt_read_and_clear_dirty_threads(run->pt, x.first, x.last - x.first + 1,
							  x.clear ? 0 : IDT_DIRTY_NO_CLEAR, &record,
							  threads);
	else
		ret = idt_pt_read_and_clear_dirty(run->pt, x.first, x.last - x.first + 1,
						  x.clear ? 0 : IDT_DIRTY_NO_CLEAR, &record,
						  (enum idt_rcd_algo)x.algo);
	if (ret != x.expect)
		fail(run, "returned %d, expected %d", ret, x.expect);
	if (use_bitmap && memcmp(bits, exp, bytes))
		for (uint64_t b = 0; b < bitmap.nbits; b++)
			if (((bits[b / 8] ^ exp[b / 8]) >> (b % 8)) & 1)
				fail(run, "bitmap bit %" PRIu64 " (iova 0x%" PRIx64 ") is %d, expected %d",
				     b, x.first + (b << x.shift), !((exp[b / 8] >> (b % 8)) & 1),
				     (exp[b / 8] >> (b % 8)) & 1);
	free(bits);
	free(exp);
	if (use_gather) {
		bool gathers = pt_model_rcd_gathers(&x);

		if (gathers ? gather.start != x.g_start || gather.last != x.g_last
			    : !idt_gather_empty(&gather))
			fail(run, "gather [0x%" PRIx64 ", 0x%" PRIx64 "], expected %s [0x%" PRIx64
			     ", 0x%" PRIx64 "]", gather.start, gather.last,
			     gathers ? "" : "empty, not", x.g_start, x.g_last);
	}
	/* reported entries are clean after a clearing read, the others unchanged */
	if (x.clear)
		for (size_t k = x.from; k < x.to; k++)
			run->m.e[k].dirty = false;
	check_entries(run, x.from, x.to < run->m.n ? x.to + 1 : x.to);
}

/* Does [start, stop] hold a point first + k * stride (stride 0: every point)? */
static bool stride_hits(uint64_t first, uint64_t stride, uint64_t start, uint64_t stop)
{
	unsigned __int128 k, point;

	if (!stride)
		return true;
	k = ((unsigned __int128)(start - first) + stride - 1) / stride;
	point = (unsigned __int128)first + k * stride;
	return point <= stop;
}

static void op_make_dirty_range(struct run *run)
{
	uint64_t first = read_addr(run), pages = read_le(&run->in, 2);
	unsigned int len_shift = 12 + (unsigned int)read_le(&run->in, 1) % 22;
	uint64_t stride = read_le(&run->in, 4);
	uint64_t last = clip_last(run, first, (pages + 1) << len_shift), marked = UINT64_MAX;
	uint64_t expect_marked = 0;
	size_t from = pt_model_lower(&run->m, first), to;
	int ret;

	describe(run, "make_dirty_range(0x%" PRIx64 ", size 0x%" PRIx64 ", stride 0x%" PRIx64 ")",
		 first, last - first + 1, stride);
	ret = idt_pt_make_dirty_range(run->pt, first, last - first + 1, stride, &marked);
	if (ret)
		fail(run, "returned %d", ret);
	for (to = from; to < run->m.n && run->m.e[to].iova <= last; to++) {
		struct pt_model_entry *e = &run->m.e[to];
		uint64_t start = e->iova > first ? e->iova : first;
		uint64_t stop = e->last < last ? e->last : last;

		/* entries that cannot become dirty are skipped (formats.md 4.4, 5.4) */
		if (run->m.rules.ro_untrackable && !(e->prot & IDT_PROT_WRITE))
			continue;
		if (stride_hits(first, stride, start, stop)) {
			e->dirty = true;
			expect_marked++;
		}
	}
	if (marked != expect_marked)
		fail(run, "marked %" PRIu64 " leaves, expected %" PRIu64, marked, expect_marked);
	check_entries(run, from, to);
}

static void op_translate(struct run *run)
{
	uint64_t addr = read_addr(run) + read_le(&run->in, 2) % SZ_4K;

	describe(run, "translate(0x%" PRIx64 ")", addr);
	check_addr(run, addr);
}

/* ---- the driver ------------------------------------------------------------- */

/* The sizes the format offers, whatever config->page_sizes restricts. */
static uint64_t format_sizes(const struct idt_pt_config *config)
{
	struct idt_pt_config unrestricted = *config;
	struct idt_pt_info info;
	struct idt_pt *probe;

	unrestricted.page_sizes = 0;
	if (idt_pt_create(&unrestricted, &probe)) {
		fprintf(stderr, "fuzz_pt: create without page_sizes failed\n");
		abort();
	}
	idt_pt_get_info(probe, &info);
	idt_pt_destroy(probe);
	return info.page_sizes;
}

static void choose_window(struct run *run, unsigned int where, uint64_t base_raw,
			  unsigned int max_width)
{
	uint64_t top_base = max_width >= 64 ? 0 - WIN_SIZE : BIT64(max_width) - WIN_SIZE;

	if (where == 0)
		run->base = 0;
	else if (where == 1)
		run->base = top_base;
	else
		run->base = base_raw & ~(WIN_SIZE - 1) & (max_width >= 64 ? ~0ull
								    : BIT64(max_width) - 1);
	run->win_last = run->base + (WIN_SIZE - 1);
}

static void finish(struct run *run)
{
	uint64_t total = 0, unmapped = UINT64_MAX;
	int ret;

	describe(run, "final check");
	for (size_t i = 0; i < run->m.n; i++) {
		const struct pt_model_entry *e = &run->m.e[i];

		check_entry_at(run, e, e->iova);
		check_entry_at(run, e, e->last & ~(SZ_4K - 1));
		total += pt_model_entry_size(e);
	}
	describe(run, "unmap of the whole window");
	ret = idt_pt_unmap(run->pt, run->base, WIN_SIZE, &unmapped);
	if (ret || unmapped != total)
		fail(run, "returned %d, 0x%" PRIx64 " bytes, expected 0, 0x%" PRIx64, ret, unmapped,
		     total);
	run->m.n = 0;
	check_tables(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run = { .in = { data, size, 0 } };
	struct idt_pt_config config = { .size = sizeof(config) };
	struct idt_pt_info info;
	unsigned int where, simd, restrict_sizes;
	uint64_t base_raw, sizes_mask;
	int ret;

	run.cfg = &configs[read_le(&run.in, 1) % NCONFIGS];
	where = (unsigned int)read_le(&run.in, 1);
	simd = (unsigned int)read_le(&run.in, 1) % 4;
	restrict_sizes = (unsigned int)read_le(&run.in, 1) & 1;
	base_raw = read_le(&run.in, 8);
	sizes_mask = read_le(&run.in, 8);
	snprintf(run.what, sizeof(run.what), "set-up");

	ret = idt_simd_select((enum idt_simd)simd);
	if (ret && ret != -EOPNOTSUPP)
		fail(&run, "idt_simd_select(%u) = %d", simd, ret);
	config.format = run.cfg->format;
	config.iova_width = run.cfg->iova_width;
	config.flags = run.cfg->flags;
	/* 4 KiB stays allowed: the operations work in granules */
	config.page_sizes = restrict_sizes ? SZ_4K | sizes_mask : 0;
	ret = idt_pt_create(&config, &run.pt);
	if (ret)
		fail(&run, "create(page_sizes 0x%" PRIx64 ") = %d", config.page_sizes, ret);
	idt_pt_get_info(run.pt, &info);
	run.m.rules = run.cfg->rules;
	run.m.sizes = info.page_sizes;
	run.m.format_sizes = format_sizes(&config);
	run.oa_width = info.oa_width;
	run.m.e = calloc(MAX_ENTRIES + 1, sizeof(*run.m.e));
	run.tmp = calloc(MAX_ENTRIES + 1, sizeof(*run.tmp));
	if (!run.m.e || !run.tmp)
		fail(&run, "out of memory");
	choose_window(&run, where, base_raw, info.max_iova_width);

	for (run.op = 0; run.op < MAX_OPS && run.in.pos < run.in.size; run.op++) {
		enum op_kind kind = (enum op_kind)(read_le(&run.in, 1) % OP_KINDS);

		switch (kind) {
		case OP_MAP:
			op_map(&run);
			break;
		case OP_UNMAP:
		case OP_UNMAP_DEFERRED:
			op_unmap(&run, kind == OP_UNMAP_DEFERRED);
			break;
		case OP_SPLIT:
			op_split(&run);
			break;
		case OP_MAKE_DIRTY:
		case OP_MAKE_DIRTY_ITEM:
			op_make_dirty(&run, kind == OP_MAKE_DIRTY_ITEM);
			break;
		case OP_MAKE_CLEAN:
			op_make_clean(&run);
			break;
		case OP_RCD:
		case OP_RCD_THREADS:
			op_rcd(&run, kind == OP_RCD_THREADS);
			break;
		case OP_MAKE_DIRTY_RANGE:
			op_make_dirty_range(&run);
			break;
		case OP_TRANSLATE:
		default:
			op_translate(&run);
			break;
		}
		/* only these change the tables */
		if (kind == OP_MAP || kind == OP_UNMAP || kind == OP_UNMAP_DEFERRED || kind == OP_SPLIT)
			check_tables(&run);
	}
	finish(&run);
	idt_pt_destroy(run.pt);
	free(run.m.e);
	free(run.tmp);
	return 0;
}
