/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD and the mock device (uapi.md 8): MOCK_DOMAIN and MOCK_DOMAIN_FLAGS (8.3),
 * MD_CHECK_REFS (8.6), MD_CHECK_MAP (8.7), DIRTY (8.5; test-cases.md UA-13, BM-12, Q12).
 */
#include "uapi_common.h"

#define BAD_ID 0x7777u

static int test_op_raw(int fd, uint32_t op, uint32_t id)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = op, .id = id };
	return uioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static void t_unknown_ops(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	/* EOPNOTSUPP: unverified in uapi.md 8.2, documented in compat.md ("__reserved of the
	 * test command"), also for the kernel ops iodirty does not implement */
	static const uint32_t ops[] = { 0,  1,  5,   6,      7,      8,      9,         10,
					11, 14, 15, 16, 99, 0x0FFF, 0x1003, 0x1FFF, 0xFFFFFFFF };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int rc = test_op_raw(m.fd, ops[i], m.ioas);
		if (rc != EOPNOTSUPP)
			fail_msg("IOMMU_TEST_CMD op 0x%x: expected EOPNOTSUPP, got %s", ops[i],
				 ename(rc));
	}
	/* __reserved is ignored */
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = m.ioas, .__reserved = 5,
	};
	EXPECT_OK(uioctl(m.fd, IOMMU_TEST_CMD, &cmd));
	/* and the context is intact */
	EXPECT_OK(check_map_e(m.fd, m.hwpt, MOCK_APERTURE_START, 0, NULL));
}

