/* SPDX-License-Identifier: MIT */
/*
 * iodirty bench, the small measurements:
 *
 * DMA through the emulated IOMMU, per format, 4 KiB mappings, gate on, over
 * the same DMA_PAGES pages (1 MiB) of registered guest memory:
 *   memcpy            a plain 4 KiB memcpy (the floor)
 *   guest copy        idt_guest_copy: the engine's 8-byte atomic units
 *   write, hit        idt_dma_write of 4 KiB, translation cached with D set
 *   write, miss       the same on an IOMMU without IOTLB (no_iotlb): every
 *                     transaction walks; D is already set, nothing is written
 *   write, clean      the same, the first write after the pages were cleaned:
 *                     the walk also sets D (or, on ARM, clears AP[2]) with a
 *                     compare-and-swap.  Both write in batches of DMA_PAGES,
 *                     with a harvest in between (not timed): clearing for
 *                     clean, NO_CLEAR for miss, so that the caches start
 *                     alike.  clean - miss = the A/D update's cost.
 *   translate         idt_iommu_translate, hit and miss
 *
 * Bitmap recording: every 4 KiB page of the bitmap's range recorded once,
 * one page per call and in 2 MiB runs, with the library recorder (byte ORs,
 * and its atomic mode), and with a u64-word setter written here for
 * comparison (plain, and with atomic fetch_or).  Both setters are out of
 * line, so that they compare as calls.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iodirty/bitmap.h>
#include <iodirty/hw.h>
#include <iodirty/pt.h>

#include "bench.h"
#include "cli.h"

#define DMA_PAGES 256u
#define DMA_IOVA 0x40000000ull
#define DEV 1
#define TAG 1

const char *const bench_dma_key[BD_COUNT] = {
	[BD_MEMCPY] = "memcpy_4k",
	[BD_GUEST_COPY] = "guest_copy_4k",
	[BD_WRITE_HIT] = "write_hit",
	[BD_WRITE_MISS] = "write_miss",
	[BD_WRITE_CLEAN] = "write_first_clean",
	[BD_XLATE_HIT] = "translate_hit",
	[BD_XLATE_MISS] = "translate_miss",
};

const char *const bench_dma_label[BD_COUNT] = {
	[BD_MEMCPY] = "memcpy 4 KiB",
	[BD_GUEST_COPY] = "guest copy 4 KiB (8-byte atomics)",
	[BD_WRITE_HIT] = "DMA write 4 KiB, IOTLB hit",
	[BD_WRITE_MISS] = "DMA write 4 KiB, miss (walk)",
	[BD_WRITE_CLEAN] = "DMA write 4 KiB, miss, clean page",
	[BD_XLATE_HIT] = "translate, IOTLB hit",
	[BD_XLATE_MISS] = "translate, miss (walk)",
};

const char *const bench_bitmap_key[BB_COUNT] = {
	[BB_BYTE] = "byte",
	[BB_BYTE_ATOMIC] = "byte_atomic",
	[BB_WORD] = "word",
	[BB_WORD_ATOMIC] = "word_atomic",
};

volatile uint64_t bench_micro_sink;

/* ---- DMA ----------------------------------------------------------------- */

struct dma_setup {
	struct idt_iommu *iommu;
	struct idt_pt *pt;
	bool attached, registered;
};

struct dma_bench {
	struct bench *b;
	uint32_t format;
	uint8_t *guest, *buffer;
	struct dma_setup cached, uncached;
	double *samples;
};

