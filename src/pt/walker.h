/* SPDX-License-Identifier: MIT */
/*
 * The page-table algorithms, written once over the format hooks of
 * pt_internal.h and stamped out per format: a format's .c file includes its
 * fmt/<name>.h, defines PT_OPS_NAME and includes this file, so every hook
 * inlines into every walk.
 *
 * Each walk is a single pass over [iova, last] (inclusive, so the top of the
 * address space is reachable): a recursive descent that visits each table
 * once and each item once.  Items are read with atomic loads; items hardware
 * may update concurrently are written only by compare-and-swap or atomic RMW.
 */
#ifndef PT_OPS_NAME
#error "define PT_OPS_NAME and include a format header before walker.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "pt/pt_internal.h"

/* ---- geometry ---------------------------------------------------------- */

static inline unsigned int w_index(const struct idt_pt *pt, uint64_t iova, unsigned int level,
				   unsigned int top_level)
{
	unsigned int bits = pt_index_bits(pt, level, top_level);

	return (unsigned int)((iova >> pt_item_lg2(pt, level)) & ((1ull << bits) - 1));
}

/* First IOVA of the item at index in the table that contains table_iova. */
static inline uint64_t w_item_start(const struct idt_pt *pt, uint64_t table_iova,
				    unsigned int level, unsigned int top_level, unsigned int index)
{
	unsigned int item_lg2 = pt_item_lg2(pt, level);
	unsigned int table_lg2 = item_lg2 + pt_index_bits(pt, level, top_level);
	uint64_t base = table_lg2 >= 64 ? 0 : table_iova & ~((1ull << table_lg2) - 1);

	return base + ((uint64_t)index << item_lg2);
}

/* Last index of this table that [.., last] reaches. */
static inline unsigned int w_end_index(const struct idt_pt *pt, uint64_t cursor, uint64_t last,
				       unsigned int level, unsigned int top_level)
{
	unsigned int bits = pt_index_bits(pt, level, top_level);
	unsigned int table_lg2 = pt_item_lg2(pt, level) + bits;

	/* Does last lie beyond this table's span? */
	if (table_lg2 < 64 && (cursor >> table_lg2) != (last >> table_lg2))
		return (1u << bits) - 1;
	return w_index(pt, last, level, top_level);
}

/* Items a leaf of size_lg2 occupies at this level. */
static inline unsigned int w_leaf_items(const struct idt_pt *pt, unsigned int level,
					unsigned int size_lg2)
{
	return 1u << (size_lg2 - pt_item_lg2(pt, level));
}

static inline unsigned int w_size_level(const struct idt_pt *pt, unsigned int size_lg2)
{
	return (size_lg2 - pt->granule_lg2) / PT_ITEM_BITS;
}

static inline bool w_run_dirty(const uint64_t *run, unsigned int items)
{
	bool dirty = false;

	for (unsigned int i = 0; i < items; i++)
		dirty |= fmt_is_dirty(pt_load(&run[i]));
	return dirty;
}

/* ---- lookup ------------------------------------------------------------ */

struct w_found {
	uint64_t *run;        /* first item of the entry */
	uint64_t *item;       /* the item iova indexes */
	uint64_t value;       /* that item's value */
	uint64_t entry_iova;
	unsigned int level;
	unsigned int size_lg2; /* whole entry; else the stopped level's item size */
	unsigned int items;
};

/* Walks to the leaf covering iova: 0, or -ENOENT with found->size_lg2 the
 * item size of the level where the walk stopped (the legacy algorithm's S). */
static int w_find(const struct idt_pt *pt, uint64_t iova, struct w_found *found)
{
	uint64_t top = atomic_load_explicit(&((struct idt_pt *)pt)->top, memory_order_acquire);
	unsigned int top_level = pt_top_level(top);
	uint64_t *table = pt_top_table(top);

	if (iova > pt_last_iova_at(pt, top_level)) {
		found->size_lg2 = pt_width_at(pt, top_level);
		return -ENOENT;
	}
	for (unsigned int level = top_level;; level--) {
		unsigned int index = w_index(pt, iova, level, top_level);
		uint64_t item = pt_load(&table[index]);

		found->size_lg2 = pt_item_lg2(pt, level);
		switch (fmt_classify(pt, level, item)) {
		case PT_TABLE:
			table = fmt_table_ptr(item);
			continue;
		case PT_LEAF: {
			unsigned int size_lg2 = fmt_leaf_size_lg2(pt, level, item);
			unsigned int items = w_leaf_items(pt, level, size_lg2);
			unsigned int first = index & ~(items - 1);

			found->run = &table[first];
			found->item = &table[index];
			found->value = item;
			found->level = level;
			found->size_lg2 = size_lg2;
			found->items = items;
			found->entry_iova = iova & ~(pt_lg2_to_size(size_lg2) - 1);
			return 0;
		}
		default:
			return -ENOENT;
		}
	}
}

static int w_lookup(const struct idt_pt *pt, uint64_t iova, struct idt_pt_leaf *leaf)
{
	struct w_found found;
	int ret = w_find(pt, iova, &found);

	if (ret)
		return ret;
	leaf->iova = found.entry_iova;
	leaf->oa = fmt_leaf_oa(pt, found.level, found.value, found.size_lg2);
	leaf->size_lg2 = found.size_lg2;
	leaf->level = found.level;
	leaf->items = found.items;
	leaf->prot = fmt_leaf_prot(found.value);
	leaf->dirty = w_run_dirty(found.run, found.items);
	leaf->item = found.item;
	return 0;
}

/* ---- tables ------------------------------------------------------------ */

/* The child table of the item at *slot, installing a new one if it is empty.
 * Table installation is a CAS from 0: the loser frees its table. */
static int w_child(struct idt_pt *pt, uint64_t *slot, unsigned int level, uint64_t **child)
{
	uint64_t item = pt_load(slot);

	for (;;) {
		uint64_t *fresh;

		switch (fmt_classify(pt, level, item)) {
		case PT_TABLE:
			*child = fmt_table_ptr(item);
			return 0;
		case PT_EMPTY:
			break;
		default:
			return -EEXIST;
		}
		fresh = pt_table_alloc(pt, PT_ITEM_BITS);
		if (!fresh)
			return -ENOMEM;
		if (pt_cas(slot, &item, fmt_make_table(pt, level, fresh))) {
			*child = fresh;
			return 0;
		}
		pt_table_free(pt, fresh);
	}
}

static bool w_table_empty(const uint64_t *table, unsigned int bits)
{
	for (unsigned int i = 0; i < (1u << bits); i++)
		if (pt_load(&table[i]))
			return false;
	return true;
}

static void w_free_tree(struct idt_pt *pt, uint64_t *table, unsigned int level,
			unsigned int top_level)
{
	unsigned int bits = pt_index_bits(pt, level, top_level);

	if (level > 0) {
		for (unsigned int i = 0; i < (1u << bits); i++) {
			uint64_t item = pt_load(&table[i]);

			if (fmt_classify(pt, level, item) == PT_TABLE)
				w_free_tree(pt, fmt_table_ptr(item), level - 1, top_level);
		}
	}
	pt_table_free(pt, table);
}

