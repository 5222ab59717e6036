/* SPDX-License-Identifier: MIT */
/*
 * dma-micro: the cost of the emulated IOMMU's data path (issue 3), for one
 * format (default AMD v1, 4 KiB mappings, gate on):
 *
 *   memcpy 4 KiB              the floor: a plain copy
 *   guest copy 4 KiB          idt_guest_copy(): the same bytes in 8-byte
 *                             relaxed atomic units, as the DMA engine moves them
 *   dma write 4 KiB, hit      idt_dma_write() of a page whose translation
 *                             is cached with d = 1: no page-table access
 *   dma write 4 KiB, miss     the same with the IOTLB disabled (capacity 0):
 *                             every transaction walks (D already set, no CAS)
 *   translate, hit            idt_iommu_translate() over 256 cached pages
 *   translate, miss           the same with the IOTLB disabled
 *
 * Every loop cycles over the same PAGES pages (1 MiB), so the copies see
 * the same caches.  Each figure is the median over --reps repetitions of --ops operations,
 * in ns per operation; translations per second follow from the hit figure.
 *
 *   dma-micro [--format amdv1|vtdss|arm|riscv] [--reps N] [--ops N] [--json]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iodirty/hw.h>
#include <iodirty/pt.h>

#define PAGE 4096ull
#define PAGES 256
#define IOVA_BASE 0x40000000ull
#define DEV 1
#define TAG 1

enum measure {
	M_MEMCPY,
	M_GUEST_COPY,
	M_WRITE_HIT,
	M_WRITE_MISS,
	M_XLATE_HIT,
	M_XLATE_MISS,
	NMEASURES
};

static const char *const measure_names[NMEASURES] = {
	[M_MEMCPY] = "memcpy 4 KiB",
	[M_GUEST_COPY] = "guest copy 4 KiB",
	[M_WRITE_HIT] = "dma write 4 KiB, IOTLB hit",
	[M_WRITE_MISS] = "dma write 4 KiB, IOTLB miss",
	[M_XLATE_HIT] = "translate, IOTLB hit",
	[M_XLATE_MISS] = "translate, IOTLB miss",
};

static const char *const measure_keys[NMEASURES] = {
	[M_MEMCPY] = "memcpy_4k",
	[M_GUEST_COPY] = "guest_copy_4k",
	[M_WRITE_HIT] = "dma_write_4k_hit",
	[M_WRITE_MISS] = "dma_write_4k_miss",
	[M_XLATE_HIT] = "translate_hit",
	[M_XLATE_MISS] = "translate_miss",
};

struct result {
	double median_ns, min_ns, max_ns; /* per operation */
};

/* An IOMMU with one device on a table mapping PAGES pages of guest memory. */
struct setup {
	struct idt_iommu *iommu;
	struct idt_pt *pt;
};

struct bench {
	uint32_t format;
	unsigned int reps;
	uint64_t ops;
	uint8_t *guest;
	uint8_t *buffer;
	struct setup cached, uncached;
	double *samples;
	volatile uint64_t sink; /* keeps copies from being optimised away */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static uint64_t dirty_cap(uint32_t format)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP;
	case IDT_PT_VTDSS:
		return IDT_VTD_ECAP_SMTS | IDT_VTD_ECAP_SSADS;
	case IDT_PT_ARM_S1:
		return IDT_ARM_IDR0_HTTU_HAD;
	default:
		return IDT_RISCV_CAP_AMO_HWAD;
	}
}

static int setup_open(struct bench *b, struct setup *s, bool iotlb)
{
	struct idt_iommu_config icfg = {
		.size = sizeof(icfg),
		.format = b->format,
		.cap = dirty_cap(b->format),
		.no_iotlb = !iotlb,
	};
	struct idt_pt_config pcfg = {
		.size = sizeof(pcfg),
		.format = b->format,
		.page_sizes = PAGE,
		.flags = IDT_PT_DIRTY_TRACKING,
	};
	int ret;

	ret = idt_iommu_create(&icfg, &s->iommu);
	if (!ret)
		ret = idt_pt_create(&pcfg, &s->pt);
	if (!ret)
		ret = idt_pt_map(s->pt, IOVA_BASE, (uint64_t)(uintptr_t)b->guest, PAGES * PAGE,
				 IDT_PROT_READ | IDT_PROT_WRITE);
	if (!ret)
		ret = idt_iommu_register_memory(s->iommu, b->guest, PAGES * PAGE);
	if (!ret)
		ret = idt_iommu_attach(s->iommu, DEV, s->pt, TAG);
	if (!ret)
		ret = idt_iommu_set_gate(s->iommu, DEV, true);
	/* warm up: every page walked once, D set, translations cached */
	for (unsigned int p = 0; !ret && p < PAGES; p++)
		if (idt_dma_write(s->iommu, DEV, IOVA_BASE + p * PAGE, b->buffer, PAGE, NULL) != PAGE)
			ret = -EFAULT;
	return ret;
}

static void setup_close(struct setup *s)
{
	if (s->iommu) {
		idt_iommu_detach(s->iommu, DEV);
		idt_iommu_destroy(s->iommu);
	}
	idt_pt_destroy(s->pt);
}

