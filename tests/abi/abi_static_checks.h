/* SPDX-License-Identifier: MIT */
/*
 * Compile-time checks of the tables in abi_table.h against the header as
 * included by the translation unit (BM-11: built with -m64 and -m32).
 *
 * Before including, define:
 *   ABI_CHECK_EXACT        1: the 6.7 layouts exactly (iodirty's own
 *                          definitions); 0: a newer system header, whose
 *                          grown structs may be larger
 *   ABI_CHECK_SHORT_HWPT_ALLOC, ABI_CHECK_SHORT_HW_INFO
 *                          1: that struct comes from a pre-6.7 header
 *                          (ends at its min_size, without the 6.7 tail)
 * At file scope, once per translation unit.
 */
#ifndef IODIRTY_TESTS_ABI_STATIC_CHECKS_H
#define IODIRTY_TESTS_ABI_STATIC_CHECKS_H

#include "abi_table.h"

#define ABI_SA_STRUCT_EQ(s, n, a)                                               \
	_Static_assert(sizeof(struct s) == (n), "sizeof(struct " #s ")");       \
	_Static_assert(_Alignof(struct s) == (a), "_Alignof(struct " #s ")");
#define ABI_SA_STRUCT_GE(s, n, a)                                               \
	_Static_assert(sizeof(struct s) >= (n), "sizeof(struct " #s ")");       \
	_Static_assert(_Alignof(struct s) == (a), "_Alignof(struct " #s ")");
/* uapi.md conventions: every 64-bit field is an aligned u64. */
#define ABI_SA_FIELD(s, f, off, n)                                              \
	_Static_assert(offsetof(struct s, f) == (off), #s "." #f " offset");    \
	_Static_assert(ABI_MEMBER_SIZE(s, f) == (n), #s "." #f " size");        \
	_Static_assert((n) != 8 || ABI_MEMBER_ALIGN(s, f) == 8, #s "." #f " aligned u64");
#define ABI_SA_MIN_SIZE(s, f, n)                                                \
	_Static_assert(offsetof(struct s, f) + ABI_MEMBER_SIZE(s, f) == (n),    \
		       "min_size of struct " #s);
#define ABI_SA_CONST(name, v)                                                   \
	_Static_assert((unsigned long long)(name) == (unsigned long long)(v), #name);
/* uapi.md 2: _IO(';', nr), i.e. direction and size 0, is 0x3B00 | nr. */
#define ABI_SA_IOCTL(name, nr, v)                                               \
	_Static_assert((unsigned long long)(name) == (v), #name);               \
	_Static_assert((v) == (0x3B00 | (nr)), #name " encoding");              \
	ABI_SA_IOCTL_IO(name, nr)
#ifdef _IO
#define ABI_SA_IOCTL_IO(name, nr)                                               \
	_Static_assert((name) == _IO(';', nr), #name " is _IO(';', nr)");       \
	_Static_assert(_IOC_DIR(name) == _IOC_NONE && _IOC_SIZE(name) == 0 &&   \
		       _IOC_TYPE(name) == ';' && _IOC_NR(name) == (nr),        \
		       #name " fields");
#else
#define ABI_SA_IOCTL_IO(name, nr)
#endif

ABI_STRUCTS_STABLE(ABI_SA_STRUCT_EQ)
ABI_FIELDS_STABLE(ABI_SA_FIELD)
ABI_STRUCTS_TEST(ABI_SA_STRUCT_EQ)
ABI_FIELDS_TEST(ABI_SA_FIELD)
ABI_FIELDS_IODIRTY(ABI_SA_FIELD)
ABI_MIN_SIZES(ABI_SA_MIN_SIZE)
ABI_IOCTLS(ABI_SA_IOCTL)
ABI_CONSTANTS(ABI_SA_CONST)

/* The pre-6.7 sizes end at the min_size (uapi.md 3). */
#if ABI_CHECK_SHORT_HWPT_ALLOC
_Static_assert(sizeof(struct iommu_hwpt_alloc) == 24, "pre-6.7 iommu_hwpt_alloc");
#elif ABI_CHECK_EXACT
ABI_STRUCT_HWPT_ALLOC(ABI_SA_STRUCT_EQ)
ABI_FIELDS_TAIL_HWPT_ALLOC(ABI_SA_FIELD)
#else
ABI_STRUCT_HWPT_ALLOC(ABI_SA_STRUCT_GE)
ABI_FIELDS_TAIL_HWPT_ALLOC(ABI_SA_FIELD)
#endif

#if ABI_CHECK_SHORT_HW_INFO
_Static_assert(sizeof(struct iommu_hw_info) == 32, "pre-6.7 iommu_hw_info");
#elif ABI_CHECK_EXACT
ABI_STRUCT_HW_INFO(ABI_SA_STRUCT_EQ)
ABI_FIELDS_TAIL_HW_INFO(ABI_SA_FIELD)
#else
ABI_STRUCT_HW_INFO(ABI_SA_STRUCT_GE)
ABI_FIELDS_TAIL_HW_INFO(ABI_SA_FIELD)
#endif

#if ABI_CHECK_EXACT || ABI_CHECK_SHORT_HW_INFO
ABI_FIELDS_6_7_ONLY(ABI_SA_FIELD)
ABI_MIN_SIZES_6_7_ONLY(ABI_SA_MIN_SIZE)
#endif

/* BM-11: data is an aligned u64 at 40, not a pointer (4 bytes on ILP32). */
_Static_assert(offsetof(struct iommu_hwpt_get_dirty_bitmap, data) == 40 &&
		       ABI_MEMBER_SIZE(iommu_hwpt_get_dirty_bitmap, data) == 8 &&
		       _Alignof(struct iommu_hwpt_get_dirty_bitmap) == 8,
	       "BM-11: get_dirty_bitmap.data");

/* uapi.md 12: project ops from 0x1000, clear of the kernel's small numbers. */
_Static_assert(IODIRTY_TEST_OP_DEVICE_NEW >= 0x1000 && IODIRTY_TEST_OP_DMA >= 0x1000 &&
		       IODIRTY_TEST_OP_FAULTS >= 0x1000,
	       "extension ops in the extension space");

/* iodirty's view and the kernel's struct are the same command. */
_Static_assert(sizeof(struct iodirty_test_cmd) == sizeof(struct iommu_test_cmd),
	       "iodirty_test_cmd is the 72-byte test command");

#endif /* IODIRTY_TESTS_ABI_STATIC_CHECKS_H */
