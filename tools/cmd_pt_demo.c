/* SPDX-License-Identifier: MIT */
/*
 * iodirty pt-demo: for each of the four page-table formats, builds a small
 * table, dirties a few entries with the format's own make-dirty primitive
 * (what the IOMMU does on a DMA write), harvests them with iodirty's
 * read-and-clear into a 4 KiB bitmap and a gather, and prints the raw items,
 * the bitmap and the gather; then harvests again to show nothing is left.
 *
 * Every format gets the same contiguous layout, so that one harvest covers
 * it without holes (ARM's read-and-clear refuses holes, as Linux 6.11 does):
 *
 *   [0x1f0000, 0x200000)  16 pages of 4 KiB, mapped one by one
 *   [0x200000, 0x400000)  one 2 MiB page
 *   [0x400000, 0x408000)  AMD v1 only: one 32 KiB page, 8 replicated items
 *
 * Output addresses are opaque numbers: oa = iova + DEMO_OA_OFFSET.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iodirty/bitmap.h>
#include <iodirty/pt.h>

#include "cli.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)

#define DEMO_OA_OFFSET 0x40000000ull
#define DEMO_PAGE 4096ull
#define DEMO_RUN_IOVA 0x1f0000ull
#define DEMO_RUN_PAGES 16
#define DEMO_HUGE_IOVA 0x200000ull
#define DEMO_HUGE_SIZE (2 * MiB)
#define DEMO_REPL_IOVA 0x400000ull
#define DEMO_REPL_SIZE (32 * KiB)
#define DEMO_REPL_ITEM 5 /* a non-first replica */

#define DEMO_MAX_ENTRIES (DEMO_RUN_PAGES + 2)
#define DEMO_MAX_ITEMS 16
#define DEMO_MAX_MARKS 8

struct demo_format {
	enum idt_pt_format format;
	uint32_t flags;
	bool replicated;  /* add the 32 KiB replicated page (AMD v1) */
	bool preset_dirty; /* writable leaves start dirty: clean them first */
	const char *preset_why;
};

static const struct demo_format demo_formats[] = {
	{ IDT_PT_AMDV1, IDT_PT_DIRTY_TRACKING, true, false, NULL },
	{ IDT_PT_VTDSS, IDT_PT_DIRTY_TRACKING, false, false, NULL },
	{ IDT_PT_ARM_S1, IDT_PT_DIRTY_TRACKING, false, true,
	  "with dirty tracking, writable leaves get DBM and start dirty (AP[2] = 0)" },
	{ IDT_PT_RISCV, IDT_PT_DIRTY_TRACKING, false, true,
	  "writable leaves are written with A and D preset (formats.md 5.6)" },
};

struct demo_mark {
	uint64_t iova;
	bool item;          /* make_dirty_item rather than make_dirty */
	uint32_t item_index;
};

/* When the items are copied. */
enum demo_snap {
	SNAP_MAPPED,    /* right after map */
	SNAP_BEFORE,    /* before marking (after the clean pass, if any) */
	SNAP_MARKED,    /* after the make-dirty calls */
	SNAP_HARVESTED, /* after the first harvest */
	SNAP_COUNT,
};

struct demo_entry {
	struct idt_pt_leaf leaf;
	uint64_t val[SNAP_COUNT][DEMO_MAX_ITEMS]; /* the items at each snapshot */
};

struct demo_harvest {
	struct idt_bitmap bitmap;
	uint8_t *data;
	struct idt_gather gather;
};

struct demo_result {
	const struct demo_format *df;
	struct idt_pt_info info;
	uint64_t start, end; /* the mapped span [start, end) */
	bool did_clean_pass;
	struct demo_harvest clean_pass, first, second;
	struct demo_mark marks[DEMO_MAX_MARKS];
	unsigned int nmarks;
	struct demo_entry entries[DEMO_MAX_ENTRIES];
	unsigned int nentries;
};

