/* SPDX-License-Identifier: MIT */
/*
 * iodirty bench, the harvest part: one page table per (format, size, IOPTE),
 * mapped [0, size) with oa = iova and exactly that leaf size, attached to
 * an emulated IOMMU (one device, gate on); then, per density and mode:
 *
 *   iodirty, legacy, generic_pt  idt_iommu_harvest(): read-and-clear with the
 *                                library's algorithm (IDT_RCD_*), then the
 *                                IOTLB invalidation of the gathered range and
 *                                the drain (unless NO_CLEAR)
 *   iodirty_threads              idt_pt_read_and_clear_dirty_threads() with
 *                                --threads N, then the same sync of the gather
 *   stream                       a plain read of every leaf table's items (read
 *                                and write back of each at 100% with clearing)
 *
 * Before each repetition (not timed) the table is brought to the row's dirty
 * pattern (idt_pt_make_dirty_range, after a cleaning pass if the table held
 * another pattern) and the 4 KiB bitmap is zeroed.  After the first
 * repetition each contender's bitmap is compared with iodirty's, and
 * iodirty's with the number of leaves dirtied.
 *
 * The table is freed when its rows are done.
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

#define DEV 1
#define TAG 1
#define ITEMS_PER_TABLE 512u

/* Keep the stream loops from being optimised away. */
volatile uint64_t bench_stream_sink;
volatile uint64_t bench_stream_zero;

struct span {
	const uint64_t *items;
	uint32_t count;
};

struct table {
	struct bench *b;
	const struct bench_table_plan *plan;
	const char *fmt;
	struct idt_pt *pt;
	struct idt_iommu *iommu;
	bool attached;
	uint64_t size, iopte, leaves, tables;

	struct idt_bitmap bm;
	uint8_t *data, *ref;
	uint64_t bytes;

	struct span *spans;
	unsigned int nspans, spans_cap;
	uint64_t span_items;

	bool state_known;
	double state;    /* the density the table holds now (0: clean) */
	uint64_t marked; /* leaves dirtied by the last dirtying */

	double *samples;
};

static const enum idt_rcd_algo contender_algo[] = {
	[BC_IODIRTY] = IDT_RCD_IODIRTY,
	[BC_LEGACY] = IDT_RCD_LEGACY,
	[BC_GENERIC_PT] = IDT_RCD_GENERIC_PT,
};

static uint64_t density_stride(double density, uint64_t iopte)
{
	uint64_t k;

	if (density >= 1)
		return 0;
	k = (uint64_t)(1.0 / density + 0.5); /* density > 0 here */
	if (k < 1)
		k = 1;
	return k * iopte;
}

/* A clearing pass with no bitmap: the table is clean afterwards. */
static int clean_pass(struct table *t)
{
	struct idt_dirty_record rec = { NULL, NULL };
	int ret = idt_pt_read_and_clear_dirty(t->pt, 0, t->size, 0, &rec, IDT_RCD_IODIRTY);

	if (ret)
		return bench_lib_error("idt_pt_read_and_clear_dirty", ret);
	t->state = 0;
	t->state_known = true;
	t->marked = 0;
	return 0;
}

/* Brings the table to exactly the dirty pattern of density (not timed). */
static int set_pattern(struct table *t, double density)
{
	int ret;

	if (t->state_known && t->state == density) {
		if (density == 0)
			t->marked = 0; /* cleaned by the last clearing harvest */
		return 0;
	}
	if ((!t->state_known || t->state != 0) && clean_pass(t))
		return CLI_EXIT_ERROR;
	if (density > 0) {
		ret = idt_pt_make_dirty_range(t->pt, 0, t->size, density_stride(density, t->iopte),
					      &t->marked);
		if (ret)
			return bench_lib_error("idt_pt_make_dirty_range", ret);
	}
	t->state = density;
	return 0;
}

static uint64_t popcount_bitmap(const struct table *t)
{
	uint64_t n = 0, i = 0;

	for (; i + 8 <= t->bytes; i += 8) {
		uint64_t w;

		memcpy(&w, t->data + i, 8);
		n += (uint64_t)__builtin_popcountll(w);
	}
	for (; i < t->bytes; i++)
		n += (uint64_t)__builtin_popcount(t->data[i]);
	return n;
}

