/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the emulated IOMMU (hardware.md 1), shared by
 *   iommu.c  instance, capability, memory registration, device contexts,
 *            gates, the context cache, invalidation, hooks, counters;
 *   drain.c  transactions and the drain (hardware.md 5 "completion");
 *   iotlb.c  the IOTLB;
 *   dma.c    translation, DMA, faults and harvest.
 *
 * What DMA reads without a lock (the context cache, the registered memory
 * map, the walk hooks) is an immutable snapshot behind an atomic pointer.
 * A writer builds a new snapshot under config_lock, publishes it, drains,
 * and only then frees (or, for the hooks' two buffers, reuses) the old
 * one: a transaction that loaded the old pointer has finished by then.
 */
#ifndef IODIRTY_HW_INTERNAL_H
#define IODIRTY_HW_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iodirty/hw.h>

#include "hw/iotlb.h"

/* Counters live in the per-thread slots, so a hit writes no shared line. */
enum hw_counter {
	HW_HITS,
	HW_MISSES,
	HW_WALKS,
	HW_AD_UPDATES,
	HW_CAS_RETRIES,
	HW_INVALIDATIONS,
	HW_FAULTS,
	HW_FAULTS_DROPPED,
	HW_DMA_BYTES,
	HW_NCOUNTERS,
};

#define HW_SLOTS 32 /* a power of two */

/*
 * A thread's share of the drain and the counters, picked by hashing the
 * thread id.  in_flight[e] counts transactions that entered under epoch e
 * (as SRCU's per-CPU counters).
 */
struct hw_slot {
	_Atomic uint64_t in_flight[2];
	_Atomic uint64_t counters[HW_NCOUNTERS];
} __attribute__((aligned(64)));

/* A device context as the context cache holds it, decoded from memory. */
struct hw_context {
	uint32_t device_id;
	uint32_t domain_tag;
	struct idt_pt *pt;
	uint64_t word0;         /* the raw word the decode read */
	bool usable;            /* valid and well configured */
	uint32_t fault_cause;   /* architectural cause of the context fault */
	struct idt_pt_gate gate;
	int prot;               /* AMD DTE.IR/IW, ANDed into every walk */
	uint32_t top_level;     /* for fault records the context itself raises */
	uint32_t txn_lg2;       /* transactions never cross 2^txn_lg2 IOVA bytes */
};

struct hw_context_cache {
	size_t count;
	size_t capacity;
	struct hw_context contexts[]; /* sorted by device_id */
};

/* The device-context table in model memory: one raw word per device plus
 * what formats keep in further words (root and mode: AMD and VT-d hold
 * them in word 0 as well). */
struct hw_device {
	uint32_t device_id;
	uint32_t domain_tag;
	uint64_t word0;
	struct idt_pt *pt;
};

struct hw_memory_map {
	size_t count;
	struct hw_region {
		uint64_t base;
		uint64_t last; /* inclusive */
	} regions[];           /* sorted, non-overlapping */
};

/* The caller's walk hooks plus the random-replica choice, behind one arg. */
struct hw_hooks {
	struct idt_pt_walk_hooks user;
	struct idt_pt_walk_hooks walk; /* what idt_pt_hw_walk receives */
	struct idt_iommu *iommu;
};

struct idt_iommu {
	struct hw_slot slots[HW_SLOTS];

	uint32_t format;
	uint64_t cap;
	uint32_t flags;
	uint64_t seed;
	/* RISC-V faults on a write to a clean leaf with the gate off, so a
	 * cached clean entry re-walks for a write even with t = 0 (hardware.md
	 * 2.3; ARM needs no such rule: with HD = 0 the walk grants no write on a
	 * writable-clean leaf, so the entry lacks the permission) */
	bool clean_write_walks;

	/* the drain (drain.c) */
	_Atomic uint32_t epoch;
	pthread_mutex_t drain_lock;

	struct hw_iotlb iotlb;

	_Atomic(struct hw_context_cache *) context_cache;
	/* A retired cache kept for a detach that cannot allocate: its
	 * capacity is at least the device count less one (config_lock). */
	struct hw_context_cache *spare_cache;
	_Atomic(struct hw_memory_map *) memory;
	_Atomic(struct hw_hooks *) hooks; /* NULL: the walk gets no hooks */
	struct hw_hooks hook_buffers[2];  /* the published one and the next */
	_Atomic uint64_t replica_draws;

	/* serialises everything that changes contexts, memory or hooks */
	pthread_mutex_t config_lock;
	struct hw_device *devices;
	size_t device_count;
	size_t device_capacity;

	pthread_mutex_t fault_lock;
	struct idt_fault *faults; /* ring of fault_capacity records */
	uint32_t fault_capacity;
	uint32_t fault_head;
	uint32_t fault_count;
};

/* ---- transactions and the drain (drain.c) ---------------------------- */

struct hw_txn {
	struct hw_slot *slot;
	uint32_t epoch;
};

struct hw_slot *hw_my_slot(struct idt_iommu *iommu);

/* Brackets one transaction: translation and data access. */
static inline void hw_txn_begin(struct idt_iommu *iommu, struct hw_txn *txn)
{
	txn->slot = hw_my_slot(iommu);
	txn->epoch = atomic_load_explicit(&iommu->epoch, memory_order_relaxed) & 1;
	/* seq_cst: ordered before the snapshot loads of the transaction */
	atomic_fetch_add(&txn->slot->in_flight[txn->epoch], 1);
}

static inline void hw_txn_end(struct hw_txn *txn)
{
	/* seq_cst (release would do): the data access happens before the
	 * drain that observes this */
	atomic_fetch_sub(&txn->slot->in_flight[txn->epoch], 1);
}

/* Returns once every transaction that began before the call has ended.
 * Must not be called inside a transaction (or from a walk hook). */
void hw_drain(struct idt_iommu *iommu);

static inline void hw_count(struct hw_slot *slot, enum hw_counter counter, uint64_t n)
{
	atomic_fetch_add_explicit(&slot->counters[counter], n, memory_order_relaxed);
}

/* ---- contexts (iommu.c) ---------------------------------------------- */

/* The cached context of a device, or NULL; valid until the transaction ends. */
const struct hw_context *hw_context_lookup(struct idt_iommu *iommu, uint32_t device_id);

/* Whether one registered region holds all of [oa, oa + length). */
bool hw_memory_contains(struct idt_iommu *iommu, uint64_t oa, uint64_t length);

/* RISC-V device-context causes: DDT entry not valid, misconfigured. */
#define HW_RISCV_CAUSE_DDT_INVALID 258
#define HW_RISCV_CAUSE_DDT_MISCONFIGURED 259

#endif
