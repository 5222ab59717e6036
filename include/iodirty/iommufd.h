/* SPDX-License-Identifier: MIT */
/*
 * The iommufd user ABI of Linux 6.7 (spec: uapi.md), for programs that talk
 * to /dev/iommu (the kernel's, or iodirty's through `iodirty run --` or
 * iodirty_open()) on systems whose <linux/iommufd.h> is older or missing.
 *
 * Where the definitions come from:
 *
 *   - If <linux/iommufd.h> was included before this header, or exists and
 *     IODIRTY_NO_SYSTEM_IOMMUFD is not defined, the system header is used,
 *     and only what a 6.7 header has and it lacks is added.  What it has is
 *     told by the ioctl macro that came with each group of definitions:
 *       IOMMU_DESTROY                the IOAS commands and OPTION (6.2)
 *       IOMMU_HWPT_ALLOC             HWPT_ALLOC (6.5 or 6.6)
 *       IOMMU_GET_HW_INFO            GET_HW_INFO (6.6)
 *       IOMMU_HWPT_GET_DIRTY_BITMAP  dirty tracking, and the 6.7 layouts of
 *                                    iommu_hwpt_alloc and iommu_hw_info (6.7)
 *     A header between 6.5 and 6.6 declares struct iommu_hwpt_alloc and/or
 *     struct iommu_hw_info without their 6.7 tails.  A struct cannot be
 *     redeclared, so it stays short (still valid ABI: uapi.md 3), and
 *     IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC or IODIRTY_IOMMUFD_SHORT_HW_INFO is 1.
 *     To get the 6.7 layouts there, define IODIRTY_NO_SYSTEM_IOMMUFD and
 *     include this header before <linux/iommufd.h>.
 *   - Otherwise everything is defined here, and the system header's include
 *     guard (_IOMMUFD_H) is defined so that a later #include
 *     <linux/iommufd.h> adds nothing and cannot clash.
 *
 * A system header newer than 6.7 may have grown structs (sizeof larger than
 * in uapi.md 3); every 6.7 field keeps its offset.
 *
 * The selftest command (uapi.md 8: struct iommu_test_cmd, IOMMU_TEST_OP_*,
 * MOCK_*) lives in the kernel's iommufd_test.h, which no system installs.  It
 * is defined here under the kernel's names: each macro behind #ifndef, the
 * structs unless that header was included first (its guard
 * _UAPI_IOMMUFD_TEST_H is defined).  This header defines that guard too, so
 * including iommufd_test.h afterwards adds nothing.
 *
 * iodirty's own extension ops (uapi.md 12) use the IODIRTY_ namespace, with
 * struct iodirty_test_cmd: the same 72-byte command with the kernel's union
 * members plus the extension ones.
 *
 * IODIRTY_NO_LINUX_HEADERS: use no <linux/...> header at all (for toolchains
 * without kernel headers); __u32 and friends are then defined here, the same
 * way <linux/types.h> defines them.
 */
#ifndef IODIRTY_IOMMUFD_H
#define IODIRTY_IOMMUFD_H

/* ---- Where the definitions come from -------------------------------------- */

#if !defined(IOMMU_DESTROY) && !defined(IODIRTY_NO_SYSTEM_IOMMUFD) && \
	!defined(IODIRTY_NO_LINUX_HEADERS) && defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

/* What the system header (if any) lacks, decided before anything is added. */
#ifdef IOMMU_DESTROY
#define IODIRTY_IOMMUFD_SYSTEM 1
#define IODIRTY__ADD_6_2 0
#else
#define IODIRTY_IOMMUFD_SYSTEM 0
#define IODIRTY__ADD_6_2 1
#ifndef _IOMMUFD_H
#define _IOMMUFD_H /* a later <linux/iommufd.h> adds nothing */
#endif
#endif
#ifdef IOMMU_HWPT_ALLOC
#define IODIRTY__ADD_HWPT_ALLOC 0
#else
#define IODIRTY__ADD_HWPT_ALLOC 1
#endif
#ifdef IOMMU_GET_HW_INFO
#define IODIRTY__ADD_HW_INFO 0
#else
#define IODIRTY__ADD_HW_INFO 1
#endif
#ifdef IOMMU_HWPT_GET_DIRTY_BITMAP
#define IODIRTY__ADD_6_7 0
#else
#define IODIRTY__ADD_6_7 1
#endif
/* 1: struct iommu_hwpt_alloc is a pre-6.7 system one (24 bytes, no data_*) */
#if !IODIRTY__ADD_HWPT_ALLOC && IODIRTY__ADD_6_7
#define IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC 1
#else
#define IODIRTY_IOMMUFD_SHORT_HWPT_ALLOC 0
#endif
/* 1: struct iommu_hw_info is a pre-6.7 system one (32 bytes, no out_capabilities) */
#if !IODIRTY__ADD_HW_INFO && IODIRTY__ADD_6_7
#define IODIRTY_IOMMUFD_SHORT_HW_INFO 1
#else
#define IODIRTY_IOMMUFD_SHORT_HW_INFO 0
#endif

