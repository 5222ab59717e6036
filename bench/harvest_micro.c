/* SPDX-License-Identifier: MIT */
/*
 * harvest-micro: times read-and-clear over an AMD v1 table (iova width 48,
 * 4 KiB pages only) holding N GiB of 4 KiB mappings (default 16 GiB = 4M
 * leaves), at 0% and at 100% dirty, for each algorithm (iodirty's own, the
 * generic_pt baseline, the legacy per-page baseline), and a "stream"
 * contender that only reads every leaf table's bytes once (the memory-read
 * floor).  Harvests go into a 4 KiB-granularity bitmap plus a gather.
 *
 * Dirtying every leaf (idt_pt_make_dirty, as the IOMMU would) and clearing
 * the bitmap happen before each repetition and are not timed.
 *
 *   harvest-micro [--size-gib N] [--reps N] [--json]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iodirty/bitmap.h>
#include <iodirty/pt.h>

#define PAGE_LG2 12
#define PAGE (1ull << PAGE_LG2)
#define LEAF_TABLE_SPAN (PAGE << 9) /* 2 MiB: one level-0 table */
#define IOVA_BASE 0ull
#define IOVA_WIDTH 48

enum contender { C_IODIRTY, C_GENERIC_PT, C_LEGACY, C_STREAM, NCONTENDERS };

static const char *const contender_names[NCONTENDERS] = {
	[C_IODIRTY] = "iodirty",
	[C_GENERIC_PT] = "generic_pt",
	[C_LEGACY] = "legacy",
	[C_STREAM] = "stream",
};

static const enum idt_rcd_algo contender_algo[] = {
	[C_IODIRTY] = IDT_RCD_IODIRTY,
	[C_GENERIC_PT] = IDT_RCD_GENERIC_PT,
	[C_LEGACY] = IDT_RCD_LEGACY,
};

struct result {
	double median_ns, min_ns, max_ns;
	bool verified; /* the bitmap held exactly what was dirty */
};

struct bench {
	struct idt_pt *pt;
	uint64_t size;
	uint64_t leaves;
	uint64_t *const *leaf_tables; /* start of each level-0 table */
	uint64_t nleaf_tables;
	uint8_t *bitmap_data;
	struct idt_bitmap bitmap;
	unsigned int reps;
	double *samples;
};

