/* SPDX-License-Identifier: MIT */
/*
 * Recorder-level tests of the dirty bitmap and the gather: the BM scenarios
 * of test-cases.md (their ABI and mock variants live with the ABI tests),
 * PT-11a, and the BM-03b fuzzer.
 *
 * Windowed walks record the way a page-table walk of each window would: the
 * window callback records every dirty range that meets the window, starting
 * at the window's first IOVA.  Ranges outside every window are not recorded.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "iodirty/bitmap.h"

#define SZ_2K 0x800ull
#define SZ_4K 0x1000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull
#define BIT64(n) (1ull << (n))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The unit of the recorder's windows, and of the spec's "data offset". */
#define BITMAP_PAGE 4096u
#define GUARD_BYTE 0xAA
#define GUARD_LEN 64u
#define GUARD_BEFORE 8u         /* guard bytes before the small in-stack bitmaps */
#define MOCK_APERTURE_START (16 * SZ_1M)

/* ---------------------------------------------------------------------------
 * Guarded buffers (test-cases.md, "Guard bytes")
 */

static size_t host_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t round_up(size_t value, size_t align)
{
	return (value + align - 1) / align * align;
}

/*
 * A bitmap placed page_offset bytes into a page: one page of guard bytes
 * before it, guard bytes after it up to the next page boundary, then a
 * PROT_NONE page.  The bitmap starts zeroed.
 */
struct guarded {
	uint8_t *map;
	size_t rw_size;
	uint8_t *data;
	size_t bytes;
};

static void guarded_alloc(struct guarded *buf, size_t bytes, size_t page_offset)
{
	size_t page = host_page_size();

	buf->rw_size = page + round_up(page_offset + bytes, page);
	buf->map = mmap(NULL, buf->rw_size + page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf->map != MAP_FAILED);
	assert_int_equal(mprotect(buf->map + buf->rw_size, page, PROT_NONE), 0);
	memset(buf->map, GUARD_BYTE, buf->rw_size);
	buf->data = buf->map + page + page_offset;
	buf->bytes = bytes;
	memset(buf->data, 0, bytes);
}

/* Same, with the bitmap's last byte right before the PROT_NONE page. */
static void guarded_alloc_at_end(struct guarded *buf, size_t bytes)
{
	size_t page = host_page_size();

	guarded_alloc(buf, bytes, (page - bytes % page) % page);
}

static void expect_guard(const uint8_t *bytes, size_t len, const char *where)
{
	for (size_t i = 0; i < len; i++)
		if (bytes[i] != GUARD_BYTE)
			fail_msg("guard byte %zu %s the bitmap is 0x%02x", i, where, bytes[i]);
}

static void guarded_check_and_free(struct guarded *buf)
{
	uint8_t *end = buf->data + buf->bytes;

	expect_guard(buf->map, (size_t)(buf->data - buf->map), "before");
	expect_guard(end, (size_t)(buf->map + buf->rw_size - end), "after");
	assert_int_equal(munmap(buf->map, buf->rw_size + host_page_size()), 0);
}

/* ---------------------------------------------------------------------------
 * Expected contents: a plain bit array, set one bit at a time
 */

struct bit_run {
	uint64_t first, last;   /* inclusive */
};

static void reference_set(uint8_t *reference, uint64_t first, uint64_t last)
{
	for (uint64_t n = first; n <= last; n++)
		reference[n / 8] |= (uint8_t)(1u << (n % 8));
}

/* The bitmap holds `fill` in every byte, OR exactly the given runs. */
static void expect_bits(const uint8_t *data, size_t bytes, uint8_t fill,
			const struct bit_run *runs, size_t nruns)
{
	uint8_t *reference = malloc(bytes);

	assert_non_null(reference);
	memset(reference, fill, bytes);
	for (size_t i = 0; i < nruns; i++)
		reference_set(reference, runs[i].first, runs[i].last);
	for (size_t i = 0; i < bytes; i++)
		if (data[i] != reference[i]) {
			uint8_t want = reference[i];

			free(reference);
			fail_msg("bitmap byte %zu is 0x%02x, expected 0x%02x", i, data[i], want);
		}
	free(reference);
}

/* ---------------------------------------------------------------------------
 * Recording: directly, or from the callback of a windowed walk
 */

struct dirty_range {
	uint64_t iova, length;
};

/* Last IOVA of a non-empty range, clipped at 2^64 - 1 like the recorder. */
static uint64_t dirty_range_last(const struct dirty_range *range)
{
	if (range->length - 1 > UINT64_MAX - range->iova)
		return UINT64_MAX;
	return range->iova + (range->length - 1);
}

/*
 * What the window callback does and saw.  With record_once, a range is
 * recorded by the first window that meets it only, as a dirty leaf that the
 * walk cleans; otherwise by every window that meets it.
 */
struct walk {
	const struct dirty_range *ranges;
	size_t nranges;                 /* at most 32 */
	bool record_once;
	uint32_t recorded;              /* bit i: ranges[i] was recorded */
	unsigned int records;           /* idt_bitmap_record() calls made */
	unsigned int fail_at_window;    /* 1-based window to fail with -EIO; 0 never */
	uint64_t windows;
	uint64_t next_iova;             /* just past the previous window */
	bool gap;                       /* a window did not start where the previous ended */
	bool reached_end;               /* a window ended at the range's last IOVA */
	const char *error;              /* first inconsistency seen, if any */
};

static int walk_window(struct idt_bitmap *bitmap, uint64_t w_iova, uint64_t w_length, void *arg)
{
	struct walk *walk = arg;
	uint64_t w_last = w_iova + (w_length - 1);

	if (!w_length || w_length - 1 > UINT64_MAX - w_iova || w_last > bitmap->last)
		walk->error = "window runs past the range";
	else if (walk->windows == 0 && w_iova != bitmap->iova)
		walk->error = "first window does not start at iova";
	else if (walk->windows && (walk->reached_end || w_iova < walk->next_iova))
		walk->error = "windows overlap or go backwards";
	if (walk->windows && w_iova != walk->next_iova)
		walk->gap = true;
	walk->windows++;
	walk->next_iova = w_last + 1;
	walk->reached_end = w_last == bitmap->last;

	for (size_t i = 0; i < walk->nranges; i++) {
		const struct dirty_range *range = &walk->ranges[i];
		uint64_t skip;

		if (!range->length || dirty_range_last(range) < w_iova || range->iova > w_last)
			continue;
		if (walk->record_once && (walk->recorded & (1u << i)))
			continue;
		/* The walk starts at the window: earlier windows recorded the part before it. */
		skip = range->iova < w_iova ? w_iova - range->iova : 0;
		idt_bitmap_record(bitmap, range->iova + skip, range->length - skip);
		walk->recorded |= 1u << i;
		walk->records++;
	}
	return walk->windows == walk->fail_at_window ? -EIO : 0;
}

/*
 * Records the ranges directly (pages_per_window 0) or through a windowed
 * walk, and checks that the walk was consistent.
 */