static void w_destroy(struct idt_pt *pt)
{
	uint64_t top = atomic_load(&pt->top);

	w_free_tree(pt, pt_top_table(top), pt_top_level(top), pt_top_level(top));
}

/* Adds levels on top until the table decodes last (AMD's dynamic top). */
static int w_grow(struct idt_pt *pt, uint64_t last)
{
	uint64_t top = atomic_load(&pt->top);

	while (last > pt_last_iova_at(pt, pt_top_level(top))) {
		unsigned int level = pt_top_level(top) + 1;
		uint64_t *root;

		if (pt_top_level(top) >= pt->max_top_level)
			return -EINVAL;
		root = pt_table_alloc(pt, pt_index_bits(pt, level, level));
		if (!root)
			return -ENOMEM;
		/* entry 0 of the new root points at the old root */
		root[0] = fmt_make_table(pt, level, pt_top_table(top));
		if (!atomic_compare_exchange_strong(&pt->top, &top, (uint64_t)(uintptr_t)root | level))
			pt_table_free(pt, root);
		else
			top = (uint64_t)(uintptr_t)root | level;
	}
	return 0;
}

/* ---- map --------------------------------------------------------------- */

struct w_map {
	struct idt_pt *pt;
	uint64_t iova;  /* cursor */
	uint64_t oa;    /* cursor */
	uint64_t last;
	int prot;
	unsigned int top_level;
	bool done;      /* the cursor passed last (it may have wrapped to 0) */
};

/* The largest allowed size that fits the rest of the range and aligns both
 * cursors (formats.md 7.1: Linux's best-page-size selection). */
static unsigned int w_best_size(const struct w_map *m)
{
	uint64_t align = m->iova | m->oa;
	uint64_t fits = m->pt->page_sizes;
	uint64_t remaining_minus_one = m->last - m->iova;

	if (align)
		fits &= (align & -align) | ((align & -align) - 1);
	/* sizes <= remaining: every size s with s - 1 <= remaining - 1 */
	if (remaining_minus_one < UINT64_MAX) {
		uint64_t remaining = remaining_minus_one + 1;
		unsigned int top_bit = 63 - (unsigned int)__builtin_clzll(remaining);

		fits &= top_bit >= 63 ? ~0ull : (2ull << top_bit) - 1;
	}
	return fits ? 63 - (unsigned int)__builtin_clzll(fits) : 0;
}

static int w_map_table(struct w_map *m, uint64_t *table, unsigned int level)
{
	struct idt_pt *pt = m->pt;
	unsigned int index = w_index(pt, m->iova, level, m->top_level);
	unsigned int end = w_end_index(pt, m->iova, m->last, level, m->top_level);

	while (!m->done && index <= end) {
		unsigned int size_lg2 = w_best_size(m);
		unsigned int size_level = w_size_level(pt, size_lg2);
		int ret;

		if (!size_lg2)
			return -EINVAL;
		if (size_level == level) {
			unsigned int items = w_leaf_items(pt, level, size_lg2);
			uint64_t value = fmt_make_leaf(pt, level, m->oa, size_lg2, m->prot);
			uint64_t size = pt_lg2_to_size(size_lg2);

			for (unsigned int i = 0; i < items; i++)
				if (pt_load(&table[index + i]))
					return -EEXIST;
			for (unsigned int i = 0; i < items; i++)
				pt_store(&table[index + i], value);
			index += items;
			m->done = size - 1 == m->last - m->iova;
			m->iova += size;
			m->oa += size;
			continue;
		}
		if (size_level > level || level == 0)
			return -EINVAL;
		{
			uint64_t *child;

			ret = w_child(pt, &table[index], level, &child);
			if (ret)
				return ret;
			ret = w_map_table(m, child, level - 1);
			if (ret)
				return ret;
			index++;
		}
	}
	return 0;
}

static int w_unmap(struct idt_pt *pt, uint64_t iova, uint64_t last, uint64_t *unmapped,
		   struct idt_pt_free_list *list);

/*
 * The old roots under a grown top stay, as in Linux: the chain from the top
 * root through item 0 down to the level the table was created with.
 */
static inline bool w_on_root_chain(const struct idt_pt *pt, bool parent_on_chain,
				   unsigned int index, unsigned int child_level)
{
	return parent_on_chain && index == 0 && child_level >= pt->base_top_level;
}

/* Frees the empty tables on the path to iova, bottom up. */
static void w_prune(struct idt_pt *pt, uint64_t *table, unsigned int level,
		    unsigned int top_level, uint64_t iova, bool on_chain)
{
	unsigned int index = w_index(pt, iova, level, top_level);
	uint64_t *slot = &table[index];
	uint64_t item = pt_load(slot);
	bool child_on_chain = w_on_root_chain(pt, on_chain, index, level - 1);
	uint64_t *child;

	if (level == 0 || fmt_classify(pt, level, item) != PT_TABLE)
		return;
	child = fmt_table_ptr(item);
	w_prune(pt, child, level - 1, top_level, iova, child_on_chain);
	if (!child_on_chain && w_table_empty(child, PT_ITEM_BITS)) {
		pt_store(slot, 0);
		pt_table_free(pt, child);
	}
}

static int w_map(struct idt_pt *pt, uint64_t iova, uint64_t oa, uint64_t size, int prot)
{
	struct w_map m = { .pt = pt, .iova = iova, .oa = oa, .last = iova + size - 1, .prot = prot };
	uint64_t top;
	int ret;

	if (pt->flags & IDT_PT_DYNAMIC_TOP) {
		ret = w_grow(pt, m.last);
		if (ret)
			return ret;
	}
	top = atomic_load(&pt->top);
	m.top_level = pt_top_level(top);
	if (m.last > pt_last_iova_at(pt, m.top_level))
		return -EINVAL;
	ret = w_map_table(&m, pt_top_table(top), m.top_level);
	if (ret) {
		/* All or nothing: remove exactly what this call installed, then
		 * any table it left empty on the way to where it failed. */
		if (m.iova != iova)
			w_unmap(pt, iova, m.iova - 1, NULL, NULL);
		w_prune(pt, pt_top_table(top), m.top_level, m.top_level, m.iova, true);
	}
	return ret;
}

/* ---- unmap ------------------------------------------------------------- */

/*
 * Unlinks an emptied child table and frees it, or, with a free list, keeps
 * it there until the caller has invalidated and drained, so that a walk in
 * flight never reads freed memory.  A list that cannot grow leaves the
 * table linked (empty tables are harmless) rather than freeing it early,
 * and the result is false.
 */
static bool w_retire_table(struct idt_pt *pt, uint64_t *slot, uint64_t *child,
			   struct idt_pt_free_list *list)
{
	if (list && list->count == list->capacity) {
		uint32_t capacity = list->capacity ? 2 * list->capacity : 16;
		void **tables = mem_realloc(list->tables, capacity * sizeof(*tables));

		if (!tables)
			return false;
		list->tables = tables;
		list->capacity = capacity;
	}
	pt_store(slot, 0);
	if (list)
		list->tables[list->count++] = child;
	else
		pt_table_free(pt, child);
	return true;
}

