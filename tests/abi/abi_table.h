/* SPDX-License-Identifier: MIT */
/*
 * The ABI of iodirty/iommufd.h as uapi.md gives it, as tables that expand to
 * compile-time checks (abi_static_checks.h), run-time checks and a dump
 * (test_abi_layout.c, abi_dump.c, abi_variant.c).  Every number here is
 * typed in from uapi.md (or, where marked, from the issue), never computed
 * from the header.
 *
 * Include after iodirty/iommufd.h.
 */
#ifndef IODIRTY_TESTS_ABI_TABLE_H
#define IODIRTY_TESTS_ABI_TABLE_H

#include <stddef.h>

/*
 * Structs whose size and alignment are the same in every header iodirty may
 * meet (6.2 and later).  S(struct, sizeof, alignment).
 */
#define ABI_STRUCTS_STABLE(S)                                   \
	S(iommu_destroy, 8, 4)                  /* 5.1 */       \
	S(iommu_ioas_alloc, 12, 4)              /* 5.2 */       \
	S(iommu_ioas_map, 40, 8)                /* 5.3 */       \
	S(iommu_ioas_unmap, 24, 8)              /* 5.4 */       \
	S(iommu_ioas_iova_ranges, 32, 8)        /* 5.9 */       \
	S(iommu_iova_range, 16, 8)              /* 5.9 */       \
	S(iommu_option, 24, 8)                  /* 7 */         \
	S(iommu_hw_info_vtd, 24, 8)             /* 5.6 */       \
	S(iommu_hwpt_set_dirty_tracking, 16, 4) /* 5.7 */       \
	S(iommu_hwpt_get_dirty_bitmap, 48, 8)   /* 5.8 */       \
	/* not in uapi.md (outside the contract): the 6.7 header */ \
	S(iommu_ioas_allow_iovas, 24, 8)                        \
	S(iommu_ioas_copy, 40, 8)                               \
	S(iommu_vfio_ioas, 12, 4)                               \
	S(iommu_hwpt_vtd_s1, 24, 8)

/*
 * Structs that later kernels grow and earlier ones had shorter (uapi.md 5.5,
 * 5.6): 6.7 size and alignment, and the 6.7 tail's fields.
 */
#define ABI_STRUCT_HWPT_ALLOC(S) S(iommu_hwpt_alloc, 40, 8)
#define ABI_STRUCT_HW_INFO(S) S(iommu_hw_info, 40, 8)
#define ABI_FIELDS_TAIL_HWPT_ALLOC(F)                      \
	F(iommu_hwpt_alloc, data_type, 24, 4)              \
	F(iommu_hwpt_alloc, data_len, 28, 4)               \
	F(iommu_hwpt_alloc, data_uptr, 32, 8)
#define ABI_FIELDS_TAIL_HW_INFO(F) F(iommu_hw_info, out_capabilities, 32, 8)

/* The selftest structs (uapi.md 5.6, 8.1) and iodirty's view (issue 4 item 5). */
#define ABI_STRUCTS_TEST(S)             \
	S(iommu_test_hw_info, 8, 4)         \
	S(iommu_test_cmd, 72, 8)            \
	S(iodirty_test_cmd, 72, 8)

/*
 * F(struct, member, offset, size): fields that every header iodirty may meet
 * has at these offsets.
 */
