/* SPDX-License-Identifier: MIT */
/*
 * The iommufd ABI of iodirty/iommufd.h (uapi.md 2, 3, 5, 7, 8, 12; BM-11).
 *
 * Compile time: every struct size, alignment and field offset, every ioctl
 * number and constant of uapi.md (abi_static_checks.h), here and in the
 * -m32 build (abi_dump32.c), and in every header configuration of
 * abi_variant.c (with and without a system <linux/iommufd.h>, included
 * before or after).
 *
 * Run time: the same tables, each configuration's report, and (BM-11) the
 * layout printed by the -m32 build, whose path is argv[1] when the toolchain
 * builds -m32, compared line by line with this LP64 build's.
 */
#define IODIRTY_NO_SYSTEM_IOMMUFD /* iodirty's own definitions: the 6.7 layouts */
#include <iodirty/iommufd.h>

#define ABI_CHECK_EXACT 1
#define ABI_CHECK_SHORT_HWPT_ALLOC 0
#define ABI_CHECK_SHORT_HW_INFO 0
#include "abi_static_checks.h"
#include "abi_dump.h"
#include "abi_variant.h"

#include <linux/ioctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

static const char *m32_program; /* argv[1]: the -m32 build, if any */

struct abi_row {
	const char *name;
	unsigned long long have, want;
};

