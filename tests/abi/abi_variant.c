/* SPDX-License-Identifier: MIT */
/*
 * One configuration of iodirty/iommufd.h beside a system header, compiled
 * once per entry of abi_variants in meson.build, with:
 *
 *   ABI_VARIANT        name; defines abi_variant_<name>()
 *   ABI_SYS_FIRST      #include <linux/iommufd.h> before iodirty/iommufd.h
 *   ABI_SYS_AFTER      ... and after it
 *   ABI_KTEST_FIRST    #include "iommufd_test.h" (the selftest header) before
 *   ABI_KTEST_AFTER    ... and after
 *   ABI_LINUX_AFTER    #include <linux/types.h>, <linux/ioctl.h> after
 *   ABI_EXPECT_SYSTEM  0/1: IODIRTY_IOMMUFD_SYSTEM must be this (-1: any)
 *   ABI_EXPECT_SHORT   bit 0: IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC,
 *                      bit 1: IODIRTY_IOMMUFD_SHORT_HW_INFO (-1: any)
 *   ABI_EXPECT_GROWN   1: iommu_hwpt_alloc is the system's grown struct
 *                      (the linux-6.11 fixture's fault_id at 40)
 *
 * The include dirs in meson.build decide which <linux/iommufd.h> exists.
 * Compiling at all shows that nothing clashes; the static checks show the
 * layouts.
 */
#if ABI_SYS_FIRST
#include <linux/iommufd.h>
#endif
#if ABI_KTEST_FIRST
#include "iommufd_test.h"
#endif

#include <iodirty/iommufd.h>

#if ABI_SYS_AFTER
#include <linux/iommufd.h>
#endif
#if ABI_KTEST_AFTER
#include "iommufd_test.h"
#endif
#if ABI_LINUX_AFTER
#include <linux/types.h>
#include <linux/ioctl.h>
#endif

#include "abi_variant.h"

#ifndef ABI_EXPECT_SYSTEM
#define ABI_EXPECT_SYSTEM (-1)
#endif
#ifndef ABI_EXPECT_SHORT
#define ABI_EXPECT_SHORT (-1)
#endif
#ifndef ABI_EXPECT_GROWN
#define ABI_EXPECT_GROWN 0
#endif

#if ABI_EXPECT_SYSTEM >= 0
_Static_assert(IODIRTY_IOMMUFD_SYSTEM == ABI_EXPECT_SYSTEM, "where the definitions come from");
#endif
#if ABI_EXPECT_SHORT >= 0
_Static_assert(IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC == (ABI_EXPECT_SHORT & 1) &&
		       IODIRTY_IOMMUFD_SHORT_HW_INFO == (ABI_EXPECT_SHORT >> 1),
	       "pre-6.7 short structs");
#endif

/*
 * Exact 6.7 layouts unless the grown structs are a system header's (with
 * whatever header this machine has: exact if the definitions are iodirty's).
 */
#define ABI_CHECK_SHORT_HWPT_ALLOC IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC
#define ABI_CHECK_SHORT_HW_INFO IODIRTY_IOMMUFD_SHORT_HW_INFO
#if ABI_EXPECT_SYSTEM < 0
#define ABI_CHECK_EXACT (!IODIRTY_IOMMUFD_SYSTEM)
#else
#define ABI_CHECK_EXACT (!ABI_EXPECT_GROWN)
#endif
#include "abi_static_checks.h"

#if ABI_EXPECT_GROWN
_Static_assert(offsetof(struct iommu_hwpt_alloc, fault_id) == 40 &&
		       sizeof(struct iommu_hwpt_alloc) == 48,
	       "the system's grown struct is used, not redefined");
#endif

#if ABI_KTEST_FIRST
/* the selftest header's own struct (it has a member iodirty does not declare) */
_Static_assert(offsetof(struct iommu_test_cmd, add_reserved.length) == 24,
	       "the kernel's iommufd_test.h is used, not redefined");
#endif

#define ABI_PASTE2(a, b) a##b
#define ABI_PASTE(a, b) ABI_PASTE2(a, b)

void ABI_PASTE(abi_variant_, ABI_VARIANT)(struct abi_variant_info *info)
{
	info->system = IODIRTY_IOMMUFD_SYSTEM;
	info->short_hwpt_alloc = IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC;
	info->short_hw_info = IODIRTY_IOMMUFD_SHORT_HW_INFO;
	info->hwpt_alloc_size = sizeof(struct iommu_hwpt_alloc);
	info->hw_info_size = sizeof(struct iommu_hw_info);
	info->test_cmd_size = sizeof(struct iommu_test_cmd);
	info->iodirty_test_cmd_size = sizeof(struct iodirty_test_cmd);
	info->get_dirty_bitmap_data = offsetof(struct iommu_hwpt_get_dirty_bitmap, data);
	info->get_dirty_bitmap_cmd = IOMMU_HWPT_GET_DIRTY_BITMAP;
	info->test_cmd = IOMMU_TEST_CMD;
	info->mock_domain_flags = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
	info->huge_iova = MOCK_FLAGS_DEVICE_HUGE_IOVA;
}