/* ns per operation of one repetition; false if an operation failed. */
static bool run_once(struct bench *b, enum measure m, double *ns)
{
	struct idt_pt_walk_result res;
	struct setup *s = (m == M_WRITE_MISS || m == M_XLATE_MISS) ? &b->uncached : &b->cached;
	bool ok = true;
	double t0 = now_ns();

	for (uint64_t i = 0; i < b->ops; i++) {
		uint64_t page = i % PAGES;

		switch (m) {
		case M_MEMCPY:
			memcpy(b->guest + page * PAGE, b->buffer, PAGE);
			break;
		case M_GUEST_COPY:
			idt_guest_copy(b->buffer, b->guest + page * PAGE, PAGE);
			break;
		case M_WRITE_HIT:
		case M_WRITE_MISS:
			ok &= idt_dma_write(s->iommu, DEV, IOVA_BASE + page * PAGE, b->buffer, PAGE,
					    NULL) == PAGE;
			break;
		case M_XLATE_HIT:
		case M_XLATE_MISS:
			ok &= !idt_iommu_translate(s->iommu, DEV, IOVA_BASE + page * PAGE,
						   IDT_ACCESS_READ, &res) &&
			      res.fault == IDT_FAULT_NONE;
			break;
		case NMEASURES:
			break;
		}
	}
	*ns = (now_ns() - t0) / (double)b->ops;
	b->sink += b->guest[PAGE - 1] + b->buffer[0];
	return ok;
}

static bool measure(struct bench *b, enum measure m, struct result *r)
{
	for (unsigned int i = 0; i < b->reps; i++)
		if (!run_once(b, m, &b->samples[i]))
			return false;
	qsort(b->samples, b->reps, sizeof(*b->samples), cmp_double);
	r->min_ns = b->samples[0];
	r->max_ns = b->samples[b->reps - 1];
	r->median_ns = b->reps % 2 ? b->samples[b->reps / 2]
				   : (b->samples[b->reps / 2 - 1] + b->samples[b->reps / 2]) / 2;
	return true;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && *s && !*end;
}

static uint32_t parse_format(const char *s)
{
	for (uint32_t f = IDT_PT_AMDV1; f <= IDT_PT_RISCV; f++)
		if (!strcmp(s, idt_pt_format_name(f)))
			return f;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dma-micro [--format amdv1|vtdss|arm|riscv] [--reps N] [--ops N] [--json]\n"
		   "  --format  page-table format (default amdv1)\n"
		   "  --reps    repetitions per figure, median reported (default 7, at least 5)\n"
		   "  --ops     operations per repetition (default 200000)\n"
		   "  --json    print one JSON object instead of a table\n");
}

int main(int argc, char **argv)
{
	struct bench b = { .format = IDT_PT_AMDV1, .reps = 7, .ops = 200000 };
	struct result results[NMEASURES];
	bool as_json = false;
	uint64_t v;
	int ret, status = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			b.format = parse_format(argv[++i]);
			if (!b.format) {
				fprintf(stderr, "dma-micro: bad --format '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			if (!parse_u64(argv[++i], &v) || v < 5 || v > 10000) {
				fprintf(stderr, "dma-micro: bad --reps '%s' (5..10000)\n", argv[i]);
				return 2;
			}
			b.reps = (unsigned int)v;
		} else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
			if (!parse_u64(argv[++i], &v) || v == 0) {
				fprintf(stderr, "dma-micro: bad --ops '%s'\n", argv[i]);
				return 2;
			}
			b.ops = v;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "dma-micro: unknown or incomplete option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}

	b.guest = aligned_alloc(PAGE, PAGES * PAGE);
	b.buffer = aligned_alloc(PAGE, PAGE);
	b.samples = calloc(b.reps, sizeof(*b.samples));
	if (!b.guest || !b.buffer || !b.samples) {
		fprintf(stderr, "dma-micro: out of memory\n");
		goto out;
	}
	memset(b.guest, 0, PAGES * PAGE);
	memset(b.buffer, 0xa5, PAGE);
	ret = setup_open(&b, &b.cached, true);
	if (!ret)
		ret = setup_open(&b, &b.uncached, false);
	if (ret) {
		fprintf(stderr, "dma-micro: setup: %s\n", strerror(-ret));
		goto out;
	}
	for (int m = 0; m < NMEASURES; m++)
		if (!measure(&b, (enum measure)m, &results[m])) {
			fprintf(stderr, "dma-micro: %s: an operation failed\n", measure_names[m]);
			goto out;
		}

	if (as_json) {
		printf("{\"format\":\"%s\",\"reps\":%u,\"ops\":%" PRIu64 ",\"results\":{",
		       idt_pt_format_name(b.format), b.reps, b.ops);
		for (int m = 0; m < NMEASURES; m++)
			printf("%s\"%s\":{\"median_ns\":%.2f,\"min_ns\":%.2f,\"max_ns\":%.2f}",
			       m ? "," : "", measure_keys[m], results[m].median_ns, results[m].min_ns,
			       results[m].max_ns);
		printf("},\"write_hit_vs_memcpy\":%.2f,\"translations_per_s_hit\":%.0f}\n",
		       results[M_WRITE_HIT].median_ns / results[M_MEMCPY].median_ns,
		       1e9 / results[M_XLATE_HIT].median_ns);
	} else {
		printf("dma-micro: %s, 4 KiB pages, median of %u reps x %" PRIu64 " ops\n",
		       idt_pt_format_name(b.format), b.reps, b.ops);
		printf("%-30s %10s %10s %10s %9s\n", "operation", "ns/op", "min", "max", "x memcpy");
		for (int m = 0; m < NMEASURES; m++)
			printf("%-30s %10.1f %10.1f %10.1f %9.2f\n", measure_names[m],
			       results[m].median_ns, results[m].min_ns, results[m].max_ns,
			       results[m].median_ns / results[M_MEMCPY].median_ns);
		printf("translations per second on hits: %.2f M\n",
		       1e3 / results[M_XLATE_HIT].median_ns);
	}
	status = 0;
out:
	setup_close(&b.cached);
	setup_close(&b.uncached);
	free(b.guest);
	free(b.buffer);
	free(b.samples);
	return status;
}
