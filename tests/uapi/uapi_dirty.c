/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking through the mock device (uapi.md 4.4, 5.8, 6, 8.4, 9; test-cases.md UA-06,
 * UA-07, UA-08, UA-15, UA-18, BM-04, BM-08b, BM-09b, BM-10, BM-12 .. BM-15; quirks Q1, Q2,
 * Q3, Q5, Q9, Q15).
 */
#include "uapi_common.h"

static const uint64_t S = MOCK_APERTURE_START;
static const uint64_t P = MOCK_PAGE;

/* ---- UA-06: the selftest flows at the bitmap boundaries -------------------------------------- */

struct variant {
	uint64_t size; /* buffer bytes; nbits = size / 2 KiB */
	bool huge;     /* a HUGE_IOVA template device and 1 MiB-aligned memory */
};

/* 6.11+ sizes (9.5), the 6.7 ones in between, and the huge variants */
static const struct variant v8k = { 8 << 10, false }, v16k = { 16 << 10, false },
			    v64k = { 64 << 10, false }, v128k = { 128 << 10, false },
			    v256k = { 256 << 10, false }, v320k = { 320 << 10, false },
			    v640k = { 640 << 10, false }, v64m = { 64 << 20, false },
			    v128m = { 128 << 20, false }, v256m = { 256 << 20, false },
			    v64m_huge = { 64 << 20, true }, v128m_huge = { 128 << 20, true };

static const size_t offsets[] = { 0, 2048, 0xFF1 };

/*
 * The bitmap check: npte 1 is the 6.7 check (9.3: every even bit), npte 512 the 6.8+ huge
 * check (9.4: bit i for i a multiple of 1024, and each dirty 1 MiB entry reads as 512 bits).
 */
static void bitmap_check(int fd, uint32_t hwpt, uint64_t size, size_t offset, uint64_t npte,
			 bool no_clear)
{
	const uint64_t nbits = size / P, pteset = 2 * npte, bytes = bm_bytes(nbits);
	struct gbm g;
	gbm_alloc(&g, bytes, offset, 0);
	uint8_t *want = calloc(1, bytes);
	assert_non_null(want);
	uint64_t marks = 0;

	for (uint64_t i = 0; i < nbits; i += pteset) {
		bit_set(g.bm, i);
		marks++;
	}
	for (uint64_t i = 0; i < nbits; i++)
		if (i % pteset < npte)
			bit_set(want, i);

	uint64_t nr = 0;
	EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, g.bm, &nr));
	EXPECT_U64(marks, nr);
	EXPECT_U64(nbits / pteset ? nbits / pteset : 1, nr);

	const uint32_t flags = no_clear ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;
	gbm_fill(&g, 0);
	EXPECT_OK(get_dirty_e(fd, hwpt, flags, S, size, P, g.bm));
	bm_expect(g.bm, want, nbits, "first GET");
	gbm_check_guard(&g);

	gbm_fill(&g, 0);
	EXPECT_OK(get_dirty_e(fd, hwpt, flags, S, size, P, g.bm));
	if (no_clear) {
		bm_expect(g.bm, want, nbits, "second GET with NO_CLEAR");
		/* a clearing GET still reports them, and then they are gone */
		gbm_fill(&g, 0);
		EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, g.bm));
		bm_expect(g.bm, want, nbits, "clearing GET after NO_CLEAR");
		gbm_fill(&g, 0);
		EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, g.bm));
	}
	bm_expect_zero(g.bm, nbits, "GET after a clearing GET");
	gbm_check_guard(&g);
	free(want);
}

/* The 6.7 fixture and get_dirty_bitmap[_no_clear] (9.1, 9.2), for every bitmap offset. */
static void run_variant(const struct variant *v)
{
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(v->size, SZ_2M);
	uint32_t ioas = ioas_alloc(fd), idev = 0;
	EXPECT_OK(mock_domain_e(fd, ioas, v->huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0, NULL, NULL,
				&idev));
	uint32_t hwpt = 0;
	dirty_setup(fd, idev, buf, v->size, S, NULL, &hwpt, NULL);

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		bitmap_check(fd, hwpt, v->size, offsets[i], v->huge ? 512 : 1, false);
		bitmap_check(fd, hwpt, v->size, offsets[i], v->huge ? 512 : 1, true);
	}
	if (!v->huge)
		return;
	/* the huge domain still translates to the caller's memory */
	EXPECT_OK(check_map_e(fd, hwpt, S, v->size, buf));
}