static void record_ranges_walk(struct idt_bitmap *bitmap, const struct dirty_range *ranges,
			       size_t nranges, unsigned int pages_per_window, bool record_once,
			       struct walk *walk, struct idt_bitmap_window_stats *stats)
{
	*walk = (struct walk){ .ranges = ranges, .nranges = nranges, .record_once = record_once };
	*stats = (struct idt_bitmap_window_stats){ 0 };
	if (!pages_per_window) {
		for (size_t i = 0; i < nranges; i++)
			idt_bitmap_record(bitmap, ranges[i].iova, ranges[i].length);
		return;
	}
	assert_int_equal(idt_bitmap_for_each_window(bitmap, pages_per_window, walk_window,
						    walk, stats), 0);
	assert_null(bitmap->window);
	if (walk->error)
		fail_msg("%s", walk->error);
	assert_int_equal(stats->windows, walk->windows);
	assert_true(stats->max_pages <= pages_per_window);
	/* Fix 4: without set-ahead the windows tile the whole range. */
	if (!stats->set_ahead_runs) {
		assert_false(walk->gap);
		assert_true(walk->reached_end);
	}
}

static void record_ranges(struct idt_bitmap *bitmap, const struct dirty_range *ranges,
			  size_t nranges, unsigned int pages_per_window,
			  struct walk *walk, struct idt_bitmap_window_stats *stats)
{
	record_ranges_walk(bitmap, ranges, nranges, pages_per_window, false, walk, stats);
}

/* Every mode a scenario runs in: direct, and windowed with few or many pages. */
static const unsigned int every_mode[] = { 0, 1, 2, 512 };

/* ---------------------------------------------------------------------------
 * idt_bitmap_init
 */

static void test_init_ranges(void **state)
{
	struct idt_bitmap bitmap;

	(void)state;
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 0, SZ_4K, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_init(&bitmap, 2, UINT64_MAX, SZ_4K, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_init(&bitmap, BIT64(63) + 1, BIT64(63), SZ_4K, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_init(&bitmap, UINT64_MAX, 2, 1, NULL), -EINVAL);

	/* length may be exactly 2^64 - iova. */
	assert_int_equal(idt_bitmap_init(&bitmap, 1, UINT64_MAX, SZ_4K, NULL), 0);
	assert_int_equal(bitmap.last, UINT64_MAX);
	assert_int_equal(idt_bitmap_init(&bitmap, BIT64(63), BIT64(63), SZ_4K, NULL), 0);
	assert_int_equal(bitmap.iova, BIT64(63));
	assert_int_equal(bitmap.last, UINT64_MAX);
	assert_int_equal(bitmap.nbits, BIT64(51));
	assert_int_equal(bitmap.shift, 12);
	assert_false(bitmap.atomic);
	assert_null(bitmap.window);

	assert_int_equal(idt_bitmap_init(&bitmap, UINT64_MAX, 1, SZ_4K, NULL), 0);
	assert_int_equal(bitmap.nbits, 1);
	assert_int_equal(idt_bitmap_bytes(&bitmap), 1);

	/* The most bits there can be: no clamp, and the byte count does not overflow. */
	assert_int_equal(idt_bitmap_init(&bitmap, 0, UINT64_MAX, 1, NULL), 0);
	assert_int_equal(bitmap.nbits, UINT64_MAX);
	assert_int_equal(idt_bitmap_bytes(&bitmap), BIT64(61));

	assert_int_equal(idt_bitmap_init(&bitmap, 0, UINT64_MAX, BIT64(63), NULL), 0);
	assert_int_equal(bitmap.nbits, 2);
	assert_int_equal(bitmap.shift, 63);

	/* nbits = ((length - 1) >> shift) + 1: a partial last page still counts. */
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 9 * SZ_4K + 1, SZ_4K, NULL), 0);
	assert_int_equal(bitmap.nbits, 10);
	assert_int_equal(idt_bitmap_bytes(&bitmap), 2);
}

/* BM-14: page_size 0 or not a power of two is refused (the ABI normalises it first). */
static void test_bm14_page_size_not_power_of_two(void **state)
{
	struct idt_bitmap bitmap = { .iova = 0x5a5a };

	(void)state;
	assert_int_equal(idt_bitmap_init(&bitmap, 0x4000000, 0x4000, 0x3000, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_init(&bitmap, 0x4000000, 0x4000, 0, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_init(&bitmap, 0x4000000, 0x4000, 3, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_init(&bitmap, 0x4000000, 0x4000, UINT64_MAX, NULL), -EINVAL);
	/* A refused init leaves the bitmap alone. */
	assert_int_equal(bitmap.iova, 0x5a5a);

	assert_int_equal(idt_bitmap_init(&bitmap, 0x4000000, 0x4000, 0x1000, NULL), 0);
	assert_int_equal(bitmap.nbits, 4);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 1, 1, NULL), 0);
	assert_int_equal(bitmap.shift, 0);
}

/* ---------------------------------------------------------------------------
 * The bit setter, exhaustively on small bitmaps
 */

/*
 * Records bits first..last of an nbits bitmap at data_offset into a buffer of
 * guard bytes, over a pre-filled 0x42 pattern, and compares every byte.
 */
static void expect_record(uint64_t nbits, size_t data_offset, uint64_t first, uint64_t last,
			  bool atomic)
{
	uint8_t buffer[32], reference[sizeof(buffer)];
	uint8_t *data = buffer + GUARD_BEFORE + data_offset;
	struct idt_bitmap bitmap;

	memset(buffer, GUARD_BYTE, sizeof(buffer));
	memset(data, 0x42, (size_t)(nbits + 7) / 8);
	memcpy(reference, buffer, sizeof(buffer));
	reference_set(reference + GUARD_BEFORE + data_offset, first, last);

	assert_int_equal(idt_bitmap_init(&bitmap, SZ_1M, nbits * SZ_4K, SZ_4K, data), 0);
	bitmap.atomic = atomic;
	idt_bitmap_record(&bitmap, SZ_1M + first * SZ_4K, (last - first + 1) * SZ_4K);
	assert_memory_equal(buffer, reference, sizeof(buffer));
}

/* Every first and last bit of bitmaps of 1 to 40 bits, at several alignments. */
static void test_record_every_first_last(void **state)
{
	static const size_t offsets[] = { 0, 1, 3, 7 };

	(void)state;
	for (uint64_t nbits = 1; nbits <= 40; nbits++)
		for (size_t o = 0; o < ARRAY_SIZE(offsets); o++)
			for (uint64_t first = 0; first < nbits; first++)
				for (uint64_t last = first; last < nbits; last++) {
					expect_record(nbits, offsets[o], first, last, false);
					expect_record(nbits, offsets[o], first, last, true);
				}
}

/* ---------------------------------------------------------------------------
 * BM-01 .. BM-10
 */

/* BM-01, fix 1: data = page + 0x800; bits land at data + n / 8 whatever the alignment. */
static void bm01_run(unsigned int pages_per_window)
{
	static const struct dirty_range ranges[] = {
		{ 0, SZ_4K }, { 32 * SZ_1M, SZ_4K }, { 64 * SZ_1M - SZ_4K, SZ_4K },
	};
	static const struct bit_run runs[] = { { 0, 0 }, { 8192, 8192 }, { 16383, 16383 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	guarded_alloc(&buf, 2048, 0x800);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 64 * SZ_1M, SZ_4K, buf.data), 0);
	assert_int_equal(idt_bitmap_bytes(&bitmap), 2048);
	record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), pages_per_window, &walk, &stats);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	assert_int_equal(buf.data[0], 0x01);
	assert_int_equal(buf.data[1024], 0x01);
	assert_int_equal(buf.data[2047], 0x80);
	if (pages_per_window)
		/* 0x800 bytes left in data's page hold the whole bitmap: one window. */
		assert_int_equal(stats.windows, 1);
	guarded_check_and_free(&buf);
}