static void t_mock_domain(void **state)
{
	(void)state;
	int fd = dev_open();
	uint32_t ioas = ioas_alloc(fd);
	uint32_t st = 0, h = 0, idev = 0;

	/* no such object: ENOENT; another type: fails (EINVAL unverified) */
	EXPECT_ERRNO(ENOENT, mock_domain_e(fd, BAD_ID, 0, NULL, NULL, NULL));
	EXPECT_ERRNO(ENOENT, mock_domain_e(fd, 0, 0, NULL, NULL, NULL));
	/* dev_flags outside {NO_DIRTY, HUGE_IOVA}: EINVAL */
	EXPECT_ERRNO(EINVAL, mock_domain_flags_e(fd, ioas, MOCK_FLAGS_DEVICE_PASID, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_flags_e(fd, ioas, 8, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_flags_e(fd, ioas, 0x80000000u, NULL, NULL, NULL));
	/* every failure undid its steps: the IOAS has no domain, the next id is ioas + 1 */
	uint64_t align = 0;
	uint32_t num = 0;
	EXPECT_ERRNO(EMSGSIZE, iova_ranges_e(fd, ioas, NULL, &num, &align));
	EXPECT_U64(1, align);

	EXPECT_OK(mock_domain_e(fd, ioas, 0, &st, &h, &idev));
	/* three new, distinct ids: ioas + 1 .. ioas + 3 */
	assert_true(st != idev && idev != h && st != h);
	assert_true(st > ioas && st <= ioas + 3 && idev > ioas && idev <= ioas + 3 && h > ioas &&
		    h <= ioas + 3);
	/* each of the right type */
	EXPECT_OK(hw_info_e(fd, idev, NULL, NULL, NULL, NULL));
	EXPECT_ERRNO(EOPNOTSUPP, set_dirty_e(fd, h, 0)); /* an auto paging HWPT */
	EXPECT_ERRNO(EBUSY, destroy_e(fd, ioas));
	/* neither an IOAS nor a paging HWPT: EINVAL (unverified in 8.3, documented) */
	EXPECT_ERRNO(EINVAL, mock_domain_e(fd, idev, 0, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_e(fd, st, 0, NULL, NULL, NULL));

	/* MOCK_DOMAIN (op 2) has no dev_flags: a value at offset 28 is ignored */
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas,
	};
	cmd.mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_NO_DIRTY | 0x100;
	EXPECT_OK(uioctl(fd, IOMMU_TEST_CMD, &cmd));
	uint64_t caps = 0;
	EXPECT_OK(hw_info_e(fd, cmd.mock_domain.out_idev_id, NULL, NULL, NULL, &caps));
	EXPECT_U64(IOMMU_HW_CAP_DIRTY_TRACKING, caps);

	/* a user HWPT: out_hwpt_id is that HWPT */
	uint32_t uh = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas), h2 = 0, st2 = 0;
	EXPECT_OK(mock_domain_e(fd, uh, 0, &st2, &h2, NULL));
	EXPECT_U64(uh, h2);
	/* HUGE_IOVA is accepted (documented deviation, UA-18), alone and with NO_DIRTY */
	uint32_t st3 = 0, idev3 = 0;
	EXPECT_OK(mock_domain_flags_e(fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA, &st3, NULL, &idev3));
	EXPECT_OK(hw_info_e(fd, idev3, NULL, NULL, NULL, &caps));
	EXPECT_U64(IOMMU_HW_CAP_DIRTY_TRACKING, caps);
	EXPECT_OK(mock_domain_flags_e(fd, ioas,
				      MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_NO_DIRTY,
				      NULL, NULL, &idev3));
	EXPECT_OK(hw_info_e(fd, idev3, NULL, NULL, NULL, &caps));
	EXPECT_U64(0, caps);

	/* DESTROY(stdev) undoes everything */
	EXPECT_OK(destroy_e(fd, st2));
	EXPECT_OK(destroy_e(fd, uh));
	EXPECT_OK(destroy_e(fd, st));
	EXPECT_ERRNO(ENOENT, hw_info_e(fd, idev, NULL, NULL, NULL, NULL));
}

/* 8.6, 9.6 */
static void t_md_check_refs(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(16 * HOST_PAGE, HOST_PAGE);
	memset(buf, 1, 16 * HOST_PAGE);

	EXPECT_ERRNO(EINVAL, check_refs_e(fd, buf, 16 * HOST_PAGE - 1, 0));
	EXPECT_ERRNO(EINVAL, check_refs_e(fd, buf + 1, 16 * HOST_PAGE, 0));
	EXPECT_ERRNO(EINVAL, check_refs_e(fd, buf + 2048, 4096, 0));
	EXPECT_ERRNO(EFAULT, check_refs_e(fd, t_hole(4 * HOST_PAGE), 4 * HOST_PAGE, 0));
	/* unmapped page after good ones */
	uint8_t *two = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	memset(two, 0, HOST_PAGE);
	assert_int_equal(munmap(two + HOST_PAGE, HOST_PAGE), 0);
	EXPECT_ERRNO(EFAULT, check_refs_e(fd, two, 2 * HOST_PAGE, 0));

	EXPECT_OK(check_refs_e(fd, buf, 16 * HOST_PAGE, 0));
	EXPECT_ERRNO(EIO, check_refs_e(fd, buf, 16 * HOST_PAGE, 1));
	/* an area in an IOAS with a domain pins its pages once */
	map_fixed(fd, m.ioas, buf, 8 * HOST_PAGE, MOCK_APERTURE_START);
	EXPECT_OK(check_refs_e(fd, buf, 8 * HOST_PAGE, 1));
	EXPECT_ERRNO(EIO, check_refs_e(fd, buf, 8 * HOST_PAGE, 0));
	EXPECT_ERRNO(EIO, check_refs_e(fd, buf, 16 * HOST_PAGE, 1)); /* the other 8 are 0 */
	EXPECT_OK(check_refs_e(fd, buf + 8 * HOST_PAGE, 8 * HOST_PAGE, 0));
	/* pin counts are process-wide: another context sees them */
	int fd2 = dev_open();
	EXPECT_OK(check_refs_e(fd2, buf, 8 * HOST_PAGE, 1));
	/* an IOAS without domain pins nothing; adding a domain pins its areas */
	uint32_t ioas2 = ioas_alloc(fd);
	map_fixed(fd, ioas2, buf + 8 * HOST_PAGE, 8 * HOST_PAGE, MOCK_APERTURE_START);
	EXPECT_OK(check_refs_e(fd, buf + 8 * HOST_PAGE, 8 * HOST_PAGE, 0));
	uint32_t h = hwpt_alloc(fd, 0, m.idev, ioas2);
	EXPECT_OK(check_refs_e(fd, buf + 8 * HOST_PAGE, 8 * HOST_PAGE, 1));
	EXPECT_OK(destroy_e(fd, h));
	EXPECT_OK(check_refs_e(fd, buf + 8 * HOST_PAGE, 8 * HOST_PAGE, 0));
	/* unmap releases */
	EXPECT_OK(unmap_e(fd, m.ioas, MOCK_APERTURE_START, 8 * HOST_PAGE, NULL));
	EXPECT_OK(check_refs_e(fd2, buf, 16 * HOST_PAGE, 0));
	/* destroying the mock device leaves an IOAS without domain: its areas lose their pins */
	map_fixed(fd, m.ioas, buf, 4 * HOST_PAGE, MOCK_APERTURE_START);
	EXPECT_OK(check_refs_e(fd, buf, 4 * HOST_PAGE, 1));
	EXPECT_OK(destroy_e(fd, m.stdev));
	EXPECT_OK(check_refs_e(fd, buf, 4 * HOST_PAGE, 0));
	/* close releases everything (9.6) */
	uint32_t st = 0;
	EXPECT_OK(mock_domain_e(fd, m.ioas, 0, &st, NULL, NULL));
	EXPECT_OK(check_refs_e(fd2, buf, 4 * HOST_PAGE, 1));
	dev_close(fd);
	EXPECT_OK(check_refs_e(fd2, buf, 16 * HOST_PAGE, 0));
}

/* 8.7 */
static void t_md_check_map(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	const uint64_t S = MOCK_APERTURE_START;
	map_fixed(fd, m.ioas, buf, 64 * 1024, S);

	EXPECT_OK(check_map_e(fd, m.hwpt, S, 64 * 1024, buf));
	EXPECT_OK(check_map_e(fd, m.hwpt, S + 2048, 2048, buf + 2048));
	EXPECT_OK(check_map_e(fd, m.hwpt, S, 0, buf)); /* length 0 checks nothing */
	/* 1: alignment to 2 KiB, overflow */
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S + 1024, 2048, buf));
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S, 1024, buf));
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S, 2048, buf + 1024));
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S, 4096, (void *)(uintptr_t)(0ull - 2048)));
	EXPECT_ERRNO(EINVAL, check_map_e(fd, BAD_ID, S + 1024, 2048, buf)); /* before the lookup */
	/* 2: not a mock paging HWPT */
	EXPECT_ERRNO(ENOENT, check_map_e(fd, BAD_ID, S, 2048, buf));
	EXPECT_ERRNO(ENOENT, check_map_e(fd, m.ioas, S, 2048, buf));
	EXPECT_ERRNO(ENOENT, check_map_e(fd, m.idev, S, 2048, buf));
	/* an unmapped uptr: EFAULT (compat.md "MD_CHECK_MAP": pages checked before comparing) */
	EXPECT_ERRNO(EFAULT, check_map_e(fd, m.hwpt, S, 2048, t_hole(HOST_PAGE)));
	/* 3: a missing entry or a wrong address */
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S, 64 * 1024 + 2048, buf));
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S + 2048, 2048, buf));
	EXPECT_ERRNO(EINVAL, check_map_e(fd, m.hwpt, S - 2048, 2048, buf));
}

