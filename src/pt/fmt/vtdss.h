/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d second-stage page table (formats.md 3).
 *
 * Leaf and table share one layout:
 *   R 0 | W 1 | PS 7 (leaf at levels 1-2) | A 8 | D 9 (leaf only) | SNP 11 | address 51:12
 * There is no present bit: an item is present iff R | W (Linux dma_pte_present).
 */
#ifndef IODIRTY_PT_FMT_VTDSS_H
#define IODIRTY_PT_FMT_VTDSS_H

#include <errno.h>

#include "pt/pt_internal.h"

#define FMT_NAME "vtdss"
#define FMT_ID IDT_PT_VTDSS
#define FMT_HOLES_ARE_ERRORS 0
#define FMT_CLEAN_NEEDS_ATOMIC 0

#define VTDSS_R (1ull << 0)
#define VTDSS_W (1ull << 1)
#define VTDSS_PS (1ull << 7)
#define VTDSS_A (1ull << 8)
#define VTDSS_D (1ull << 9)
#define VTDSS_SNP (1ull << 11)
#define VTDSS_ADDR_MASK 0x000ffffffffff000ull /* 51:12 */
/* PS is meaningful at levels 1 (2 MiB) and 2 (1 GiB) only. */
#define VTDSS_MAX_LEAF_LEVEL 2

#define FMT_A_BIT VTDSS_A
/* A level-0 item that is certainly a natural leaf: writable, so present (D is only set on writable leaves). */
#define FMT_NATURAL_MASK VTDSS_W
#define FMT_NATURAL_VALUE VTDSS_W
#define FMT_D_BIT VTDSS_D
/* At levels 1-2, a clean readable superpage (PS). */
#define FMT_SCAN_UPPER_CLEAN_MASK (VTDSS_R | VTDSS_PS | VTDSS_D)
#define FMT_SCAN_UPPER_CLEAN_VALUE (VTDSS_R | VTDSS_PS)
#include "pt/fmt/dirty_bit.h"

static inline int fmt_configure(struct idt_pt *pt, const struct idt_pt_config *config)
{
	unsigned int width = config->iova_width ? config->iova_width : 48;

	if (config->granule_lg2 && config->granule_lg2 != 12)
		return -EINVAL;
	if (config->flags & ~(IDT_PT_DIRTY_TRACKING | IDT_PT_VTD_SNOOP))
		return -EINVAL;
	/* AW 1, 2, 3: three, four or five levels */
	if (width != 39 && width != 48 && width != 57)
		return -EINVAL;
	pt->granule_lg2 = 12;
	pt->max_iova_width = width;
	pt->max_top_level = (width - 12) / PT_ITEM_BITS - 1;
	pt->oa_width = 52;
	return 0;
}

static inline unsigned int fmt_initial_top_level(const struct idt_pt *pt)
{
	return pt->max_top_level;
}

static inline uint64_t fmt_level_sizes(const struct idt_pt *pt, unsigned int level)
{
	return level <= VTDSS_MAX_LEAF_LEVEL ? 1ull << pt_item_lg2(pt, level) : 0;
}

static inline enum pt_kind fmt_classify(const struct idt_pt *pt, unsigned int level,
					uint64_t item)
{
	(void)pt;
	if (!(item & (VTDSS_R | VTDSS_W)))
		return PT_EMPTY;
	if (level == 0)
		return PT_LEAF;
	if (item & VTDSS_PS)
		return level <= VTDSS_MAX_LEAF_LEVEL ? PT_LEAF : PT_BAD;
	return PT_TABLE;
}

/* A natural single-item leaf of a level-0 table: any present item. */
static inline bool fmt_leaf0_natural(const struct idt_pt *pt, uint64_t item)
{
	(void)pt;
	return item & (VTDSS_R | VTDSS_W);
}

static inline uint64_t *fmt_table_ptr(uint64_t item)
{
	return (uint64_t *)(uintptr_t)(item & VTDSS_ADDR_MASK);
}

static inline uint64_t fmt_make_table(const struct idt_pt *pt, unsigned int level,
				      uint64_t *table)
{
	(void)pt;
	(void)level;
	return VTDSS_R | VTDSS_W | ((uint64_t)(uintptr_t)table & VTDSS_ADDR_MASK);
}

static inline uint64_t fmt_make_leaf(const struct idt_pt *pt, unsigned int level, uint64_t oa,
				     unsigned int size_lg2, int prot)
{
	uint64_t item = oa & VTDSS_ADDR_MASK;

	(void)size_lg2;
	if (level > 0)
		item |= VTDSS_PS;
	if (pt->flags & IDT_PT_VTD_SNOOP)
		item |= VTDSS_SNP;
	if (prot & IDT_PROT_READ)
		item |= VTDSS_R;
	if (prot & IDT_PROT_WRITE)
		item |= VTDSS_W;
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
	return item & VTDSS_ADDR_MASK & ~(pt_lg2_to_size(size_lg2) - 1);
}

static inline int fmt_leaf_prot(uint64_t item)
{
	return ((item & VTDSS_R) ? IDT_PROT_READ : 0) | ((item & VTDSS_W) ? IDT_PROT_WRITE : 0);
}

static inline bool fmt_trackable(uint64_t item)
{
	(void)item;
	return true;
}

/* ---- hardware walk (formats.md 3.5; hardware.md 2.3) ---- */

/* A is set in every second-stage entry used by the walk. */
#define FMT_TABLE_A VTDSS_A

/* R and W are ANDed over the walk (as EPT). */
static inline int fmt_hw_table_prot(uint64_t item)
{
	return fmt_leaf_prot(item);
}

static inline int fmt_hw_leaf_prot(uint64_t item, const struct idt_pt_gate *gate)
{
	(void)gate;
	return fmt_leaf_prot(item);
}

/* SSADE = 0: no updates and no fault. */
static inline enum idt_fault_kind fmt_hw_gate_fault(uint64_t item, enum idt_access access,
						    const struct idt_pt_gate *gate)
{
	(void)item;
	(void)access;
	(void)gate;
	return IDT_FAULT_NONE;
}

#endif
