/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD (uapi.md 8): the mock device ops MOCK_DOMAIN,
 * MOCK_DOMAIN_FLAGS, MD_CHECK_MAP, MD_CHECK_REFS and DIRTY, and iodirty's
 * extension ops (uapi.md 12): DEVICE_NEW, DMA and FAULTS.  `__reserved` is
 * ignored (8.1); an unknown op is EOPNOTSUPP (8.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "iommufd/iommufd_internal.h"
#include "iommufd/usermem.h"

/* DMA moves caller memory through a bounce buffer of this size. */
#define DMA_CHUNK (64u * 1024u)

/* The stdev's device, or NULL. */
static struct device *test_stdev_device(struct iommufd_ctx *ctx, uint32_t id)
{
	struct selftest *stdev = (struct selftest *)obj_find(ctx, id, OBJ_SELFTEST);

	return stdev ? stdev->idev : NULL;
}

/* Writes the three ids back; a failed copy-back undoes the device (uapi.md 3 step 7). */
static int test_respond_device(struct ucmd *ucmd, struct selftest *stdev)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	int ret;

	cmd->mock_domain.out_stdev_id = stdev->obj.id;
	cmd->mock_domain.out_hwpt_id = stdev->idev->hwpt->obj.id;
	cmd->mock_domain.out_idev_id = stdev->idev->obj.id;
	ret = ucmd_respond(ucmd);
	if (ret)
		selftest_destroy(ucmd->ctx, stdev);
	return ret;
}

/* ---- MOCK_DOMAIN, MOCK_DOMAIN_FLAGS (8.3) and DEVICE_NEW (12) ------------------------ */

static int test_mock_domain(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	uint32_t flags = cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
				 ? cmd->mock_domain_flags.dev_flags
				 : 0;
	struct selftest *stdev;
	int ret;

	/* 6.7 allows NO_DIRTY; HUGE_IOVA (6.8+) is accepted (compat.md) */
	if (flags & ~(uint32_t)(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA))
		return -EINVAL;
	/* NO_DIRTY is per device: the mock IOMMU itself is capable */
	ret = selftest_device_create(ucmd->ctx, IODIRTY_TEST_FORMAT_MOCK, true,
				     flags & MOCK_FLAGS_DEVICE_NO_DIRTY ? IDT_DEVICE_NO_DIRTY_TRACKING
									: 0,
				     flags & MOCK_FLAGS_DEVICE_HUGE_IOVA, cmd->id, &stdev);
	return ret ? ret : test_respond_device(ucmd, stdev);
}

static int test_device_new(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	uint32_t format = cmd->device_new.format;
	bool no_dirty = cmd->device_new.dev_flags & IODIRTY_TEST_DEVICE_NO_DIRTY;
	struct selftest *stdev;
	int ret;

	if (format > IODIRTY_TEST_FORMAT_RISCV ||
	    (cmd->device_new.dev_flags & ~(uint32_t)IODIRTY_TEST_DEVICE_NO_DIRTY))
		return -EINVAL;
	/* the mock's NO_DIRTY is a device property; a real format's is its
	 * IOMMU's capability register (one instance each) */
	if (format == IODIRTY_TEST_FORMAT_MOCK)
		ret = selftest_device_create(ucmd->ctx, format, true,
					     no_dirty ? IDT_DEVICE_NO_DIRTY_TRACKING : 0, false,
					     cmd->id, &stdev);
	else
		ret = selftest_device_create(ucmd->ctx, format, !no_dirty, 0, false, cmd->id,
					     &stdev);
	return ret ? ret : test_respond_device(ucmd, stdev);
}

/* ---- MD_CHECK_MAP (8.7) -------------------------------------------------------------- */

