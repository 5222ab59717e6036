/* SPDX-License-Identifier: MIT */
/*
 * The four emulated formats through iodirty's extension ops (uapi.md 12; include/iodirty/
 * iommufd.h): IODIRTY_TEST_OP_DEVICE_NEW, _DMA and _FAULTS.  For AMD v1, VT-d second stage,
 * ARM LPAE stage 1 and RISC-V: real DMA writes make exactly their pages dirty, reads do not,
 * NO_CLEAR keeps, a second GET is empty, the enable pass cleans (ARM and RISC-V writable
 * mappings start dirty: test-cases.md PT-04), a device attached after the enable is tracked
 * (HW-09), a fault is EIO and counted (HW-13), a write to a read-only mapping dirties nothing
 * (HW-05), and the capability is enforced at allocation and attach (4.3).
 */
#include "uapi_common.h"

#define FMT_IOVA (16ull << 20)          /* inside every format's aperture */
#define FMT_RO_IOVA (32ull << 20)       /* the read-only area */
#define FMT_PAGES 64                    /* 256 KiB */
#define FMT_LEN (FMT_PAGES * HOST_PAGE)
#define FMT_RO_LEN (4 * HOST_PAGE)

static const char *fmt_name(uint32_t f)
{
	switch (f) {
	case IODIRTY_TEST_FORMAT_AMDV1: return "amdv1";
	case IODIRTY_TEST_FORMAT_VTDSS: return "vtdss";
	case IODIRTY_TEST_FORMAT_ARM_LPAE_S1: return "arm-lpae-s1";
	case IODIRTY_TEST_FORMAT_RISCV: return "riscv";
	default: return "mock";
	}
}

/* ARM and RISC-V: tracking is always on and writable leaves start dirty (compat.md, core) */
static bool always_on(uint32_t f)
{
	return f == IODIRTY_TEST_FORMAT_ARM_LPAE_S1 || f == IODIRTY_TEST_FORMAT_RISCV;
}

struct fmtfx {
	uint32_t format;
	int fd;
	uint32_t ioas;
	uint32_t tstdev, thwpt, tidev; /* the template device, on an auto domain */
	uint32_t hwpt;                 /* the dirty HWPT */
	uint32_t stdev, idev;          /* a device attached to it */
	uint8_t *buf;                  /* FMT_LEN bytes, mapped R|W at FMT_IOVA */
	uint8_t *ro;                   /* FMT_RO_LEN bytes, mapped R at FMT_RO_IOVA */
	uint8_t *src;                  /* a DMA source pattern, one page */
};

static void fmt_setup(struct fmtfx *f, uint32_t format)
{
	f->format = format;
	f->fd = dev_open();
	f->ioas = ioas_alloc(f->fd);
	/* 4 KiB leaves, so that dirtiness is per page: iodirty maps every area with the largest
	 * leaves that fit (compat.md "Every mapping looks physically contiguous") */
	uint64_t off = 0;
	EXPECT_OK(option_e(f->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, f->ioas, &off));
	EXPECT_OK(device_new_e(f->fd, f->ioas, format, 0, &f->tstdev, &f->thwpt, &f->tidev));
	assert_true(f->tstdev && f->thwpt && f->tidev);
	f->buf = t_mmap_aligned(FMT_LEN, SZ_2M);
	memset(f->buf, 0x11, FMT_LEN);
	f->ro = t_mmap_aligned(FMT_RO_LEN, HOST_PAGE);
	memset(f->ro, 0x33, FMT_RO_LEN);
	f->src = t_mmap(HOST_PAGE, PROT_READ | PROT_WRITE);
	for (unsigned i = 0; i < HOST_PAGE; i++)
		f->src[i] = (uint8_t)(i * 7 + 3);
	map_fixed(f->fd, f->ioas, f->buf, FMT_LEN, FMT_IOVA);
	uint64_t iova = FMT_RO_IOVA;
	EXPECT_OK(map_e(f->fd, f->ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, f->ro,
			FMT_RO_LEN, &iova));
	f->hwpt = hwpt_alloc(f->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, f->tidev, f->ioas);
	uint32_t h = 0;
	EXPECT_OK(device_new_e(f->fd, f->hwpt, format, 0, &f->stdev, &h, &f->idev));
	EXPECT_U64(f->hwpt, h);
}

