/* SPDX-License-Identifier: MIT */
/*
 * Internal state of a page table and the contract between the generic walker
 * (walker.h) and a format (fmt/<name>.h).
 *
 * A format is a header of small static inline hooks, all taking the table
 * (for its options), the level and a 64-bit item value:
 *
 *   FMT_NAME                       string
 *   FMT_ID                         enum idt_pt_format
 *   FMT_HOLES_ARE_ERRORS           1 if read-and-clear fails with -EINVAL on a hole
 *   FMT_CLEAN_NEEDS_ATOMIC         1 if Linux cleans even an item seen dirty with an
 *                                  atomic RMW (ARM's set_bit); the generic_pt baseline
 *                                  does too
 *   FMT_SCAN_UPPER_CLEAN_MASK/VALUE  (item & MASK) == VALUE: at levels 1-2, a clean
 *                                  leaf, or an item read-and-clear skips anyway
 *   FMT_DIRTY_SETTLED              bits that, all set in an item seen dirty, leave
 *                                  hardware nothing to set in it, so iodirty cleans
 *                                  it with a plain store (0: any dirty item)
 *   fmt_configure(pt, cfg)         validate widths, granule and flags; fill
 *                                  granule_lg2, max_iova_width, max_top_level, oa_width
 *   fmt_initial_top_level(pt)      top level at creation (AMD starts low and grows)
 *   fmt_classify(pt, level, item)  PT_EMPTY / PT_TABLE / PT_LEAF / PT_BAD
 *   fmt_table_ptr(item)            host pointer to the child table of a table item
 *   fmt_make_table(pt, level, tbl) table item pointing at tbl (a table of level-1)
 *   fmt_level_sizes(pt, level)     mask of leaf sizes a level can hold
 *   fmt_make_leaf(pt, level, oa, size_lg2, prot)  the value of every item of a leaf
 *   fmt_leaf_size_lg2(pt, level, item)  decoded size of the whole entry, 0 if malformed
 *   fmt_leaf_oa(pt, level, item, size_lg2)  output address of the entry's start
 *   fmt_leaf_prot(item)            IDT_PROT_* of a leaf
 *   fmt_leaf0_natural(pt, item)    a level-0 item is a natural single-item leaf
 *   fmt_is_dirty(item)             the item records a write
 *   fmt_cleaned(item)              the item with its write record reset
 *   fmt_dirtied(item)              the item as hardware marks it written
 *   fmt_trackable(item)            a write can be recorded (else make_dirty: -EINVAL)
 *   fmt_test_and_clean_atomic(p)   reset the write record with one atomic RMW,
 *                                  returning whether it was set (the legacy
 *                                  drivers' and ARM's primitive)
 *   fmt_clean_seen_dirty_atomic(p) the atomic clean of an item just seen dirty
 *                                  (ARM's set_bit of AP[2])
 *
 * and for the hardware walk (hardware.md 2):
 *   FMT_TABLE_A                    the A bit hardware sets in table items (0: none)
 *   fmt_hw_table_prot(item)        permissions a table item grants down the walk
 *   fmt_hw_leaf_prot(item, gate)   permissions a leaf grants (ARM: DBM counts with HD)
 *   fmt_hw_gate_fault(item, access, gate)  the fault a gate that is off causes
 *   fmt_hw_leaf_update(item, access, gate) the leaf as hardware updates it
 *   fmt_hw_write_settled(item)     a write needs no D update (the IOTLB's cached d)
 *
 * Formats marking writes with a D bit share these through fmt/dirty_bit.h.
 *
 * Features a format lacks are constants, so the compiler drops them.
 */
#ifndef IODIRTY_PT_INTERNAL_H
#define IODIRTY_PT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <iodirty/pt.h>

#define PT_MAX_LEVELS 6
#define PT_ITEM_BITS 9

enum pt_kind {
	PT_EMPTY,
	PT_TABLE,
	PT_LEAF,
	PT_BAD, /* malformed: hardware faults on it, software walkers skip it */
};

struct pt_format_ops;

struct idt_pt {
	const struct pt_format_ops *ops;
	uint32_t format;
	uint32_t flags;
	uint32_t granule_lg2;
	uint32_t max_top_level;   /* top level of the fully grown table */
	uint32_t base_top_level;  /* top level at creation */
	uint32_t max_iova_width;  /* bits the fully grown table decodes */
	uint32_t oa_width;
	uint64_t page_sizes;      /* sizes map() may choose */
	/* Root host address | top level in the low bits; one word so that a
	 * concurrent walker always sees a matching pair while AMD grows. */
	_Atomic uint64_t top;
	_Atomic uint64_t tables;  /* tables allocated, for tests and leaks */
	/* Serialises the operations that add or free tables (map, unmap, split),
	 * so a table freed because it became empty cannot be in use by another
	 * map.  Lookups, make_dirty and read-and-clear take no lock. */
	pthread_mutex_t structure_lock;
};

#define PT_TOP_LEVEL_MASK 0x7ull

static inline unsigned int pt_top_level(uint64_t top)
{
	return (unsigned int)(top & PT_TOP_LEVEL_MASK);
}

static inline uint64_t *pt_top_table(uint64_t top)
{
	return (uint64_t *)(uintptr_t)(top & ~PT_TOP_LEVEL_MASK);
}

/* log2 of the bytes one item of a level covers. */
static inline unsigned int pt_item_lg2(const struct idt_pt *pt, unsigned int level)
{
	return pt->granule_lg2 + PT_ITEM_BITS * level;
}

