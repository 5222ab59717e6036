/* SPDX-License-Identifier: MIT */
/*
 * ABI conformance test of iodirty's /dev/iommu, run as `iodirty run -- test_uapi`.
 *
 * This file: main() and the dispatch group (uapi.md 1, 2, 3; test-cases.md UA-01, UA-02,
 * UA-03): descriptors and contexts, the command table, the size and extensibility rules, the
 * errno of every dispatch step and the copy-back rule.
 *
 * The other groups: uapi_cmds.c (the errno rows of section 5 and the quirks of section 10),
 * uapi_selftest.c (IOMMU_TEST_CMD, section 8), uapi_dirty.c (the mock dirty flows, sections
 * 6 and 9), uapi_formats.c (the four emulated formats with DMA) and uapi_process.c (fork,
 * clone, exec, close and bad pointers, sections 9.6 and 11).
 */
#include "uapi_common.h"

#include <linux/ioctl.h>

/* The 6.7 sizes (uapi.md 3); the header must agree (BM-11 checks it in depth). */
_Static_assert(sizeof(struct iommu_destroy) == 8, "destroy");
_Static_assert(sizeof(struct iommu_ioas_alloc) == 12, "ioas_alloc");
_Static_assert(sizeof(struct iommu_ioas_iova_ranges) == 32, "iova_ranges");
_Static_assert(sizeof(struct iommu_ioas_map) == 40, "map");
_Static_assert(sizeof(struct iommu_ioas_unmap) == 24, "unmap");
_Static_assert(sizeof(struct iommu_option) == 24, "option");
_Static_assert(sizeof(struct iommu_hwpt_alloc) == 40, "hwpt_alloc");
_Static_assert(sizeof(struct iommu_hw_info) == 40, "hw_info");
_Static_assert(sizeof(struct iommu_hwpt_set_dirty_tracking) == 16, "set_dirty");
_Static_assert(sizeof(struct iommu_hwpt_get_dirty_bitmap) == 48, "get_dirty");
_Static_assert(sizeof(struct iommu_test_cmd) == 72, "test_cmd");
_Static_assert(sizeof(struct iodirty_test_cmd) == 72, "iodirty_test_cmd");
/* Q13: the two dirty structs order flags and hwpt_id differently */
_Static_assert(offsetof(struct iommu_hwpt_set_dirty_tracking, flags) == 4, "Q13");
_Static_assert(offsetof(struct iommu_hwpt_set_dirty_tracking, hwpt_id) == 8, "Q13");
_Static_assert(offsetof(struct iommu_hwpt_get_dirty_bitmap, hwpt_id) == 4, "Q13");
_Static_assert(offsetof(struct iommu_hwpt_get_dirty_bitmap, flags) == 8, "Q13");
_Static_assert(offsetof(struct iodirty_test_cmd, device_new.format) == 28, "ext");
_Static_assert(offsetof(struct iodirty_test_cmd, device_new.dev_flags) == 32, "ext");
_Static_assert(offsetof(struct iodirty_test_cmd, dma.uptr) == 40, "ext");
_Static_assert(offsetof(struct iodirty_test_cmd, dma.done) == 48, "ext");
_Static_assert(offsetof(struct iodirty_test_cmd, faults.count) == 16, "ext");

struct cmdinfo {
	const char *name;
	unsigned long cmd;
	uint32_t min_size, ksize;
	bool responds;
};

