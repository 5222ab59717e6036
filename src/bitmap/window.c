/* SPDX-License-Identifier: MIT */
/*
 * Linux's windowed iteration over the bitmap (algorithms.md 6.2, with fixes
 * 1-7 of 6.3), for the benchmark's windowed mode and to test those fixes.
 *
 * Pinning is simulated: a window "pins" up to pages_per_window 4 KiB pages
 * of bitmap memory, counted from data's page, and every write is checked to
 * fall in a pinned page and inside the bitmap before it is made.
 *
 * Deviations from Linux 6.7 (project decisions), so that a windowed walk
 * records exactly what the direct recorder of 6.1 records:
 * - records are clipped to the range (Linux may set bits past the last one)
 *   and to the window start (Linux would compute a wrapped index);
 * - set-ahead is a span of bits rather than a length in IOVA bytes, so it
 *   cannot overflow at page_size 2^63, and a record that starts past the
 *   window lands on its own bits (a length would be set from the next
 *   window's first bit); when several records overrun the same window the
 *   span covering all of them is kept, not the last one's (a superset: a
 *   page is never reported clean that was recorded dirty);
 * - when set-ahead ends inside a byte, the next window starts at that byte
 *   instead of after it, so the IOVA behind the byte's other bits is still
 *   handed to fn (6.2's advance() skips the whole byte, so dirty pages
 *   there would go unreported).
 */
#include <assert.h>
#include <errno.h>

#include "bitmap_internal.h"

/* Bitmap memory is pinned in host pages (algorithms.md 6.2). */
#define WINDOW_PAGE_SIZE 4096u