static int dma_open(struct dma_bench *d, struct dma_setup *s, bool iotlb)
{
	struct idt_iommu_config icfg = {
		.size = sizeof(icfg),
		.format = d->format,
		.cap = idt_iommu_capability(d->format, true),
		.no_iotlb = !iotlb,
	};
	struct idt_pt_config pcfg = {
		.size = sizeof(pcfg),
		.format = d->format,
		.page_sizes = BENCH_PAGE,
		.flags = IDT_PT_DIRTY_TRACKING,
	};
	int ret;

	ret = idt_iommu_create(&icfg, &s->iommu);
	if (ret)
		return bench_lib_error("idt_iommu_create", ret);
	ret = idt_pt_create(&pcfg, &s->pt);
	if (ret)
		return bench_lib_error("idt_pt_create", ret);
	ret = idt_pt_map(s->pt, DMA_IOVA, (uint64_t)(uintptr_t)d->guest, DMA_PAGES * BENCH_PAGE,
			 IDT_PROT_READ | IDT_PROT_WRITE);
	if (ret)
		return bench_lib_error("idt_pt_map", ret);
	ret = idt_iommu_register_memory(s->iommu, d->guest, DMA_PAGES * BENCH_PAGE);
	if (ret)
		return bench_lib_error("idt_iommu_register_memory", ret);
	s->registered = true;
	ret = idt_iommu_attach(s->iommu, DEV, s->pt, TAG);
	if (ret)
		return bench_lib_error("idt_iommu_attach", ret);
	s->attached = true;
	ret = idt_iommu_set_gate(s->iommu, DEV, true);
	if (ret)
		return bench_lib_error("idt_iommu_set_gate", ret);
	/* warm up: every page walked once, A and D set, translations cached */
	for (unsigned int p = 0; p < DMA_PAGES; p++)
		if (idt_dma_write(s->iommu, DEV, DMA_IOVA + p * BENCH_PAGE, d->buffer, BENCH_PAGE,
				  NULL) != BENCH_PAGE)
			return bench_lib_error("idt_dma_write (warm-up)", -EFAULT);
	return 0;
}

static void dma_close(struct dma_bench *d, struct dma_setup *s)
{
	if (s->attached)
		idt_iommu_detach(s->iommu, DEV);
	if (s->registered)
		idt_iommu_unregister_memory(s->iommu, d->guest, DMA_PAGES * BENCH_PAGE);
	if (s->iommu)
		idt_iommu_destroy(s->iommu);
	idt_pt_destroy(s->pt);
}

/*
 * Between two batches of writes (not timed): a harvest of the pages of s,
 * cleaning (D clear, ARM AP[2] set) or, with NO_CLEAR, only reading the
 * same items, so that both batch kinds start from the same cache state.
 */
static int dma_between(struct dma_setup *s, bool clean)
{
	int ret = idt_iommu_harvest(s->iommu, TAG, s->pt, DMA_IOVA, DMA_PAGES * BENCH_PAGE,
				    clean ? 0 : IDT_DIRTY_NO_CLEAR, NULL, IDT_RCD_IODIRTY);

	return ret ? bench_lib_error("idt_iommu_harvest", ret) : 0;
}

/* ns per operation of one repetition. */
static int dma_once(struct dma_bench *d, enum bench_dma_measure m, double *ns)
{
	struct dma_setup *s = m == BD_WRITE_MISS || m == BD_WRITE_CLEAN || m == BD_XLATE_MISS
				      ? &d->uncached
				      : &d->cached;
	uint64_t ops = d->b->dma_ops;
	struct idt_pt_walk_result res;
	double total = 0, t0;
	bool ok = true;

	if (m == BD_WRITE_CLEAN || m == BD_WRITE_MISS) {
		/* batches of DMA_PAGES writes; in between, the pages are cleaned
		 * (clean: every write sets D) or only read (miss: D stays set) */
		ops = (ops + DMA_PAGES - 1) / DMA_PAGES * DMA_PAGES;
		for (uint64_t done = 0; done < ops; done += DMA_PAGES) {
			if (dma_between(s, m == BD_WRITE_CLEAN))
				return CLI_EXIT_ERROR;
			t0 = bench_now_ns();
			for (unsigned int p = 0; p < DMA_PAGES; p++)
				ok &= idt_dma_write(s->iommu, DEV, DMA_IOVA + p * BENCH_PAGE,
						    d->buffer, BENCH_PAGE, NULL) == BENCH_PAGE;
			total += bench_now_ns() - t0;
		}
	} else {
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < ops; i++) {
			uint64_t page = i % DMA_PAGES;

			switch (m) {
			case BD_MEMCPY:
				memcpy(d->guest + page * BENCH_PAGE, d->buffer, BENCH_PAGE);
				break;
			case BD_GUEST_COPY:
				idt_guest_copy(d->guest + page * BENCH_PAGE, d->buffer, BENCH_PAGE);
				break;
			case BD_WRITE_HIT:
				ok &= idt_dma_write(s->iommu, DEV, DMA_IOVA + page * BENCH_PAGE,
						    d->buffer, BENCH_PAGE, NULL) == BENCH_PAGE;
				break;
			case BD_XLATE_HIT:
			case BD_XLATE_MISS:
				ok &= !idt_iommu_translate(s->iommu, DEV,
							   DMA_IOVA + page * BENCH_PAGE,
							   IDT_ACCESS_READ, &res) &&
				      res.fault == IDT_FAULT_NONE;
				break;
			default:
				break;
			}
		}
		total = bench_now_ns() - t0;
	}
	bench_micro_sink += d->guest[BENCH_PAGE - 1] + d->buffer[0];
	if (!ok) {
		fprintf(stderr, "iodirty bench: dma %s: %s: an operation failed\n",
			idt_pt_format_name(d->format), bench_dma_label[m]);
		return CLI_EXIT_ERROR;
	}
	*ns = total / (double)ops;
	return 0;
}