/* GET over the R|W area at 4 KiB into a fresh bitmap: the dirty pages as a 64-bit mask */
static uint64_t fmt_get(struct fmtfx *f, uint32_t flags)
{
	uint64_t bm = 0;
	EXPECT_OK(get_dirty_e(f->fd, f->hwpt, flags, FMT_IOVA, FMT_LEN, HOST_PAGE, &bm));
	return bm;
}

static void fmt_write_page(struct fmtfx *f, uint32_t stdev, unsigned page)
{
	uint64_t done = 0;
	EXPECT_OK(dma_e(f->fd, stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA + page * HOST_PAGE,
			HOST_PAGE, f->src, &done));
	EXPECT_U64(HOST_PAGE, done);
	if (memcmp(f->buf + page * HOST_PAGE, f->src, HOST_PAGE))
		fail_msg("%s: the DMA write to page %u did not reach memory", fmt_name(f->format),
			 page);
}

#define EXPECT_MASK(want, got)                                                                   \
	do {                                                                                     \
		uint64_t w_ = (want), g_ = (got);                                                \
		if (w_ != g_)                                                                    \
			fail_msg("%s:%d: %s: dirty pages 0x%016llx, expected 0x%016llx", __FILE__,  \
				 __LINE__, fmt_name(f.format), (unsigned long long)g_,           \
				 (unsigned long long)w_);                                        \
	} while (0)

#define EVEN_PAGES 0x5555555555555555ull

/* ---- capability, hw_info, alignment ---------------------------------------------------------- */

static void fmt_info(uint32_t format)
{
	struct fmtfx f;
	fmt_setup(&f, format);
	uint8_t data[64];
	memset(data, 0x77, sizeof(data));
	uint32_t len = sizeof(data), type = 0;
	uint64_t caps = 0;
	EXPECT_OK(hw_info_e(f.fd, f.tidev, data, &len, &type, &caps));
	EXPECT_U64(IOMMU_HW_CAP_DIRTY_TRACKING, caps);
	if (format == IODIRTY_TEST_FORMAT_VTDSS) {
		EXPECT_U64(IOMMU_HW_INFO_TYPE_INTEL_VTD, type);
		EXPECT_U64(24, len);
		struct iommu_hw_info_vtd vtd;
		memcpy(&vtd, data, sizeof(vtd));
		EXPECT_U64(0, vtd.__reserved);
		assert_true(vtd.ecap_reg & (1ull << 45)); /* SSADS */
		for (size_t i = 24; i < sizeof(data); i++)
			EXPECT_U64(0, data[i]); /* zeroed up to data_len */
	} else {
		EXPECT_U64(IOMMU_HW_INFO_TYPE_NONE, type);
		EXPECT_U64(0, len);
		for (size_t i = 0; i < sizeof(data); i++)
			EXPECT_U64(0, data[i]); /* zeroed up to data_len */
	}
	/* the attached device too */
	EXPECT_OK(hw_info_e(f.fd, f.idev, NULL, NULL, NULL, &caps));
	EXPECT_U64(IOMMU_HW_CAP_DIRTY_TRACKING, caps);
	/* 4 KiB minimum pages: the IOAS alignment is 4 KiB */
	uint32_t num = 0;
	uint64_t align = 0;
	EXPECT_ERRNO(EMSGSIZE, iova_ranges_e(f.fd, f.ioas, NULL, &num, &align));
	EXPECT_U64(HOST_PAGE, align);
	uint64_t iova = FMT_IOVA + SZ_1M;
	EXPECT_ERRNO(EINVAL, map_e(f.fd, f.ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
				   f.buf, 2048, &iova));
	iova = FMT_IOVA + SZ_1M + 2048;
	EXPECT_ERRNO(EINVAL, map_e(f.fd, f.ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
				   f.buf, 4096, &iova));
	uint64_t bm = 0;
	EXPECT_ERRNO(EINVAL, get_dirty_e(f.fd, f.hwpt, 0, FMT_IOVA + 2048, 4096, 2048, &bm));
	EXPECT_ERRNO(EINVAL, get_dirty_e(f.fd, f.hwpt, 0, FMT_IOVA, 4096 + 2048, 2048, &bm));
	/* the mock-only test ops refuse a real format's HWPT */
	EXPECT_ERRNO(ENOENT, check_map_e(f.fd, f.hwpt, FMT_IOVA, 4096, f.buf));
	uint8_t in = 1;
	uint64_t nr;
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_FAIL(test_dirty_e(f.fd, f.hwpt, FMT_IOVA, 2048, 2048, &in, &nr));
	/* NEST_PARENT: accepted by VT-d, refused by AMD, ARM and RISC-V (compat.md, nesting) */
	EXPECT_ERRNO(format == IODIRTY_TEST_FORMAT_VTDSS ? 0 : EOPNOTSUPP,
		     hwpt_alloc_e(f.fd, IOMMU_HWPT_ALLOC_NEST_PARENT, f.tidev, f.ioas, NULL));
	/* the areas are pinned once (the IOAS has domains) */
	EXPECT_OK(check_refs_e(f.fd, f.buf, FMT_LEN, 1));
	EXPECT_OK(check_refs_e(f.fd, f.ro, FMT_RO_LEN, 1));
}