static void test_bm01_unaligned_direct(void **state)
{
	(void)state;
	bm01_run(0);
}

static void test_bm01_unaligned_windowed(void **state)
{
	(void)state;
	bm01_run(1);
}

/* BM-01 with a window boundary that pgoff moves to 64 MiB: both sides of it. */
static void test_bm01_window_boundary_moved_by_pgoff(void **state)
{
	static const struct dirty_range ranges[] = {
		{ 64 * SZ_1M - SZ_4K, SZ_4K }, { 64 * SZ_1M, SZ_4K },
	};
	static const struct bit_run runs[] = { { 16383, 16384 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	(void)state;
	guarded_alloc(&buf, 4096, 0x800);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 128 * SZ_1M, SZ_4K, buf.data), 0);
	record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), 1, &walk, &stats);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	assert_int_equal(stats.windows, 2);
	assert_int_equal(walk.records, 2);
	guarded_check_and_free(&buf);
}

/* BM-02, fix 2: one record whose bits straddle the first bitmap page boundary. */
static void test_bm02_record_across_bitmap_page(void **state)
{
	static const struct dirty_range ranges[] = { { 32512 * SZ_4K, SZ_2M } };
	static const struct bit_run runs[] = { { 32512, 33023 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	(void)state;
	assert_int_equal(32512 * SZ_4K, 0x7F00000);
	for (size_t m = 0; m < ARRAY_SIZE(every_mode); m++) {
		guarded_alloc(&buf, 262144, 0);
		assert_int_equal(idt_bitmap_init(&bitmap, 0, 8 * SZ_1G, SZ_4K, buf.data), 0);
		record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), every_mode[m], &walk, &stats);
		expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
		if (every_mode[m] == 512) {
			assert_int_equal(stats.windows, 1);
			assert_int_equal(stats.max_pages, 64);
		}
		guarded_check_and_free(&buf);
	}
}

/*
 * BM-03a, fixes 3 and 5: a 1 GiB record from bit 32,000 with one page
 * (32,768 bits) per window.  In a 1 GiB range it is clipped and set-ahead
 * fills the 7 remaining windows; in a 2 GiB range set-ahead fills 7 windows
 * and 32,000 bits of an eighth, then the walk resumes.
 */
static void bm03a_run(uint64_t range_length, uint64_t expected_windows,
		      uint64_t expected_set_ahead_runs)
{
	static const struct dirty_range ranges[] = { { 32000 * SZ_4K, SZ_1G } };
	uint64_t nbits = range_length / SZ_4K;
	struct bit_run run = { 32000, 32000 + 262143 };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	if (run.last > nbits - 1)
		run.last = nbits - 1;
	guarded_alloc(&buf, nbits / 8, 0);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, range_length, SZ_4K, buf.data), 0);
	record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), 1, &walk, &stats);
	expect_bits(buf.data, buf.bytes, 0, &run, 1);
	assert_int_equal(stats.windows, expected_windows);
	assert_int_equal(stats.set_ahead_runs, expected_set_ahead_runs);
	assert_int_equal(stats.max_pages, 1);
	assert_int_equal(walk.records, 1);
	guarded_check_and_free(&buf);
}

static void test_bm03a_huge_record_beyond_pinned_pages(void **state)
{
	(void)state;
	bm03a_run(SZ_1G, 1, 7);
	bm03a_run(2 * SZ_1G, 9, 8);
}

/* BM-04, fix 4: data at +1..+7 and +0xFF1, tiny bitmaps, first and last bit. */
static void test_bm04_unaligned_small_bitmaps(void **state)
{
	static const size_t offsets[] = { 1, 2, 3, 4, 5, 6, 7, 0xFF1 };
	static const uint64_t sizes[] = { 4, 8, 32, 64, 160, 9, 65 };
	static const unsigned int modes[] = { 0, 1 };

	(void)state;
	for (size_t o = 0; o < ARRAY_SIZE(offsets); o++)
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
			for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
				uint64_t nbits = sizes[s];
				const struct dirty_range ranges[] = {
					{ MOCK_APERTURE_START, SZ_2K },
					{ MOCK_APERTURE_START + (nbits - 1) * SZ_2K, SZ_2K },
				};
				const struct bit_run runs[] = { { 0, 0 }, { nbits - 1, nbits - 1 } };
				struct idt_bitmap_window_stats stats;
				struct idt_bitmap bitmap;
				struct guarded buf;
				struct walk walk;

				guarded_alloc(&buf, (nbits + 7) / 8, offsets[o]);
				assert_int_equal(idt_bitmap_init(&bitmap, MOCK_APERTURE_START,
								 nbits * SZ_2K, SZ_2K, buf.data), 0);
				record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), modes[m],
					      &walk, &stats);
				expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
				assert_true(idt_bitmap_test(&bitmap, 0));
				assert_true(idt_bitmap_test(&bitmap, nbits - 1));
				if (modes[m])
					assert_int_equal(walk.records, 2);
				guarded_check_and_free(&buf);
			}
}

/*
 * BM-05, fix 5: data = page + 0x810, so the first window ends at 63.5 MiB,
 * inside the dirty 2 MiB leaf [62 MiB, 64 MiB).  The leaf is recorded (and
 * cleaned) once, by the first window; set-ahead carries its last 128 bits.
 */
static void test_bm05_leaf_across_window_boundary(void **state)
{
	static const struct dirty_range ranges[] = { { 62 * SZ_1M, SZ_2M } };
	static const struct bit_run runs[] = { { 15872, 16383 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	(void)state;
	guarded_alloc(&buf, 8192, 0x810);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 256 * SZ_1M, SZ_4K, buf.data), 0);
	record_ranges_walk(&bitmap, ranges, ARRAY_SIZE(ranges), 1, true, &walk, &stats);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	assert_int_equal(walk.records, 1);
	assert_int_equal(stats.set_ahead_runs, 1);
	/* [0, 63.5 MiB), set-ahead to 64 MiB, then [64 MiB, ...) at pgoff 16, then the rest. */
	assert_int_equal(stats.windows, 3);
	guarded_check_and_free(&buf);
}

