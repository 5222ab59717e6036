/* SPDX-License-Identifier: MIT */
/*
 * Emulated IOMMU instances, devices and HWPT_PAGING objects (uapi.md 4.2,
 * 4.3, 8.3, 8.4, 12), and the commands on them: DESTROY (5.1), HWPT_ALLOC
 * (5.5), GET_HW_INFO (5.6), SET_DIRTY_TRACKING (5.7) and GET_DIRTY_BITMAP
 * (5.8, 6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "iommufd/iommufd_internal.h"
#include "iommufd/usermem.h"

/* The user address space every instance's DMA engine may reach: every
 * output address is an IOAS_MAP user_va checked by usermem_accessible. */
#define USER_VA_START 4096ull
#define USER_VA_END (1ull << 47)

/* uapi.md 8.4: the mock domain, AMD v1 with a 2 KiB granule, 31-bit IOVAs */
#define MOCK_GRANULE_LG2 11
#define MOCK_IOVA_WIDTH 31

/*
 * The emulated VT-d capability register reported by GET_HW_INFO (5.6): ND =
 * 6 (16-bit domain ids), SAGAW = 4-level, MGAW = 47 (48-bit), SLLPS = 2 MiB
 * and 1 GiB, matching the second-stage tables iodirty builds.
 */
#define VTD_CAP_REG (6ull | (1ull << 10) | (47ull << 16) | (3ull << 34))

/* ---- instances (uapi.md 12) ------------------------------------------------------- */

int instance_get(struct iommufd_ctx *ctx, uint32_t test_format, bool capable,
		 struct instance **out)
{
	struct idt_iommu_config config = { .size = sizeof(config) };
	struct instance *inst;
	int ret;

	for (inst = ctx->instances; inst; inst = inst->next)
		if (inst->test_format == test_format && inst->capable == capable) {
			*out = inst;
			return 0;
		}
	inst = mem_calloc(1, sizeof(*inst));
	if (!inst)
		return -ENOMEM;
	inst->test_format = test_format;
	inst->capable = capable;
	inst->next_device_id = 1;
	/* the mock is AMD v1 (enum idt_pt_format matches the test formats) */
	config.format = test_format == IODIRTY_TEST_FORMAT_MOCK ? IDT_PT_AMDV1 : test_format;
	inst->cap = idt_iommu_capability(config.format, capable);
	config.cap = inst->cap;
	ret = idt_core_iommu_create(&config, &inst->core);
	if (ret)
		goto fail;
	ret = idt_iommu_register_memory(idt_core_iommu_hw(inst->core), (void *)USER_VA_START,
					USER_VA_END - USER_VA_START);
	if (ret) {
		idt_core_iommu_destroy(inst->core);
		goto fail;
	}
	pthread_mutex_init(&inst->fault_lock, NULL);
	inst->next = ctx->instances;
	ctx->instances = inst;
	*out = inst;
	return 0;
fail:
	mem_free(inst);
	return ret;
}

void instance_destroy(struct instance *inst)
{
	idt_core_iommu_destroy(inst->core); /* no device or domain is left */
	pthread_mutex_destroy(&inst->fault_lock);
	mem_free(inst);
}

void instance_drain_faults(struct iommufd_ctx *ctx, struct instance *inst)
{
	struct idt_fault records[32];
	size_t count;

	pthread_mutex_lock(&inst->fault_lock);
	while ((count = idt_iommu_drain_faults(idt_core_iommu_hw(inst->core), records, 32))) {
		for (size_t i = 0; i < count; i++) {
			for (uint32_t id = 1; id < ctx->obj_capacity; id++) {
				struct device *dev = (struct device *)obj_find(ctx, id, OBJ_DEVICE);

				if (dev && dev->inst == inst &&
				    idt_device_id(dev->dev) == records[i].device_id) {
					atomic_fetch_add(&dev->faults, 1);
					break;
				}
			}
		}
	}
	pthread_mutex_unlock(&inst->fault_lock);
}

/* ---- HWPTs --------------------------------------------------------------------------- */

static bool hwpt_is_mock(const struct hwpt *hwpt)
{
	return hwpt->inst->test_format == IODIRTY_TEST_FORMAT_MOCK;
}