/* ---- the dirty flow with DMA ----------------------------------------------------------------- */

static void fmt_flow(uint32_t format)
{
	struct fmtfx f;
	fmt_setup(&f, format);
	uint64_t bm, done;

	/* before the enable: ARM and RISC-V report every writable page (PT-04); AMD and VT-d are
	 * disabled, so GET returns 0 with nothing (Q5); read-only pages are never reported */
	EXPECT_MASK(always_on(format) ? ~0ull : 0, fmt_get(&f, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	bm = 0;
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, 0, FMT_RO_IOVA, FMT_RO_LEN, HOST_PAGE, &bm));
	EXPECT_MASK(0, bm);

	/* the enable pass cleans */
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_MASK(0, fmt_get(&f, 0));

	/* DMA writes to every even page */
	for (unsigned p = 0; p < FMT_PAGES; p += 2)
		fmt_write_page(&f, f.stdev, p);
	/* odd pages untouched */
	for (unsigned p = 1; p < FMT_PAGES; p += 2)
		for (unsigned i = 0; i < HOST_PAGE; i++)
			if (f.buf[p * HOST_PAGE + i] != 0x11)
				fail_msg("%s: page %u changed", fmt_name(format), p);

	/* the bitmap at +0xFF1 with 2 KiB units (a 4 KiB leaf is two bits), NO_CLEAR */
	struct gbm g;
	gbm_alloc(&g, 2 * FMT_PAGES / 8, 0xFF1, 0);
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, FMT_IOVA, FMT_LEN,
			      2048, g.bm));
	for (unsigned b = 0; b < 2 * FMT_PAGES; b++)
		if (bit_get(g.bm, b) != ((b / 2) % 2 == 0))
			fail_msg("%s: 2 KiB bit %u is %d", fmt_name(format), b, bit_get(g.bm, b));
	gbm_check_guard(&g);
	/* at +2 KiB with 4 KiB units, NO_CLEAR: the same */
	struct gbm g2;
	gbm_alloc(&g2, 8, 2048, 0);
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, FMT_IOVA, FMT_LEN,
			      HOST_PAGE, g2.bm));
	uint64_t got;
	memcpy(&got, g2.bm, 8);
	EXPECT_MASK(EVEN_PAGES, got);
	gbm_check_guard(&g2);
	/* at offset 0, clearing: exactly the even pages; a second GET is empty */
	EXPECT_MASK(EVEN_PAGES, fmt_get(&f, 0));
	EXPECT_MASK(0, fmt_get(&f, 0));

	/* DMA reads do not dirty, and read what memory holds */
	uint8_t *dst = t_mmap(HOST_PAGE, PROT_READ | PROT_WRITE);
	for (unsigned p = 0; p < 4; p++) {
		memset(dst, 0, HOST_PAGE);
		EXPECT_OK(dma_e(f.fd, f.stdev, 0, FMT_IOVA + p * HOST_PAGE, HOST_PAGE, dst, &done));
		EXPECT_U64(HOST_PAGE, done);
		assert_memory_equal(dst, f.buf + p * HOST_PAGE, HOST_PAGE);
		if (p % 2 == 0)
			assert_memory_equal(dst, f.src, HOST_PAGE);
		else
			EXPECT_U64(0x11, dst[p * 10]);
	}
	EXPECT_OK(dma_e(f.fd, f.stdev, 0, FMT_RO_IOVA, HOST_PAGE, dst, &done));
	EXPECT_U64(0x33, dst[100]);
	EXPECT_MASK(0, fmt_get(&f, 0));

	/* NO_CLEAR keeps; the clearing GET reports the same and then they are gone */
	fmt_write_page(&f, f.stdev, 1);
	fmt_write_page(&f, f.stdev, 5);
	EXPECT_MASK(0x22, fmt_get(&f, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_MASK(0x22, fmt_get(&f, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_MASK(0x22, fmt_get(&f, 0));
	EXPECT_MASK(0, fmt_get(&f, 0));

	/* a multi-page write and an unaligned one split into transactions */
	uint8_t *big = t_mmap(5 * HOST_PAGE, PROT_READ | PROT_WRITE);
	memset(big, 0x5C, 5 * HOST_PAGE);
	EXPECT_OK(dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA + 20 * HOST_PAGE,
			4 * HOST_PAGE, big, &done));
	EXPECT_U64(4 * HOST_PAGE, done);
	EXPECT_OK(dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA + 30 * HOST_PAGE + 4000,
			100, big, &done));
	EXPECT_U64(100, done);
	assert_memory_equal(f.buf + 20 * HOST_PAGE, big, 4 * HOST_PAGE);
	EXPECT_U64(0x5C, f.buf[31 * HOST_PAGE + 3]);
	EXPECT_U64(0x11, f.buf[31 * HOST_PAGE + 4]);
	EXPECT_MASK(0xFull << 20 | 3ull << 30, fmt_get(&f, 0));
	/* a GET over a sub-range reports relative to its iova */
	fmt_write_page(&f, f.stdev, 40);
	bm = 0;
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, 0, FMT_IOVA + 32 * HOST_PAGE, 16 * HOST_PAGE, HOST_PAGE,
			      &bm));
	EXPECT_MASK(1ull << 8, bm);

	/* disable: AMD and VT-d report nothing (Q5); ARM and RISC-V stay on (documented) */
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, 0));
	fmt_write_page(&f, f.stdev, 3);
	EXPECT_MASK(always_on(format) ? 1ull << 3 : 0,
		    fmt_get(&f, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	/* the next enable wipes whatever is there */
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_MASK(0, fmt_get(&f, 0));
	/* re-enabling an enabled domain also wipes (Q5) */
	fmt_write_page(&f, f.stdev, 7);
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_MASK(0, fmt_get(&f, 0));
	fmt_write_page(&f, f.stdev, 7);
	EXPECT_MASK(1ull << 7, fmt_get(&f, 0));

	/* HW-09: a device attached after the enable is tracked */
	uint32_t st2 = 0, h2 = 0;
	EXPECT_OK(device_new_e(f.fd, f.hwpt, format, 0, &st2, &h2, NULL));
	EXPECT_U64(f.hwpt, h2);
	fmt_write_page(&f, st2, 10);
	fmt_write_page(&f, f.stdev, 12);
	EXPECT_MASK(1ull << 10 | 1ull << 12, fmt_get(&f, 0));
	/* the template device's auto domain has no dirty ops */
	EXPECT_ERRNO(EOPNOTSUPP, set_dirty_e(f.fd, f.thwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	fmt_write_page(&f, f.tstdev, 14);
	EXPECT_MASK(0, fmt_get(&f, 0)); /* another domain: not seen by this HWPT */
}

/* ---- faults, read-only mappings, unmap, bad user pointers ------------------------------------ */

static void fmt_faults(uint32_t format)
{
	struct fmtfx f;
	fmt_setup(&f, format);
	uint64_t done, count;
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_MASK(0, fmt_get(&f, 0));
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(0, count);

	/* an unmapped IOVA: EIO, nothing done, one fault counted (and cleared by reading) */
	uint8_t *dst = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	memset(dst, 0x5A, 2 * HOST_PAGE);
	EXPECT_ERRNO(EIO, dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA + SZ_2M, HOST_PAGE,
				f.src, &done));
	EXPECT_U64(0, done);
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(1, count);
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(0, count);
	EXPECT_ERRNO(EIO, dma_e(f.fd, f.stdev, 0, FMT_IOVA + SZ_2M, HOST_PAGE, dst, &done));
	EXPECT_U64(0, done);
	for (unsigned i = 0; i < 2 * HOST_PAGE; i++)
		if (dst[i] != 0x5A)
			fail_msg("%s: a faulting read changed the buffer", fmt_name(format));
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(1, count);
	/* faults are per device: the template device saw none */
	EXPECT_OK(faults_e(f.fd, f.tstdev, &count));
	EXPECT_U64(0, count);
	EXPECT_MASK(0, fmt_get(&f, 0));

	/* a write running off the end of the area: EIO after the mapped part */
	uint8_t *two = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	memset(two, 0x6B, 2 * HOST_PAGE);
	EXPECT_ERRNO(EIO, dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE,
				FMT_IOVA + (FMT_PAGES - 1) * HOST_PAGE, 2 * HOST_PAGE, two, &done));
	EXPECT_U64(HOST_PAGE, done);
	EXPECT_U64(0x6B, f.buf[FMT_LEN - 1]);
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(1, count);
	EXPECT_MASK(1ull << 63, fmt_get(&f, 0));

	/* HW-05: a write to a read-only mapping: EIO, memory unchanged, nothing dirty */
	EXPECT_ERRNO(EIO, dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_RO_IOVA, HOST_PAGE,
				f.src, &done));
	EXPECT_U64(0, done);
	for (unsigned i = 0; i < FMT_RO_LEN; i++)
		if (f.ro[i] != 0x33)
			fail_msg("%s: a write to a read-only mapping changed memory", fmt_name(format));
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(1, count);
	uint64_t bm = 0;
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, 0, FMT_RO_IOVA, FMT_RO_LEN, HOST_PAGE, &bm));
	EXPECT_MASK(0, bm);
	EXPECT_MASK(0, fmt_get(&f, 0));
	/* reading it works */
	EXPECT_OK(dma_e(f.fd, f.stdev, 0, FMT_RO_IOVA + HOST_PAGE, HOST_PAGE, dst, &done));
	EXPECT_U64(HOST_PAGE, done);
	EXPECT_U64(0x33, dst[0]);
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(0, count);

	/* bad user pointers: EFAULT, no crash (the source of a write, the target of a read) */
	EXPECT_ERRNO(EFAULT, dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA, HOST_PAGE,
				   t_hole(HOST_PAGE), &done));
	EXPECT_ERRNO(EFAULT, dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA, HOST_PAGE, NULL,
				   &done));
	uint8_t *ro = t_mmap(HOST_PAGE, PROT_READ);
	EXPECT_ERRNO(EFAULT, dma_e(f.fd, f.stdev, 0, FMT_IOVA, HOST_PAGE, ro, &done));
	EXPECT_ERRNO(EFAULT, dma_e(f.fd, f.stdev, 0, FMT_IOVA, HOST_PAGE, t_hole(HOST_PAGE), &done));
	/* the context works on */
	fmt_get(&f, 0); /* an EFAULT write may or may not have dirtied page 0 */
	fmt_write_page(&f, f.stdev, 2);
	EXPECT_MASK(1ull << 2, fmt_get(&f, 0));

	/* the DMA op's own checks (compat.md "DMA and faults") */
	EXPECT_ERRNO(ENOENT,
		     dma_e(f.fd, f.hwpt, IODIRTY_TEST_DMA_WRITE, FMT_IOVA, HOST_PAGE, f.src, &done));
	EXPECT_ERRNO(ENOENT, dma_e(f.fd, 0x7777, 0, FMT_IOVA, HOST_PAGE, dst, &done));
	EXPECT_ERRNO(ENOENT, dma_e(f.fd, f.idev, 0, FMT_IOVA, HOST_PAGE, dst, &done));
	EXPECT_ERRNO(EOPNOTSUPP, dma_e(f.fd, f.stdev, 2, FMT_IOVA, HOST_PAGE, dst, &done));
	EXPECT_ERRNO(EOVERFLOW, dma_e(f.fd, f.stdev, 0, 0ull - HOST_PAGE, 2 * HOST_PAGE, dst, &done));
	EXPECT_FAIL(faults_e(f.fd, f.ioas, &count));
	EXPECT_FAIL(faults_e(f.fd, 0x7777, &count));

	/* unmap: the translation is gone (the IOTLB was flushed), and so is the dirty state */
	fmt_write_page(&f, f.stdev, 4);
	uint64_t len = 0;
	EXPECT_OK(unmap_e(f.fd, f.ioas, FMT_IOVA, FMT_LEN, &len));
	EXPECT_U64(FMT_LEN, len);
	EXPECT_ERRNO(EIO, dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, FMT_IOVA + 4 * HOST_PAGE,
				HOST_PAGE, f.src, &done));
	EXPECT_U64(0, done);
	EXPECT_OK(faults_e(f.fd, f.stdev, &count));
	EXPECT_U64(1, count);
	map_fixed(f.fd, f.ioas, f.buf, FMT_LEN, FMT_IOVA);
	if (!always_on(format)) /* ARM/RISC-V: a fresh writable mapping starts dirty */
		EXPECT_MASK(0, fmt_get(&f, 0));
	else
		fmt_get(&f, 0);
	fmt_write_page(&f, f.stdev, 6);
	EXPECT_MASK(1ull << 6, fmt_get(&f, 0));
}

