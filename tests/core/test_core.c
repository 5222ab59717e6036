/* SPDX-License-Identifier: MIT */
/*
 * The iommu core (issue 4 item 1; uapi.md 4; formats.md 2.8, 3.5, 4.5, 5.6;
 * hardware.md 5 and 6; algorithms.md 1 and 5): capability, alloc and attach
 * enforcement (test-cases.md UA-04), dirty ops only with the dirty flag,
 * the enable clean pass and disabled-state policy (UA-07), NO_CLEAR and
 * the single invalidation of a harvest, gates at attach (HW-09), ARM's
 * writable-start-dirty (PT-04), RISC-V's always-on gate, map and unmap with
 * faults afterwards, -EBUSY on destroy, and bad inputs that change nothing.
 *
 * Dirty state comes from real DMA (idt_dma_write) into a registered heap
 * buffer mapped at IOVA0, so output addresses are host addresses (hw.h).
 * Run with the argument "stress" for the concurrency test only (suite
 * 'stress', under ThreadSanitizer).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iodirty/core.h"

#define SZ_2K 0x800ull
#define SZ_4K 0x1000ull
#define SZ_2M 0x200000ull
#define BIT(n) (1ull << (n))
#define RW (IDT_PROT_READ | IDT_PROT_WRITE)

#define assert_u64(actual, expected) assert_int_equal((uint64_t)(actual), (uint64_t)(expected))

#define IOVA0 0x40000000ull /* 1 GiB */
#define NPAGES 64
#define PAGE(n) (IOVA0 + (uint64_t)(n) * SZ_4K)
#define MEM_SIZE SZ_2M
#define DEV1 1
#define DEV2 2

/* Context gate bits (formats.md 2.8, 3.5, 4.5, 5.6), written out here. */
#define AMD_DTE_HAD (3ull << 7)
#define VTD_PE_SSADE BIT(9)
#define ARM_CD_HD BIT(42)
#define ARM_CD_HA BIT(43)
#define RISCV_TC_SADE BIT(8)

static const uint32_t all_formats[] = { IDT_PT_AMDV1, IDT_PT_VTDSS, IDT_PT_ARM_S1, IDT_PT_RISCV };
#define N_FORMATS (sizeof(all_formats) / sizeof(all_formats[0]))

static bool toggles(uint32_t format)
{
	return format == IDT_PT_AMDV1 || format == IDT_PT_VTDSS;
}

static uint64_t gate_bits(uint32_t format)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return AMD_DTE_HAD;
	case IDT_PT_VTDSS:
		return VTD_PE_SSADE;
	case IDT_PT_ARM_S1:
		return ARM_CD_HA | ARM_CD_HD;
	default:
		return RISCV_TC_SADE;
	}
}

static struct idt_core_iommu *iommu_new(uint32_t format, uint64_t cap)
{
	struct idt_iommu_config cfg = { .size = sizeof(cfg), .format = format, .cap = cap };
	struct idt_core_iommu *iommu = NULL;

	assert_int_equal(idt_core_iommu_create(&cfg, &iommu), 0);
	return iommu;
}

static uint64_t host(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* ---- the rig: a capable IOMMU, guest memory, DEV1 on a domain ------------- */

struct rig {
	uint32_t format;
	struct idt_core_iommu *iommu;
	struct idt_iommu *hw;
	struct idt_device *dev1;
	struct idt_domain *domain;
	uint8_t *mem;
};

struct rig_opts {
	bool no_dirty;      /* domain without the dirty flag */
	bool unmapped;      /* do not map NPAGES pages at IOVA0 */
	bool detached;      /* do not attach DEV1 */
	uint64_t page_sizes; /* 0: 4 KiB only */
};

static struct idt_domain_config domain_config(uint32_t flags, uint64_t page_sizes)
{
	return (struct idt_domain_config){
		.size = sizeof(struct idt_domain_config),
		.flags = flags,
		.page_sizes = page_sizes,
	};
}

static void rig_open(struct rig *r, uint32_t format, const struct rig_opts *o)
{
	static const struct rig_opts defaults;
	struct idt_domain_config cfg;

	if (!o)
		o = &defaults;
	memset(r, 0, sizeof(*r));
	r->format = format;
	r->iommu = iommu_new(format, idt_iommu_capability(format, true));
	r->hw = idt_core_iommu_hw(r->iommu);
	r->mem = aligned_alloc(SZ_2M, MEM_SIZE);
	assert_non_null(r->mem);
	memset(r->mem, 0xee, MEM_SIZE);
	assert_int_equal(idt_iommu_register_memory(r->hw, r->mem, MEM_SIZE), 0);
	assert_int_equal(idt_device_create(r->iommu, DEV1, &r->dev1), 0);
	cfg = domain_config(o->no_dirty ? 0 : IDT_DOMAIN_DIRTY_TRACKING,
			    o->page_sizes ? o->page_sizes : SZ_4K);
	assert_int_equal(idt_domain_alloc(r->dev1, &cfg, &r->domain), 0);
	if (!o->unmapped)
		assert_int_equal(idt_domain_map(r->domain, IOVA0, host(r->mem), NPAGES * SZ_4K, RW),
				 0);
	if (!o->detached)
		assert_int_equal(idt_domain_attach(r->domain, r->dev1), 0);
}

static void rig_close(struct rig *r)
{
	if (idt_device_domain(r->dev1))
		assert_int_equal(idt_domain_detach(r->domain, r->dev1), 0);
	assert_int_equal(idt_domain_free(r->domain), 0);
	assert_int_equal(idt_device_destroy(r->dev1), 0);
	assert_int_equal(idt_iommu_unregister_memory(r->hw, r->mem, MEM_SIZE), 0);
	assert_int_equal(idt_core_iommu_destroy(r->iommu), 0);
	free(r->mem);
}

static struct idt_device *device_new(struct idt_core_iommu *iommu, uint32_t id)
{
	struct idt_device *dev = NULL;

	assert_int_equal(idt_device_create(iommu, id, &dev), 0);
	return dev;
}

/* An 8-byte DMA write from dev into page n; it must complete. */
static void dma_page(const struct rig *r, const struct idt_device *dev, unsigned int n)
{
	uint64_t v = 0x1122334455667788ull + n;
	struct idt_fault fault;

	assert_int_equal(idt_dma_write(r->hw, idt_device_id(dev), PAGE(n) + 0x10, &v, sizeof(v),
				       &fault),
			 sizeof(v));
	assert_int_equal(fault.kind, IDT_FAULT_NONE);
	assert_memory_equal(r->mem + n * SZ_4K + 0x10, &v, sizeof(v));
}

/* A DMA write that must fault with kind, moving nothing. */
static void dma_fault(const struct rig *r, const struct idt_device *dev, uint64_t iova,
		      enum idt_fault_kind kind)
{
	uint64_t v = 0xdeadbeefull;
	struct idt_fault fault;

	assert_int_equal(idt_dma_write(r->hw, idt_device_id(dev), iova, &v, sizeof(v), &fault), 0);
	assert_int_equal(fault.kind, kind);
}

/*
 * Harvests [IOVA0, IOVA0 + NPAGES pages) at 4 KiB into a 64-bit mask
 * (bit n = page n), expecting expect_ret.
 */
static uint64_t harvest_flags(const struct rig *r, unsigned int flags, int expect_ret)
{
	uint8_t data[NPAGES / 8] = { 0 };
	struct idt_bitmap bitmap;
	uint64_t mask = 0;

	assert_int_equal(idt_bitmap_init(&bitmap, IOVA0, NPAGES * SZ_4K, SZ_4K, data), 0);
	assert_int_equal(idt_domain_harvest(r->domain, IOVA0, NPAGES * SZ_4K, flags, &bitmap),
			 expect_ret);
	for (unsigned int n = 0; n < NPAGES; n++)
		if (idt_bitmap_test(&bitmap, n))
			mask |= BIT(n);
	return mask;
}

static uint64_t harvest(const struct rig *r)
{
	return harvest_flags(r, 0, 0);
}

static uint64_t invalidations(const struct rig *r)
{
	struct idt_iommu_counters c;

	idt_iommu_get_counters(r->hw, &c);
	return c.invalidations;
}

static uint64_t context_word(const struct rig *r, const struct idt_device *dev)
{
	uint64_t word0 = 0;

	assert_int_equal(idt_iommu_context_read(r->hw, idt_device_id(dev), &word0), 0);
	return word0;
}

static bool page_dirty(const struct rig *r, unsigned int n)
{
	bool dirty = false;

	assert_int_equal(idt_pt_is_dirty(idt_domain_pt(r->domain), PAGE(n), &dirty), 0);
	return dirty;
}

static uint64_t all_pages(void)
{
	return NPAGES >= 64 ? UINT64_MAX : BIT(NPAGES) - 1;
}

/* ===========================================================================
 * Capability and enforcement (uapi.md 4.3)
 */

/* IOMMU_CAP_DIRTY_TRACKING comes from the capability register. */
static void test_capability(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		uint32_t format = all_formats[f];
		struct idt_core_iommu *yes = iommu_new(format, idt_iommu_capability(format, true));
		struct idt_core_iommu *no = iommu_new(format, idt_iommu_capability(format, false));
		struct idt_device *a = device_new(yes, 5), *b = device_new(no, 5);

		assert_int_equal(idt_core_iommu_format(yes), format);
		assert_true(idt_device_capable(a, IDT_CAP_DIRTY_TRACKING));
		assert_false(idt_device_capable(b, IDT_CAP_DIRTY_TRACKING));
		assert_false(idt_device_capable(a, (enum idt_cap)99));
		assert_false(idt_device_capable(NULL, IDT_CAP_DIRTY_TRACKING));
		assert_ptr_equal(idt_device_iommu(a), yes);
		assert_int_equal(idt_device_id(b), 5);
		assert_null(idt_device_domain(a));
		assert_int_equal(idt_device_destroy(a), 0);
		assert_int_equal(idt_device_destroy(b), 0);
		assert_int_equal(idt_core_iommu_destroy(yes), 0);
		assert_int_equal(idt_core_iommu_destroy(no), 0);
	}
	/* VT-d needs scalable mode as well as SSADS */
	{
		struct idt_core_iommu *iommu = iommu_new(IDT_PT_VTDSS, IDT_VTD_ECAP_SSADS);
		struct idt_device *dev = device_new(iommu, 1);

		assert_false(idt_device_capable(dev, IDT_CAP_DIRTY_TRACKING));
		assert_int_equal(idt_device_destroy(dev), 0);
		assert_int_equal(idt_core_iommu_destroy(iommu), 0);
	}
}