/*
 * A paging HWPT in ioas for the template device idev (uapi.md 5.5 steps
 * 8-10, 8.3 step 4): its id, a domain of the device's IOMMU, every area
 * mapped into it.  Not yet published.
 */
static int hwpt_create(struct iommufd_ctx *ctx, struct ioas *ioas, struct device *idev,
		       bool dirty, bool auto_domain, struct hwpt **out)
{
	struct idt_domain_config config = { .size = sizeof(config) };
	struct idt_domain_info info;
	struct hwpt *hwpt;
	int ret;

	hwpt = mem_calloc(1, sizeof(*hwpt));
	if (!hwpt)
		return -ENOMEM;
	ret = obj_reserve(ctx, &hwpt->obj.id);
	if (ret)
		goto fail;
	hwpt->obj.type = OBJ_HWPT;
	hwpt->ioas = ioas;
	hwpt->inst = idev->inst;
	hwpt->auto_domain = auto_domain;
	config.flags = dirty ? IDT_DOMAIN_DIRTY_TRACKING : 0;
	if (hwpt_is_mock(hwpt)) {
		config.granule_lg2 = MOCK_GRANULE_LG2;
		config.iova_width = MOCK_IOVA_WIDTH;
		config.page_sizes = IODIRTY_MOCK_IO_PAGE_SIZE |
				    (idev->mock_huge_iova ? IODIRTY_MOCK_HUGE_PAGE_SIZE : 0);
		hwpt->aperture_start = MOCK_APERTURE_START;
		/* uapi.md 8.4: a dirty huge entry is recorded from the cursor with
		 * its full size, as the legacy walk records */
		config.rcd_algo = IDT_RCD_LEGACY;
	}
	ret = idt_domain_alloc(idev->dev, &config, &hwpt->domain);
	if (ret)
		goto fail_id;
	idt_domain_get_info(hwpt->domain, &info);
	hwpt->aperture_last = info.aperture_last;
	hwpt->min_page = info.min_page_size;
	ret = ioas_add_hwpt(ioas, hwpt);
	if (ret)
		goto fail_domain;
	*out = hwpt;
	return 0;
fail_domain:
	idt_domain_free(hwpt->domain);
fail_id:
	obj_release(ctx, hwpt->obj.id);
fail:
	mem_free(hwpt);
	return ret;
}

void hwpt_destroy(struct iommufd_ctx *ctx, struct hwpt *hwpt)
{
	ioas_remove_hwpt(hwpt->ioas, hwpt);
	idt_domain_free(hwpt->domain); /* no device attached: cannot fail */
	obj_release(ctx, hwpt->obj.id);
	mem_free(hwpt);
}

static int hwpt_attach(struct hwpt *hwpt, struct device *idev)
{
	/* uapi.md 4.3: EINVAL for an incapable device on a dirty domain, and
	 * for a device of another instance (compat.md) */
	int ret = idt_domain_attach(hwpt->domain, idev->dev);

	if (ret)
		return ret;
	hwpt->devices++;
	idev->hwpt = hwpt;
	return 0;
}

/*
 * uapi.md 8.3 step 4 with an IOAS: the first auto domain of the IOAS that
 * takes the device (EINVAL: incompatible, try the next, as Linux), else a
 * new auto HWPT without dirty ops.
 */
static int hwpt_attach_auto(struct iommufd_ctx *ctx, struct ioas *ioas, struct device *idev)
{
	struct hwpt *hwpt;
	int ret;

	for (size_t i = 0; i < ioas->hwpt_count; i++) {
		if (!ioas->hwpts[i]->auto_domain)
			continue;
		ret = hwpt_attach(ioas->hwpts[i], idev);
		if (ret != -EINVAL)
			return ret;
	}
	ret = hwpt_create(ctx, ioas, idev, false, true, &hwpt);
	if (ret)
		return ret;
	ret = hwpt_attach(hwpt, idev);
	if (ret) {
		hwpt_destroy(ctx, hwpt);
		return ret;
	}
	obj_publish(ctx, &hwpt->obj);
	return 0;
}