/* Reports every mismatch of a table, then fails if there was one. */
static void check_rows(const struct abi_row *rows, size_t n)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].have != rows[i].want) {
			print_error("%s: 0x%llx, uapi.md says 0x%llx\n", rows[i].name, rows[i].have,
				    rows[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_true(n > 0);
}

#define ROW_STRUCT(s, n, a)                                                        \
	{ "sizeof(struct " #s ")", sizeof(struct s), n },                          \
	{ "_Alignof(struct " #s ")", _Alignof(struct s), a },
#define ROW_FIELD(s, f, off, n)                                                    \
	{ #s "." #f " offset", offsetof(struct s, f), off },                        \
	{ #s "." #f " size", ABI_MEMBER_SIZE(s, f), n },                           \
	{ #s "." #f " alignment", ABI_MEMBER_ALIGN(s, f), (n) == 8 ? 8 : ABI_MEMBER_ALIGN(s, f) },
#define ROW_MIN_SIZE(s, f, n)                                                      \
	{ "min_size of " #s, offsetof(struct s, f) + ABI_MEMBER_SIZE(s, f), n },

/* uapi.md 5, 7, 8.1: sizes, alignments, offsets, min_size (3). */
static void test_struct_layout(void **state)
{
	static const struct abi_row rows[] = {
		ABI_STRUCTS_STABLE(ROW_STRUCT)
		ABI_STRUCT_HWPT_ALLOC(ROW_STRUCT)
		ABI_STRUCT_HW_INFO(ROW_STRUCT)
		ABI_STRUCTS_TEST(ROW_STRUCT)
		ABI_FIELDS_STABLE(ROW_FIELD)
		ABI_FIELDS_TAIL_HWPT_ALLOC(ROW_FIELD)
		ABI_FIELDS_TAIL_HW_INFO(ROW_FIELD)
		ABI_FIELDS_6_7_ONLY(ROW_FIELD)
		ABI_FIELDS_TEST(ROW_FIELD)
		ABI_FIELDS_IODIRTY(ROW_FIELD)
		ABI_MIN_SIZES(ROW_MIN_SIZE)
		ABI_MIN_SIZES_6_7_ONLY(ROW_MIN_SIZE)
	};

	(void)state;
	check_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* BM-11: GET_DIRTY_BITMAP's data is an 8-byte-aligned u64 at 40. */
static void test_bitmap_data_is_aligned_u64(void **state)
{
	struct iommu_hwpt_get_dirty_bitmap get;
	/* a pointer round-trips through data on any host */
	static char bitmap[16];

	(void)state;
	memset(&get, 0, sizeof(get));
	get.data = (uintptr_t)bitmap;
	assert_ptr_equal((void *)(uintptr_t)get.data, bitmap);
	assert_int_equal(offsetof(struct iommu_hwpt_get_dirty_bitmap, data), 40);
	assert_int_equal(sizeof(get.data), 8);
	assert_int_equal(ABI_MEMBER_ALIGN(iommu_hwpt_get_dirty_bitmap, data), 8);
	assert_int_equal(_Alignof(struct iommu_hwpt_get_dirty_bitmap), 8);
	assert_int_equal(sizeof(get), 48);
}

#define ROW_IOCTL(name, nr, v)                                                     \
	{ #name, name, v },                                                        \
	{ #name " = _IO(';', nr)", name, _IO(';', nr) },                           \
	{ #name " direction", _IOC_DIR(name), _IOC_NONE },                         \
	{ #name " size bits", _IOC_SIZE(name), 0 },                                \
	{ #name " type", _IOC_TYPE(name), ';' },                                   \
	{ #name " nr", _IOC_NR(name), nr },

/* uapi.md 2 */
static void test_ioctl_numbers(void **state)
{
	static const struct abi_row rows[] = { ABI_IOCTLS(ROW_IOCTL) };

	(void)state;
	check_rows(rows, sizeof(rows) / sizeof(rows[0]));
	/* the test command is IOMMUFD_CMD_BASE + 32, the last slot of a 33-entry table */
	assert_int_equal(IOMMU_TEST_CMD & 0xff, IOMMUFD_CMD_BASE + 32);
}

#define ROW_CONST(name, v) { #name, (unsigned long long)(name), (unsigned long long)(v) },

/* uapi.md 5, 7, 8.2, 12 */
static void test_constants(void **state)
{
	static const struct abi_row rows[] = { ABI_CONSTANTS(ROW_CONST) };
	static const unsigned long long kernel_ops[] = {
		IOMMU_TEST_OP_ADD_RESERVED, IOMMU_TEST_OP_MOCK_DOMAIN,
		IOMMU_TEST_OP_MD_CHECK_MAP, IOMMU_TEST_OP_MD_CHECK_REFS,
		IOMMU_TEST_OP_CREATE_ACCESS, IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		IOMMU_TEST_OP_ACCESS_PAGES, IOMMU_TEST_OP_ACCESS_RW,
		IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		IOMMU_TEST_OP_DIRTY, IOMMU_TEST_OP_MD_CHECK_IOTLB,
	};

	(void)state;
	check_rows(rows, sizeof(rows) / sizeof(rows[0]));
	/* the enum counts up from 1 (8.2) */
	for (size_t i = 0; i < sizeof(kernel_ops) / sizeof(kernel_ops[0]); i++)
		assert_int_equal(kernel_ops[i], i + 1);
	/* the aperture is [16 MiB, 2 GiB - 1] (8.2), in the mock granule */
	assert_int_equal(MOCK_APERTURE_START % IODIRTY_MOCK_IO_PAGE_SIZE, 0);
	assert_int_equal((MOCK_APERTURE_LAST + 1) % IODIRTY_MOCK_HUGE_PAGE_SIZE, 0);
}

/* Every header configuration reports what it must (see abi_variant.h). */
static void test_header_configurations(void **state)
{
	(void)state;
#define CHECK_VARIANT(name, sys, hwpt, hw)                                         \
	do {                                                                       \
		struct abi_variant_info info;                                      \
		memset(&info, 0xa5, sizeof(info));                                 \
		abi_variant_##name(&info);                                         \
		print_message("%-14s system %d short %d/%d hwpt_alloc %zu hw_info %zu\n", \
			      #name, info.system, info.short_hwpt_alloc,           \
			      info.short_hw_info, info.hwpt_alloc_size,            \
			      info.hw_info_size);                                  \
		if ((sys) >= 0)                                                    \
			assert_int_equal(info.system, sys);                        \
		if (hwpt) {                                                        \
			assert_int_equal(info.hwpt_alloc_size, hwpt);              \
			assert_int_equal(info.hw_info_size, hw);                   \
			assert_int_equal(info.short_hwpt_alloc, (hwpt) == 24);     \
			assert_int_equal(info.short_hw_info, (hw) == 32);          \
		}                                                                  \
		assert_int_equal(info.test_cmd_size, 72);                          \
		assert_int_equal(info.iodirty_test_cmd_size, 72);                  \
		assert_int_equal(info.get_dirty_bitmap_data, 40);                  \
		assert_int_equal(info.get_dirty_bitmap_cmd, 0x3B8C);               \
		assert_int_equal(info.test_cmd, 0x3BA0);                           \
		assert_int_equal(info.mock_domain_flags, 12);                      \
		assert_int_equal(info.huge_iova, 2);                               \
	} while (0);
	ABI_VARIANTS(CHECK_VARIANT)
#undef CHECK_VARIANT
}

/* Reads a whole stream into a malloc'd string. */
static char *slurp(FILE *f)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	buf[len] = '\0';
	return buf;
}

/* Drops the '#' lines, which describe the build. */
static void strip_comments(char *s)
{
	char *out = s;

	for (char *line = s; *line;) {
		char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
		if (line[0] != '#') {
			memmove(out, line, n);
			out += n;
		}
		line += n;
	}
	*out = '\0';
}

/* BM-11: the ILP32 (-m32) build prints the same layout as this LP64 build. */
static void test_bm11_ilp32_matches_lp64(void **state)
{
	char *mine = NULL, *theirs;
	size_t mine_len = 0;
	FILE *f;
	int status;

	(void)state;
	if (!m32_program) {
		print_message("no -m32 build on this toolchain: BM-11 is checked on LP64 only\n");
		skip();
	}
	f = open_memstream(&mine, &mine_len);
	assert_non_null(f);
	abi_dump(f);
	assert_int_equal(fclose(f), 0);

	f = popen(m32_program, "r");
	assert_non_null(f);
	theirs = slurp(f);
	status = pclose(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* it really is an ILP32 build */
	assert_non_null(strstr(theirs, "# sizeof(void *) 4 sizeof(long) 4\n"));
	assert_true(sizeof(void *) == 8 && sizeof(long) == 8);
	strip_comments(mine);
	strip_comments(theirs);
	assert_true(strlen(mine) > 1000);
	assert_string_equal(theirs, mine);
	free(mine);
	free(theirs);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_layout),
		cmocka_unit_test(test_bitmap_data_is_aligned_u64),
		cmocka_unit_test(test_ioctl_numbers),
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_header_configurations),
		cmocka_unit_test(test_bm11_ilp32_matches_lp64),
	};

	if (argc > 1 && argv[1][0])
		m32_program = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