/* uapi.md 3: min_size and kernel sizeof in 6.7 (IOVA_RANGES: 5.9) */
static const struct cmdinfo cmds[] = {
	{ "DESTROY", IOMMU_DESTROY, 8, 8, false },
	{ "IOAS_ALLOC", IOMMU_IOAS_ALLOC, 12, 12, true },
	{ "IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES, 32, 32, true },
	{ "IOAS_MAP", IOMMU_IOAS_MAP, 40, 40, true },
	{ "IOAS_UNMAP", IOMMU_IOAS_UNMAP, 24, 24, true },
	{ "OPTION", IOMMU_OPTION, 24, 24, true },
	{ "HWPT_ALLOC", IOMMU_HWPT_ALLOC, 24, 40, true },
	{ "GET_HW_INFO", IOMMU_GET_HW_INFO, 32, 40, true },
	{ "HWPT_SET_DIRTY_TRACKING", IOMMU_HWPT_SET_DIRTY_TRACKING, 16, 16, false },
	{ "HWPT_GET_DIRTY_BITMAP", IOMMU_HWPT_GET_DIRTY_BITMAP, 48, 48, false },
	{ "TEST_CMD", IOMMU_TEST_CMD, 68, 72, true },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

#define CBUF 256 /* command buffers: struct + trailing byte + guard */

static void expect_guard(const uint8_t *buf, size_t from, size_t to, const char *what,
			 uint32_t size)
{
	for (size_t i = from; i < to; i++)
		if (buf[i] != GUARD_BYTE)
			fail_msg("%s with size %u: byte %zu beyond size was written (0x%02x)", what,
				 size, i, buf[i]);
}

/* ---- UA-01, zero structs: the selftest's cmd_length ------------------------------------------ */

static void t_cmd_length_zero(void **state)
{
	(void)state;
	int fd = dev_open();

	for (size_t i = 0; i < NCMDS; i++) {
		const struct cmdinfo *c = &cmds[i];
		_Alignas(8) uint8_t buf[CBUF];
		uint32_t size;

		/* min_size - 1: EINVAL, nothing written */
		memset(buf, GUARD_BYTE, sizeof(buf));
		memset(buf, 0, c->ksize);
		size = c->min_size - 1;
		memcpy(buf, &size, 4);
		buf[c->ksize] = 0xFF;
		int rc = uioctl(fd, c->cmd, buf);
		if (rc != EINVAL)
			fail_msg("%s size %u: expected EINVAL, got %s", c->name, size, ename(rc));
		expect_guard(buf, c->ksize + 1, sizeof(buf), c->name, size);

		/* sizeof + 1 with 0xFF: E2BIG */
		size = c->ksize + 1;
		memcpy(buf, &size, 4);
		rc = uioctl(fd, c->cmd, buf);
		if (rc != E2BIG)
			fail_msg("%s size %u, trailing 0xFF: expected E2BIG, got %s", c->name, size,
				 ename(rc));
		assert_int_equal(buf[c->ksize], 0xFF);
		expect_guard(buf, c->ksize + 1, sizeof(buf), c->name, size);

		/* sizeof: some result */
		memset(buf, GUARD_BYTE, sizeof(buf));
		memset(buf, 0, c->ksize);
		size = c->ksize;
		memcpy(buf, &size, 4);
		int rc1 = uioctl(fd, c->cmd, buf);
		expect_guard(buf, c->ksize, sizeof(buf), c->name, size);

		/* sizeof + 1 with 0x00: the same result */
		memset(buf, GUARD_BYTE, sizeof(buf));
		memset(buf, 0, c->ksize + 1);
		size = c->ksize + 1;
		memcpy(buf, &size, 4);
		int rc2 = uioctl(fd, c->cmd, buf);
		if (rc1 != rc2)
			fail_msg("%s: size %u gives %s but size %u with a 0x00 tail gives %s", c->name,
				 c->ksize, ename(rc1), size, ename(rc2));
		assert_int_equal(buf[c->ksize], 0);
		expect_guard(buf, c->ksize + 1, sizeof(buf), c->name, size);
	}
}

/*
 * The all-zero structs name no object (ids start at 1, uapi.md 1), so most fail at the first
 * handler check; these are the 6.7 results (uapi.md 5): the rows say which.
 */
static void t_zero_structs(void **state)
{
	(void)state;
	int fd = dev_open();
	static const struct {
		unsigned long cmd;
		size_t size;
		int err;
	} rows[] = {
		{ IOMMU_DESTROY, 8, ENOENT },                 /* 5.1: no object 0 */
		{ IOMMU_IOAS_ALLOC, 12, 0 },                  /* 5.2 */
		{ IOMMU_IOAS_IOVA_RANGES, 32, ENOENT },       /* 5.9 */
		{ IOMMU_IOAS_MAP, 40, EINVAL },               /* 5.3 check 3: neither R nor W */
		{ IOMMU_HWPT_ALLOC, 40, ENOENT },             /* 5.5 check 3: dev_id */
		{ IOMMU_GET_HW_INFO, 40, ENOENT },            /* 5.6 check 2 */
		{ IOMMU_HWPT_SET_DIRTY_TRACKING, 16, ENOENT }, /* 5.7 check 2 */
		{ IOMMU_HWPT_GET_DIRTY_BITMAP, 48, ENOENT },  /* 5.8 check 2 */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		_Alignas(8) uint8_t buf[CBUF] = { 0 };
		uint32_t size = (uint32_t)rows[i].size;
		memcpy(buf, &size, 4);
		int rc = uioctl(fd, rows[i].cmd, buf);
		if (rc != rows[i].err)
			fail_msg("zero struct for 0x%lx: expected %s, got %s", rows[i].cmd,
				 ename(rows[i].err), ename(rc));
	}
}

/* ---- UA-01, valid structs: sizeof + 1 with 0x00 == sizeof ------------------------------------ */

struct vctx {
	int fd;
	struct mockfx m;
	uint32_t ioas2, hwpt2;
	uint8_t *buf;     /* 1 MiB, mapped at 16 MiB in ioas2 and m.ioas */
	uint64_t next_iova;
	uint8_t *bm;
};

typedef void (*fill_fn)(struct vctx *c, void *cmd);

static void fill_destroy(struct vctx *c, void *p)
{
	struct iommu_destroy *cmd = p;
	cmd->id = ioas_alloc(c->fd);
}

static void fill_ioas_alloc(struct vctx *c, void *p)
{
	(void)c;
	(void)p;
}

static struct iommu_iova_range ranges_a[2], ranges_b[2];
static int ranges_turn;

static void fill_iova_ranges(struct vctx *c, void *p)
{
	struct iommu_ioas_iova_ranges *cmd = p;
	cmd->ioas_id = c->m.ioas;
	cmd->num_iovas = 2;
	cmd->allowed_iovas = (uintptr_t)(ranges_turn++ % 2 ? ranges_b : ranges_a);
}

static void fill_map(struct vctx *c, void *p)
{
	struct iommu_ioas_map *cmd = p;
	cmd->flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	cmd->ioas_id = c->m.ioas;
	cmd->user_va = (uintptr_t)c->buf;
	cmd->length = SZ_1M;
	cmd->iova = c->next_iova;
	c->next_iova += SZ_1M;
}

static void fill_unmap(struct vctx *c, void *p)
{
	struct iommu_ioas_unmap *cmd = p;
	map_fixed(c->fd, c->m.ioas, c->buf, SZ_1M, c->next_iova);
	cmd->ioas_id = c->m.ioas;
	cmd->iova = c->next_iova;
	cmd->length = SZ_1M;
	c->next_iova += SZ_1M;
}

static void fill_option(struct vctx *c, void *p)
{
	struct iommu_option *cmd = p;
	cmd->option_id = IOMMU_OPTION_HUGE_PAGES;
	cmd->op = IOMMU_OPTION_OP_GET;
	cmd->object_id = c->m.ioas;
}

static void fill_hwpt_alloc(struct vctx *c, void *p)
{
	struct iommu_hwpt_alloc *cmd = p;
	cmd->flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	cmd->dev_id = c->m.idev;
	cmd->pt_id = c->m.ioas;
}

static void fill_hw_info(struct vctx *c, void *p)
{
	struct iommu_hw_info *cmd = p;
	cmd->dev_id = c->m.idev;
}

static void fill_set_dirty(struct vctx *c, void *p)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = p;
	cmd->flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	cmd->hwpt_id = c->hwpt2;
}

static void fill_get_dirty(struct vctx *c, void *p)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = p;
	cmd->hwpt_id = c->hwpt2;
	cmd->flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	cmd->iova = MOCK_APERTURE_START;
	cmd->length = SZ_1M;
	cmd->page_size = MOCK_PAGE;
	cmd->data = (uintptr_t)c->bm;
}

