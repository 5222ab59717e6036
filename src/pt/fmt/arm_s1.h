/* SPDX-License-Identifier: MIT */
/*
 * ARM LPAE stage 1, 4 KiB granule, as SMMUv3 walks it with HTTU (formats.md 4).
 *
 * Leaf:  type 1:0 (11b page at level 0, 01b block at levels 1-2) | AP[1] 6
 *        | AP[2] 7 (read-only) | SH 9:8 | AF 10 | OA 47:12 | DBM 51
 * Table: type 11b | next table 47:12
 *
 * Dirty is inverted: DBM = 1 with AP[2] = 0.  Hardware marks a write by
 * clearing AP[2]; software cleans by setting it.
 */
#ifndef IODIRTY_PT_FMT_ARM_S1_H
#define IODIRTY_PT_FMT_ARM_S1_H

#include <errno.h>

#include "pt/pt_internal.h"

#define FMT_NAME "arm"
#define FMT_ID IDT_PT_ARM_S1
/* Linux 6.11's walker warns and fails on an empty entry in the range. */
#define FMT_HOLES_ARE_ERRORS 1
/* Linux cleans with an atomic set_bit of AP[2] (formats.md 4.4). */
#define FMT_CLEAN_NEEDS_ATOMIC 1
/* A dirty item with AF set is final for hardware: HD only clears AP[2],
 * HA only sets AF (mappings are made with AF set). */
#define FMT_DIRTY_SETTLED ARM_AF

#define ARM_TYPE_MASK 3ull
#define ARM_TYPE_BLOCK 1ull
#define ARM_TYPE_PAGE_OR_TABLE 3ull
#define ARM_AP1 (1ull << 6)
#define ARM_AP2 (1ull << 7)
#define ARM_SH_INNER (3ull << 8)
#define ARM_AF (1ull << 10)
#define ARM_OA_MASK 0x0000fffffffff000ull /* 47:12 */
#define ARM_DBM (1ull << 51)
#define ARM_MAX_LEAF_LEVEL 2

static inline int fmt_configure(struct idt_pt *pt, const struct idt_pt_config *config)
{
	unsigned int width = config->iova_width ? config->iova_width : 48;

	if (config->granule_lg2 && config->granule_lg2 != 12)
		return -EINVAL;
	if (config->flags & ~IDT_PT_DIRTY_TRACKING)
		return -EINVAL;
	/* IAS 48 starts at ARM level 0, IAS 39 at ARM level 1 */
	if (width != 39 && width != 48)
		return -EINVAL;
	pt->granule_lg2 = 12;
	pt->max_iova_width = width;
	pt->max_top_level = (width - 12) / PT_ITEM_BITS - 1;
	pt->oa_width = 48;
	return 0;
}

static inline unsigned int fmt_initial_top_level(const struct idt_pt *pt)
{
	return pt->max_top_level;
}

static inline uint64_t fmt_level_sizes(const struct idt_pt *pt, unsigned int level)
{
	return level <= ARM_MAX_LEAF_LEVEL ? 1ull << pt_item_lg2(pt, level) : 0;
}

static inline enum pt_kind fmt_classify(const struct idt_pt *pt, unsigned int level,
					uint64_t item)
{
	uint64_t type = item & ARM_TYPE_MASK;

	(void)pt;
	if (!(item & 1))
		return PT_EMPTY;
	if (level == 0) /* ARM level 3: only pages */
		return type == ARM_TYPE_PAGE_OR_TABLE ? PT_LEAF : PT_BAD;
	if (type == ARM_TYPE_PAGE_OR_TABLE)
		return PT_TABLE;
	/* blocks at ARM levels 1-2 only */
	return level <= ARM_MAX_LEAF_LEVEL ? PT_LEAF : PT_BAD;
}

/* A natural single-item leaf of a level-0 table: a page descriptor. */
static inline bool fmt_leaf0_natural(const struct idt_pt *pt, uint64_t item)
{
	(void)pt;
	return (item & ARM_TYPE_MASK) == ARM_TYPE_PAGE_OR_TABLE;
}

static inline uint64_t *fmt_table_ptr(uint64_t item)
{
	return (uint64_t *)(uintptr_t)(item & ARM_OA_MASK);
}

static inline uint64_t fmt_make_table(const struct idt_pt *pt, unsigned int level,
				      uint64_t *table)
{
	(void)pt;
	(void)level;
	return ARM_TYPE_PAGE_OR_TABLE | ((uint64_t)(uintptr_t)table & ARM_OA_MASK);
}

/*
 * Linux's encoding (AttrIndx 0, AP[1], inner shareable, AF preset).  With
 * dirty tracking a writable leaf gets DBM and AP[2] = 0, so it starts dirty;
 * read-only leaves get AP[2] and no DBM (formats.md 4.4).
 */
static inline uint64_t fmt_make_leaf(const struct idt_pt *pt, unsigned int level, uint64_t oa,
				     unsigned int size_lg2, int prot)
{
	uint64_t item = (level == 0 ? ARM_TYPE_PAGE_OR_TABLE : ARM_TYPE_BLOCK) | ARM_AP1 |
			ARM_SH_INNER | ARM_AF | (oa & ARM_OA_MASK);

	(void)size_lg2;
	if (!(prot & IDT_PROT_WRITE))
		item |= ARM_AP2;
	else if (pt->flags & IDT_PT_DIRTY_TRACKING)
		item |= ARM_DBM;
	return item;
}