static int lib_error(const char *fmt_name, const char *what, uint64_t iova, int ret)
{
	fprintf(stderr, "iodirty pt-demo: %s: %s(0x%" PRIx64 "): %s\n", fmt_name, what, iova,
		strerror(-ret));
	return CLI_EXIT_ERROR;
}

static void harvest_free(struct demo_harvest *h)
{
	free(h->data);
	h->data = NULL;
}

/* One clearing harvest of [start, end) into a fresh 4 KiB bitmap and gather. */
static int harvest(struct idt_pt *pt, const struct demo_result *r, struct demo_harvest *h)
{
	struct idt_dirty_record rec = { .bitmap = &h->bitmap, .gather = &h->gather };
	int ret;

	ret = idt_bitmap_init(&h->bitmap, r->start, r->end - r->start, DEMO_PAGE, NULL);
	if (ret)
		return lib_error(idt_pt_format_name(r->df->format), "idt_bitmap_init", r->start,
				 ret);
	h->data = calloc(1, idt_bitmap_bytes(&h->bitmap));
	if (!h->data)
		return lib_error(idt_pt_format_name(r->df->format), "calloc", 0, -ENOMEM);
	ret = idt_bitmap_init(&h->bitmap, r->start, r->end - r->start, DEMO_PAGE, h->data);
	if (ret)
		return lib_error(idt_pt_format_name(r->df->format), "idt_bitmap_init", r->start,
				 ret);
	idt_gather_init(&h->gather);
	ret = idt_pt_read_and_clear_dirty(pt, r->start, r->end - r->start, 0, &rec,
					  IDT_RCD_IODIRTY);
	if (ret)
		return lib_error(idt_pt_format_name(r->df->format), "idt_pt_read_and_clear_dirty",
				 r->start, ret);
	return 0;
}

/* Copies the items of every entry into the column chosen by which. */
static int snapshot(struct idt_pt *pt, struct demo_result *r, enum demo_snap which)
{
	for (unsigned int i = 0; i < r->nentries; i++) {
		struct demo_entry *e = &r->entries[i];
		struct idt_pt_leaf leaf;
		uint64_t *col = e->val[which];
		int ret;

		ret = idt_pt_lookup(pt, e->leaf.iova, &leaf);
		if (ret)
			return lib_error(idt_pt_format_name(r->df->format), "idt_pt_lookup",
					 e->leaf.iova, ret);
		for (uint32_t k = 0; k < leaf.items && k < DEMO_MAX_ITEMS; k++)
			col[k] = __atomic_load_n(&leaf.item[k], __ATOMIC_RELAXED);
		if (which == SNAP_MARKED)
			e->leaf.dirty = leaf.dirty;
	}
	return 0;
}