static int test_md_check_map(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	uint64_t iova = cmd->check_map.iova, length = cmd->check_map.length;
	uint64_t uptr = cmd->check_map.uptr;
	struct hwpt *hwpt;

	if ((iova | length | uptr) % IODIRTY_MOCK_IO_PAGE_SIZE || uptr + length < uptr ||
	    iova + length < iova)
		return -EINVAL;
	hwpt = (struct hwpt *)obj_find(ucmd->ctx, cmd->id, OBJ_HWPT);
	if (!hwpt || hwpt->inst->test_format != IODIRTY_TEST_FORMAT_MOCK)
		return -ENOENT;
	for (uint64_t off = 0; off < length; off += IODIRTY_MOCK_IO_PAGE_SIZE) {
		uint64_t oa;

		/* Linux pins each page first (EFAULT), then compares */
		if ((off == 0 || (uptr + off) % IOMMUFD_HOST_PAGE == 0) &&
		    !usermem_mapped(uptr + off, IODIRTY_MOCK_IO_PAGE_SIZE))
			return -EFAULT;
		/* the output address is the user VA (compat.md) */
		if (idt_pt_iova_to_phys(idt_domain_pt(hwpt->domain), iova + off, &oa) ||
		    oa != uptr + off)
			return -EINVAL;
	}
	return 0;
}

/* ---- MD_CHECK_REFS (8.6) ------------------------------------------------------------- */

static int test_md_check_refs(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	uint64_t length = cmd->check_refs.length, uptr = cmd->check_refs.uptr;

	if ((length | uptr) % IOMMUFD_HOST_PAGE || uptr + length < uptr)
		return -EINVAL;
	registry_refs_prepare();
	for (uint64_t off = 0; off < length; off += IOMMUFD_HOST_PAGE) {
		if (!usermem_mapped(uptr + off, IOMMUFD_HOST_PAGE))
			return -EFAULT;
		if (registry_page_pins(uptr + off) != cmd->check_refs.refs)
			return -EIO;
	}
	return 0;
}

/* ---- DIRTY (8.5) --------------------------------------------------------------------- */

/* make_dirty as hardware would; -EAGAIN means the item changed: retry. */
static bool test_make_dirty(struct idt_pt *pt, uint64_t iova)
{
	int ret;

	do
		ret = idt_pt_make_dirty(pt, iova);
	while (ret == -EAGAIN);
	return ret == 0;
}

static int test_dirty(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	uint64_t iova = cmd->dirty.iova, length = cmd->dirty.length;
	uint64_t page_size = cmd->dirty.page_size, max, bytes, count = 0;
	uint8_t bits[IOMMUFD_HOST_PAGE];
	struct hwpt *hwpt;
	struct idt_pt *pt;

	if (!page_size || !length || iova % page_size || length % page_size || !cmd->dirty.uptr)
		return -EINVAL;
	hwpt = (struct hwpt *)obj_find(ucmd->ctx, cmd->id, OBJ_HWPT);
	if (!hwpt)
		return -ENOENT;
	if (hwpt->inst->test_format != IODIRTY_TEST_FORMAT_MOCK)
		return -EINVAL;
	if (!idt_domain_dirty_tracking_enabled(hwpt->domain))
		return -EINVAL;
	/* ceil(max / 8) bytes (the 2024 fix; compat.md) */
	max = length / page_size;
	bytes = max / 8 + (max % 8 != 0);
	/* Linux copies the whole bitmap in before marking (EFAULT); the length
	 * is the caller's, so iodirty checks that it is readable and then reads
	 * it a page at a time instead of allocating it (compat.md) */
	if (!usermem_accessible(cmd->dirty.uptr, bytes, false))
		return -EFAULT;
	pt = idt_domain_pt(hwpt->domain);
	for (uint64_t base = 0; base < bytes; base += sizeof(bits)) {
		uint64_t chunk = bytes - base < sizeof(bits) ? bytes - base : sizeof(bits);

		if (usermem_read(bits, cmd->dirty.uptr + base, (size_t)chunk))
			return -EFAULT; /* unmapped since the check */
		for (uint64_t i = base * 8; i < max && i < (base + chunk) * 8; i++) {
			/* Q12: the entry at index (iova + i * page_size) / page_size */
			uint64_t entry = (iova + i * page_size) / page_size * IODIRTY_MOCK_IO_PAGE_SIZE;

			if (!bits[i / 8 - base]) {
				i |= 7;
				continue;
			}
			if ((bits[i / 8 - base] >> (i % 8) & 1) && test_make_dirty(pt, entry))
				count++;
		}
	}
	cmd->dirty.out_nr_dirty = count;
	return ucmd_respond(ucmd);
}

/* ---- DMA and FAULTS (12) ------------------------------------------------------------- */

