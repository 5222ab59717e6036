/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure walk (issue 7; built with -Dalloc_fail_injection=true).
 * For each operation, N runs over 1, 2, ...: on a fresh fixture the Nth
 * allocation is made to fail and the operation runs.  Once it makes fewer
 * than N allocations nothing failed and the walk ends.  Before that it must
 * fail with ENOMEM and leave the fixture exactly as it was (checked through
 * what the ABI or the core API shows), then succeed unarmed and hand out the
 * same ids and IOVA as the reference run.  LeakSanitizer checks that the
 * failures free what they allocated.  The count of allocations each
 * operation reached is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <iodirty/core.h>
#include <iodirty/dev_iommu.h>
#include <iodirty/pt.h>

#define IODIRTY_NO_SYSTEM_IOMMUFD
#include <iodirty/iommufd.h>

#include "common/alloc.h"

#define PAGE 4096ul
#define SZ_1M (1ul << 20)
#define SZ_2M (2ul << 20)
#define SZ_1G (1ul << 30)

/* The fixture's first area, inside the mock aperture. */
#define AREA0_IOVA MOCK_APERTURE_START
#define AREA0_LEN SZ_1M

/* Caller memory: IOAS_MAP only checks it is mapped, DMA touches a few pages. */
#define ARENA_LEN (SZ_1G + 8 * SZ_2M)
static uint8_t *arena; /* 2 MiB aligned */
static uint8_t scratch[8 * PAGE] __attribute__((aligned(PAGE)));

/* ---- ABI helpers: 0 or the errno ---------------------------------------------------------- */

static int ioc(int fd, unsigned long request, void *arg)
{
	return iodirty_ioctl(fd, request, arg) ? errno : 0;
}

static int ioas_alloc_e(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = ioc(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return ret;
}

static int map_e(int fd, uint32_t ioas, uint64_t iova, const void *va, uint64_t length)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)va, .length = length,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};

	return ioc(fd, IOMMU_IOAS_MAP, &cmd);
}

static int unmap_e(int fd, uint32_t ioas, uint64_t iova, uint64_t length, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = length };
	int ret = ioc(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (unmapped)
		*unmapped = cmd.length;
	return ret;
}

static int huge_pages_off_e(int fd, uint32_t ioas)
{
	struct iommu_option cmd = { .size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
				    .op = IOMMU_OPTION_OP_SET, .object_id = ioas, .val64 = 0 };

	return ioc(fd, IOMMU_OPTION, &cmd);
}

static int iova_ranges_e(int fd, uint32_t ioas, struct iommu_iova_range *range, uint64_t *align)
{
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = ioas,
					      .num_iovas = 1,
					      .allowed_iovas = (uintptr_t)range };
	int ret = ioc(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	*align = cmd.out_iova_alignment;
	return ret;
}

static int hwpt_alloc_e(int fd, uint32_t flags, uint32_t idev, uint32_t pt, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .flags = flags, .dev_id = idev,
					.pt_id = pt };
	int ret = ioc(fd, IOMMU_HWPT_ALLOC, &cmd);

	*out = cmd.out_hwpt_id;
	return ret;
}

static int set_dirty_e(int fd, uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return ioc(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int get_dirty_e(int fd, uint32_t hwpt, uint32_t flags, uint64_t iova, uint64_t length,
		       void *bitmap)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags, .iova = iova,
		.length = length, .page_size = PAGE, .data = (uintptr_t)bitmap,
	};

	return ioc(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* MOCK_DOMAIN (format < 0) or DEVICE_NEW of format, attached to pt; ids[] = stdev, hwpt, idev */
static int device_e(int fd, int format, uint32_t pt, uint32_t ids[3])
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .id = pt };
	int ret;

	if (format < 0) {
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN;
	} else {
		cmd.op = IODIRTY_TEST_OP_DEVICE_NEW;
		cmd.device_new.format = (uint32_t)format;
	}
	ret = ioc(fd, IOMMU_TEST_CMD, &cmd);
	ids[0] = cmd.mock_domain.out_stdev_id;
	ids[1] = cmd.mock_domain.out_hwpt_id;
	ids[2] = cmd.mock_domain.out_idev_id;
	return ret;
}

static int check_map_e(int fd, uint32_t hwpt, uint64_t iova, uint64_t length, const void *va)
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
					.id = hwpt };

	cmd.check_map.iova = iova;
	cmd.check_map.length = length;
	cmd.check_map.uptr = (uintptr_t)va;
	return ioc(fd, IOMMU_TEST_CMD, &cmd);
}

/* Marks the mock pages (IODIRTY_MOCK_IO_PAGE_SIZE) whose bits are set. */
static int test_dirty_e(int fd, uint32_t hwpt, uint64_t iova, uint64_t length, const void *bits)
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY,
					.id = hwpt };

	cmd.dirty.iova = iova;
	cmd.dirty.length = length;
	/* Q12: the mock entry is iova / page_size, in mock pages */
	cmd.dirty.page_size = IODIRTY_MOCK_IO_PAGE_SIZE;
	cmd.dirty.uptr = (uintptr_t)bits;
	return ioc(fd, IOMMU_TEST_CMD, &cmd);
}