/* Sets *kept when an emptied table under table stays linked (w_retire_table
 * could not list it): table is then not empty even if its whole span was
 * unmapped, and freeing it would lose that table. */
static uint64_t w_unmap_table(struct idt_pt *pt, uint64_t *table, unsigned int level,
			      unsigned int top_level, uint64_t cursor, uint64_t last,
			      bool on_chain, struct idt_pt_free_list *list, bool *kept)
{
	unsigned int index = w_index(pt, cursor, level, top_level);
	unsigned int end = w_end_index(pt, cursor, last, level, top_level);
	unsigned int item_lg2 = pt_item_lg2(pt, level);
	uint64_t bytes = 0;

	while (index <= end) {
		uint64_t item = pt_load(&table[index]);
		uint64_t start = w_item_start(pt, cursor, level, top_level, index);
		uint64_t item_last = start + (pt_lg2_to_size(item_lg2) - 1);

		switch (fmt_classify(pt, level, item)) {
		case PT_LEAF: {
			unsigned int size_lg2 = fmt_leaf_size_lg2(pt, level, item);
			unsigned int items = w_leaf_items(pt, level, size_lg2);
			unsigned int first = index & ~(items - 1);

			for (unsigned int i = 0; i < items; i++)
				pt_store(&table[first + i], 0);
			bytes += pt_lg2_to_size(size_lg2);
			index = first + items;
			continue;
		}
		case PT_TABLE: {
			uint64_t *child = fmt_table_ptr(item);
			uint64_t from = start > cursor ? start : cursor;
			uint64_t to = item_last < last ? item_last : last;

			bool child_on_chain = w_on_root_chain(pt, on_chain, index, level - 1);
			bool child_kept = false;

			bytes += w_unmap_table(pt, child, level - 1, top_level, from, to,
					       child_on_chain, list, &child_kept);
			/* a child whose whole span was unmapped is empty without looking */
			if (!child_on_chain &&
			    ((from == start && to == item_last && !child_kept) ||
			     w_table_empty(child, PT_ITEM_BITS))) {
				if (!w_retire_table(pt, &table[index], child, list))
					*kept = true;
			} else if (child_kept) {
				*kept = true;
			}
			break;
		}
		default:
			break;
		}
		index++;
	}
	return bytes;
}

static int w_unmap(struct idt_pt *pt, uint64_t iova, uint64_t last, uint64_t *unmapped,
		   struct idt_pt_free_list *list)
{
	uint64_t top = atomic_load(&pt->top);
	unsigned int top_level = pt_top_level(top);
	struct w_found found;
	bool kept = false; /* the top table is never retired */
	uint64_t bytes;

	if (iova > pt_last_iova_at(pt, top_level)) {
		if (unmapped)
			*unmapped = 0;
		return 0;
	}
	if (last > pt_last_iova_at(pt, top_level))
		last = pt_last_iova_at(pt, top_level);
	/* Only the two ends can straddle a leaf; refuse before changing anything. */
	if (!w_find(pt, iova, &found) && found.entry_iova < iova)
		return -EINVAL;
	if (!w_find(pt, last, &found) &&
	    found.entry_iova + (pt_lg2_to_size(found.size_lg2) - 1) > last)
		return -EINVAL;
	bytes = w_unmap_table(pt, pt_top_table(top), top_level, top_level, iova, last, true, list,
			      &kept);
	if (unmapped)
		*unmapped = bytes;
	return 0;
}

/* ---- split ------------------------------------------------------------- */

/* One natural leaf of level's item size at item_oa, carrying the entry's
 * permissions and, if the entry was dirty, its dirty state. */
static uint64_t w_piece(struct idt_pt *pt, unsigned int level, uint64_t item_oa, int prot,
			bool dirty)
{
	uint64_t value = fmt_make_leaf(pt, level, item_oa, pt_item_lg2(pt, level), prot);

	return dirty ? fmt_dirtied(value) : fmt_cleaned(value);
}

/* Sets an item's dirty state by CAS, as a hardware write would. */
static void w_mark_dirty(uint64_t *item)
{
	uint64_t old = pt_load(item);

	while (!fmt_is_dirty(old) && !pt_cas(item, &old, fmt_dirtied(old)))
		;
}

/*
 * Replaces each item of the run by its pieces, with one CAS per item: the
 * natural leaves of its own level (in place) or a table of natural leaves of
 * the level below.  A failed CAS means hardware set A or D meanwhile: retry
 * with the fresh value.  Returns whether any replaced item was dirty.
 */
static bool w_split_items(struct idt_pt *pt, const struct w_found *found, uint64_t oa, int prot,
			  bool entry_dirty, uint64_t **children)
{
	unsigned int level = found->level;
	bool saw_dirty = false;

	for (unsigned int i = 0; i < found->items; i++) {
		uint64_t item_oa = oa + ((uint64_t)i << pt_item_lg2(pt, level));
		uint64_t old = pt_load(&found->run[i]);
		uint64_t new;

		do {
			bool dirty = entry_dirty || fmt_is_dirty(old);

			if (children) {
				for (unsigned int j = 0; j < (1u << PT_ITEM_BITS); j++)
					children[i][j] = w_piece(
						pt, level - 1,
						item_oa + ((uint64_t)j << pt_item_lg2(pt, level - 1)),
						prot, dirty);
				new = fmt_make_table(pt, level, children[i]);
			} else {
				new = w_piece(pt, level, item_oa, prot, dirty);
			}
		} while (!pt_cas(&found->run[i], &old, new));
		saw_dirty |= fmt_is_dirty(old);
	}
	return saw_dirty;
}

static int w_split(struct idt_pt *pt, uint64_t iova)
{
	uint64_t *children[1u << (PT_ITEM_BITS - 1)]; /* a run is at most half a table */
	struct w_found found;
	unsigned int level;
	bool entry_dirty, in_place;
	uint64_t oa;
	int prot;
	int ret = w_find(pt, iova, &found);

	if (ret)
		return ret;
	level = found.level;
	oa = fmt_leaf_oa(pt, level, found.value, found.size_lg2);
	prot = fmt_leaf_prot(found.value);
	entry_dirty = w_run_dirty(found.run, found.items);
	/* A multi-item entry becomes natural items of its level, unless the
	 * format excludes that size (AMD 512 GiB): then it goes a level down. */
	in_place = found.items > 1 &&
		   (fmt_level_sizes(pt, level) & pt_lg2_to_size(pt_item_lg2(pt, level)));
	if (!in_place) {
		if (level == 0)
			return -EINVAL;
		/* all tables first, so the split is all or nothing */
		for (unsigned int i = 0; i < found.items; i++) {
			children[i] = pt_table_alloc(pt, PT_ITEM_BITS);
			if (!children[i]) {
				while (i--)
					pt_table_free(pt, children[i]);
				return -ENOMEM;
			}
		}
	}
	/* An AMD write may set D in any replica, including one already
	 * replaced whose pieces do not cover the written page: if a replaced
	 * item turned out dirty, every piece must be dirty. */
	if (w_split_items(pt, &found, oa, prot, entry_dirty, in_place ? NULL : children) &&
	    !entry_dirty) {
		for (unsigned int i = 0; i < found.items; i++)
			for (unsigned int j = 0; j < (in_place ? 1u : 1u << PT_ITEM_BITS); j++)
				w_mark_dirty(in_place ? &found.run[i] : &children[i][j]);
	}
	return 0;
}