/* UA-04: the dirty flag on an incapable device is EOPNOTSUPP at alloc;
 * without it the domain has no dirty ops. */
static void test_alloc_dirty_incapable(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		uint32_t format = all_formats[f];
		struct idt_core_iommu *no = iommu_new(format, idt_iommu_capability(format, false));
		struct idt_core_iommu *yes = iommu_new(format, idt_iommu_capability(format, true));
		struct idt_device *a = device_new(no, 1), *b = device_new(yes, 1);
		struct idt_domain_config dirty = domain_config(IDT_DOMAIN_DIRTY_TRACKING, 0);
		struct idt_domain *d = (struct idt_domain *)&d, *plain = NULL, *tracked = NULL;

		assert_int_equal(idt_domain_alloc(a, &dirty, &d), -EOPNOTSUPP);
		assert_ptr_equal(d, &d); /* untouched */
		assert_int_equal(idt_domain_alloc(a, NULL, &plain), 0);
		assert_false(idt_domain_has_dirty_ops(plain));
		assert_int_equal(idt_domain_alloc(b, &dirty, &tracked), 0);
		assert_true(idt_domain_has_dirty_ops(tracked));
		assert_int_equal(idt_domain_dirty_tracking_enabled(tracked), !toggles(format));
		assert_int_equal(idt_domain_free(plain), 0);
		assert_int_equal(idt_domain_free(tracked), 0);
		assert_int_equal(idt_device_destroy(a), 0);
		assert_int_equal(idt_device_destroy(b), 0);
		assert_int_equal(idt_core_iommu_destroy(no), 0);
		assert_int_equal(idt_core_iommu_destroy(yes), 0);
	}
}

/* UA-04: an incapable device cannot attach to a dirty domain (EINVAL);
 * a device of another IOMMU cannot attach at all; an incapable device
 * attaches to a plain domain of its own IOMMU, gate off. */
static void test_attach_enforcement(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		uint32_t format = all_formats[f];
		struct rig r;
		struct idt_core_iommu *no = iommu_new(format, idt_iommu_capability(format, false));
		struct idt_core_iommu *other = iommu_new(format, idt_iommu_capability(format, true));
		struct idt_device *weak = device_new(no, DEV2), *far = device_new(other, DEV2);
		struct idt_domain *plain = NULL;
		struct idt_domain_info info;

		rig_open(&r, format, NULL);
		assert_int_equal(idt_domain_attach(r.domain, weak), -EINVAL);
		assert_int_equal(idt_domain_attach(r.domain, far), -EINVAL);
		assert_null(idt_device_domain(weak));
		assert_null(idt_device_domain(far));
		assert_int_equal(idt_domain_get_info(r.domain, &info), 0);
		assert_int_equal(info.devices, 1);

		assert_int_equal(idt_domain_alloc(weak, NULL, &plain), 0);
		assert_int_equal(idt_domain_attach(plain, far), -EINVAL);
		assert_int_equal(idt_domain_attach(plain, weak), 0);
		assert_ptr_equal(idt_device_domain(weak), plain);
		{
			uint64_t word0 = 0;

			assert_int_equal(idt_iommu_context_read(idt_core_iommu_hw(no), DEV2, &word0),
					 0);
			assert_u64(word0 & gate_bits(format), 0);
		}
		assert_int_equal(idt_domain_detach(plain, weak), 0);
		assert_int_equal(idt_domain_free(plain), 0);
		assert_int_equal(idt_device_destroy(weak), 0);
		assert_int_equal(idt_device_destroy(far), 0);
		assert_int_equal(idt_core_iommu_destroy(no), 0);
		assert_int_equal(idt_core_iommu_destroy(other), 0);
		rig_close(&r);
	}
}