#define ABI_FIELDS_STABLE(F)                                     \
	/* 5.1 */                                                \
	F(iommu_destroy, size, 0, 4)                             \
	F(iommu_destroy, id, 4, 4)                               \
	/* 5.2 */                                                \
	F(iommu_ioas_alloc, size, 0, 4)                          \
	F(iommu_ioas_alloc, flags, 4, 4)                         \
	F(iommu_ioas_alloc, out_ioas_id, 8, 4)                   \
	/* 5.3 */                                                \
	F(iommu_ioas_map, size, 0, 4)                            \
	F(iommu_ioas_map, flags, 4, 4)                           \
	F(iommu_ioas_map, ioas_id, 8, 4)                         \
	F(iommu_ioas_map, __reserved, 12, 4)                     \
	F(iommu_ioas_map, user_va, 16, 8)                        \
	F(iommu_ioas_map, length, 24, 8)                         \
	F(iommu_ioas_map, iova, 32, 8)                           \
	/* 5.4 */                                                \
	F(iommu_ioas_unmap, size, 0, 4)                          \
	F(iommu_ioas_unmap, ioas_id, 4, 4)                       \
	F(iommu_ioas_unmap, iova, 8, 8)                          \
	F(iommu_ioas_unmap, length, 16, 8)                       \
	/* 5.9 */                                                \
	F(iommu_ioas_iova_ranges, size, 0, 4)                    \
	F(iommu_ioas_iova_ranges, ioas_id, 4, 4)                 \
	F(iommu_ioas_iova_ranges, num_iovas, 8, 4)               \
	F(iommu_ioas_iova_ranges, __reserved, 12, 4)             \
	F(iommu_ioas_iova_ranges, allowed_iovas, 16, 8)          \
	F(iommu_ioas_iova_ranges, out_iova_alignment, 24, 8)     \
	F(iommu_iova_range, start, 0, 8)                         \
	F(iommu_iova_range, last, 8, 8)                          \
	/* 7 */                                                  \
	F(iommu_option, size, 0, 4)                              \
	F(iommu_option, option_id, 4, 4)                         \
	F(iommu_option, op, 8, 2)                                \
	F(iommu_option, __reserved, 10, 2)                       \
	F(iommu_option, object_id, 12, 4)                        \
	F(iommu_option, val64, 16, 8)                            \
	/* 5.5 (through __reserved: min_size 24) */              \
	F(iommu_hwpt_alloc, size, 0, 4)                          \
	F(iommu_hwpt_alloc, flags, 4, 4)                         \
	F(iommu_hwpt_alloc, dev_id, 8, 4)                        \
	F(iommu_hwpt_alloc, pt_id, 12, 4)                        \
	F(iommu_hwpt_alloc, out_hwpt_id, 16, 4)                  \
	F(iommu_hwpt_alloc, __reserved, 20, 4)                   \
	/* 5.6 (through out_data_type) */                        \
	F(iommu_hw_info, size, 0, 4)                             \
	F(iommu_hw_info, flags, 4, 4)                            \
	F(iommu_hw_info, dev_id, 8, 4)                           \
	F(iommu_hw_info, data_len, 12, 4)                        \
	F(iommu_hw_info, data_uptr, 16, 8)                       \
	F(iommu_hw_info, out_data_type, 24, 4)                   \
	F(iommu_hw_info_vtd, flags, 0, 4)                        \
	F(iommu_hw_info_vtd, __reserved, 4, 4)                   \
	F(iommu_hw_info_vtd, cap_reg, 8, 8)                      \
	F(iommu_hw_info_vtd, ecap_reg, 16, 8)                    \
	/* 5.7 */                                                \
	F(iommu_hwpt_set_dirty_tracking, size, 0, 4)             \
	F(iommu_hwpt_set_dirty_tracking, flags, 4, 4)            \
	F(iommu_hwpt_set_dirty_tracking, hwpt_id, 8, 4)          \
	F(iommu_hwpt_set_dirty_tracking, __reserved, 12, 4)      \
	/* 5.8 */                                                \
	F(iommu_hwpt_get_dirty_bitmap, size, 0, 4)               \
	F(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4, 4)            \
	F(iommu_hwpt_get_dirty_bitmap, flags, 8, 4)              \
	F(iommu_hwpt_get_dirty_bitmap, __reserved, 12, 4)        \
	F(iommu_hwpt_get_dirty_bitmap, iova, 16, 8)              \
	F(iommu_hwpt_get_dirty_bitmap, length, 24, 8)            \
	F(iommu_hwpt_get_dirty_bitmap, page_size, 32, 8)         \
	F(iommu_hwpt_get_dirty_bitmap, data, 40, 8)              \
	/* not in uapi.md (outside the contract): the 6.7 header */ \
	F(iommu_ioas_allow_iovas, size, 0, 4)                    \
	F(iommu_ioas_allow_iovas, ioas_id, 4, 4)                 \
	F(iommu_ioas_allow_iovas, num_iovas, 8, 4)               \
	F(iommu_ioas_allow_iovas, __reserved, 12, 4)             \
	F(iommu_ioas_allow_iovas, allowed_iovas, 16, 8)          \
	F(iommu_ioas_copy, size, 0, 4)                           \
	F(iommu_ioas_copy, flags, 4, 4)                          \
	F(iommu_ioas_copy, dst_ioas_id, 8, 4)                    \
	F(iommu_ioas_copy, src_ioas_id, 12, 4)                   \
	F(iommu_ioas_copy, length, 16, 8)                        \
	F(iommu_ioas_copy, dst_iova, 24, 8)                      \
	F(iommu_ioas_copy, src_iova, 32, 8)                      \
	F(iommu_vfio_ioas, size, 0, 4)                           \
	F(iommu_vfio_ioas, ioas_id, 4, 4)                        \
	F(iommu_vfio_ioas, op, 8, 2)                             \
	F(iommu_vfio_ioas, __reserved, 10, 2)                    \
	F(iommu_hwpt_vtd_s1, flags, 0, 8)                        \
	F(iommu_hwpt_vtd_s1, pgtbl_addr, 8, 8)                   \
	F(iommu_hwpt_vtd_s1, addr_width, 16, 4)                  \
	F(iommu_hwpt_vtd_s1, __reserved, 20, 4)