/* ---- Types and the ioctl encoding ------------------------------------------ */

#if IODIRTY_IOMMUFD_SYSTEM
#define IODIRTY__HAVE_LINUX_TYPES 1 /* the system header included them */
#elif !defined(IODIRTY_NO_LINUX_HEADERS)
#if defined(__has_include)
#if __has_include(<linux/types.h>)
#include <linux/types.h>
#define IODIRTY__HAVE_LINUX_TYPES 1
#endif
#if __has_include(<linux/ioctl.h>)
#include <linux/ioctl.h>
#endif
#else
#include <linux/types.h>
#include <linux/ioctl.h>
#define IODIRTY__HAVE_LINUX_TYPES 1
#endif
#endif

#ifndef IODIRTY__HAVE_LINUX_TYPES
/* As asm-generic/int-ll64.h: identical redefinitions are valid C11. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
__extension__ typedef unsigned long long __u64;
#endif
#ifndef __aligned_u64
/* 8-byte aligned on ILP32 too, so layouts do not differ (uapi.md conventions) */
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#endif

/* uapi.md 2: every command is _IO(';', nr): direction and size bits 0. */
#ifdef _IO
#define IODIRTY__IO(type, nr) _IO(type, nr)
#else
/* The encoding of _IO where "no direction" is 0 (x86, arm, riscv, ...). */
#define IODIRTY__IO(type, nr) ((unsigned int)(((type) << 8) | (nr)))
#endif

/* ---- Linux 6.2: IOAS commands and OPTION ----------------------------------- */

#if IODIRTY__ADD_6_2

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/* uapi.md 2: nr counts up from IOMMUFD_CMD_BASE. */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS,
	IOMMUFD_CMD_IOAS_COPY,
	IOMMUFD_CMD_IOAS_IOVA_RANGES,
	IOMMUFD_CMD_IOAS_MAP,
	IOMMUFD_CMD_IOAS_UNMAP,
	IOMMUFD_CMD_OPTION,
	IOMMUFD_CMD_VFIO_IOAS,
};

/* uapi.md 5.1 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* uapi.md 5.2 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* uapi.md 5.9 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/* Outside the contract (uapi.md 2: "exists, not required"): the 6.7 layout. */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/* uapi.md 5.3 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/* Outside the contract (uapi.md 2): the 6.7 layout; flags as IOAS_MAP. */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/* uapi.md 5.4 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/* uapi.md 7 and 5.10 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/* Outside the contract (uapi.md 2; iodirty has no VFIO compatibility). */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET,
	IOMMU_VFIO_IOAS_SET,
	IOMMU_VFIO_IOAS_CLEAR,
};

struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

#endif /* IODIRTY__ADD_6_2 */

/* ---- HWPT_ALLOC, in its 6.7 layout ----------------------------------------- */

#if IODIRTY__ADD_HWPT_ALLOC

enum {
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
};

/*
 * uapi.md 5.5.  min_size 24 (through __reserved), sizeof 40; data_type,
 * data_len and data_uptr are the 6.7 tail.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
};
#define IOMMU_HWPT_ALLOC IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

#endif /* IODIRTY__ADD_HWPT_ALLOC */

/* ---- GET_HW_INFO, in its 6.7 layout ---------------------------------------- */

#if IODIRTY__ADD_HW_INFO

enum {
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
};

/* uapi.md 5.6 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/* uapi.md 5.6.  min_size 32 (through __reserved), sizeof 40. */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u32 __reserved;
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

#endif /* IODIRTY__ADD_HW_INFO */

/* ---- Linux 6.7: dirty tracking and nesting constants ----------------------- */

#if IODIRTY__ADD_6_7

enum {
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
};