/* A DMA write of length bytes from src; *done gets what moved. */
static int dma_write_e(int fd, uint32_t stdev, uint64_t iova, uint64_t length, const void *src,
		       uint64_t *done)
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IODIRTY_TEST_OP_DMA,
					.id = stdev };
	int ret;

	cmd.dma.flags = IODIRTY_TEST_DMA_WRITE;
	cmd.dma.iova = iova;
	cmd.dma.length = length;
	cmd.dma.uptr = (uintptr_t)src;
	ret = ioc(fd, IOMMU_TEST_CMD, &cmd);
	*done = cmd.dma.done;
	return ret;
}

/* The device reaches [iova, iova + length) for writes. */
static void expect_dma(int fd, uint32_t stdev, uint64_t iova, uint64_t length)
{
	uint64_t done = 0;

	assert_int_equal(dma_write_e(fd, stdev, iova, length, scratch, &done), 0);
	assert_int_equal(done, length);
}

/* The device reaches the first and the last page of AREA0. */
static void expect_dma_area0(int fd, uint32_t stdev)
{
	expect_dma(fd, stdev, AREA0_IOVA, PAGE);
	expect_dma(fd, stdev, AREA0_IOVA + AREA0_LEN - PAGE, PAGE);
}

/* The device faults on its first write to iova. */
static void expect_no_dma(int fd, uint32_t stdev, uint64_t iova)
{
	uint64_t done = 1;

	assert_int_equal(dma_write_e(fd, stdev, iova, PAGE, scratch, &done), EIO);
	assert_int_equal(done, 0);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

struct walk_case;

struct fx {
	const struct walk_case *c;
	int fd;
	uint32_t ioas;
	uint32_t dev[3];       /* first device: stdev, its HWPT, idev */
	uint32_t dev2[3];      /* a second device, where the case has one */
	uint32_t dirty_hwpt;   /* an HWPT with dirty tracking, where the case has one */
	bool area0;            /* AREA0 is mapped in the IOAS */
	struct iommu_iova_range range; /* the IOAS's allowed range after setup */
	uint64_t align;
	uint32_t out[3];       /* what the operation handed out */
	uint32_t want[3];      /* what it hands out on a fresh fixture */
	/* core API cases */
	struct idt_core_iommu *core;
	struct idt_device *core_dev;
	struct idt_domain *domain;
	struct idt_pt *pt;
};

/*
 * One operation.  The setup builds the fixture unarmed; run returns 0 or an
 * errno; check_unchanged asserts the fixture is as the setup left it;
 * check_done asserts the operation's effect.
 */
struct walk_case {
	const char *name;
	void (*setup)(struct fx *f);
	int (*run)(struct fx *f);
	void (*check_unchanged)(struct fx *f);
	void (*check_done)(struct fx *f);
	/* the operation's own parameters */
	int format;      /* device format, -1: the mock */
	uint64_t iova;
	uint64_t length;
	uint64_t va_offset;
	uint32_t flags;
	/* Unmap: a free list that cannot grow keeps an emptied table linked,
	 * and the unmap still succeeds. */
	bool failure_absorbed;
};

static void fx_open(struct fx *f)
{
	f->fd = iodirty_open(O_CLOEXEC);
	assert_true(f->fd >= 0);
}

/* An IOAS with AREA0 mapped and the case's device attached to it. */
static void fx_ioas_device(struct fx *f)
{
	fx_open(f);
	assert_int_equal(ioas_alloc_e(f->fd, &f->ioas), 0);
	assert_int_equal(map_e(f->fd, f->ioas, AREA0_IOVA, arena, AREA0_LEN), 0);
	f->area0 = true;
	assert_int_equal(device_e(f->fd, f->c->format, f->ioas, f->dev), 0);
}

/* As fx_ioas_device, plus a second device of another format (its own HWPT). */
static void fx_two_domains(struct fx *f)
{
	fx_ioas_device(f);
	assert_int_equal(device_e(f->fd, IODIRTY_TEST_FORMAT_VTDSS, f->ioas, f->dev2), 0);
}

/* A dirty-tracking HWPT of the case's format with two devices on it. */
static void fx_dirty(struct fx *f)
{
	uint32_t unused[3];

	fx_ioas_device(f);
	assert_int_equal(hwpt_alloc_e(f->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, f->dev[2], f->ioas,
				      &f->dirty_hwpt),
			 0);
	assert_int_equal(device_e(f->fd, f->c->format, f->dirty_hwpt, f->dev2), 0);
	assert_int_equal(device_e(f->fd, f->c->format, f->dirty_hwpt, unused), 0);
}

static void fx_dirty_enabled(struct fx *f)
{
	fx_dirty(f);
	assert_int_equal(set_dirty_e(f->fd, f->dirty_hwpt, true), 0);
}

/* A dirty-tracking HWPT with the first and third page of AREA0 written. */
static void fx_dirty_written(struct fx *f)
{
	fx_dirty_enabled(f);
	expect_dma(f->fd, f->dev2[0], AREA0_IOVA, PAGE);
	expect_dma(f->fd, f->dev2[0], AREA0_IOVA + 2 * PAGE, PAGE);
}

/* An IOAS with the case's area mapped into a device of the case's format. */
static void fx_area(struct fx *f)
{
	fx_open(f);
	assert_int_equal(ioas_alloc_e(f->fd, &f->ioas), 0);
	assert_int_equal(device_e(f->fd, f->c->format, f->ioas, f->dev), 0);
	assert_int_equal(map_e(f->fd, f->ioas, f->c->iova, arena + f->c->va_offset, f->c->length),
			 0);
}

#define CORE_AREAS 16 /* the core's first area-list capacity */

/* fx_area's area and more after it, 1 MiB apart: the domain's area list
 * is full, as when a split would need room */
static void fx_areas_full(struct fx *f)
{
	fx_area(f);
	for (uint64_t i = 1; i < CORE_AREAS; i++)
		assert_int_equal(map_e(f->fd, f->ioas, f->c->iova + i * SZ_1M,
				       arena + f->c->va_offset, f->c->length),
				 0);
}

static void fx_close(struct fx *f)
{
	if (f->fd > 0)
		assert_int_equal(iodirty_close(f->fd), 0);
}

/* What every ABI fixture must still show: its IOAS's allowed range and the
 * device's mapping of AREA0. */
static void fx_check_base(struct fx *f)
{
	struct iommu_iova_range range;
	uint64_t align;

	if (!f->ioas)
		return;
	assert_int_equal(iova_ranges_e(f->fd, f->ioas, &range, &align), 0);
	assert_int_equal(range.start, f->range.start);
	assert_int_equal(range.last, f->range.last);
	assert_int_equal(align, f->align);
	if (f->dev[0] && f->area0)
		expect_dma_area0(f->fd, f->dev[0]);
}

/* ---- the walk -------------------------------------------------------------------------------- */

static void fx_setup(const struct walk_case *c, struct fx *f, const uint32_t want[3])
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	memcpy(f->want, want, sizeof(f->want));
	c->setup(f);
	if (f->ioas)
		assert_int_equal(iova_ranges_e(f->fd, f->ioas, &f->range, &f->align), 0);
}

