/* SPDX-License-Identifier: MIT */
/*
 * iodirty bench: shared definitions of the benchmark's parts.
 *
 *   cmd_bench.c     options, the run plan, text and JSON output, targets
 *   bench_harvest.c one table per (format, size, IOPTE): harvest rows, the
 *                   threaded and SIMD comparisons, the enable pass
 *   bench_micro.c   DMA through the emulated IOMMU, bitmap recording
 *   bench_plot.c    PNG charts with gnuplot
 */
#ifndef IODIRTY_TOOLS_BENCH_H
#define IODIRTY_TOOLS_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include <iodirty/pt.h>

#define BENCH_PAGE 4096ull
#define BENCH_KiB (1ull << 10)
#define BENCH_MiB (1ull << 20)
#define BENCH_GiB (1ull << 30)
#define BENCH_MAX_LIST 16

/* A timing summary over the repetitions, in ns. */
struct bench_stats {
	double med, min, max;
};

/* The harvest contenders, in the order they run within a repetition. */
enum bench_contender {
	BC_IODIRTY,
	BC_LEGACY,
	BC_GENERIC_PT,
	BC_THREADS, /* iodirty with --threads N */
	BC_STREAM,
	BC_COUNT
};

extern const char *const bench_contender_key[BC_COUNT];

/* One harvest row: a table, a density and a mode. */
struct bench_row {
	uint32_t format;
	uint64_t size, iopte, leaves;
	uint64_t tables;             /* page-table pages of the mapping */
	double density;
	bool no_clear;
	uint64_t marked;             /* leaves dirtied before each repetition */
	bool have[BC_COUNT];
	struct bench_stats st[BC_COUNT];
	bool bitmap_ok[BC_COUNT];    /* bitmap identical to iodirty's (and to what was dirtied) */
};

/* Enable cost: the stale-bit clearing pass (no bitmap, gather, sync). */
struct bench_enable {
	uint32_t format;
	uint64_t size, iopte, leaves;
	double density;
	struct bench_stats st;
};

/* Threads scaling on the reference row. */
struct bench_scaling {
	unsigned int threads;
	double density;
	struct bench_stats st;
	bool bitmap_ok;
};

/* SIMD comparison on the reference row. */
struct bench_simd_row {
	enum idt_simd scan;
	double density;
	struct bench_stats st;
	bool bitmap_ok;
};

/* One table the plan builds. */
struct bench_table_plan {
	uint32_t format;
	uint64_t size, iopte;
	bool reference; /* the row threads, SIMD and the targets use */
	bool enable;    /* measure the enable pass on this table */
};

/* A row the plan could not run, and why. */
struct bench_skip {
	uint32_t format;
	uint64_t size, iopte;
	char why[96];
};

/* DMA through the emulated IOMMU, per format (ns per operation). */
enum bench_dma_measure {
	BD_MEMCPY,        /* memcpy of 4 KiB */
	BD_GUEST_COPY,    /* idt_guest_copy of 4 KiB (the engine's 8-byte atomic units) */
	BD_WRITE_HIT,     /* idt_dma_write of 4 KiB, translation cached with D set */
	BD_WRITE_MISS,    /* the same without an IOTLB: every transaction walks, D already set */
	BD_WRITE_CLEAN,   /* first write to a clean page without an IOTLB: walk + D update */
	BD_XLATE_HIT,     /* idt_iommu_translate, cached */
	BD_XLATE_MISS,    /* idt_iommu_translate without an IOTLB */
	BD_COUNT
};

extern const char *const bench_dma_key[BD_COUNT];
extern const char *const bench_dma_label[BD_COUNT];

struct bench_dma {
	uint32_t format;
	struct bench_stats st[BD_COUNT];
};

/* Bitmap recording variants. */
enum bench_bitmap_variant {
	BB_BYTE,        /* idt_bitmap_record (byte ORs) */
	BB_BYTE_ATOMIC, /* idt_bitmap_record with bitmap.atomic (atomic byte ORs) */
	BB_WORD,        /* u64-word setter written in the bench */
	BB_WORD_ATOMIC, /* the same with atomic fetch_or on u64 words */
	BB_COUNT
};

extern const char *const bench_bitmap_key[BB_COUNT];

struct bench_bitmap_row {
	enum bench_bitmap_variant variant;
	uint64_t run; /* bytes recorded per call: 4 KiB or 2 MiB */
	struct bench_stats st;
	bool ok;
};

/* Everything one run measures, and how. */
struct bench {
	/* options */
	uint32_t formats[4];
	unsigned int nformats;
	uint64_t sizes[BENCH_MAX_LIST];
	unsigned int nsizes;
	uint64_t ioptes[3];
	unsigned int nioptes;
	double densities[BENCH_MAX_LIST];
	unsigned int ndensities;
	unsigned int reps;
	unsigned int threads; /* 0: no threaded contender */
	bool quick, json, progress;
	const char *plot_dir;
	uint64_t dma_ops;
	uint64_t bitmap_size;

	/* the plan */
	struct bench_table_plan *tables;
	unsigned int ntables;

	/* results */
	struct bench_row *rows;
	unsigned int nrows, rows_cap;
	struct bench_enable *enable;
	unsigned int nenable, enable_cap;
	struct bench_scaling *scaling;
	unsigned int nscaling, scaling_cap;
	struct bench_simd_row *simd;
	unsigned int nsimd, simd_cap;
	struct bench_skip *skips;
	unsigned int nskips, skips_cap;
	struct bench_dma dma[4];
	unsigned int ndma;
	struct bench_bitmap_row bitmap[2 * BB_COUNT];
	unsigned int nbitmap;
	struct bench_table_plan ref; /* the reference table, if any ran */
	bool have_ref;

	unsigned int mismatches; /* bitmaps that differed */
	double elapsed_s;
	unsigned int progress_step, progress_total;
};

/* bench_harvest.c: builds the table and runs what the plan asks of it. */
int bench_run_table(struct bench *b, const struct bench_table_plan *plan);

/* bench_micro.c */
int bench_run_dma(struct bench *b, uint32_t format, struct bench_dma *out);
int bench_run_bitmap(struct bench *b);

/* bench_plot.c: is gnuplot on PATH; write the charts. */
bool bench_have_gnuplot(void);
int bench_plot(const struct bench *b);

/* Helpers (cmd_bench.c). */
double bench_now_ns(void);
void bench_summarize(double *samples, unsigned int n, struct bench_stats *st);
void bench_progress(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bench_lib_error(const char *what, int ret);
/* "0", "0.1%", "1%", "100%" */
const char *bench_density_str(double density, char *buf, unsigned int len);
/* Appends to a growable array; returns the new element (zeroed) or NULL. */
void *bench_push(void **array, unsigned int *count, unsigned int *cap, unsigned int elem);

#endif