/* ---- dirty primitives -------------------------------------------------- */

static int w_make_clean(struct idt_pt *pt, uint64_t iova)
{
	struct w_found found;
	int ret = w_find(pt, iova, &found);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < found.items; i++)
		fmt_test_and_clean_atomic(&found.run[i]);
	return 0;
}

static int w_make_dirty_item(struct idt_pt *pt, uint64_t iova, uint32_t item_index)
{
	struct w_found found;
	uint64_t *item;
	uint64_t old;
	int ret = w_find(pt, iova, &found);

	if (ret)
		return ret;
	if (item_index == UINT32_MAX)
		item = found.item;
	else if (item_index < found.items)
		item = &found.run[item_index];
	else
		return -EINVAL;
	old = pt_load(item);
	if (fmt_classify(pt, found.level, old) != PT_LEAF)
		return -EAGAIN;
	if (!fmt_trackable(old))
		return -EINVAL;
	if (fmt_is_dirty(old))
		return 0;
	return pt_cas(item, &old, fmt_dirtied(old)) ? 0 : -EAGAIN;
}

/* ---- read and clear dirty ---------------------------------------------- */

struct w_rcd {
	struct idt_pt *pt;
	uint64_t last;
	struct idt_dirty_record *record;
	unsigned int top_level;
	bool clear;
	/* iodirty coalesces adjacent dirty leaves into one pending run */
	uint64_t run_start;
	uint64_t run_length;
	pt_scan_fn scan; /* iodirty's leaf-table scan */
	const uint64_t *ahead; /* the leaf table W_PREFETCH_AHEAD after the scanned one, or NULL */
	/* a threaded walk leaves entries reaching outside [own_first,
	 * own_last] to the joining thread (single walks own everything) */
	uint64_t own_first;
	uint64_t own_last;
};

static void w_emit(struct w_rcd *r, uint64_t start, uint64_t length)
{
	if (r->record->bitmap)
		idt_bitmap_record(r->record->bitmap, start, length);
	if (r->clear && r->record->gather)
		idt_gather_add(r->record->gather, start, length);
}

static inline void w_flush_run(struct w_rcd *r)
{
	if (r->run_length)
		w_emit(r, r->run_start, r->run_length);
	r->run_length = 0;
}

/* Adds [start, start + length) to the pending run, flushing a run it does
 * not continue. */
static inline void w_extend_run(struct w_rcd *r, uint64_t start, uint64_t length)
{
	if (r->run_length && r->run_start + r->run_length == start) {
		r->run_length += length;
	} else {
		w_flush_run(r);
		r->run_start = start;
		r->run_length = length;
	}
}

/*
 * Cleans every dirty item of a run with a plain load and store, as Linux
 * 6.19 does on AMD and VT-d: hardware only ever sets A and D, so an item
 * seen dirty cannot gain anything but A meanwhile, and a D set in another
 * replica belongs to a page reported this round anyway (algorithms.md 3).
 * On ARM an item seen dirty with AF set (FMT_DIRTY_SETTLED) leaves
 * hardware nothing to change, so iodirty stores there too, where Linux
 * uses set_bit (formats.md 4.4; compat.md); the generic_pt baseline keeps
 * Linux's atomic, and so does an ARM item with AF clear.
 */
static inline void w_clean_run(uint64_t *run, unsigned int items, const bool generic)
{
	for (unsigned int i = 0; i < items; i++) {
		uint64_t value = pt_load(&run[i]);

		if (!fmt_is_dirty(value))
			continue;
		if ((generic && FMT_CLEAN_NEEDS_ATOMIC) ||
		    (value & FMT_DIRTY_SETTLED) != FMT_DIRTY_SETTLED)
			fmt_clean_seen_dirty_atomic(&run[i]);
		else
			pt_store(&run[i], fmt_cleaned(value));
	}
}

/*
 * Handles the leaf at index (a single item or a multi-item run): reports it
 * if any item of the run is dirty, cleans it, and returns the index of the
 * run's last item so the caller continues after it.
 */
static inline unsigned int w_rcd_leaf(struct w_rcd *r, uint64_t *table, unsigned int level,
				      uint64_t cursor, unsigned int index, unsigned int end,
				      uint64_t item, const bool generic)
{
	struct idt_pt *pt = r->pt;
	unsigned int item_lg2 = pt_item_lg2(pt, level);
	unsigned int size_lg2 = fmt_leaf_size_lg2(pt, level, item);
	unsigned int items = w_leaf_items(pt, level, size_lg2);
	unsigned int first = index & ~(items - 1);
	unsigned int stop = first + items - 1 < end ? first + items - 1 : end;
	/* generic_pt starts at the current item, iodirty at the entry's start */
	uint64_t start = w_item_start(pt, cursor, level, r->top_level, generic ? index : first);

	if (items == 1 ? !fmt_is_dirty(item) : !w_run_dirty(&table[first], items))
		return first + items - 1;
	if (!generic) {
		uint64_t entry_first = w_item_start(pt, cursor, level, r->top_level, first);

		if (entry_first < r->own_first ||
		    entry_first + (pt_lg2_to_size(size_lg2) - 1) > r->own_last)
			return first + items - 1;
	}
	if (start < cursor)
		start = cursor;
	if (generic) {
		/* Linux 6.19: from the cursor, the items up to the run's end
		 * (clamped to this walk's end index), unclipped */
		w_emit(r, start, (uint64_t)(stop - index + 1) << item_lg2);
	} else {
		/* exactly the entry's part of [cursor, last], coalesced with the
		 * previous dirty entry when adjacent */
		uint64_t entry_last = w_item_start(pt, cursor, level, r->top_level, first) +
				      (pt_lg2_to_size(size_lg2) - 1);

		w_extend_run(r, start, (entry_last < r->last ? entry_last : r->last) - start + 1);
	}
	if (r->clear)
		w_clean_run(&table[first], items, generic);
	return first + items - 1;
}

/*
 * iodirty's pass over a leaf-only table.  The scan (scan.c, vectorised
 * where the CPU allows) marks the items that need a look: dirty ones, and
 * for ARM non-pages; clean items cost one load and one compare, and groups
 * of 8 dirty natural leaves are recorded (and cleaned) by the scan itself,
 * so at 100% each item is read and written once.  The first
 * and last item of the walk always get a look, since their runs may reach
 * outside it.  A natural single-item leaf inside the walk is recorded and
 * cleaned inline; anything else goes through w_rcd_leaf.
 */
