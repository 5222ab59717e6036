/* SPDX-License-Identifier: MIT */
/* The IOTLB: set-associative, per-set locks, LRU (hardware.md 4). */
#include <errno.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "hw/iotlb.h"

#define IOTLB_INDEX_LG2 12 /* entries are indexed by 4 KiB page number */

int iotlb_init(struct hw_iotlb *tlb, uint32_t sets, uint32_t ways)
{
	tlb->sets = 0;
	tlb->ways = 0;
	tlb->set = NULL;
	tlb->entries = NULL;
	atomic_init(&tlb->generation, 0);
	atomic_init(&tlb->max_size_lg2, IOTLB_INDEX_LG2);
	if (!sets || !ways)
		return 0; /* capacity 0: caching disabled */
	tlb->set = mem_aligned_alloc(_Alignof(struct iotlb_set), sizeof(*tlb->set) * sets);
	tlb->entries = mem_calloc((size_t)sets * ways, sizeof(*tlb->entries));
	if (!tlb->set || !tlb->entries) {
		mem_free(tlb->set);
		mem_free(tlb->entries);
		tlb->set = NULL;
		tlb->entries = NULL;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < sets; i++) {
		pthread_mutex_init(&tlb->set[i].lock, NULL);
		tlb->set[i].clock = 0;
		tlb->set[i].ways = &tlb->entries[(size_t)i * ways];
	}
	tlb->sets = sets;
	tlb->ways = ways;
	return 0;
}

void iotlb_fini(struct hw_iotlb *tlb)
{
	for (uint32_t i = 0; i < tlb->sets; i++)
		pthread_mutex_destroy(&tlb->set[i].lock);
	mem_free(tlb->set);
	mem_free(tlb->entries);
	tlb->set = NULL;
	tlb->entries = NULL;
	tlb->sets = 0;
	tlb->ways = 0;
}

static struct iotlb_set *iotlb_set_of(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t page)
{
	/* consecutive pages of one domain land in consecutive sets */
	uint64_t h = page + (uint64_t)domain_tag * 0x9e3779b97f4a7c15ull;

	return &tlb->set[(h ^ (h >> 32)) & (tlb->sets - 1)];
}

static uint64_t iotlb_page_last(const struct iotlb_translation *t)
{
	return t->page_iova + ((t->size_lg2 >= 64 ? 0 : 1ull << t->size_lg2) - 1);
}

static bool iotlb_covers(const struct iotlb_entry *e, uint32_t domain_tag, uint64_t iova)
{
	return e->valid && e->domain_tag == domain_tag && iova >= e->translation.page_iova &&
	       iova <= iotlb_page_last(&e->translation);
}

bool iotlb_lookup(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t iova,
		  enum idt_access access, bool clean_write_walks, struct iotlb_translation *out)
{
	int need = access == IDT_ACCESS_WRITE ? IDT_PROT_WRITE : IDT_PROT_READ;
	struct iotlb_set *set;
	bool hit = false;

	if (!tlb->sets)
		return false;
	set = iotlb_set_of(tlb, domain_tag, iova >> IOTLB_INDEX_LG2);
	pthread_mutex_lock(&set->lock);
	for (uint32_t w = 0; w < tlb->ways; w++) {
		struct iotlb_entry *e = &set->ways[w];

		if (!iotlb_covers(e, domain_tag, iova))
			continue;
		/* hardware.md 4 lookup table: a missing permission re-walks so that
		 * the outcome reflects memory; a clean entry re-walks for a write
		 * when the walk would set D (t = 1) or fault (RISC-V gate off);
		 * d = 1 is used without touching page-table memory. */
		if (!(e->translation.prot & need) ||
		    (access == IDT_ACCESS_WRITE && !e->translation.dirty &&
		     (e->translation.tracks_dirty || clean_write_walks))) {
			e->valid = false;
			break;
		}
		e->last_use = ++set->clock;
		*out = e->translation;
		hit = true;
		break;
	}
	pthread_mutex_unlock(&set->lock);
	return hit;
}

static void iotlb_note_size(struct hw_iotlb *tlb, uint32_t size_lg2)
{
	uint32_t cur = atomic_load(&tlb->max_size_lg2);

	while (size_lg2 > cur && !atomic_compare_exchange_weak(&tlb->max_size_lg2, &cur, size_lg2))
		;
}

