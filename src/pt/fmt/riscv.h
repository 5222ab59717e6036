/* SPDX-License-Identifier: MIT */
/*
 * RISC-V Sv39/Sv48/Sv57 (and the G-stage x4 variants) as the RISC-V IOMMU
 * walks them (formats.md 5).
 *
 *   V 0 | R 1 | W 2 | X 3 | U 4 | G 5 | A 6 | D 7 | PPN 53:10 | reserved 58:54
 *   | PBMT 62:61 | N 63 (Svnapot)
 *
 * Leaves are written as Linux writes them: A and U preset, D preset on
 * writable leaves (formats.md 5.6, a project decision), so nothing faults
 * before tracking starts.  A and D exist only in leaves.
 */
#ifndef IODIRTY_PT_FMT_RISCV_H
#define IODIRTY_PT_FMT_RISCV_H

#include <errno.h>

#include "pt/pt_internal.h"

#define FMT_NAME "riscv"
#define FMT_ID IDT_PT_RISCV
#define FMT_HOLES_ARE_ERRORS 0
#define FMT_CLEAN_NEEDS_ATOMIC 0

#define RISCV_V (1ull << 0)
#define RISCV_R (1ull << 1)
#define RISCV_W (1ull << 2)
#define RISCV_X (1ull << 3)
#define RISCV_U (1ull << 4)
#define RISCV_A (1ull << 6)
#define RISCV_D (1ull << 7)
#define RISCV_PPN_SHIFT 10
#define RISCV_PPN_MASK (((1ull << 44) - 1) << RISCV_PPN_SHIFT) /* 53:10 */
#define RISCV_RESERVED (0x1full << 54)                        /* 58:54 */
#define RISCV_PBMT (3ull << 61)
#define RISCV_N (1ull << 63)
/* Svnapot 64 KiB: N = 1 and PPN[3:0] = 1000b, 16 copies at level 0. */
#define RISCV_NAPOT_LG2 16
#define RISCV_NAPOT_PPN_LOW 0x8ull
#define RISCV_NAPOT_PPN_MASK 0xfull

#define FMT_A_BIT RISCV_A
/* A level-0 item that is certainly a natural leaf: valid, readable, no N, PBMT or reserved bits. */
#define FMT_NATURAL_MASK (RISCV_V | RISCV_R | RISCV_N | RISCV_RESERVED | RISCV_PBMT)
#define FMT_NATURAL_VALUE (RISCV_V | RISCV_R)
#define FMT_D_BIT RISCV_D
/* At levels 1-2, a clean readable superpage, or one the walk skips as malformed. */
#define FMT_SCAN_UPPER_CLEAN_MASK (RISCV_V | RISCV_R | RISCV_D)
#define FMT_SCAN_UPPER_CLEAN_VALUE (RISCV_V | RISCV_R)
#include "pt/fmt/dirty_bit.h"

static inline int fmt_configure(struct idt_pt *pt, const struct idt_pt_config *config)
{
	unsigned int width = config->iova_width ? config->iova_width : 48;
	/* G-stage x4 roots decode 2 more bits (a 16 KiB, 2048-item root) */
	unsigned int extra = (config->flags & IDT_PT_RISCV_GSTAGE) ? 2 : 0;

	if (config->granule_lg2 && config->granule_lg2 != 12)
		return -EINVAL;
	if (config->flags & ~(IDT_PT_DIRTY_TRACKING | IDT_PT_RISCV_NAPOT | IDT_PT_RISCV_GSTAGE))
		return -EINVAL;
	if (width != 39 + extra && width != 48 + extra && width != 57 + extra)
		return -EINVAL;
	pt->granule_lg2 = 12;
	pt->max_iova_width = width;
	pt->max_top_level = (width - extra - 12) / PT_ITEM_BITS - 1;
	pt->oa_width = 56;
	return 0;
}

static inline unsigned int fmt_initial_top_level(const struct idt_pt *pt)
{
	return pt->max_top_level;
}

/* Superpages at every level; NAPOT 64 KiB at level 0 as an option. */
static inline uint64_t fmt_level_sizes(const struct idt_pt *pt, unsigned int level)
{
	uint64_t sizes = 1ull << pt_item_lg2(pt, level);

	if (level == 0 && (pt->flags & IDT_PT_RISCV_NAPOT))
		sizes |= 1ull << RISCV_NAPOT_LG2;
	return sizes;
}

static inline uint64_t riscv_ppn(uint64_t item)
{
	return (item & RISCV_PPN_MASK) >> RISCV_PPN_SHIFT;
}

