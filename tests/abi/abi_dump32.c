/* SPDX-License-Identifier: MIT */
/*
 * BM-11, the ILP32 half: built with -m32 (see meson.build).  The layout
 * checks are compile-time; at run time it prints the layout for
 * test_abi_layout (the LP64 half) to compare with its own, and exits 0.
 */
#define IODIRTY_NO_SYSTEM_IOMMUFD /* iodirty's own definitions: the 6.7 layouts */
#include <iodirty/iommufd.h>

#define ABI_CHECK_EXACT 1
#define ABI_CHECK_SHORT_HWPT_ALLOC 0
#define ABI_CHECK_SHORT_HW_INFO 0
#include "abi_static_checks.h"
#include "abi_dump.h"

_Static_assert(sizeof(void *) == 4, "built with -m32");

int main(void)
{
	abi_dump(stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