static void fx_teardown(struct fx *f)
{
	fx_close(f);
	if (f->domain) {
		if (f->core_dev)
			assert_int_equal(idt_domain_detach(f->domain, f->core_dev), 0);
		assert_int_equal(idt_domain_free(f->domain), 0);
	}
	if (f->core_dev)
		assert_int_equal(idt_device_destroy(f->core_dev), 0);
	if (f->core)
		assert_int_equal(idt_core_iommu_destroy(f->core), 0);
	idt_pt_destroy(f->pt);
}

/* Walks the case; returns the allocations the operation makes. */
static uint64_t walk(const struct walk_case *c)
{
	uint32_t want[3] = { 0 };
	uint64_t total;
	struct fx f;

	/* the reference run */
	fx_setup(c, &f, want);
	mem_fail_nth(0);
	assert_int_equal(c->run(&f), 0);
	total = mem_alloc_count();
	memcpy(want, f.out, sizeof(want));
	c->check_done(&f);
	fx_teardown(&f);

	for (uint64_t n = 1;; n++) {
		uint64_t reached;
		int ret;

		fx_setup(c, &f, want);
		mem_fail_nth(n);
		ret = c->run(&f);
		reached = mem_alloc_count();
		mem_fail_nth(0);
		if (reached < n) {
			/* nothing failed: the walk is over */
			assert_int_equal(ret, 0);
			assert_int_equal(reached, total);
			assert_memory_equal(f.out, want, sizeof(want));
			c->check_done(&f);
			fx_teardown(&f);
			break;
		}
		if (ret == 0) {
			if (!c->failure_absorbed)
				fail_msg("%s: allocation %llu failed, the operation succeeded", c->name,
					 (unsigned long long)n);
		} else {
			/* ENOMEM is the documented errno of every walked operation */
			if (ret != ENOMEM)
				fail_msg("%s: allocation %llu failed: %s, not ENOMEM", c->name,
					 (unsigned long long)n, strerror(ret));
			c->check_unchanged(&f);
			fx_check_base(&f);
			memset(f.out, 0, sizeof(f.out));
			assert_int_equal(c->run(&f), 0);
		}
		assert_memory_equal(f.out, want, sizeof(want));
		c->check_done(&f);
		fx_teardown(&f);
	}
	printf("    %-40s %3llu allocations walked\n", c->name, (unsigned long long)total);
	return total;
}

/* No descriptor stays open: the lowest free number is the one before. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* ---- IOAS_ALLOC ------------------------------------------------------------------------------ */

static int ioas_alloc_run(struct fx *f)
{
	return ioas_alloc_e(f->fd, &f->out[0]);
}

/* The ids a failed creation would have handed out name nothing. */
static void expect_no_object(struct fx *f, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	assert_int_equal(ioc(f->fd, IOMMU_DESTROY, &cmd), ENOENT);
}

static void ioas_alloc_unchanged(struct fx *f)
{
	expect_no_object(f, f->want[0]);
}

static void ioas_alloc_done(struct fx *f)
{
	struct iommu_iova_range range;
	uint64_t align;

	assert_int_equal(iova_ranges_e(f->fd, f->out[0], &range, &align), 0);
}

/* ---- IOAS_MAP -------------------------------------------------------------------------------- */

