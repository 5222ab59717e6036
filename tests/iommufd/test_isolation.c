/* SPDX-License-Identifier: MIT */
/*
 * Isolation through the ABI (issue 7 part 4), for the mock and the four
 * emulated formats (IODIRTY_TEST_OP_DEVICE_NEW, _DMA, _FAULTS: uapi.md 12,
 * docs/compat.md "DMA and faults"):
 *
 *   - a device reaches only its own IOAS's mappings (uapi.md 4.1, 5.3): a
 *     DMA to an IOVA mapped only in another IOAS, to an unmapped IOVA just
 *     before a mapping, past a mapping's end, or a write to a read-only
 *     mapping faults (EIO, `done` = the bytes before the fault, one fault
 *     counted) and moves nothing: the guard memory around the mapping, the
 *     other IOAS's memory and the reader's buffer are compared byte for
 *     byte, and the other IOAS's dirty HWPT records nothing.  One IOVA mapped
 *     in two IOASes of one emulated IOMMU reaches each device's own memory,
 *     whatever the IOTLB holds for the other domain;
 *   - a destroyed device (IOMMU_DESTROY of its stdev, which detaches it:
 *     uapi.md 5.1) cannot DMA, its reused id reaches only its new owner's
 *     IOAS, and a refused replace (MOCK_DOMAIN_REPLACE is not implemented,
 *     uapi.md 8.2) leaves the device where it was;
 *   - the ids of one descriptor name nothing on another (uapi.md 1: each
 *     open is an independent context): every command given one gives
 *     ENOENT, or the errno its section documents, and the other context's
 *     areas, dirty state and id space are unchanged.
 *
 * tests/uapi/uapi_formats.c covers the fault errnos and counts within one
 * IOAS; this file covers what lies outside a device's reach.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#define IODIRTY_NO_SYSTEM_IOMMUFD /* the 6.7 layouts, whatever the system has */
#include <iodirty/dev_iommu.h>
#include <iodirty/iommufd.h>

#define PAGE 4096ull
/* IOVAs inside every format's aperture (the mock's is [16 MiB, 2 GiB)) */
#define IOVA_A (32ull << 20)      /* IOAS A: A_PAGES between guard pages */
#define IOVA_RO (40ull << 20)     /* IOAS A: read-only */
#define IOVA_B (48ull << 20)      /* IOAS B only */
#define IOVA_SHARED (56ull << 20) /* both IOASes, different memory */
#define A_PAGES 4
#define GUARD_PAGES 2
#define RO_PAGES 2
#define B_PAGES 4
#define SHARED_PAGES 2

static const uint32_t formats[] = {
	IODIRTY_TEST_FORMAT_MOCK,          IODIRTY_TEST_FORMAT_AMDV1, IODIRTY_TEST_FORMAT_VTDSS,
	IODIRTY_TEST_FORMAT_ARM_LPAE_S1, IODIRTY_TEST_FORMAT_RISCV,
};
#define FORMATS (sizeof(formats) / sizeof(formats[0]))

#define assert_u64(a, b) assert_int_equal((uint64_t)(a), (uint64_t)(b))

/* ---- the ABI: each helper returns 0 or the ioctl's errno ------------------------------- */

static int ioc(int fd, unsigned long request, void *arg)
{
	return iodirty_ioctl(fd, request, arg) ? errno : 0;
}

static int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = ioc(fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return ret;
}

/* An IOAS whose domains map with their smallest leaves (uapi.md 5.10), so
 * that the dirty state is per page: AMD v1 would otherwise use 8 or 16 KiB
 * leaves where the memory happens to be aligned. */
static uint32_t ioas_alloc_small_leaves(int fd)
{
	struct iommu_option option = { .size = sizeof(option),
				       .option_id = IOMMU_OPTION_HUGE_PAGES,
				       .op = IOMMU_OPTION_OP_SET, .val64 = 0 };

	assert_int_equal(ioas_alloc(fd, &option.object_id), 0);
	assert_int_equal(ioc(fd, IOMMU_OPTION, &option), 0);
	return option.object_id;
}

static int destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioc(fd, IOMMU_DESTROY, &cmd);
}