static void fill_test_cmd(struct vctx *c, void *p)
{
	struct iommu_test_cmd *cmd = p;
	cmd->op = IOMMU_TEST_OP_MD_CHECK_REFS;
	cmd->check_refs.length = 4 * HOST_PAGE;
	cmd->check_refs.uptr = (uintptr_t)c->bm; /* never mapped into an IOAS: no pins */
	cmd->check_refs.refs = 0;
}

static void fill_mock_domain(struct vctx *c, void *p)
{
	struct iommu_test_cmd *cmd = p;
	cmd->op = IOMMU_TEST_OP_MOCK_DOMAIN;
	cmd->id = c->hwpt2;
}

/*
 * Runs a valid command with size = sizeof, then again with size = sizeof + 1 and a 0x00 tail:
 * both must give `expect`, write nothing beyond size, and agree on bytes [cmp_from, cmp_to).
 */
static void length_equiv(struct vctx *c, const char *name, unsigned long req, uint32_t ksize,
			 fill_fn fill, int expect, size_t cmp_from, size_t cmp_to)
{
	_Alignas(8) uint8_t a[CBUF], b[CBUF];

	memset(a, GUARD_BYTE, sizeof(a));
	memset(a, 0, ksize);
	fill(c, a);
	memcpy(a, &ksize, 4);
	int ra = uioctl(c->fd, req, a);
	expect_guard(a, ksize, sizeof(a), name, ksize);

	uint32_t s1 = ksize + 1;
	memset(b, GUARD_BYTE, sizeof(b));
	memset(b, 0, ksize + 1);
	fill(c, b);
	memcpy(b, &s1, 4);
	int rb = uioctl(c->fd, req, b);
	if (b[ksize] != 0)
		fail_msg("%s: the 0x00 byte at sizeof was overwritten", name);
	expect_guard(b, ksize + 1, sizeof(b), name, s1);

	if (ra != expect || rb != expect)
		fail_msg("%s: expected %s for size %u and %u, got %s and %s", name, ename(expect),
			 ksize, s1, ename(ra), ename(rb));
	/* the size word differs by design: it is written back as the caller's (Q11) */
	if (cmp_from < 4)
		cmp_from = 4;
	EXPECT_U64(ksize, *(uint32_t *)a);
	EXPECT_U64(s1, *(uint32_t *)b);
	if (cmp_to > cmp_from && memcmp(a + cmp_from, b + cmp_from, cmp_to - cmp_from))
		fail_msg("%s: sizes %u and %u wrote different results in bytes [%zu, %zu)", name,
			 ksize, s1, cmp_from, cmp_to);
}

static void vctx_init(struct vctx *c)
{
	mockfx_init(&c->m, 0);
	c->fd = c->m.fd;
	c->buf = t_mmap_aligned(SZ_1M, SZ_1M);
	memset(c->buf, 1, SZ_1M);
	c->bm = t_mmap(4 * HOST_PAGE, PROT_READ | PROT_WRITE);
	dirty_setup(c->fd, c->m.idev, c->buf, SZ_1M, MOCK_APERTURE_START, &c->ioas2, &c->hwpt2,
		    NULL);
	map_fixed(c->fd, c->m.ioas, c->buf, SZ_1M, MOCK_APERTURE_START);
	c->next_iova = MOCK_APERTURE_START + 4 * SZ_1M;
}