static int run_format(const struct demo_format *df, struct demo_result *r)
{
	const char *name = idt_pt_format_name(df->format);
	struct idt_pt_config cfg = {
		.size = sizeof(cfg),
		.format = df->format,
		.flags = df->flags,
	};
	const int prot = IDT_PROT_READ | IDT_PROT_WRITE;
	struct idt_pt *pt = NULL;
	int ret, status = CLI_EXIT_ERROR;

	memset(r, 0, sizeof(*r));
	r->df = df;
	r->start = DEMO_RUN_IOVA;
	r->end = df->replicated ? DEMO_REPL_IOVA + DEMO_REPL_SIZE : DEMO_HUGE_IOVA + DEMO_HUGE_SIZE;

	ret = idt_pt_create(&cfg, &pt);
	if (ret)
		return lib_error(name ? name : "?", "idt_pt_create", 0, ret);
	idt_pt_get_info(pt, &r->info);

	/* Map. */
	for (unsigned int i = 0; i < DEMO_RUN_PAGES; i++) {
		uint64_t iova = DEMO_RUN_IOVA + i * DEMO_PAGE;

		ret = idt_pt_map(pt, iova, iova + DEMO_OA_OFFSET, DEMO_PAGE, prot);
		if (ret) {
			lib_error(name, "idt_pt_map", iova, ret);
			goto out;
		}
	}
	ret = idt_pt_map(pt, DEMO_HUGE_IOVA, DEMO_HUGE_IOVA + DEMO_OA_OFFSET, DEMO_HUGE_SIZE, prot);
	if (ret) {
		lib_error(name, "idt_pt_map", DEMO_HUGE_IOVA, ret);
		goto out;
	}
	if (df->replicated) {
		ret = idt_pt_map(pt, DEMO_REPL_IOVA, DEMO_REPL_IOVA + DEMO_OA_OFFSET,
				 DEMO_REPL_SIZE, prot);
		if (ret) {
			lib_error(name, "idt_pt_map", DEMO_REPL_IOVA, ret);
			goto out;
		}
	}

	/* The entries, as the table now holds them. */
	for (uint64_t iova = r->start; iova < r->end && r->nentries < DEMO_MAX_ENTRIES;) {
		struct demo_entry *e = &r->entries[r->nentries++];

		ret = idt_pt_lookup(pt, iova, &e->leaf);
		if (ret) {
			lib_error(name, "idt_pt_lookup", iova, ret);
			goto out;
		}
		iova = e->leaf.iova + (1ull << e->leaf.size_lg2);
	}
	if (snapshot(pt, r, SNAP_MAPPED))
		goto out;

	/* Enable-time clean pass where fresh writable leaves start dirty. */
	if (df->preset_dirty) {
		r->did_clean_pass = true;
		if (harvest(pt, r, &r->clean_pass))
			goto out;
	}
	if (snapshot(pt, r, SNAP_BEFORE))
		goto out;

	/* Dirty a few entries, as a DMA write would. */
	static const uint64_t marks[] = {
		DEMO_RUN_IOVA + 3 * DEMO_PAGE,
		DEMO_RUN_IOVA + 10 * DEMO_PAGE, /* 10 and 11 are adjacent: one coalesced record */
		DEMO_RUN_IOVA + 11 * DEMO_PAGE,
		DEMO_HUGE_IOVA + 0xa5000,       /* anywhere inside the 2 MiB page */
	};
	for (unsigned int i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		ret = idt_pt_make_dirty(pt, marks[i]);
		if (ret) {
			lib_error(name, "idt_pt_make_dirty", marks[i], ret);
			goto out;
		}
		r->marks[r->nmarks++] = (struct demo_mark){ .iova = marks[i] };
	}
	if (df->replicated) {
		ret = idt_pt_make_dirty_item(pt, DEMO_REPL_IOVA, DEMO_REPL_ITEM);
		if (ret) {
			lib_error(name, "idt_pt_make_dirty_item", DEMO_REPL_IOVA, ret);
			goto out;
		}
		r->marks[r->nmarks++] = (struct demo_mark){
			.iova = DEMO_REPL_IOVA, .item = true, .item_index = DEMO_REPL_ITEM
		};
	}
	if (snapshot(pt, r, SNAP_MARKED))
		goto out;

	/* Harvest, then harvest again. */
	if (harvest(pt, r, &r->first))
		goto out;
	if (snapshot(pt, r, SNAP_HARVESTED))
		goto out;
	if (harvest(pt, r, &r->second))
		goto out;
	status = CLI_EXIT_OK;
out:
	idt_pt_destroy(pt);
	return status;
}

static uint64_t bits_set(const struct idt_bitmap *b)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < b->nbits; i++)
		n += idt_bitmap_test(b, i);
	return n;
}

/*
 * Calls fn for each maximal run of set bits, as the IOVA range [start, end).
 */