static int map_fixed(int fd, uint32_t ioas, void *buf, uint64_t length, uint64_t iova,
		     bool writeable)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = length,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (writeable ? IOMMU_IOAS_MAP_WRITEABLE : 0),
	};

	return ioc(fd, IOMMU_IOAS_MAP, &cmd);
}

static int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = length };

	return ioc(fd, IOMMU_IOAS_UNMAP, &cmd);
}

/* DEVICE_NEW (or MOCK_DOMAIN when mock_domain) on pt_id: ids[] = stdev, hwpt, idev. */
static int device_new(int fd, uint32_t pt_id, uint32_t format, bool mock_domain, uint32_t ids[3])
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .id = pt_id };
	int ret;

	cmd.op = mock_domain ? IOMMU_TEST_OP_MOCK_DOMAIN : IODIRTY_TEST_OP_DEVICE_NEW;
	if (!mock_domain)
		cmd.device_new.format = format;
	ret = ioc(fd, IOMMU_TEST_CMD, &cmd);
	ids[0] = cmd.device_new.out_stdev_id;
	ids[1] = cmd.device_new.out_hwpt_id;
	ids[2] = cmd.device_new.out_idev_id;
	return ret;
}

static int hwpt_alloc_dirty(int fd, uint32_t idev, uint32_t pt_id, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .dev_id = idev, .pt_id = pt_id,
					.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING };
	int ret = ioc(fd, IOMMU_HWPT_ALLOC, &cmd);

	*hwpt = cmd.out_hwpt_id;
	return ret;
}

static int set_dirty(int fd, uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return ioc(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

/* The dirty pages of [iova, iova + pages * PAGE), pages <= 64, as a mask. */
static int get_dirty(int fd, uint32_t hwpt, uint32_t flags, uint64_t iova, uint64_t pages,
		     uint64_t *mask)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags, .iova = iova,
		.length = pages * PAGE, .page_size = PAGE, .data = (uintptr_t)mask,
	};

	*mask = 0;
	return ioc(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* A DMA write (write) or read of length bytes; *done gets the bytes moved. */
static int dma(int fd, uint32_t stdev, bool write, uint64_t iova, void *buf, uint64_t length,
	       uint64_t *done)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IODIRTY_TEST_OP_DMA, .id = stdev,
		.dma = { .flags = write ? IODIRTY_TEST_DMA_WRITE : 0, .iova = iova,
			 .length = length, .uptr = (uintptr_t)buf },
	};
	int ret = ioc(fd, IOMMU_TEST_CMD, &cmd);

	*done = cmd.dma.done;
	return ret;
}

/* The faults counted for the device since the last call (and cleared). */
static int faults(int fd, uint32_t stdev, uint64_t *count)
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IODIRTY_TEST_OP_FAULTS,
					.id = stdev };
	int ret = ioc(fd, IOMMU_TEST_CMD, &cmd);

	*count = cmd.faults.count;
	return ret;
}

static uint8_t *map_pages(size_t pages, uint8_t fill)
{
	uint8_t *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	assert_true(p != MAP_FAILED);
	memset(p, fill, pages * PAGE);
	return p;
}

/* ---- a device reaches only its own IOAS -------------------------------------------------- */

/* The buffers a device could reach.  ARENA: GUARD_PAGES, the A_PAGES mapped
 * at IOVA_A, GUARD_PAGES; RO at IOVA_RO and SHARED_A at IOVA_SHARED in IOAS
 * A; MEM_B at IOVA_B and SHARED_B at IOVA_SHARED in IOAS B. */
enum { ARENA, RO, MEM_B, SHARED_A, SHARED_B, REGIONS };

static const uint8_t region_fill[REGIONS] = { 0xc3, 0x33, 0x44, 0x55, 0x66 };

/* Two IOASes, a device in each, and every buffer with a model of what it
 * must hold. */
struct reach {
	int fd;
	uint32_t ioas_a, ioas_b;
	uint32_t dev_a;          /* stdev on an auto domain of IOAS A */
	uint32_t dev_b;          /* stdev on hwpt_b */
	uint32_t hwpt_b;         /* IOAS B's dirty HWPT, tracking */
	uint8_t *mem[REGIONS];
	uint8_t *model[REGIONS];
	size_t pages[REGIONS];
};