/* BM-06, fix 6: 98,272 bytes at page + 0x40 need 25 pages, in one window. */
static void test_bm06_pgoff_needs_one_more_page(void **state)
{
	static const struct dirty_range ranges[] = { { 3 * SZ_1G - SZ_4K, SZ_4K } };
	static const struct bit_run runs[] = { { 786175, 786175 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	(void)state;
	guarded_alloc(&buf, 98272, 0x40);
	assert_int_equal(idt_bitmap_init(&bitmap, SZ_1M, 3 * SZ_1G - SZ_1M, SZ_4K, buf.data), 0);
	assert_int_equal(bitmap.nbits, 786176);
	assert_int_equal(idt_bitmap_bytes(&bitmap), 98272);
	record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), 512, &walk, &stats);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	assert_int_equal(stats.windows, 1);
	assert_int_equal(stats.max_pages, 25);
	guarded_check_and_free(&buf);
}

/*
 * BM-07, fix 7: like BM-05 over [0, 64 MiB): set-ahead reaches the end of
 * the 2,048-byte bitmap, and the walk ends without another window.  The
 * bitmap ends at page + 0x1010; guard bytes follow up to the next page,
 * which is PROT_NONE.
 */
static void test_bm07_set_ahead_reaches_end(void **state)
{
	static const struct dirty_range ranges[] = { { 62 * SZ_1M, SZ_2M } };
	static const struct bit_run runs[] = { { 15872, 16383 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	struct walk walk;

	(void)state;
	guarded_alloc(&buf, 2048, 0x810);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 64 * SZ_1M, SZ_4K, buf.data), 0);
	record_ranges_walk(&bitmap, ranges, ARRAY_SIZE(ranges), 1, true, &walk, &stats);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	assert_int_equal(stats.windows, 1);
	assert_int_equal(stats.set_ahead_runs, 1);
	assert_int_equal(walk.records, 1);
	guarded_check_and_free(&buf);
}

/* One record that must set exactly expected_bit of a guarded bitmap, in every mode. */
static void expect_single_bit(uint64_t iova, uint64_t length, uint64_t page_size,
			      uint64_t record_iova, uint64_t record_length,
			      uint64_t expected_nbits, uint64_t expected_bit)
{
	const struct dirty_range ranges[] = { { record_iova, record_length } };
	const struct bit_run run = { expected_bit, expected_bit };

	for (size_t m = 0; m < ARRAY_SIZE(every_mode); m++) {
		struct idt_bitmap_window_stats stats;
		struct idt_bitmap bitmap;
		struct guarded buf;
		struct walk walk;

		guarded_alloc(&buf, (expected_nbits + 7) / 8, 0xFF1);
		assert_int_equal(idt_bitmap_init(&bitmap, iova, length, page_size, buf.data), 0);
		assert_int_equal(bitmap.nbits, expected_nbits);
		record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), every_mode[m], &walk, &stats);
		expect_bits(buf.data, buf.bytes, 0, &run, 1);
		guarded_check_and_free(&buf);
	}
}

/* BM-08, fix 8: page sizes of 2^31 and more need 64-bit shifts. */
static void test_bm08_huge_page_size(void **state)
{
	static const unsigned int shifts[] = { 31, 32, 40 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(shifts); i++) {
		uint64_t page_size = BIT64(shifts[i]);

		expect_single_bit(0, 8 * page_size, page_size, 3 * page_size + 5, 1, 8, 3);
	}
	expect_single_bit(0, BIT64(63), BIT64(62), BIT64(62) + 5, 1, 2, 1);
}

/* BM-09, fix 9: page_size 2^63, where bits_per_word * page_size would be 0. */
static void test_bm09_page_size_2_63(void **state)
{
	(void)state;
	expect_single_bit(0, BIT64(63), BIT64(63), BIT64(63) - SZ_4K, SZ_4K, 1, 0);
	expect_single_bit(BIT64(63), BIT64(63), BIT64(63), BIT64(63) + 5, 1, 1, 0);
	/* Nearly all of the address space: [0, 2^64 - 2], two bits, the second at its end. */
	expect_single_bit(0, UINT64_MAX, BIT64(63), UINT64_MAX - 1, 1, 2, 1);
}

/* BM-10: bit n is relative to iova, not to iova's alignment. */
static void test_bm10_index_relative_to_iova(void **state)
{
	uint64_t iova = MOCK_APERTURE_START + 3 * SZ_2K;

	(void)state;
	expect_single_bit(iova, 64 * SZ_2K, SZ_2K, iova + 5 * SZ_2K, SZ_2K, 64, 5);
}

/* ---------------------------------------------------------------------------
 * BM-12, BM-13: partial bytes and the set-only rule
 */

/* BM-12: bitmaps of one byte or less keep the bits past nbits. */
static void test_bm12_sub_byte_bitmaps(void **state)
{
	static const struct {
		uint64_t buffer;        /* IOVA length, at 2 KiB per bit */
		uint8_t fill, expected;
	} cases[] = {
		{ 8 * 1024, 0xF0, 0xF5 },
		{ 16 * 1024, 0x00, 0x05 },
		{ 2 * 1024, 0xF0, 0xF1 },      /* one bit: the record of bit 2 is clipped */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		for (size_t m = 0; m < ARRAY_SIZE(every_mode); m++) {
			const struct dirty_range ranges[] = {
				{ MOCK_APERTURE_START, SZ_2K },
				{ MOCK_APERTURE_START + 2 * SZ_2K, SZ_2K },
			};
			struct idt_bitmap_window_stats stats;
			struct idt_bitmap bitmap;
			struct guarded buf;
			struct walk walk;

			guarded_alloc(&buf, 1, 0xFF1);
			buf.data[0] = cases[i].fill;
			assert_int_equal(idt_bitmap_init(&bitmap, MOCK_APERTURE_START,
							 cases[i].buffer, SZ_2K, buf.data), 0);
			assert_int_equal(idt_bitmap_bytes(&bitmap), 1);
			record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), every_mode[m],
				      &walk, &stats);
			assert_int_equal(buf.data[0], cases[i].expected);
			/* Bits past nbits do not exist, whatever the byte holds. */
			assert_false(idt_bitmap_test(&bitmap, bitmap.nbits));
			guarded_check_and_free(&buf);
		}
}

/* BM-13a: a pre-filled pattern (every even bit) is OR'd, never cleared. */
static void test_bm13a_only_sets_bits(void **state)
{
	static const struct dirty_range ranges[] = {
		{ SZ_1M + 1 * SZ_4K, 3 * SZ_4K },
		{ SZ_1M + 8 * SZ_4K, 16 * SZ_4K },
		{ SZ_1M + 40 * SZ_4K, 1 },
		{ SZ_1M + 63 * SZ_4K, SZ_4K },
	};
	static const struct bit_run runs[] = { { 1, 3 }, { 8, 23 }, { 40, 40 }, { 63, 63 } };

	(void)state;
	for (int atomic = 0; atomic < 2; atomic++)
		for (size_t m = 0; m < ARRAY_SIZE(every_mode); m++) {
			struct idt_bitmap_window_stats stats;
			struct idt_bitmap bitmap;
			struct guarded buf;
			struct walk walk;

			guarded_alloc(&buf, 8, 3);
			memset(buf.data, 0x55, buf.bytes);
			assert_int_equal(idt_bitmap_init(&bitmap, SZ_1M, 64 * SZ_4K, SZ_4K,
							 buf.data), 0);
			bitmap.atomic = atomic;
			record_ranges(&bitmap, ranges, ARRAY_SIZE(ranges), every_mode[m],
				      &walk, &stats);
			expect_bits(buf.data, buf.bytes, 0x55, runs, ARRAY_SIZE(runs));
			guarded_check_and_free(&buf);
		}
}