/* Fields up to 6.7 only (later kernels split the word). */
#define ABI_FIELDS_6_7_ONLY(F) F(iommu_hw_info, __reserved, 28, 4)

/* uapi.md 8.1 and 5.6: the selftest structs. */
#define ABI_FIELDS_TEST(F)                                      \
	F(iommu_test_hw_info, flags, 0, 4)                      \
	F(iommu_test_hw_info, test_reg, 4, 4)                   \
	F(iommu_test_cmd, size, 0, 4)                           \
	F(iommu_test_cmd, op, 4, 4)                             \
	F(iommu_test_cmd, id, 8, 4)                             \
	F(iommu_test_cmd, __reserved, 12, 4)                    \
	F(iommu_test_cmd, mock_domain.out_stdev_id, 16, 4)      \
	F(iommu_test_cmd, mock_domain.out_hwpt_id, 20, 4)       \
	F(iommu_test_cmd, mock_domain.out_idev_id, 24, 4)       \
	F(iommu_test_cmd, mock_domain_flags.out_stdev_id, 16, 4) \
	F(iommu_test_cmd, mock_domain_flags.out_hwpt_id, 20, 4) \
	F(iommu_test_cmd, mock_domain_flags.out_idev_id, 24, 4) \
	F(iommu_test_cmd, mock_domain_flags.dev_flags, 28, 4)   \
	F(iommu_test_cmd, check_map.iova, 16, 8)                \
	F(iommu_test_cmd, check_map.length, 24, 8)              \
	F(iommu_test_cmd, check_map.uptr, 32, 8)                \
	F(iommu_test_cmd, check_refs.length, 16, 8)             \
	F(iommu_test_cmd, check_refs.uptr, 24, 8)               \
	F(iommu_test_cmd, check_refs.refs, 32, 4)               \
	F(iommu_test_cmd, memory_limit.limit, 16, 4)            \
	F(iommu_test_cmd, dirty.flags, 16, 4)                   \
	F(iommu_test_cmd, dirty.iova, 24, 8)                    \
	F(iommu_test_cmd, dirty.length, 32, 8)                  \
	F(iommu_test_cmd, dirty.page_size, 40, 8)               \
	F(iommu_test_cmd, dirty.uptr, 48, 8)                    \
	F(iommu_test_cmd, dirty.out_nr_dirty, 56, 8)            \
	F(iommu_test_cmd, last, 64, 4)