static int w_rcd_leaf_table(struct w_rcd *r, uint64_t *table, uint64_t cursor)
{
	static const struct pt_scan_key key = {
		.dirty_mask = FMT_SCAN_DIRTY_MASK,
		.dirty_value = FMT_SCAN_DIRTY_VALUE,
		.hole_mask = FMT_SCAN_HOLE_MASK,
		.hole_value = FMT_SCAN_HOLE_VALUE,
		.whole_mask = FMT_SCAN_WHOLE_MASK,
		.whole_value = FMT_SCAN_WHOLE_VALUE,
		.clean_clear = FMT_SCAN_CLEAN_CLEAR,
		.clean_set = FMT_SCAN_CLEAN_SET,
	};
	struct idt_pt *pt = r->pt;
	unsigned int index = w_index(pt, cursor, 0, r->top_level);
	unsigned int end = w_end_index(pt, cursor, r->last, 0, r->top_level);
	unsigned int items = 1u << pt_index_bits(pt, 0, r->top_level);
	unsigned int granule = pt->granule_lg2;
	uint64_t table_iova = w_item_start(pt, cursor, 0, r->top_level, 0);
	/* mask bit j is item first + j; the scan reads whole blocks of 8 */
	unsigned int first = index & ~63u;
	unsigned int stop = (end | 7u) + 1 < items ? (end | 7u) + 1 : items;
	uint64_t mask[(1u << PT_ITEM_BITS) / 64] = { 0 };
	uint64_t whole_mask[(1u << PT_ITEM_BITS) / 64] = { 0 };
	/* Whole groups lie strictly between the walk's first and last item,
	 * so each is inside the walk and no run crosses into it (a run's
	 * items are never natural leaves). */
	struct pt_scan_whole whole = {
		.lo = index - first + 1, .hi = end - first, .clean = r->clear, .mask = whole_mask,
	};
	unsigned int resume = index; /* items before it belong to a run handled already */

	r->scan(&table[first], stop - first, r->ahead ? r->ahead + first : &table[first], &key,
		&whole, mask);
	/* Only a walk that starts or ends inside this table can cut a run or
	 * an item: then its first and last item need a look even if clean. */
	if (cursor != table_iova)
		mask[(index - first) / 64] |= 1ull << (index % 64);
	if (end != items - 1 || r->last - table_iova < ((uint64_t)items << granule) - 1)
		mask[(end - first) / 64] |= 1ull << (end % 64);

	for (unsigned int word = 0; word <= (end - first) / 64; word++) {
		uint64_t look = mask[word], recorded = whole_mask[word];
		unsigned int base = first + word * 64;

		while (look | recorded) {
			unsigned int bit = (unsigned int)__builtin_ctzll(look | recorded);
			unsigned int i = base + bit;
			uint64_t item;

			if (recorded & (1ull << bit)) {
				/* a stretch of whole groups the scan recorded (and cleaned) */
				uint64_t rest = recorded >> bit;
				unsigned int n = ~rest ? (unsigned int)__builtin_ctzll(~rest) : 64;
				uint64_t span = n == 64 ? ~0ull : ((1ull << n) - 1) << bit;

				w_extend_run(r, table_iova + ((uint64_t)i << granule),
					     (uint64_t)n << granule);
				recorded &= ~span;
				look &= ~span;
				continue;
			}
			look &= look - 1;
			if (i < resume)
				continue;
			if (i > end)
				break;
			item = pt_load(&table[i]);
			if (fmt_classify(pt, 0, item) != PT_LEAF) {
				if (FMT_HOLES_ARE_ERRORS)
					return -EINVAL;
				continue;
			}
			if (fmt_is_dirty(item) && fmt_leaf0_natural(pt, item) &&
			    ((i != index && i != end) ||
			     (cursor <= table_iova + ((uint64_t)i << granule) &&
			      r->last - table_iova >= ((uint64_t)(i + 1) << granule) - 1))) {
				w_extend_run(r, table_iova + ((uint64_t)i << granule), 1ull << granule);
				if (r->clear)
					w_clean_run(&table[i], 1, false);
				continue;
			}
			resume = w_rcd_leaf(r, table, 0, cursor, i, end, item, false) + 1;
		}
	}
	return 0;
}

/* How many leaf tables ahead of the scan to prefetch: far enough that a
 * table's 4 KiB arrive while the ones before it are scanned. */
#ifndef W_PREFETCH_AHEAD
#define W_PREFETCH_AHEAD 3
#endif

/* The highest level whose tables iodirty scans for items that are not clean
 * leaves (2 MiB and 1 GiB leaves); ARM and VT-d have no leaves above it. */
#define W_SCAN_UPPER_MAX_LEVEL 2

/* The first item at or after i whose bit is set in look (bit j: item
 * first + j, first a multiple of 64), or stop if none is before stop. */
static inline unsigned int w_next_look(const uint64_t *look, unsigned int first, unsigned int i,
				       unsigned int stop)
{
	while (i < stop) {
		uint64_t word = look[(i - first) / 64] >> ((i - first) % 64);

		if (word)
			return i + (unsigned int)__builtin_ctzll(word);
		i = first + ((i - first) / 64 + 1) * 64;
	}
	return stop;
}

/*
 * One pass over a table; generic selects the Linux 6.19 baseline's record
 * rules, otherwise iodirty's.  iodirty scans a full (non-top) table of
 * levels 1 to W_SCAN_UPPER_MAX_LEVEL first and visits only items that are
 * not clean leaves: tables, dirty or odd leaves, holes.  An item skipped
 * as clean is a clean leaf, or in formats where holes are not errors an
 * item the walk would skip anyway.
 */