/* BM-15 (b) and the huge entry rule (8.4): the record is (cursor, 1 MiB). */
static void t_dirty_huge_cursor(void **state)
{
	(void)state;
	const uint64_t size = 64 << 20, nbits = size / P;
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(size, SZ_2M);
	uint32_t ioas = ioas_alloc(fd), idev = 0, hwpt = 0;
	EXPECT_OK(mock_domain_flags_e(fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL, NULL, &idev));
	dirty_setup(fd, idev, buf, size, S, NULL, &hwpt, NULL);
	struct gbm in, out;
	gbm_alloc(&in, bm_bytes(nbits), 0, 0);
	gbm_alloc(&out, bm_bytes(nbits), 0, 0);
	uint8_t *want = calloc(1, bm_bytes(nbits));
	assert_non_null(want);
	uint64_t nr;

	/* one sub-entry in the middle of a huge entry makes the whole 1 MiB dirty */
	bit_set(in.bm, 512 * 5 + 100);
	EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, in.bm, &nr));
	EXPECT_U64(1, nr);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, out.bm));
	for (uint64_t b = 512 * 5; b < 512 * 6; b++)
		bit_set(want, b);
	bm_expect(out.bm, want, nbits, "one dirty sub-entry of huge entry 5");
	gbm_fill(&out, 0);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, out.bm));
	bm_expect_zero(out.bm, nbits, "GET after the clearing GET");

	/* every even huge entry dirty; GET starting 512 KiB into entry 0 */
	gbm_fill(&in, 0);
	for (uint64_t i = 0; i < nbits; i += 1024)
		bit_set(in.bm, i);
	EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, in.bm, &nr));
	EXPECT_U64(nbits / 1024, nr);
	const uint64_t qiova = S + 512 * 1024, qlen = size - SZ_1M, qbits = qlen / P;
	gbm_fill(&out, 0);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, qiova, qlen, P, out.bm));
	memset(want, 0, bm_bytes(nbits));
	/* the cursor is at entry p's start + 512 KiB for p >= 1, and at qiova for p = 0: each
	 * record covers [cursor, cursor + 1 MiB), i.e. request bits [512 p, 512 p + 511] */
	for (uint64_t b = 0; b < qbits; b++)
		if ((b / 512) % 2 == 0)
			bit_set(want, b);
	bm_expect(out.bm, want, qbits, "GET from 512 KiB into the first huge entry");
	/* bits beyond the request's are not touched */
	for (uint64_t b = qbits; b < bm_bytes(qbits) * 8; b++)
		assert_false(bit_get(out.bm, b));
	gbm_check_guard(&out);
	free(want);
}

/* IOMMU_OPTION HUGE_PAGES = 0: a HUGE_IOVA mock domain maps with 2 KiB entries (5.10) */
static void t_huge_pages_option(void **state)
{
	(void)state;
	const uint64_t size = 4 * SZ_1M, nbits = size / P;
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(size, SZ_2M);
	uint32_t ioas = ioas_alloc(fd), idev = 0;
	EXPECT_OK(mock_domain_flags_e(fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL, NULL, &idev));
	uint8_t in[256], out[256], want[256];
	uint64_t nr;

	for (int huge = 0; huge <= 1; huge++) {
		uint32_t ioas2 = ioas_alloc(fd);
		uint64_t v = (uint64_t)huge;
		EXPECT_OK(option_e(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas2, &v));
		map_fixed(fd, ioas2, buf, size, S);
		uint32_t hwpt = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas2);
		EXPECT_OK(set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
		memset(in, 0, sizeof(in));
		bit_set(in, 512 + 100);
		EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, in, &nr));
		EXPECT_U64(1, nr);
		memset(out, 0, sizeof(out));
		memset(want, 0, sizeof(want));
		EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, out));
		if (huge)
			for (uint64_t b = 512; b < 1024; b++)
				bit_set(want, b);
		else
			bit_set(want, 512 + 100);
		bm_expect(out, want, nbits, huge ? "HUGE_PAGES 1" : "HUGE_PAGES 0");
	}
}

/* ---- BM-04: unaligned bitmap pointers, small sizes ------------------------------------------- */

