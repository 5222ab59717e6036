/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target (issue 7, 1c): the dirty bitmap recorder, direct and windowed
 * (include/iodirty/bitmap.h, algorithms.md 6, test-cases.md BM-03b).
 *
 * Input, little-endian; bytes past the end of the input read as zero.
 *
 *   header, 32 bytes:
 *     u8  flags       bit 0 WINDOWED: records are made from inside
 *                     idt_bitmap_for_each_window();
 *                     bit 1 ATOMIC: bitmap.atomic = true;
 *                     bit 2 VERBATIM: iova, length and page_size go to
 *                     idt_bitmap_init() as they are (zero, not a power of
 *                     two, wrapping, huge); otherwise page_size is
 *                     1 << page_shift and length is fitted so that the range
 *                     does not wrap and has at most MAX_BITS bits
 *     u8  page_shift  taken modulo 64
 *     u16 data_offset taken modulo 4096: data's offset in its 4 KiB page
 *     u8  pages_per_window  taken modulo 9 (0 must be refused)
 *     u8  fill        initial value of every bitmap byte
 *     u16 reserved
 *     u64 iova
 *     u64 length
 *     u64 page_size   (VERBATIM only)
 *   then up to MAX_RECORDS records of 17 bytes:
 *     u8  how         bit 0 RELATIVE: start = base + offset, where base is the
 *                     bitmap's IOVA, or in windowed mode the current window's;
 *                     otherwise start = a;
 *                     bit 1 BELOW: start = base - offset instead;
 *                     bit 2 PAGES: offset = a << shift, otherwise offset = a;
 *                     bit 3 NEXT_WINDOW (windowed): the window ends after it;
 *                     bits 4-7 k: length = b >> (4 * k)
 *     u64 a
 *     u64 b
 *
 * Checks: idt_bitmap_init() accepts exactly the valid geometries and computes
 * nbits, last and idt_bitmap_bytes() as plain 128-bit arithmetic does; after
 * the records, every bit equals fill | the reference (the union of the
 * records clipped to the range and, in windowed mode, to the start of the
 * window they were made in, with what lies past that window replaced by the
 * one span covering all of it that window.c carries as set-ahead;
 * algorithms.md 6.1 and window.c), the padding bits
 * of the last byte keep fill, and the gather spans the records.  The bitmap
 * is allocated so that its last byte ends the allocation, and guard bytes
 * before and after it are poisoned for ASan and compared afterwards, so any
 * byte touched outside [data, data + bytes) is caught.  Windowed walks must
 * also hand out whole-byte windows in order, within pages_per_window pages,
 * and skip only bits that set-ahead filled.  A broken check prints what
 * differs on stderr and aborts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "iodirty/bitmap.h"
#include "fuzz_common.h"

#define MAX_BITS (1u << 17)          /* 16 KiB of bitmap: up to 5 windows of one page */
#define MAX_RECORDS 64
/* Each window but the last ends on a distinct page boundary of the bitmap. */
#define MAX_WINDOWS (MAX_BITS / 8 / 4096 + 2)
#define GUARD_BYTES 16
#define GUARD_VALUE 0xa5
#define WINDOW_PAGE_SIZE 4096u       /* the pinning unit of window.c */

enum { FLAG_WINDOWED = 1, FLAG_ATOMIC = 2, FLAG_VERBATIM = 4 };
enum { HOW_RELATIVE = 1, HOW_BELOW = 2, HOW_PAGES = 4, HOW_NEXT_WINDOW = 8 };

typedef unsigned __int128 u128;

#define FAIL(...)                                                        \
	do {                                                             \
		fprintf(stderr, "fuzz_bitmap: " __VA_ARGS__);            \
		fputc('\n', stderr);                                     \
		abort();                                                 \
	} while (0)

/* A bit range, inclusive, relative to the bitmap's bit 0. */
struct bit_span {
	uint64_t first, last;
};

struct run {
	struct idt_bitmap bitmap;
	struct idt_gather gather;
	struct reader in;
	size_t records_left;
	/* reference: the bit spans recorded, and the gather of the records */
	struct bit_span spans[MAX_RECORDS + MAX_WINDOWS];
	size_t nspans;
	bool any_record;
	uint64_t gather_start, gather_last;
	/* windowed walk */
	unsigned int pages_per_window;
	uint64_t windows;
	bool have_window;
	uint64_t next_bit;                     /* first bit after the last window */
	struct bit_span skipped[MAX_WINDOWS];  /* bits no window handed out */
	size_t nskipped;
	bool ahead;                            /* set-ahead still to come: */
	struct bit_span ahead_span;            /* the span covering what overran */
};