static int map_run(struct fx *f)
{
	const struct walk_case *c = f->c;

	return map_e(f->fd, f->ioas, c->iova, arena + c->va_offset, c->length);
}

static void map_unchanged(struct fx *f)
{
	const struct walk_case *c = f->c;

	/* no area, and no domain reaches the range */
	assert_int_equal(unmap_e(f->fd, f->ioas, c->iova, c->length, NULL), ENOENT);
	expect_no_dma(f->fd, f->dev[0], c->iova);
	if (f->dev2[0])
		expect_no_dma(f->fd, f->dev2[0], c->iova);
}

static void map_done(struct fx *f)
{
	const struct walk_case *c = f->c;
	uint64_t last_page = c->iova + c->length - PAGE;

	if (c->format < 0)
		assert_int_equal(check_map_e(f->fd, f->dev[1], c->iova, c->length,
					     arena + c->va_offset),
				 0);
	expect_dma(f->fd, f->dev[0], c->iova, PAGE);
	expect_dma(f->fd, f->dev[0], last_page, PAGE);
	if (f->dev2[0])
		expect_dma(f->fd, f->dev2[0], last_page, PAGE);
}

/* HUGE_PAGES 0: one table map per smallest page, undone page by page */
static void fx_two_domains_small(struct fx *f)
{
	fx_open(f);
	assert_int_equal(ioas_alloc_e(f->fd, &f->ioas), 0);
	assert_int_equal(huge_pages_off_e(f->fd, f->ioas), 0);
	assert_int_equal(map_e(f->fd, f->ioas, AREA0_IOVA, arena, AREA0_LEN), 0);
	f->area0 = true;
	assert_int_equal(device_e(f->fd, f->c->format, f->ioas, f->dev), 0);
	assert_int_equal(device_e(f->fd, IODIRTY_TEST_FORMAT_VTDSS, f->ioas, f->dev2), 0);
}

/* ---- HWPT_ALLOC ------------------------------------------------------------------------------ */

static int hwpt_alloc_run(struct fx *f)
{
	return hwpt_alloc_e(f->fd, f->c->flags, f->dev[2], f->ioas, &f->out[0]);
}

static void hwpt_alloc_unchanged(struct fx *f)
{
	expect_no_object(f, f->want[0]);
	if (f->c->format < 0)
		assert_int_equal(check_map_e(f->fd, f->dev[1], AREA0_IOVA, AREA0_LEN, arena), 0);
}

static void hwpt_alloc_done(struct fx *f)
{
	uint32_t ids[3];

	assert_int_equal(device_e(f->fd, f->c->format, f->out[0], ids), 0);
	assert_int_equal(ids[1], f->out[0]);
	expect_dma_area0(f->fd, ids[0]);
	if (f->c->format < 0)
		assert_int_equal(check_map_e(f->fd, f->out[0], AREA0_IOVA, AREA0_LEN, arena), 0);
}

/* ---- device creation ------------------------------------------------------------------------- */

/* An IOAS with AREA0 mapped and no device. */
static void fx_ioas(struct fx *f)
{
	fx_open(f);
	assert_int_equal(ioas_alloc_e(f->fd, &f->ioas), 0);
	assert_int_equal(map_e(f->fd, f->ioas, AREA0_IOVA, arena, AREA0_LEN), 0);
	f->area0 = true;
}

static int device_ioas_run(struct fx *f)
{
	return device_e(f->fd, f->c->format, f->ioas, f->out);
}

/* onto the dirty HWPT of fx_dirty */
static int device_hwpt_run(struct fx *f)
{
	return device_e(f->fd, f->c->format, f->dirty_hwpt, f->out);
}

static void device_unchanged(struct fx *f)
{
	expect_no_object(f, f->want[0]);
	expect_no_object(f, f->want[2]);
	/* the HWPT is new unless the device joins one of the fixture's */
	if (f->want[1] != f->dev[1] && f->want[1] != f->dirty_hwpt)
		expect_no_object(f, f->want[1]);
}

static void device_done(struct fx *f)
{
	expect_dma_area0(f->fd, f->out[0]);
}

/* ---- SET_DIRTY_TRACKING ------------------------------------------------------------------------ */

static int enable_run(struct fx *f)
{
	return set_dirty_e(f->fd, f->dirty_hwpt, true);
}

static int disable_run(struct fx *f)
{
	return set_dirty_e(f->fd, f->dirty_hwpt, false);
}

/* Writes the second page of AREA0 through each device on the dirty HWPT and
 * returns the first bitmap byte read back without clearing. */
static uint8_t dirty_probe(struct fx *f)
{
	uint8_t bitmap[AREA0_LEN / PAGE / 8];

	memset(bitmap, 0, sizeof(bitmap));
	expect_dma(f->fd, f->dev2[0], AREA0_IOVA + PAGE, PAGE);
	assert_int_equal(get_dirty_e(f->fd, f->dirty_hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
				     AREA0_IOVA, AREA0_LEN, bitmap),
			 0);
	for (size_t i = 1; i < sizeof(bitmap); i++)
		assert_int_equal(bitmap[i], 0);
	return bitmap[0];
}

static void tracking_off(struct fx *f)
{
	assert_int_equal(dirty_probe(f), 0);
}

