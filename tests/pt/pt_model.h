/* SPDX-License-Identifier: MIT */
/*
 * The reference model of the page-table library, shared by the randomized
 * test (test_pt_random.c) and the page-table fuzz target (tests/fuzz/pt), so
 * that both check the library against the same independent prediction.
 *
 * The model is a sorted array of the entries map() produced, {iova, size,
 * oa, prot, dirty}, with each format's rules as flags.  It predicts the
 * library's choice of page sizes with its own implementation of formats.md
 * 7.1 (the largest allowed size <= the remaining length that divides both
 * iova and oa), the pieces of a split, the result of unmap, make_dirty and
 * read-and-clear (bitmap bits, gather, errors), and the number of tables
 * allocated.  It assumes 4 KiB granules.  The caller owns the entry array
 * and bounds it.
 */
#ifndef IODIRTY_TESTS_PT_MODEL_H
#define IODIRTY_TESTS_PT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iodirty/pt.h"

/* What distinguishes the formats, as far as the model is concerned. */
struct pt_model_rules {
	bool ro_untrackable;         /* make_dirty on read-only: -EINVAL (formats.md 4.4, 5.4) */
	bool write_implies_read;     /* ARM and RISC-V have no write-only leaves */
	bool writable_starts_dirty;  /* formats.md 4.4 (ARM with tracking), 5.6 (RISC-V) */
	bool holes_are_errors;       /* ARM read-and-clear: -EINVAL on a hole (PT-12) */
	bool dynamic_top;            /* AMD grows its top (formats.md 2.3) */
};

struct pt_model_entry {
	uint64_t iova;
	uint64_t last;   /* inclusive: an entry may end at 2^64 - 1 */
	uint64_t oa;
	unsigned int lg2;
	int prot;
	bool dirty;
};

struct pt_model {
	struct pt_model_rules rules;
	uint64_t sizes;              /* the table's info.page_sizes: what map() may use */
	uint64_t format_sizes;       /* what the format offers (page_sizes 0): split keeps to these */
	struct pt_model_entry *e;    /* sorted, disjoint; owned by the caller */
	size_t n;
};

uint64_t pt_model_entry_size(const struct pt_model_entry *e);
/* Level and item size of an entry: at level L an item covers 2^(12 + 9L)
 * (formats.md 1); AMD replicas and RISC-V NAPOT copies are items of the
 * level their size falls in (formats.md 2.4, 5.3). */
unsigned int pt_model_level(const struct pt_model_entry *e);
unsigned int pt_model_item_lg2(const struct pt_model_entry *e);
unsigned int pt_model_items(const struct pt_model_entry *e);

/* First entry whose last byte is >= addr. */
size_t pt_model_lower(const struct pt_model *m, uint64_t addr);
struct pt_model_entry *pt_model_find(const struct pt_model *m, uint64_t addr);
bool pt_model_overlaps(const struct pt_model *m, uint64_t first, uint64_t last);
/* Replaces entries [i, j) by count entries from pieces. */
void pt_model_replace(struct pt_model *m, size_t i, size_t j, const struct pt_model_entry *pieces,
		      size_t count);

/*
 * The entries map(iova, oa, size, prot) creates in a free range, with the
 * format's permissions and initial dirty state; SIZE_MAX if no allowed size
 * fits or more than max pieces would be needed.
 */
size_t pt_model_map_pieces(const struct pt_model *m, uint64_t iova, uint64_t oa, uint64_t size,
			   int prot, struct pt_model_entry *out, size_t max);

/*
 * The pieces split() turns e (larger than a granule) into: a multi-item
 * entry becomes natural items of its level (unless the format excludes that
 * size, AMD 512 GiB; a page_sizes restriction does not count), a natural
 * leaf becomes leaves of the level below (project decisions).  Returns
 * their count, or SIZE_MAX (out untouched) if there would be more than max.
 */
size_t pt_model_split_pieces(const struct pt_model *m, const struct pt_model_entry *e,
			     struct pt_model_entry *out, size_t max);

/* make_dirty's result on the entry e (NULL: unmapped) with a valid or a bad item index. */
int pt_model_make_dirty_result(const struct pt_model *m, const struct pt_model_entry *e,
			       bool bad_index);

/*
 * unmap(first .. last): -EINVAL if a leaf straddles either end (nothing
 * changes), else 0 with the entries removed, [*from, *to), and their bytes.
 */
int pt_model_unmap_predict(const struct pt_model *m, uint64_t first, uint64_t last, size_t *from,
			   size_t *to, uint64_t *bytes);

/* A read-and-clear and its prediction. */
struct pt_model_rcd {
	/* in */
	uint64_t first, last;        /* the range, inclusive */
	unsigned int shift;          /* bitmap page size lg2; the bitmap starts at first */
	unsigned int algo;           /* enum idt_rcd_algo */
	bool clear;                  /* not IDT_DIRTY_NO_CLEAR */
	unsigned int decoded_width;  /* info.iova_width now (a dynamic top decodes less) */
	/* out */
	int expect;                  /* the return value */
	bool hole;                   /* ARM: the walk meets a hole */
	bool beyond_top;             /* dynamic top: the range is above what the table decodes */
	size_t from, to;             /* entries the walk visits: [from, to) */
	bool any;                    /* something was recorded */
	uint64_t g_start, g_last;    /* the records' union, when any */
};

/*
 * Predicts x->expect, hole, beyond_top, from, to, any, g_start and g_last,
 * and ORs the expected bits into exp (bit n covers first + (n << shift)).
 */
void pt_model_rcd_predict(const struct pt_model *m, struct pt_model_rcd *x, uint8_t *exp);
/* Whether the gather of a harvest that returned 0 holds [g_start, g_last] (or stays empty). */
bool pt_model_rcd_gathers(const struct pt_model_rcd *x);

/* Top level a dynamic-top table needs to decode last (formats.md 2.3). */
unsigned int pt_model_top_needed(uint64_t last);
/*
 * Tables that must exist with the given top level: the root, the grown
 * chain of a dynamic top, and for every level L below the top one table per
 * span of 2^(12 + 9(L + 1)) holding an entry of level <= L (empty tables are
 * freed: issue 2, item 5).
 */
uint64_t pt_model_expected_tables(const struct pt_model *m, unsigned int top);

/*
 * Comparisons with the library: true if it agrees, else false with what
 * differs in msg.  check_entry_at looks at addr inside e; check_unmapped
 * expects nothing at addr; check_addr does whichever the model says.
 */
bool pt_model_check_entry_at(const struct idt_pt *pt, const struct pt_model_entry *e,
			     uint64_t addr, char *msg, size_t len);
bool pt_model_check_unmapped(const struct idt_pt *pt, uint64_t addr, char *msg, size_t len);
bool pt_model_check_addr(const struct pt_model *m, const struct idt_pt *pt, uint64_t addr,
			 char *msg, size_t len);

#endif