static void t_cmd_length_valid(void **state)
{
	(void)state;
	struct vctx c;
	vctx_init(&c);

	length_equiv(&c, "DESTROY", IOMMU_DESTROY, 8, fill_destroy, 0, 0, 0);
	length_equiv(&c, "IOAS_ALLOC", IOMMU_IOAS_ALLOC, 12, fill_ioas_alloc, 0, 0, 0);
	length_equiv(&c, "IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES, 32, fill_iova_ranges, 0, 8, 12);
	assert_memory_equal(ranges_a, ranges_b, sizeof(struct iommu_iova_range));
	length_equiv(&c, "IOAS_MAP", IOMMU_IOAS_MAP, 40, fill_map, 0, 0, 0);
	length_equiv(&c, "IOAS_UNMAP", IOMMU_IOAS_UNMAP, 24, fill_unmap, 0, 16, 24);
	length_equiv(&c, "OPTION", IOMMU_OPTION, 24, fill_option, 0, 0, 24);
	length_equiv(&c, "HWPT_ALLOC", IOMMU_HWPT_ALLOC, 40, fill_hwpt_alloc, 0, 0, 0);
	length_equiv(&c, "GET_HW_INFO", IOMMU_GET_HW_INFO, 40, fill_hw_info, 0, 0, 40);
	length_equiv(&c, "SET_DIRTY_TRACKING", IOMMU_HWPT_SET_DIRTY_TRACKING, 16, fill_set_dirty,
		     0, 0, 16);
	length_equiv(&c, "GET_DIRTY_BITMAP", IOMMU_HWPT_GET_DIRTY_BITMAP, 48, fill_get_dirty, 0,
		     0, 48);
	length_equiv(&c, "TEST_CMD MD_CHECK_REFS", IOMMU_TEST_CMD, 72, fill_test_cmd, 0, 0, 72);
	length_equiv(&c, "TEST_CMD MOCK_DOMAIN", IOMMU_TEST_CMD, 72, fill_mock_domain, 0, 0, 0);
}

/* A much larger size with an all-zero tail is accepted; one non-zero byte anywhere in it is not */
static void t_size_large_tail(void **state)
{
	(void)state;
	int fd = dev_open();
	size_t len = 3 * HOST_PAGE;
	uint8_t *p = t_mmap(len, PROT_READ | PROT_WRITE);
	struct iommu_ioas_alloc *cmd = (void *)p;

	cmd->size = (uint32_t)len;
	EXPECT_OK(uioctl(fd, IOMMU_IOAS_ALLOC, cmd));
	assert_true(cmd->out_ioas_id != 0);
	for (size_t i = 12; i < len; i++)
		if (p[i])
			fail_msg("IOAS_ALLOC with size %zu wrote byte %zu", len, i);
	p[len - 1] = 1;
	EXPECT_ERRNO(E2BIG, uioctl(fd, IOMMU_IOAS_ALLOC, cmd));
	p[len - 1] = 0;
	p[12] = 0x80;
	EXPECT_ERRNO(E2BIG, uioctl(fd, IOMMU_IOAS_ALLOC, cmd));
}

/* ---- UA-02: older, shorter structs, and nothing written beyond size -------------------------- */

static void t_short_structs(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	_Alignas(8) uint8_t buf[CBUF];

	/* HWPT_ALLOC at min_size 24 (a pre-6.7 binary): works, writes only 24 bytes */
	memset(buf, GUARD_BYTE, sizeof(buf));
	struct iommu_hwpt_alloc *ha = (void *)buf;
	memset(ha, 0, 24);
	ha->size = 24;
	ha->flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	ha->dev_id = m.idev;
	ha->pt_id = m.ioas;
	EXPECT_OK(uioctl(m.fd, IOMMU_HWPT_ALLOC, ha));
	assert_true(ha->out_hwpt_id != 0);
	expect_guard(buf, 24, sizeof(buf), "HWPT_ALLOC", 24);
	/* it is a real dirty-capable HWPT */
	EXPECT_OK(set_dirty_e(m.fd, ha->out_hwpt_id, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_OK(destroy_e(m.fd, ha->out_hwpt_id));

	/* HWPT_ALLOC at 32 (data_type and data_len, no data_uptr) */
	memset(buf, GUARD_BYTE, sizeof(buf));
	memset(ha, 0, 32);
	ha->size = 32;
	ha->dev_id = m.idev;
	ha->pt_id = m.ioas;
	EXPECT_OK(uioctl(m.fd, IOMMU_HWPT_ALLOC, ha));
	expect_guard(buf, 32, sizeof(buf), "HWPT_ALLOC", 32);
	EXPECT_OK(destroy_e(m.fd, ha->out_hwpt_id));

	/* GET_HW_INFO at 32: works, out_capabilities (bytes 32..39) not written */
	memset(buf, GUARD_BYTE, sizeof(buf));
	struct iommu_hw_info *hi = (void *)buf;
	memset(hi, 0, 32);
	hi->size = 32;
	hi->dev_id = m.idev;
	EXPECT_OK(uioctl(m.fd, IOMMU_GET_HW_INFO, hi));
	EXPECT_U64(IOMMU_HW_INFO_TYPE_SELFTEST, hi->out_data_type);
	EXPECT_U64(8, hi->data_len);
	expect_guard(buf, 32, sizeof(buf), "GET_HW_INFO", 32);

	/* TEST_CMD at min_size 68 */
	memset(buf, GUARD_BYTE, sizeof(buf));
	struct iommu_test_cmd *tc = (void *)buf;
	memset(tc, 0, 68);
	tc->size = 68;
	tc->op = IOMMU_TEST_OP_MOCK_DOMAIN;
	tc->id = m.ioas;
	EXPECT_OK(uioctl(m.fd, IOMMU_TEST_CMD, tc));
	assert_true(tc->mock_domain.out_stdev_id && tc->mock_domain.out_idev_id);
	expect_guard(buf, 68, sizeof(buf), "TEST_CMD", 68);

	/* every responding command at its exact size: nothing beyond it */
	memset(buf, GUARD_BYTE, sizeof(buf));
	struct iommu_ioas_alloc *ia = (void *)buf;
	memset(ia, 0, 12);
	ia->size = 12;
	EXPECT_OK(uioctl(m.fd, IOMMU_IOAS_ALLOC, ia));
	expect_guard(buf, 12, sizeof(buf), "IOAS_ALLOC", 12);

	memset(buf, GUARD_BYTE, sizeof(buf));
	struct iommu_option *op = (void *)buf;
	memset(op, 0, 24);
	op->size = 24;
	op->option_id = IOMMU_OPTION_HUGE_PAGES;
	op->op = IOMMU_OPTION_OP_GET;
	op->object_id = m.ioas;
	EXPECT_OK(uioctl(m.fd, IOMMU_OPTION, op));
	EXPECT_U64(1, op->val64);
	expect_guard(buf, 24, sizeof(buf), "OPTION", 24);
}

/* ---- UA-03: dispatch order ------------------------------------------------------------------- */

/* Step 2 (read size) comes before step 3 (slot check): NULL is EFAULT for every nr in the table. */
static void t_null_arg(void **state)
{
	(void)state;
	int fd = dev_open();

	for (unsigned nr = 0x80; nr <= 0xA0; nr++) {
		int rc = uioctl(fd, 0x3B00u | nr, NULL);
		if (rc != EFAULT)
			fail_msg("ioctl(0x%x, NULL): expected EFAULT, got %s", 0x3B00u | nr,
				 ename(rc));
	}
	/* the full value is checked only at step 3, after the size read */
	EXPECT_ERRNO(EFAULT, uioctl(fd, _IOWR(';', 0x80, struct iommu_destroy), NULL));
	EXPECT_ERRNO(EFAULT, uioctl(fd, ('<' << 8) | 0x85, NULL));
	/* step 1 comes first: outside the table, ENOTTY even with NULL */
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3B7F, NULL));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3BA1, NULL));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3B00, NULL));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3BFF, NULL));
}