/* Does the bitmap hold what the dirtying marked (each leaf as iopte/4K bits)? */
static bool bitmap_expected(const struct table *t)
{
	return popcount_bitmap(t) == t->marked * (t->iopte / BENCH_PAGE);
}

/*
 * The stream contender reads the items with the widest vectors the CPU has,
 * 128 bytes an iteration in two independent chains: the memory-read floor,
 * not a loop bound by its own dependencies.  One body, compiled for AVX-512,
 * AVX2 and the baseline, picked once with __builtin_cpu_supports (not GCC
 * target clones: their ifunc resolvers run before a sanitizer runtime starts).
 */
typedef uint64_t stream_vec __attribute__((vector_size(64)));

#define STREAM_SPAN(name, attr)                                                          \
	attr static uint64_t name(const uint64_t *items, uint32_t n)                      \
	{                                                                                  \
		stream_vec a = { 0 }, b = { 0 };                                           \
		uint64_t acc = 0;                                                          \
		uint32_t i = 0;                                                            \
                                                                                           \
		for (; i + 16 <= n; i += 16) {                                             \
			stream_vec x, y;                                                   \
                                                                                           \
			memcpy(&x, items + i, sizeof(x));                                  \
			memcpy(&y, items + i + 8, sizeof(y));                              \
			a ^= x;                                                            \
			b ^= y;                                                            \
		}                                                                          \
		a ^= b;                                                                    \
		for (int k = 0; k < 8; k++)                                                \
			acc ^= a[k];                                                       \
		for (; i < n; i++)                                                         \
			acc ^= items[i];                                                   \
		return acc;                                                                \
	}

/* The same, storing every item back (OR a zero the compiler cannot see, so
 * the table is unchanged but every line is written). */
#define STREAM_SPAN_WRITE(name, attr)                                                    \
	attr static uint64_t name(uint64_t *items, uint32_t n, uint64_t zero)             \
	{                                                                                  \
		stream_vec a = { 0 }, b = { 0 };                                           \
		stream_vec z = { zero, zero, zero, zero, zero, zero, zero, zero };         \
		uint64_t acc = 0;                                                          \
		uint32_t i = 0;                                                            \
                                                                                           \
		for (; i + 16 <= n; i += 16) {                                             \
			stream_vec x, y;                                                   \
                                                                                           \
			memcpy(&x, items + i, sizeof(x));                                  \
			memcpy(&y, items + i + 8, sizeof(y));                              \
			a ^= x;                                                            \
			b ^= y;                                                            \
			x |= z;                                                            \
			y |= z;                                                            \
			memcpy(items + i, &x, sizeof(x));                                  \
			memcpy(items + i + 8, &y, sizeof(y));                              \
		}                                                                          \
		a ^= b;                                                                    \
		for (int k = 0; k < 8; k++)                                                \
			acc ^= a[k];                                                       \
		for (; i < n; i++) {                                                       \
			acc ^= items[i];                                                   \
			items[i] |= zero;                                                  \
		}                                                                          \
		return acc;                                                                \
	}

STREAM_SPAN(stream_span_base, )
STREAM_SPAN_WRITE(stream_span_write_base, )
#if defined(__x86_64__)
STREAM_SPAN(stream_span_avx2, __attribute__((target("avx2"))))
STREAM_SPAN_WRITE(stream_span_write_avx2, __attribute__((target("avx2"))))
STREAM_SPAN(stream_span_avx512, __attribute__((target("avx512f"))))
STREAM_SPAN_WRITE(stream_span_write_avx512, __attribute__((target("avx512f"))))
#endif

static uint64_t (*stream_span)(const uint64_t *items, uint32_t n);
static uint64_t (*stream_span_write)(uint64_t *items, uint32_t n, uint64_t zero);