static void for_each_range(const struct idt_bitmap *b,
			   void (*fn)(uint64_t start, uint64_t end, void *arg), void *arg)
{
	for (uint64_t i = 0; i < b->nbits;) {
		uint64_t j;

		if (!idt_bitmap_test(b, i)) {
			i++;
			continue;
		}
		for (j = i; j < b->nbits && idt_bitmap_test(b, j); j++)
			;
		fn(b->iova + (i << b->shift), b->iova + (j << b->shift), arg);
		i = j;
	}
}

/* ---- text output ---- */

static void text_range(uint64_t start, uint64_t end, void *arg)
{
	unsigned int *n = arg;
	char sz[32];

	printf("%s[0x%" PRIx64 ", 0x%" PRIx64 ") %s", (*n)++ ? ", " : "", start, end,
	       cli_size_str(end - start, sz, sizeof(sz)));
}

static void text_harvest(const char *title, const struct demo_harvest *h, bool show_run)
{
	const struct idt_bitmap *b = &h->bitmap;
	unsigned int n = 0;

	printf("  %s: %" PRIu64 " of %" PRIu64 " bits set\n", title, bits_set(b), b->nbits);
	if (show_run) {
		printf("    bits 0-%d (the 4 KiB run): ", DEMO_RUN_PAGES - 1);
		for (uint64_t i = 0; i < DEMO_RUN_PAGES && i < b->nbits; i++)
			putchar(idt_bitmap_test(b, i) ? '1' : '0');
		putchar('\n');
	}
	printf("    dirty: ");
	for_each_range(b, text_range, &n);
	printf("%s\n", n ? "" : "none");
	if (idt_gather_empty(&h->gather))
		printf("    gather: empty\n");
	else
		printf("    gather: [0x%" PRIx64 ", 0x%" PRIx64 "]\n", h->gather.start,
		       h->gather.last);
}

static void text_format(const struct demo_result *r)
{
	const struct demo_format *df = r->df;
	char sz[32], sz2[32];

	printf("== %s: %u levels, iova width %u, granule %s ==\n",
	       idt_pt_format_name(df->format), r->info.levels, r->info.iova_width,
	       cli_size_str(1ull << r->info.granule_lg2, sz, sizeof(sz)));
	printf("  mapped read+write, oa = iova + 0x%llx:\n", DEMO_OA_OFFSET);
	printf("    [0x%llx, 0x%llx) as %d pages of 4 KiB\n", DEMO_RUN_IOVA,
	       DEMO_RUN_IOVA + DEMO_RUN_PAGES * DEMO_PAGE, DEMO_RUN_PAGES);
	printf("    [0x%llx, 0x%llx) as one %s page\n", DEMO_HUGE_IOVA,
	       DEMO_HUGE_IOVA + DEMO_HUGE_SIZE, cli_size_str(DEMO_HUGE_SIZE, sz, sizeof(sz)));
	if (df->replicated)
		printf("    [0x%llx, 0x%llx) as one %s page (replicated items)\n", DEMO_REPL_IOVA,
		       DEMO_REPL_IOVA + DEMO_REPL_SIZE, cli_size_str(DEMO_REPL_SIZE, sz, sizeof(sz)));
	if (r->did_clean_pass) {
		printf("  enable-time clean pass: %s,\n"
		       "  so a first clearing harvest cleans them before any are marked:\n",
		       df->preset_why);
		text_harvest("clean pass", &r->clean_pass, false);
		printf("    e.g. item at 0x%" PRIx64 ": %016" PRIx64 " as mapped, %016" PRIx64
		       " after the clean pass\n",
		       r->entries[0].leaf.iova, r->entries[0].val[SNAP_MAPPED][0],
		       r->entries[0].val[SNAP_BEFORE][0]);
	}
	printf("  marked dirty:");
	for (unsigned int i = 0; i < r->nmarks; i++) {
		const struct demo_mark *m = &r->marks[i];

		if (m->item)
			printf("%s make_dirty_item(0x%" PRIx64 ", item %u)", i ? "," : "", m->iova,
			       m->item_index);
		else
			printf("%s make_dirty(0x%" PRIx64 ")", i ? "," : "", m->iova);
	}
	printf("\n  items (hex):\n");
	printf("    %-10s %-7s %-3s %-4s %-18s %-18s %s\n", "iova", "size", "lvl", "item",
	       "before marking", "after marking", "after harvest");
	for (unsigned int i = 0; i < r->nentries; i++) {
		const struct demo_entry *e = &r->entries[i];

		for (uint32_t k = 0; k < e->leaf.items && k < DEMO_MAX_ITEMS; k++) {
			if (k == 0)
				snprintf(sz2, sizeof(sz2), "0x%" PRIx64, e->leaf.iova);
			else
				sz2[0] = 0;
			printf("    %-10s %-7s %-3u %-4u %016" PRIx64 "   %016" PRIx64 "%s %016" PRIx64
			       "\n",
			       sz2, k ? "" : cli_size_str(1ull << e->leaf.size_lg2, sz, sizeof(sz)),
			       e->leaf.level, k, e->val[SNAP_BEFORE][k], e->val[SNAP_MARKED][k],
			       e->val[SNAP_MARKED][k] != e->val[SNAP_BEFORE][k] ? " *" : "  ",
			       e->val[SNAP_HARVESTED][k]);
		}
	}
	printf("    (* = changed by marking)\n");
	text_harvest("harvest (iodirty read-and-clear, 4 KiB bitmap)", &r->first, true);
	text_harvest("second harvest", &r->second, false);
	printf("\n");
}