static void assert_unchanged(const struct reach *r, const char *after)
{
	for (int i = 0; i < REGIONS; i++)
		for (size_t off = 0; off < r->pages[i] * PAGE; off++)
			if (r->mem[i][off] != r->model[i][off])
				fail_msg("after %s: region %d byte %zu is 0x%02x, not 0x%02x", after,
					 i, off, r->mem[i][off], r->model[i][off]);
}

/* The DMA faults after done_expected bytes, with one fault counted. */
static void expect_fault(const struct reach *r, uint32_t stdev, bool write, uint64_t iova,
			 void *buf, uint64_t length, uint64_t done_expected)
{
	uint64_t done = ~0ull, count = 0;

	assert_int_equal(dma(r->fd, stdev, write, iova, buf, length, &done), EIO);
	assert_u64(done, done_expected);
	assert_int_equal(faults(r->fd, stdev, &count), 0);
	assert_u64(count, 1);
}

static void reach_setup(struct reach *r, uint32_t format)
{
	const size_t pages[REGIONS] = { GUARD_PAGES + A_PAGES + GUARD_PAGES, RO_PAGES, B_PAGES,
					SHARED_PAGES, SHARED_PAGES };
	uint32_t ids[3], template_b[3];

	for (int i = 0; i < REGIONS; i++) {
		r->pages[i] = pages[i];
		r->mem[i] = map_pages(pages[i], region_fill[i]);
		r->model[i] = malloc(pages[i] * PAGE);
		assert_non_null(r->model[i]);
		memset(r->model[i], region_fill[i], pages[i] * PAGE);
	}
	r->fd = iodirty_open(0);
	assert_true(r->fd >= 0);
	r->ioas_a = ioas_alloc_small_leaves(r->fd);
	r->ioas_b = ioas_alloc_small_leaves(r->fd);
	assert_int_equal(map_fixed(r->fd, r->ioas_a, r->mem[ARENA] + GUARD_PAGES * PAGE,
				   A_PAGES * PAGE, IOVA_A, true),
			 0);
	assert_int_equal(map_fixed(r->fd, r->ioas_a, r->mem[RO], RO_PAGES * PAGE, IOVA_RO, false),
			 0);
	assert_int_equal(map_fixed(r->fd, r->ioas_a, r->mem[SHARED_A], SHARED_PAGES * PAGE,
				   IOVA_SHARED, true),
			 0);
	assert_int_equal(map_fixed(r->fd, r->ioas_b, r->mem[MEM_B], B_PAGES * PAGE, IOVA_B, true),
			 0);
	assert_int_equal(map_fixed(r->fd, r->ioas_b, r->mem[SHARED_B], SHARED_PAGES * PAGE,
				   IOVA_SHARED, true),
			 0);
	assert_int_equal(device_new(r->fd, r->ioas_a, format, false, ids), 0);
	r->dev_a = ids[0];
	/* IOAS B's device on a dirty HWPT of the same emulated IOMMU as dev_a */
	assert_int_equal(device_new(r->fd, r->ioas_b, format, false, template_b), 0);
	assert_int_equal(hwpt_alloc_dirty(r->fd, template_b[2], r->ioas_b, &r->hwpt_b), 0);
	assert_int_equal(device_new(r->fd, r->hwpt_b, format, false, ids), 0);
	r->dev_b = ids[0];
	assert_int_equal(set_dirty(r->fd, r->hwpt_b, true), 0);
}

static void reach_teardown(struct reach *r)
{
	assert_int_equal(iodirty_close(r->fd), 0);
	for (int i = 0; i < REGIONS; i++) {
		munmap(r->mem[i], r->pages[i] * PAGE);
		free(r->model[i]);
	}
}