/* A domain allocated without the dirty flag has no dirty ops: every dirty
 * op is refused and nothing is tracked (uapi.md 4.2). */
static void test_no_dirty_ops(void **state)
{
	struct rig_opts o = { .no_dirty = true };

	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct idt_gather gather;
		struct idt_dirty_record record = { NULL, &gather };
		struct rig r;

		rig_open(&r, all_formats[f], &o);
		idt_gather_init(&gather);
		assert_false(idt_domain_has_dirty_ops(r.domain));
		assert_false(idt_domain_dirty_tracking_enabled(r.domain));
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), -EINVAL);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), -EINVAL);
		dma_page(&r, r.dev1, 3); /* DMA works; gate off */
		assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), 0);
		harvest_flags(&r, 0, -EINVAL);
		assert_int_equal(idt_domain_read_and_clear_dirty(r.domain, IOVA0, SZ_4K, 0, &record),
				 -EINVAL);
		rig_close(&r);
	}
}

/* ===========================================================================
 * AMD and VT-d: the enable clean pass, the disabled state (UA-07)
 */

static void test_enable_clears_stale(void **state)
{
	static const uint32_t formats[] = { IDT_PT_AMDV1, IDT_PT_VTDSS };

	(void)state;
	for (unsigned int f = 0; f < 2; f++) {
		struct idt_pt *pt;
		uint64_t inv;
		struct rig r;

		rig_open(&r, formats[f], NULL);
		pt = idt_domain_pt(r.domain);
		assert_false(idt_domain_dirty_tracking_enabled(r.domain));
		assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), 0);

		/* gate off: DMA sets no D; stale D from before (make_dirty as
		 * hardware would have) on pages 9 and 10 */
		dma_page(&r, r.dev1, 2);
		assert_false(page_dirty(&r, 2));
		assert_int_equal(idt_pt_make_dirty(pt, PAGE(9)), 0);
		assert_int_equal(idt_pt_make_dirty(pt, PAGE(10)), 0);

		/* enable: one sync of the clean pass's gather, then one domain
		 * IOTLB invalidation per device from the gate change */
		inv = invalidations(&r);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		assert_u64(invalidations(&r) - inv, 2);
		assert_true(idt_domain_dirty_tracking_enabled(r.domain));
		assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), gate_bits(r.format));
		assert_false(page_dirty(&r, 9));
		assert_false(page_dirty(&r, 10));
		assert_u64(harvest(&r), 0);

		/* writes after enable are reported */
		dma_page(&r, r.dev1, 3);
		dma_page(&r, r.dev1, 40);
		assert_u64(harvest(&r), BIT(3) | BIT(40));
		assert_u64(harvest(&r), 0);

		/* UA-07 step 2: enabling again wipes A, with no gate change */
		dma_page(&r, r.dev1, 4);
		inv = invalidations(&r);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		assert_u64(invalidations(&r) - inv, 1);
		assert_u64(harvest(&r), 0);

		/* step 3: mark B, disable: the read with a bitmap is refused and
		 * clears nothing; the gate is off, writes set nothing more */
		dma_page(&r, r.dev1, 5);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), 0);
		assert_false(idt_domain_dirty_tracking_enabled(r.domain));
		assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), 0);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), 0);
		assert_u64(harvest_flags(&r, 0, -EINVAL), 0);
		assert_u64(harvest_flags(&r, IDT_DIRTY_NO_CLEAR, -EINVAL), 0);
		assert_true(page_dirty(&r, 5));
		dma_page(&r, r.dev1, 6);
		assert_false(page_dirty(&r, 6));

		/* step 4: re-enabling wipes B */
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		assert_false(page_dirty(&r, 5));
		assert_u64(harvest(&r), 0);

		/* disabled, a NULL bitmap is allowed and cleans */
		dma_page(&r, r.dev1, 7);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), 0);
		assert_true(page_dirty(&r, 7));
		inv = invalidations(&r);
		assert_int_equal(idt_domain_harvest(r.domain, IOVA0, NPAGES * SZ_4K, 0, NULL), 0);
		assert_u64(invalidations(&r) - inv, 1);
		assert_false(page_dirty(&r, 7));
		rig_close(&r);
	}
}

/* NO_CLEAR reports and keeps, with no invalidation; a clearing read
 * invalidates once; a read that found nothing invalidates nothing. */
static void test_no_clear(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		uint64_t inv;
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		dma_page(&r, r.dev1, 1);
		dma_page(&r, r.dev1, 2);
		dma_page(&r, r.dev1, 63);

		inv = invalidations(&r);
		assert_u64(harvest_flags(&r, IDT_DIRTY_NO_CLEAR, 0), BIT(1) | BIT(2) | BIT(63));
		assert_u64(harvest_flags(&r, IDT_DIRTY_NO_CLEAR, 0), BIT(1) | BIT(2) | BIT(63));
		assert_u64(invalidations(&r) - inv, 0);
		assert_true(page_dirty(&r, 2));

		assert_u64(harvest(&r), BIT(1) | BIT(2) | BIT(63));
		assert_u64(invalidations(&r) - inv, 1);
		assert_u64(harvest(&r), 0);
		assert_u64(invalidations(&r) - inv, 1);

		/* after the invalidation the next write walks and sets D again */
		dma_page(&r, r.dev1, 2);
		assert_u64(harvest(&r), BIT(2));
		rig_close(&r);
	}
}

/* The raw op never invalidates; the caller syncs the gather once. */
static void test_read_and_clear_op(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		uint8_t data[NPAGES / 8] = { 0 };
		struct idt_bitmap bitmap;
		struct idt_gather gather;
		struct idt_dirty_record record = { &bitmap, &gather };
		uint64_t inv;
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		dma_page(&r, r.dev1, 8);
		dma_page(&r, r.dev1, 20);
		assert_int_equal(idt_bitmap_init(&bitmap, IOVA0, NPAGES * SZ_4K, SZ_4K, data), 0);
		idt_gather_init(&gather);
		inv = invalidations(&r);
		/* two calls, as iommufd's windows do, one gather */
		assert_int_equal(idt_domain_read_and_clear_dirty(r.domain, IOVA0, 16 * SZ_4K, 0,
								 &record),
				 0);
		assert_int_equal(idt_domain_read_and_clear_dirty(r.domain, PAGE(16),
								 (NPAGES - 16) * SZ_4K, 0, &record),
				 0);
		assert_u64(invalidations(&r) - inv, 0);
		assert_true(idt_bitmap_test(&bitmap, 8));
		assert_true(idt_bitmap_test(&bitmap, 20));
		assert_u64(gather.start, PAGE(8));
		assert_u64(gather.last, PAGE(21) - 1);
		idt_domain_iotlb_sync(r.domain, &gather);
		assert_u64(invalidations(&r) - inv, 1);
		assert_true(idt_gather_empty(&gather));
		assert_u64(harvest(&r), 0);
		rig_close(&r);
	}
}