static inline int w_rcd_table(struct w_rcd *r, uint64_t *table, unsigned int level,
			      uint64_t cursor, const bool generic)
{
	static const struct pt_scan_key upper_key = {
		/* no item counts as dirty; every item not a clean leaf is a
		 * "hole" to the scan, an item to look at */
		.dirty_mask = 0,
		.dirty_value = 1,
		.hole_mask = FMT_SCAN_UPPER_CLEAN_MASK,
		.hole_value = FMT_SCAN_UPPER_CLEAN_VALUE,
		.whole_mask = 0,
		.whole_value = 1,
	};
	struct idt_pt *pt = r->pt;
	unsigned int index = w_index(pt, cursor, level, r->top_level);
	unsigned int end = w_end_index(pt, cursor, r->last, level, r->top_level);
	bool sparse = !generic && level >= 1 && level <= W_SCAN_UPPER_MAX_LEVEL &&
		      level < r->top_level;
	uint64_t look[(1u << PT_ITEM_BITS) / 64] = { 0 };
	unsigned int first = index & ~63u;

	if (level == 0 && !generic)
		return w_rcd_leaf_table(r, table, cursor);
	if (sparse) {
		unsigned int stop = (end | 7u) + 1;

		r->scan(&table[first], stop - first, &table[first], &upper_key, NULL, look);
		index = w_next_look(look, first, index, end + 1);
	}
	for (; index <= end; index = sparse ? w_next_look(look, first, index + 1, end + 1)
					   : index + 1) {
		uint64_t item = pt_load(&table[index]);
		uint64_t start = w_item_start(pt, cursor, level, r->top_level, index);
		int ret;

		switch (fmt_classify(pt, level, item)) {
		case PT_TABLE:
			/* Hardware prefetchers stop at a page boundary: the scan
			 * of this leaf table pulls in the one W_PREFETCH_AHEAD
			 * after it, a line for each line it reads. */
			if (level == 1 && !generic) {
				/* an empty item (0 in every format) is no table */
				uint64_t next = index + W_PREFETCH_AHEAD <= end
							? pt_load(&table[index + W_PREFETCH_AHEAD])
							: 0;

				r->ahead = fmt_classify(pt, level, next) == PT_TABLE
						   ? fmt_table_ptr(next)
						   : NULL;
			}
			ret = w_rcd_table(r, fmt_table_ptr(item), level - 1,
					  start < cursor ? cursor : start, generic);
			if (ret)
				return ret;
			break;
		case PT_LEAF:
			index = w_rcd_leaf(r, table, level, cursor, index, end, item, generic);
			break;
		default:
			if (FMT_HOLES_ARE_ERRORS)
				return -EINVAL;
			break;
		}
	}
	return 0;
}

/* Linux 6.7-6.18: a lookup from the root for every leaf (algorithms.md 2). */
static int w_rcd_legacy(struct w_rcd *r, uint64_t iova)
{
	uint64_t cursor = iova;

	do {
		struct w_found found;
		uint64_t size;
		bool dirty = false;

		if (w_find(r->pt, cursor, &found)) {
			if (FMT_HOLES_ARE_ERRORS)
				return -EINVAL;
			size = pt_lg2_to_size(found.size_lg2);
		} else {
			size = pt_lg2_to_size(found.size_lg2);
			if (!r->clear) {
				for (unsigned int i = 0; i < found.items && !dirty; i++)
					dirty = fmt_is_dirty(pt_load(&found.run[i]));
			} else {
				for (unsigned int i = 0; i < found.items; i++)
					dirty |= fmt_test_and_clean_atomic(&found.run[i]);
			}
			if (dirty) {
				if (r->record->bitmap)
					idt_bitmap_record(r->record->bitmap, cursor, size);
				/* the gather sees it even with NO_CLEAR */
				if (r->record->gather)
					idt_gather_add(r->record->gather, cursor, size);
			}
		}
		if (!size || cursor + size < cursor)
			break;
		cursor += size;
	} while (cursor < r->last);
	return 0;
}

static int w_read_and_clear_dirty(struct idt_pt *pt, uint64_t iova, uint64_t last,
				  unsigned int flags, struct idt_dirty_record *record,
				  enum idt_rcd_algo algo)
{
	uint64_t top = atomic_load(&pt->top);
	struct w_rcd r = {
		.pt = pt,
		.last = last,
		.record = record,
		.top_level = pt_top_level(top),
		.clear = !(flags & IDT_DIRTY_NO_CLEAR),
		.scan = pt_scan_function(),
		.own_last = UINT64_MAX,
	};
	int ret;

	if (last > pt_last_iova_at(pt, r.top_level))
		return -EINVAL;
	switch (algo) {
	case IDT_RCD_LEGACY:
		return w_rcd_legacy(&r, iova);
	case IDT_RCD_GENERIC_PT:
		return w_rcd_table(&r, pt_top_table(top), r.top_level, iova, true);
	case IDT_RCD_IODIRTY:
		ret = w_rcd_table(&r, pt_top_table(top), r.top_level, iova, false);
		w_flush_run(&r);
		return ret;
	}
	return -EINVAL;
}

/* ---- threaded read and clear --------------------------------------------- */

#define W_MAX_THREADS 64

struct w_rcd_part {
	struct w_rcd walk;
	struct idt_dirty_record record; /* the shared bitmap, its own gather */
	struct idt_gather gather;
	uint64_t iova;
	uint64_t *root;
	int ret;
	pthread_t thread;
};

static void *w_rcd_part_run(void *arg)
{
	struct w_rcd_part *part = arg;

	part->ret = w_rcd_table(&part->walk, part->root, part->walk.top_level, part->iova, false);
	w_flush_run(&part->walk);
	return NULL;
}

/*
 * Splits [iova, last] at boundaries aligned to a leaf table's span and to a
 * bitmap byte, so threads touch disjoint tables and disjoint bitmap bytes.
 * Each part owns the entries wholly inside it; an entry straddling a
 * boundary (only one larger than the alignment can) is left to the end,
 * where the calling thread harvests it alone.
 */
static int w_read_and_clear_dirty_threads(struct idt_pt *pt, uint64_t iova, uint64_t last,
					  unsigned int flags, struct idt_dirty_record *record,
					  unsigned int threads)
{
	uint64_t top = atomic_load(&pt->top);
	unsigned int top_level = pt_top_level(top);
	unsigned int align_lg2 = pt_item_lg2(pt, 1);
	struct w_rcd_part parts[W_MAX_THREADS];
	uint64_t origin = iova, chunk, span = last - iova;
	unsigned int started = 0;
	int ret = 0;

	if (last > pt_last_iova_at(pt, top_level))
		return -EINVAL;
	if (record->bitmap) {
		origin = record->bitmap->iova;
		if (record->bitmap->shift + 3 > align_lg2)
			align_lg2 = record->bitmap->shift + 3;
	}
	if (threads > W_MAX_THREADS)
		threads = W_MAX_THREADS;
	/* Too small to share (a thread costs tens of microseconds to start:
	 * each must get at least 64 leaf tables' span), or a bitmap starting
	 * after the range: one walk. */
	if (threads <= 1 || align_lg2 >= 57 || origin > iova ||
	    span / threads < (1ull << (align_lg2 + 6)))
		return w_read_and_clear_dirty(pt, iova, last, flags, record, IDT_RCD_IODIRTY);
	chunk = (span / threads + (1ull << align_lg2)) & ~((1ull << align_lg2) - 1);

	for (unsigned int k = 0; k < threads; k++) {
		struct w_rcd_part *part = &parts[k];
		/* boundaries are origin + a multiple of the alignment */
		uint64_t from = k ? iova - ((iova - origin) & ((1ull << align_lg2) - 1)) + k * chunk
				  : iova;
		uint64_t to = k + 1 < threads
				      ? iova - ((iova - origin) & ((1ull << align_lg2) - 1)) +
						(k + 1) * chunk - 1
				      : last;

		if (from > last || from < iova)
			break;
		if (to > last || to < from)
			to = last;
		idt_gather_init(&part->gather);
		part->record = (struct idt_dirty_record){ record->bitmap,
							   record->gather ? &part->gather : NULL };
		part->walk = (struct w_rcd){
			.pt = pt,
			.last = to,
			.record = &part->record,
			.top_level = top_level,
			.clear = !(flags & IDT_DIRTY_NO_CLEAR),
			.scan = pt_scan_function(),
			.own_first = k ? from : 0,
			.own_last = to == last ? UINT64_MAX : to,
		};
		part->iova = from;
		part->root = pt_top_table(top);
		part->ret = 0;
		/* the last part runs on the calling thread */
		if (to == last) {
			w_rcd_part_run(part);
			started = k + 1;
			break;
		}
		if (pthread_create(&part->thread, NULL, w_rcd_part_run, part)) {
			w_rcd_part_run(part);
			part->thread = pthread_self();
		}
		started = k + 1;
		if (to == last)
			break;
	}
	for (unsigned int k = 0; k < started; k++) {
		struct w_rcd_part *part = &parts[k];

		if (k + 1 < started && !pthread_equal(part->thread, pthread_self()))
			pthread_join(part->thread, NULL);
		if (!ret)
			ret = part->ret;
		if (record->gather && !idt_gather_empty(&part->gather)) {
			idt_gather_add(record->gather, part->gather.start,
				       part->gather.last - part->gather.start + 1);
		}
	}
	/* the entries that straddle a boundary, each once */
	for (unsigned int k = 1; k < started; k++) {
		struct w_found found;
		uint64_t from = parts[k].iova;

		if (!w_find(pt, from, &found) && found.entry_iova < from) {
			uint64_t entry_last = found.entry_iova + (pt_lg2_to_size(found.size_lg2) - 1);
			int err = w_read_and_clear_dirty(
				pt, found.entry_iova < iova ? iova : found.entry_iova,
				entry_last < last ? entry_last : last, flags, record, IDT_RCD_IODIRTY);

			if (!ret)
				ret = err;
		}
	}
	return ret;
}

