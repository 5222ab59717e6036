/* SPDX-License-Identifier: MIT */
/*
 * The dirty ops of a domain (uapi.md 4.2 and 4.4; algorithms.md 1 and 5):
 * set_dirty_tracking with the enable-time clean pass, the driver's
 * read_and_clear_dirty with its disabled-state policy, and the harvest
 * (read, clear, one invalidation unless NO_CLEAR: hardware.md 6).
 */
#include <errno.h>

#include "core/core_internal.h"

/* The domain's read-and-clear algorithm over [iova, iova + size). */
static int core_rcd(struct idt_domain *domain, uint64_t iova, uint64_t size, unsigned int flags,
		    struct idt_dirty_record *record)
{
	uint32_t algo = atomic_load(&domain->rcd_algo);
	uint32_t threads = atomic_load(&domain->rcd_threads);

	if (algo == IDT_RCD_IODIRTY && threads > 1)
		return idt_pt_read_and_clear_dirty_threads(domain->pt, iova, size, flags, record,
							   threads);
	return idt_pt_read_and_clear_dirty(domain->pt, iova, size, flags, record, algo);
}

/*
 * The driver toggle (formats.md 2.8, 3.5): the gate of every attached
 * device, each with its context and domain IOTLB invalidation and drain
 * (idt_iommu_set_gate).  Nothing happens when the state does not change, as
 * in the AMD and VT-d drivers; a failure restores the gates already changed
 * (as VT-d does).  Read lock held.
 */
static int core_toggle_gates(struct idt_domain *domain, bool enable)
{
	struct idt_iommu *hw = domain->iommu->hw;
	int ret = 0;

	pthread_mutex_lock(&domain->gate_lock);
	if (atomic_load(&domain->enabled) == enable)
		goto out;
	for (size_t i = 0; i < domain->device_count; i++) {
		ret = idt_iommu_set_gate(hw, domain->devices[i]->device_id, enable);
		if (ret) {
			while (i--)
				idt_iommu_set_gate(hw, domain->devices[i]->device_id, !enable);
			goto out;
		}
	}
	atomic_store(&domain->enabled, enable);
out:
	pthread_mutex_unlock(&domain->gate_lock);
	return ret;
}

int idt_domain_set_dirty_tracking(struct idt_domain *domain, bool enable)
{
	int ret = 0;

	if (!idt_domain_has_dirty_ops(domain))
		return -EINVAL;
	pthread_rwlock_rdlock(&domain->lock);
	if (enable) {
		/*
		 * uapi.md 4.4, steps 1-3: every mapped area in ascending order,
		 * no bitmap, one gather; stop at the first error; sync once
		 * even after an error; an error leaves tracking as it was.
		 */
		struct idt_gather gather;
		struct idt_dirty_record record = { NULL, &gather };

		idt_gather_init(&gather);
		for (size_t i = 0; i < domain->area_count && !ret; i++)
			ret = core_rcd(domain, domain->areas[i].iova, domain->areas[i].length, 0,
				       &record);
		idt_iommu_sync_gather(domain->iommu->hw, domain->tag, &gather);
	}
	/* step 4: the driver; ARM and RISC-V are always on (formats.md 4.5, 5.6) */
	if (!ret && core_format_toggles(domain->format))
		ret = core_toggle_gates(domain, enable);
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}

/* Read lock held. */
static int core_read_and_clear_locked(struct idt_domain *domain, uint64_t iova, uint64_t size,
				      unsigned int flags, struct idt_dirty_record *record)
{
	/*
	 * Driver policy (algorithms.md 1; uapi.md 4.2): AMD and VT-d refuse a
	 * read with a bitmap while tracking is disabled, and allow a clean
	 * without one; ARM and RISC-V have no disabled state and always read.
	 */
	if (core_format_toggles(domain->format) && record->bitmap &&
	    !atomic_load(&domain->enabled))
		return -EINVAL;
	return core_rcd(domain, iova, size, flags, record);
}

int idt_domain_read_and_clear_dirty(struct idt_domain *domain, uint64_t iova, uint64_t size,
				    unsigned int flags, struct idt_dirty_record *record)
{
	int ret;

	if (!idt_domain_has_dirty_ops(domain) || !record || (flags & ~IDT_DIRTY_NO_CLEAR))
		return -EINVAL;
	pthread_rwlock_rdlock(&domain->lock);
	ret = core_read_and_clear_locked(domain, iova, size, flags, record);
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}

void idt_domain_iotlb_sync(struct idt_domain *domain, struct idt_gather *gather)
{
	if (!domain || !gather)
		return;
	idt_iommu_sync_gather(domain->iommu->hw, domain->tag, gather);
}

int idt_domain_harvest(struct idt_domain *domain, uint64_t iova, uint64_t size,
		       unsigned int flags, struct idt_bitmap *bitmap)
{
	struct idt_gather gather;
	struct idt_dirty_record record = { bitmap, &gather };
	int ret;

	if (!idt_domain_has_dirty_ops(domain) || (flags & ~IDT_DIRTY_NO_CLEAR))
		return -EINVAL;
	idt_gather_init(&gather);
	pthread_rwlock_rdlock(&domain->lock);
	ret = core_read_and_clear_locked(domain, iova, size, flags, &record);
	/* hardware.md 6 steps 3-4: one invalidation over what was cleared,
	 * also after an error part-way; NO_CLEAR cleared nothing */
	if (!(flags & IDT_DIRTY_NO_CLEAR))
		idt_iommu_sync_gather(domain->iommu->hw, domain->tag, &gather);
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}