static volatile uint64_t stream_sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(const char *what, int ret)
{
	fprintf(stderr, "harvest-micro: %s: %s\n", what, strerror(-ret));
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void summarize(double *samples, unsigned int n, struct result *r)
{
	qsort(samples, n, sizeof(*samples), cmp_double);
	r->min_ns = samples[0];
	r->max_ns = samples[n - 1];
	r->median_ns = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

/* Marks every leaf dirty through the format's make-dirty primitive. */
static int dirty_all(struct bench *b)
{
	for (uint64_t iova = IOVA_BASE; iova < IOVA_BASE + b->size; iova += PAGE) {
		int ret = idt_pt_make_dirty(b->pt, iova);

		if (ret)
			return fail("idt_pt_make_dirty", ret);
	}
	return 0;
}

/* Is every bitmap byte equal to full (0xff) or empty (0)? */
static bool bitmap_is(const struct bench *b, bool full)
{
	uint64_t bytes = idt_bitmap_bytes(&b->bitmap);
	uint8_t want = full ? 0xff : 0;

	for (uint64_t i = 0; i < bytes; i++) {
		uint8_t v = b->bitmap_data[i];

		/* The last byte may be partial. */
		if (i == bytes - 1 && (b->bitmap.nbits % 8) && full)
			v |= (uint8_t)(0xff << (b->bitmap.nbits % 8));
		if (v != want)
			return false;
	}
	return true;
}

static void stream_once(const struct bench *b)
{
	uint64_t acc = 0;

	for (uint64_t t = 0; t < b->nleaf_tables; t++) {
		const uint64_t *tbl = b->leaf_tables[t];

		for (unsigned int i = 0; i < 512; i++)
			acc ^= tbl[i];
	}
	stream_sink = acc;
}

static int run_contender(struct bench *b, enum contender c, bool dirty, struct result *r)
{
	bool ok = true;

	for (unsigned int rep = 0; rep < b->reps; rep++) {
		struct idt_gather gather;
		struct idt_dirty_record rec = { .bitmap = &b->bitmap, .gather = &gather };
		double t0, t1;
		int ret = 0;

		if (dirty && c != C_STREAM && dirty_all(b))
			return 1;
		memset(b->bitmap_data, 0, idt_bitmap_bytes(&b->bitmap));
		idt_gather_init(&gather);

		t0 = now_ns();
		if (c == C_STREAM)
			stream_once(b);
		else
			ret = idt_pt_read_and_clear_dirty(b->pt, IOVA_BASE, b->size, 0, &rec,
							  contender_algo[c]);
		t1 = now_ns();
		if (ret)
			return fail("idt_pt_read_and_clear_dirty", ret);
		b->samples[rep] = t1 - t0;
		if (c != C_STREAM) {
			ok = ok && bitmap_is(b, dirty);
			ok = ok && (dirty ? gather.start == IOVA_BASE &&
						    gather.last == IOVA_BASE + b->size - 1
					  : idt_gather_empty(&gather));
		}
	}
	summarize(b->samples, b->reps, r);
	r->verified = ok;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: harvest-micro [--size-gib N] [--reps N] [--json]\n"
		   "  --size-gib N  GiB of 4 KiB mappings to harvest (default 16)\n"
		   "  --reps N      timed repetitions per measurement, >= 1 (default 5)\n"
		   "  --json        print one JSON object instead of a table\n");
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

int main(int argc, char **argv)
{
	struct result results[2][NCONTENDERS];
	struct bench b = { .reps = 5 };
	uint64_t size_gib = 16, v;
	bool as_json = false, progress = isatty(STDERR_FILENO);
	struct idt_pt_info info;
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = IDT_PT_AMDV1,
		.iova_width = IOVA_WIDTH,
		.page_sizes = PAGE,
		.flags = IDT_PT_DIRTY_TRACKING,
	};
	uint64_t **tables = NULL;
	double t0, setup_s;
	int ret, status = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
		} else if (!strcmp(argv[i], "--size-gib") && i + 1 < argc) {
			if (!parse_u64(argv[++i], &v) || v == 0 ||
			    v > (1ull << (IOVA_WIDTH - 30))) {
				fprintf(stderr, "harvest-micro: bad --size-gib '%s'\n", argv[i]);
				return 2;
			}
			size_gib = v;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			if (!parse_u64(argv[++i], &v) || v == 0 || v > 100000) {
				fprintf(stderr, "harvest-micro: bad --reps '%s'\n", argv[i]);
				return 2;
			}
			b.reps = (unsigned int)v;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "harvest-micro: unknown or incomplete option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	b.size = size_gib << 30;
	b.leaves = b.size >> PAGE_LG2;
	b.nleaf_tables = b.size / LEAF_TABLE_SPAN;

	/* Set up: map, collect the leaf tables, allocate the bitmap. */
	t0 = now_ns();
	ret = idt_pt_create(&cfg, &b.pt);
	if (ret)
		return fail("idt_pt_create", ret);
	ret = idt_pt_map(b.pt, IOVA_BASE, IOVA_BASE, b.size, IDT_PROT_READ | IDT_PROT_WRITE);
	if (ret) {
		fail("idt_pt_map", ret);
		goto out;
	}
	tables = calloc(b.nleaf_tables, sizeof(*tables));
	b.samples = calloc(b.reps, sizeof(*b.samples));
	if (!tables || !b.samples) {
		fail("calloc", -ENOMEM);
		goto out;
	}
	for (uint64_t t = 0; t < b.nleaf_tables; t++) {
		uint64_t iova = IOVA_BASE + t * LEAF_TABLE_SPAN;
		struct idt_pt_leaf leaf;

		ret = idt_pt_lookup(b.pt, iova, &leaf);
		if (ret) {
			fail("idt_pt_lookup", ret);
			goto out;
		}
		if (leaf.level != 0 || leaf.size_lg2 != PAGE_LG2) {
			fprintf(stderr, "harvest-micro: 0x%" PRIx64 " is not a 4 KiB leaf\n", iova);
			goto out;
		}
		/* iova is 2 MiB-aligned, so it indexes item 0 of its table. */
		tables[t] = leaf.item - ((iova >> PAGE_LG2) & 511);
	}
	b.leaf_tables = tables;
	ret = idt_bitmap_init(&b.bitmap, IOVA_BASE, b.size, PAGE, NULL);
	if (ret) {
		fail("idt_bitmap_init", ret);
		goto out;
	}
	b.bitmap_data = malloc(idt_bitmap_bytes(&b.bitmap));
	if (!b.bitmap_data) {
		fail("malloc", -ENOMEM);
		goto out;
	}
	ret = idt_bitmap_init(&b.bitmap, IOVA_BASE, b.size, PAGE, b.bitmap_data);
	if (ret) {
		fail("idt_bitmap_init", ret);
		goto out;
	}
	idt_pt_get_info(b.pt, &info);
	setup_s = (now_ns() - t0) / 1e9;

	/* A clearing pass first, so that 0% really is 0% (not timed). */
	{
		struct idt_dirty_record rec = { .bitmap = &b.bitmap };

		ret = idt_pt_read_and_clear_dirty(b.pt, IOVA_BASE, b.size, 0, &rec,
						  IDT_RCD_IODIRTY);
		if (ret) {
			fail("idt_pt_read_and_clear_dirty", ret);
			goto out;
		}
	}
	for (int d = 0; d < 2; d++) {
		for (int c = 0; c < NCONTENDERS; c++) {
			if (progress) {
				fprintf(stderr, "\rharvest-micro: %3d%% dirty, %-10s ...", d * 100,
					contender_names[c]);
				fflush(stderr);
			}
			/* At 100%, stream reads tables left dirty by a dirtying pass. */
			if (d && c == C_STREAM && dirty_all(&b))
				goto out;
			if (run_contender(&b, (enum contender)c, d, &results[d][c]))
				goto out;
		}
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");

	if (as_json) {
		printf("{\"bench\":\"harvest-micro\",\"version\":1,\"format\":\"amdv1\","
		       "\"iova_width\":%u,\"levels\":%u,\"page_size\":%llu,\"size_gib\":%" PRIu64
		       ",\"leaves\":%" PRIu64 ",\"leaf_tables\":%" PRIu64 ",\"tables\":%" PRIu64
		       ",\"table_bytes\":%" PRIu64 ",\"bitmap_bytes\":%" PRIu64
		       ",\"reps\":%u,\"setup_s\":%.3f,\"results\":[",
		       info.iova_width, info.levels, PAGE, size_gib, b.leaves, b.nleaf_tables,
		       info.tables, info.tables * 4096, idt_bitmap_bytes(&b.bitmap), b.reps,
		       setup_s);
		for (int d = 0; d < 2; d++) {
			for (int c = 0; c < NCONTENDERS; c++) {
				const struct result *r = &results[d][c];

				printf("%s{\"dirty_pct\":%d,\"contender\":\"%s\",\"median_ms\":%.4f,"
				       "\"min_ms\":%.4f,\"max_ms\":%.4f,\"ns_per_leaf\":%.4f,"
				       "\"ratio_vs_iodirty\":%.4f,\"verified\":%s}",
				       d || c ? "," : "", d * 100, contender_names[c],
				       r->median_ns / 1e6, r->min_ns / 1e6, r->max_ns / 1e6,
				       r->median_ns / (double)b.leaves,
				       r->median_ns / results[d][C_IODIRTY].median_ns,
				       c == C_STREAM ? "null" : r->verified ? "true" : "false");
			}
		}
		printf("]}\n");
	} else {
		printf("harvest-micro: AMD v1, iova width %u (%u levels), 4 KiB pages only\n",
		       info.iova_width, info.levels);
		printf("mapped %" PRIu64 " GiB = %" PRIu64 " leaves in %" PRIu64
		       " leaf tables (%" PRIu64 " tables, %.1f MiB); setup %.2f s\n",
		       size_gib, b.leaves, b.nleaf_tables, info.tables,
		       (double)info.tables * 4096 / (1 << 20), setup_s);
		printf("bitmap at 4 KiB granularity (%" PRIu64 " bytes) + gather; %u repetitions;"
		       " dirtying not timed\n\n",
		       idt_bitmap_bytes(&b.bitmap), b.reps);
		printf("%-6s %-11s %11s %11s %11s %9s %11s %s\n", "dirty", "contender", "median ms",
		       "min ms", "max ms", "ns/leaf", "vs iodirty", "check");
		for (int d = 0; d < 2; d++) {
			for (int c = 0; c < NCONTENDERS; c++) {
				const struct result *r = &results[d][c];

				printf("%-6s %-11s %11.3f %11.3f %11.3f %9.3f %10.2fx %s\n",
				       d ? "100%" : "0%", contender_names[c], r->median_ns / 1e6,
				       r->min_ns / 1e6, r->max_ns / 1e6,
				       r->median_ns / (double)b.leaves,
				       r->median_ns / results[d][C_IODIRTY].median_ns,
				       c == C_STREAM ? "-" : r->verified ? "ok" : "WRONG");
			}
		}
		printf("\nstream = read every leaf table's bytes once (the memory-read floor).\n");
	}
	status = 0;
	for (int d = 0; d < 2; d++)
		for (int c = 0; c < C_STREAM; c++)
			if (!results[d][c].verified) {
				fprintf(stderr, "harvest-micro: %s at %d%% dirty reported a wrong bitmap"
						" or gather\n", contender_names[c], d * 100);
				status = 1;
			}
out:
	idt_pt_destroy(b.pt);
	free(tables);
	free(b.samples);
	free(b.bitmap_data);
	return status;
}
