/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU v1 host page table (formats.md 2).
 *
 * Leaf (PTE):  PR 0 | A 5 | D 6 | NextLevel 11:9 (0 natural, 7 size-encoded)
 *              | address 51:12 | FC 60 | IR 61 | IW 62
 * Table (PDE): PR 0 | A 5 | NextLevel 11:9 = its own Linux level | address 51:12
 *              | IR 61 | IW 62
 *
 * The granule is a parameter (the iommufd mock device uses 2 KiB): leaf
 * address fields hold the output address in granule units, table address
 * fields hold the 4 KiB-aligned host address of the next table.
 */
#ifndef IODIRTY_PT_FMT_AMDV1_H
#define IODIRTY_PT_FMT_AMDV1_H

#include <errno.h>

#include "pt/pt_internal.h"

#define FMT_NAME "amdv1"
#define FMT_ID IDT_PT_AMDV1
#define FMT_HOLES_ARE_ERRORS 0
#define FMT_CLEAN_NEEDS_ATOMIC 0

#define AMDV1_PR (1ull << 0)
#define AMDV1_A (1ull << 5)
#define AMDV1_D (1ull << 6)
#define AMDV1_NL_SHIFT 9
#define AMDV1_NL_MASK (7ull << AMDV1_NL_SHIFT)
#define AMDV1_NL_SIZED 7ull
#define AMDV1_ADDR_SHIFT 12
#define AMDV1_ADDR_BITS 40
#define AMDV1_ADDR_MASK (((1ull << AMDV1_ADDR_BITS) - 1) << AMDV1_ADDR_SHIFT)
#define AMDV1_FC (1ull << 60)
#define AMDV1_IR (1ull << 61)
#define AMDV1_IW (1ull << 62)
/* 512 GiB pages are excluded for a hardware bug (formats.md 2.4). */
#define AMDV1_EXCLUDED_SIZE_LG2 39
/* Leaves sit at Linux levels 0-4; the mode-6 top table holds only PDEs. */
#define AMDV1_MAX_LEAF_LEVEL 4

#define FMT_A_BIT AMDV1_A
/* A level-0 item that is certainly a natural leaf: present with NextLevel 0. */
#define FMT_NATURAL_MASK (AMDV1_PR | AMDV1_NL_MASK)
#define FMT_NATURAL_VALUE AMDV1_PR
#define FMT_D_BIT AMDV1_D
/* At levels 1-2, a clean natural leaf or one the walk skips as malformed. */
#define FMT_SCAN_UPPER_CLEAN_MASK (AMDV1_PR | AMDV1_NL_MASK | AMDV1_D)
#define FMT_SCAN_UPPER_CLEAN_VALUE AMDV1_PR
#include "pt/fmt/dirty_bit.h"

static inline int fmt_configure(struct idt_pt *pt, const struct idt_pt_config *config)
{
	unsigned int granule = config->granule_lg2 ? config->granule_lg2 : 12;
	unsigned int width = config->iova_width ? config->iova_width : 64;
	unsigned int levels;

	if (granule != 11 && granule != 12)
		return -EINVAL;
	if (config->flags & ~(IDT_PT_DIRTY_TRACKING | IDT_PT_DYNAMIC_TOP))
		return -EINVAL;
	/* 1 to 6 levels */
	if (width < granule + PT_ITEM_BITS || width > 64)
		return -EINVAL;
	levels = (width - granule + PT_ITEM_BITS - 1) / PT_ITEM_BITS;
	if (levels > PT_MAX_LEVELS)
		return -EINVAL;
	pt->granule_lg2 = granule;
	pt->max_iova_width = width;
	pt->max_top_level = levels - 1;
	pt->oa_width = AMDV1_ADDR_BITS + granule;
	return 0;
}

static inline unsigned int fmt_initial_top_level(const struct idt_pt *pt)
{
	/* Linux starts every domain at mode 3 and grows on demand. */
	if ((pt->flags & IDT_PT_DYNAMIC_TOP) && pt->max_top_level > 2)
		return 2;
	return pt->max_top_level;
}

static inline uint64_t fmt_level_sizes(const struct idt_pt *pt, unsigned int level)
{
	unsigned int lo = pt_item_lg2(pt, level);
	unsigned int hi = lo + PT_ITEM_BITS - 1; /* at most half a table */
	uint64_t mask;

	if (level > AMDV1_MAX_LEAF_LEVEL || lo >= pt->oa_width)
		return 0;
	if (hi > pt->oa_width - 1)
		hi = pt->oa_width - 1;
	mask = (hi >= 63 ? ~0ull : (2ull << hi) - 1) & ~((1ull << lo) - 1);
	return mask & ~(1ull << AMDV1_EXCLUDED_SIZE_LG2);
}

static inline uint64_t amdv1_addr_field(uint64_t item)
{
	return (item & AMDV1_ADDR_MASK) >> AMDV1_ADDR_SHIFT;
}