/* ---- bulk marking and table enumeration (benchmarks, tests) ------------ */

struct w_mark {
	struct idt_pt *pt;
	uint64_t base;   /* the range's start: points are base + k * stride */
	uint64_t last;
	uint64_t stride;
	unsigned int top_level;
	uint64_t marked;
};

/* Does [start, last] (inside the range) contain a point base + k * stride? */
static bool w_mark_hits(const struct w_mark *m, uint64_t start, uint64_t last)
{
	uint64_t offset, point;

	if (!m->stride)
		return true;
	offset = start - m->base;
	point = start + (offset % m->stride ? m->stride - offset % m->stride : 0);
	return point >= start && point <= last;
}

static void w_mark_table(struct w_mark *m, uint64_t *table, unsigned int level,
			 uint64_t cursor)
{
	struct idt_pt *pt = m->pt;
	unsigned int index = w_index(pt, cursor, level, m->top_level);
	unsigned int end = w_end_index(pt, cursor, m->last, level, m->top_level);

	for (; index <= end; index++) {
		uint64_t item = pt_load(&table[index]);
		uint64_t start = w_item_start(pt, cursor, level, m->top_level, index);

		if (start < cursor)
			start = cursor;
		switch (fmt_classify(pt, level, item)) {
		case PT_TABLE:
			w_mark_table(m, fmt_table_ptr(item), level - 1, start);
			break;
		case PT_LEAF: {
			unsigned int size_lg2 = fmt_leaf_size_lg2(pt, level, item);
			unsigned int items = w_leaf_items(pt, level, size_lg2);
			unsigned int run_first = index & ~(items - 1);
			uint64_t entry_last = w_item_start(pt, cursor, level, m->top_level, run_first) +
					      (pt_lg2_to_size(size_lg2) - 1);

			if (fmt_trackable(item) &&
			    w_mark_hits(m, start, entry_last < m->last ? entry_last : m->last)) {
				w_mark_dirty(&table[index]);
				m->marked++;
			}
			index = run_first + items - 1;
			break;
		}
		default:
			break;
		}
	}
}

static int w_make_dirty_range(struct idt_pt *pt, uint64_t iova, uint64_t last, uint64_t stride,
			      uint64_t *marked)
{
	uint64_t top = atomic_load(&pt->top);
	struct w_mark m = { .pt = pt, .base = iova, .last = last, .stride = stride,
			    .top_level = pt_top_level(top) };

	if (last > pt_last_iova_at(pt, m.top_level))
		last = m.last = pt_last_iova_at(pt, m.top_level);
	if (iova <= last)
		w_mark_table(&m, pt_top_table(top), m.top_level, iova);
	if (marked)
		*marked = m.marked;
	return 0;
}

static void w_leaf_tables(const struct idt_pt *pt, uint64_t *table, unsigned int level,
			  unsigned int top_level, uint64_t cursor, uint64_t last,
			  void (*fn)(void *arg, const uint64_t *items, uint32_t count), void *arg)
{
	unsigned int index, end;

	if (level == 0) {
		fn(arg, table, 1u << pt_index_bits(pt, 0, top_level));
		return;
	}
	index = w_index(pt, cursor, level, top_level);
	end = w_end_index(pt, cursor, last, level, top_level);
	for (; index <= end; index++) {
		uint64_t item = pt_load(&table[index]);
		uint64_t start = w_item_start(pt, cursor, level, top_level, index);

		if (fmt_classify(pt, level, item) == PT_TABLE)
			w_leaf_tables(pt, fmt_table_ptr(item), level - 1, top_level,
				      start < cursor ? cursor : start, last, fn, arg);
	}
}

static int w_for_each_leaf_table(const struct idt_pt *pt, uint64_t iova, uint64_t last,
				 void (*fn)(void *arg, const uint64_t *items, uint32_t count),
				 void *arg)
{
	uint64_t top = atomic_load(&((struct idt_pt *)pt)->top);
	unsigned int top_level = pt_top_level(top);

	if (last > pt_last_iova_at(pt, top_level))
		last = pt_last_iova_at(pt, top_level);
	if (iova <= last)
		w_leaf_tables(pt, pt_top_table(top), top_level, top_level, iova, last, fn, arg);
	return 0;
}

/* ---- the hardware walk (hardware.md 2) --------------------------------- */

/* Bound on restarts when items keep changing under the walk; real hardware
 * would retry forever, a model must not hang a test. */
#define W_MAX_RESTARTS 1000

struct w_hw_step {
	uint64_t *slot;
	uint64_t value; /* as the walk read it */
};

static int w_hw_fault(struct idt_pt_walk_result *res, enum idt_fault_kind kind,
		      unsigned int level, uint64_t item)
{
	res->fault = kind;
	res->level = level;
	res->item = item;
	return 0;
}

static inline int w_hw_needed_prot(enum idt_access access)
{
	return access == IDT_ACCESS_WRITE ? IDT_PROT_WRITE : IDT_PROT_READ;
}

/*
 * Step 2.2.5: after a failed CAS, is the fresh value still the same
 * translation and still granting the access?  A table item must point at
 * the same table, a leaf at the same output page with the same size.
 */