/* iodirty's view: the kernel members plus the extension ops (issue 4 item 5). */
#define ABI_FIELDS_IODIRTY(F)                                     \
	F(iodirty_test_cmd, size, 0, 4)                           \
	F(iodirty_test_cmd, op, 4, 4)                             \
	F(iodirty_test_cmd, id, 8, 4)                             \
	F(iodirty_test_cmd, __reserved, 12, 4)                    \
	F(iodirty_test_cmd, mock_domain.out_stdev_id, 16, 4)      \
	F(iodirty_test_cmd, mock_domain.out_hwpt_id, 20, 4)       \
	F(iodirty_test_cmd, mock_domain.out_idev_id, 24, 4)       \
	F(iodirty_test_cmd, mock_domain_flags.out_stdev_id, 16, 4) \
	F(iodirty_test_cmd, mock_domain_flags.out_hwpt_id, 20, 4) \
	F(iodirty_test_cmd, mock_domain_flags.out_idev_id, 24, 4) \
	F(iodirty_test_cmd, mock_domain_flags.dev_flags, 28, 4)   \
	F(iodirty_test_cmd, check_map.iova, 16, 8)                \
	F(iodirty_test_cmd, check_map.length, 24, 8)              \
	F(iodirty_test_cmd, check_map.uptr, 32, 8)                \
	F(iodirty_test_cmd, check_refs.length, 16, 8)             \
	F(iodirty_test_cmd, check_refs.uptr, 24, 8)               \
	F(iodirty_test_cmd, check_refs.refs, 32, 4)               \
	F(iodirty_test_cmd, memory_limit.limit, 16, 4)            \
	F(iodirty_test_cmd, dirty.flags, 16, 4)                   \
	F(iodirty_test_cmd, dirty.iova, 24, 8)                    \
	F(iodirty_test_cmd, dirty.length, 32, 8)                  \
	F(iodirty_test_cmd, dirty.page_size, 40, 8)               \
	F(iodirty_test_cmd, dirty.uptr, 48, 8)                    \
	F(iodirty_test_cmd, dirty.out_nr_dirty, 56, 8)            \
	F(iodirty_test_cmd, device_new.out_stdev_id, 16, 4)       \
	F(iodirty_test_cmd, device_new.out_hwpt_id, 20, 4)        \
	F(iodirty_test_cmd, device_new.out_idev_id, 24, 4)        \
	F(iodirty_test_cmd, device_new.format, 28, 4)             \
	F(iodirty_test_cmd, device_new.dev_flags, 32, 4)          \
	F(iodirty_test_cmd, dma.flags, 16, 4)                     \
	F(iodirty_test_cmd, dma.iova, 24, 8)                      \
	F(iodirty_test_cmd, dma.length, 32, 8)                    \
	F(iodirty_test_cmd, dma.uptr, 40, 8)                      \
	F(iodirty_test_cmd, dma.done, 48, 8)                      \
	F(iodirty_test_cmd, faults.count, 16, 8)                  \
	F(iodirty_test_cmd, last, 64, 4)

/*
 * uapi.md 3: M(struct, last field, min_size): min_size is the end of the
 * designated last field.
 */