static void tracking_on(struct fx *f)
{
	assert_int_equal(dirty_probe(f), 1u << 1);
}

/* ---- GET_DIRTY_BITMAP, the mock's DIRTY op, DMA ---------------------------------------------- */

static uint8_t harvest_bitmap[SZ_1G / PAGE / 8];

static int harvest_run(struct fx *f)
{
	memset(harvest_bitmap, 0, sizeof(harvest_bitmap));
	return get_dirty_e(f->fd, f->dirty_hwpt, f->c->flags, AREA0_IOVA, f->c->length,
			   harvest_bitmap);
}

/* For operations that allocate nothing, or absorb a failed allocation. */
static void never_fails(struct fx *f)
{
	fail_msg("%s failed for want of memory", f->c->name);
}

/* pages 0 and 2 were written by fx_dirty_written */
static void harvest_done(struct fx *f)
{
	uint8_t again[AREA0_LEN / PAGE / 8] = { 0 };

	assert_int_equal(harvest_bitmap[0], 0x5);
	for (size_t i = 1; i < f->c->length / PAGE / 8; i++)
		assert_int_equal(harvest_bitmap[i], 0);
	assert_int_equal(get_dirty_e(f->fd, f->dirty_hwpt, 0, AREA0_IOVA, AREA0_LEN, again), 0);
	assert_int_equal(again[0], f->c->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR ? 0x5 : 0);
}

/* mock pages 4 and 7: host pages 2 and 3 */
static const uint8_t mock_dirty_bits[AREA0_LEN / IODIRTY_MOCK_IO_PAGE_SIZE / 8] = { 0x90 };

static int mock_dirty_run(struct fx *f)
{
	return test_dirty_e(f->fd, f->dirty_hwpt, AREA0_IOVA, AREA0_LEN, mock_dirty_bits);
}

/* Reads and clears; returns the first byte and asserts the rest are clear. */
static uint8_t dirty_read_clear(struct fx *f)
{
	uint8_t bitmap[AREA0_LEN / PAGE / 8] = { 0 };

	assert_int_equal(get_dirty_e(f->fd, f->dirty_hwpt, 0, AREA0_IOVA, AREA0_LEN, bitmap), 0);
	for (size_t i = 1; i < sizeof(bitmap); i++)
		assert_int_equal(bitmap[i], 0);
	return bitmap[0];
}

static void mock_dirty_unchanged(struct fx *f)
{
	assert_int_equal(dirty_read_clear(f), 0);
}

static void mock_dirty_done(struct fx *f)
{
	assert_int_equal(dirty_read_clear(f), 0x0c);
}

static int dma_run(struct fx *f)
{
	uint64_t done;

	return dma_write_e(f->fd, f->dev[0], AREA0_IOVA + 4 * PAGE, 2 * PAGE, scratch, &done);
}

/* the DMA target, pages 4 and 5 of the arena, before and after */
static void dma_target_zero(struct fx *f)
{
	(void)f;
	for (size_t i = 0; i < 2 * PAGE; i++)
		assert_int_equal(arena[4 * PAGE + i], 0);
}

static void dma_target_written(struct fx *f)
{
	(void)f;
	assert_memory_equal(arena + 4 * PAGE, scratch, 2 * PAGE);
	memset(arena + 4 * PAGE, 0, 2 * PAGE);
}

/* ---- IOAS_UNMAP ------------------------------------------------------------------------------ */

static int unmap_run(struct fx *f)
{
	uint64_t unmapped = 0;
	int ret = unmap_e(f->fd, f->ioas, f->c->iova, f->c->length, &unmapped);

	if (!ret)
		assert_int_equal(unmapped, f->c->length);
	return ret;
}

static void unmap_done(struct fx *f)
{
	const struct walk_case *c = f->c;

	expect_no_dma(f->fd, f->dev[0], c->iova);
	expect_no_dma(f->fd, f->dev[0], c->iova + c->length - PAGE);
	/* the emptied tables, listed or kept, take the same mapping again */
	assert_int_equal(map_e(f->fd, f->ioas, c->iova, arena + c->va_offset, c->length), 0);
	expect_dma(f->fd, f->dev[0], c->iova + c->length - PAGE, PAGE);
}

/* ---- the core API ---------------------------------------------------------------------------- */

/* A VT-d instance with a device attached to a dirty-tracking domain. */
static void fx_core(struct fx *f)
{
	struct idt_iommu_config iommu_config = {
		.size = sizeof(iommu_config), .format = IDT_PT_VTDSS,
		.cap = IDT_VTD_ECAP_SMTS | IDT_VTD_ECAP_SSADS,
	};
	struct idt_domain_config domain_config = { .size = sizeof(domain_config),
						   .flags = IDT_DOMAIN_DIRTY_TRACKING };

	assert_int_equal(idt_core_iommu_create(&iommu_config, &f->core), 0);
	assert_int_equal(idt_device_create(f->core, 1, &f->core_dev), 0);
	assert_int_equal(idt_domain_alloc(f->core_dev, &domain_config, &f->domain), 0);
	assert_int_equal(idt_domain_attach(f->domain, f->core_dev), 0);
}