/* HW-09: a device attached after enabling gets the gate at attach, and
 * both devices' writes are reported; disabling clears both gates. */
static void test_late_attach_gets_gate(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct idt_device *dev2;
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		dev2 = device_new(r.iommu, DEV2);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		assert_int_equal(idt_domain_attach(r.domain, dev2), 0);
		assert_u64(context_word(&r, dev2) & gate_bits(r.format), gate_bits(r.format));
		dma_page(&r, r.dev1, 11);
		dma_page(&r, dev2, 12);
		assert_u64(harvest(&r), BIT(11) | BIT(12));

		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), 0);
		/* AMD/VT-d clear every gate; ARM/RISC-V keep them (always on) */
		assert_u64(context_word(&r, r.dev1) & gate_bits(r.format),
			   toggles(r.format) ? 0 : gate_bits(r.format));
		assert_u64(context_word(&r, dev2) & gate_bits(r.format),
			   toggles(r.format) ? 0 : gate_bits(r.format));
		/* and a device attached while disabled gets no gate on AMD/VT-d */
		assert_int_equal(idt_domain_detach(r.domain, dev2), 0);
		assert_null(idt_device_domain(dev2));
		assert_int_equal(idt_domain_attach(r.domain, dev2), 0);
		assert_u64(context_word(&r, dev2) & gate_bits(r.format),
			   toggles(r.format) ? 0 : gate_bits(r.format));
		/* enabling reaches every attached device */
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		assert_u64(context_word(&r, dev2) & gate_bits(r.format), gate_bits(r.format));
		dma_page(&r, dev2, 13);
		assert_u64(harvest(&r), BIT(13));
		assert_int_equal(idt_domain_detach(r.domain, dev2), 0);
		assert_int_equal(idt_device_destroy(dev2), 0);
		rig_close(&r);
	}
}

/* ===========================================================================
 * ARM (PT-04) and RISC-V: always on
 */

/* PT-04: writable mappings report dirty before enable, the enable pass
 * cleans them, read-only pages are never reported. */
static void test_arm_writable_start_dirty(void **state)
{
	struct rig_opts o = { .unmapped = true };
	const uint64_t writable = BIT(32) - 1, readonly = all_pages() & ~writable;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_ARM_S1, &o);
	assert_int_equal(idt_domain_map(r.domain, IOVA0, host(r.mem), 32 * SZ_4K, RW), 0);
	assert_int_equal(idt_domain_map(r.domain, PAGE(32), host(r.mem) + 32 * SZ_4K, 32 * SZ_4K,
					IDT_PROT_READ),
			 0);
	assert_true(idt_domain_dirty_tracking_enabled(r.domain));
	assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), gate_bits(r.format));

	assert_u64(harvest_flags(&r, IDT_DIRTY_NO_CLEAR, 0), writable);
	assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
	assert_u64(harvest(&r), 0);

	dma_page(&r, r.dev1, 4);
	dma_fault(&r, r.dev1, PAGE(40), IDT_FAULT_PERMISSION);
	assert_u64(harvest(&r) & readonly, 0);
	dma_page(&r, r.dev1, 5);

	/* "disable" is a no-op: the gate stays and reads still report */
	assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), 0);
	assert_true(idt_domain_dirty_tracking_enabled(r.domain));
	assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), gate_bits(r.format));
	assert_u64(harvest(&r), BIT(5));

	/* a read over a hole fails (formats.md 7) */
	assert_int_equal(idt_domain_harvest(r.domain, IOVA0, (NPAGES + 1) * SZ_4K, 0, NULL),
			 -EINVAL);
	rig_close(&r);
}

/* An ARM domain without the dirty flag: no DBM, no gate, writes work. */
static void test_arm_plain_domain(void **state)
{
	struct rig_opts o = { .no_dirty = true };
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_ARM_S1, &o);
	assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), 0);
	dma_page(&r, r.dev1, 1);
	rig_close(&r);
}

/* formats.md 5.6: the gate is set at attach for a dirty domain and stays;
 * writable leaves start dirty; set_dirty_tracking is a no-op. */
static void test_riscv_always_on(void **state)
{
	struct rig r, plain;
	struct rig_opts o = { .no_dirty = true };

	(void)state;
	rig_open(&r, IDT_PT_RISCV, NULL);
	assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), RISCV_TC_SADE);
	assert_true(idt_domain_dirty_tracking_enabled(r.domain));
	assert_u64(harvest_flags(&r, IDT_DIRTY_NO_CLEAR, 0), all_pages());
	assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
	assert_u64(harvest(&r), 0);
	/* a store to a clean leaf sets D, no fault, with the gate on */
	dma_page(&r, r.dev1, 9);
	assert_u64(harvest(&r), BIT(9));
	assert_int_equal(idt_domain_set_dirty_tracking(r.domain, false), 0);
	assert_u64(context_word(&r, r.dev1) & gate_bits(r.format), RISCV_TC_SADE);
	dma_page(&r, r.dev1, 10);
	assert_u64(harvest(&r), BIT(10));
	rig_close(&r);

	/* a plain domain leaves the gate off and relies on the presets */
	rig_open(&plain, IDT_PT_RISCV, &o);
	assert_u64(context_word(&plain, plain.dev1) & gate_bits(plain.format), 0);
	dma_page(&plain, plain.dev1, 9);
	rig_close(&plain);
}

/* Every enable wipes, on every format (uapi.md 4.4). */
static void test_reenable_wipes(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		dma_page(&r, r.dev1, 1);
		dma_page(&r, r.dev1, 33);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		assert_u64(harvest(&r), 0);
		dma_page(&r, r.dev1, 2);
		assert_u64(harvest(&r), BIT(2));
		rig_close(&r);
	}
}

/* ===========================================================================
 * Map, unmap, algorithms, geometry
 */

/* The clean pass walks every mapped area, ascending, each on its own:
 * holes between areas do not matter (ARM would fail on one). */
static void test_enable_pass_walks_areas(void **state)
{
	struct rig_opts o = { .unmapped = true };

	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct idt_domain_area areas[4];
		struct rig r;

		rig_open(&r, all_formats[f], &o);
		/* three areas with holes, mapped out of order */
		assert_int_equal(idt_domain_map(r.domain, PAGE(40), host(r.mem) + 40 * SZ_4K,
						8 * SZ_4K, RW),
				 0);
		assert_int_equal(idt_domain_map(r.domain, PAGE(0), host(r.mem), 4 * SZ_4K, RW), 0);
		assert_int_equal(idt_domain_map(r.domain, PAGE(10), host(r.mem) + 10 * SZ_4K,
						20 * SZ_4K, RW),
				 0);
		assert_int_equal(idt_domain_get_areas(r.domain, areas, 4), 3);
		assert_u64(areas[0].iova, PAGE(0));
		assert_u64(areas[1].iova, PAGE(10));
		assert_u64(areas[2].iova, PAGE(40));
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		dma_page(&r, r.dev1, 3);
		dma_page(&r, r.dev1, 12);
		dma_page(&r, r.dev1, 47);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		for (unsigned int n = 0; n < NPAGES; n++) {
			struct idt_pt_leaf leaf;

			if (idt_pt_lookup(idt_domain_pt(r.domain), PAGE(n), &leaf) == 0)
				assert_false(leaf.dirty);
		}
		rig_close(&r);
	}
}