static void stream_pick(void)
{
	stream_span = stream_span_base;
	stream_span_write = stream_span_write_base;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		stream_span = stream_span_avx512;
		stream_span_write = stream_span_write_avx512;
	} else if (__builtin_cpu_supports("avx2")) {
		stream_span = stream_span_avx2;
		stream_span_write = stream_span_write_avx2;
	}
#endif
}

static uint64_t stream_read(const struct table *t)
{
	uint64_t acc = 0;

	for (unsigned int s = 0; s < t->nspans; s++)
		acc ^= stream_span(t->spans[s].items, t->spans[s].count);
	return acc;
}

static uint64_t stream_read_write(const struct table *t)
{
	uint64_t acc = 0, zero = bench_stream_zero;

	for (unsigned int s = 0; s < t->nspans; s++)
		acc ^= stream_span_write((uint64_t *)t->spans[s].items, t->spans[s].count, zero);
	return acc;
}

/*
 * One timed repetition of contender c (threads: the thread count of
 * iodirty_threads).  *ns gets the time.
 */
static int run_once(struct table *t, enum bench_contender c, double density, bool no_clear,
		    unsigned int threads, double *ns)
{
	unsigned int flags = no_clear ? IDT_DIRTY_NO_CLEAR : 0;
	struct idt_gather gather;
	struct idt_dirty_record rec = { &t->bm, &gather };
	double t0, t1;
	int ret = 0;

	if (set_pattern(t, density))
		return CLI_EXIT_ERROR;
	if (c != BC_STREAM)
		memset(t->data, 0, t->bytes);
	idt_gather_init(&gather);

	t0 = bench_now_ns();
	switch (c) {
	case BC_IODIRTY:
	case BC_LEGACY:
	case BC_GENERIC_PT:
		ret = idt_iommu_harvest(t->iommu, TAG, t->pt, 0, t->size, flags, &t->bm,
					contender_algo[c]);
		break;
	case BC_THREADS:
		ret = idt_pt_read_and_clear_dirty_threads(t->pt, 0, t->size, flags, &rec, threads);
		if (!no_clear)
			idt_iommu_sync_gather(t->iommu, TAG, &gather);
		break;
	case BC_STREAM:
		bench_stream_sink = density >= 1 && !no_clear ? stream_read_write(t)
							       : stream_read(t);
		break;
	case BC_COUNT:
		break;
	}
	t1 = bench_now_ns();
	if (ret)
		return bench_lib_error(c == BC_THREADS ? "idt_pt_read_and_clear_dirty_threads"
						       : "idt_iommu_harvest",
				       ret);
	if (c != BC_STREAM && !no_clear)
		t->state = 0;
	*ns = t1 - t0;
	return 0;
}

static void mismatch(struct table *t, const char *who, double density, bool no_clear,
		     const char *what)
{
	char d[16];

	fprintf(stderr, "iodirty bench: %s, %s dirty%s: %s's bitmap %s\n", t->fmt,
		bench_density_str(density, d, sizeof(d)), no_clear ? ", NO_CLEAR" : "", who, what);
	t->b->mismatches++;
}