/* UA-08, PT-12, Q1: a hole ends the walk; ARM's read-and-clear fails on one, and the GET still
 * returns 0 with the first area reported */
static void fmt_hole(uint32_t format)
{
	struct fmtfx f;
	fmt_setup(&f, format);
	const uint64_t iova2 = FMT_IOVA + FMT_LEN + 16 * HOST_PAGE; /* 16 pages of hole */
	uint8_t *buf2 = t_mmap_aligned(16 * HOST_PAGE, HOST_PAGE);
	map_fixed(f.fd, f.ioas, buf2, 16 * HOST_PAGE, iova2);
	EXPECT_OK(set_dirty_e(f.fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	fmt_write_page(&f, f.stdev, 1);
	uint64_t done;
	EXPECT_OK(dma_e(f.fd, f.stdev, IODIRTY_TEST_DMA_WRITE, iova2 + 3 * HOST_PAGE, HOST_PAGE,
			f.src, &done));
	uint8_t bm[16] = { 0 }, want[16] = { 0 };
	const uint64_t span = FMT_LEN + 32 * HOST_PAGE;
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, 0, FMT_IOVA, span, HOST_PAGE, bm));
	bit_set(want, 1);
	bm_expect(bm, want, span / HOST_PAGE, "GET over two areas and a hole");
	/* from inside the hole: nothing */
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, 0, FMT_IOVA + FMT_LEN, 32 * HOST_PAGE, HOST_PAGE, bm));
	bm_expect_zero(bm, 32, "GET from the hole");
	/* the second area alone: still dirty */
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(f.fd, f.hwpt, 0, iova2, 16 * HOST_PAGE, HOST_PAGE, bm));
	memset(want, 0, sizeof(want));
	bit_set(want, 3);
	bm_expect(bm, want, 16, "GET of the second area");
}