/* ---- JSON output ---- */

static void json_range(uint64_t start, uint64_t end, void *arg)
{
	struct json *j = arg;

	json_obj_open(j);
	json_key(j, "start");
	json_hex(j, start);
	json_key(j, "end");
	json_hex(j, end);
	json_obj_close(j);
}

static void json_harvest(struct json *j, const struct demo_harvest *h)
{
	const struct idt_bitmap *b = &h->bitmap;
	char *bits = malloc(b->nbits + 1);

	json_obj_open(j);
	json_key(j, "algorithm");
	json_str(j, "iodirty");
	json_key(j, "bitmap");
	json_obj_open(j);
	json_key(j, "iova");
	json_hex(j, b->iova);
	json_key(j, "last");
	json_hex(j, b->last);
	json_key(j, "page_size");
	json_u64(j, 1ull << b->shift);
	json_key(j, "nbits");
	json_u64(j, b->nbits);
	json_key(j, "set");
	json_u64(j, bits_set(b));
	json_key(j, "bits");
	if (bits) {
		for (uint64_t i = 0; i < b->nbits; i++)
			bits[i] = idt_bitmap_test(b, i) ? '1' : '0';
		bits[b->nbits] = 0;
		json_str(j, bits);
		free(bits);
	} else {
		json_null(j);
	}
	json_obj_close(j);
	json_key(j, "dirty_ranges");
	json_arr_open(j);
	for_each_range(b, json_range, j);
	json_arr_close(j);
	json_key(j, "gather");
	if (idt_gather_empty(&h->gather)) {
		json_null(j);
	} else {
		json_obj_open(j);
		json_key(j, "start");
		json_hex(j, h->gather.start);
		json_key(j, "last");
		json_hex(j, h->gather.last);
		json_obj_close(j);
	}
	json_obj_close(j);
}