#define ABI_MIN_SIZES(M)                                   \
	M(iommu_destroy, id, 8)                            \
	M(iommu_ioas_alloc, out_ioas_id, 12)               \
	M(iommu_ioas_map, iova, 40)                        \
	M(iommu_ioas_unmap, length, 24)                    \
	M(iommu_option, val64, 24)                         \
	M(iommu_hwpt_alloc, __reserved, 24)                \
	M(iommu_hwpt_set_dirty_tracking, __reserved, 16)   \
	M(iommu_hwpt_get_dirty_bitmap, data, 48)           \
	M(iommu_ioas_iova_ranges, out_iova_alignment, 32)  \
	M(iommu_test_cmd, last, 68)

/* GET_HW_INFO's last field is __reserved, which later kernels split. */
#define ABI_MIN_SIZES_6_7_ONLY(M) M(iommu_hw_info, __reserved, 32)

/* uapi.md 2: I(name, nr, value): value = _IO(';', nr) = 0x3B00 | nr. */
#define ABI_IOCTLS(I)                                        \
	I(IOMMU_DESTROY, 0x80, 0x3B80)                       \
	I(IOMMU_IOAS_ALLOC, 0x81, 0x3B81)                    \
	I(IOMMU_IOAS_ALLOW_IOVAS, 0x82, 0x3B82)              \
	I(IOMMU_IOAS_COPY, 0x83, 0x3B83)                     \
	I(IOMMU_IOAS_IOVA_RANGES, 0x84, 0x3B84)              \
	I(IOMMU_IOAS_MAP, 0x85, 0x3B85)                      \
	I(IOMMU_IOAS_UNMAP, 0x86, 0x3B86)                    \
	I(IOMMU_OPTION, 0x87, 0x3B87)                        \
	I(IOMMU_VFIO_IOAS, 0x88, 0x3B88)                     \
	I(IOMMU_HWPT_ALLOC, 0x89, 0x3B89)                    \
	I(IOMMU_GET_HW_INFO, 0x8A, 0x3B8A)                   \
	I(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x8B, 0x3B8B)       \
	I(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x8C, 0x3B8C)         \
	I(IOMMU_TEST_CMD, 0xA0, 0x3BA0)

