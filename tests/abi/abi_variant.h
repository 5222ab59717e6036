/* SPDX-License-Identifier: MIT */
/* What each configuration of abi_variant.c reports at run time. */
#ifndef IODIRTY_TESTS_ABI_VARIANT_H
#define IODIRTY_TESTS_ABI_VARIANT_H

#include <stddef.h>

struct abi_variant_info {
	int system;
	int short_hwpt_alloc;
	int short_hw_info;
	size_t hwpt_alloc_size;
	size_t hw_info_size;
	size_t test_cmd_size;
	size_t iodirty_test_cmd_size;
	size_t get_dirty_bitmap_data;
	unsigned long long get_dirty_bitmap_cmd;
	unsigned long long test_cmd;
	unsigned long long mock_domain_flags;
	unsigned long long huge_iova;
};

/*
 * V(name, system, hwpt_alloc size, hw_info size): the configurations built
 * by meson.build (abi_variants), with what each must report; -1 and 0 mean
 * "whatever this machine has".  A size of 24 or 32 is a short pre-6.7 struct.
 */
#define ABI_VARIANTS(V)                          \
	V(default, -1, 0, 0)                     \
	V(selfcontained, 0, 40, 40)              \
	V(nolinux, 0, 40, 40)                    \
	V(sys62_first, 1, 40, 40)                \
	V(sys62_after, 1, 40, 40)                \
	V(sys65_first, 1, 24, 40)                \
	V(sys65_after, 1, 24, 40)                \
	V(sys66_first, 1, 24, 32)                \
	V(sys66_after, 1, 24, 32)                \
	V(sys66_forced, 0, 40, 40)               \
	V(sys611_first, 1, 48, 40)               \
	V(sys611_after, 1, 48, 40)               \
	V(ktest_first, 1, 48, 40)                \
	V(ktest_after, 1, 48, 40)

#define ABI_VARIANT_DECLARE(name, ...) void abi_variant_##name(struct abi_variant_info *info);
ABI_VARIANTS(ABI_VARIANT_DECLARE)
#undef ABI_VARIANT_DECLARE

#endif /* IODIRTY_TESTS_ABI_VARIANT_H */