static void reach_one_format(uint32_t format)
{
	struct reach r;
	uint8_t *src = map_pages(2, 0xee);
	uint8_t *dst = map_pages(SHARED_PAGES, 0x5a);
	uint8_t *dst_model = map_pages(SHARED_PAGES, 0x5a);
	uint64_t done, mask, count;

	reach_setup(&r, format);

	/* positive controls: each device reaches its own mapping */
	assert_int_equal(dma(r.fd, r.dev_a, true, IOVA_A, src, PAGE, &done), 0);
	memset(r.model[ARENA] + GUARD_PAGES * PAGE, 0xee, PAGE);
	assert_int_equal(dma(r.fd, r.dev_b, true, IOVA_B + PAGE, src, PAGE, &done), 0);
	memset(r.model[MEM_B] + PAGE, 0xee, PAGE);
	assert_unchanged(&r, "the in-range writes");
	assert_int_equal(get_dirty(r.fd, r.hwpt_b, 0, IOVA_B, B_PAGES, &mask), 0);
	assert_u64(mask, 1u << 1);

	/* an IOVA mapped only in IOAS B: writes and reads fault, B's memory,
	 * dirty state and the reader's buffer stay as they were (4.1, 5.3) */
	expect_fault(&r, r.dev_a, true, IOVA_B, src, PAGE, 0);
	expect_fault(&r, r.dev_a, false, IOVA_B + PAGE, dst, PAGE, 0);
	assert_memory_equal(dst, dst_model, SHARED_PAGES * PAGE);
	assert_unchanged(&r, "DMA to IOAS B's IOVA");
	assert_int_equal(get_dirty(r.fd, r.hwpt_b, 0, IOVA_B, B_PAGES, &mask), 0);
	assert_u64(mask, 0);
	/* and the reverse: IOAS A's IOVA from IOAS B's device */
	expect_fault(&r, r.dev_b, true, IOVA_A, src, PAGE, 0);
	assert_unchanged(&r, "DMA to IOAS A's IOVA from B");

	/* unmapped IOVAs right before the mapping, and at its end */
	expect_fault(&r, r.dev_a, true, IOVA_A - PAGE, src, PAGE, 0);
	expect_fault(&r, r.dev_a, true, IOVA_A - 8, src, 8, 0);
	expect_fault(&r, r.dev_a, true, IOVA_A + A_PAGES * PAGE, src, 8, 0);
	assert_unchanged(&r, "DMA next to the mapping");
	/* past the end: the mapped page is written, the guard after it is not */
	expect_fault(&r, r.dev_a, true, IOVA_A + (A_PAGES - 1) * PAGE, src, 2 * PAGE, PAGE);
	memset(r.model[ARENA] + (GUARD_PAGES + A_PAGES - 1) * PAGE, 0xee, PAGE);
	assert_unchanged(&r, "a DMA running past the mapping's end");

	/* a write to the read-only mapping (5.3 flags) */
	expect_fault(&r, r.dev_a, true, IOVA_RO, src, PAGE, 0);
	expect_fault(&r, r.dev_a, true, IOVA_RO + PAGE + 64, src, 8, 0);
	assert_unchanged(&r, "writes to the read-only mapping");

	/*
	 * One IOVA, two IOASes, one emulated IOMMU: B's translation is used
	 * (and cached) first; A's device still reaches only A's memory, and
	 * each reads back its own.
	 */
	assert_int_equal(dma(r.fd, r.dev_b, true, IOVA_SHARED, src, PAGE, &done), 0);
	memset(r.model[SHARED_B], 0xee, PAGE);
	memset(src, 0x77, PAGE);
	assert_int_equal(dma(r.fd, r.dev_a, true, IOVA_SHARED, src, PAGE, &done), 0);
	memset(r.model[SHARED_A], 0x77, PAGE);
	assert_unchanged(&r, "writes to the IOVA both IOASes map");
	assert_int_equal(dma(r.fd, r.dev_a, false, IOVA_SHARED, dst, SHARED_PAGES * PAGE, &done),
			 0);
	assert_memory_equal(dst, r.model[SHARED_A], SHARED_PAGES * PAGE);
	assert_int_equal(dma(r.fd, r.dev_b, false, IOVA_SHARED, dst, SHARED_PAGES * PAGE, &done),
			 0);
	assert_memory_equal(dst, r.model[SHARED_B], SHARED_PAGES * PAGE);
	/* the in-range DMAs counted no faults */
	assert_int_equal(faults(r.fd, r.dev_a, &count), 0);
	assert_u64(count, 0);
	assert_int_equal(faults(r.fd, r.dev_b, &count), 0);
	assert_u64(count, 0);

	reach_teardown(&r);
	munmap(src, 2 * PAGE);
	munmap(dst, SHARED_PAGES * PAGE);
	munmap(dst_model, SHARED_PAGES * PAGE);
}

