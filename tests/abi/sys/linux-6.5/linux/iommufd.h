/* SPDX-License-Identifier: MIT */
/* Test fixture (see ../../README.md): a <linux/iommufd.h> with HWPT_ALLOC,
 * in its short pre-6.7 layout, but no GET_HW_INFO yet. */
#ifndef _IOMMUFD_H
#define _IOMMUFD_H
#define FIXTURE_KERNEL 605
#include "../../iommufd-6.2-body.h"

struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)
#endif
