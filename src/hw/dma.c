/* SPDX-License-Identifier: MIT */
/*
 * Translation (hardware.md 2.1), the DMA engine, faults (hardware.md 3) and
 * the harvest protocol (hardware.md 6).
 */
#include <errno.h>
#include <string.h>

#include "hw/hw_internal.h"

/* RISC-V first-stage page-fault and access-fault causes (hardware.md 3) */
#define RISCV_CAUSE_LOAD_PAGE_FAULT 13
#define RISCV_CAUSE_STORE_PAGE_FAULT 15
#define RISCV_CAUSE_LOAD_ACCESS_FAULT 5
#define RISCV_CAUSE_STORE_ACCESS_FAULT 7

/* The cause a RISC-V fault record carries (hardware.md 3), 0 elsewhere;
 * context faults carry the context's own cause (hw_fill_record). */
static uint32_t hw_fault_cause(const struct idt_iommu *iommu, enum idt_fault_kind kind,
			       enum idt_access access)
{
	bool write = access == IDT_ACCESS_WRITE;

	if (iommu->format != IDT_PT_RISCV)
		return 0;
	switch (kind) {
	case IDT_FAULT_NOT_PRESENT:
	case IDT_FAULT_MALFORMED:
	case IDT_FAULT_PERMISSION:
	case IDT_FAULT_AD_DISABLED:
		return write ? RISCV_CAUSE_STORE_PAGE_FAULT : RISCV_CAUSE_LOAD_PAGE_FAULT;
	case IDT_FAULT_OUTSIDE_MEMORY:
		return write ? RISCV_CAUSE_STORE_ACCESS_FAULT : RISCV_CAUSE_LOAD_ACCESS_FAULT;
	default:
		return 0;
	}
}

/* Appends a record to the bounded queue; a full queue drops and counts. */
static void hw_queue_fault(struct idt_iommu *iommu, struct hw_slot *slot,
			   const struct idt_fault *record)
{
	bool dropped;

	hw_count(slot, HW_FAULTS, 1);
	pthread_mutex_lock(&iommu->fault_lock);
	dropped = iommu->fault_count == iommu->fault_capacity;
	if (!dropped) {
		uint32_t tail = (iommu->fault_head + iommu->fault_count) % iommu->fault_capacity;

		iommu->faults[tail] = *record;
		iommu->fault_count++;
	}
	pthread_mutex_unlock(&iommu->fault_lock);
	if (dropped)
		hw_count(slot, HW_FAULTS_DROPPED, 1);
}

size_t idt_iommu_drain_faults(struct idt_iommu *iommu, struct idt_fault *records, size_t max)
{
	size_t n = 0;

	if (!iommu || !records)
		return 0;
	pthread_mutex_lock(&iommu->fault_lock);
	while (n < max && iommu->fault_count) {
		records[n++] = iommu->faults[iommu->fault_head];
		iommu->fault_head = (iommu->fault_head + 1) % iommu->fault_capacity;
		iommu->fault_count--;
	}
	pthread_mutex_unlock(&iommu->fault_lock);
	return n;
}

/* A context fault for a device without a usable context. */
static void hw_context_fault(const struct hw_context *ctx, struct idt_pt_walk_result *res)
{
	memset(res, 0, sizeof(*res));
	res->fault = IDT_FAULT_CONTEXT;
	if (ctx) {
		res->item = ctx->word0;
		res->level = ctx->top_level;
	}
}

/*
 * One translation (hardware.md 2.1 steps 2 to 6) for a usable context:
 * the device's permission (AMD DTE.IR/IW), then the IOTLB (rules of
 * hardware.md 4), on a miss the A/D-updating walk, and on success the fill.
 */
static void hw_translate_one(struct idt_iommu *iommu, struct hw_slot *slot,
			     const struct hw_context *ctx, uint64_t iova, enum idt_access access,
			     struct idt_pt_walk_result *res)
{
	int need = access == IDT_ACCESS_WRITE ? IDT_PROT_WRITE : IDT_PROT_READ;
	struct iotlb_translation hit;
	const struct hw_hooks *hooks;
	uint64_t generation;