static void test_dma_stays_in_own_ioas(void **state)
{
	(void)state;
	for (size_t f = 0; f < FORMATS; f++) {
		print_message("format %u\n", formats[f]);
		reach_one_format(formats[f]);
	}
}

/* ---- destroyed, reused and not replaced devices ------------------------------------------ */

static void gone_one_format(uint32_t format)
{
	uint8_t *mem_a = map_pages(4, 0x11), *model_a = map_pages(4, 0x11);
	uint8_t *mem_b = map_pages(4, 0x22), *model_b = map_pages(4, 0x22);
	uint8_t *src = map_pages(1, 0xee), *dst = map_pages(1, 0x5a);
	uint32_t ioas_a, ioas_b, template[3], hwpt, dev1[3], dev2[3], dev3[3];
	uint64_t done, mask, count;
	int fd = iodirty_open(0);

	assert_true(fd >= 0);
	ioas_a = ioas_alloc_small_leaves(fd);
	ioas_b = ioas_alloc_small_leaves(fd);
	assert_int_equal(map_fixed(fd, ioas_a, mem_a, 4 * PAGE, IOVA_A, true), 0);
	assert_int_equal(map_fixed(fd, ioas_b, mem_b, 4 * PAGE, IOVA_B, true), 0);
	assert_int_equal(device_new(fd, ioas_a, format, false, template), 0);
	assert_int_equal(hwpt_alloc_dirty(fd, template[2], ioas_a, &hwpt), 0);
	assert_int_equal(device_new(fd, hwpt, format, false, dev1), 0);
	assert_int_equal(device_new(fd, hwpt, format, false, dev2), 0);
	assert_int_equal(set_dirty(fd, hwpt, true), 0);

	/* dev1 works, and its translation is cached */
	assert_int_equal(dma(fd, dev1[0], true, IOVA_A, src, PAGE, &done), 0);
	memset(model_a, 0xee, PAGE);

	/* destroyed (5.1: detached, unbound, removed): its id names nothing */
	assert_int_equal(destroy(fd, dev1[0]), 0);
	assert_int_equal(dma(fd, dev1[0], true, IOVA_A + PAGE, src, PAGE, &done), ENOENT);
	assert_int_equal(dma(fd, dev1[0], false, IOVA_A, dst, PAGE, &done), ENOENT);
	assert_int_equal(faults(fd, dev1[0], &count), ENOENT);
	assert_memory_equal(mem_a, model_a, 4 * PAGE);
	for (size_t i = 0; i < PAGE; i++)
		assert_int_equal(dst[i], 0x5a);
	/* the HWPT saw dev1's write, not the refused one */
	assert_int_equal(get_dirty(fd, hwpt, 0, IOVA_A, 4, &mask), 0);
	assert_u64(mask, 1);
	/* the sibling on the same HWPT is unaffected */
	assert_int_equal(dma(fd, dev2[0], true, IOVA_A + 2 * PAGE, src, PAGE, &done), 0);
	memset(model_a + 2 * PAGE, 0xee, PAGE);

	/* dev1's stdev id is the lowest free one (uapi.md 1, 8.3 step 1): it now
	 * names a device of IOAS B, and reaches only B's mappings */
	assert_int_equal(device_new(fd, ioas_b, format, false, dev3), 0);
	assert_int_equal(dev3[0], dev1[0]);
	assert_int_equal(dma(fd, dev3[0], true, IOVA_A + 3 * PAGE, src, PAGE, &done), EIO);
	assert_u64(done, 0);
	assert_int_equal(faults(fd, dev3[0], &count), 0);
	assert_u64(count, 1);
	assert_int_equal(dma(fd, dev3[0], true, IOVA_B, src, PAGE, &done), 0);
	memset(model_b, 0xee, PAGE);
	assert_memory_equal(mem_a, model_a, 4 * PAGE);
	assert_memory_equal(mem_b, model_b, 4 * PAGE);

	/* a replace is refused (8.2: not implemented, EOPNOTSUPP) and leaves dev2
	 * in IOAS A: A's IOVA works, B's faults */
	{
		struct iodirty_test_cmd replace = { .size = sizeof(replace),
						    .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
						    .id = dev2[0] };

		/* @16: the kernel's mock_domain_replace.pt_id */
		replace.mock_domain.out_stdev_id = ioas_b;
		assert_int_equal(ioc(fd, IOMMU_TEST_CMD, &replace), EOPNOTSUPP);
	}
	assert_int_equal(dma(fd, dev2[0], true, IOVA_A + 3 * PAGE, src, PAGE, &done), 0);
	memset(model_a + 3 * PAGE, 0xee, PAGE);
	assert_int_equal(dma(fd, dev2[0], true, IOVA_B + PAGE, src, PAGE, &done), EIO);
	assert_int_equal(faults(fd, dev2[0], &count), 0);
	assert_u64(count, 1);

	/* the HWPT is busy while dev2 holds it; destroying dev2 detaches it,
	 * after which the HWPT can go and dev2's id names nothing */
	assert_int_equal(destroy(fd, hwpt), EBUSY);
	assert_int_equal(destroy(fd, dev2[0]), 0);
	assert_int_equal(destroy(fd, hwpt), 0);
	assert_int_equal(dma(fd, dev2[0], true, IOVA_A, src, PAGE, &done), ENOENT);
	assert_memory_equal(mem_a, model_a, 4 * PAGE);
	assert_memory_equal(mem_b, model_b, 4 * PAGE);

	assert_int_equal(iodirty_close(fd), 0);
	munmap(mem_a, 4 * PAGE);
	munmap(model_a, 4 * PAGE);
	munmap(mem_b, 4 * PAGE);
	munmap(model_b, 4 * PAGE);
	munmap(src, PAGE);
	munmap(dst, PAGE);
}