static int test_dma(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	bool write = cmd->dma.flags & IODIRTY_TEST_DMA_WRITE;
	uint64_t iova = cmd->dma.iova, length = cmd->dma.length, uptr = cmd->dma.uptr;
	uint64_t done = 0;
	struct idt_iommu *hw;
	struct device *idev;
	uint32_t device_id;
	uint8_t *bounce;
	int ret = 0;

	if (cmd->dma.flags & ~(uint32_t)IODIRTY_TEST_DMA_WRITE)
		return -EOPNOTSUPP;
	idev = test_stdev_device(ucmd->ctx, cmd->id);
	if (!idev)
		return -ENOENT;
	if (length && iova + (length - 1) < iova)
		return -EOVERFLOW;
	bounce = mem_malloc(length < DMA_CHUNK ? (length ? length : 1) : DMA_CHUNK);
	if (!bounce)
		return -ENOMEM;
	hw = idt_core_iommu_hw(idev->inst->core);
	device_id = idt_device_id(idev->dev);
	while (done < length && !ret) {
		size_t chunk = length - done < DMA_CHUNK ? (size_t)(length - done) : DMA_CHUNK;
		size_t moved;

		if (write) {
			if (usermem_read(bounce, uptr + done, chunk)) {
				ret = -EFAULT;
				break;
			}
			moved = idt_dma_write(hw, device_id, iova + done, bounce, chunk, NULL);
		} else {
			moved = idt_dma_read(hw, device_id, iova + done, bounce, chunk, NULL);
			if (moved && usermem_write(uptr + done, bounce, moved)) {
				ret = -EFAULT;
				break;
			}
		}
		done += moved;
		/* a translation fault: the faulting transaction moved nothing */
		if (moved < chunk)
			ret = -EIO;
	}
	mem_free(bounce);
	if (ret == -EFAULT)
		return ret;
	if (ret == -EIO)
		instance_drain_faults(ucmd->ctx, idev->inst);
	cmd->dma.done = done;
	if (ucmd_respond(ucmd))
		return -EFAULT;
	return ret;
}

static int test_faults(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	struct device *idev = test_stdev_device(ucmd->ctx, cmd->id);

	if (!idev)
		return -ENOENT;
	instance_drain_faults(ucmd->ctx, idev->inst);
	cmd->faults.count = atomic_exchange(&idev->faults, 0);
	return ucmd_respond(ucmd);
}

/* ---- the op table ---------------------------------------------------------------------- */

enum test_lock {
	TEST_LOCK_NONE,  /* MD_CHECK_REFS sums every context's pins, this one's too */
	TEST_LOCK_READ,
	TEST_LOCK_WRITE,
};

static const struct {
	uint32_t op;
	enum test_lock lock;
	int (*handler)(struct ucmd *ucmd);
} test_ops[] = {
	{ IOMMU_TEST_OP_MOCK_DOMAIN, TEST_LOCK_WRITE, test_mock_domain },
	{ IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, TEST_LOCK_WRITE, test_mock_domain },
	{ IOMMU_TEST_OP_MD_CHECK_MAP, TEST_LOCK_READ, test_md_check_map },
	{ IOMMU_TEST_OP_MD_CHECK_REFS, TEST_LOCK_NONE, test_md_check_refs },
	{ IOMMU_TEST_OP_DIRTY, TEST_LOCK_READ, test_dirty },
	{ IODIRTY_TEST_OP_DEVICE_NEW, TEST_LOCK_WRITE, test_device_new },
	{ IODIRTY_TEST_OP_DMA, TEST_LOCK_READ, test_dma },
	{ IODIRTY_TEST_OP_FAULTS, TEST_LOCK_READ, test_faults },
};

int selftest_cmd(struct ucmd *ucmd)
{
	struct iodirty_test_cmd *cmd = ucmd->cmd;
	int ret;

	for (size_t i = 0; i < sizeof(test_ops) / sizeof(test_ops[0]); i++) {
		if (test_ops[i].op != cmd->op)
			continue;
		if (test_ops[i].lock == TEST_LOCK_WRITE)
			pthread_rwlock_wrlock(&ucmd->ctx->lock);
		else if (test_ops[i].lock == TEST_LOCK_READ)
			pthread_rwlock_rdlock(&ucmd->ctx->lock);
		ret = test_ops[i].handler(ucmd);
		if (test_ops[i].lock != TEST_LOCK_NONE)
			pthread_rwlock_unlock(&ucmd->ctx->lock);
		return ret;
	}
	return -EOPNOTSUPP;
}