struct idt_bitmap_window {
	uint64_t base_index;    /* bitmap byte where the window starts */
	uint64_t total_index;   /* bitmap bytes of the whole range */
	uint64_t pgoff;         /* (data + base_index) mod WINDOW_PAGE_SIZE */
	uint64_t npages;        /* pages pinned; 0 between windows */
	uint64_t bytes;         /* bitmap bytes the window holds */
	uint64_t nbits;         /* bitmap bits the window holds */
	/* fix 5: bits past the window still to set, absolute */
	bool ahead;
	uint64_t ahead_first, ahead_last;
	unsigned int pages_per_window;
	struct idt_bitmap_window_stats stats;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Step 1, get(): pins the window starting at base_index. */
static void window_get(struct idt_bitmap_window *window, const struct idt_bitmap *bitmap)
{
	uint64_t remaining = window->total_index - window->base_index;
	uint64_t pages_wanted;

	/* Fix 7: nothing is ever pinned at or past the end of the bitmap. */
	assert(remaining);
	/* Fix 1: the window starts pgoff bytes into its first page. */
	window->pgoff = ((uintptr_t)bitmap->data + window->base_index) % WINDOW_PAGE_SIZE;
	/* Fix 6: count pgoff in the pages wanted, or a bitmap that fits takes two windows. */
	pages_wanted = (remaining + window->pgoff + WINDOW_PAGE_SIZE - 1) / WINDOW_PAGE_SIZE;
	window->npages = min_u64(pages_wanted, window->pages_per_window);
	/* Fix 4: byte granular, so the last IOVA of the range is always handed out. */
	window->bytes = min_u64(window->npages * WINDOW_PAGE_SIZE - window->pgoff, remaining);
	window->nbits = min_u64(window->bytes * 8, bitmap->nbits - window->base_index * 8);
	if (window->npages > window->stats.max_pages)
		window->stats.max_pages = window->npages;
}

static void window_put(struct idt_bitmap_window *window)
{
	window->npages = 0;
}

static uint64_t window_iova(const struct idt_bitmap_window *window,
			    const struct idt_bitmap *bitmap)
{
	return bitmap->iova + ((window->base_index * 8) << bitmap->shift);
}

/* Step 2, w_len: the IOVA the window's bits cover, clipped to the range. */
static uint64_t window_length(const struct idt_bitmap_window *window,
			      const struct idt_bitmap *bitmap)
{
	/* The last window ends at the range's end; no shifted bit count can reach 2^64 here. */
	if (window->base_index * 8 + window->nbits == bitmap->nbits)
		return bitmap->last - window_iova(window, bitmap) + 1;
	return window->nbits << bitmap->shift;
}

/*
 * BM-03a: the byte holding window bit `last` (relative to the window start)
 * lies in a pinned page and inside the bitmap.  Bits are set upwards from
 * the window start, so checking the last one covers the whole span.
 */
static bool window_holds(const struct idt_bitmap_window *window, uint64_t last)
{
	uint64_t last_byte = last / 8;

	return (last_byte + window->pgoff) / WINDOW_PAGE_SIZE < window->npages &&
	       window->base_index + last_byte < window->total_index;
}

void bitmap_window_set(struct idt_bitmap *bitmap, uint64_t first, uint64_t last)
{
	struct idt_bitmap_window *window = bitmap->window;
	uint64_t window_first = window->base_index * 8;
	uint64_t cur, end;

	/* A walk records inside its window; bits before it are not pinned. */
	if (last < window_first)
		return;
	/* Step 5, in bits relative to the window start (Linux adds pgoff * 8 instead). */
	cur = first > window_first ? first - window_first : 0;
	end = last - window_first;
	/* Fix 2: page by page, so a record crossing a page boundary lands on both pages. */
	while (cur <= end) {
		uint64_t page = (cur / 8 + window->pgoff) / WINDOW_PAGE_SIZE;
		uint64_t page_last;

		/* Fix 3: never past the last pinned page. */
		if (page >= window->npages)
			break;
		page_last = min_u64(end, (page + 1) * WINDOW_PAGE_SIZE * 8 - window->pgoff * 8 - 1);
		if (!window_holds(window, page_last)) {
			assert(!"bitmap window: write outside the pinned pages");
			return;
		}
		bitmap_bits_set(bitmap->data + window->base_index, cur, page_last, bitmap->atomic);
		cur = page_last + 1;
	}
	/* Fix 5: what did not fit is set when the following windows are pinned. */
	if (cur <= end) {
		if (!window->ahead || window_first + cur < window->ahead_first)
			window->ahead_first = window_first + cur;
		if (!window->ahead || window_first + end > window->ahead_last)
			window->ahead_last = window_first + end;
		window->ahead = true;
	}
}

/*
 * Step 4, advance(): past the window, set-ahead, the done check (fix 7), the
 * next get().  A window that set-ahead fills from its first bit is consumed
 * without being handed out (its IOVA is covered by the record that overran);
 * one where set-ahead starts later is handed out with those bits set.
 */
static void window_advance(struct idt_bitmap_window *window, struct idt_bitmap *bitmap)
{
	bool ahead = window->ahead;
	uint64_t first = window->ahead_first, last = window->ahead_last;

	window->base_index += window->bytes;
	window_put(window);
	window->ahead = false;
	while (ahead && window->base_index < window->total_index) {
		uint64_t window_first = window->base_index * 8, bits;

		window_get(window, bitmap);
		if (first > window_first) {
			/* what does not fit becomes set-ahead again */
			bitmap_window_set(bitmap, first, last);
			return;
		}
		bits = min_u64(last - window_first + 1, window->nbits);
		bitmap_window_set(bitmap, window_first, window_first + bits - 1);
		ahead = window_first + bits <= last;
		first = window_first + bits;
		/* Skip what set-ahead filled, but not a partly filled last byte (see the top). */
		window->base_index += bits == window->nbits ? window->bytes : bits / 8;
		window->stats.set_ahead_runs++;
		window_put(window);
	}
	/* Fix 7: only after set-ahead is it known whether anything is left to pin. */
	if (window->base_index < window->total_index)
		window_get(window, bitmap);
}

int idt_bitmap_for_each_window(struct idt_bitmap *bitmap, unsigned int pages_per_window,
			       idt_bitmap_window_fn fn, void *arg,
			       struct idt_bitmap_window_stats *stats)
{
	struct idt_bitmap_window window = {
		.total_index = idt_bitmap_bytes(bitmap),
		.pages_per_window = pages_per_window,
	};
	int ret = 0;

	/* A nested walk would replace the window the outer one is using. */
	if (!pages_per_window || !fn || bitmap->window)
		return -EINVAL;

	bitmap->window = &window;
	window_get(&window, bitmap);
	/* Step 3, for_each(). */
	while (window.base_index < window.total_index) {
		ret = fn(bitmap, window_iova(&window, bitmap), window_length(&window, bitmap), arg);
		window.stats.windows++;
		if (ret)
			break;
		window_advance(&window, bitmap);
	}
	window_put(&window);
	bitmap->window = NULL;
	if (stats)
		*stats = window.stats;
	return ret;
}
