/* SPDX-License-Identifier: MIT */
/*
 * The dirty hooks shared by formats whose hardware marks a write by setting
 * a D bit in the leaf (AMD v1 bit 6, VT-d bit 9, RISC-V bit 7) and an access
 * by setting an A bit.  Include after defining FMT_A_BIT and FMT_D_BIT.
 */
#ifndef IODIRTY_PT_FMT_DIRTY_BIT_H
#define IODIRTY_PT_FMT_DIRTY_BIT_H

#include "pt/pt_internal.h"

/* The leaf-table scan's key: dirty is D set; holes are skipped, not errors. */
#define FMT_SCAN_DIRTY_MASK FMT_D_BIT
#define FMT_SCAN_DIRTY_VALUE FMT_D_BIT
#define FMT_SCAN_HOLE_MASK 0ull
#define FMT_SCAN_HOLE_VALUE 0ull
/* A whole group is dirty natural leaves (FMT_NATURAL_MASK/VALUE: a sufficient
 * condition for fmt_leaf0_natural); cleaning clears D with a plain store. */
#define FMT_SCAN_WHOLE_MASK (FMT_D_BIT | FMT_NATURAL_MASK)
#define FMT_SCAN_WHOLE_VALUE (FMT_D_BIT | FMT_NATURAL_VALUE)
#define FMT_SCAN_CLEAN_CLEAR FMT_D_BIT
#define FMT_SCAN_CLEAN_SET 0ull
/* Any dirty item may be cleaned by a plain store: hardware can only add A
 * to it, and losing that A is harmless (algorithms.md 3). */
#define FMT_DIRTY_SETTLED 0ull

static inline bool fmt_is_dirty(uint64_t item)
{
	return item & FMT_D_BIT;
}

static inline uint64_t fmt_cleaned(uint64_t item)
{
	return item & ~FMT_D_BIT;
}

/* make_dirty sets D alone (formats.md 2.6, 3.4, 5.4); a walk sets A too. */
static inline uint64_t fmt_dirtied(uint64_t item)
{
	return item | FMT_D_BIT;
}

/* Linux 6.7's test_and_clear_bit: a locked RMW even when D is 0. */
static inline bool fmt_test_and_clean_atomic(uint64_t *p)
{
	return __atomic_fetch_and(p, ~FMT_D_BIT, __ATOMIC_ACQ_REL) & FMT_D_BIT;
}

/* The atomic clean of an item the harvest has just seen dirty. */
static inline void fmt_clean_seen_dirty_atomic(uint64_t *p)
{
	__atomic_fetch_and(p, ~FMT_D_BIT, __ATOMIC_RELAXED);
}

/* hardware.md 2.3: A on any access the gate allows, D on a permitted write. */
static inline uint64_t fmt_hw_leaf_update(uint64_t item, enum idt_access access,
					  const struct idt_pt_gate *gate)
{
	if (gate->update_a)
		item |= FMT_A_BIT;
	if (access == IDT_ACCESS_WRITE && gate->update_d)
		item |= FMT_D_BIT;
	return item;
}

/* A write through this item needs no D update. */
static inline bool fmt_hw_write_settled(uint64_t item)
{
	return item & FMT_D_BIT;
}

#endif