/* ---------------------------------------------------------------------------
 * Clipping: both ends of the range and of the address space
 */

/* A 256-bit bitmap over [iova, iova + 1 MiB) at 4 KiB, recorded in every mode. */
static void expect_clipped(uint64_t iova, const struct dirty_range *ranges, size_t nranges,
			   const struct bit_run *runs, size_t nruns)
{
	for (size_t m = 0; m < ARRAY_SIZE(every_mode); m++) {
		struct idt_bitmap_window_stats stats;
		struct idt_bitmap bitmap;
		struct guarded buf;
		struct walk walk;

		guarded_alloc_at_end(&buf, 32);
		assert_int_equal(idt_bitmap_init(&bitmap, iova, SZ_1M, SZ_4K, buf.data), 0);
		record_ranges(&bitmap, ranges, nranges, every_mode[m], &walk, &stats);
		expect_bits(buf.data, buf.bytes, 0, runs, nruns);
		guarded_check_and_free(&buf);
	}
}

static void test_record_clipped_at_both_ends(void **state)
{
	static const struct dirty_range before[] = { { 0, SZ_1M + 2 * SZ_4K } };
	static const struct bit_run before_runs[] = { { 0, 1 } };
	static const struct dirty_range after[] = { { 2 * SZ_1M - SZ_4K, SZ_1M } };
	static const struct bit_run after_runs[] = { { 255, 255 } };
	static const struct dirty_range unaligned[] = { { SZ_1M + SZ_4K - 1, 2 } };
	static const struct bit_run unaligned_runs[] = { { 0, 1 } };
	static const struct dirty_range outside[] = {
		{ 0, SZ_1M }, { 2 * SZ_1M, SZ_4K }, { SZ_1M - 1, 1 }, { 2 * SZ_1M, UINT64_MAX },
	};

	(void)state;
	expect_clipped(SZ_1M, before, ARRAY_SIZE(before), before_runs, ARRAY_SIZE(before_runs));
	expect_clipped(SZ_1M, after, ARRAY_SIZE(after), after_runs, ARRAY_SIZE(after_runs));
	expect_clipped(SZ_1M, unaligned, ARRAY_SIZE(unaligned), unaligned_runs,
		       ARRAY_SIZE(unaligned_runs));
	expect_clipped(SZ_1M, outside, ARRAY_SIZE(outside), NULL, 0);
}

/* A range ending at the last IOVA: iova 2^64 - 1 MiB, length 1 MiB. */
static void test_range_ends_at_last_iova(void **state)
{
	static const struct dirty_range ranges[] = {
		{ 0 - SZ_1M, SZ_4K }, { 0 - SZ_4K, SZ_4K },
	};
	static const struct bit_run runs[] = { { 0, 0 }, { 255, 255 } };
	static const struct dirty_range whole[] = { { 0 - SZ_1M, SZ_1M } };
	static const struct bit_run whole_runs[] = { { 0, 255 } };

	(void)state;
	expect_clipped(0 - SZ_1M, ranges, ARRAY_SIZE(ranges), runs, ARRAY_SIZE(runs));
	expect_clipped(0 - SZ_1M, whole, ARRAY_SIZE(whole), whole_runs, ARRAY_SIZE(whole_runs));
}

/* A record whose end would pass 2^64 stops at 2^64 - 1; it never wraps to 0. */
static void test_record_wraps_past_2_64(void **state)
{
	static const struct dirty_range top_two[] = { { 0 - 2 * SZ_4K, 4 * SZ_4K } };
	static const struct bit_run top_two_runs[] = { { 254, 255 } };
	static const struct dirty_range last_iova[] = { { UINT64_MAX, UINT64_MAX } };
	static const struct bit_run last_iova_runs[] = { { 255, 255 } };
	static const struct dirty_range from_below[] = { { 0 - SZ_1M - SZ_4K, UINT64_MAX } };
	static const struct bit_run from_below_runs[] = { { 0, 255 } };
	static const struct dirty_range no_wrap[] = { { 0 - SZ_4K, 2 * SZ_4K } };

	(void)state;
	expect_clipped(0 - SZ_1M, top_two, ARRAY_SIZE(top_two), top_two_runs,
		       ARRAY_SIZE(top_two_runs));
	expect_clipped(0 - SZ_1M, last_iova, ARRAY_SIZE(last_iova), last_iova_runs,
		       ARRAY_SIZE(last_iova_runs));
	expect_clipped(0 - SZ_1M, from_below, ARRAY_SIZE(from_below), from_below_runs,
		       ARRAY_SIZE(from_below_runs));
	/* At iova 0, a record at the top of the address space sets nothing at the bottom. */
	expect_clipped(0, no_wrap, ARRAY_SIZE(no_wrap), NULL, 0);
}

static void test_record_zero_length(void **state)
{
	static const struct dirty_range empty[] = {
		{ SZ_1M, 0 }, { SZ_1M + SZ_4K, 0 }, { UINT64_MAX, 0 }, { 0, 0 },
	};
	struct idt_bitmap bitmap;

	(void)state;
	expect_clipped(SZ_1M, empty, ARRAY_SIZE(empty), NULL, 0);
	/* Nothing is read or written: a NULL data pointer is fine. */
	assert_int_equal(idt_bitmap_init(&bitmap, SZ_1M, SZ_1M, SZ_4K, NULL), 0);
	idt_bitmap_record(&bitmap, SZ_1M, 0);
	idt_bitmap_record(&bitmap, 0, SZ_4K);
}

/* ---------------------------------------------------------------------------
 * The windowed walk's API
 */

static int nested_walk(struct idt_bitmap *bitmap, uint64_t w_iova, uint64_t w_length, void *arg)
{
	(void)w_iova;
	(void)w_length;
	*(int *)arg = idt_bitmap_for_each_window(bitmap, 1, nested_walk, arg, NULL);
	return 0;
}

static void test_window_errors(void **state)
{
	/* One record per window of a three-window walk (one page per window). */
	static const struct dirty_range ranges[] = {
		{ 0, SZ_4K }, { 128 * SZ_1M, SZ_4K }, { 256 * SZ_1M, SZ_4K },
	};
	static const struct bit_run runs[] = { { 0, 0 }, { 32768, 32768 } };
	struct walk walk = { .ranges = ranges, .nranges = ARRAY_SIZE(ranges), .fail_at_window = 2 };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	int nested_ret = 0;

	(void)state;
	guarded_alloc(&buf, 12288, 0);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 384 * SZ_1M, SZ_4K, buf.data), 0);
	assert_int_equal(idt_bitmap_for_each_window(&bitmap, 0, walk_window, &walk, NULL), -EINVAL);
	assert_int_equal(idt_bitmap_for_each_window(&bitmap, 1, NULL, &walk, NULL), -EINVAL);
	assert_int_equal(walk.windows, 0);

	/* fn's error stops the walk at the second window; what was set stays set. */
	assert_int_equal(idt_bitmap_for_each_window(&bitmap, 1, walk_window, &walk, &stats), -EIO);
	assert_null(bitmap.window);
	assert_int_equal(stats.windows, 2);
	assert_int_equal(walk.records, 2);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));

	/* One walk at a time per bitmap; stats may be NULL. */
	assert_int_equal(idt_bitmap_for_each_window(&bitmap, 4, nested_walk, &nested_ret, NULL), 0);
	assert_int_equal(nested_ret, -EINVAL);
	assert_null(bitmap.window);
	guarded_check_and_free(&buf);
}

