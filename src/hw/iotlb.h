/* SPDX-License-Identifier: MIT */
/*
 * The IOTLB (hardware.md 4): a set-associative cache of leaf translations
 * tagged by domain, holding the output address, page size, permissions and
 * the cached dirty state d, with t recording whether the gate allowed D
 * updates at fill time.  LRU replacement within a set.
 *
 * Indexing: an entry lives in the set of (domain tag, the 4 KiB page number
 * of the IOVA whose walk filled it), and stores its whole page range, so a
 * large page may occupy several entries (one per accessed 4 KiB page that
 * missed).  A range invalidation therefore widens the range to the largest
 * page size ever cached before choosing which sets to scan.
 *
 * Each set has its own lock: a hit takes only that lock.  Invalidations bump
 * a generation before removing entries; a fill whose walk started before an
 * invalidation began is not inserted, so no invalidation can be undone by a
 * walk that read page-table memory before it.
 */
#ifndef IODIRTY_HW_IOTLB_H
#define IODIRTY_HW_IOTLB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <iodirty/pt.h>

/* What a hit returns and a fill stores. */
struct iotlb_translation {
	uint64_t page_iova;
	uint64_t page_oa;
	uint32_t size_lg2;
	int prot;          /* IDT_PROT_* */
	bool dirty;        /* d: the leaf was write-dirty after the walk */
	bool tracks_dirty; /* t: the gate allowed D updates */
};

struct iotlb_entry {
	struct iotlb_translation translation;
	uint64_t last_use; /* the set's clock at the last hit or fill (LRU) */
	uint32_t domain_tag;
	bool valid;
};

struct iotlb_set {
	pthread_mutex_t lock;
	uint64_t clock;
	struct iotlb_entry *ways;
} __attribute__((aligned(64)));

struct hw_iotlb {
	uint32_t sets;   /* a power of two; 0 when caching is disabled */
	uint32_t ways;
	struct iotlb_set *set;
	struct iotlb_entry *entries;
	/* bumped by every invalidation before it removes anything */
	_Atomic uint64_t generation;
	/* largest page ever cached: how far a range invalidation must widen */
	_Atomic uint32_t max_size_lg2;
};

/* sets must be a power of two; sets = 0 or ways = 0 disables caching. */
int iotlb_init(struct hw_iotlb *tlb, uint32_t sets, uint32_t ways);
void iotlb_fini(struct hw_iotlb *tlb);

/*
 * The lookup rules of hardware.md 4.  A hit fills *out.  An entry that lacks
 * the permission, or that a write finds clean while it must re-walk (t = 1,
 * or clean_write_walks for RISC-V, whose gate-off walk faults on a clean
 * write), is dropped and the lookup misses.
 */
bool iotlb_lookup(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t iova,
		  enum idt_access access, bool clean_write_walks, struct iotlb_translation *out);

/* Read before a walk and handed to iotlb_fill(). */
static inline uint64_t iotlb_generation(struct hw_iotlb *tlb)
{
	return atomic_load(&tlb->generation);
}

/* Caches a walk's translation for the accessed iova, unless an invalidation
 * began since generation was read. */
void iotlb_fill(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t iova, uint64_t generation,
		const struct iotlb_translation *translation);

/* Remove every entry of the domain overlapping [start, last], every entry of
 * the domain, or everything. */
void iotlb_invalidate_range(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t start,
			    uint64_t last);
void iotlb_invalidate_domain(struct hw_iotlb *tlb, uint32_t domain_tag);
void iotlb_invalidate_all(struct hw_iotlb *tlb);

#endif