static void test_gone_device_cannot_dma(void **state)
{
	(void)state;
	for (size_t f = 0; f < FORMATS; f++) {
		print_message("format %u\n", formats[f]);
		gone_one_format(formats[f]);
	}
}

/* ---- ids of one descriptor on another ----------------------------------------------------- */

/* A context with a mapping, a dirty HWPT and a device on it. */
struct context {
	int fd;
	uint32_t ioas, template[3], hwpt, dev[3];
	uint32_t ids[7]; /* every live object */
	size_t id_count;
	uint8_t *mem;
	uint64_t iova;
};

static void context_open(struct context *c, uint32_t placeholders, uint64_t iova, uint8_t fill)
{
	uint32_t placeholder[16];

	assert_true(placeholders <= 16);
	c->fd = iodirty_open(0);
	assert_true(c->fd >= 0);
	/* placeholders take the low ids while the real objects are made */
	for (uint32_t i = 0; i < placeholders; i++)
		assert_int_equal(ioas_alloc(c->fd, &placeholder[i]), 0);
	c->mem = map_pages(4, fill);
	c->iova = iova;
	c->ioas = ioas_alloc_small_leaves(c->fd);
	assert_int_equal(map_fixed(c->fd, c->ioas, c->mem, 4 * PAGE, iova, true), 0);
	assert_int_equal(device_new(c->fd, c->ioas, IODIRTY_TEST_FORMAT_MOCK, false, c->template),
			 0);
	assert_int_equal(hwpt_alloc_dirty(c->fd, c->template[2], c->ioas, &c->hwpt), 0);
	assert_int_equal(device_new(c->fd, c->hwpt, IODIRTY_TEST_FORMAT_MOCK, false, c->dev), 0);
	assert_int_equal(set_dirty(c->fd, c->hwpt, true), 0);
	for (uint32_t i = 0; i < placeholders; i++)
		assert_int_equal(destroy(c->fd, placeholder[i]), 0);
	c->id_count = 0;
	c->ids[c->id_count++] = c->ioas;
	c->ids[c->id_count++] = c->hwpt;
	for (int i = 0; i < 3; i++) {
		c->ids[c->id_count++] = c->template[i];
		if (i != 1) /* the device's HWPT is c->hwpt, already listed */
			c->ids[c->id_count++] = c->dev[i];
	}
}