static bool w_hw_still_valid(const struct idt_pt *pt, unsigned int level, uint64_t old,
			     uint64_t fresh, bool leaf, enum idt_access access,
			     const struct idt_pt_gate *gate)
{
	enum pt_kind kind = fmt_classify(pt, level, fresh);
	int need = w_hw_needed_prot(access);

	if (!leaf)
		return kind == PT_TABLE && fmt_table_ptr(fresh) == fmt_table_ptr(old) &&
		       (fmt_hw_table_prot(fresh) & need);
	if (kind != PT_LEAF)
		return false;
	{
		unsigned int size_lg2 = fmt_leaf_size_lg2(pt, level, old);

		return fmt_leaf_size_lg2(pt, level, fresh) == size_lg2 &&
		       fmt_leaf_oa(pt, level, fresh, size_lg2) == fmt_leaf_oa(pt, level, old, size_lg2) &&
		       (fmt_hw_leaf_prot(fresh, gate) & need) &&
		       fmt_hw_gate_fault(fresh, access, gate) == IDT_FAULT_NONE;
	}
}

/*
 * Step 2.2: brings one item to the state the access needs with a CAS from
 * the value the walk read.  Returns false when the item no longer grants
 * the access and the whole translation must restart; *final gets the value
 * now in memory.
 */
static bool w_hw_update(struct idt_pt *pt, unsigned int level, uint64_t *slot, uint64_t read,
			bool leaf, enum idt_access access, const struct idt_pt_gate *gate,
			const struct idt_pt_walk_hooks *hooks, struct idt_pt_walk_result *res,
			uint64_t *final)
{
	uint64_t expected = read;

	for (;;) {
		/* 2.2.2: "does it still need the update", not "is it identical" */
		uint64_t desired = leaf ? fmt_hw_leaf_update(expected, access, gate)
					: (gate->update_a ? expected | FMT_TABLE_A : expected);

		if (desired == expected) {
			*final = expected;
			return true;
		}
		if (hooks && hooks->pre_cas)
			hooks->pre_cas(hooks->arg, slot, level);
		if (pt_cas(slot, &expected, desired)) {
			res->ad_updates++;
			*final = desired;
			return true;
		}
		/* 2.2.5: never write back a stale copy: re-validate the fresh value */
		res->cas_retries++;
		if (!w_hw_still_valid(pt, level, read, expected, leaf, access, gate))
			return false;
	}
}

static int w_hw_walk(struct idt_pt *pt, uint64_t iova, enum idt_access access,
		     const struct idt_pt_gate *gate, const struct idt_pt_walk_hooks *hooks,
		     struct idt_pt_walk_result *res)
{
	struct w_hw_step path[PT_MAX_LEVELS];

	memset(res, 0, sizeof(*res));
restart:
	{
		uint64_t top = atomic_load_explicit(&pt->top, memory_order_acquire);
		unsigned int top_level = pt_top_level(top);
		uint64_t *table = pt_top_table(top);
		int prot = IDT_PROT_READ | IDT_PROT_WRITE;
		unsigned int depth = 0, level, size_lg2, items, first;
		uint64_t *slot, value, *ad_slot, ad_value, final;
		enum idt_fault_kind gate_fault;

		/* an IOVA beyond the width is not present (formats.md 2.3) */
		if (iova > pt_last_iova_at(pt, top_level))
			return w_hw_fault(res, IDT_FAULT_NOT_PRESENT, top_level, 0);
		/* 2.1.3: load each item once; presence, encoding, permissions */
		for (level = top_level;; level--) {
			unsigned int index = w_index(pt, iova, level, top_level);

			slot = &table[index];
			value = pt_load(slot);
			switch (fmt_classify(pt, level, value)) {
			case PT_EMPTY:
				return w_hw_fault(res, IDT_FAULT_NOT_PRESENT, level, value);
			case PT_BAD:
				return w_hw_fault(res, IDT_FAULT_MALFORMED, level, value);
			case PT_TABLE:
				prot &= fmt_hw_table_prot(value);
				path[depth++] = (struct w_hw_step){ slot, value };
				table = fmt_table_ptr(value);
				continue;
			case PT_LEAF:
				break;
			}
			break;
		}
		size_lg2 = fmt_leaf_size_lg2(pt, level, value);
		items = w_leaf_items(pt, level, size_lg2);
		first = w_index(pt, iova, level, top_level) & ~(items - 1);
		prot &= fmt_hw_leaf_prot(value, gate);
		if (!(prot & w_hw_needed_prot(access)))
			return w_hw_fault(res, IDT_FAULT_PERMISSION, level, value);
		gate_fault = fmt_hw_gate_fault(value, access, gate);
		if (gate_fault != IDT_FAULT_NONE)
			return w_hw_fault(res, gate_fault, level, value);

		/* 2.4: A/D go to the walked item, or to the replica a test picks */
		ad_slot = slot;
		ad_value = value;
		if (items > 1 && hooks && hooks->replica) {
			ad_slot = &table[first + hooks->replica(hooks->arg, items) % items];
			ad_value = pt_load(ad_slot);
			if (ad_slot != slot &&
			    !w_hw_still_valid(pt, level, value, ad_value, true, access, gate))
				goto changed;
		}

		/* 2.1.5: the A/D phase, root first, only now that nothing faults */
		for (unsigned int i = 0; i < depth; i++)
			if (!w_hw_update(pt, top_level - i, path[i].slot, path[i].value, false,
					 access, gate, hooks, res, &final))
				goto changed;
		if (!w_hw_update(pt, level, ad_slot, ad_value, true, access, gate, hooks, res,
				 &final))
			goto changed;

		res->fault = IDT_FAULT_NONE;
		res->level = level;
		res->size_lg2 = size_lg2;
		res->page_iova = iova & ~(pt_lg2_to_size(size_lg2) - 1);
		res->page_oa = fmt_leaf_oa(pt, level, value, size_lg2);
		res->oa = res->page_oa + (iova - res->page_iova);
		res->prot = prot;
		res->dirty = fmt_hw_write_settled(final);
		return 0;
	}
changed:
	/* 2.2.5: the entry changed meaning under the walk: start again */
	if (++res->restarts > W_MAX_RESTARTS)
		return w_hw_fault(res, IDT_FAULT_NOT_PRESENT, 0, 0);
	goto restart;
}

const struct pt_format_ops PT_OPS_NAME = {
	.name = FMT_NAME,
	.configure = fmt_configure,
	.initial_top_level = fmt_initial_top_level,
	.level_sizes = fmt_level_sizes,
	.map = w_map,
	.unmap = w_unmap,
	.split = w_split,
	.lookup = w_lookup,
	.read_and_clear_dirty = w_read_and_clear_dirty,
	.make_clean = w_make_clean,
	.make_dirty_item = w_make_dirty_item,
	.hw_walk = w_hw_walk,
	.make_dirty_range = w_make_dirty_range,
	.read_and_clear_dirty_threads = w_read_and_clear_dirty_threads,
	.for_each_leaf_table = w_for_each_leaf_table,
	.destroy = w_destroy,
};