/* ---- devices (uapi.md 8.3) ---------------------------------------------------------- */

int selftest_device_create(struct iommufd_ctx *ctx, uint32_t test_format, bool capable,
			   uint32_t core_flags, bool mock_huge_iova, uint32_t pt_id,
			   struct selftest **stdev_out)
{
	struct idt_device_config config = { .size = sizeof(config), .flags = core_flags };
	struct selftest *stdev;
	struct device *idev;
	struct instance *inst;
	struct obj *pt;
	int ret = -ENOMEM;

	/* ids in the order stdev, idev, auto HWPT (unverified) */
	stdev = mem_calloc(1, sizeof(*stdev));
	idev = mem_calloc(1, sizeof(*idev));
	if (!stdev || !idev)
		goto fail;
	ret = obj_reserve(ctx, &stdev->obj.id);
	if (ret)
		goto fail;
	stdev->obj.type = OBJ_SELFTEST;
	ret = instance_get(ctx, test_format, capable, &inst);
	if (ret)
		goto fail_stdev_id;
	ret = idt_device_create_config(inst->core, inst->next_device_id, &config, &idev->dev);
	if (ret)
		goto fail_stdev_id;
	idev->inst = inst;
	idev->mock_huge_iova = mock_huge_iova;
	ret = obj_reserve(ctx, &idev->obj.id);
	if (ret)
		goto fail_dev;
	idev->obj.type = OBJ_DEVICE;
	atomic_init(&idev->faults, 0);

	pt = obj_find(ctx, pt_id, 0);
	if (!pt)
		ret = -ENOENT;
	else if (pt->type == OBJ_IOAS)
		ret = hwpt_attach_auto(ctx, (struct ioas *)pt, idev);
	else if (pt->type == OBJ_HWPT)
		ret = hwpt_attach((struct hwpt *)pt, idev);
	else
		ret = -EINVAL; /* unverified */
	if (ret)
		goto fail_idev_id;
	/* only now: a failed creation leaves the next device the same id */
	inst->next_device_id++;
	stdev->idev = idev;
	obj_publish(ctx, &idev->obj);
	obj_publish(ctx, &stdev->obj);
	*stdev_out = stdev;
	return 0;
fail_idev_id:
	obj_release(ctx, idev->obj.id);
fail_dev:
	idt_device_destroy(idev->dev);
fail_stdev_id:
	obj_release(ctx, stdev->obj.id);
fail:
	mem_free(idev);
	mem_free(stdev);
	return ret;
}

void selftest_destroy(struct iommufd_ctx *ctx, struct selftest *stdev)
{
	struct device *idev = stdev->idev;
	struct hwpt *hwpt = idev->hwpt;

	/* uapi.md 5.1: detach, drop the auto HWPT it leaves unused, unbind, remove */
	idt_domain_detach(hwpt->domain, idev->dev);
	if (!--hwpt->devices && hwpt->auto_domain)
		hwpt_destroy(ctx, hwpt);
	obj_release(ctx, idev->obj.id);
	idt_device_destroy(idev->dev);
	mem_free(idev);
	obj_release(ctx, stdev->obj.id);
	mem_free(stdev);
}

/* ---- DESTROY (5.1) ------------------------------------------------------------------- */

int obj_cmd_destroy(struct ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;
	struct obj *obj = obj_find(ucmd->ctx, cmd->id, 0);

	if (!obj)
		return -ENOENT;
	switch (obj->type) {
	case OBJ_IOAS:
		/* its HWPTs hold it (attached devices hold those) */
		if (((struct ioas *)obj)->hwpt_count)
			return -EBUSY;
		ioas_destroy(ucmd->ctx, (struct ioas *)obj);
		return 0;
	case OBJ_HWPT:
		if (((struct hwpt *)obj)->devices)
			return -EBUSY;
		hwpt_destroy(ucmd->ctx, (struct hwpt *)obj);
		return 0;
	case OBJ_DEVICE:
		/* its SELFTEST object binds it (unverified) */
		return -EBUSY;
	case OBJ_SELFTEST:
		selftest_destroy(ucmd->ctx, (struct selftest *)obj);
		return 0;
	}
	return -ENOENT;
}