static int run_row(struct table *t, double density, bool no_clear)
{
	struct bench *b = t->b;
	struct bench_row *row;
	double *samples[BC_COUNT] = { 0 };
	char d[16];
	int status = CLI_EXIT_ERROR;

	row = bench_push((void **)&b->rows, &b->nrows, &b->rows_cap, sizeof(*row));
	if (!row)
		return bench_lib_error("realloc", -ENOMEM);
	row->format = t->plan->format;
	row->size = t->size;
	row->iopte = t->iopte;
	row->leaves = t->leaves;
	row->tables = t->tables;
	row->density = density;
	row->no_clear = no_clear;
	for (int c = 0; c < BC_COUNT; c++) {
		row->have[c] = c != BC_THREADS || b->threads;
		row->bitmap_ok[c] = true;
		if (row->have[c]) {
			samples[c] = calloc(b->reps, sizeof(double));
			if (!samples[c]) {
				bench_lib_error("calloc", -ENOMEM);
				goto out;
			}
		}
	}

	/* One untimed round first: the first passes over a fresh table (page
	 * faults, TLB and cache warm-up) would otherwise land in the first
	 * contender's samples. */
	for (int c = 0; c < BC_COUNT; c++) {
		double discarded;

		if (row->have[c] &&
		    run_once(t, (enum bench_contender)c, density, no_clear, b->threads, &discarded))
			goto out;
	}
	/* Repetitions interleave the contenders, so drift hits them alike. */
	for (unsigned int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, "%s: %s dirty%s, repetition %u/%u", t->fmt,
			       bench_density_str(density, d, sizeof(d)),
			       no_clear ? " NO_CLEAR" : "", rep + 1, b->reps);
		for (int c = 0; c < BC_COUNT; c++) {
			if (!row->have[c])
				continue;
			if (run_once(t, (enum bench_contender)c, density, no_clear, b->threads,
				     &samples[c][rep]))
				goto out;
			if (rep || c == BC_STREAM)
				continue;
			if (c == BC_IODIRTY) {
				row->marked = t->marked;
				if (!bitmap_expected(t)) {
					row->bitmap_ok[c] = false;
					mismatch(t, "iodirty", density, no_clear,
						 "does not hold the dirtied leaves");
				}
				memcpy(t->ref, t->data, t->bytes);
			} else if (memcmp(t->ref, t->data, t->bytes)) {
				row->bitmap_ok[c] = false;
				mismatch(t, bench_contender_key[c], density, no_clear,
					 "differs from iodirty's");
			}
		}
	}
	for (int c = 0; c < BC_COUNT; c++)
		if (row->have[c])
			bench_summarize(samples[c], b->reps, &row->st[c]);
	status = 0;
out:
	for (int c = 0; c < BC_COUNT; c++)
		free(samples[c]);
	return status;
}

/* The enable pass: read-and-clear into {no bitmap, a gather}, flags 0, then sync. */
static int run_enable(struct table *t, double density)
{
	struct bench *b = t->b;
	struct bench_enable *e;
	char d[16];

	for (unsigned int rep = 0; rep < b->reps; rep++) {
		struct idt_gather gather;
		struct idt_dirty_record rec = { NULL, &gather };
		double t0;
		int ret;

		bench_progress(b, "%s: enable pass at %s dirty, repetition %u/%u", t->fmt,
			       bench_density_str(density, d, sizeof(d)), rep + 1, b->reps);
		if (set_pattern(t, density))
			return CLI_EXIT_ERROR;
		idt_gather_init(&gather);
		t0 = bench_now_ns();
		ret = idt_pt_read_and_clear_dirty(t->pt, 0, t->size, 0, &rec, IDT_RCD_IODIRTY);
		idt_iommu_sync_gather(t->iommu, TAG, &gather);
		t->samples[rep] = bench_now_ns() - t0;
		if (ret)
			return bench_lib_error("idt_pt_read_and_clear_dirty", ret);
		t->state = 0;
	}
	e = bench_push((void **)&b->enable, &b->nenable, &b->enable_cap, sizeof(*e));
	if (!e)
		return bench_lib_error("realloc", -ENOMEM);
	e->format = t->plan->format;
	e->size = t->size;
	e->iopte = t->iopte;
	e->leaves = t->leaves;
	e->density = density;
	bench_summarize(t->samples, b->reps, &e->st);
	return 0;
}

/* Threads scaling: iodirty_threads with 1..N threads, clearing. */
static int run_scaling(struct table *t, unsigned int threads, double density)
{
	struct bench *b = t->b;
	struct bench_scaling *s;
	bool ok = true;
	char d[16];

	for (unsigned int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, "%s: %u thread%s at %s dirty, repetition %u/%u", t->fmt, threads,
			       threads == 1 ? "" : "s", bench_density_str(density, d, sizeof(d)),
			       rep + 1, b->reps);
		if (run_once(t, BC_THREADS, density, false, threads, &t->samples[rep]))
			return CLI_EXIT_ERROR;
		if (!rep && !bitmap_expected(t)) {
			ok = false;
			mismatch(t, "iodirty_threads (scaling)", density, false,
				 "does not hold the dirtied leaves");
		}
	}
	s = bench_push((void **)&b->scaling, &b->nscaling, &b->scaling_cap, sizeof(*s));
	if (!s)
		return bench_lib_error("realloc", -ENOMEM);
	s->threads = threads;
	s->density = density;
	s->bitmap_ok = ok;
	bench_summarize(t->samples, b->reps, &s->st);
	return 0;
}