/* An unmapped argument, and one whose struct runs into an unmapped page, are EFAULT. */
static void t_bad_arg_pointer(void **state)
{
	(void)state;
	int fd = dev_open();
	void *hole = t_hole(HOST_PAGE);

	for (unsigned nr = 0x80; nr <= 0xA0; nr++) {
		int rc = uioctl(fd, 0x3B00u | nr, hole);
		if (rc != EFAULT)
			fail_msg("ioctl(0x%x, unmapped): expected EFAULT, got %s", 0x3B00u | nr,
				 ename(rc));
	}
	/* a pointer with the high bit set (kernel half) */
	EXPECT_ERRNO(EFAULT, uioctl(fd, IOMMU_IOAS_ALLOC, (void *)0xffff800000000000ull));

	/* the size word readable, the rest of the struct not */
	uint8_t *p = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	assert_int_equal(mprotect(p + HOST_PAGE, HOST_PAGE, PROT_NONE), 0);
	for (size_t i = 0; i < NCMDS; i++) {
		uint8_t *at = p + HOST_PAGE - 4;
		memcpy(at, &cmds[i].ksize, 4);
		int rc = uioctl(fd, cmds[i].cmd, at);
		if (rc != EFAULT)
			fail_msg("%s with a struct crossing into PROT_NONE: expected EFAULT, got %s",
				 cmds[i].name, ename(rc));
	}
	/* a size beyond sizeof whose tail cannot be read (uapi.md 3 step 5) */
	struct iommu_destroy *d = (void *)(p + HOST_PAGE - 16);
	d->size = 32;
	d->id = ioas_alloc(fd);
	memset(d + 1, 0, 8);
	EXPECT_ERRNO(EFAULT, uioctl(fd, IOMMU_DESTROY, d));
	d->size = 0xFFFFFFFF;
	EXPECT_ERRNO(EFAULT, uioctl(fd, IOMMU_DESTROY, d));
	/* the IOAS survived: nothing ran */
	EXPECT_OK(destroy_e(fd, d->id));
}

/* Slots 0x8D-0x9F are empty in 6.7: ENOTTY with a readable argument. */
static void t_empty_slots(void **state)
{
	(void)state;
	int fd = dev_open();
	_Alignas(8) uint8_t buf[CBUF] = { 0 };
	uint32_t size = 64;
	memcpy(buf, &size, 4);

	for (unsigned nr = 0x8D; nr <= 0x9F; nr++) {
		int rc = uioctl(fd, 0x3B00u | nr, buf);
		if (rc != ENOTTY)
			fail_msg("ioctl(0x%x): expected ENOTTY, got %s", 0x3B00u | nr, ename(rc));
	}
	/* IOAS_ALLOW_IOVAS, IOAS_COPY and VFIO_IOAS are outside the contract and empty slots in
	 * iodirty (compat.md "No VFIO compatibility layer") */
	EXPECT_ERRNO(ENOTTY, uioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, buf));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, IOMMU_IOAS_COPY, buf));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, IOMMU_VFIO_IOAS, buf));
	/* also with a size of 0 or a huge one: the slot check comes before the size checks */
	size = 0;
	memcpy(buf, &size, 4);
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3B8D, buf));
	size = 0xFFFFFFFF;
	memcpy(buf, &size, 4);
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3B90, buf));
}