static inline unsigned int fmt_leaf_size_lg2(const struct idt_pt *pt, unsigned int level,
					     uint64_t item)
{
	(void)item;
	return pt_item_lg2(pt, level);
}

static inline uint64_t fmt_leaf_oa(const struct idt_pt *pt, unsigned int level, uint64_t item,
				   unsigned int size_lg2)
{
	(void)pt;
	(void)level;
	return item & ARM_OA_MASK & ~(pt_lg2_to_size(size_lg2) - 1);
}

/* Writable means AP[2] clear, or writable-clean (DBM with AP[2] set). */
static inline int fmt_leaf_prot(uint64_t item)
{
	bool writable = !(item & ARM_AP2) || (item & ARM_DBM);

	return IDT_PROT_READ | (writable ? IDT_PROT_WRITE : 0);
}

/* The leaf-table scan's key: dirty is DBM with AP[2] clear; any level-0
 * item that is not a page (type 11b) is a hole, an error for ARM. */
#define FMT_SCAN_DIRTY_MASK (ARM_AP2 | ARM_DBM)
#define FMT_SCAN_DIRTY_VALUE ARM_DBM
#define FMT_SCAN_HOLE_MASK ARM_TYPE_MASK
#define FMT_SCAN_HOLE_VALUE ARM_TYPE_PAGE_OR_TABLE
/* Whole groups: writable-dirty pages with AF set, cleaned by plain stores. */
#define FMT_SCAN_WHOLE_MASK (FMT_SCAN_DIRTY_MASK | ARM_TYPE_MASK | FMT_DIRTY_SETTLED)
#define FMT_SCAN_WHOLE_VALUE (FMT_SCAN_DIRTY_VALUE | ARM_TYPE_PAGE_OR_TABLE | FMT_DIRTY_SETTLED)
#define FMT_SCAN_CLEAN_CLEAR 0ull
#define FMT_SCAN_CLEAN_SET ARM_AP2
/* At levels 1-2 (ARM 2 and 1), a block that is not dirty: read-only or
 * writable-clean.  Holes are errors for ARM, so they are looked at. */
#define FMT_SCAN_UPPER_CLEAN_MASK (ARM_TYPE_MASK | ARM_AP2)
#define FMT_SCAN_UPPER_CLEAN_VALUE (ARM_TYPE_BLOCK | ARM_AP2)

static inline bool fmt_is_dirty(uint64_t item)
{
	return (item & (ARM_AP2 | ARM_DBM)) == ARM_DBM;
}

static inline uint64_t fmt_cleaned(uint64_t item)
{
	return fmt_is_dirty(item) ? item | ARM_AP2 : item;
}

static inline uint64_t fmt_dirtied(uint64_t item)
{
	return (item & ARM_DBM) ? item & ~ARM_AP2 : item;
}

static inline bool fmt_trackable(uint64_t item)
{
	return item & ARM_DBM;
}

/* Cleans an item the harvest has just seen dirty: Linux's atomic set_bit
 * of AP[2] (formats.md 4.4), unconditional because a dirty item cannot
 * change state under hardware, which only ever clears AP[2]. */
static inline void fmt_clean_seen_dirty_atomic(uint64_t *p)
{
	__atomic_fetch_or(p, ARM_AP2, __ATOMIC_RELAXED);
}

/* Sets AP[2] only on a dirty item, atomically (Linux applies set_bit to
 * items it saw dirty; setting AP[2] on a DBM = 0 item would revoke write). */
static inline bool fmt_test_and_clean_atomic(uint64_t *p)
{
	uint64_t old = __atomic_load_n(p, __ATOMIC_ACQUIRE);

	while (fmt_is_dirty(old))
		if (__atomic_compare_exchange_n(p, &old, old | ARM_AP2, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return true;
	return false;
}

/* ---- hardware walk (formats.md 4.3, 4.5; hardware.md 2.3) ---- */

/* Table descriptors have no AF (no FEAT_HAFT). */
#define FMT_TABLE_A 0ull

/* Table attributes are ignored in walks (a project decision). */
static inline int fmt_hw_table_prot(uint64_t item)
{
	(void)item;
	return IDT_PROT_READ | IDT_PROT_WRITE;
}

/* With HD = 0, DBM is ignored: a writable-clean leaf is read-only. */
static inline int fmt_hw_leaf_prot(uint64_t item, const struct idt_pt_gate *gate)
{
	bool writable = !(item & ARM_AP2) || ((item & ARM_DBM) && gate->update_d);

	return IDT_PROT_READ | (writable ? IDT_PROT_WRITE : 0);
}

/* AF = 0 with HA = 0 takes an access-flag fault. */
static inline enum idt_fault_kind fmt_hw_gate_fault(uint64_t item, enum idt_access access,
						    const struct idt_pt_gate *gate)
{
	(void)access;
	return (!(item & ARM_AF) && !gate->update_a) ? IDT_FAULT_ACCESS_FLAG : IDT_FAULT_NONE;
}

/* HA sets AF; HD marks a write by clearing AP[2] of a writable-clean leaf. */
static inline uint64_t fmt_hw_leaf_update(uint64_t item, enum idt_access access,
					  const struct idt_pt_gate *gate)
{
	if (gate->update_a)
		item |= ARM_AF;
	if (access == IDT_ACCESS_WRITE && gate->update_d && (item & ARM_DBM))
		item &= ~ARM_AP2;
	return item;
}

/* AP[2] = 0: writable-dirty, or writable and untracked. */
static inline bool fmt_hw_write_settled(uint64_t item)
{
	return !(item & ARM_AP2);
}

#endif