/* uapi.md 5.5 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
};

/* uapi.md 5.5: data types (nesting itself is outside the contract). */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/* The IOMMU_HWPT_DATA_VTD_S1 payload (nesting, outside the contract). */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/* uapi.md 5.6: out_capabilities */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
};

/* uapi.md 5.7 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/* uapi.md 5.8: hwpt_id before flags (Q13); data is a user pointer */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

#endif /* IODIRTY__ADD_6_7 */

/* ---- The selftest command, kernel names (uapi.md 8) ------------------------ */

/*
 * The macros are added even after the kernel's iommufd_test.h (where they are
 * enumerators, which a macro of the same value merely shadows), so that one
 * from an older kernel gains the later ones (MOCK_FLAGS_DEVICE_HUGE_IOVA).
 */

/* uapi.md 8.2: 0x3BA0 */
#ifndef IOMMU_TEST_CMD
#define IOMMU_TEST_CMD IODIRTY__IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)
#endif

/* uapi.md 8.2: op numbers */
#ifndef IOMMU_TEST_OP_ADD_RESERVED
#define IOMMU_TEST_OP_ADD_RESERVED 1
#endif
#ifndef IOMMU_TEST_OP_MOCK_DOMAIN
#define IOMMU_TEST_OP_MOCK_DOMAIN 2
#endif
#ifndef IOMMU_TEST_OP_MD_CHECK_MAP
#define IOMMU_TEST_OP_MD_CHECK_MAP 3
#endif
#ifndef IOMMU_TEST_OP_MD_CHECK_REFS
#define IOMMU_TEST_OP_MD_CHECK_REFS 4
#endif
#ifndef IOMMU_TEST_OP_CREATE_ACCESS
#define IOMMU_TEST_OP_CREATE_ACCESS 5
#endif
#ifndef IOMMU_TEST_OP_DESTROY_ACCESS_PAGES
#define IOMMU_TEST_OP_DESTROY_ACCESS_PAGES 6
#endif
#ifndef IOMMU_TEST_OP_ACCESS_PAGES
#define IOMMU_TEST_OP_ACCESS_PAGES 7
#endif
#ifndef IOMMU_TEST_OP_ACCESS_RW
#define IOMMU_TEST_OP_ACCESS_RW 8
#endif
#ifndef IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT
#define IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT 9
#endif
#ifndef IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE
#define IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE 10
#endif
#ifndef IOMMU_TEST_OP_ACCESS_REPLACE_IOAS
#define IOMMU_TEST_OP_ACCESS_REPLACE_IOAS 11
#endif
#ifndef IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
#define IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS 12
#endif
#ifndef IOMMU_TEST_OP_DIRTY
#define IOMMU_TEST_OP_DIRTY 13
#endif
#ifndef IOMMU_TEST_OP_MD_CHECK_IOTLB
#define IOMMU_TEST_OP_MD_CHECK_IOTLB 14
#endif

/* uapi.md 8.2: the mock aperture, [16 MiB, 2 GiB - 1] */
#ifndef MOCK_APERTURE_START
#define MOCK_APERTURE_START (1UL << 24)
#endif
#ifndef MOCK_APERTURE_LAST
#define MOCK_APERTURE_LAST ((1UL << 31) - 1)
#endif

/* uapi.md 8.2-8.3: mock_domain_flags.dev_flags */
#ifndef MOCK_FLAGS_DEVICE_NO_DIRTY
#define MOCK_FLAGS_DEVICE_NO_DIRTY (1 << 0)
#endif
#ifndef MOCK_FLAGS_DEVICE_HUGE_IOVA
#define MOCK_FLAGS_DEVICE_HUGE_IOVA (1 << 1) /* 6.8+; iodirty accepts it */
#endif
#ifndef MOCK_FLAGS_DEVICE_PASID
#define MOCK_FLAGS_DEVICE_PASID (1 << 2) /* later kernels; iodirty rejects it */
#endif

/* uapi.md 5.5, 5.6, 7: selftest data and hw-info types */
#ifndef IOMMU_HWPT_DATA_SELFTEST
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#endif
#ifndef IOMMU_HW_INFO_TYPE_SELFTEST
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#endif
#ifndef IOMMU_TEST_IOTLB_DEFAULT
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
#endif

#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H /* a later iommufd_test.h adds nothing */