/* The full 32-bit value must match: direction, size or type bits make it unknown. */
static void t_full_value(void **state)
{
	(void)state;
	int fd = dev_open();
	uint32_t id = ioas_alloc(fd);
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	EXPECT_ERRNO(ENOTTY, uioctl(fd, _IOWR(';', 0x80, struct iommu_destroy), &d));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, _IOW(';', 0x80, struct iommu_destroy), &d));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, _IOR(';', 0x80, struct iommu_destroy), &d));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x3B80 | (8u << 16), &d)); /* size bits only */
	EXPECT_ERRNO(ENOTTY, uioctl(fd, ('<' << 8) | 0x80, &d));   /* other type, same nr */
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x80, &d));                /* type 0 */
	/* none of them destroyed the IOAS */
	EXPECT_OK(destroy_e(fd, id));
	EXPECT_ERRNO(ENOENT, destroy_e(fd, id));
}

/* nr outside [0x80, 0xA0]: ENOTTY (iodirty has no VFIO compatibility layer, uapi.md 3 step 1) */
static void t_outside_table(void **state)
{
	(void)state;
	int fd = dev_open();
	_Alignas(8) uint8_t buf[CBUF] = { 0 };
	uint32_t size = 8;
	memcpy(buf, &size, 4);
	static const unsigned long reqs[] = {
		0x3B7F, 0x3BA1, 0x3BA2, 0x3B00, 0x3B01, 0x3B64, 0x3B65, 0x3BFF,
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		int rc = uioctl(fd, reqs[i], buf);
		if (rc != ENOTTY)
			fail_msg("ioctl(0x%lx): expected ENOTTY, got %s", reqs[i], ename(rc));
	}
	/* generic ioctls on the descriptor are not iommufd commands either */
	int n = 0;
	EXPECT_ERRNO(ENOTTY, uioctl(fd, FIONREAD, &n));
}

/* Only the low 32 bits of the request count (uapi.md 2, 11.1). */
static void t_upper_bits(void **state)
{
	(void)state;
	int fd = dev_open();
	uint32_t id = ioas_alloc(fd);
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	EXPECT_OK(uioctl(fd, 0xFFFFFFFF00003B80ul, &d));
	EXPECT_ERRNO(ENOENT, uioctl(fd, 0xFFFFFFFF00003B80ul, &d));
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	EXPECT_OK(uioctl(fd, 0x100003B81ul, &a));
	EXPECT_U64(id, a.out_ioas_id); /* the lowest free id again */
	EXPECT_ERRNO(EFAULT, uioctl(fd, 0x8000000000003B80ul, NULL));
	EXPECT_ERRNO(ENOTTY, uioctl(fd, 0x100003B90ul, &d));
}

/* ---- uapi.md 3 step 7: copy-back ------------------------------------------------------------- */

/* A struct on a read-only page: responders fail with EFAULT and create nothing; the others
 * write nothing back, so they succeed. */