/* The SIMD comparison: iodirty with each scan the CPU has, clearing. */
static int run_simd(struct table *t)
{
	static const enum idt_simd scans[] = { IDT_SIMD_SCALAR, IDT_SIMD_AVX2, IDT_SIMD_AVX512 };
	static const double densities[] = { 0, 1 };
	struct bench *b = t->b;
	int status = 0;

	for (unsigned int i = 0; i < sizeof(scans) / sizeof(scans[0]) && !status; i++) {
		if (idt_simd_select(scans[i]))
			continue; /* not available on this CPU or build */
		for (unsigned int k = 0; k < 2 && !status; k++) {
			struct bench_simd_row *s;
			bool ok = true;
			char d[16];

			for (unsigned int rep = 0; rep < b->reps; rep++) {
				bench_progress(b, "%s: %s scan at %s dirty, repetition %u/%u", t->fmt,
					       idt_simd_name(scans[i]),
					       bench_density_str(densities[k], d, sizeof(d)),
					       rep + 1, b->reps);
				status = run_once(t, BC_IODIRTY, densities[k], false, 0,
						  &t->samples[rep]);
				if (status)
					break;
				if (!rep && !bitmap_expected(t)) {
					ok = false;
					mismatch(t, idt_simd_name(scans[i]), densities[k], false,
						 "does not hold the dirtied leaves");
				}
			}
			if (status)
				break;
			s = bench_push((void **)&b->simd, &b->nsimd, &b->simd_cap, sizeof(*s));
			if (!s) {
				status = bench_lib_error("realloc", -ENOMEM);
				break;
			}
			s->scan = scans[i];
			s->density = densities[k];
			s->bitmap_ok = ok;
			bench_summarize(t->samples, b->reps, &s->st);
		}
	}
	idt_simd_select(IDT_SIMD_AUTO);
	return status;
}

static void span_add(void *arg, const uint64_t *items, uint32_t count)
{
	struct table *t = arg;
	struct span *s = bench_push((void **)&t->spans, &t->nspans, &t->spans_cap, sizeof(*s));

	if (!s)
		return; /* counted short: collect_spans reports it */
	s->items = items;
	s->count = count;
	t->span_items += count;
}

/*
 * The leaf tables the stream contender reads.  idt_pt_for_each_leaf_table
 * reports level-0 tables; leaves of 2 MiB and 1 GiB live higher, so those
 * tables are found with a lookup at the start of each table's span.
 */
static int collect_spans(struct table *t)
{
	uint64_t span = t->iopte * ITEMS_PER_TABLE;
	int ret;

	if (t->iopte == BENCH_PAGE) {
		ret = idt_pt_for_each_leaf_table(t->pt, 0, t->size, span_add, t);
		if (ret)
			return bench_lib_error("idt_pt_for_each_leaf_table", ret);
		if (t->span_items == t->leaves)
			return 0;
		t->nspans = 0; /* a partial last table: count it exactly below */
		t->span_items = 0;
	}
	for (uint64_t iova = 0; iova < t->size; iova += span) {
		struct idt_pt_leaf leaf;
		uint64_t n = (t->size - iova) / t->iopte;

		ret = idt_pt_lookup(t->pt, iova, &leaf);
		if (ret)
			return bench_lib_error("idt_pt_lookup", ret);
		if (leaf.size_lg2 != (unsigned int)__builtin_ctzll(t->iopte) || leaf.items != 1) {
			fprintf(stderr, "iodirty bench: %s: 0x%" PRIx64 " is not a natural leaf of "
					"the IOPTE size\n", t->fmt, iova);
			return CLI_EXIT_ERROR;
		}
		/* iova is aligned to the table's span: it indexes the table's first item */
		span_add(t, leaf.item, (uint32_t)(n < ITEMS_PER_TABLE ? n : ITEMS_PER_TABLE));
	}
	if (t->span_items != t->leaves)
		return bench_lib_error("collecting the leaf tables", -ENOMEM);
	return 0;
}