	if (!(ctx->prot & need)) {
		memset(res, 0, sizeof(*res));
		res->fault = IDT_FAULT_PERMISSION;
		res->level = ctx->top_level;
		res->item = ctx->word0;
		return;
	}
	if (iotlb_lookup(&iommu->iotlb, ctx->domain_tag, iova, access, iommu->clean_write_walks,
			 &hit)) {
		hw_count(slot, HW_HITS, 1);
		memset(res, 0, sizeof(*res));
		res->page_iova = hit.page_iova;
		res->page_oa = hit.page_oa;
		res->oa = hit.page_oa + (iova - hit.page_iova);
		res->size_lg2 = hit.size_lg2;
		res->prot = hit.prot;
		res->dirty = hit.dirty;
		return;
	}
	hw_count(slot, HW_MISSES, 1);
	/* read before the walk: an invalidation from now on voids the fill */
	generation = iotlb_generation(&iommu->iotlb);
	hooks = atomic_load(&iommu->hooks);
	hw_count(slot, HW_WALKS, 1);
	/* cannot fail: the table, the gate and the access are valid here */
	(void)idt_pt_hw_walk(ctx->pt, iova, access, &ctx->gate, hooks ? &hooks->walk : NULL, res);
	hw_count(slot, HW_AD_UPDATES, res->ad_updates);
	hw_count(slot, HW_CAS_RETRIES, res->cas_retries);
	if (res->fault != IDT_FAULT_NONE)
		return; /* faults are never cached */
	iotlb_fill(&iommu->iotlb, ctx->domain_tag, iova, generation,
		   &(struct iotlb_translation){
			   .page_iova = res->page_iova,
			   .page_oa = res->page_oa,
			   .size_lg2 = res->size_lg2,
			   .prot = res->prot,
			   .dirty = res->dirty,
			   .tracks_dirty = ctx->gate.update_d,
		   });
}

/* Translation including the context step; returns the fault kind. */
static enum idt_fault_kind hw_translate(struct idt_iommu *iommu, struct hw_slot *slot,
					const struct hw_context *ctx, uint64_t iova,
					enum idt_access access, struct idt_pt_walk_result *res)
{
	if (!ctx || !ctx->usable)
		hw_context_fault(ctx, res);
	else
		hw_translate_one(iommu, slot, ctx, iova, access, res);
	return res->fault;
}

static void hw_fill_record(struct idt_iommu *iommu, const struct hw_context *ctx,
			   uint32_t device_id, uint64_t iova, enum idt_access access,
			   const struct idt_pt_walk_result *res, struct idt_fault *record)
{
	memset(record, 0, sizeof(*record));
	record->device_id = device_id;
	record->access = access;
	record->iova = iova;
	record->kind = res->fault;
	record->level = res->level;
	record->item = res->item;
	if (res->fault == IDT_FAULT_CONTEXT)
		record->cause = ctx ? ctx->fault_cause
				    : (iommu->format == IDT_PT_RISCV ? HW_RISCV_CAUSE_DDT_INVALID : 0);
	else
		record->cause = hw_fault_cause(iommu, res->fault, access);
}

int idt_iommu_translate(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova,
			enum idt_access access, struct idt_pt_walk_result *result)
{
	const struct hw_context *ctx;
	struct idt_fault record;
	struct hw_txn txn;

	if (!iommu || !result || (access != IDT_ACCESS_READ && access != IDT_ACCESS_WRITE))
		return -EINVAL;
	hw_txn_begin(iommu, &txn);
	ctx = hw_context_lookup(iommu, device_id);
	if (!ctx) {
		hw_txn_end(&txn);
		return -ENOENT;
	}
	if (hw_translate(iommu, txn.slot, ctx, iova, access, result) == IDT_FAULT_PERMISSION &&
	    access == IDT_ACCESS_WRITE && iommu->format == IDT_PT_RISCV) {
		/* hardware.md 2.5: a RISC-V translation request for write on a
		 * read-only page returns W = 0 and sets A only, without a fault */
		struct idt_pt_walk_result as_read;

		if (hw_translate(iommu, txn.slot, ctx, iova, IDT_ACCESS_READ, &as_read) ==
		    IDT_FAULT_NONE)
			*result = as_read;
	}
	if (result->fault != IDT_FAULT_NONE)
		hw_fill_record(iommu, ctx, device_id, iova, access, result, &record);
	hw_txn_end(&txn);
	if (result->fault != IDT_FAULT_NONE)
		hw_queue_fault(iommu, txn.slot, &record);
	return 0;
}

/* ---- data movement in atomic units ------------------------------------- */

/*
 * Guest memory is touched only with relaxed atomic loads and stores: 8-byte
 * units where the guest address is aligned, single bytes at unaligned heads
 * and tails.  A concurrent reader using the same units (idt_guest_copy) sees
 * each unit old or new, and the access is race-free under TSan.
 */
static void hw_copy_to_guest(uint8_t *guest, const uint8_t *src, size_t length)
{
	for (; length && ((uintptr_t)guest & 7); length--)
		__atomic_store_n(guest++, *src++, __ATOMIC_RELAXED);
	for (; length >= 8; length -= 8, guest += 8, src += 8) {
		uint64_t unit;

		memcpy(&unit, src, 8);
		__atomic_store_n((uint64_t *)guest, unit, __ATOMIC_RELAXED);
	}
	for (; length; length--)
		__atomic_store_n(guest++, *src++, __ATOMIC_RELAXED);
}

static void hw_copy_from_guest(uint8_t *dst, const uint8_t *guest, size_t length)
{
	for (; length && ((uintptr_t)guest & 7); length--)
		*dst++ = __atomic_load_n(guest++, __ATOMIC_RELAXED);
	for (; length >= 8; length -= 8, guest += 8, dst += 8) {
		uint64_t unit = __atomic_load_n((const uint64_t *)guest, __ATOMIC_RELAXED);

		memcpy(dst, &unit, 8);
	}
	for (; length; length--)
		*dst++ = __atomic_load_n(guest++, __ATOMIC_RELAXED);
}