/* ---- HWPT_ALLOC (5.5) ---------------------------------------------------------------- */

int hwpt_cmd_alloc(struct ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct device *idev;
	struct hwpt *hwpt;
	struct obj *pt;
	uint32_t format;
	int ret;

	/* checks in the 6.7 order of uapi.md 5.5 */
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len)
		return -EINVAL;
	idev = (struct device *)obj_find(ucmd->ctx, cmd->dev_id, OBJ_DEVICE);
	if (!idev)
		return -ENOENT;
	pt = obj_find(ucmd->ctx, cmd->pt_id, 0);
	if (!pt)
		return -EINVAL; /* Q7 */
	if (pt->type == OBJ_HWPT)
		return -EOPNOTSUPP; /* nesting is not implemented (compat.md) */
	if (pt->type != OBJ_IOAS)
		return -EINVAL;
	if (cmd->flags & ~(uint32_t)(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	/* the driver refuses: user data on a paging domain; a nesting parent
	 * where 6.7's driver cannot be one (only the mock and VT-d can) */
	if (cmd->data_len)
		return -EOPNOTSUPP;
	format = idev->inst->test_format;
	if ((cmd->flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && format != IODIRTY_TEST_FORMAT_MOCK &&
	    format != IODIRTY_TEST_FORMAT_VTDSS)
		return -EOPNOTSUPP;
	/* the core refuses dirty tracking on an incapable device (EOPNOTSUPP) */
	ret = hwpt_create(ucmd->ctx, (struct ioas *)pt, idev,
			  cmd->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING, false, &hwpt);
	if (ret)
		return ret;
	obj_publish(ucmd->ctx, &hwpt->obj);
	cmd->out_hwpt_id = hwpt->obj.id;
	ret = ucmd_respond(ucmd);
	if (ret)
		hwpt_destroy(ucmd->ctx, hwpt);
	return ret;
}

/* ---- GET_HW_INFO (5.6) --------------------------------------------------------------- */

/* Zeroes [uptr, uptr + length) of the caller's memory. */
static int hw_info_clear(uint64_t uptr, uint64_t length)
{
	static const uint8_t zeros[IOMMUFD_HOST_PAGE];

	while (length) {
		uint64_t chunk = length < sizeof(zeros) ? length : sizeof(zeros);

		if (usermem_write(uptr, zeros, (size_t)chunk))
			return -EFAULT;
		uptr += chunk;
		length -= chunk;
	}
	return 0;
}

int hwpt_cmd_hw_info(struct ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct iommu_test_hw_info mock = { .flags = 0, .test_reg = 0xdeadbeef };
	struct iommu_hw_info_vtd vtd = { 0 };
	const void *data = NULL;
	uint32_t data_len = 0, copy_len;
	struct device *idev;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	idev = (struct device *)obj_find(ucmd->ctx, cmd->dev_id, OBJ_DEVICE);
	if (!idev)
		return -ENOENT;
	cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	if (idev->inst->test_format == IODIRTY_TEST_FORMAT_MOCK) {
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
		data = &mock;
		data_len = sizeof(mock);
	} else if (idev->inst->test_format == IODIRTY_TEST_FORMAT_VTDSS) {
		vtd.cap_reg = VTD_CAP_REG;
		vtd.ecap_reg = idev->inst->cap;
		cmd->out_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
		data = &vtd;
		data_len = sizeof(vtd);
	}
	copy_len = cmd->data_len < data_len ? cmd->data_len : data_len;
	if (usermem_write(cmd->data_uptr, data, copy_len) ||
	    hw_info_clear(cmd->data_uptr + copy_len, cmd->data_len - copy_len))
		return -EFAULT;
	cmd->data_len = data_len;
	cmd->out_capabilities = idt_device_capable(idev->dev, IDT_CAP_DIRTY_TRACKING)
					? IOMMU_HW_CAP_DIRTY_TRACKING
					: 0;
	return ucmd_respond(ucmd);
}

/* ---- SET_DIRTY_TRACKING (5.7) -------------------------------------------------------- */

int hwpt_cmd_set_dirty(struct ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct hwpt *hwpt;

	/* Q4: __reserved is not checked */
	if (cmd->flags & ~(uint32_t)IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	hwpt = (struct hwpt *)obj_find(ucmd->ctx, cmd->hwpt_id, OBJ_HWPT);
	if (!hwpt)
		return -ENOENT;
	if (!idt_domain_has_dirty_ops(hwpt->domain))
		return -EOPNOTSUPP;
	/* the core runs the enable-time clean pass (uapi.md 4.4) */
	return idt_domain_set_dirty_tracking(hwpt->domain,
					     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
}

/* ---- GET_DIRTY_BITMAP (5.8, 6) ------------------------------------------------------- */

/*
 * Section 6: read-and-clear the areas from iova while they are contiguous,
 * up to last; the first hole ends the walk and errors end it too (Q1).
 */
static void hwpt_walk_dirty(struct hwpt *hwpt, uint64_t iova, uint64_t last, uint32_t flags,
			    struct idt_dirty_record *record)
{
	const struct ioas *ioas = hwpt->ioas;
	size_t pos = ioas_area_at(ioas, iova);
	uint64_t cursor = iova;

	for (; pos < ioas->area_count && ioas->areas[pos].iova <= cursor; pos++) {
		const struct area *a = &ioas->areas[pos];
		uint64_t a_last = a->iova + (a->length - 1);
		uint64_t part_last = a_last < last ? a_last : last;

		if (idt_domain_read_and_clear_dirty(hwpt->domain, cursor, part_last - cursor + 1,
						    flags, record))
			return;
		if (part_last == last)
			return;
		cursor = part_last + 1;
	}
}

int hwpt_cmd_get_dirty(struct ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct idt_bitmap bitmap;
	struct idt_gather gather;
	struct idt_dirty_record record = { &bitmap, &gather };
	uint64_t last, align, nbits, bytes, writable, walk_last;
	unsigned int shift;
	struct hwpt *hwpt;

	if ((cmd->flags & ~(uint32_t)IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt = (struct hwpt *)obj_find(ucmd->ctx, cmd->hwpt_id, OBJ_HWPT);
	if (!hwpt)
		return -ENOENT;
	/* 5.8 step 3, in order; `iova > ULONG_MAX` cannot happen on LP64 */
	last = cmd->iova + (cmd->length - 1);
	if (last < cmd->iova)
		return -EOVERFLOW;
	align = ioas_iova_alignment(hwpt->ioas, NULL);
	if (cmd->iova % align || (last + 1) % align)
		return -EINVAL;
	if (!cmd->page_size)
		return -EINVAL;
	if ((cmd->iova & (cmd->page_size - 1)) || ((last + 1) & (cmd->page_size - 1)))
		return -EINVAL;
	/* Q8: after the range checks */
	if (!idt_domain_has_dirty_ops(hwpt->domain))
		return -EOPNOTSUPP;
	/* Q9 (deviation): iova 0, length 0 reports and clears nothing */
	if (!cmd->iova && !cmd->length)
		return 0;

	/* Q3: the lowest set bit of page_size is the shift */
	shift = (unsigned int)__builtin_ctzll(cmd->page_size);
	nbits = ((last - cmd->iova) >> shift) + 1;
	bytes = nbits / 8 + (nbits % 8 != 0);
	/* Q6: the first bitmap page must be writable (ENOMEM); a later bad
	 * page ends the walk there */
	writable = usermem_writable_prefix(cmd->data, bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes);
	if (!writable)
		return -ENOMEM;
	walk_last = last;
	if (writable < bytes)
		walk_last = cmd->iova + ((writable * 8) << shift) - 1;
	idt_bitmap_init(&bitmap, cmd->iova, walk_last - cmd->iova + 1, 1ull << shift,
			(void *)(uintptr_t)cmd->data);
	idt_gather_init(&gather);
	/* the UAPI flags go to the driver unchanged (Q15) */
	hwpt_walk_dirty(hwpt, cmd->iova, walk_last, cmd->flags, &record);
	if (!(cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
		idt_domain_iotlb_sync(hwpt->domain, &gather);
	return 0; /* Q1 */
}