/* ---- enforcement (4.3, Q14) and teardown ----------------------------------------------------- */

static void fmt_enforce(uint32_t format)
{
	struct fmtfx f;
	fmt_setup(&f, format);
	int fd = f.fd;
	uint32_t ioas2 = ioas_alloc(fd), nst = 0, nidev = 0, nh = 0;
	EXPECT_OK(device_new_e(fd, ioas2, format, IODIRTY_TEST_DEVICE_NO_DIRTY, &nst, &nh, &nidev));
	uint64_t caps = 0xFF;
	EXPECT_OK(hw_info_e(fd, nidev, NULL, NULL, NULL, &caps));
	EXPECT_U64(0, caps);
	/* allocation: EOPNOTSUPP */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_e(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, nidev, ioas2, NULL));
	/* attach of an incapable device to a dirty domain: EINVAL, and nothing is left behind */
	uint32_t before = ioas_alloc(fd);
	EXPECT_OK(destroy_e(fd, before));
	EXPECT_ERRNO(EINVAL, device_new_e(fd, f.hwpt, format, IODIRTY_TEST_DEVICE_NO_DIRTY, NULL,
					  NULL, NULL));
	EXPECT_U64(before, ioas_alloc(fd));
	/* an incapable device works on a domain without dirty ops */
	uint32_t plain = hwpt_alloc(fd, 0, nidev, ioas2);
	EXPECT_OK(device_new_e(fd, plain, format, IODIRTY_TEST_DEVICE_NO_DIRTY, NULL, NULL, NULL));
	EXPECT_ERRNO(EOPNOTSUPP, set_dirty_e(fd, plain, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	/* a capable device is behind another emulated IOMMU than that domain's: EINVAL
	 * (compat.md "One emulated IOMMU per (format, capability) per context") */
	EXPECT_ERRNO(EINVAL, device_new_e(fd, plain, format, 0, NULL, NULL, NULL));
	/* a device of another format cannot attach either */
	uint32_t other = format == IODIRTY_TEST_FORMAT_AMDV1 ? IODIRTY_TEST_FORMAT_VTDSS
							     : IODIRTY_TEST_FORMAT_AMDV1;
	EXPECT_ERRNO(EINVAL, device_new_e(fd, f.hwpt, other, 0, NULL, NULL, NULL));
	/* an unknown format or device flag: EINVAL (compat.md) */
	EXPECT_ERRNO(EINVAL, device_new_e(fd, ioas2, 5, 0, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, device_new_e(fd, ioas2, 0x1000, 0, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, device_new_e(fd, ioas2, format, 2, NULL, NULL, NULL));
	EXPECT_FAIL(device_new_e(fd, 0x7777, format, 0, NULL, NULL, NULL));

	/* DESTROY(stdev) detaches and removes the device; the HWPT then has none */
	EXPECT_ERRNO(EBUSY, destroy_e(fd, f.hwpt));
	EXPECT_OK(destroy_e(fd, f.stdev));
	EXPECT_ERRNO(ENOENT, hw_info_e(fd, f.idev, NULL, NULL, NULL, NULL));
	EXPECT_ERRNO(ENOENT, destroy_e(fd, f.stdev));
	/* the HWPT survives: SET/GET work without devices */
	EXPECT_OK(set_dirty_e(fd, f.hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	fmt_get(&f, 0);
	EXPECT_OK(destroy_e(fd, f.hwpt));
	/* the template's auto domain goes with its device; then the IOAS is free */
	EXPECT_ERRNO(EBUSY, destroy_e(fd, f.ioas));
	EXPECT_OK(destroy_e(fd, f.tstdev));
	EXPECT_ERRNO(ENOENT, destroy_e(fd, f.thwpt));
	EXPECT_OK(check_refs_e(fd, f.buf, FMT_LEN, 0)); /* no domain left: no pins */
	EXPECT_OK(destroy_e(fd, f.ioas));
	/* close releases everything */
	EXPECT_OK(check_refs_e(fd, f.ro, FMT_RO_LEN, 0));
}

/* With huge pages allowed, 2 MiB-aligned memory gets 2 MiB leaves (compat.md), and a dirty
 * leaf reports its whole size (uapi.md 6): one write reads as 512 pages */
static void fmt_huge_leaf(uint32_t format)
{
	int fd = dev_open();
	uint32_t ioas = ioas_alloc(fd), tidev = 0, st = 0;
	EXPECT_OK(device_new_e(fd, ioas, format, 0, NULL, NULL, &tidev));
	uint8_t *buf = t_mmap_aligned(SZ_2M, SZ_2M);
	uint8_t *src = t_mmap(HOST_PAGE, PROT_READ | PROT_WRITE);
	memset(src, 0x42, HOST_PAGE);
	const uint64_t iova = 64ull << 20;
	map_fixed(fd, ioas, buf, SZ_2M, iova);
	uint32_t hwpt = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, tidev, ioas);
	EXPECT_OK(device_new_e(fd, hwpt, format, 0, &st, NULL, NULL));
	EXPECT_OK(set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	uint8_t bm[64];
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, iova, SZ_2M, HOST_PAGE, bm));
	bm_expect_zero(bm, 512, "after the enable");
	uint64_t done = 0;
	EXPECT_OK(dma_e(fd, st, IODIRTY_TEST_DMA_WRITE, iova + 77 * HOST_PAGE + 12, 100, src, &done));
	EXPECT_U64(100, done);
	EXPECT_U64(0x42, buf[77 * HOST_PAGE + 12]);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, iova, SZ_2M, HOST_PAGE, bm));
	for (int i = 0; i < 64; i++)
		if (bm[i] != 0xFF)
			fail_msg("%s: a dirty 2 MiB leaf: bitmap byte %d is 0x%02x", fmt_name(format),
				 i, bm[i]);
	/* a GET over part of the leaf reports that part */
	EXPECT_OK(dma_e(fd, st, IODIRTY_TEST_DMA_WRITE, iova, 100, src, &done));
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, iova + SZ_1M, SZ_1M, HOST_PAGE, bm));
	for (int i = 0; i < 32; i++)
		EXPECT_U64(0xFF, bm[i]);
	for (int i = 32; i < 64; i++)
		EXPECT_U64(0, bm[i]);
}