/* Records (0, 300 MiB) from the second window only. */
static int record_from_before_window(struct idt_bitmap *bitmap, uint64_t w_iova,
				     uint64_t w_length, void *arg)
{
	unsigned int *window = arg;

	(void)w_iova;
	(void)w_length;
	if (++*window == 2)
		idt_bitmap_record(bitmap, 0, 300 * SZ_1M);
	return 0;
}

/*
 * A record made from a window but starting before it is clipped to the
 * window start: the bits before it are not pinned (project decision; Linux
 * 6.7 would compute a wrapped index).  What lies past the window is carried.
 */
static void test_window_record_before_window_start(void **state)
{
	static const struct bit_run runs[] = { { 32768, 300 * 256 - 1 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	unsigned int window = 0;

	(void)state;
	guarded_alloc(&buf, 12288, 0);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 384 * SZ_1M, SZ_4K, buf.data), 0);
	assert_int_equal(idt_bitmap_for_each_window(&bitmap, 1, record_from_before_window,
						    &window, &stats), 0);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	assert_int_equal(stats.windows, 3);
	assert_int_equal(stats.set_ahead_runs, 1);
	guarded_check_and_free(&buf);
}

/* From the first window only: a page past it, and a span across the next
 * window's end (bits 16383 and 40000..50000 of 256 MiB). */
static int record_past_window(struct idt_bitmap *bitmap, uint64_t w_iova, uint64_t w_length,
			      void *arg)
{
	unsigned int *window = arg;

	(void)w_iova;
	(void)w_length;
	if (++*window == 1) {
		idt_bitmap_record(bitmap, 16383ull * SZ_4K, SZ_4K);
		idt_bitmap_record(bitmap, 40000ull * SZ_4K, 10001ull * SZ_4K);
	}
	return 0;
}

/*
 * A record that starts past its window lands on its own bits once they are
 * pinned (a set-ahead length would have put it at the next window's first
 * bit and lost the page).  Two such records become one span: a superset.
 * data = page + 0x810: the first window holds bits 0..16255.
 */
static void test_window_record_past_window(void **state)
{
	static const struct bit_run runs[] = { { 16383, 50000 } };
	struct idt_bitmap_window_stats stats;
	struct idt_bitmap bitmap;
	struct guarded buf;
	unsigned int window = 0;

	(void)state;
	guarded_alloc(&buf, 8192, 0x810);
	assert_int_equal(idt_bitmap_init(&bitmap, 0, 256 * SZ_1M, SZ_4K, buf.data), 0);
	assert_int_equal(idt_bitmap_for_each_window(&bitmap, 1, record_past_window, &window,
						    &stats), 0);
	expect_bits(buf.data, buf.bytes, 0, runs, ARRAY_SIZE(runs));
	/* windows at bits 0, 16256 (handed out with 16383.. set) and 50000:
	 * set-ahead fills 49024..50000 of the third, which starts at its byte */
	assert_int_equal(stats.windows, 3);
	assert_int_equal(stats.set_ahead_runs, 1);
	guarded_check_and_free(&buf);
}

/* ---------------------------------------------------------------------------
 * Atomic mode: two harvesters setting interleaved bits of the same bytes
 */

/*
 * The harvesters go through the bitmap in lock step, 8 bytes per round, so
 * that both are inside the same bytes at the same time as often as possible.
 */
#define HARVEST_ROUND_BITS 64u
#define HARVEST_ROUNDS 32768u

struct harvester {
	struct idt_bitmap *bitmap;
	uint64_t *rounds_done;          /* per harvester, shared */
	unsigned int id;                /* 0 sets the even bits, 1 the odd ones */
};