/* 8.5, UA-13: the DIRTY op's checks */
static void t_test_dirty_checks(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t ioas = 0, h = 0;
	dirty_setup(fd, m.idev, buf, 64 * 1024, MOCK_APERTURE_START, &ioas, &h, NULL);
	const uint64_t S = MOCK_APERTURE_START, P = MOCK_PAGE;
	uint8_t in[8];
	memset(in, 0xFF, sizeof(in));
	uint64_t nr = 0;

	/* 1: EINVAL for each input fault, no crash (the syzbot divide by zero) */
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, h, S, 64 * 1024, 0, in, &nr));
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, h, S, 0, P, in, &nr));
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, h, S + 1024, 4096, P, in, &nr));
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, h, S, 4096 + 1024, P, in, &nr));
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, h, S, 4096, P, NULL, &nr));
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, BAD_ID, S, 4096, 0, in, &nr)); /* before the lookup */
	/* 2: not a paging HWPT: ENOENT (unverified in 8.5, documented) */
	EXPECT_ERRNO(ENOENT, test_dirty_e(fd, BAD_ID, S, 4096, P, in, &nr));
	EXPECT_ERRNO(ENOENT, test_dirty_e(fd, ioas, S, 4096, P, in, &nr));
	EXPECT_ERRNO(ENOENT, test_dirty_e(fd, m.idev, S, 4096, P, in, &nr));
	/* 3: tracking disabled */
	EXPECT_OK(set_dirty_e(fd, h, 0));
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, h, S, 4096, P, in, &nr));
	EXPECT_OK(set_dirty_e(fd, h, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	/* 4: an unreadable bitmap */
	EXPECT_ERRNO(EFAULT, test_dirty_e(fd, h, S, 4096, P, t_hole(HOST_PAGE), &nr));
	/* a bitmap whose last byte is the last readable one is fine; one more byte is not */
	uint8_t *pg = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	assert_int_equal(mprotect(pg + HOST_PAGE, HOST_PAGE, PROT_NONE), 0);
	pg[HOST_PAGE - 1] = 0x01;
	EXPECT_OK(test_dirty_e(fd, h, S, 8 * P, P, pg + HOST_PAGE - 1, &nr));
	EXPECT_U64(1, nr);
	EXPECT_ERRNO(EFAULT, test_dirty_e(fd, h, S, 9 * P, P, pg + HOST_PAGE - 1, &nr));
	/* a read-only bitmap is fine: DIRTY only reads it */
	uint8_t *ro = t_mmap(HOST_PAGE, PROT_READ);
	EXPECT_OK(test_dirty_e(fd, h, S, 64 * P, P, ro, &nr));
	EXPECT_U64(0, nr);
	/* the count: entries present; absent ones are skipped */
	EXPECT_OK(test_dirty_e(fd, h, S, 32 * P, P, in, &nr));
	EXPECT_U64(32, nr);
	EXPECT_OK(test_dirty_e(fd, h, S + 16 * P, 32 * P, P, in, &nr)); /* 16 beyond the area */
	EXPECT_U64(16, nr);
	EXPECT_OK(test_dirty_e(fd, h, S - 8 * P, 16 * P, P, in, &nr)); /* 8 below the aperture */
	EXPECT_U64(8, nr);
	/* ceil(max / 8) bytes are read and bits >= max ignored (fixed rule, documented deviation) */
	uint8_t two[2] = { 0xFF, 0xFF };
	EXPECT_OK(test_dirty_e(fd, h, S, 9 * P, P, two, &nr));
	EXPECT_U64(9, nr);
	uint8_t one = 0xFF;
	EXPECT_OK(test_dirty_e(fd, h, S, 4 * P, P, &one, &nr));
	EXPECT_U64(4, nr);
	one = 0xF0;
	EXPECT_OK(test_dirty_e(fd, h, S, 4 * P, P, &one, &nr));
	EXPECT_U64(0, nr);
	/* BM-12: a 1-bit bitmap still reads its byte */
	one = 0x01;
	EXPECT_OK(test_dirty_e(fd, h, S, P, P, &one, &nr));
	EXPECT_U64(1, nr);
	/* out_nr_dirty is written back */
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = h };
	cmd.dirty.iova = S;
	cmd.dirty.length = 16 * P;
	cmd.dirty.page_size = P;
	cmd.dirty.uptr = (uintptr_t)in;
	cmd.dirty.out_nr_dirty = 12345;
	EXPECT_OK(uioctl(fd, IOMMU_TEST_CMD, &cmd));
	EXPECT_U64(16, cmd.dirty.out_nr_dirty);
	EXPECT_U64(S, cmd.dirty.iova);
}