int bench_run_dma(struct bench *b, uint32_t format, struct bench_dma *out)
{
	struct dma_bench d = { .b = b, .format = format };
	int status = CLI_EXIT_ERROR;

	out->format = format;
	d.guest = aligned_alloc(BENCH_PAGE, DMA_PAGES * BENCH_PAGE);
	d.buffer = aligned_alloc(BENCH_PAGE, BENCH_PAGE);
	d.samples = calloc((size_t)b->reps * BD_COUNT, sizeof(double));
	if (!d.guest || !d.buffer || !d.samples) {
		bench_lib_error("aligned_alloc", -ENOMEM);
		goto out;
	}
	memset(d.guest, 0, DMA_PAGES * BENCH_PAGE);
	memset(d.buffer, 0xa5, BENCH_PAGE);
	if (dma_open(&d, &d.cached, true) || dma_open(&d, &d.uncached, false))
		goto out;
	for (unsigned int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, "dma %s: repetition %u/%u", idt_pt_format_name(format), rep + 1,
			       b->reps);
		for (int m = 0; m < BD_COUNT; m++)
			if (dma_once(&d, (enum bench_dma_measure)m,
				     &d.samples[(size_t)m * b->reps + rep]))
				goto out;
	}
	for (int m = 0; m < BD_COUNT; m++)
		bench_summarize(&d.samples[(size_t)m * b->reps], b->reps, &out->st[m]);
	status = 0;
out:
	dma_close(&d, &d.cached);
	dma_close(&d, &d.uncached);
	free(d.guest);
	free(d.buffer);
	free(d.samples);
	return status;
}

/* ---- bitmap recording ---------------------------------------------------- */

/* A bitmap of u64 words, bit n = bit n % 64 of word n / 64 (the byte
 * bitmap's layout on little-endian machines). */
struct word_bitmap {
	uint64_t iova, last;
	uint64_t *words;
	unsigned int shift;
};

/* The bit range [*first, *last] a record covers, clipped as the library
 * clips; false if it covers nothing. */
static inline bool word_bits(const struct word_bitmap *wb, uint64_t iova, uint64_t length,
			     uint64_t *first, uint64_t *last)
{
	uint64_t end;

	if (!length)
		return false;
	end = iova + length - 1;
	if (end < iova)
		end = UINT64_MAX;
	if (end < wb->iova || iova > wb->last)
		return false;
	if (iova < wb->iova)
		iova = wb->iova;
	if (end > wb->last)
		end = wb->last;
	*first = (iova - wb->iova) >> wb->shift;
	*last = (end - wb->iova) >> wb->shift;
	return true;
}

/* Sets the bits covering [iova, iova + length) a u64 word at a time. */
static __attribute__((noinline)) void word_record(const struct word_bitmap *wb, uint64_t iova,
						  uint64_t length)
{
	uint64_t first, last, fw, lw, fm, lm;

	if (!word_bits(wb, iova, length, &first, &last))
		return;
	fw = first / 64;
	lw = last / 64;
	fm = ~0ull << (first % 64);
	lm = ~0ull >> (63 - last % 64);
	if (fw == lw) {
		wb->words[fw] |= fm & lm;
		return;
	}
	wb->words[fw] |= fm;
	for (uint64_t w = fw + 1; w < lw; w++)
		wb->words[w] = ~0ull;
	wb->words[lw] |= lm;
}