static void *harvest_interleaved(void *arg)
{
	struct harvester *harvester = arg;
	struct idt_bitmap *bitmap = harvester->bitmap;
	uint64_t *other_done = &harvester->rounds_done[!harvester->id];

	for (uint64_t round = 0; round < HARVEST_ROUNDS; round++) {
		uint64_t first = round * HARVEST_ROUND_BITS;

		/* sched_yield keeps the wait short when threads are serialised (valgrind). */
		while (__atomic_load_n(other_done, __ATOMIC_ACQUIRE) < round)
			sched_yield();
		for (uint64_t n = first + harvester->id; n < first + HARVEST_ROUND_BITS; n += 2)
			idt_bitmap_record(bitmap, bitmap->iova + n * SZ_4K, SZ_4K);
		__atomic_store_n(&harvester->rounds_done[harvester->id], round + 1,
				 __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Two harvesters set interleaved single bits, so every byte is written by both. */
static void test_atomic_two_harvesters(void **state)
{
	static const struct bit_run all[] = { { 0, HARVEST_ROUNDS * HARVEST_ROUND_BITS - 1 } };
	uint64_t rounds_done[2] = { 0, 0 };
	struct harvester harvesters[2];
	pthread_t threads[2];
	struct idt_bitmap bitmap;
	struct guarded buf;

	(void)state;
	guarded_alloc(&buf, HARVEST_ROUNDS * HARVEST_ROUND_BITS / 8, 5);
	assert_int_equal(idt_bitmap_init(&bitmap, SZ_1G, HARVEST_ROUNDS * HARVEST_ROUND_BITS * SZ_4K,
					 SZ_4K, buf.data), 0);
	bitmap.atomic = true;
	for (unsigned int i = 0; i < 2; i++) {
		harvesters[i] = (struct harvester){ &bitmap, rounds_done, i };
		assert_int_equal(pthread_create(&threads[i], NULL, harvest_interleaved,
						&harvesters[i]), 0);
	}
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	expect_bits(buf.data, buf.bytes, 0, all, ARRAY_SIZE(all));
	assert_true(idt_bitmap_test(&bitmap, bitmap.nbits - 1));
	guarded_check_and_free(&buf);
}

/* ---------------------------------------------------------------------------
 * The gather
 */

static void test_gather(void **state)
{
	struct idt_gather gather;

	(void)state;
	idt_gather_init(&gather);
	assert_true(idt_gather_empty(&gather));
	idt_gather_add(&gather, SZ_1M, 0);
	assert_true(idt_gather_empty(&gather));

	idt_gather_add(&gather, 0x10000, SZ_4K);
	assert_false(idt_gather_empty(&gather));
	assert_int_equal(gather.start, 0x10000);
	assert_int_equal(gather.last, 0x10fff);
	idt_gather_add(&gather, 0x40000, 0x10);
	assert_int_equal(gather.start, 0x10000);
	assert_int_equal(gather.last, 0x4000f);
	idt_gather_add(&gather, 0x800, 1);
	assert_int_equal(gather.start, 0x800);
	assert_int_equal(gather.last, 0x4000f);
	/* Inside the gather: no change. */
	idt_gather_add(&gather, 0x20000, SZ_4K);
	assert_int_equal(gather.start, 0x800);
	assert_int_equal(gather.last, 0x4000f);

	/* PT-11a: the last 4 KiB of the address space, with no overflow. */
	idt_gather_init(&gather);
	idt_gather_add(&gather, 0 - SZ_4K, SZ_4K);
	assert_int_equal(gather.start, 0 - SZ_4K);
	assert_int_equal(gather.last, UINT64_MAX);
	assert_int_equal(gather.last - gather.start + 1, SZ_4K);

	/* An end past 2^64 is clipped, never wrapped. */
	idt_gather_init(&gather);
	idt_gather_add(&gather, UINT64_MAX - 10, 100);
	assert_int_equal(gather.start, UINT64_MAX - 10);
	assert_int_equal(gather.last, UINT64_MAX);
	idt_gather_add(&gather, 0, 1);
	assert_int_equal(gather.start, 0);
	assert_int_equal(gather.last, UINT64_MAX);
}

/* ---------------------------------------------------------------------------
 * BM-03b: the fuzzer against a plain reference bit array
 */

struct rng {
	uint64_t state;
};

/* splitmix64 */
static uint64_t rng_next(struct rng *rng)
{
	uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(struct rng *rng, uint64_t bound)
{
	return rng_next(rng) % bound;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *value = getenv(name);

	return value && *value ? strtoull(value, NULL, 0) : fallback;
}

#define FUZZ_MAX_NBITS_LG2 19
#define FUZZ_MAX_NBITS (1u << FUZZ_MAX_NBITS_LG2)
#define FUZZ_MAX_RANGES 6

/* The scratch memory of the fuzzer: a region that ends at a PROT_NONE page. */
struct fuzz_region {
	uint8_t *map;
	size_t rw_size;
	uint8_t *expected;
};

struct fuzz_case {
	uint64_t iova, length, page_size, nbits;
	size_t bytes, page_offset;
	unsigned int pages_per_window;
	bool atomic, prefilled, record_once;
	struct dirty_range ranges[FUZZ_MAX_RANGES];
	size_t nranges;
};

static void fuzz_generate(struct rng *rng, struct fuzz_case *c)
{
	unsigned int shift = 9 + (unsigned int)rng_below(rng, 32);
	uint64_t top;

	c->page_size = BIT64(shift);
	/* Half of the bitmaps span several windows; the rest are mostly small. */
	if (rng_below(rng, 2))
		c->nbits = 1 + rng_below(rng, FUZZ_MAX_NBITS);
	else
		c->nbits = 1 + rng_below(rng, BIT64(rng_below(rng, FUZZ_MAX_NBITS_LG2 + 1)));
	c->length = c->nbits << shift;
	/* Sometimes a partial last page: the range still ends inside bit nbits - 1. */
	if (!rng_below(rng, 4))
		c->length -= rng_below(rng, c->page_size);
	top = (UINT64_MAX - (c->length - 1)) & ~(c->page_size - 1);
	switch (rng_below(rng, 4)) {
	case 0:
		c->iova = 0;
		break;
	case 1:
		c->iova = top;
		break;
	default:
		c->iova = rng_next(rng) & ~(c->page_size - 1);
		if (c->iova > top)
			c->iova = top;
	}
	c->bytes = (size_t)(c->nbits + 7) / 8;
	/* Sometimes against the PROT_NONE page, else any offset in the page. */
	if (!rng_below(rng, 4))
		c->page_offset = (BITMAP_PAGE - c->bytes % BITMAP_PAGE) % BITMAP_PAGE;
	else
		c->page_offset = (size_t)rng_below(rng, BITMAP_PAGE);
	c->pages_per_window = rng_below(rng, 4) ? 1 + (unsigned int)rng_below(rng, 8) : 0;
	c->atomic = !rng_below(rng, 8);
	c->prefilled = !rng_below(rng, 4);
	c->record_once = rng_below(rng, 2);

	c->nranges = 1 + (size_t)rng_below(rng, FUZZ_MAX_RANGES);
	for (size_t i = 0; i < c->nranges; i++) {
		unsigned int size_lg2 = 12 + (unsigned int)rng_below(rng, 18);
		uint64_t size = BIT64(size_lg2) + rng_below(rng, BIT64(size_lg2));
		/* The first bit of a bitmap page after data's: where windows start. */
		uint64_t pages = (c->page_offset + c->bytes - 1) / BITMAP_PAGE;
		uint64_t page_bit = pages ? ((1 + rng_below(rng, pages)) * BITMAP_PAGE -
					     c->page_offset) * 8 : c->nbits;

		c->ranges[i].length = size;
		switch (rng_below(rng, 8)) {
		case 0:
			/* Anywhere at all, wrapping past 2^64 included. */
			c->ranges[i].iova = rng_next(rng);
			break;
		case 1:
		case 2:
		case 3:
			/* Across a window boundary, so that set-ahead has work to do. */
			if (page_bit < c->nbits) {
				c->ranges[i].iova = c->iova + (page_bit << shift) -
						    1 - rng_below(rng, size - 1);
				break;
			}
			/* fall through */
		default:
			/* From wholly before the range to wholly after it. */
			c->ranges[i].iova = c->iova - size + rng_below(rng, c->length + size + 1);
		}
	}
}

/* The clipping rule of algorithms.md 6.1, one bit at a time. */
static void fuzz_reference(const struct fuzz_case *c, uint8_t *expected)
{
	uint64_t last = c->iova + (c->length - 1);
	unsigned int shift = (unsigned int)__builtin_ctzll(c->page_size);

	for (size_t i = 0; i < c->nranges; i++) {
		uint64_t r_first = c->ranges[i].iova;
		uint64_t r_last = dirty_range_last(&c->ranges[i]);

		if (r_last < c->iova || r_first > last)
			continue;
		if (r_first < c->iova)
			r_first = c->iova;
		if (r_last > last)
			r_last = last;
		reference_set(expected, (r_first - c->iova) >> shift, (r_last - c->iova) >> shift);
	}
}

static void fuzz_fail(uint64_t seed, uint64_t index, const struct fuzz_case *c, const char *what)
{
	print_error("BM-03b: %s\nseed 0x%" PRIx64 " case %" PRIu64 " (rerun with IODIRTY_SEED)\n"
		    "iova 0x%" PRIx64 " length 0x%" PRIx64 " page_size 0x%" PRIx64
		    " nbits %" PRIu64 " page offset 0x%zx pages_per_window %u atomic %d"
		    " prefilled %d record_once %d\n", what, seed, index, c->iova, c->length,
		    c->page_size, c->nbits, c->page_offset, c->pages_per_window, c->atomic,
		    c->prefilled, c->record_once);
	for (size_t i = 0; i < c->nranges; i++)
		print_error("  record 0x%" PRIx64 " + 0x%" PRIx64 "\n", c->ranges[i].iova,
			    c->ranges[i].length);
	fail();
}

static void fuzz_one(struct rng *rng, const struct fuzz_region *region, uint64_t seed,
		     uint64_t index)
{
	struct fuzz_case c;
	struct idt_bitmap bitmap;
	struct idt_bitmap_window_stats stats;
	struct walk walk = { 0 };
	size_t span;
	uint8_t *data, *head, *tail;
	size_t tail_len;

	fuzz_generate(rng, &c);
	span = round_up(c.page_offset + c.bytes, BITMAP_PAGE);
	data = region->map + region->rw_size - span + c.page_offset;
	head = data - GUARD_LEN;
	tail = data + c.bytes;
	tail_len = span - c.page_offset - c.bytes;

	memset(head, GUARD_BYTE, GUARD_LEN);
	memset(tail, GUARD_BYTE, tail_len);
	if (c.prefilled)
		for (size_t i = 0; i < c.bytes; i++)
			data[i] = (uint8_t)rng_next(rng);
	else
		memset(data, 0, c.bytes);
	memcpy(region->expected, data, c.bytes);
	fuzz_reference(&c, region->expected);

	if (idt_bitmap_init(&bitmap, c.iova, c.length, c.page_size, data))
		fuzz_fail(seed, index, &c, "init refused the range");
	bitmap.atomic = c.atomic;
	if (!c.pages_per_window) {
		for (size_t i = 0; i < c.nranges; i++)
			idt_bitmap_record(&bitmap, c.ranges[i].iova, c.ranges[i].length);
	} else {
		walk.ranges = c.ranges;
		walk.nranges = c.nranges;
		walk.record_once = c.record_once;
		if (idt_bitmap_for_each_window(&bitmap, c.pages_per_window, walk_window, &walk,
					       &stats))
			fuzz_fail(seed, index, &c, "the walk failed");
		if (walk.error)
			fuzz_fail(seed, index, &c, walk.error);
		if (stats.max_pages > c.pages_per_window || stats.windows != walk.windows)
			fuzz_fail(seed, index, &c, "inconsistent window stats");
		if (!stats.set_ahead_runs && (walk.gap || !walk.reached_end))
			fuzz_fail(seed, index, &c, "the windows do not cover the range");
	}

	if (memcmp(data, region->expected, c.bytes)) {
		for (size_t i = 0; i < c.bytes; i++)
			if (data[i] != region->expected[i]) {
				print_error("byte %zu is 0x%02x, expected 0x%02x\n", i, data[i],
					    region->expected[i]);
				break;
			}
		fuzz_fail(seed, index, &c, "the bitmap differs from the reference");
	}
	for (size_t i = 0; i < GUARD_LEN; i++)
		if (head[i] != GUARD_BYTE)
			fuzz_fail(seed, index, &c, "a guard byte before the bitmap changed");
	for (size_t i = 0; i < tail_len; i++)
		if (tail[i] != GUARD_BYTE)
			fuzz_fail(seed, index, &c, "a guard byte after the bitmap changed");
}

static void test_bm03b_fuzz(void **state)
{
	uint64_t seed = env_u64("IODIRTY_SEED", 0x10D1127);
	uint64_t iterations = env_u64("IODIRTY_ITERATIONS", 100000);
	size_t page = host_page_size();
	struct rng rng = { seed };
	struct fuzz_region region;
	/* The largest bitmap at the largest offset, after a page for the guard bytes. */
	size_t largest = BITMAP_PAGE + round_up(BITMAP_PAGE - 1 + FUZZ_MAX_NBITS / 8, BITMAP_PAGE);

	(void)state;
	region.rw_size = round_up(largest, page);
	region.map = mmap(NULL, region.rw_size + page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(region.map != MAP_FAILED);
	assert_int_equal(mprotect(region.map + region.rw_size, page, PROT_NONE), 0);
	region.expected = malloc(FUZZ_MAX_NBITS / 8);
	assert_non_null(region.expected);

	for (uint64_t i = 0; i < iterations; i++)
		fuzz_one(&rng, &region, seed, i);

	free(region.expected);
	assert_int_equal(munmap(region.map, region.rw_size + page), 0);
}

/* Atomic mode writes whole bytes as aligned words and end bytes: for every
 * pointer alignment and run, it sets exactly what plain mode sets. */
static void test_atomic_full_bytes_match_plain(void **state)
{
	uint8_t plain[160], atomic[160];

	(void)state;
	for (unsigned int offset = 0; offset < 8; offset++) {
		for (uint64_t first = 0; first < 80; first += 7) {
			for (uint64_t length = 1; first + length <= 1000; length += 37) {
				struct idt_bitmap p, a;

				memset(plain, 0x11, sizeof(plain));
				memset(atomic, 0x11, sizeof(atomic));
				assert_int_equal(idt_bitmap_init(&p, 0, 1000 * 4096, 4096, plain + offset), 0);
				assert_int_equal(idt_bitmap_init(&a, 0, 1000 * 4096, 4096, atomic + offset), 0);
				a.atomic = true;
				idt_bitmap_record(&p, first * 4096, length * 4096);
				idt_bitmap_record(&a, first * 4096, length * 4096);
				assert_memory_equal(plain, atomic, sizeof(plain));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_ranges),
		cmocka_unit_test(test_bm14_page_size_not_power_of_two),
		cmocka_unit_test(test_record_every_first_last),
		cmocka_unit_test(test_bm01_unaligned_direct),
		cmocka_unit_test(test_bm01_unaligned_windowed),
		cmocka_unit_test(test_bm01_window_boundary_moved_by_pgoff),
		cmocka_unit_test(test_bm02_record_across_bitmap_page),
		cmocka_unit_test(test_bm03a_huge_record_beyond_pinned_pages),
		cmocka_unit_test(test_bm04_unaligned_small_bitmaps),
		cmocka_unit_test(test_bm05_leaf_across_window_boundary),
		cmocka_unit_test(test_bm06_pgoff_needs_one_more_page),
		cmocka_unit_test(test_bm07_set_ahead_reaches_end),
		cmocka_unit_test(test_bm08_huge_page_size),
		cmocka_unit_test(test_bm09_page_size_2_63),
		cmocka_unit_test(test_bm10_index_relative_to_iova),
		cmocka_unit_test(test_bm12_sub_byte_bitmaps),
		cmocka_unit_test(test_bm13a_only_sets_bits),
		cmocka_unit_test(test_record_clipped_at_both_ends),
		cmocka_unit_test(test_range_ends_at_last_iova),
		cmocka_unit_test(test_record_wraps_past_2_64),
		cmocka_unit_test(test_record_zero_length),
		cmocka_unit_test(test_window_errors),
		cmocka_unit_test(test_window_record_before_window_start),
		cmocka_unit_test(test_window_record_past_window),
		cmocka_unit_test(test_atomic_two_harvesters),
		cmocka_unit_test(test_atomic_full_bytes_match_plain),
		cmocka_unit_test(test_gather),
		cmocka_unit_test(test_bm03b_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