static uint32_t core_areas(struct fx *f)
{
	struct idt_domain_info info;

	assert_int_equal(idt_domain_get_info(f->domain, &info), 0);
	return info.areas;
}

static int core_map_run(struct fx *f)
{
	return -idt_domain_map(f->domain, f->c->iova, f->c->iova, f->c->length,
			       IDT_PROT_READ | IDT_PROT_WRITE);
}

static void core_map_unchanged(struct fx *f)
{
	uint64_t oa;

	assert_int_equal(core_areas(f), 0);
	assert_int_equal(idt_pt_iova_to_phys(idt_domain_pt(f->domain), f->c->iova, &oa), -ENOENT);
}

static void core_map_done(struct fx *f)
{
	uint64_t oa;

	assert_int_equal(core_areas(f), 1);
	assert_int_equal(idt_pt_iova_to_phys(idt_domain_pt(f->domain), f->c->iova, &oa), 0);
	assert_int_equal(oa, f->c->iova);
}

/* CORE_AREAS areas of 3 pages: the list is full, a split needs room */
static void fx_core_full(struct fx *f)
{
	fx_core(f);
	for (uint64_t i = 0; i < CORE_AREAS; i++)
		assert_int_equal(idt_domain_map(f->domain, i * SZ_1M, 0, 3 * PAGE, IDT_PROT_READ), 0);
}

/* the middle page of area 5 */
static int core_split_area_run(struct fx *f)
{
	return -idt_domain_unmap(f->domain, 5 * SZ_1M + PAGE, PAGE, NULL);
}

static void core_split_area_unchanged(struct fx *f)
{
	uint64_t oa;

	assert_int_equal(core_areas(f), CORE_AREAS);
	assert_int_equal(idt_pt_iova_to_phys(idt_domain_pt(f->domain), 5 * SZ_1M + PAGE, &oa), 0);
}

static void core_split_area_done(struct fx *f)
{
	uint64_t oa;

	assert_int_equal(core_areas(f), CORE_AREAS + 1);
	assert_int_equal(idt_pt_iova_to_phys(idt_domain_pt(f->domain), 5 * SZ_1M + PAGE, &oa),
			 -ENOENT);
}

/* 1 GiB of 2 MiB leaves, every 64th 4 KiB page dirty, tracking enabled */
static void fx_core_dirty(struct fx *f)
{
	uint64_t marked;

	fx_core(f);
	assert_int_equal(idt_domain_map(f->domain, SZ_1G, SZ_1G, SZ_1G,
					IDT_PROT_READ | IDT_PROT_WRITE),
			 0);
	assert_int_equal(idt_domain_set_dirty_tracking(f->domain, true), 0);
	assert_int_equal(idt_domain_set_rcd(f->domain, IDT_RCD_IODIRTY, 4), 0);
	assert_int_equal(idt_pt_make_dirty_range(idt_domain_pt(f->domain), SZ_1G, SZ_1G,
						 64 * PAGE, &marked),
			 0);
	assert_true(marked > 0);
}

static int core_harvest_run(struct fx *f)
{
	struct idt_bitmap bitmap;

	memset(harvest_bitmap, 0, sizeof(harvest_bitmap));
	/* 4 KiB bits: a 2 MiB alignment, so each thread gets 256 MiB */
	assert_int_equal(idt_bitmap_init(&bitmap, SZ_1G, SZ_1G, PAGE, harvest_bitmap), 0);
	return -idt_domain_harvest(f->domain, SZ_1G, SZ_1G, 0, &bitmap);
}

static void core_harvest_done(struct fx *f)
{
	(void)f;
	/* a dirty 4 KiB page in every 2 MiB leaf: every bit */
	for (size_t i = 0; i < sizeof(harvest_bitmap); i++)
		assert_int_equal(harvest_bitmap[i], 0xff);
}

/* A VT-d table with one dirty 2 MiB leaf. */
static void fx_pt_huge(struct fx *f)
{
	struct idt_pt_config config = { .size = sizeof(config), .format = IDT_PT_VTDSS };

	assert_int_equal(idt_pt_create(&config, &f->pt), 0);
	assert_int_equal(idt_pt_map(f->pt, SZ_1G, SZ_1G, SZ_2M, IDT_PROT_READ | IDT_PROT_WRITE), 0);
	assert_int_equal(idt_pt_make_dirty(f->pt, SZ_1G), 0);
}

static int pt_split_run(struct fx *f)
{
	return -idt_pt_split(f->pt, SZ_1G + PAGE);
}

static void expect_leaf(struct fx *f, unsigned int size_lg2)
{
	struct idt_pt_leaf leaf;

	assert_int_equal(idt_pt_lookup(f->pt, SZ_1G + PAGE, &leaf), 0);
	assert_int_equal(leaf.size_lg2, size_lg2);
	assert_true(leaf.dirty);
}

static void pt_split_unchanged(struct fx *f)
{
	expect_leaf(f, 21);
}

static void pt_split_done(struct fx *f)
{
	expect_leaf(f, 12);
}

/* ---- DESTROY of a device ----------------------------------------------------------------------- */

static int destroy_device_run(struct fx *f)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = f->dev2[0] };

	return ioc(f->fd, IOMMU_DESTROY, &cmd);
}