static void t_bitmap_unaligned_small(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	const uint64_t sizes[] = { 8 << 10, 16 << 10, 64 << 10, 128 << 10, 320 << 10,
				   18 << 10, 130 << 10, 2 << 10 };
	const size_t offs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 0xFF1, 0x7FF, 0x800 };
	uint8_t *buf = t_mmap_aligned(320 << 10, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(fd, m.idev, buf, 320 << 10, S, NULL, &hwpt, NULL);

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		uint64_t nbits = sizes[si] / P;
		for (size_t oi = 0; oi < sizeof(offs) / sizeof(offs[0]); oi++) {
			uint8_t in[64] = { 0 };
			bit_set(in, 0);
			bit_set(in, nbits - 1);
			uint64_t nr = 0;
			EXPECT_OK(test_dirty_e(fd, hwpt, S, sizes[si], P, in, &nr));
			EXPECT_U64(nbits > 1 ? 2 : 1, nr);
			struct gbm g;
			gbm_alloc(&g, bm_bytes(nbits), offs[oi], 0);
			EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, sizes[si], P, g.bm));
			uint8_t want[64] = { 0 };
			bit_set(want, 0);
			bit_set(want, nbits - 1);
			if (memcmp(g.bm, want, bm_bytes(nbits)))
				fail_msg("size %llu (%llu bits) at offset %#zx: wrong bitmap "
					 "(first byte 0x%02x, last byte 0x%02x)",
					 (unsigned long long)sizes[si], (unsigned long long)nbits,
					 offs[oi], g.bm[0], g.bm[bm_bytes(nbits) - 1]);
			gbm_check_guard(&g);
		}
	}
}

/* ---- BM-10: the bit index is relative to iova ------------------------------------------------ */

static void t_bitmap_relative(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(m.fd, m.idev, buf, SZ_1M, S, NULL, &hwpt, NULL);
	uint64_t iova = S + 3 * P, nr = 0;
	uint8_t in = 1u << 5;
	EXPECT_OK(test_dirty_e(m.fd, hwpt, iova, 8 * P, P, &in, &nr));
	EXPECT_U64(1, nr);
	uint8_t bm[16] = { 0 }, want[16] = { 0 };
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, iova, 128 * P, P, bm));
	bit_set(want, 5);
	bm_expect(bm, want, 128, "GET at 16 MiB + 3 pages");
	/* 4 KiB units from 16 MiB + 4 KiB: mock page 3 + 7 = 10, at 20 KiB from S, is bit 4 */
	in = 1u << 7;
	EXPECT_OK(test_dirty_e(m.fd, hwpt, iova, 8 * P, P, &in, &nr));
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, S + 4096, 64 * 4096, 4096, bm));
	memset(want, 0, sizeof(want));
	bit_set(want, 4); /* (20 KiB - 4 KiB) / 4 KiB */
	bm_expect(bm, want, 64, "GET at 4 KiB units");
}

/* ---- BM-12, BM-13, Q2: partial bytes, only ever sets bits, OR across HWPTs ------------------ */