/* Unmap invalidates with the drain: DMA to the unmapped range faults
 * afterwards, with one fault queued; the area list follows. */
static void test_map_unmap_fault(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct idt_domain_area areas[4];
		struct idt_domain_info info;
		struct idt_fault faults[4];
		uint64_t unmapped = 99, inv;
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		idt_iommu_drain_faults(r.hw, faults, 4);
		dma_page(&r, r.dev1, 20); /* cached in the IOTLB */

		inv = invalidations(&r);
		assert_int_equal(idt_domain_unmap(r.domain, PAGE(16), 8 * SZ_4K, &unmapped), 0);
		assert_u64(unmapped, 8 * SZ_4K);
		assert_u64(invalidations(&r) - inv, 1);
		dma_fault(&r, r.dev1, PAGE(20), IDT_FAULT_NOT_PRESENT);
		assert_int_equal(idt_iommu_drain_faults(r.hw, faults, 4), 1);
		assert_u64(faults[0].iova, PAGE(20));
		dma_page(&r, r.dev1, 15);
		dma_page(&r, r.dev1, 24);

		/* the area split in two */
		assert_int_equal(idt_domain_get_areas(r.domain, areas, 4), 2);
		assert_u64(areas[0].iova, PAGE(0));
		assert_u64(areas[0].length, 16 * SZ_4K);
		assert_u64(areas[1].iova, PAGE(24));
		assert_u64(areas[1].length, (NPAGES - 24) * SZ_4K);
		assert_int_equal(idt_domain_get_info(r.domain, &info), 0);
		assert_u64(info.mapped_bytes, (NPAGES - 8) * SZ_4K);

		/* nothing there: 0 bytes, no invalidation */
		inv = invalidations(&r);
		assert_int_equal(idt_domain_unmap(r.domain, PAGE(16), 8 * SZ_4K, &unmapped), 0);
		assert_u64(unmapped, 0);
		assert_u64(invalidations(&r) - inv, 0);

		/* remap the hole; then unmap across both areas and the middle */
		assert_int_equal(idt_domain_map(r.domain, PAGE(16), host(r.mem) + 16 * SZ_4K,
						8 * SZ_4K, RW),
				 0);
		dma_page(&r, r.dev1, 20);
		assert_int_equal(idt_domain_unmap(r.domain, PAGE(8), 32 * SZ_4K, &unmapped), 0);
		assert_u64(unmapped, 32 * SZ_4K);
		assert_int_equal(idt_domain_get_areas(r.domain, areas, 4), 2);
		assert_u64(areas[0].iova, PAGE(0));
		assert_u64(areas[0].length, 8 * SZ_4K);
		assert_u64(areas[1].iova, PAGE(40));
		assert_u64(areas[1].length, (NPAGES - 40) * SZ_4K);
		dma_fault(&r, r.dev1, PAGE(20), IDT_FAULT_NOT_PRESENT);
		dma_page(&r, r.dev1, 7);
		dma_page(&r, r.dev1, 40);
		rig_close(&r);
	}
}

static void test_unmap_everything(void **state)
{
	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct idt_domain_info info;
		uint64_t unmapped;
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		assert_int_equal(idt_domain_unmap(r.domain, 0, 1ull << 39, &unmapped), 0);
		assert_u64(unmapped, NPAGES * SZ_4K);
		assert_int_equal(idt_domain_get_info(r.domain, &info), 0);
		assert_int_equal(info.areas, 0);
		assert_u64(info.mapped_bytes, 0);
		dma_fault(&r, r.dev1, PAGE(0), IDT_FAULT_NOT_PRESENT);
		/* the clean pass over no area is fine */
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		rig_close(&r);
	}
}

/* Every algorithm (and the threaded one) reports the same pages. */
static void test_algorithms(void **state)
{
	static const struct {
		enum idt_rcd_algo algo;
		unsigned int threads;
	} choices[] = {
		{ IDT_RCD_IODIRTY, 0 },
		{ IDT_RCD_GENERIC_PT, 0 },
		{ IDT_RCD_LEGACY, 0 },
		{ IDT_RCD_IODIRTY, 4 },
	};

	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct rig r;

		rig_open(&r, all_formats[f], NULL);
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		for (unsigned int c = 0; c < sizeof(choices) / sizeof(choices[0]); c++) {
			struct idt_domain_info info;

			assert_int_equal(idt_domain_set_rcd(r.domain, choices[c].algo,
							    choices[c].threads),
					 0);
			assert_int_equal(idt_domain_get_info(r.domain, &info), 0);
			assert_int_equal(info.rcd_algo, choices[c].algo);
			assert_int_equal(info.rcd_threads, choices[c].threads);
			dma_page(&r, r.dev1, 0);
			dma_page(&r, r.dev1, 31);
			dma_page(&r, r.dev1, 32);
			dma_page(&r, r.dev1, 63);
			assert_u64(harvest(&r), BIT(0) | BIT(31) | BIT(32) | BIT(63));
			assert_u64(harvest(&r), 0);
			/* and the enable pass with it */
			dma_page(&r, r.dev1, 7);
			assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
			assert_u64(harvest(&r), 0);
		}
		assert_int_equal(idt_domain_set_rcd(r.domain, IDT_RCD_LEGACY, 2), -EINVAL);
		assert_int_equal(idt_domain_set_rcd(r.domain, (enum idt_rcd_algo)7, 0), -EINVAL);
		assert_int_equal(idt_domain_set_rcd(r.domain, IDT_RCD_IODIRTY, 65), -EINVAL);
		assert_int_equal(idt_domain_set_rcd(NULL, IDT_RCD_IODIRTY, 0), -EINVAL);
		rig_close(&r);
	}
}

/* Geometry: default apertures, page sizes, the 4 KiB restriction, the AMD
 * 2 KiB granule, AMD growth with a device attached. */