/* The device is gone from its HWPT too: enabling tracking walks the HWPT's
 * devices (a stale one would be used after free), and the HWPT stays busy
 * only for the device fx_dirty left on it. */
static void destroy_device_done(struct fx *f)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = f->dirty_hwpt };

	expect_no_object(f, f->dev2[0]);
	expect_no_object(f, f->dev2[2]);
	assert_int_equal(set_dirty_e(f->fd, f->dirty_hwpt, true), 0);
	assert_int_equal(ioc(f->fd, IOMMU_DESTROY, &cmd), EBUSY);
}

/* ---- the cases ------------------------------------------------------------------------------- */

static const struct walk_case abi_cases[] = {
	{ .name = "IOAS_ALLOC", .setup = fx_open, .run = ioas_alloc_run,
	  .check_unchanged = ioas_alloc_unchanged, .check_done = ioas_alloc_done },
	/* the mock and VT-d domains: a failure in the second undoes the first */
	{ "IOAS_MAP 4 KiB, new tables", fx_two_domains, map_run, map_unchanged, map_done,
	  .format = -1, .iova = SZ_1G, .length = PAGE },
	{ "IOAS_MAP 2 MiB leaf", fx_two_domains, map_run, map_unchanged, map_done,
	  .format = -1, .iova = 64 * SZ_1M, .length = SZ_2M, .va_offset = SZ_2M },
	{ "IOAS_MAP 8 MiB + 4 KiB of 4 KiB leaves", fx_two_domains, map_run, map_unchanged,
	  map_done, .format = -1, .iova = 128 * SZ_1M, .length = 8 * SZ_1M + PAGE,
	  .va_offset = PAGE },
	{ "IOAS_MAP 64 KiB, huge pages off", fx_two_domains_small, map_run, map_unchanged,
	  map_done, .format = -1, .iova = 32 * SZ_1M, .length = 64 * 1024 },
	/* AMD v1 grows its top level for an IOVA above 2^39 */
	{ "IOAS_MAP AMD v1, top level grows", fx_ioas_device, map_run, map_unchanged, map_done,
	  .format = IODIRTY_TEST_FORMAT_AMDV1, .iova = 1ull << 45, .length = SZ_2M + PAGE },
	{ "HWPT_ALLOC mock", fx_ioas_device, hwpt_alloc_run, hwpt_alloc_unchanged,
	  hwpt_alloc_done, .format = -1 },
	{ "HWPT_ALLOC mock, DIRTY_TRACKING", fx_ioas_device, hwpt_alloc_run, hwpt_alloc_unchanged,
	  hwpt_alloc_done, .format = -1, .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING },
	{ "HWPT_ALLOC VT-d, DIRTY_TRACKING", fx_ioas_device, hwpt_alloc_run,
	  hwpt_alloc_unchanged, hwpt_alloc_done, .format = IODIRTY_TEST_FORMAT_VTDSS,
	  .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING },
	{ "MOCK_DOMAIN, first device", fx_ioas, device_ioas_run, device_unchanged, device_done,
	  .format = -1 },
	{ "MOCK_DOMAIN, joins the auto HWPT", fx_ioas_device, device_ioas_run, device_unchanged,
	  device_done, .format = -1 },
	{ "MOCK_DOMAIN onto an HWPT", fx_dirty, device_hwpt_run, device_unchanged, device_done,
	  .format = -1 },
	{ "DEVICE_NEW mock", fx_ioas, device_ioas_run, device_unchanged, device_done,
	  .format = IODIRTY_TEST_FORMAT_MOCK },
	{ "DEVICE_NEW AMD v1", fx_ioas, device_ioas_run, device_unchanged, device_done,
	  .format = IODIRTY_TEST_FORMAT_AMDV1 },
	{ "DEVICE_NEW VT-d", fx_ioas, device_ioas_run, device_unchanged, device_done,
	  .format = IODIRTY_TEST_FORMAT_VTDSS },
	{ "DEVICE_NEW ARM", fx_ioas, device_ioas_run, device_unchanged, device_done,
	  .format = IODIRTY_TEST_FORMAT_ARM_LPAE_S1 },
	{ "DEVICE_NEW RISC-V", fx_ioas, device_ioas_run, device_unchanged, device_done,
	  .format = IODIRTY_TEST_FORMAT_RISCV },
	{ "DEVICE_NEW VT-d, second on its IOMMU", fx_ioas_device, device_ioas_run,
	  device_unchanged, device_done, .format = IODIRTY_TEST_FORMAT_VTDSS },
	/* two devices: a failure on the second restores the first's gate */
	{ "SET_DIRTY_TRACKING enable, mock", fx_dirty, enable_run, tracking_off, tracking_on,
	  .format = -1 },
	{ "SET_DIRTY_TRACKING enable, VT-d", fx_dirty, enable_run, tracking_off, tracking_on,
	  .format = IODIRTY_TEST_FORMAT_VTDSS },
	{ "SET_DIRTY_TRACKING disable, VT-d", fx_dirty_enabled, disable_run, tracking_on,
	  tracking_off, .format = IODIRTY_TEST_FORMAT_VTDSS },
	{ "GET_DIRTY_BITMAP", fx_dirty_written, harvest_run, never_fails, harvest_done,
	  .format = -1, .length = AREA0_LEN },
	{ "GET_DIRTY_BITMAP NO_CLEAR, 1 GiB", fx_dirty_written, harvest_run, never_fails,
	  harvest_done, .format = IODIRTY_TEST_FORMAT_VTDSS, .length = SZ_1G,
	  .flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR },
	{ "IOMMU_TEST_OP_DIRTY", fx_dirty_enabled, mock_dirty_run, mock_dirty_unchanged,
	  mock_dirty_done, .format = -1 },
	{ "IODIRTY_TEST_OP_DMA", fx_ioas_device, dma_run, dma_target_zero, dma_target_written,
	  .format = -1 },
	/* detaching copies the context cache; a destroy cannot fail */
	{ "IOMMU_DESTROY of a device, VT-d", fx_dirty, destroy_device_run, never_fails,
	  destroy_device_done, .format = IODIRTY_TEST_FORMAT_VTDSS, .failure_absorbed = true },
	{ "IOMMU_DESTROY of a device, mock", fx_dirty, destroy_device_run, never_fails,
	  destroy_device_done, .format = -1, .failure_absorbed = true },
	/* the free list grows at 0, 16, 32 ... emptied leaf tables */
	{ "IOAS_UNMAP 40 MiB of 4 KiB leaves", fx_area, unmap_run, never_fails, unmap_done,
	  .format = IODIRTY_TEST_FORMAT_VTDSS, .iova = 64 * SZ_1M, .length = 40 * SZ_1M,
	  .va_offset = PAGE, .failure_absorbed = true },
	/* a whole area never needs room in the domain's area list */
	{ "IOAS_UNMAP, the domain's area list full", fx_areas_full, unmap_run, never_fails,
	  unmap_done, .format = IODIRTY_TEST_FORMAT_VTDSS, .iova = 64 * SZ_1M, .length = PAGE,
	  .failure_absorbed = true },
	/* a whole 1 GiB table over leaf tables that could not be listed */
	{ "IOAS_UNMAP 1 GiB of 4 KiB leaves", fx_area, unmap_run, never_fails, unmap_done,
	  .format = IODIRTY_TEST_FORMAT_VTDSS, .iova = SZ_1G, .length = SZ_1G,
	  .va_offset = PAGE, .failure_absorbed = true },
};