/* The same with atomic fetch_or on every word it touches. */
static __attribute__((noinline)) void word_record_atomic(const struct word_bitmap *wb,
							 uint64_t iova, uint64_t length)
{
	uint64_t first, last, fw, lw, fm, lm;

	if (!word_bits(wb, iova, length, &first, &last))
		return;
	fw = first / 64;
	lw = last / 64;
	fm = ~0ull << (first % 64);
	lm = ~0ull >> (63 - last % 64);
	if (fw == lw) {
		__atomic_fetch_or(&wb->words[fw], fm & lm, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_or(&wb->words[fw], fm, __ATOMIC_RELAXED);
	for (uint64_t w = fw + 1; w < lw; w++)
		__atomic_fetch_or(&wb->words[w], ~0ull, __ATOMIC_RELAXED);
	__atomic_fetch_or(&wb->words[lw], lm, __ATOMIC_RELAXED);
}

static uint64_t popcount_bytes(const uint8_t *p, uint64_t bytes)
{
	uint64_t n = 0, i = 0;

	for (; i + 8 <= bytes; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		n += (uint64_t)__builtin_popcountll(w);
	}
	for (; i < bytes; i++)
		n += (uint64_t)__builtin_popcount(p[i]);
	return n;
}

int bench_run_bitmap(struct bench *b)
{
	static const uint64_t runs[] = { BENCH_PAGE, 2 * BENCH_MiB };
	uint64_t size = b->bitmap_size, pages = size / BENCH_PAGE;
	uint64_t bytes = (pages + 63) / 64 * 8;
	struct idt_bitmap bm;
	struct word_bitmap wb;
	uint8_t *data = aligned_alloc(64, (bytes + 63) / 64 * 64);
	double *samples = calloc(b->reps, sizeof(double));
	int ret, status = CLI_EXIT_ERROR;

	if (!data || !samples) {
		bench_lib_error("aligned_alloc", -ENOMEM);
		goto out;
	}
	ret = idt_bitmap_init(&bm, 0, size, BENCH_PAGE, data);
	if (ret) {
		bench_lib_error("idt_bitmap_init", ret);
		goto out;
	}
	wb = (struct word_bitmap){ 0, size - 1, (uint64_t *)(void *)data, 12 };
	for (unsigned int r = 0; r < 2; r++) {
		uint64_t run = runs[r] < size ? runs[r] : size;

		for (int v = 0; v < BB_COUNT; v++) {
			struct bench_bitmap_row *row = &b->bitmap[b->nbitmap];
			bool ok = true;

			bm.atomic = v == BB_BYTE_ATOMIC;
			for (unsigned int rep = 0; rep < b->reps; rep++) {
				double t0;

				bench_progress(b, "bitmap: %s in %s runs, repetition %u/%u",
					       bench_bitmap_key[v], run == BENCH_PAGE ? "4 KiB" : "2 MiB",
					       rep + 1, b->reps);
				memset(data, 0, bytes);
				t0 = bench_now_ns();
				switch (v) {
				case BB_BYTE:
				case BB_BYTE_ATOMIC:
					for (uint64_t iova = 0; iova < size; iova += run)
						idt_bitmap_record(&bm, iova, run);
					break;
				case BB_WORD:
					for (uint64_t iova = 0; iova < size; iova += run)
						word_record(&wb, iova, run);
					break;
				case BB_WORD_ATOMIC:
					for (uint64_t iova = 0; iova < size; iova += run)
						word_record_atomic(&wb, iova, run);
					break;
				}
				samples[rep] = bench_now_ns() - t0;
				if (!rep)
					ok = popcount_bytes(data, bytes) == pages;
			}
			if (!ok) {
				fprintf(stderr, "iodirty bench: bitmap %s: not every page was "
						"recorded\n", bench_bitmap_key[v]);
				b->mismatches++;
			}
			row->variant = (enum bench_bitmap_variant)v;
			row->run = run;
			row->ok = ok;
			bench_summarize(samples, b->reps, &row->st);
			b->nbitmap++;
		}
	}
	status = 0;
out:
	free(data);
	free(samples);
	return status;
}
