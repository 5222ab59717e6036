/* SPDX-License-Identifier: MIT */
/*
 * The dirty bitmap recorder and the IOTLB gather: the userspace equivalent of
 * Linux's iova_bitmap, iommu_dirty_bitmap and iommu_iotlb_gather
 * (spec: algorithms.md 1 and 6, uapi.md 6).
 *
 * Bit n of a bitmap covers IOVA [iova + (n << shift), iova + ((n + 1) << shift))
 * and is bit (n % 8) of byte data[n / 8].  The recorder only ever sets bits,
 * clips records to the bitmap's range and never touches a byte outside
 * [data, data + idt_bitmap_bytes()).
 */
#ifndef IODIRTY_BITMAP_H
#define IODIRTY_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct idt_bitmap_window;

/* A caller-owned bitmap.  Fill it with idt_bitmap_init(); fields are read-only. */
struct idt_bitmap {
	uint64_t iova;        /* IOVA covered by bit 0 */
	uint64_t last;        /* last IOVA covered (inclusive) */
	uint64_t nbits;       /* bits in use: ((length - 1) >> shift) + 1 */
	uint8_t *data;        /* any alignment */
	unsigned int shift;   /* log2 of page_size */
	bool atomic;          /* set bits with atomic byte ORs (concurrent harvesters) */
	struct idt_bitmap_window *window; /* non-NULL while a windowed walk runs */
};

/*
 * Describes the bitmap for [iova, iova + length) at page_size granularity.
 * Returns 0, or -EINVAL for length 0, an IOVA range that wraps past 2^64,
 * or a page_size that is 0 or not a power of two.  data may be NULL only
 * when nothing will be recorded.
 */
int idt_bitmap_init(struct idt_bitmap *bitmap, uint64_t iova, uint64_t length,
		    uint64_t page_size, void *data);

/* Bytes of data the bitmap uses: ceil(nbits / 8). */
uint64_t idt_bitmap_bytes(const struct idt_bitmap *bitmap);

/*
 * Sets the bits covering [iova, iova + length), clipped to the bitmap's
 * range; a record wholly outside it does nothing.  length 0 does nothing.
 * A record whose end would pass 2^64 is clipped at 2^64 - 1.
 */
void idt_bitmap_record(struct idt_bitmap *bitmap, uint64_t iova, uint64_t length);

/* Reads bit n (n < nbits); for tests and tools. */
bool idt_bitmap_test(const struct idt_bitmap *bitmap, uint64_t n);

/*
 * Linux's windowed iteration (algorithms.md 6.2, with all nine fixes):
 * the bitmap is processed in windows of at most pages_per_window pages of
 * bitmap memory (4 KiB pages, counted from data's page), fn is called once
 * per window with the IOVA range the window covers, and records made through
 * the bitmap while fn runs are set inside the window, or carried into the
 * following windows (set-ahead).  No byte outside the current window is
 * touched.  Returns 0; -EINVAL for pages_per_window 0, a NULL fn, or a
 * walk already running on this bitmap; or fn's first error.
 */
typedef int (*idt_bitmap_window_fn)(struct idt_bitmap *bitmap, uint64_t w_iova,
				    uint64_t w_length, void *arg);

/* What a windowed walk did, for tests and the benchmark. */
struct idt_bitmap_window_stats {
	uint64_t windows;        /* calls of fn */
	uint64_t max_pages;      /* most pages held by one window */
	uint64_t set_ahead_runs; /* windows consumed by set-ahead */
};

/* stats may be NULL. */
int idt_bitmap_for_each_window(struct idt_bitmap *bitmap, unsigned int pages_per_window,
			       idt_bitmap_window_fn fn, void *arg,
			       struct idt_bitmap_window_stats *stats);

/*
 * An IOTLB gather: the inclusive range [start, last] of what was recorded,
 * to be invalidated once later.  Empty when start > last.
 */
struct idt_gather {
	uint64_t start;
	uint64_t last;
};

static inline void idt_gather_init(struct idt_gather *gather)
{
	gather->start = UINT64_MAX;
	gather->last = 0;
}

static inline bool idt_gather_empty(const struct idt_gather *gather)
{
	return gather->start > gather->last;
}

/* Widens the gather to include [iova, iova + length - 1]; length 0 does nothing. */
void idt_gather_add(struct idt_gather *gather, uint64_t iova, uint64_t length);

/*
 * Where read-and-clear reports dirty leaves (algorithms.md 1): a bitmap,
 * a gather, both or neither.
 */
struct idt_dirty_record {
	struct idt_bitmap *bitmap;
	struct idt_gather *gather;
};

#ifdef __cplusplus
}
#endif
#endif