static void context_close(struct context *c)
{
	assert_int_equal(iodirty_close(c->fd), 0);
	munmap(c->mem, 4 * PAGE);
}

/* Every command given `foreign` (an id that names nothing in c) fails with
 * the errno of its section, whatever the id named elsewhere. */
static void foreign_id_fails(const struct context *c, uint32_t foreign)
{
	uint8_t bits[8] = { 0xff };
	uint64_t mask, done, count;
	uint32_t ids[3], hwpt;
	int fd = c->fd;

	assert_int_equal(destroy(fd, foreign), ENOENT);                              /* 5.1 */
	assert_int_equal(map_fixed(fd, foreign, c->mem, PAGE, 64ull << 20, true), ENOENT); /* 5.3 */
	assert_int_equal(unmap(fd, foreign, c->iova, 4 * PAGE), ENOENT);             /* 5.4 */
	assert_int_equal(unmap(fd, foreign, 0, UINT64_MAX), ENOENT);
	{
		struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .ioas_id = foreign };
		struct iommu_option option = { .size = sizeof(option),
					       .option_id = IOMMU_OPTION_HUGE_PAGES,
					       .op = IOMMU_OPTION_OP_GET, .object_id = foreign };
		struct iommu_hw_info info = { .size = sizeof(info), .dev_id = foreign };

		assert_int_equal(ioc(fd, IOMMU_IOAS_IOVA_RANGES, &ranges), ENOENT); /* 5.9 */
		assert_int_equal(ioc(fd, IOMMU_OPTION, &option), ENOENT);           /* 5.10 */
		assert_int_equal(ioc(fd, IOMMU_GET_HW_INFO, &info), ENOENT);        /* 5.6 */
	}
	/* 5.5: an unknown dev_id is ENOENT, an unknown pt_id EINVAL (Q7) */
	assert_int_equal(hwpt_alloc_dirty(fd, foreign, c->ioas, &hwpt), ENOENT);
	assert_int_equal(hwpt_alloc_dirty(fd, c->dev[2], foreign, &hwpt), EINVAL);
	assert_int_equal(set_dirty(fd, foreign, true), ENOENT); /* 5.7 */
	assert_int_equal(set_dirty(fd, foreign, false), ENOENT);
	assert_int_equal(get_dirty(fd, foreign, 0, c->iova, 4, &mask), ENOENT); /* 5.8 */
	assert_int_equal(get_dirty(fd, foreign, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, c->iova, 4,
				   &mask),
			 ENOENT);
	/* 8.3 step 4 and 12: attaching a new device to it */
	assert_int_equal(device_new(fd, foreign, IODIRTY_TEST_FORMAT_MOCK, false, ids), ENOENT);
	assert_int_equal(device_new(fd, foreign, 0, true, ids), ENOENT);
	/* 12: DMA and FAULTS */
	assert_int_equal(dma(fd, foreign, true, c->iova, c->mem, PAGE, &done), ENOENT);
	assert_int_equal(dma(fd, foreign, false, c->iova, c->mem, PAGE, &done), ENOENT);
	assert_int_equal(faults(fd, foreign, &count), ENOENT);
	{
		/* 8.5 step 2 and 8.7 step 2 */
		struct iodirty_test_cmd dirty = {
			.size = sizeof(dirty), .op = IOMMU_TEST_OP_DIRTY, .id = foreign,
			.dirty = { .iova = c->iova, .length = 4 * PAGE,
				   .page_size = IODIRTY_MOCK_IO_PAGE_SIZE, .uptr = (uintptr_t)bits },
		};
		struct iodirty_test_cmd check_map = {
			.size = sizeof(check_map), .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = foreign,
			.check_map = { .iova = c->iova, .length = 4 * PAGE,
				       .uptr = (uintptr_t)c->mem },
		};

		assert_int_equal(ioc(fd, IOMMU_TEST_CMD, &dirty), ENOENT);
		assert_int_equal(ioc(fd, IOMMU_TEST_CMD, &check_map), ENOENT);
	}
}