/* uapi.md 5.6: the mock device's GET_HW_INFO data (8 bytes) */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/*
 * uapi.md 8.1: 72 bytes, min_size 68 (through last).  Only the union members
 * uapi.md gives are declared; struct iodirty_test_cmd adds iodirty's own.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
	};
	__u32 last;
};

#endif /* _UAPI_IOMMUFD_TEST_H */

/* ---- The mock device's page sizes (uapi.md 8.2, 8.4) ----------------------- */

/* The selftests call it MOCK_PAGE_SIZE (PAGE_SIZE / 2) and define it themselves. */
#define IODIRTY_MOCK_IO_PAGE_SIZE 2048u
#define IODIRTY_MOCK_HUGE_PAGE_SIZE (512u * IODIRTY_MOCK_IO_PAGE_SIZE) /* 6.8+ */

/* ---- iodirty's extension ops (uapi.md 12: op numbers from 0x1000) ---------- */

/*
 * A device of a real (emulated) format, like MOCK_DOMAIN_FLAGS.  In: id = the
 * IOAS or paging HWPT to attach to, device_new.format, device_new.dev_flags.
 * Out: the stdev, HWPT and device ids.  DESTROY(stdev id) removes it.
 */
#define IODIRTY_TEST_OP_DEVICE_NEW 0x1000
/* A DMA by a device.  In: id = stdev id, dma.flags/iova/length/uptr.
 * Out: dma.done, bytes completed (also on EIO after a translation fault). */
#define IODIRTY_TEST_OP_DMA 0x1001
/* In: id = stdev id.  Out: faults.count, faults since the last call (cleared). */
#define IODIRTY_TEST_OP_FAULTS 0x1002

/* device_new.format */
#define IODIRTY_TEST_FORMAT_MOCK 0
#define IODIRTY_TEST_FORMAT_AMDV1 1
#define IODIRTY_TEST_FORMAT_VTDSS 2
#define IODIRTY_TEST_FORMAT_ARM_LPAE_S1 3
#define IODIRTY_TEST_FORMAT_RISCV 4

/* device_new.dev_flags: the device's IOMMU lacks dirty tracking */
#define IODIRTY_TEST_DEVICE_NO_DIRTY (1u << 0)

/* dma.flags: write to the device's IOVA (from uptr); without it, read (into uptr) */
#define IODIRTY_TEST_DMA_WRITE (1u << 0)

/*
 * IOMMU_TEST_CMD with every op iodirty knows: the layout of struct
 * iommu_test_cmd (72 bytes; union offsets below are from the start of the
 * command).
 */
struct iodirty_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__u32 out_stdev_id; /* @16 */
			__u32 out_hwpt_id;  /* @20 */
			__u32 out_idev_id;  /* @24 */
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags; /* @28 */
		} mock_domain_flags;
		struct {
			__aligned_u64 iova;   /* @16 */
			__aligned_u64 length; /* @24 */
			__aligned_u64 uptr;   /* @32 */
		} check_map;
		struct {
			__aligned_u64 length; /* @16 */
			__aligned_u64 uptr;   /* @24 */
			__u32 refs;           /* @32 */
		} check_refs;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 flags;                /* @16 */
			__aligned_u64 iova;         /* @24 */
			__aligned_u64 length;       /* @32 */
			__aligned_u64 page_size;    /* @40 */
			__aligned_u64 uptr;         /* @48 */
			__aligned_u64 out_nr_dirty; /* @56 */
		} dirty;
		/* IODIRTY_TEST_OP_DEVICE_NEW */
		struct {
			__u32 out_stdev_id; /* @16 */
			__u32 out_hwpt_id;  /* @20 */
			__u32 out_idev_id;  /* @24 */
			__u32 format;       /* @28: IODIRTY_TEST_FORMAT_* */
			__u32 dev_flags;    /* @32: IODIRTY_TEST_DEVICE_* */
		} device_new;
		/* IODIRTY_TEST_OP_DMA */
		struct {
			__u32 flags;          /* @16: IODIRTY_TEST_DMA_* */
			__aligned_u64 iova;   /* @24 */
			__aligned_u64 length; /* @32 */
			__aligned_u64 uptr;   /* @40 */
			__aligned_u64 done;   /* @48, out */
		} dma;
		/* IODIRTY_TEST_OP_FAULTS */
		struct {
			__aligned_u64 count; /* @16, out */
		} faults;
	};
	__u32 last;
};

#endif /* IODIRTY_IOMMUFD_H */