/* Q12: the DIRTY op indexes mock entries by (iova + i * page_size) / page_size */
static void t_test_dirty_q12(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	const uint64_t S = MOCK_APERTURE_START, P = MOCK_PAGE;
	uint32_t ioas = 0, h = 0;
	dirty_setup(fd, m.idev, buf, 64 * 1024, S, &ioas, &h, NULL);
	map_fixed(fd, ioas, buf + 64 * 1024, 64 * 1024, 2 * S);

	/* iova 32 MiB at 4 KiB: index 8192, 8193 = mock entries at 16 MiB and 16 MiB + 2 KiB */
	uint8_t in = 0x03;
	uint64_t nr = 0;
	EXPECT_OK(test_dirty_e(fd, h, 2 * S, 2 * 4096, 4096, &in, &nr));
	EXPECT_U64(2, nr);
	uint8_t bm[8] = { 0 };
	EXPECT_OK(get_dirty_e(fd, h, 0, 2 * S, 64 * 1024, P, bm));
	bm_expect_zero(bm, 32, "the area at 32 MiB");
	EXPECT_OK(get_dirty_e(fd, h, 0, S, 64 * 1024, P, bm));
	uint8_t want[8] = { 0x03 };
	bm_expect(bm, want, 32, "the area at 16 MiB");
}

static const struct CMUnitTest selftest_tests[] = {
	UT(t_unknown_ops),   UT(t_mock_domain),       UT(t_md_check_refs),
	UT(t_md_check_map),  UT(t_test_dirty_checks), UT(t_test_dirty_q12),
};
const struct uapi_group uapi_group_selftest = {
	"selftest ops", selftest_tests, sizeof(selftest_tests) / sizeof(selftest_tests[0])
};