/* The lowest id >= 1 that names none of c's objects. */
static uint32_t lowest_free_id(const struct context *c)
{
	uint32_t id = 1;

	for (size_t i = 0; i < c->id_count; i++)
		if (c->ids[i] == id) {
			id++;
			i = (size_t)-1; /* start over with the next candidate */
		}
	return id;
}

/* The context after the foreign calls: its area, its dirty state (page 1
 * only), its device and its id space (a new object takes the lowest free
 * id, uapi.md 1) are as they were. */
static void context_unchanged(const struct context *c, const uint8_t *expected_mem)
{
	struct iommu_iova_range range[2];
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .ioas_id = c->ioas,
						 .num_iovas = 2,
						 .allowed_iovas = (uintptr_t)range };
	struct iodirty_test_cmd check_map = {
		.size = sizeof(check_map), .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = c->hwpt,
		.check_map = { .iova = c->iova, .length = 4 * PAGE, .uptr = (uintptr_t)c->mem },
	};
	uint8_t dst[4 * PAGE];
	uint64_t mask, done;
	uint32_t probe;

	assert_int_equal(ioc(c->fd, IOMMU_IOAS_IOVA_RANGES, &ranges), 0);
	assert_int_equal(ranges.num_iovas, 1);
	assert_u64(range[0].start, MOCK_APERTURE_START);
	assert_u64(range[0].last, MOCK_APERTURE_LAST);
	assert_int_equal(ioc(c->fd, IOMMU_TEST_CMD, &check_map), 0);
	assert_int_equal(get_dirty(c->fd, c->hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, c->iova, 4,
				   &mask),
			 0);
	assert_u64(mask, 1u << 1);
	assert_int_equal(dma(c->fd, c->dev[0], false, c->iova, dst, sizeof(dst), &done), 0);
	assert_memory_equal(dst, expected_mem, sizeof(dst));
	assert_int_equal(ioas_alloc(c->fd, &probe), 0);
	assert_int_equal(probe, lowest_free_id(c));
	assert_int_equal(destroy(c->fd, probe), 0);
}

static void test_ids_are_per_descriptor(void **state)
{
	(void)state;
	struct context a, b;
	uint8_t *src = map_pages(1, 0xee);
	uint8_t expected_a[4 * PAGE], expected_b[4 * PAGE];
	uint64_t done;

	/* a's ids are 1 to 7, b's 9 to 15: no id names an object in both */
	context_open(&a, 0, IOVA_A, 0x11);
	context_open(&b, 8, IOVA_B, 0x22);
	for (size_t i = 0; i < a.id_count; i++)
		for (size_t j = 0; j < b.id_count; j++)
			assert_int_not_equal(a.ids[i], b.ids[j]);
	/* each context's page 1 written and dirty */
	assert_int_equal(dma(a.fd, a.dev[0], true, a.iova + PAGE, src, PAGE, &done), 0);
	assert_int_equal(dma(b.fd, b.dev[0], true, b.iova + PAGE, src, PAGE, &done), 0);
	memset(expected_a, 0x11, sizeof(expected_a));
	memset(expected_a + PAGE, 0xee, PAGE);
	memset(expected_b, 0x22, sizeof(expected_b));
	memset(expected_b + PAGE, 0xee, PAGE);

	for (size_t i = 0; i < a.id_count; i++)
		foreign_id_fails(&b, a.ids[i]);
	for (size_t j = 0; j < b.id_count; j++)
		foreign_id_fails(&a, b.ids[j]);
	context_unchanged(&a, expected_a);
	context_unchanged(&b, expected_b);
	context_close(&a);
	/* a's ids mean nothing on b after a is closed, either */
	for (size_t i = 0; i < a.id_count; i++)
		foreign_id_fails(&b, a.ids[i]);
	context_unchanged(&b, expected_b);
	context_close(&b);
	munmap(src, PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dma_stays_in_own_ioas),
		cmocka_unit_test(test_gone_device_cannot_dma),
		cmocka_unit_test(test_ids_are_per_descriptor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