static void test_geometry(void **state)
{
	static const struct {
		uint32_t format;
		uint64_t aperture_last;
	} expect[] = {
		{ IDT_PT_AMDV1, UINT64_MAX },
		{ IDT_PT_VTDSS, BIT(48) - 1 },
		{ IDT_PT_ARM_S1, BIT(48) - 1 },
		{ IDT_PT_RISCV, BIT(48) - 1 },
	};

	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct idt_core_iommu *iommu =
			iommu_new(expect[f].format, idt_iommu_capability(expect[f].format, true));
		struct idt_device *dev = device_new(iommu, 1);
		struct idt_domain_config huge = domain_config(0, 0), small = domain_config(0, SZ_4K);
		struct idt_domain *a, *b;
		struct idt_domain_info info;
		struct idt_pt_leaf leaf;

		assert_int_equal(idt_domain_alloc(dev, &huge, &a), 0);
		assert_int_equal(idt_domain_alloc(dev, &small, &b), 0);
		assert_int_equal(idt_domain_get_info(a, &info), 0);
		assert_int_equal(info.format, expect[f].format);
		assert_u64(info.aperture_start, 0);
		assert_u64(info.aperture_last, expect[f].aperture_last);
		assert_u64(info.min_page_size, SZ_4K);
		assert_true(info.page_sizes & SZ_2M);
		assert_int_equal(info.granule_lg2, 12);
		assert_int_equal(info.devices, 0);
		assert_int_equal(info.dirty_ops, false);
		/* 2 MiB with huge pages: one leaf; restricted: 4 KiB leaves */
		assert_int_equal(idt_domain_map(a, SZ_2M, SZ_2M * 8, SZ_2M, RW), 0);
		assert_int_equal(idt_pt_lookup(idt_domain_pt(a), SZ_2M + SZ_4K, &leaf), 0);
		assert_int_equal(leaf.size_lg2, 21);
		assert_int_equal(idt_domain_get_info(b, &info), 0);
		assert_u64(info.page_sizes, SZ_4K);
		assert_int_equal(idt_domain_map(b, SZ_2M, SZ_2M * 8, SZ_2M, RW), 0);
		assert_int_equal(idt_pt_lookup(idt_domain_pt(b), SZ_2M + SZ_4K, &leaf), 0);
		assert_int_equal(leaf.size_lg2, 12);
		/* tags: distinct, lowest free from 1, reused */
		{
			struct idt_domain_info ia, ib;
			struct idt_domain *c;

			assert_int_equal(idt_domain_get_info(a, &ia), 0);
			assert_int_equal(idt_domain_get_info(b, &ib), 0);
			assert_int_equal(ia.domain_tag, 1);
			assert_int_equal(ib.domain_tag, 2);
			assert_int_equal(idt_domain_free(a), 0);
			assert_int_equal(idt_domain_alloc(dev, NULL, &c), 0);
			assert_int_equal(idt_domain_get_info(c, &ia), 0);
			assert_int_equal(ia.domain_tag, 1);
			assert_ptr_equal(idt_domain_iommu(c), iommu);
			assert_int_equal(idt_domain_free(c), 0);
		}
		assert_int_equal(idt_domain_free(b), 0);
		/* granule 11 only on AMD (the mock layout) */
		{
			struct idt_domain_config g = domain_config(0, 0);
			struct idt_domain *d = NULL;

			g.granule_lg2 = 11;
			if (expect[f].format == IDT_PT_AMDV1) {
				assert_int_equal(idt_domain_alloc(dev, &g, &d), 0);
				assert_int_equal(idt_domain_get_info(d, &info), 0);
				assert_u64(info.min_page_size, SZ_2K);
				assert_int_equal(idt_domain_map(d, SZ_2K, SZ_2K, SZ_2K, RW), 0);
				assert_int_equal(idt_domain_free(d), 0);
			} else {
				assert_int_equal(idt_domain_alloc(dev, &g, &d), -EINVAL);
			}
		}
		assert_int_equal(idt_device_destroy(dev), 0);
		assert_int_equal(idt_core_iommu_destroy(iommu), 0);
	}
}

/* AMD starts at 3 levels and grows: a device attached before the growth
 * reaches the new range (its context was refreshed), and the old range. */
static void test_amd_growth(void **state)
{
	const uint64_t high = 1ull << 50;
	struct idt_pt_info info;
	uint64_t v = 42, back = 0;
	struct idt_fault fault;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_AMDV1, NULL);
	idt_pt_get_info(idt_domain_pt(r.domain), &info);
	assert_int_equal(info.levels, 3);
	assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
	assert_int_equal(idt_domain_map(r.domain, high, host(r.mem) + 100 * SZ_4K, SZ_4K, RW), 0);
	idt_pt_get_info(idt_domain_pt(r.domain), &info);
	assert_int_equal(info.levels, 5);
	/* the DTE was updated and invalidated: mode (bits 11:9) and root */
	assert_u64((context_word(&r, r.dev1) >> 9) & 7, 5);
	assert_u64(context_word(&r, r.dev1) & 0x000ffffffffff000ull, info.root);
	assert_int_equal(idt_dma_write(r.hw, DEV1, high + 8, &v, sizeof(v), &fault), sizeof(v));
	assert_int_equal(fault.kind, IDT_FAULT_NONE);
	memcpy(&back, r.mem + 100 * SZ_4K + 8, sizeof(back));
	assert_u64(back, 42);
	dma_page(&r, r.dev1, 3);
	assert_u64(harvest(&r), BIT(3));
	{
		uint8_t data[1] = { 0 };
		struct idt_bitmap bitmap;

		assert_int_equal(idt_bitmap_init(&bitmap, high, SZ_4K, SZ_4K, data), 0);
		assert_int_equal(idt_domain_harvest(r.domain, high, SZ_4K, 0, &bitmap), 0);
		assert_int_equal(data[0], 1);
	}
	/* the clean pass covers both areas */
	assert_int_equal(idt_dma_write(r.hw, DEV1, high, &v, sizeof(v), NULL), sizeof(v));
	assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
	{
		bool dirty = true;

		assert_int_equal(idt_pt_is_dirty(idt_domain_pt(r.domain), high, &dirty), 0);
		assert_false(dirty);
	}
	rig_close(&r);
}

/* ===========================================================================
 * Lifetimes and bad inputs
 */

static void test_destroy_busy(void **state)
{
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_VTDSS, NULL);
	assert_int_equal(idt_domain_free(r.domain), -EBUSY);
	assert_int_equal(idt_device_destroy(r.dev1), -EBUSY);
	assert_int_equal(idt_core_iommu_destroy(r.iommu), -EBUSY);
	dma_page(&r, r.dev1, 1); /* still working */
	assert_int_equal(idt_domain_detach(r.domain, r.dev1), 0);
	assert_int_equal(idt_domain_detach(r.domain, r.dev1), -ENOENT);
	/* detached: no DMA */
	dma_fault(&r, r.dev1, PAGE(1), IDT_FAULT_CONTEXT);
	assert_int_equal(idt_core_iommu_destroy(r.iommu), -EBUSY); /* domain and device left */
	rig_close(&r);
}