/* IOVA bits a table whose top is top_level decodes. */
static inline unsigned int pt_width_at(const struct idt_pt *pt, unsigned int top_level)
{
	unsigned int width = pt_item_lg2(pt, top_level) + PT_ITEM_BITS;

	if (top_level == pt->max_top_level || width > pt->max_iova_width)
		return pt->max_iova_width;
	return width;
}

/* log2 of the number of items in a table of this level, given the top. */
static inline unsigned int pt_index_bits(const struct idt_pt *pt, unsigned int level,
					 unsigned int top_level)
{
	if (level == top_level)
		return pt_width_at(pt, top_level) - pt_item_lg2(pt, level);
	return PT_ITEM_BITS;
}

/* The last IOVA a table with this top level decodes (inclusive). */
static inline uint64_t pt_last_iova_at(const struct idt_pt *pt, unsigned int top_level)
{
	unsigned int width = pt_width_at(pt, top_level);

	return width >= 64 ? UINT64_MAX : (1ull << width) - 1;
}

static inline uint64_t pt_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void pt_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline bool pt_cas(uint64_t *p, uint64_t *expected, uint64_t desired)
{
	return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static inline uint64_t pt_lg2_to_size(unsigned int lg2)
{
	return lg2 >= 64 ? 0 : 1ull << lg2;
}

/* Table memory: zeroed, aligned to its size (at least 4 KiB). */
uint64_t *pt_table_alloc(struct idt_pt *pt, unsigned int index_bits);
void pt_table_free(struct idt_pt *pt, uint64_t *table);

/*
 * The leaf-table scan (scan.c): sets bit i of mask (zeroed by the caller,
 * count <= 512) when item i is dirty, (item & dirty_mask) == dirty_value, or
 * is not a leaf where that matters, (item & hole_mask) != hole_value
 * (hole_mask 0: never).  items must be 64-byte aligned.
 *
 * Whole groups (whole != NULL): an aligned group of 8 items inside
 * [whole->lo, whole->hi) whose items all match (item & whole_mask) ==
 * whole_value (dirty natural single-item leaves) sets its bits in
 * whole->mask instead of mask and, if whole->clean, is cleaned on the spot:
 * item & ~clean_clear | clean_set with plain stores, so whole_mask must
 * include FMT_DIRTY_SETTLED.
 * One pass reads, and at 100% dirty writes, each item once.  A hole that
 * matters (hole_mask set) at or after item lo - 1 ends whole groups, since
 * the walk stops there (the scan then moves lo past the table).
 */
struct pt_scan_key {
	uint64_t dirty_mask;
	uint64_t dirty_value;
	uint64_t hole_mask;
	uint64_t hole_value;
	uint64_t whole_mask;
	uint64_t whole_value;
	uint64_t clean_clear;
	uint64_t clean_set;
};
struct pt_scan_whole {
	uint32_t lo;
	uint32_t hi;
	bool clean;
	uint64_t *mask;
};
/* ahead: the items of a table to pull into the cache meanwhile, one line for
 * each group of 8 items scanned (items itself when there is none). */
typedef void (*pt_scan_fn)(uint64_t *items, uint32_t count, const uint64_t *ahead,
			   const struct pt_scan_key *key, struct pt_scan_whole *whole,
			   uint64_t *mask);
/* The scan idt_simd_active() names. */
pt_scan_fn pt_scan_function(void);

/* Operations a format instantiates from walker.h. */
struct pt_format_ops {
	const char *name;
	int (*configure)(struct idt_pt *pt, const struct idt_pt_config *config);
	unsigned int (*initial_top_level)(const struct idt_pt *pt);
	uint64_t (*level_sizes)(const struct idt_pt *pt, unsigned int level);
	int (*map)(struct idt_pt *pt, uint64_t iova, uint64_t oa, uint64_t size, int prot);
	int (*unmap)(struct idt_pt *pt, uint64_t iova, uint64_t last, uint64_t *unmapped,
		     struct idt_pt_free_list *list);
	int (*split)(struct idt_pt *pt, uint64_t iova);
	int (*lookup)(const struct idt_pt *pt, uint64_t iova, struct idt_pt_leaf *leaf);
	int (*read_and_clear_dirty)(struct idt_pt *pt, uint64_t iova, uint64_t last,
				    unsigned int flags, struct idt_dirty_record *record,
				    enum idt_rcd_algo algo);
	int (*make_clean)(struct idt_pt *pt, uint64_t iova);
	int (*make_dirty_item)(struct idt_pt *pt, uint64_t iova, uint32_t item_index);
	int (*hw_walk)(struct idt_pt *pt, uint64_t iova, enum idt_access access,
		       const struct idt_pt_gate *gate, const struct idt_pt_walk_hooks *hooks,
		       struct idt_pt_walk_result *result);
	int (*read_and_clear_dirty_threads)(struct idt_pt *pt, uint64_t iova, uint64_t last,
					    unsigned int flags, struct idt_dirty_record *record,
					    unsigned int threads);
	int (*make_dirty_range)(struct idt_pt *pt, uint64_t iova, uint64_t last, uint64_t stride,
				uint64_t *marked);
	int (*for_each_leaf_table)(const struct idt_pt *pt, uint64_t iova, uint64_t last,
				   void (*fn)(void *arg, const uint64_t *items, uint32_t count),
				   void *arg);
	void (*destroy)(struct idt_pt *pt);
};

extern const struct pt_format_ops pt_amdv1_ops;
extern const struct pt_format_ops pt_vtdss_ops;
extern const struct pt_format_ops pt_arm_s1_ops;
extern const struct pt_format_ops pt_riscv_ops;

#endif