static int table_open(struct table *t)
{
	struct idt_pt_config pcfg = {
		.size = sizeof(pcfg),
		.format = t->plan->format,
		.iova_width = 48,
		.page_sizes = t->iopte,
		.flags = IDT_PT_DIRTY_TRACKING,
	};
	struct idt_iommu_config icfg = {
		.size = sizeof(icfg),
		.format = t->plan->format,
		.cap = idt_iommu_capability(t->plan->format, true),
	};
	struct idt_pt_info info;
	int ret;

	ret = idt_pt_create(&pcfg, &t->pt);
	if (ret)
		return bench_lib_error("idt_pt_create", ret);
	ret = idt_pt_map(t->pt, 0, 0, t->size, IDT_PROT_READ | IDT_PROT_WRITE);
	if (ret)
		return bench_lib_error("idt_pt_map", ret);
	idt_pt_get_info(t->pt, &info);
	t->tables = info.tables;
	ret = idt_iommu_create(&icfg, &t->iommu);
	if (ret)
		return bench_lib_error("idt_iommu_create", ret);
	ret = idt_iommu_attach(t->iommu, DEV, t->pt, TAG);
	if (ret)
		return bench_lib_error("idt_iommu_attach", ret);
	t->attached = true;
	ret = idt_iommu_set_gate(t->iommu, DEV, true);
	if (ret)
		return bench_lib_error("idt_iommu_set_gate", ret);

	ret = idt_bitmap_init(&t->bm, 0, t->size, BENCH_PAGE, NULL);
	if (ret)
		return bench_lib_error("idt_bitmap_init", ret);
	t->bytes = idt_bitmap_bytes(&t->bm);
	t->data = calloc(1, t->bytes);
	t->ref = calloc(1, t->bytes);
	t->samples = calloc(t->b->reps, sizeof(double));
	if (!t->data || !t->ref || !t->samples)
		return bench_lib_error("calloc", -ENOMEM);
	ret = idt_bitmap_init(&t->bm, 0, t->size, BENCH_PAGE, t->data);
	if (ret)
		return bench_lib_error("idt_bitmap_init", ret);
	return collect_spans(t);
}

static void table_close(struct table *t)
{
	if (t->attached)
		idt_iommu_detach(t->iommu, DEV);
	if (t->iommu)
		idt_iommu_destroy(t->iommu);
	idt_pt_destroy(t->pt);
	free(t->data);
	free(t->ref);
	free(t->spans);
	free(t->samples);
}

int bench_run_table(struct bench *b, const struct bench_table_plan *plan)
{
	struct table t = {
		.b = b,
		.plan = plan,
		.size = plan->size,
		.iopte = plan->iopte,
		.leaves = plan->size / plan->iopte,
	};
	char sz[24], io[24], name[64];
	int status;

	if (!stream_span)
		stream_pick();
	snprintf(name, sizeof(name), "%s %s/%s", idt_pt_format_name(plan->format),
		 cli_size_str(plan->size, sz, sizeof(sz)),
		 cli_size_str(plan->iopte, io, sizeof(io)));
	t.fmt = name;
	bench_progress(b, "%s: mapping", name);
	status = table_open(&t);

	for (unsigned int d = 0; d < b->ndensities && !status; d++)
		for (int nc = 0; nc < 2 && !status; nc++)
			status = run_row(&t, b->densities[d], nc);
	if (plan->enable)
		for (int d = 0; d < 2 && !status; d++)
			status = run_enable(&t, d);
	if (plan->reference && !status) {
		for (unsigned int n = 1; n <= b->threads && !status; n++)
			for (int d = 0; d < 2 && !status; d++)
				status = run_scaling(&t, n, d);
		if (!status)
			status = run_simd(&t);
		if (!status) {
			b->ref = *plan;
			b->have_ref = true;
		}
	}
	table_close(&t);
	return status;
}