/* Decoded size of an NL = 7 entry: 2^(granule + 1 + first zero bit of the field). */
static inline unsigned int amdv1_sized_lg2(const struct idt_pt *pt, uint64_t item)
{
	uint64_t field = amdv1_addr_field(item);

	return pt->granule_lg2 + 1 + (unsigned int)__builtin_ctzll(~field);
}

static inline unsigned int fmt_leaf_size_lg2(const struct idt_pt *pt, unsigned int level,
					     uint64_t item)
{
	unsigned int natural = pt_item_lg2(pt, level);
	unsigned int lg2;

	if (((item & AMDV1_NL_MASK) >> AMDV1_NL_SHIFT) != AMDV1_NL_SIZED)
		return natural;
	lg2 = amdv1_sized_lg2(pt, item);
	/* Below the natural size or above half a table is malformed (formats.md 2.4). */
	if (lg2 < natural || lg2 > natural + PT_ITEM_BITS - 1)
		return 0;
	return lg2;
}

static inline enum pt_kind fmt_classify(const struct idt_pt *pt, unsigned int level,
					uint64_t item)
{
	uint64_t nl = (item & AMDV1_NL_MASK) >> AMDV1_NL_SHIFT;

	if (!(item & AMDV1_PR))
		return PT_EMPTY;
	if (nl == 0 || nl == AMDV1_NL_SIZED) {
		if (level > AMDV1_MAX_LEAF_LEVEL || !fmt_leaf_size_lg2(pt, level, item))
			return PT_BAD;
		return PT_LEAF;
	}
	/* A PDE names its own level; anything else is level skipping (project decision). */
	return (level > 0 && nl == level) ? PT_TABLE : PT_BAD;
}

/* A natural single-item leaf of a level-0 table: present with NextLevel 0
 * (the harvest's fast test; anything else goes through fmt_classify). */
static inline bool fmt_leaf0_natural(const struct idt_pt *pt, uint64_t item)
{
	(void)pt;
	return (item & (AMDV1_PR | AMDV1_NL_MASK)) == AMDV1_PR;
}

static inline uint64_t *fmt_table_ptr(uint64_t item)
{
	return (uint64_t *)(uintptr_t)(item & AMDV1_ADDR_MASK);
}

static inline uint64_t fmt_make_table(const struct idt_pt *pt, unsigned int level,
				      uint64_t *table)
{
	(void)pt;
	return AMDV1_PR | ((uint64_t)level << AMDV1_NL_SHIFT) |
	       ((uint64_t)(uintptr_t)table & AMDV1_ADDR_MASK) | AMDV1_IR | AMDV1_IW;
}

static inline uint64_t fmt_make_leaf(const struct idt_pt *pt, unsigned int level, uint64_t oa,
				     unsigned int size_lg2, int prot)
{
	uint64_t field = oa >> pt->granule_lg2;
	uint64_t item = AMDV1_PR | AMDV1_FC;

	if (size_lg2 != pt_item_lg2(pt, level)) {
		/* ones in field bits 0 .. k - granule - 2, bit k - granule - 1 stays 0 */
		field |= (1ull << (size_lg2 - pt->granule_lg2 - 1)) - 1;
		item |= AMDV1_NL_SIZED << AMDV1_NL_SHIFT;
	}
	item |= (field << AMDV1_ADDR_SHIFT) & AMDV1_ADDR_MASK;
	if (prot & IDT_PROT_READ)
		item |= AMDV1_IR;
	if (prot & IDT_PROT_WRITE)
		item |= AMDV1_IW;
	return item;
}

static inline uint64_t fmt_leaf_oa(const struct idt_pt *pt, unsigned int level, uint64_t item,
				   unsigned int size_lg2)
{
	uint64_t field = amdv1_addr_field(item);

	(void)level;
	field &= ~((1ull << (size_lg2 - pt->granule_lg2)) - 1);
	return field << pt->granule_lg2;
}

static inline int fmt_leaf_prot(uint64_t item)
{
	return ((item & AMDV1_IR) ? IDT_PROT_READ : 0) | ((item & AMDV1_IW) ? IDT_PROT_WRITE : 0);
}

static inline bool fmt_trackable(uint64_t item)
{
	(void)item;
	return true;
}

/* ---- hardware walk (formats.md 2.5, 2.8; hardware.md 2.3) ---- */

/* A is set in every PDE walked, as well as in the leaf item. */
#define FMT_TABLE_A AMDV1_A

/* IR/IW are ANDed down the walk. */
static inline int fmt_hw_table_prot(uint64_t item)
{
	return fmt_leaf_prot(item);
}

static inline int fmt_hw_leaf_prot(uint64_t item, const struct idt_pt_gate *gate)
{
	(void)gate;
	return fmt_leaf_prot(item);
}

/* HAD = 00b: no updates and no fault. */
static inline enum idt_fault_kind fmt_hw_gate_fault(uint64_t item, enum idt_access access,
						    const struct idt_pt_gate *gate)
{
	(void)item;
	(void)access;
	(void)gate;
	return IDT_FAULT_NONE;
}

#endif