void idt_guest_copy(void *dst, const void *src, size_t length)
{
	if (dst && src)
		hw_copy_from_guest(dst, src, length);
}

/* ---- DMA ---------------------------------------------------------------- */

/*
 * One transaction (hardware.md 1, "DMA interface"): translate, check the
 * output range is registered memory, move the data.  Returns the fault kind;
 * a faulting transaction moves nothing.  The OUTSIDE_MEMORY check follows a
 * successful translation, whose A/D updates and IOTLB fill stand, as on
 * hardware whose memory access fails after the translation.
 */
static enum idt_fault_kind hw_transaction(struct idt_iommu *iommu, struct hw_txn *txn,
					  const struct hw_context *ctx, uint32_t device_id,
					  uint64_t iova, enum idt_access access, uint8_t *buffer,
					  size_t length, struct idt_fault *record)
{
	struct idt_pt_walk_result res;

	if (hw_translate(iommu, txn->slot, ctx, iova, access, &res) == IDT_FAULT_NONE &&
	    !hw_memory_contains(iommu, res.oa, length)) {
		res.fault = IDT_FAULT_OUTSIDE_MEMORY;
		res.item = 0;
	}
	if (res.fault != IDT_FAULT_NONE) {
		hw_fill_record(iommu, ctx, device_id, iova, access, &res, record);
		return res.fault;
	}
	/* 2.1 step 7: the A/D updates are complete and visible (the walk's CAS) */
	if (access == IDT_ACCESS_WRITE)
		hw_copy_to_guest((uint8_t *)(uintptr_t)res.oa, buffer, length);
	else
		hw_copy_from_guest(buffer, (const uint8_t *)(uintptr_t)res.oa, length);
	hw_count(txn->slot, HW_DMA_BYTES, length);
	return IDT_FAULT_NONE;
}

static size_t hw_dma(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova, uint8_t *buffer,
		     size_t length, enum idt_access access, struct idt_fault *fault)
{
	struct idt_fault record = { .kind = IDT_FAULT_NONE };
	struct hw_slot *slot = NULL;
	size_t done = 0;

	if (!iommu || (!buffer && length) || (length && iova + (length - 1) < iova))
		length = 0; /* nothing a device could issue: moves nothing */
	while (done < length) {
		uint64_t cur = iova + done;
		const struct hw_context *ctx;
		uint64_t boundary;
		size_t chunk;
		struct hw_txn txn;
		enum idt_fault_kind kind;

		hw_txn_begin(iommu, &txn);
		slot = txn.slot;
		ctx = hw_context_lookup(iommu, device_id);
		/* transactions never cross a 4 KiB (or smaller granule) boundary */
		boundary = 1ull << (ctx ? ctx->txn_lg2 : 12);
		chunk = boundary - (cur & (boundary - 1));
		if (chunk > length - done)
			chunk = length - done;
		kind = hw_transaction(iommu, &txn, ctx, device_id, cur, access, buffer + done, chunk,
				      &record);
		hw_txn_end(&txn);
		if (kind != IDT_FAULT_NONE) {
			hw_queue_fault(iommu, slot, &record);
			break;
		}
		done += chunk;
	}
	if (fault)
		*fault = record;
	return done;
}

size_t idt_dma_write(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova,
		     const void *buffer, size_t length, struct idt_fault *fault)
{
	return hw_dma(iommu, device_id, iova, (uint8_t *)(uintptr_t)buffer, length,
		      IDT_ACCESS_WRITE, fault);
}

size_t idt_dma_read(struct idt_iommu *iommu, uint32_t device_id, uint64_t iova, void *buffer,
		    size_t length, struct idt_fault *fault)
{
	return hw_dma(iommu, device_id, iova, buffer, length, IDT_ACCESS_READ, fault);
}

/* ---- harvest (hardware.md 6) -------------------------------------------- */

int idt_iommu_harvest(struct idt_iommu *iommu, uint32_t domain_tag, struct idt_pt *pt,
		      uint64_t iova, uint64_t size, unsigned int flags, struct idt_bitmap *bitmap,
		      enum idt_rcd_algo algo)
{
	struct idt_gather gather;
	struct idt_dirty_record record = { bitmap, &gather };
	int ret;

	if (!iommu || !pt)
		return -EINVAL;
	idt_gather_init(&gather);
	/* steps 1 and 2: record and clear */
	ret = idt_pt_read_and_clear_dirty(pt, iova, size, flags, &record, algo);
	/* steps 3 and 4: invalidate what was cleared, even after an error
	 * part-way, and drain; NO_CLEAR cleared nothing */
	if (!(flags & IDT_DIRTY_NO_CLEAR))
		idt_iommu_sync_gather(iommu, domain_tag, &gather);
	return ret;
}