static void t_copyback(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *page = t_mmap(HOST_PAGE, PROT_READ | PROT_WRITE);
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint8_t *buf2 = t_mmap_aligned(SZ_1M, SZ_1M);

#define RO_CALL(expect, req, type, ...)                                                          \
	do {                                                                                     \
		assert_int_equal(mprotect(page, HOST_PAGE, PROT_READ | PROT_WRITE), 0);         \
		memset(page, 0, HOST_PAGE);                                                      \
		type *c_ = (void *)page;                                                         \
		*c_ = (type){ .size = sizeof(type), __VA_ARGS__ };                               \
		assert_int_equal(mprotect(page, HOST_PAGE, PROT_READ), 0);                       \
		int rc_ = uioctl(fd, req, c_);                                                   \
		if (rc_ != (expect))                                                             \
			fail_msg("%s with a read-only struct: expected %s, got %s", #req,       \
				 ename(expect), ename(rc_));                                     \
	} while (0)

	/* IOAS_ALLOC: EFAULT, and the id is free again (all-or-nothing) */
	uint32_t a = ioas_alloc(fd);
	EXPECT_OK(destroy_e(fd, a));
	RO_CALL(EFAULT, IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, .flags = 0);
	EXPECT_U64(a, ioas_alloc(fd));

	/* HWPT_ALLOC: EFAULT, and the HWPT is gone: its IOAS has no domain and can be destroyed */
	uint32_t x = ioas_alloc(fd);
	RO_CALL(EFAULT, IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc,
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING, .dev_id = m.idev, .pt_id = x);
	uint64_t align = 0;
	uint32_t num = 0;
	EXPECT_ERRNO(EMSGSIZE, iova_ranges_e(fd, x, NULL, &num, &align));
	EXPECT_U64(1, align);
	EXPECT_OK(destroy_e(fd, x));

	/* MOCK_DOMAIN: EFAULT, and every step is undone */
	x = ioas_alloc(fd);
	RO_CALL(EFAULT, IOMMU_TEST_CMD, struct iommu_test_cmd, .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = x);
	EXPECT_OK(destroy_e(fd, x));
	/* the ids the failed command took are free again: new objects get x, x+1, x+2, x+3 */
	for (uint32_t i = 0; i < 4; i++)
		EXPECT_U64(x + i, ioas_alloc(fd));

	/* the other responders: EFAULT */
	RO_CALL(EFAULT, IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges, .ioas_id = m.ioas);
	RO_CALL(EFAULT, IOMMU_GET_HW_INFO, struct iommu_hw_info, .dev_id = m.idev);
	RO_CALL(EFAULT, IOMMU_OPTION, struct iommu_option, .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_GET, .object_id = m.ioas);
	RO_CALL(EFAULT, IOMMU_IOAS_MAP, struct iommu_ioas_map,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, .ioas_id = m.ioas,
		.user_va = (uintptr_t)buf2, .length = SZ_1M, .iova = 64 * SZ_1M);
	/* IOAS_MAP keeps its mapping (unverified in uapi.md 3; documented in compat.md) */
	EXPECT_OK(check_map_e(fd, m.hwpt, 64 * SZ_1M, SZ_1M, buf2));

	/* the non-responders write nothing back: they succeed */
	x = ioas_alloc(fd);
	RO_CALL(0, IOMMU_DESTROY, struct iommu_destroy, .id = x);
	EXPECT_ERRNO(ENOENT, destroy_e(fd, x));
	uint32_t h = 0;
	dirty_setup(fd, m.idev, buf, SZ_1M, MOCK_APERTURE_START, NULL, &h, NULL);
	RO_CALL(0, IOMMU_HWPT_SET_DIRTY_TRACKING, struct iommu_hwpt_set_dirty_tracking,
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE, .hwpt_id = h);
	uint8_t *bm = t_mmap(HOST_PAGE, PROT_READ | PROT_WRITE);
	RO_CALL(0, IOMMU_HWPT_GET_DIRTY_BITMAP, struct iommu_hwpt_get_dirty_bitmap, .hwpt_id = h,
		.iova = MOCK_APERTURE_START, .length = SZ_1M, .page_size = MOCK_PAGE,
		.data = (uintptr_t)bm);
	RO_CALL(0, IOMMU_TEST_CMD, struct iommu_test_cmd, .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = SZ_1M, .uptr = (uintptr_t)buf, .refs = 1 });
#undef RO_CALL
}

/* ---- uapi.md 1: contexts, ids, descriptors --------------------------------------------------- */

static void t_contexts_independent(void **state)
{
	(void)state;
	int a = dev_open(), b = dev_open();
	assert_true(a != b);

	/* each context has its own id space, starting at 1 */
	EXPECT_U64(1, ioas_alloc(a));
	EXPECT_U64(2, ioas_alloc(a));
	EXPECT_U64(1, ioas_alloc(b));
	EXPECT_U64(3, ioas_alloc(a));
	EXPECT_ERRNO(ENOENT, destroy_e(b, 3));
	EXPECT_OK(destroy_e(b, 1));
	EXPECT_OK(destroy_e(a, 1)); /* still there in a */
	EXPECT_ERRNO(ENOENT, destroy_e(a, 1));

	/* closing one leaves the other intact */
	dev_close(b);
	EXPECT_OK(destroy_e(a, 2));
	/* a new open is a new, empty context */
	int c = dev_open();
	EXPECT_ERRNO(ENOENT, destroy_e(c, 3));
	EXPECT_U64(1, ioas_alloc(c));
}

/* A new id is the lowest free id >= 1; ids are reused; 0 is never an id (uapi.md 1). */
static void t_ids(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	/* the mock device took ids 2..4: stdev, idev, then the auto HWPT (unverified in
	 * uapi.md 8.3; compat.md "Object ids" documents this order) */
	EXPECT_U64(1, m.ioas);
	EXPECT_U64(2, m.stdev);
	EXPECT_U64(3, m.idev);
	EXPECT_U64(4, m.hwpt);
	uint32_t a = ioas_alloc(fd), b = ioas_alloc(fd), c = ioas_alloc(fd);
	EXPECT_U64(5, a);
	EXPECT_U64(6, b);
	EXPECT_U64(7, c);
	EXPECT_OK(destroy_e(fd, b));
	EXPECT_OK(destroy_e(fd, a));
	EXPECT_U64(5, ioas_alloc(fd));
	EXPECT_U64(6, ioas_alloc(fd));
	EXPECT_U64(8, ioas_alloc(fd));
	EXPECT_ERRNO(ENOENT, destroy_e(fd, 0));
	/* destroying the mock device frees its three ids */
	EXPECT_OK(destroy_e(fd, m.stdev));
	EXPECT_U64(2, ioas_alloc(fd));
	EXPECT_U64(3, ioas_alloc(fd));
	EXPECT_U64(4, ioas_alloc(fd));
	EXPECT_U64(9, ioas_alloc(fd));
}