#define FORMAT_TESTS(name, F)                                                                    \
	static void t_##name##_info(void **state)                                                \
	{                                                                                        \
		(void)state;                                                                     \
		fmt_info(F);                                                                     \
	}                                                                                        \
	static void t_##name##_dirty_dma(void **state)                                           \
	{                                                                                        \
		(void)state;                                                                     \
		fmt_flow(F);                                                                     \
	}                                                                                        \
	static void t_##name##_faults(void **state)                                              \
	{                                                                                        \
		(void)state;                                                                     \
		fmt_faults(F);                                                                   \
	}                                                                                        \
	static void t_##name##_enforce(void **state)                                             \
	{                                                                                        \
		(void)state;                                                                     \
		fmt_enforce(F);                                                                  \
	}                                                                                        \
	static void t_##name##_huge_leaf(void **state)                                           \
	{                                                                                        \
		(void)state;                                                                     \
		fmt_huge_leaf(F);                                                                \
	}                                                                                        \
	static void t_##name##_hole(void **state)                                                \
	{                                                                                        \
		(void)state;                                                                     \
		fmt_hole(F);                                                                     \
	}
FORMAT_TESTS(amdv1, IODIRTY_TEST_FORMAT_AMDV1)
FORMAT_TESTS(vtdss, IODIRTY_TEST_FORMAT_VTDSS)
FORMAT_TESTS(arm, IODIRTY_TEST_FORMAT_ARM_LPAE_S1)
FORMAT_TESTS(riscv, IODIRTY_TEST_FORMAT_RISCV)