void iotlb_fill(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t iova, uint64_t generation,
		const struct iotlb_translation *translation)
{
	struct iotlb_set *set;
	struct iotlb_entry *victim = NULL;

	if (!tlb->sets)
		return;
	/* Published before the generation check, so an invalidation that this
	 * fill does not see coming (same generation) widens by this size. */
	iotlb_note_size(tlb, translation->size_lg2);
	set = iotlb_set_of(tlb, domain_tag, iova >> IOTLB_INDEX_LG2);
	pthread_mutex_lock(&set->lock);
	if (atomic_load(&tlb->generation) != generation)
		goto out; /* an invalidation began after the walk read memory */
	for (uint32_t w = 0; w < tlb->ways; w++) {
		struct iotlb_entry *e = &set->ways[w];

		if (e->valid && e->domain_tag == domain_tag &&
		    e->translation.page_iova == translation->page_iova &&
		    e->translation.size_lg2 == translation->size_lg2) {
			victim = e; /* a concurrent fill of the same page: replace it */
			break;
		}
		if (!victim || (victim->valid && (!e->valid || e->last_use < victim->last_use)))
			victim = e;
	}
	victim->translation = *translation;
	victim->domain_tag = domain_tag;
	victim->valid = true;
	victim->last_use = ++set->clock;
out:
	pthread_mutex_unlock(&set->lock);
}

enum iotlb_match { MATCH_RANGE, MATCH_DOMAIN, MATCH_ALL };

struct iotlb_selector {
	enum iotlb_match match;
	uint32_t domain_tag;
	uint64_t start, last;
};

static bool iotlb_selected(const struct iotlb_entry *e, const struct iotlb_selector *sel)
{
	if (!e->valid)
		return false;
	if (sel->match == MATCH_ALL)
		return true;
	if (e->domain_tag != sel->domain_tag)
		return false;
	return sel->match == MATCH_DOMAIN ||
	       (e->translation.page_iova <= sel->last &&
		iotlb_page_last(&e->translation) >= sel->start);
}

static void iotlb_remove_in_set(struct iotlb_set *set, uint32_t ways,
				const struct iotlb_selector *sel)
{
	pthread_mutex_lock(&set->lock);
	for (uint32_t w = 0; w < ways; w++)
		if (iotlb_selected(&set->ways[w], sel))
			set->ways[w].valid = false;
	pthread_mutex_unlock(&set->lock);
}

static void iotlb_remove_everywhere(struct hw_iotlb *tlb, const struct iotlb_selector *sel)
{
	for (uint32_t i = 0; i < tlb->sets; i++)
		iotlb_remove_in_set(&tlb->set[i], tlb->ways, sel);
}

void iotlb_invalidate_range(struct hw_iotlb *tlb, uint32_t domain_tag, uint64_t start,
			    uint64_t last)
{
	struct iotlb_selector sel = { MATCH_RANGE, domain_tag, start, last };
	uint32_t max_lg2;
	uint64_t mask, first_page, last_page;

	if (!tlb->sets)
		return;
	atomic_fetch_add(&tlb->generation, 1);
	/* An entry is indexed by a 4 KiB page inside its own page, which may
	 * lie outside [start, last]: widen to the largest cached page size. */
	max_lg2 = atomic_load(&tlb->max_size_lg2);
	mask = max_lg2 >= 64 ? UINT64_MAX : (1ull << max_lg2) - 1;
	first_page = (start & ~mask) >> IOTLB_INDEX_LG2;
	last_page = (last | mask) >> IOTLB_INDEX_LG2;
	if (last_page - first_page >= tlb->sets) {
		iotlb_remove_everywhere(tlb, &sel);
		return;
	}
	for (uint64_t page = first_page;; page++) {
		iotlb_remove_in_set(iotlb_set_of(tlb, domain_tag, page), tlb->ways, &sel);
		if (page == last_page)
			break;
	}
}

void iotlb_invalidate_domain(struct hw_iotlb *tlb, uint32_t domain_tag)
{
	struct iotlb_selector sel = { MATCH_DOMAIN, domain_tag, 0, 0 };

	if (!tlb->sets)
		return;
	atomic_fetch_add(&tlb->generation, 1);
	iotlb_remove_everywhere(tlb, &sel);
}

void iotlb_invalidate_all(struct hw_iotlb *tlb)
{
	struct iotlb_selector sel = { MATCH_ALL, 0, 0, 0 };

	if (!tlb->sets)
		return;
	atomic_fetch_add(&tlb->generation, 1);
	iotlb_remove_everywhere(tlb, &sel);
}