/*
 * Makes one record taken from the input, relative to base, and adds to the
 * reference what it must set: the record clipped to the range and to the
 * bit first_allowed (the window's start); what lies past the bit
 * last_in_window goes into the set-ahead span.  false when no record is left.
 */
static bool make_record(struct run *run, uint64_t base, uint64_t first_allowed,
			uint64_t last_in_window, bool *next_window)
{
	struct idt_bitmap *bm = &run->bitmap;
	unsigned int how;
	uint64_t a, b, start, length, offset;
	u128 rec_end, lo, hi;

	if (!run->records_left || run->in.pos >= run->in.size)
		return false;
	run->records_left--;
	how = (unsigned int)read_le(&run->in, 1);
	a = read_le(&run->in, 8);
	b = read_le(&run->in, 8);
	offset = how & HOW_PAGES ? a << bm->shift : a;
	if (!(how & HOW_RELATIVE))
		start = a;
	else
		start = how & HOW_BELOW ? base - offset : base + offset;
	length = b >> (4 * (how >> 4));
	*next_window = how & HOW_NEXT_WINDOW;

	idt_bitmap_record(bm, start, length);
	idt_gather_add(&run->gather, start, length);
	if (!length)
		return true;

	/* the gather: the record's inclusive end, stopping at 2^64 - 1 */
	rec_end = (u128)start + length;
	if (rec_end > (u128)UINT64_MAX + 1)
		rec_end = (u128)UINT64_MAX + 1;
	if (!run->any_record || start < run->gather_start)
		run->gather_start = start;
	if (!run->any_record || (uint64_t)(rec_end - 1) > run->gather_last)
		run->gather_last = (uint64_t)(rec_end - 1);
	run->any_record = true;

	/* the bitmap: the intersection with [iova, last + 1), in bits */
	lo = start > bm->iova ? start : bm->iova;
	hi = rec_end < (u128)bm->last + 1 ? rec_end : (u128)bm->last + 1;
	if (lo >= hi)
		return true;
	struct bit_span span = { (uint64_t)((lo - bm->iova) >> bm->shift),
				 (uint64_t)((hi - 1 - bm->iova) >> bm->shift) };
	if (span.first < first_allowed)
		span.first = first_allowed;
	if (span.first > span.last)
		return true;
	if (span.last > last_in_window) {
		uint64_t first_past = span.first > last_in_window ? span.first : last_in_window + 1;

		if (!run->ahead || first_past < run->ahead_span.first)
			run->ahead_span.first = first_past;
		if (!run->ahead || span.last > run->ahead_span.last)
			run->ahead_span.last = span.last;
		run->ahead = true;
		if (span.first > last_in_window)
			return true;
		span.last = last_in_window;
	}
	run->spans[run->nspans++] = span;
	return true;
}