/* Bad inputs are refused with the documented errno and change nothing. */
static void test_bad_inputs(void **state)
{
	struct idt_domain_area before[4], after[4];
	struct idt_domain_info info;
	struct idt_domain *d = NULL, *other = NULL;
	struct idt_device *dup = NULL;
	struct rig r;

	(void)state;
	rig_open(&r, IDT_PT_VTDSS, NULL);
	assert_int_equal(idt_domain_get_areas(r.domain, before, 4), 1);

	/* NULLs */
	assert_int_equal(idt_core_iommu_create(NULL, &r.iommu), -EINVAL);
	assert_int_equal(idt_core_iommu_destroy(NULL), -EINVAL);
	assert_null(idt_core_iommu_hw(NULL));
	assert_int_equal(idt_device_create(NULL, 3, &dup), -EINVAL);
	assert_int_equal(idt_device_create(r.iommu, 3, NULL), -EINVAL);
	assert_int_equal(idt_device_destroy(NULL), -EINVAL);
	assert_int_equal(idt_domain_alloc(NULL, NULL, &d), -EINVAL);
	assert_int_equal(idt_domain_alloc(r.dev1, NULL, NULL), -EINVAL);
	assert_int_equal(idt_domain_free(NULL), -EINVAL);
	assert_int_equal(idt_domain_attach(NULL, r.dev1), -EINVAL);
	assert_int_equal(idt_domain_attach(r.domain, NULL), -EINVAL);
	assert_int_equal(idt_domain_detach(NULL, r.dev1), -EINVAL);
	assert_int_equal(idt_domain_map(NULL, IOVA0, 0, SZ_4K, RW), -EINVAL);
	assert_int_equal(idt_domain_unmap(NULL, IOVA0, SZ_4K, NULL), -EINVAL);
	assert_int_equal(idt_domain_set_dirty_tracking(NULL, true), -EINVAL);
	assert_int_equal(idt_domain_harvest(NULL, IOVA0, SZ_4K, 0, NULL), -EINVAL);
	assert_int_equal(idt_domain_read_and_clear_dirty(r.domain, IOVA0, SZ_4K, 0, NULL), -EINVAL);
	assert_int_equal(idt_domain_get_info(NULL, &info), -EINVAL);
	assert_int_equal(idt_domain_get_info(r.domain, NULL), -EINVAL);
	assert_int_equal(idt_domain_get_areas(NULL, NULL, 0), 0);
	idt_domain_iotlb_sync(NULL, NULL);
	assert_false(idt_domain_has_dirty_ops(NULL));

	/* device ids are unique per IOMMU */
	assert_int_equal(idt_device_create(r.iommu, DEV1, &dup), -EEXIST);

	/* configs: size, trailing bytes, flags, algorithm */
	{
		struct {
			struct idt_domain_config cfg;
			uint64_t tail;
		} big = { .cfg = domain_config(0, 0), .tail = 1 };
		struct idt_domain_config cfg = domain_config(BIT(5), 0);

		big.cfg.size = sizeof(big);
		assert_int_equal(idt_domain_alloc(r.dev1, &big.cfg, &d), -E2BIG);
		big.tail = 0;
		assert_int_equal(idt_domain_alloc(r.dev1, &big.cfg, &d), 0);
		assert_int_equal(idt_domain_free(d), 0);
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), -EINVAL);
		cfg = domain_config(0, 0);
		cfg.size = 4;
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), -EINVAL);
		/* a short struct: later fields read as zero */
		cfg = domain_config(IDT_DOMAIN_DIRTY_TRACKING, SZ_4K);
		cfg.size = offsetof(struct idt_domain_config, page_sizes);
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), 0);
		assert_int_equal(idt_domain_get_info(d, &info), 0);
		assert_true(info.dirty_ops);
		assert_true(info.page_sizes & SZ_2M);
		assert_int_equal(idt_domain_free(d), 0);
		cfg = domain_config(0, 0);
		cfg.rcd_algo = 9;
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), -EINVAL);
		cfg.rcd_algo = IDT_RCD_LEGACY;
		cfg.rcd_threads = 2;
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), -EINVAL);
		cfg = domain_config(0, BIT(30) << 20); /* no size the format has */
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), -EINVAL);
		cfg = domain_config(0, 0);
		cfg.iova_width = 40;
		assert_int_equal(idt_domain_alloc(r.dev1, &cfg, &d), -EINVAL);
	}

	/* map: misaligned, empty, wrapping, outside the aperture, bad prot,
	 * overlapping */
	assert_int_equal(idt_domain_map(r.domain, PAGE(100) + 1, host(r.mem), SZ_4K, RW), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, PAGE(100), host(r.mem) + 8, SZ_4K, RW), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, PAGE(100), host(r.mem), SZ_4K + 1, RW), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, PAGE(100), host(r.mem), 0, RW), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, UINT64_MAX - SZ_4K + 1, host(r.mem), 2 * SZ_4K,
					RW),
			 -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, BIT(48), host(r.mem), SZ_4K, RW), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, PAGE(100), host(r.mem), SZ_4K, 0), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, PAGE(100), host(r.mem), SZ_4K, 8), -EINVAL);
	assert_int_equal(idt_domain_map(r.domain, PAGE(NPAGES - 1), host(r.mem), 2 * SZ_4K, RW),
			 -EEXIST);
	assert_int_equal(idt_domain_map(r.domain, IOVA0 - SZ_4K, host(r.mem), 2 * SZ_4K, RW),
			 -EEXIST);
	assert_int_equal(idt_domain_map(r.domain, IOVA0 - SZ_4K, host(r.mem),
					(NPAGES + 2) * SZ_4K, RW),
			 -EEXIST);
	{
		struct idt_pt_leaf leaf;

		/* the overlapping maps left no trace in the table */
		assert_int_equal(idt_pt_lookup(idt_domain_pt(r.domain), IOVA0 - SZ_4K, &leaf),
				 -ENOENT);
		assert_int_equal(idt_pt_lookup(idt_domain_pt(r.domain), PAGE(NPAGES), &leaf),
				 -ENOENT);
	}

	/* unmap: misaligned, empty, wrapping */
	assert_int_equal(idt_domain_unmap(r.domain, IOVA0 + 1, SZ_4K, NULL), -EINVAL);
	assert_int_equal(idt_domain_unmap(r.domain, IOVA0, 0, NULL), -EINVAL);
	assert_int_equal(idt_domain_unmap(r.domain, UINT64_MAX - SZ_4K + 1, 2 * SZ_4K, NULL),
			 -EINVAL);

	/* dirty ops: unknown flags */
	assert_int_equal(idt_domain_harvest(r.domain, IOVA0, SZ_4K, 2, NULL), -EINVAL);
	{
		struct idt_gather gather;
		struct idt_dirty_record record = { NULL, &gather };

		idt_gather_init(&gather);
		assert_int_equal(idt_domain_read_and_clear_dirty(r.domain, IOVA0, SZ_4K, 4, &record),
				 -EINVAL);
		assert_int_equal(idt_domain_read_and_clear_dirty(r.domain, IOVA0, 0, 0, &record),
				 -EINVAL);
	}

	/* attach twice, or to a second domain: EBUSY */
	assert_int_equal(idt_domain_attach(r.domain, r.dev1), -EBUSY);
	assert_int_equal(idt_domain_alloc(r.dev1, NULL, &other), 0);
	assert_int_equal(idt_domain_attach(other, r.dev1), -EBUSY);
	assert_ptr_equal(idt_device_domain(r.dev1), r.domain);
	assert_int_equal(idt_domain_detach(other, r.dev1), -ENOENT);
	assert_int_equal(idt_domain_free(other), 0);

	/* nothing changed */
	assert_int_equal(idt_domain_get_areas(r.domain, after, 4), 1);
	assert_memory_equal(before, after, sizeof(before[0]));
	assert_int_equal(idt_domain_get_info(r.domain, &info), 0);
	assert_int_equal(info.devices, 1);
	assert_u64(info.mapped_bytes, NPAGES * SZ_4K);
	assert_false(info.dirty_tracking);
	dma_page(&r, r.dev1, 1);
	rig_close(&r);
}