static const struct walk_case core_cases[] = {
	{ "idt_domain_map 4 KiB, new tables", fx_core, core_map_run, core_map_unchanged,
	  core_map_done, .iova = 1ull << 40, .length = PAGE },
	{ .name = "idt_domain_unmap splitting an area", .setup = fx_core_full,
	  .run = core_split_area_run, .check_unchanged = core_split_area_unchanged,
	  .check_done = core_split_area_done },
	{ .name = "idt_domain_harvest 1 GiB, 4 threads", .setup = fx_core_dirty,
	  .run = core_harvest_run, .check_unchanged = never_fails,
	  .check_done = core_harvest_done },
	{ .name = "idt_pt_split of a dirty 2 MiB leaf", .setup = fx_pt_huge, .run = pt_split_run,
	  .check_unchanged = pt_split_unchanged, .check_done = pt_split_done },
};

/* ---- tests ----------------------------------------------------------------------------------- */

/*
 * First, while the process's descriptor table is not allocated yet.  Its
 * own loop: a successful open after each failure would allocate the table
 * before the walk reaches it.
 */
static void test_open(void **state)
{
	int lowest = lowest_free_fd(), fd, err;
	uint64_t reached;
	uint32_t ioas;

	(void)state;
	for (uint64_t n = 1;; n++) {
		mem_fail_nth(n);
		fd = iodirty_open(O_CLOEXEC);
		err = errno;
		reached = mem_alloc_count();
		mem_fail_nth(0);
		if (reached < n)
			break;
		assert_int_equal(fd, -1);
		assert_int_equal(err, ENOMEM);
		assert_int_equal(lowest_free_fd(), lowest);
	}
	assert_int_equal(fd, lowest);
	assert_int_equal(ioas_alloc_e(fd, &ioas), 0);
	assert_int_equal(ioas, 1);
	assert_int_equal(iodirty_close(fd), 0);
	printf("    %-40s %3llu allocations walked\n", "iodirty_open (first in the process)",
	       (unsigned long long)reached);
}

static void test_abi(void **state)
{
	uint64_t sum = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(abi_cases) / sizeof(abi_cases[0]); i++)
		sum += walk(&abi_cases[i]);
	printf("    ABI operations: %llu allocations walked\n", (unsigned long long)sum);
}

static void test_core(void **state)
{
	uint64_t sum = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(core_cases) / sizeof(core_cases[0]); i++)
		sum += walk(&core_cases[i]);
	printf("    core operations: %llu allocations walked\n", (unsigned long long)sum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_abi),
		cmocka_unit_test(test_core),
	};

	arena = mmap(NULL, ARENA_LEN + SZ_2M, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED)
		return 1;
	arena = (uint8_t *)(((uintptr_t)arena + SZ_2M - 1) & ~(SZ_2M - 1));
	memset(scratch, 0x5a, sizeof(scratch));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