static void json_format(struct json *j, const struct demo_result *r)
{
	const struct demo_format *df = r->df;

	json_obj_open(j);
	json_key(j, "format");
	json_str(j, idt_pt_format_name(df->format));
	json_key(j, "levels");
	json_u64(j, r->info.levels);
	json_key(j, "iova_width");
	json_u64(j, r->info.iova_width);
	json_key(j, "granule_lg2");
	json_u64(j, r->info.granule_lg2);
	json_key(j, "oa_offset");
	json_hex(j, DEMO_OA_OFFSET);
	json_key(j, "enable_clean_pass");
	if (r->did_clean_pass) {
		json_obj_open(j);
		json_key(j, "why");
		json_str(j, df->preset_why);
		json_key(j, "harvest");
		json_harvest(j, &r->clean_pass);
		json_obj_close(j);
	} else {
		json_null(j);
	}
	json_key(j, "marks");
	json_arr_open(j);
	for (unsigned int i = 0; i < r->nmarks; i++) {
		json_obj_open(j);
		json_key(j, "op");
		json_str(j, r->marks[i].item ? "make_dirty_item" : "make_dirty");
		json_key(j, "iova");
		json_hex(j, r->marks[i].iova);
		if (r->marks[i].item) {
			json_key(j, "item");
			json_u64(j, r->marks[i].item_index);
		}
		json_obj_close(j);
	}
	json_arr_close(j);
	json_key(j, "entries");
	json_arr_open(j);
	for (unsigned int i = 0; i < r->nentries; i++) {
		const struct demo_entry *e = &r->entries[i];

		json_obj_open(j);
		json_key(j, "iova");
		json_hex(j, e->leaf.iova);
		json_key(j, "oa");
		json_hex(j, e->leaf.oa);
		json_key(j, "size_lg2");
		json_u64(j, e->leaf.size_lg2);
		json_key(j, "level");
		json_u64(j, e->leaf.level);
		json_key(j, "dirty_after_marking");
		json_bool(j, e->leaf.dirty);
		json_key(j, "items");
		json_arr_open(j);
		for (uint32_t k = 0; k < e->leaf.items && k < DEMO_MAX_ITEMS; k++) {
			json_obj_open(j);
			json_key(j, "mapped");
			json_hex(j, e->val[SNAP_MAPPED][k]);
			json_key(j, "before_marking");
			json_hex(j, e->val[SNAP_BEFORE][k]);
			json_key(j, "marked");
			json_hex(j, e->val[SNAP_MARKED][k]);
			json_key(j, "harvested");
			json_hex(j, e->val[SNAP_HARVESTED][k]);
			json_obj_close(j);
		}
		json_arr_close(j);
		json_obj_close(j);
	}
	json_arr_close(j);
	json_key(j, "harvest");
	json_harvest(j, &r->first);
	json_key(j, "second_harvest");
	json_harvest(j, &r->second);
	json_obj_close(j);
}

int cmd_pt_demo(int argc, char **argv)
{
	enum { NFMT = sizeof(demo_formats) / sizeof(demo_formats[0]) };
	static struct demo_result results[NFMT];
	bool as_json = false;
	int status = CLI_EXIT_OK;
	unsigned int done = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: iodirty pt-demo [--json]\n");
			return CLI_EXIT_OK;
		} else
			return cli_bad_option(argv[0], argv[i]);
	}

	for (; done < NFMT; done++) {
		status = run_format(&demo_formats[done], &results[done]);
		if (status)
			break;
	}

	if (!status) {
		if (as_json) {
			struct json j;

			json_begin(&j, stdout);
			json_obj_open(&j);
			json_key(&j, "version");
			json_str(&j, IODIRTY_VERSION);
			json_key(&j, "formats");
			json_arr_open(&j);
			for (unsigned int i = 0; i < NFMT; i++)
				json_format(&j, &results[i]);
			json_arr_close(&j);
			json_obj_close(&j);
			json_end(&j);
		} else {
			printf("iodirty %s pt-demo: make-dirty as an IOMMU would, then harvest\n\n",
			       IODIRTY_VERSION);
			for (unsigned int i = 0; i < NFMT; i++)
				text_format(&results[i]);
		}
	}

	for (unsigned int i = 0; i < NFMT && i <= done; i++) {
		harvest_free(&results[i].clean_pass);
		harvest_free(&results[i].first);
		harvest_free(&results[i].second);
	}
	if (fflush(stdout)) {
		perror("iodirty pt-demo: stdout");
		return CLI_EXIT_ERROR;
	}
	return status;
}
