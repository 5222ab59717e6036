/* SPDX-License-Identifier: MIT */
/*
 * Prints the layout as this build of the header has it (computed values,
 * not the expected ones), one item a line, so that an -m32 build and an -m64
 * build can be compared line by line (BM-11).  Lines starting with '#'
 * describe the build and are not compared.  Include after
 * iodirty/iommufd.h, in a translation unit that sees the 6.7 layouts exactly.
 */
#ifndef IODIRTY_TESTS_ABI_DUMP_H
#define IODIRTY_TESTS_ABI_DUMP_H

#include <stdio.h>

#include "abi_table.h"

static inline void abi_dump(FILE *out)
{
	fprintf(out, "# sizeof(void *) %zu sizeof(long) %zu\n", sizeof(void *), sizeof(long));
#define ABI_DUMP_STRUCT(s, n, a)                                                \
	fprintf(out, "struct %s size %zu align %zu\n", #s, sizeof(struct s),    \
		(size_t)_Alignof(struct s));
#define ABI_DUMP_FIELD(s, f, off, n)                                            \
	fprintf(out, "%s.%s offset %zu size %zu align %zu\n", #s, #f,            \
		offsetof(struct s, f), ABI_MEMBER_SIZE(s, f), (size_t)ABI_MEMBER_ALIGN(s, f));
#define ABI_DUMP_CONST(name, v) fprintf(out, "%s 0x%llx\n", #name, (unsigned long long)(name));
#define ABI_DUMP_IOCTL(name, nr, v) ABI_DUMP_CONST(name, v)
	ABI_STRUCTS_STABLE(ABI_DUMP_STRUCT)
	ABI_STRUCT_HWPT_ALLOC(ABI_DUMP_STRUCT)
	ABI_STRUCT_HW_INFO(ABI_DUMP_STRUCT)
	ABI_STRUCTS_TEST(ABI_DUMP_STRUCT)
	ABI_FIELDS_STABLE(ABI_DUMP_FIELD)
	ABI_FIELDS_TAIL_HWPT_ALLOC(ABI_DUMP_FIELD)
	ABI_FIELDS_TAIL_HW_INFO(ABI_DUMP_FIELD)
	ABI_FIELDS_6_7_ONLY(ABI_DUMP_FIELD)
	ABI_FIELDS_TEST(ABI_DUMP_FIELD)
	ABI_FIELDS_IODIRTY(ABI_DUMP_FIELD)
	ABI_IOCTLS(ABI_DUMP_IOCTL)
	ABI_CONSTANTS(ABI_DUMP_CONST)
#undef ABI_DUMP_STRUCT
#undef ABI_DUMP_FIELD
#undef ABI_DUMP_CONST
#undef ABI_DUMP_IOCTL
}

#endif /* IODIRTY_TESTS_ABI_DUMP_H */
