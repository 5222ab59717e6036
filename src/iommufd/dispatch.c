/* SPDX-License-Identifier: MIT */
/*
 * The generic ioctl steps of uapi.md 3, in Linux 6.7's order: command
 * range, the size word, the table slot, min_size, the zero-checked and
 * zero-filled copy-in, the handler (under the context lock it needs), and
 * the copy-back helper of responding handlers.
 */
#include <errno.h>
#include <string.h>

#include "iommufd/iommufd_internal.h"
#include "iommufd/usermem.h"

enum lock_mode {
	LOCK_NONE,  /* the handler locks (IOMMU_TEST_CMD: per op) */
	LOCK_READ,
	LOCK_WRITE,
};

struct ioctl_op {
	uint32_t cmd;         /* the full 32-bit value (0: empty slot) */
	uint32_t min_size;    /* end of the "last" field */
	uint32_t size;        /* the kernel's sizeof (6.7) */
	enum lock_mode lock;
	int (*handler)(struct ucmd *ucmd);
};

#define OP(nr_, cmd_, type_, last_, lock_, handler_)                                      \
	[(nr_) - IOMMUFD_CMD_BASE] = { (cmd_), offsetof(type_, last_) + sizeof(((type_ *)0)->last_), \
				       sizeof(type_), (lock_), (handler_) }

/* uapi.md 3: the min_size and sizeof table of 6.7; 0x82, 0x83 and 0x88 exist
 * in Linux but are outside the contract (ENOTTY here, as an empty slot). */
static const struct ioctl_op ioctl_ops[] = {
	OP(IOMMUFD_CMD_DESTROY, IOMMU_DESTROY, struct iommu_destroy, id, LOCK_WRITE,
	   obj_cmd_destroy),
	OP(IOMMUFD_CMD_IOAS_ALLOC, IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, out_ioas_id,
	   LOCK_WRITE, ioas_cmd_alloc),
	OP(IOMMUFD_CMD_IOAS_IOVA_RANGES, IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges,
	   out_iova_alignment, LOCK_READ, ioas_cmd_iova_ranges),
	OP(IOMMUFD_CMD_IOAS_MAP, IOMMU_IOAS_MAP, struct iommu_ioas_map, iova, LOCK_WRITE,
	   ioas_cmd_map),
	OP(IOMMUFD_CMD_IOAS_UNMAP, IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, length, LOCK_WRITE,
	   ioas_cmd_unmap),
	OP(IOMMUFD_CMD_OPTION, IOMMU_OPTION, struct iommu_option, val64, LOCK_WRITE,
	   ioas_cmd_option),
	OP(IOMMUFD_CMD_HWPT_ALLOC, IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, __reserved,
	   LOCK_WRITE, hwpt_cmd_alloc),
	OP(IOMMUFD_CMD_GET_HW_INFO, IOMMU_GET_HW_INFO, struct iommu_hw_info, __reserved,
	   LOCK_READ, hwpt_cmd_hw_info),
	OP(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, IOMMU_HWPT_SET_DIRTY_TRACKING,
	   struct iommu_hwpt_set_dirty_tracking, __reserved, LOCK_READ, hwpt_cmd_set_dirty),
	OP(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, IOMMU_HWPT_GET_DIRTY_BITMAP,
	   struct iommu_hwpt_get_dirty_bitmap, data, LOCK_READ, hwpt_cmd_get_dirty),
	OP(IOMMUFD_CMD_BASE + 32, IOMMU_TEST_CMD, struct iodirty_test_cmd, last, LOCK_NONE,
	   selftest_cmd),
};

#define IOCTL_NR_COUNT (sizeof(ioctl_ops) / sizeof(ioctl_ops[0]))

/* The kernel copy is at most the largest struct (the test command). */
#define UCMD_MAX_SIZE sizeof(struct iodirty_test_cmd)

/*
 * uapi.md 3 step 5 for size > sizeof: every byte of [from, to) must be zero
 * (E2BIG), readable (EFAULT).  Chunks end at host pages, so a non-zero byte
 * before an unreadable page is still E2BIG, as check_zeroed_user scans.
 */
static int ucmd_check_zero_tail(uint64_t from, uint64_t to)
{
	uint8_t chunk[IOMMUFD_HOST_PAGE];

	while (from < to) {
		uint64_t len = IOMMUFD_HOST_PAGE - from % IOMMUFD_HOST_PAGE;

		if (len > to - from)
			len = to - from;
		if (usermem_read(chunk, from, (size_t)len))
			return -EFAULT;
		for (uint64_t i = 0; i < len; i++)
			if (chunk[i])
				return -E2BIG;
		from += len;
	}
	return 0;
}

int iommufd_ctx_ioctl(struct iommufd_ctx *ctx, uint32_t cmd, uint64_t arg)
{
	_Alignas(8) uint8_t buf[UCMD_MAX_SIZE];
	struct ucmd ucmd = { .ctx = ctx, .uptr = arg, .cmd = buf };
	const struct ioctl_op *op;
	uint32_t nr = cmd & 0xff;
	int ret;

	/* step 1: outside the table (Linux: VFIO compat, ENOTTY; compat.md) */
	if (nr < IOMMUFD_CMD_BASE || nr >= IOMMUFD_CMD_BASE + IOCTL_NR_COUNT)
		return -ENOTTY;
	/* step 2: the size word, before the slot check (Q11) */
	if (usermem_read(&ucmd.user_size, arg, sizeof(ucmd.user_size)))
		return -EFAULT;
	/* step 3: an empty slot or another full command value */
	op = &ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->cmd || op->cmd != cmd)
		return -ENOTTY;
	/* step 4 */
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	/* step 5: tail zero check, then copy min(size, sizeof), zero-filled */
	ucmd.kernel_size = op->size;
	if (ucmd.user_size > op->size) {
		ret = ucmd_check_zero_tail(arg + op->size, arg + ucmd.user_size);
		if (ret)
			return ret;
	}
	memset(buf, 0, sizeof(buf));
	if (usermem_read(buf, arg,
			 ucmd.user_size < op->size ? ucmd.user_size : op->size))
		return -EFAULT;
	/* step 6 (step 7 is ucmd_respond, called by responding handlers) */
	if (op->lock == LOCK_WRITE)
		pthread_rwlock_wrlock(&ctx->lock);
	else if (op->lock == LOCK_READ)
		pthread_rwlock_rdlock(&ctx->lock);
	ret = op->handler(&ucmd);
	if (op->lock != LOCK_NONE)
		pthread_rwlock_unlock(&ctx->lock);
	return ret;
}

int ucmd_respond(struct ucmd *ucmd)
{
	uint32_t len = ucmd->user_size < ucmd->kernel_size ? ucmd->user_size : ucmd->kernel_size;

	return usermem_write(ucmd->uptr, ucmd->cmd, len) ? -EFAULT : 0;
}