/* DEVICE_NEW with format 0 is the mock device */
static void t_device_new_mock(void **state)
{
	(void)state;
	int fd = dev_open();
	uint32_t ioas = ioas_alloc(fd), st = 0, h = 0, idev = 0;
	EXPECT_OK(device_new_e(fd, ioas, IODIRTY_TEST_FORMAT_MOCK, 0, &st, &h, &idev));
	uint32_t len = 0, type = 0;
	uint64_t caps = 0;
	EXPECT_OK(hw_info_e(fd, idev, NULL, &len, &type, &caps));
	EXPECT_U64(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_U64(8, len);
	EXPECT_U64(IOMMU_HW_CAP_DIRTY_TRACKING, caps);
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(fd, idev, buf, 64 * 1024, MOCK_APERTURE_START, NULL, &hwpt, NULL);
	uint8_t in = 0x09, bm = 0;
	uint64_t nr = 0;
	EXPECT_OK(test_dirty_e(fd, hwpt, MOCK_APERTURE_START, 8 * 2048, 2048, &in, &nr));
	EXPECT_U64(2, nr);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, MOCK_APERTURE_START, 8 * 2048, 2048, &bm));
	EXPECT_U64(0x09, bm);
	/* the NO_DIRTY flag of DEVICE_NEW is the mock's NO_DIRTY */
	uint32_t nidev = 0;
	EXPECT_OK(device_new_e(fd, ioas, IODIRTY_TEST_FORMAT_MOCK, IODIRTY_TEST_DEVICE_NO_DIRTY,
			       NULL, NULL, &nidev));
	EXPECT_OK(hw_info_e(fd, nidev, NULL, NULL, NULL, &caps));
	EXPECT_U64(0, caps);
	EXPECT_ERRNO(EINVAL, device_new_e(fd, hwpt, IODIRTY_TEST_FORMAT_MOCK,
					  IODIRTY_TEST_DEVICE_NO_DIRTY, NULL, NULL, NULL));
	EXPECT_OK(destroy_e(fd, st));
	EXPECT_ERRNO(ENOENT, hw_info_e(fd, idev, NULL, NULL, NULL, NULL));
}

static const struct CMUnitTest format_tests[] = {
	UT(t_amdv1_info), UT(t_amdv1_dirty_dma), UT(t_amdv1_faults), UT(t_amdv1_enforce),
	UT(t_amdv1_huge_leaf), UT(t_amdv1_hole),
	UT(t_vtdss_info), UT(t_vtdss_dirty_dma), UT(t_vtdss_faults), UT(t_vtdss_enforce),
	UT(t_vtdss_huge_leaf), UT(t_vtdss_hole),
	UT(t_arm_info),   UT(t_arm_dirty_dma),   UT(t_arm_faults),   UT(t_arm_enforce),
	UT(t_arm_huge_leaf), UT(t_arm_hole),
	UT(t_riscv_info), UT(t_riscv_dirty_dma), UT(t_riscv_faults), UT(t_riscv_enforce),
	UT(t_riscv_huge_leaf), UT(t_riscv_hole),
	UT(t_device_new_mock),
};
const struct uapi_group uapi_group_formats = {
	"formats with DMA", format_tests, sizeof(format_tests) / sizeof(format_tests[0])
};