/* ===========================================================================
 * Concurrency (suite 'stress', run under ThreadSanitizer)
 */

#define STRESS_ROUNDS 150

struct stress {
	struct rig *r;
	struct idt_device *dev2;
	atomic_bool stop;
	atomic_uint failures; /* cmocka asserts only on the main thread */
};

static void check(struct stress *s, bool ok)
{
	if (!ok)
		atomic_fetch_add(&s->failures, 1);
}

static void *stress_writer(void *arg)
{
	struct stress *s = arg;
	uint64_t v = 1;

	for (unsigned int i = 0; !atomic_load(&s->stop); i++) {
		/* DEV1 stays attached: its writes always land */
		check(s, idt_dma_write(s->r->hw, DEV1, PAGE(i % 32) + 8 * (i % 8), &v, sizeof(v),
				       NULL) == sizeof(v));
		/* DEV2 comes and goes: a context fault when it is away */
		idt_dma_write(s->r->hw, DEV2, PAGE((i * 7) % 32), &v, sizeof(v), NULL);
	}
	return NULL;
}

static void *stress_harvester(void *arg)
{
	struct stress *s = arg;

	for (unsigned int i = 0; i < STRESS_ROUNDS; i++) {
		uint8_t data[4];
		struct idt_bitmap bitmap;
		int ret;

		idt_bitmap_init(&bitmap, IOVA0, 32 * SZ_4K, SZ_4K, data);
		ret = idt_domain_harvest(s->r->domain, IOVA0, 32 * SZ_4K, i & 1 ? IDT_DIRTY_NO_CLEAR : 0,
					 &bitmap);
		/* disabled AMD/VT-d refuse a bitmap */
		check(s, ret == 0 || ret == -EINVAL);
	}
	return NULL;
}

static void *stress_toggler(void *arg)
{
	struct stress *s = arg;

	for (unsigned int i = 0; i < STRESS_ROUNDS; i++) {
		struct idt_domain_info info;

		check(s, idt_domain_set_dirty_tracking(s->r->domain, i % 3 != 2) == 0);
		check(s, idt_domain_get_info(s->r->domain, &info) == 0);
	}
	return NULL;
}

static void *stress_mapper(void *arg)
{
	struct stress *s = arg;

	for (unsigned int i = 0; i < STRESS_ROUNDS; i++) {
		uint64_t unmapped;

		check(s, idt_domain_map(s->r->domain, PAGE(32), host(s->r->mem) + 32 * SZ_4K,
					32 * SZ_4K, RW) == 0);
		check(s, idt_domain_unmap(s->r->domain, PAGE(32), 32 * SZ_4K, &unmapped) == 0);
		check(s, unmapped == 32 * SZ_4K);
	}
	return NULL;
}

static void *stress_attacher(void *arg)
{
	struct stress *s = arg;

	for (unsigned int i = 0; i < STRESS_ROUNDS; i++) {
		check(s, idt_domain_attach(s->r->domain, s->dev2) == 0);
		check(s, idt_domain_detach(s->r->domain, s->dev2) == 0);
	}
	return NULL;
}

/* Harvests, DMA, enable/disable, map/unmap of another range and
 * attach/detach all at once; afterwards the rules still hold. */
static void test_concurrent(void **state)
{
	void *(*const workers[])(void *) = { stress_harvester, stress_toggler, stress_mapper,
					     stress_attacher };
	enum { N_WORKERS = sizeof(workers) / sizeof(workers[0]) };

	(void)state;
	for (unsigned int f = 0; f < N_FORMATS; f++) {
		struct rig_opts o = { .unmapped = true };
		pthread_t writers[2], threads[N_WORKERS];
		struct stress s = { 0 };
		struct rig r;

		rig_open(&r, all_formats[f], &o);
		assert_int_equal(idt_domain_map(r.domain, IOVA0, host(r.mem), 32 * SZ_4K, RW), 0);
		s.r = &r;
		s.dev2 = device_new(r.iommu, DEV2);
		for (unsigned int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&writers[i], NULL, stress_writer, &s), 0);
		for (unsigned int i = 0; i < N_WORKERS; i++)
			assert_int_equal(pthread_create(&threads[i], NULL, workers[i], &s), 0);
		for (unsigned int i = 0; i < N_WORKERS; i++)
			pthread_join(threads[i], NULL);
		atomic_store(&s.stop, true);
		for (unsigned int i = 0; i < 2; i++)
			pthread_join(writers[i], NULL);
		assert_int_equal(atomic_load(&s.failures), 0);

		/* quiesced: enable wipes, every later write is reported */
		assert_int_equal(idt_domain_set_dirty_tracking(r.domain, true), 0);
		{
			uint8_t data[4] = { 0 };
			struct idt_bitmap bitmap;

			idt_bitmap_init(&bitmap, IOVA0, 32 * SZ_4K, SZ_4K, data);
			assert_int_equal(idt_domain_harvest(r.domain, IOVA0, 32 * SZ_4K, 0, &bitmap),
					 0);
			assert_u64(data[0] | data[1] | data[2] | data[3], 0);
			for (unsigned int n = 0; n < 32; n++)
				dma_page(&r, r.dev1, n);
			assert_int_equal(idt_domain_harvest(r.domain, IOVA0, 32 * SZ_4K, 0, &bitmap),
					 0);
			for (unsigned int n = 0; n < 4; n++)
				assert_int_equal(data[n], 0xff);
		}
		assert_int_equal(idt_device_destroy(s.dev2), 0);
		rig_close(&r);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capability),
		cmocka_unit_test(test_alloc_dirty_incapable),
		cmocka_unit_test(test_attach_enforcement),
		cmocka_unit_test(test_no_dirty_ops),
		cmocka_unit_test(test_enable_clears_stale),
		cmocka_unit_test(test_no_clear),
		cmocka_unit_test(test_read_and_clear_op),
		cmocka_unit_test(test_late_attach_gets_gate),
		cmocka_unit_test(test_arm_writable_start_dirty),
		cmocka_unit_test(test_arm_plain_domain),
		cmocka_unit_test(test_riscv_always_on),
		cmocka_unit_test(test_reenable_wipes),
		cmocka_unit_test(test_enable_pass_walks_areas),
		cmocka_unit_test(test_map_unmap_fault),
		cmocka_unit_test(test_unmap_everything),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_amd_growth),
		cmocka_unit_test(test_destroy_busy),
		cmocka_unit_test(test_bad_inputs),
	};
	const struct CMUnitTest stress[] = {
		cmocka_unit_test(test_concurrent),
	};

	if (argc > 1 && !strcmp(argv[1], "stress"))
		return cmocka_run_group_tests_name("core-stress", stress, NULL, NULL);
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