static inline enum pt_kind fmt_classify(const struct idt_pt *pt, unsigned int level,
					uint64_t item)
{
	if (!(item & RISCV_V))
		return PT_EMPTY;
	/* reserved encodings fault: bits 58:54, PBMT without Svpbmt, W without R */
	if ((item & (RISCV_RESERVED | RISCV_PBMT)) || ((item & RISCV_W) && !(item & RISCV_R)))
		return PT_BAD;
	if (item & (RISCV_R | RISCV_X)) {
		if (item & RISCV_N)
			return (level == 0 && (pt->flags & IDT_PT_RISCV_NAPOT) &&
				(riscv_ppn(item) & RISCV_NAPOT_PPN_MASK) == RISCV_NAPOT_PPN_LOW)
				       ? PT_LEAF
				       : PT_BAD;
		/* a superpage's PPN bits below its level must be 0 (misaligned) */
		if (riscv_ppn(item) & ((1ull << (PT_ITEM_BITS * level)) - 1))
			return PT_BAD;
		return PT_LEAF;
	}
	/* Non-leaf: D, A, U (and N) are reserved (riscv-iommu issue #372). */
	if (level == 0 || (item & (RISCV_D | RISCV_A | RISCV_U | RISCV_N)))
		return PT_BAD;
	return PT_TABLE;
}

/* A natural single-item leaf of a level-0 table: a valid leaf without N. */
static inline bool fmt_leaf0_natural(const struct idt_pt *pt, uint64_t item)
{
	return !(item & RISCV_N) && fmt_classify(pt, 0, item) == PT_LEAF;
}

static inline uint64_t *fmt_table_ptr(uint64_t item)
{
	return (uint64_t *)(uintptr_t)(riscv_ppn(item) << 12);
}

static inline uint64_t fmt_make_table(const struct idt_pt *pt, unsigned int level,
				      uint64_t *table)
{
	(void)pt;
	(void)level;
	return RISCV_V | ((((uint64_t)(uintptr_t)table >> 12) << RISCV_PPN_SHIFT) & RISCV_PPN_MASK);
}

/* W without R is reserved, so a writable leaf is always readable too. */
static inline uint64_t fmt_make_leaf(const struct idt_pt *pt, unsigned int level, uint64_t oa,
				     unsigned int size_lg2, int prot)
{
	uint64_t ppn = oa >> 12;
	uint64_t item = RISCV_V | RISCV_R | RISCV_U | RISCV_A;

	if (size_lg2 != pt_item_lg2(pt, level)) {
		ppn |= RISCV_NAPOT_PPN_LOW;
		item |= RISCV_N;
	}
	if (prot & IDT_PROT_WRITE)
		item |= RISCV_W | RISCV_D;
	return item | ((ppn << RISCV_PPN_SHIFT) & RISCV_PPN_MASK);
}

static inline unsigned int fmt_leaf_size_lg2(const struct idt_pt *pt, unsigned int level,
					     uint64_t item)
{
	return (item & RISCV_N) ? RISCV_NAPOT_LG2 : pt_item_lg2(pt, level);
}

static inline uint64_t fmt_leaf_oa(const struct idt_pt *pt, unsigned int level, uint64_t item,
				   unsigned int size_lg2)
{
	(void)pt;
	(void)level;
	return (riscv_ppn(item) << 12) & ~(pt_lg2_to_size(size_lg2) - 1);
}

static inline int fmt_leaf_prot(uint64_t item)
{
	return ((item & RISCV_R) ? IDT_PROT_READ : 0) | ((item & RISCV_W) ? IDT_PROT_WRITE : 0);
}

static inline bool fmt_trackable(uint64_t item)
{
	return item & RISCV_W;
}

/* ---- hardware walk (formats.md 5.3, 5.5, 5.6; hardware.md 2.3) ---- */

/* A and D exist only in leaves. */
#define FMT_TABLE_A 0ull

static inline int fmt_hw_table_prot(uint64_t item)
{
	(void)item;
	return IDT_PROT_READ | IDT_PROT_WRITE;
}

/* All DMA is user mode: a leaf without U grants nothing (a project decision). */
static inline int fmt_hw_leaf_prot(uint64_t item, const struct idt_pt_gate *gate)
{
	(void)gate;
	return (item & RISCV_U) ? fmt_leaf_prot(item) : 0;
}

/* With the gate off an update that is needed is a page fault. */
static inline enum idt_fault_kind fmt_hw_gate_fault(uint64_t item, enum idt_access access,
						    const struct idt_pt_gate *gate)
{
	if (!gate->update_a && !(item & RISCV_A))
		return IDT_FAULT_AD_DISABLED;
	if (access == IDT_ACCESS_WRITE && !gate->update_d && !(item & RISCV_D))
		return IDT_FAULT_AD_DISABLED;
	return IDT_FAULT_NONE;
}

#endif