static void t_bitmap_only_sets(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t ioas = 0, h1 = 0;
	dirty_setup(fd, m.idev, buf, SZ_1M, S, &ioas, &h1, NULL);
	uint64_t nr = 0;

	/* BM-12: 4 bits (8 KiB), input 0x05, output pre-filled 0xF0 */
	uint8_t in = 0x05;
	EXPECT_OK(test_dirty_e(fd, h1, S, 8 << 10, P, &in, &nr));
	EXPECT_U64(2, nr);
	struct gbm g;
	gbm_alloc(&g, 1, 0, 0xF0);
	EXPECT_OK(get_dirty_e(fd, h1, 0, S, 8 << 10, P, g.bm));
	EXPECT_U64(0xF5, g.bm[0]);
	gbm_check_guard(&g);
	/* 8 bits (16 KiB), pre-filled 0x00 */
	EXPECT_OK(test_dirty_e(fd, h1, S, 16 << 10, P, &in, &nr));
	EXPECT_U64(2, nr);
	gbm_fill(&g, 0);
	EXPECT_OK(get_dirty_e(fd, h1, 0, S, 16 << 10, P, g.bm));
	EXPECT_U64(0x05, g.bm[0]);
	gbm_check_guard(&g);

	/* BM-13 (a): a pattern in the buffer stays; dirty bits are ORed in */
	uint8_t odd[8];
	memset(odd, 0xAA, sizeof(odd)); /* odd bits dirty */
	EXPECT_OK(test_dirty_e(fd, h1, S, 64 * P, P, odd, &nr));
	EXPECT_U64(32, nr);
	struct gbm g8;
	gbm_alloc(&g8, 8, 3, 0x55); /* even bits pre-set */
	EXPECT_OK(get_dirty_e(fd, h1, 0, S, 64 * P, P, g8.bm));
	for (int i = 0; i < 8; i++)
		EXPECT_U64(0xFF, g8.bm[i]);
	gbm_check_guard(&g8);

	/* BM-13 (b): two dirty HWPTs of one IOAS, harvested into the same buffer */
	uint32_t h2 = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, m.idev, ioas);
	EXPECT_OK(set_dirty_e(fd, h2, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	uint8_t a[2] = { 0x01, 0x00 }, b[2] = { 0x00, 0x80 };
	EXPECT_OK(test_dirty_e(fd, h1, S, 16 * P, P, a, &nr));
	EXPECT_U64(1, nr);
	EXPECT_OK(test_dirty_e(fd, h2, S, 16 * P, P, b, &nr));
	EXPECT_U64(1, nr);
	gbm_fill(&g8, 0);
	EXPECT_OK(get_dirty_e(fd, h1, 0, S, 64 * P, P, g8.bm));
	EXPECT_OK(get_dirty_e(fd, h2, 0, S, 64 * P, P, g8.bm));
	EXPECT_U64(0x01, g8.bm[0]);
	EXPECT_U64(0x80, g8.bm[1]);
	for (int i = 2; i < 8; i++)
		EXPECT_U64(0, g8.bm[i]);
	/* each HWPT has its own dirty state: h1's page was not h2's */
	gbm_fill(&g8, 0);
	EXPECT_OK(get_dirty_e(fd, h1, 0, S, 64 * P, P, g8.bm));
	EXPECT_OK(get_dirty_e(fd, h2, 0, S, 64 * P, P, g8.bm));
	bm_expect_zero(g8.bm, 64, "second harvest of both HWPTs");
}

/* ---- BM-14, Q3: page_size 0x3000 -------------------------------------------------------------- */

static void t_page_size_not_pow2(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	const uint64_t base = 64 << 20;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(m.fd, m.idev, buf, SZ_1M, base, NULL, &hwpt, NULL);
	uint8_t in = 1u << 3; /* the mock page at base + 0x1800 */
	uint64_t nr = 0;
	EXPECT_OK(test_dirty_e(m.fd, hwpt, base, 8 * P, P, &in, &nr));
	EXPECT_U64(1, nr);
	struct gbm g;
	gbm_alloc(&g, 1, 0, 0);
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, base, 0x4000, 0x3000, g.bm));
	/* shift 12: 4 bits, and 0x1800 >> 12 = bit 1 */
	EXPECT_U64(0x02, g.bm[0]);
	gbm_check_guard(&g);
	/* it was cleared */
	g.bm[0] = 0;
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, base, 0x4000, 0x3000, g.bm));
	EXPECT_U64(0, g.bm[0]);
}

/* ---- BM-08 (b), BM-09 (b): extreme page sizes ------------------------------------------------ */

static void t_page_size_extreme(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(m.fd, m.idev, buf, SZ_1M, S, NULL, &hwpt, NULL);
	uint8_t in[64];
	memset(in, 0xFF, sizeof(in));
	uint64_t nr;
	EXPECT_OK(test_dirty_e(m.fd, hwpt, S, SZ_1M, P, in, &nr));
	EXPECT_U64(512, nr);

	struct gbm g;
	gbm_alloc(&g, 1, 0, 0);
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, 0, 1ull << 32, 1ull << 32, g.bm));
	EXPECT_U64(0, g.bm[0]);
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, 0, 1ull << 63, 1ull << 63, g.bm));
	EXPECT_U64(0, g.bm[0]);
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, 1ull << 63, 1ull << 63, 1ull << 63, g.bm));
	EXPECT_U64(0, g.bm[0]);
	gbm_check_guard(&g);
	/* a page_size of the whole area: one bit */
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, S, SZ_1M, SZ_1M, g.bm));
	EXPECT_U64(0x01, g.bm[0]);
	gbm_check_guard(&g);
	g.bm[0] = 0;
	/* 16 MiB units from 16 MiB: the area is in bit 0 */
	EXPECT_OK(test_dirty_e(m.fd, hwpt, S, SZ_1M, P, in, &nr));
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, S, 1ull << 24, 1ull << 24, g.bm));
	EXPECT_U64(0x01, g.bm[0]);
	gbm_check_guard(&g);
}

/* ---- UA-07, Q5: enable clears, disable hides -------------------------------------------------- */