/* dup, dup2, dup3 and fcntl(F_DUPFD*) alias one context; it lives until its last alias closes */
static void t_dup_aliases(void **state)
{
	(void)state;
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(16 * HOST_PAGE, HOST_PAGE);
	uint32_t ioas = ioas_alloc(fd);
	uint32_t stdev = 0, hwpt = 0;
	EXPECT_OK(mock_domain_e(fd, ioas, 0, &stdev, &hwpt, NULL));
	map_fixed(fd, ioas, buf, 16 * HOST_PAGE, MOCK_APERTURE_START);

	int d1 = dup(fd);
	assert_true(d1 >= 0);
	t_track_fd(d1);
	int d2 = fcntl(fd, F_DUPFD, 100);
	assert_true(d2 >= 100);
	t_track_fd(d2);
	int d3 = fcntl(fd, F_DUPFD_CLOEXEC, 200);
	assert_true(d3 >= 200);
	t_track_fd(d3);
	assert_true(fcntl(d3, F_GETFD) & FD_CLOEXEC);
	int d4 = dup2(fd, 300);
	assert_int_equal(d4, 300);
	t_track_fd(d4);
	int d5 = dup3(fd, 301, O_CLOEXEC);
	assert_int_equal(d5, 301);
	t_track_fd(d5);

	/* every alias sees the same objects */
	int all[] = { fd, d1, d2, d3, d4, d5 };
	for (size_t i = 0; i < 6; i++)
		EXPECT_OK(check_map_e(all[i], hwpt, MOCK_APERTURE_START, 16 * HOST_PAGE, buf));
	uint32_t x = ioas_alloc(d2);
	EXPECT_OK(destroy_e(d4, x));

	/* close the original and most aliases: the context survives */
	dev_close(fd);
	dev_close(d1);
	dev_close(d2);
	dev_close(d3);
	EXPECT_OK(check_refs_e(d5, buf, 16 * HOST_PAGE, 1));
	EXPECT_OK(check_map_e(d4, hwpt, MOCK_APERTURE_START, 16 * HOST_PAGE, buf));
	/* dup2 over an alias: the old descriptor's alias is dropped, the context stays */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], d4), d4);
	close(p[0]);
	close(p[1]);
	EXPECT_ERRNO(ENOTTY, uioctl(d4, IOMMU_DESTROY, &(struct iommu_destroy){ 8, 1 }));
	EXPECT_OK(check_map_e(d5, hwpt, MOCK_APERTURE_START, 16 * HOST_PAGE, buf));
	dev_close(d4);
	/* the last alias closes: the pins are gone */
	dev_close(d5);
	int fresh = dev_open();
	EXPECT_OK(check_refs_e(fresh, buf, 16 * HOST_PAGE, 0));
}

/* O_CLOEXEC is honoured; other paths and descriptors pass through (uapi.md 11.1) */
static void t_open_flags_passthrough(void **state)
{
	(void)state;
	int a = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(a >= 0);
	t_track_fd(a);
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	int b = openat(AT_FDCWD, "/dev/iommu", O_RDWR);
	assert_true(b >= 0);
	t_track_fd(b);
	assert_false(fcntl(b, F_GETFD) & FD_CLOEXEC);
	EXPECT_U64(1, ioas_alloc(a));
	EXPECT_U64(1, ioas_alloc(b));

	/* another path is the real file */
	int n = open("/dev/null", O_RDWR);
	assert_true(n >= 0);
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	EXPECT_ERRNO(ENOTTY, uioctl(n, IOMMU_IOAS_ALLOC, &cmd));
	assert_int_equal(write(n, "x", 1), 1);
	assert_int_equal(close(n), 0);
	/* a closed descriptor is EBADF */
	EXPECT_ERRNO(EBADF, uioctl(n, IOMMU_IOAS_ALLOC, &cmd));
	/* the emulated descriptor is a real descriptor */
	assert_true(fcntl(a, F_GETFL) >= 0);
}

static const struct CMUnitTest dispatch_tests[] = {
	UT(t_cmd_length_zero),
	UT(t_zero_structs),
	UT(t_cmd_length_valid),
	UT(t_size_large_tail),
	UT(t_short_structs),
	UT(t_null_arg),
	UT(t_bad_arg_pointer),
	UT(t_empty_slots),
	UT(t_full_value),
	UT(t_outside_table),
	UT(t_upper_bits),
	UT(t_copyback),
	UT(t_contexts_independent),
	UT(t_ids),
	UT(t_dup_aliases),
	UT(t_open_flags_passthrough),
};
const struct uapi_group uapi_group_dispatch = {
	"dispatch and size rules", dispatch_tests, sizeof(dispatch_tests) / sizeof(dispatch_tests[0])
};

int main(int argc, char **argv)
{
	uapi_argv0 = argv[0];
	if (argc >= 2 && !strcmp(argv[1], "--exec-probe"))
		return uapi_exec_probe(argc, argv);

	int probe = open("/dev/iommu", O_RDWR);
	if (probe < 0) {
		fprintf(stderr, "test_uapi: cannot open /dev/iommu (%s); run it as "
				"`iodirty run -- test_uapi`\n",
			strerror(errno));
		return 1;
	}
	close(probe);

	const struct uapi_group *groups[] = {
		&uapi_group_dispatch, &uapi_group_commands, &uapi_group_selftest,
		&uapi_group_dirty,    &uapi_group_formats,  &uapi_group_process,
	};
	const char *only = argc >= 2 ? argv[1] : NULL; /* optional: run one group by prefix */
	int failed = 0;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (only && strncmp(groups[i]->name, only, strlen(only)))
			continue;
		failed += _cmocka_run_group_tests(groups[i]->name, groups[i]->tests,
						  groups[i]->count, NULL, NULL);
	}
	return failed ? 1 : 0;
}
