/* SPDX-License-Identifier: MIT */
/*
 * Transactions and the drain (hardware.md 5, "completion"): every DMA
 * transaction, from its context lookup to the end of its data access, is
 * counted in its thread's slot under the current epoch.  A drain waits for
 * the counts of both epochs, flipping the epoch in between so that new
 * transactions cannot keep it waiting (the scheme of Linux's SRCU).
 *
 * Why this is enough: a transaction that can still use something an
 * invalidation removed (an IOTLB entry, a context snapshot, a memory map,
 * a table about to be freed) incremented its counter before the removal.
 * The drain reads the other epoch's counts after the removal, then flips,
 * then reads the old epoch's counts: whichever epoch the transaction
 * entered under, one of the two reads sees it and waits for it to end.
 */
#include <sched.h>

#include "hw/hw_internal.h"

struct hw_slot *hw_my_slot(struct idt_iommu *iommu)
{
	uint64_t h = (uint64_t)(uintptr_t)pthread_self() * 0x9e3779b97f4a7c15ull;

	return &iommu->slots[h >> (64 - __builtin_ctz(HW_SLOTS))];
}

static uint64_t hw_in_flight(struct idt_iommu *iommu, uint32_t epoch)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < HW_SLOTS; i++)
		sum += atomic_load(&iommu->slots[i].in_flight[epoch]);
	return sum;
}

static void hw_wait_epoch(struct idt_iommu *iommu, uint32_t epoch)
{
	while (hw_in_flight(iommu, epoch))
		sched_yield();
}

void hw_drain(struct idt_iommu *iommu)
{
	uint32_t epoch;

	pthread_mutex_lock(&iommu->drain_lock);
	epoch = atomic_load(&iommu->epoch) & 1;
	hw_wait_epoch(iommu, epoch ^ 1);
	atomic_store(&iommu->epoch, epoch ^ 1);
	hw_wait_epoch(iommu, epoch);
	pthread_mutex_unlock(&iommu->drain_lock);
}