static void t_enable_clears(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(fd, m.idev, buf, SZ_1M, S, NULL, &hwpt, NULL);
	uint8_t a = 0x01, b = 0x02, bm[8];
	uint64_t nr;

	/* 1. mark A; 2. re-enable an enabled domain: A is gone */
	EXPECT_OK(test_dirty_e(fd, hwpt, S, 8 * P, P, &a, &nr));
	EXPECT_U64(1, nr);
	EXPECT_OK(set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	bm_expect_zero(bm, 64, "GET after re-enable");
	/* 3. mark B, disable: GET returns 0 and reports nothing (the driver's EINVAL swallowed) */
	EXPECT_OK(test_dirty_e(fd, hwpt, S, 8 * P, P, &b, &nr));
	EXPECT_OK(set_dirty_e(fd, hwpt, 0));
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	bm_expect_zero(bm, 64, "GET while disabled");
	EXPECT_OK(get_dirty_e(fd, hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, S, 64 * P, P, bm));
	bm_expect_zero(bm, 64, "GET NO_CLEAR while disabled");
	/* DIRTY while disabled: EINVAL (8.5 check 3) */
	EXPECT_ERRNO(EINVAL, test_dirty_e(fd, hwpt, S, 8 * P, P, &a, &nr));
	/* 4. enable: B was wiped */
	EXPECT_OK(set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	bm_expect_zero(bm, 64, "GET after enabling");
	/* and tracking works again */
	EXPECT_OK(test_dirty_e(fd, hwpt, S, 8 * P, P, &b, &nr));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	EXPECT_U64(0x02, bm[0]);
}

/* ---- UA-08, Q1: holes stop the walk ---------------------------------------------------------- */

static void t_get_holes(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(4 * SZ_1M, SZ_1M);
	uint32_t ioas = ioas_alloc(fd);
	map_fixed(fd, ioas, buf, SZ_1M, S);
	map_fixed(fd, ioas, buf + 2 * SZ_1M, SZ_1M, S + 2 * SZ_1M);
	uint32_t h = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, m.idev, ioas);
	EXPECT_OK(set_dirty_e(fd, h, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	const uint64_t nb = 3 * SZ_1M / P; /* 1536 bits */
	uint8_t *in = calloc(1, bm_bytes(nb)), *bm = calloc(1, bm_bytes(nb)), *want = calloc(1, bm_bytes(nb));
	assert_true(in && bm && want);
	uint64_t nr;
	const uint64_t p1 = 7, p2 = 1024 + 9; /* in area 1 and area 2, counted from S */

	bit_set(in, p1);
	bit_set(in, p2);
	EXPECT_OK(test_dirty_e(fd, h, S, 3 * SZ_1M, P, in, &nr));
	EXPECT_U64(2, nr);
	/* 1. GET [16, 19) MiB: 0, only area 1's bit; area 2 keeps its dirty page */
	EXPECT_OK(get_dirty_e(fd, h, 0, S, 3 * SZ_1M, P, bm));
	bit_set(want, p1);
	bm_expect(bm, want, nb, "GET over the hole");
	/* 3. GET [17, 19) MiB: the start is unmapped, nothing */
	memset(bm, 0, bm_bytes(nb));
	EXPECT_OK(get_dirty_e(fd, h, 0, S + SZ_1M, 2 * SZ_1M, P, bm));
	bm_expect_zero(bm, 1024, "GET from the hole");
	/* 2. GET [18, 19) MiB: reports area 2's page */
	memset(bm, 0, bm_bytes(nb));
	memset(want, 0, bm_bytes(nb));
	EXPECT_OK(get_dirty_e(fd, h, 0, S + 2 * SZ_1M, SZ_1M, P, bm));
	bit_set(want, p2 - 1024);
	bm_expect(bm, want, 512, "GET of area 2");
	/* a range reaching past the end of an area: reported up to the end, returns 0 */
	bit_set(in, 511);
	EXPECT_OK(test_dirty_e(fd, h, S, 3 * SZ_1M, P, in, &nr));
	memset(bm, 0, bm_bytes(nb));
	EXPECT_OK(get_dirty_e(fd, h, 0, S + SZ_1M / 2, SZ_1M, P, bm));
	memset(want, 0, bm_bytes(nb));
	bit_set(want, 255);
	bm_expect(bm, want, 512, "GET past the end of area 1");
	/* adjacent areas from separate maps are contiguous (EN-11) */
	map_fixed(fd, ioas, buf + SZ_1M, SZ_1M, S + SZ_1M);
	EXPECT_OK(get_dirty_e(fd, h, 0, S, 3 * SZ_1M, P, bm)); /* clears what is left */
	memset(in, 0, bm_bytes(nb));
	bit_set(in, 3);
	bit_set(in, 512 + 3);
	bit_set(in, 1024 + 3);
	EXPECT_OK(test_dirty_e(fd, h, S, 3 * SZ_1M, P, in, &nr));
	EXPECT_U64(3, nr);
	memset(bm, 0, bm_bytes(nb));
	EXPECT_OK(get_dirty_e(fd, h, 0, S, 3 * SZ_1M, P, bm));
	bm_expect(bm, in, nb, "GET over three adjacent areas");
	free(in);
	free(bm);
	free(want);
}

/* ---- UA-15, Q9: iova 0, length 0 ------------------------------------------------------------- */

static void t_get_zero_length(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(m.fd, m.idev, buf, SZ_1M, S, NULL, &hwpt, NULL);
	uint8_t in = 0x81;
	uint64_t nr;
	EXPECT_OK(test_dirty_e(m.fd, hwpt, S, 8 * P, P, &in, &nr));
	struct gbm g;
	gbm_alloc(&g, 1, 0, 0x3C);
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, 0, 0, P, g.bm));
	EXPECT_U64(0x3C, g.bm[0]);
	gbm_check_guard(&g);
	/* no dirty state was cleared */
	g.bm[0] = 0;
	EXPECT_OK(get_dirty_e(m.fd, hwpt, 0, S, 8 * P, P, g.bm));
	EXPECT_U64(0x81, g.bm[0]);
}

/* ---- Unmap drops dirty state; a new mapping starts clean -------------------------------------- */

static void t_dirty_unmap_remap(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t ioas = 0, hwpt = 0;
	dirty_setup(fd, m.idev, buf, 64 * P, S, &ioas, &hwpt, NULL);
	uint8_t in[8];
	memset(in, 0xFF, sizeof(in));
	uint64_t nr;
	EXPECT_OK(test_dirty_e(fd, hwpt, S, 64 * P, P, in, &nr));
	EXPECT_U64(64, nr);
	/* read with NO_CLEAR, then unmap (4.5) */
	uint8_t bm[8] = { 0 };
	EXPECT_OK(get_dirty_e(fd, hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, S, 64 * P, P, bm));
	for (int i = 0; i < 8; i++)
		EXPECT_U64(0xFF, bm[i]);
	EXPECT_OK(unmap_e(fd, ioas, S, 64 * P, NULL));
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	bm_expect_zero(bm, 64, "GET after unmap");
	map_fixed(fd, ioas, buf, 64 * P, S);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	bm_expect_zero(bm, 64, "GET of a fresh mapping");
}

#define VARIANT(v)                                                                               \
	static void t_dirty_##v(void **state)                                                    \
	{                                                                                        \
		(void)state;                                                                     \
		run_variant(&v);                                                                 \
	}
VARIANT(v8k)
VARIANT(v16k)
VARIANT(v64k)
VARIANT(v128k)
VARIANT(v256k)
VARIANT(v320k)
VARIANT(v640k)
VARIANT(v64m)
VARIANT(v128m)
VARIANT(v256m)
VARIANT(v64m_huge)
VARIANT(v128m_huge)

static const struct CMUnitTest dirty_tests[] = {
	UT(t_dirty_v8k),
	UT(t_dirty_v16k),
	UT(t_dirty_v64k),
	UT(t_dirty_v128k),
	UT(t_dirty_v256k),
	UT(t_dirty_v320k),
	UT(t_dirty_v640k),
	UT(t_dirty_v64m),
	UT(t_dirty_v128m),
	UT(t_dirty_v256m),
	UT(t_dirty_v64m_huge),
	UT(t_dirty_v128m_huge),
	UT(t_dirty_huge_cursor),
	UT(t_huge_pages_option),
	UT(t_bitmap_unaligned_small),
	UT(t_bitmap_relative),
	UT(t_bitmap_only_sets),
	UT(t_page_size_not_pow2),
	UT(t_page_size_extreme),
	UT(t_enable_clears),
	UT(t_get_holes),
	UT(t_get_zero_length),
	UT(t_dirty_unmap_remap),
};
const struct uapi_group uapi_group_dirty = {
	"mock dirty tracking", dirty_tests, sizeof(dirty_tests) / sizeof(dirty_tests[0])
};