/* C(name, value): constants, by uapi.md section. */
#define ABI_CONSTANTS(C)                                     \
	/* 2 */                                              \
	C(IOMMUFD_TYPE, 0x3B)                                \
	C(IOMMUFD_CMD_BASE, 0x80)                            \
	C(IOMMUFD_CMD_DESTROY, 0x80)                         \
	C(IOMMUFD_CMD_IOAS_ALLOC, 0x81)                      \
	C(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, 0x82)                \
	C(IOMMUFD_CMD_IOAS_COPY, 0x83)                       \
	C(IOMMUFD_CMD_IOAS_IOVA_RANGES, 0x84)                \
	C(IOMMUFD_CMD_IOAS_MAP, 0x85)                        \
	C(IOMMUFD_CMD_IOAS_UNMAP, 0x86)                      \
	C(IOMMUFD_CMD_OPTION, 0x87)                          \
	C(IOMMUFD_CMD_VFIO_IOAS, 0x88)                       \
	C(IOMMUFD_CMD_HWPT_ALLOC, 0x89)                      \
	C(IOMMUFD_CMD_GET_HW_INFO, 0x8A)                     \
	C(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, 0x8B)         \
	C(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, 0x8C)           \
	/* 5.3 */                                            \
	C(IOMMU_IOAS_MAP_FIXED_IOVA, 1 << 0)                 \
	C(IOMMU_IOAS_MAP_WRITEABLE, 1 << 1)                  \
	C(IOMMU_IOAS_MAP_READABLE, 1 << 2)                   \
	/* 5.5 */                                            \
	C(IOMMU_HWPT_ALLOC_NEST_PARENT, 1 << 0)              \
	C(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 1 << 1)           \
	C(IOMMU_HWPT_DATA_NONE, 0)                           \
	C(IOMMU_HWPT_DATA_VTD_S1, 1)                         \
	C(IOMMU_HWPT_DATA_SELFTEST, 0xDEAD)                  \
	/* 5.6 */                                            \
	C(IOMMU_HW_CAP_DIRTY_TRACKING, 1 << 0)               \
	C(IOMMU_HW_INFO_TYPE_NONE, 0)                        \
	C(IOMMU_HW_INFO_TYPE_INTEL_VTD, 1)                   \
	C(IOMMU_HW_INFO_TYPE_SELFTEST, 0xFEEDBEEF)           \
	/* 5.7, 5.8 */                                       \
	C(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 1)               \
	C(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1)           \
	/* 7 */                                              \
	C(IOMMU_OPTION_RLIMIT_MODE, 0)                       \
	C(IOMMU_OPTION_HUGE_PAGES, 1)                        \
	C(IOMMU_OPTION_OP_SET, 0)                            \
	C(IOMMU_OPTION_OP_GET, 1)                            \
	C(IOMMU_TEST_IOTLB_DEFAULT, 0xBADBEEF)               \
	/* 8.2 */                                            \
	C(IOMMU_TEST_OP_ADD_RESERVED, 1)                     \
	C(IOMMU_TEST_OP_MOCK_DOMAIN, 2)                      \
	C(IOMMU_TEST_OP_MD_CHECK_MAP, 3)                     \
	C(IOMMU_TEST_OP_MD_CHECK_REFS, 4)                    \
	C(IOMMU_TEST_OP_CREATE_ACCESS, 5)                    \
	C(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, 6)             \
	C(IOMMU_TEST_OP_ACCESS_PAGES, 7)                     \
	C(IOMMU_TEST_OP_ACCESS_RW, 8)                        \
	C(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 9)            \
	C(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, 10)             \
	C(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, 11)             \
	C(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, 12)               \
	C(IOMMU_TEST_OP_DIRTY, 13)                           \
	C(IOMMU_TEST_OP_MD_CHECK_IOTLB, 14)                  \
	C(MOCK_APERTURE_START, 16ull << 20)                  \
	C(MOCK_APERTURE_LAST, (2ull << 30) - 1)              \
	C(MOCK_FLAGS_DEVICE_NO_DIRTY, 1 << 0)                \
	C(MOCK_FLAGS_DEVICE_HUGE_IOVA, 1 << 1)               \
	C(MOCK_FLAGS_DEVICE_PASID, 1 << 2)                   \
	C(IODIRTY_MOCK_IO_PAGE_SIZE, 2048)                   \
	C(IODIRTY_MOCK_HUGE_PAGE_SIZE, 1 << 20)              \
	/* 12 and issue 4 item 5 */                          \
	C(IODIRTY_TEST_OP_DEVICE_NEW, 0x1000)                \
	C(IODIRTY_TEST_OP_DMA, 0x1001)                       \
	C(IODIRTY_TEST_OP_FAULTS, 0x1002)                    \
	C(IODIRTY_TEST_FORMAT_MOCK, 0)                       \
	C(IODIRTY_TEST_FORMAT_AMDV1, 1)                      \
	C(IODIRTY_TEST_FORMAT_VTDSS, 2)                      \
	C(IODIRTY_TEST_FORMAT_ARM_LPAE_S1, 3)                \
	C(IODIRTY_TEST_FORMAT_RISCV, 4)                      \
	C(IODIRTY_TEST_DEVICE_NO_DIRTY, 1 << 0)              \
	C(IODIRTY_TEST_DMA_WRITE, 1 << 0)

/* The size of a member, without an object. */
#define ABI_MEMBER_SIZE(s, f) sizeof(((struct s *)0)->f)
/*
 * The member's own alignment (GCC gives a member's declared alignment): 8 for
 * an aligned u64 on ILP32 too, where a plain u64 member is 4-aligned.
 */
#define ABI_MEMBER_ALIGN(s, f) __alignof__(((struct s *)0)->f)

#endif /* IODIRTY_TESTS_ABI_TABLE_H */