static int on_window(struct idt_bitmap *bm, uint64_t w_iova, uint64_t w_length, void *arg)
{
	struct run *run = arg;
	uint64_t w_last, first_bit, last_bit;
	bool next_window = false;

	if (++run->windows > MAX_WINDOWS)
		FAIL("more than %u windows for %" PRIu64 " bits", MAX_WINDOWS, bm->nbits);
	if (!w_length || w_iova < bm->iova || w_length - 1 > bm->last - w_iova)
		FAIL("window [0x%" PRIx64 ", +0x%" PRIx64 ") is not inside the range [0x%" PRIx64
		     ", 0x%" PRIx64 "]", w_iova, w_length, bm->iova, bm->last);
	w_last = w_iova + (w_length - 1);
	if ((w_iova - bm->iova) & ((1ull << bm->shift) - 1))
		FAIL("window at 0x%" PRIx64 " does not start on a page of the range at 0x%" PRIx64
		     " (shift %u)", w_iova, bm->iova, bm->shift);
	first_bit = (w_iova - bm->iova) >> bm->shift;
	last_bit = (w_last - bm->iova) >> bm->shift;
	if (first_bit % 8)
		FAIL("window starts at bit %" PRIu64 ", not on a byte", first_bit);
	if (last_bit - first_bit >= (uint64_t)run->pages_per_window * WINDOW_PAGE_SIZE * 8)
		FAIL("window of %" PRIu64 " bits exceeds %u pages", last_bit - first_bit + 1,
		     run->pages_per_window);
	if (w_last != bm->last && (last_bit + 1) % 8)
		FAIL("window ends at bit %" PRIu64 ", inside a byte, before the range's end",
		     last_bit);
	if (run->have_window && first_bit < run->next_bit)
		FAIL("window starts at bit %" PRIu64 ", before the previous window's end at %" PRIu64,
		     first_bit, run->next_bit);
	/* Bits between two windows are ones set-ahead filled (checked at the end). */
	if (first_bit > run->next_bit)
		run->skipped[run->nskipped++] = (struct bit_span){ run->next_bit, first_bit - 1 };
	run->have_window = true;
	run->next_bit = last_bit + 1;
	/* set-ahead is set by the time its bits' window is handed out */
	if (run->ahead && run->ahead_span.first <= last_bit) {
		struct bit_span set = run->ahead_span;

		if (set.last > last_bit)
			set.last = last_bit;
		run->spans[run->nspans++] = set;
		run->ahead = run->ahead_span.last > last_bit;
		run->ahead_span.first = last_bit + 1;
	}

	while (!next_window && make_record(run, w_iova, first_bit, last_bit, &next_window))
		;
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The reference, swept in bit order: a bit must be set when more spans have
 * started than ended at it.  Sorted span ends keep it linear without an
 * array per bit, and tell where the answer next changes.
 */
struct sweep {
	uint64_t starts[MAX_RECORDS + MAX_WINDOWS], ends[MAX_RECORDS + MAX_WINDOWS]; /* exclusive */
	size_t n, next_start, next_end;
};

static void sweep_init(struct sweep *sw, const struct run *run)
{
	sw->n = run->nspans;
	sw->next_start = sw->next_end = 0;
	for (size_t i = 0; i < sw->n; i++) {
		sw->starts[i] = run->spans[i].first;
		sw->ends[i] = run->spans[i].last + 1;
	}
	qsort(sw->starts, sw->n, sizeof(uint64_t), compare_u64);
	qsort(sw->ends, sw->n, sizeof(uint64_t), compare_u64);
}

/* Called with n never decreasing. */
static bool sweep_want(struct sweep *sw, uint64_t n)
{
	while (sw->next_start < sw->n && sw->starts[sw->next_start] <= n)
		sw->next_start++;
	while (sw->next_end < sw->n && sw->ends[sw->next_end] <= n)
		sw->next_end++;
	return sw->next_start > sw->next_end;
}

/* The first bit after the last sweep_want() where the answer may change. */
static uint64_t sweep_next_change(const struct sweep *sw)
{
	uint64_t next = UINT64_MAX;

	if (sw->next_start < sw->n)
		next = sw->starts[sw->next_start];
	if (sw->next_end < sw->n && sw->ends[sw->next_end] < next)
		next = sw->ends[sw->next_end];
	return next;
}

/* The bits of [first, last] that fall in the byte holding bits n0 .. n0 + 7. */
static uint8_t span_byte_mask(uint64_t n0, uint64_t first, uint64_t last)
{
	uint8_t mask = 0;

	for (unsigned int k = 0; k < 8; k++)
		if (n0 + k >= first && n0 + k <= last)
			mask |= (uint8_t)(1u << k);
	return mask;
}

static void check_guard(const uint8_t *guard, size_t len, const char *where)
{
	for (size_t i = 0; i < len; i++)
		if (guard[i] != GUARD_VALUE)
			FAIL("guard byte %zu %s the bitmap changed to 0x%02x", i, where, guard[i]);
}

static void check_init(const struct idt_bitmap *bm, int ret, uint64_t iova, uint64_t length,
		       uint64_t page_size)
{
	bool valid = length && (u128)iova + length <= (u128)UINT64_MAX + 1 && page_size &&
		     !(page_size & (page_size - 1));
	u128 nbits, bytes;

	if (ret != (valid ? 0 : -EINVAL))
		FAIL("init(0x%" PRIx64 ", 0x%" PRIx64 ", page 0x%" PRIx64 ") = %d, expected %d",
		     iova, length, page_size, ret, valid ? 0 : -EINVAL);
	if (!valid)
		return;
	nbits = ((u128)length + page_size - 1) / page_size;
	bytes = (nbits + 7) / 8;
	if (bm->iova != iova || bm->last != iova + (length - 1) || bm->nbits != nbits ||
	    idt_bitmap_bytes(bm) != bytes || (1ull << bm->shift) != page_size)
		FAIL("init(0x%" PRIx64 ", 0x%" PRIx64 ", page 0x%" PRIx64 "): iova 0x%" PRIx64
		     " last 0x%" PRIx64 " nbits %" PRIu64 " bytes %" PRIu64 " shift %u, expected nbits "
		     "%" PRIu64 " bytes %" PRIu64, iova, length, page_size, bm->iova, bm->last,
		     bm->nbits, idt_bitmap_bytes(bm), bm->shift, (uint64_t)nbits, (uint64_t)bytes);
}

/*
 * Byte by byte: fill | the reference, with the bits of a byte computed one
 * by one only where the reference changes inside it.  The padding bits
 * past nbits must keep fill, and every bit no window was handed must be one
 * a record set.
 */
static void check_bits(const struct run *run, const uint8_t *data, uint8_t fill)
{
	const struct idt_bitmap *bm = &run->bitmap;
	uint64_t bytes = idt_bitmap_bytes(bm);
	struct sweep sw;
	size_t skip = 0;
	bool last_set;

	sweep_init(&sw, run);
	for (uint64_t byte = 0; byte < bytes; byte++) {
		uint64_t n0 = byte * 8;
		uint8_t want = sweep_want(&sw, n0) ? 0xff : 0, skipped = 0, diff;

		if (sweep_next_change(&sw) <= n0 + 7)
			for (unsigned int k = 0; k < 8; k++)
				want = sweep_want(&sw, n0 + k) ? want | (1u << k) : want & ~(1u << k);
		if (bm->nbits - n0 < 8)
			want &= (uint8_t)((1u << (bm->nbits - n0)) - 1);
		diff = data[byte] ^ (fill | want);
		if (diff) {
			uint64_t n = n0 + (unsigned int)__builtin_ctz(diff);

			if (n >= bm->nbits)
				FAIL("padding bit %" PRIu64 " past nbits %" PRIu64 " changed", n,
				     bm->nbits);
			FAIL("bit %" PRIu64 " (iova 0x%" PRIx64 ") is %d, expected %d", n,
			     bm->iova + (n << bm->shift), (data[byte] >> (n - n0)) & 1,
			     !((data[byte] >> (n - n0)) & 1));
		}
		/* skipped spans are in bit order, as the windows are */
		for (size_t i = skip; i < run->nskipped && run->skipped[i].first <= n0 + 7; i++)
			skipped |= span_byte_mask(n0, run->skipped[i].first, run->skipped[i].last);
		while (skip < run->nskipped && run->skipped[skip].last <= n0 + 7)
			skip++;
		if (skipped & ~want)
			FAIL("bit %" PRIu64 " was handed to no window, yet nothing recorded it",
			     n0 + (unsigned int)__builtin_ctz(skipped & ~want));
	}
	last_set = (data[(bm->nbits - 1) / 8] >> ((bm->nbits - 1) % 8)) & 1;
	if (idt_bitmap_test(bm, bm->nbits) || idt_bitmap_test(bm, bm->nbits - 1) != last_set)
		FAIL("idt_bitmap_test disagrees with the bytes at the end of the bitmap");
}

static void check_gather(const struct run *run)
{
	if (!run->any_record) {
		if (!idt_gather_empty(&run->gather))
			FAIL("gather [0x%" PRIx64 ", 0x%" PRIx64 "] after no record", run->gather.start,
			     run->gather.last);
		return;
	}
	if (run->gather.start != run->gather_start || run->gather.last != run->gather_last)
		FAIL("gather [0x%" PRIx64 ", 0x%" PRIx64 "], expected [0x%" PRIx64 ", 0x%" PRIx64 "]",
		     run->gather.start, run->gather.last, run->gather_start, run->gather_last);
}

/* Runs the walk and checks what only a walk has: its result and its stats. */
static void walk_windows(struct run *run)
{
	struct idt_bitmap_window_stats stats;
	uint64_t nbits = run->bitmap.nbits;
	int ret = idt_bitmap_for_each_window(&run->bitmap, run->pages_per_window, on_window, run,
					     &stats);

	if (!run->pages_per_window) {
		if (ret != -EINVAL || run->windows)
			FAIL("a walk with 0 pages per window returned %d after %" PRIu64 " windows", ret,
			     run->windows);
		return;
	}
	if (ret)
		FAIL("walk returned %d", ret);
	if (run->bitmap.window)
		FAIL("the walk left its window on the bitmap");
	if (stats.windows != run->windows || stats.max_pages > run->pages_per_window ||
	    !run->windows)
		FAIL("stats: %" PRIu64 " windows, max %" PRIu64 " pages; fn saw %" PRIu64
		     " windows, %u pages allowed", stats.windows, stats.max_pages, run->windows,
		     run->pages_per_window);
	if (run->next_bit < nbits)
		run->skipped[run->nskipped++] = (struct bit_span){ run->next_bit, nbits - 1 };
	/* set-ahead that consumed every window after the last one handed out */
	if (run->ahead)
		run->spans[run->nspans++] = run->ahead_span;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *run = calloc(1, sizeof(*run));
	unsigned int flags, shift;
	uint64_t iova, length, page_size, bytes, offset, lead;
	uint8_t fill, *block, *bits;
	size_t block_size;
	int ret;

	if (!run)
		FAIL("out of memory");
	run->in = (struct reader){ data, size, 0 };
	flags = (unsigned int)read_le(&run->in, 1);
	shift = (unsigned int)read_le(&run->in, 1) % 64;
	offset = read_le(&run->in, 2) % WINDOW_PAGE_SIZE;
	run->pages_per_window = (unsigned int)read_le(&run->in, 1) % 9;
	fill = (uint8_t)read_le(&run->in, 1);
	read_le(&run->in, 2);
	iova = read_le(&run->in, 8);
	length = read_le(&run->in, 8);
	page_size = read_le(&run->in, 8);
	if (!(flags & FLAG_VERBATIM)) {
		/* at most MAX_BITS pages, not past 2^64 */
		u128 room = (u128)UINT64_MAX + 1 - iova;
		u128 max_length = (u128)MAX_BITS << shift;

		page_size = 1ull << shift;
		if (max_length > room)
			max_length = room;
		length = (uint64_t)(1 + length % max_length);
	}

	ret = idt_bitmap_init(&run->bitmap, iova, length, page_size, NULL);
	check_init(&run->bitmap, ret, iova, length, page_size);
	if (ret || run->bitmap.nbits > MAX_BITS) {
		free(run);
		return 0;
	}

	/* [guard][data ... bytes][guard] from a 4 KiB boundary, data at offset
	 * in its page after at least GUARD_BYTES; the allocation ends with the
	 * trailing guard, so ASan also sees past it. */
	bytes = idt_bitmap_bytes(&run->bitmap);
	lead = offset >= GUARD_BYTES ? offset : offset + WINDOW_PAGE_SIZE;
	block_size = lead + bytes + GUARD_BYTES;
	if (posix_memalign((void **)&block, WINDOW_PAGE_SIZE, block_size))
		FAIL("out of memory");
	bits = block + lead;
	memset(block, GUARD_VALUE, block_size);
	memset(bits, fill, bytes);
	ASAN_POISON_MEMORY_REGION(block, lead);
	ASAN_POISON_MEMORY_REGION(bits + bytes, GUARD_BYTES);
	/* init again with the buffer: the geometry was checked with NULL data */
	if (idt_bitmap_init(&run->bitmap, iova, length, page_size, bits))
		FAIL("init with data failed after init without");
	run->bitmap.atomic = flags & FLAG_ATOMIC;
	idt_gather_init(&run->gather);
	run->records_left = MAX_RECORDS;

	if (flags & FLAG_WINDOWED) {
		walk_windows(run);
	} else {
		bool unused;

		while (make_record(run, iova, 0, UINT64_MAX, &unused))
			;
	}

	ASAN_UNPOISON_MEMORY_REGION(block, block_size);
	check_guard(block, lead, "before");
	check_guard(bits + bytes, GUARD_BYTES, "after");
	check_bits(run, bits, fill);
	check_gather(run);
	free(block);
	free(run);
	return 0;
}
