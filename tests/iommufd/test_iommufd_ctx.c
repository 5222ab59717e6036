/* SPDX-License-Identifier: MIT */
/*
 * The iommufd context layer from inside (src/iommufd/iommufd_ctx.h): what an
 * ABI-only program cannot see.  After every kind of error the objects, the
 * areas and every domain's mappings are exactly as before; a failed
 * copy-back destroys what the command created; ids are the lowest free and
 * are reused; pins go with the context; HUGE_PAGES 0 maps with the smallest
 * leaves; a partly writable bitmap stops the walk without clearing the rest
 * (Q6); DMA from two threads while a third harvests reports exactly the
 * pages written; fork leaves a working copy.  tests/uapi covers every errno
 * through the ABI.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "iommufd/iommufd_internal.h"

#define PAGE 4096ul
#define MOCK_PAGE 2048ul
#define SZ_1M (1ul << 20)
#define SZ_2M (2ul << 20)
#define IOVA_BASE (16ul << 20) /* the mock aperture's start */

/* ---- helpers ------------------------------------------------------------------------ */

static int ioc(struct iommufd_ctx *ctx, uint32_t cmd, void *arg)
{
	return iommufd_ctx_ioctl(ctx, cmd, (uintptr_t)arg);
}

static uint32_t ioas_alloc(struct iommufd_ctx *ctx)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	assert_int_equal(ioc(ctx, IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static int destroy(struct iommufd_ctx *ctx, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioc(ctx, IOMMU_DESTROY, &cmd);
}

static int map_fixed(struct iommufd_ctx *ctx, uint32_t ioas, const void *buf, uint64_t length,
		     uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = length,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};

	return ioc(ctx, IOMMU_IOAS_MAP, &cmd);
}

static int unmap(struct iommufd_ctx *ctx, uint32_t ioas, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = length };

	return ioc(ctx, IOMMU_IOAS_UNMAP, &cmd);
}

static int hwpt_alloc(struct iommufd_ctx *ctx, uint32_t flags, uint32_t idev, uint32_t pt,
		      uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .flags = flags, .dev_id = idev,
					.pt_id = pt };
	int ret = ioc(ctx, IOMMU_HWPT_ALLOC, &cmd);

	if (out)
		*out = cmd.out_hwpt_id;
	return ret;
}

/* MOCK_DOMAIN_FLAGS (format < 0) or DEVICE_NEW; out: stdev, hwpt, idev (may be NULL). */
static int device_new(struct iommufd_ctx *ctx, uint32_t id, int format, uint32_t flags,
		      uint32_t ids[3])
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .id = id };
	int ret;

	if (format < 0) {
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		cmd.mock_domain_flags.dev_flags = flags;
	} else {
		cmd.op = IODIRTY_TEST_OP_DEVICE_NEW;
		cmd.device_new.format = (uint32_t)format;
		cmd.device_new.dev_flags = flags;
	}
	ret = ioc(ctx, IOMMU_TEST_CMD, &cmd);
	if (ids) {
		ids[0] = cmd.mock_domain.out_stdev_id;
		ids[1] = cmd.mock_domain.out_hwpt_id;
		ids[2] = cmd.mock_domain.out_idev_id;
	}
	return ret;
}

static int set_dirty(struct iommufd_ctx *ctx, uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return ioc(ctx, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int get_dirty(struct iommufd_ctx *ctx, uint32_t hwpt, uint64_t iova, uint64_t length,
		     uint64_t page_size, void *data)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .iova = iova, .length = length,
		.page_size = page_size, .data = (uintptr_t)data,
	};

	return ioc(ctx, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* TEST DIRTY: marks every mock page of [iova, iova + length). */
static int mock_dirty_all(struct iommufd_ctx *ctx, uint32_t hwpt, uint64_t iova, uint64_t length)
{
	uint8_t bits[512];
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = iova, .length = length, .page_size = MOCK_PAGE,
			   .uptr = (uintptr_t)bits },
	};

	assert_true(length / MOCK_PAGE <= 8 * sizeof(bits));
	memset(bits, 0xff, sizeof(bits));
	return ioc(ctx, IOMMU_TEST_CMD, &cmd);
}

static int dma_write(struct iommufd_ctx *ctx, uint32_t stdev, uint64_t iova, const void *src,
		     uint64_t length)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IODIRTY_TEST_OP_DMA, .id = stdev,
		.dma = { .flags = IODIRTY_TEST_DMA_WRITE, .iova = iova, .length = length,
			 .uptr = (uintptr_t)src },
	};

	return ioc(ctx, IOMMU_TEST_CMD, &cmd);
}

static void *map_anon(size_t length, size_t align)
{
	uint8_t *p = mmap(NULL, length + align, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	p += (align - (uintptr_t)p % align) % align;
	memset(p, 0x5a, length);
	return p;
}

static struct hwpt *hwpt_of(struct iommufd_ctx *ctx, uint32_t id)
{
	struct obj *obj = obj_find(ctx, id, OBJ_HWPT);

	assert_non_null(obj);
	return (struct hwpt *)obj;
}

/*
 * Everything a failed command must leave alone, as text: every object,
 * every IOAS's areas, domains and option, every domain's mapped areas,
 * bytes, devices and tracking state, the next id.
 */
static void snapshot(struct iommufd_ctx *ctx, char *out, size_t size)
{
	size_t n = 0;

	pthread_rwlock_rdlock(&ctx->lock);
	for (uint32_t id = 1; id < ctx->obj_capacity; id++) {
		struct obj *obj = obj_find(ctx, id, 0);

		if (!obj)
			continue;
		n += (size_t)snprintf(out + n, size - n, "[%u:%d]", id, obj->type);
		if (obj->type == OBJ_IOAS) {
			struct ioas *ioas = (struct ioas *)obj;

			n += (size_t)snprintf(out + n, size - n, "h%zu,o%d", ioas->hwpt_count,
					      ioas->no_huge_pages);
			for (size_t i = 0; i < ioas->area_count; i++)
				n += (size_t)snprintf(out + n, size - n, " a%lx+%lx@%lx/%d",
						      (unsigned long)ioas->areas[i].iova,
						      (unsigned long)ioas->areas[i].length,
						      (unsigned long)ioas->areas[i].user_va,
						      ioas->areas[i].prot);
		} else if (obj->type == OBJ_HWPT) {
			struct hwpt *hwpt = (struct hwpt *)obj;
			struct idt_domain_area areas[16];
			struct idt_domain_info info;
			size_t count = idt_domain_get_areas(hwpt->domain, areas, 16);

			idt_domain_get_info(hwpt->domain, &info);
			n += (size_t)snprintf(out + n, size - n, "d%u,%u,b%lx,t%d", hwpt->devices,
					      info.devices, (unsigned long)info.mapped_bytes,
					      info.dirty_tracking);
			for (size_t i = 0; i < count && i < 16; i++)
				n += (size_t)snprintf(out + n, size - n, " m%lx+%lx",
						      (unsigned long)areas[i].iova,
						      (unsigned long)areas[i].length);
		}
		assert_true(n < size);
	}
	pthread_rwlock_unlock(&ctx->lock);
	assert_true(n < size);
}

#define SNAP_SIZE 4096

/* The call fails with err and the snapshot is unchanged. */
#define EXPECT_NO_CHANGE(ctx, err, call)                                                   \
	do {                                                                               \
		char before_[SNAP_SIZE], after_[SNAP_SIZE];                                \
		snapshot((ctx), before_, sizeof(before_));                                 \
		assert_int_equal((call), (err));                                           \
		snapshot((ctx), after_, sizeof(after_));                                   \
		assert_string_equal(before_, after_);                                      \
	} while (0)

/* ---- nothing changes after an error ----------------------------------------------- */

static void test_errors_change_nothing(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	uint32_t ioas, ioas2, mock[3], nodirty[3], dirty_hwpt, ids[3];
	uint8_t *buf = map_anon(8 * PAGE, PAGE);
	uint8_t *hole = map_anon(PAGE, PAGE);

	assert_int_equal(munmap(hole, PAGE), 0);
	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	ioas = ioas_alloc(ctx);
	assert_int_equal(device_new(ctx, ioas, -1, 0, mock), 0);
	assert_int_equal(device_new(ctx, ioas, -1, MOCK_FLAGS_DEVICE_NO_DIRTY, nodirty), 0);
	assert_int_equal(nodirty[1], mock[1]); /* the auto domain is shared */
	assert_int_equal(hwpt_alloc(ctx, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, mock[2], ioas,
				    &dirty_hwpt), 0);
	assert_int_equal(map_fixed(ctx, ioas, buf, 4 * PAGE, IOVA_BASE), 0);
	assert_int_equal(map_fixed(ctx, ioas, buf + 4 * PAGE, 4 * PAGE, IOVA_BASE + 4 * PAGE), 0);

	/* IOAS_MAP: overlap, outside the aperture, misaligned, unmapped memory */
	EXPECT_NO_CHANGE(ctx, -EEXIST, map_fixed(ctx, ioas, buf, 2 * PAGE, IOVA_BASE + 6 * PAGE));
	EXPECT_NO_CHANGE(ctx, -EINVAL, map_fixed(ctx, ioas, buf, PAGE, IOVA_BASE - PAGE));
	EXPECT_NO_CHANGE(ctx, -EINVAL, map_fixed(ctx, ioas, buf, 1024, IOVA_BASE + SZ_1M));
	EXPECT_NO_CHANGE(ctx, -EFAULT, map_fixed(ctx, ioas, hole, PAGE, IOVA_BASE + SZ_1M));
	/* UNMAP: the first area whole but the second only in part removes nothing (Q10) */
	EXPECT_NO_CHANGE(ctx, -ENOENT, unmap(ctx, ioas, IOVA_BASE, 6 * PAGE));
	EXPECT_NO_CHANGE(ctx, -ENOENT, unmap(ctx, ioas, IOVA_BASE + SZ_1M, PAGE));
	/* capability at allocation and attach (4.3); busy objects */
	EXPECT_NO_CHANGE(ctx, -EOPNOTSUPP,
			 hwpt_alloc(ctx, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, nodirty[2], ioas, NULL));
	EXPECT_NO_CHANGE(ctx, -EINVAL,
			 device_new(ctx, dirty_hwpt, -1, MOCK_FLAGS_DEVICE_NO_DIRTY, ids));
	EXPECT_NO_CHANGE(ctx, -EINVAL, device_new(ctx, dirty_hwpt, IODIRTY_TEST_FORMAT_AMDV1, 0,
						  ids)); /* another IOMMU instance */
	EXPECT_NO_CHANGE(ctx, -ENOENT, device_new(ctx, 999, -1, 0, ids));
	EXPECT_NO_CHANGE(ctx, -EBUSY, destroy(ctx, ioas));
	EXPECT_NO_CHANGE(ctx, -EBUSY, destroy(ctx, mock[1]));
	EXPECT_NO_CHANGE(ctx, -EBUSY, destroy(ctx, mock[2]));
	/* dirty commands */
	EXPECT_NO_CHANGE(ctx, -EOPNOTSUPP, set_dirty(ctx, mock[1], true));
	EXPECT_NO_CHANGE(ctx, -EINVAL, mock_dirty_all(ctx, dirty_hwpt, IOVA_BASE, 8 * PAGE));
	EXPECT_NO_CHANGE(ctx, -EINVAL, get_dirty(ctx, dirty_hwpt, IOVA_BASE, 8 * PAGE, 0, buf));
	/* OPTION: huge pages stay on while domains have mappings */
	{
		struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_HUGE_PAGES,
					    .op = IOMMU_OPTION_OP_SET, .object_id = ioas };

		EXPECT_NO_CHANGE(ctx, -EINVAL, ioc(ctx, IOMMU_OPTION, &opt));
	}
	/* a new domain that cannot hold an existing area (4.1) */
	ioas2 = ioas_alloc(ctx);
	assert_int_equal(map_fixed(ctx, ioas2, buf, PAGE, PAGE), 0);
	EXPECT_NO_CHANGE(ctx, -EADDRINUSE, hwpt_alloc(ctx, 0, mock[2], ioas2, NULL));
	EXPECT_NO_CHANGE(ctx, -EADDRINUSE, device_new(ctx, ioas2, -1, 0, ids));
	/* dispatch: a non-zero byte past the kernel's struct */
	{
		uint8_t big[sizeof(struct iommu_ioas_alloc) + 8] = { 0 };

		*(uint32_t *)big = sizeof(big);
		big[sizeof(big) - 1] = 1;
		EXPECT_NO_CHANGE(ctx, -E2BIG, ioc(ctx, IOMMU_IOAS_ALLOC, big));
	}
	iommufd_ctx_destroy(ctx);
	munmap(buf, 8 * PAGE);
}

/* ---- a failed copy-back destroys what was created --------------------------------- */

/* A command struct on a read-only page: the copy-in works, the copy-back fails. */
static void *ro_struct(const void *cmd, size_t size)
{
	uint8_t *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(page != MAP_FAILED);
	memcpy(page, cmd, size);
	assert_int_equal(mprotect(page, PAGE, PROT_READ), 0);
	return page;
}

static void test_copy_back_failure_destroys(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	uint32_t ioas, mock[3], probe;
	uint8_t *buf = map_anon(4 * PAGE, PAGE);
	char before[SNAP_SIZE], after[SNAP_SIZE];

	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	ioas = ioas_alloc(ctx);
	assert_int_equal(device_new(ctx, ioas, -1, 0, mock), 0);
	snapshot(ctx, before, sizeof(before));
	{
		struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
		void *ro = ro_struct(&cmd, sizeof(cmd));

		assert_int_equal(ioc(ctx, IOMMU_IOAS_ALLOC, ro), -EFAULT);
		munmap(ro, PAGE);
	}
	{
		struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .dev_id = mock[2],
						.pt_id = ioas,
						.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING };
		void *ro = ro_struct(&cmd, sizeof(cmd));

		assert_int_equal(ioc(ctx, IOMMU_HWPT_ALLOC, ro), -EFAULT);
		munmap(ro, PAGE);
	}
	for (int op = 0; op < 2; op++) { /* MOCK_DOMAIN on the IOAS, DEVICE_NEW (VT-d) */
		struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .id = ioas };
		void *ro;

		cmd.op = op ? IODIRTY_TEST_OP_DEVICE_NEW : IOMMU_TEST_OP_MOCK_DOMAIN;
		cmd.device_new.format = op ? IODIRTY_TEST_FORMAT_VTDSS : 0;
		ro = ro_struct(&cmd, sizeof(cmd));
		assert_int_equal(ioc(ctx, IOMMU_TEST_CMD, ro), -EFAULT);
		munmap(ro, PAGE);
	}
	snapshot(ctx, after, sizeof(after));
	assert_string_equal(before, after);
	/* the ids came back: the next object takes the lowest */
	probe = ioas_alloc(ctx);
	assert_int_equal(probe, 5);
	assert_int_equal(destroy(ctx, probe), 0);
	/* IOAS_MAP keeps its mapping (uapi.md 3 step 7, unverified) */
	{
		struct iommu_ioas_map cmd = {
			.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)buf,
			.length = 4 * PAGE, .iova = IOVA_BASE,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		};
		void *ro = ro_struct(&cmd, sizeof(cmd));

		assert_int_equal(ioc(ctx, IOMMU_IOAS_MAP, ro), -EFAULT);
		munmap(ro, PAGE);
		assert_int_equal(idt_domain_get_areas(hwpt_of(ctx, mock[1])->domain, NULL, 0), 1);
	}
	iommufd_ctx_destroy(ctx);
	munmap(buf, 4 * PAGE);
}

/* ---- ids --------------------------------------------------------------------------- */

static void test_ids_lowest_free(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	uint32_t ids[3], hwpt;

	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	assert_int_equal(ioas_alloc(ctx), 1);
	assert_int_equal(ioas_alloc(ctx), 2);
	assert_int_equal(ioas_alloc(ctx), 3);
	assert_int_equal(destroy(ctx, 2), 0);
	assert_int_equal(destroy(ctx, 2), -ENOENT);
	/* stdev, idev, then the auto HWPT (uapi.md 8.3, unverified) */
	assert_int_equal(device_new(ctx, 1, -1, 0, ids), 0);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[2], 4);
	assert_int_equal(ids[1], 5);
	assert_int_equal(hwpt_alloc(ctx, 0, ids[2], 3, &hwpt), 0);
	assert_int_equal(hwpt, 6);
	/* the stdev takes its idev and unused auto HWPT with it */
	assert_int_equal(destroy(ctx, ids[0]), 0);
	assert_int_equal(ioas_alloc(ctx), 2);
	assert_int_equal(ioas_alloc(ctx), 4);
	assert_int_equal(ioas_alloc(ctx), 5);
	assert_int_equal(ioas_alloc(ctx), 7);
	iommufd_ctx_destroy(ctx);
}

/* ---- pins ---------------------------------------------------------------------------- */

static int check_refs(struct iommufd_ctx *ctx, const void *buf, uint64_t length, uint32_t refs)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = length, .uptr = (uintptr_t)buf, .refs = refs },
	};

	return ioc(ctx, IOMMU_TEST_CMD, &cmd);
}

static int prepare_calls;

static void count_prepare(void)
{
	prepare_calls++;
}

static void test_close_releases_pins(void **state)
{
	(void)state;
	struct iommufd_ctx *a, *b;
	uint32_t ioas, bare, ids[3];
	uint8_t *buf = map_anon(4 * PAGE, PAGE);

	assert_int_equal(iommufd_ctx_create(&a), 0);
	assert_int_equal(iommufd_ctx_create(&b), 0);
	ioas = ioas_alloc(a);
	bare = ioas_alloc(a);
	assert_int_equal(map_fixed(a, bare, buf, 4 * PAGE, IOVA_BASE), 0);
	assert_int_equal(iommufd_ctx_page_pins(a, (uintptr_t)buf), 0); /* no domain, no pins */
	assert_int_equal(device_new(a, ioas, -1, 0, ids), 0);
	assert_int_equal(map_fixed(a, ioas, buf, 2 * PAGE, IOVA_BASE), 0);
	assert_int_equal(map_fixed(a, ioas, buf, 4 * PAGE, IOVA_BASE + SZ_1M), 0);
	assert_int_equal(iommufd_ctx_page_pins(a, (uintptr_t)buf), 2);
	assert_int_equal(iommufd_ctx_page_pins(a, (uintptr_t)buf + 3 * PAGE), 1);
	/* MD_CHECK_REFS sums every context, after the prepare hook */
	iommufd_set_refs_prepare(count_prepare);
	assert_int_equal(check_refs(b, buf + 2 * PAGE, 2 * PAGE, 1), 0);
	assert_int_equal(check_refs(b, buf, 2 * PAGE, 1), -EIO);
	assert_int_equal(prepare_calls, 2);
	iommufd_set_refs_prepare(NULL);
	iommufd_ctx_destroy(a);
	assert_int_equal(check_refs(b, buf, 4 * PAGE, 0), 0);
	iommufd_ctx_destroy(b);
	munmap(buf, 4 * PAGE);
}

/* ---- HUGE_PAGES = 0 maps with the smallest leaves ------------------------------------ */

static int option_huge(struct iommufd_ctx *ctx, uint32_t ioas, uint64_t value)
{
	struct iommu_option cmd = { .size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
				    .op = IOMMU_OPTION_OP_SET, .object_id = ioas, .val64 = value };

	return ioc(ctx, IOMMU_OPTION, &cmd);
}

static uint32_t leaf_lg2(struct iommufd_ctx *ctx, uint32_t hwpt, uint64_t iova)
{
	struct idt_pt_leaf leaf;

	assert_int_equal(idt_pt_lookup(idt_domain_pt(hwpt_of(ctx, hwpt)->domain), iova, &leaf), 0);
	return leaf.size_lg2;
}

static void test_huge_pages_option(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	uint32_t ioas, ids[3];
	uint8_t *buf = map_anon(SZ_2M, SZ_2M);

	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	ioas = ioas_alloc(ctx);
	assert_int_equal(device_new(ctx, ioas, IODIRTY_TEST_FORMAT_AMDV1, 0, ids), 0);
	/* a domain without mappings: allowed; its later maps use 4 KiB leaves */
	assert_int_equal(option_huge(ctx, ioas, 0), 0);
	assert_int_equal(map_fixed(ctx, ioas, buf, SZ_2M, 32 * SZ_1M), 0);
	assert_int_equal(leaf_lg2(ctx, ids[1], 32 * SZ_1M + SZ_1M), 12);
	assert_int_equal(option_huge(ctx, ioas, 1), 0); /* re-enabling is always allowed */
	assert_int_equal(option_huge(ctx, ioas, 0), -EINVAL); /* mapped domains keep theirs */
	assert_int_equal(unmap(ctx, ioas, 0, UINT64_MAX), 0);
	assert_int_equal(map_fixed(ctx, ioas, buf, SZ_2M, 32 * SZ_1M), 0);
	assert_int_equal(leaf_lg2(ctx, ids[1], 32 * SZ_1M + SZ_1M), 21);
	iommufd_ctx_destroy(ctx);
	munmap(buf, SZ_2M);
}

/* ---- Q6: a bitmap whose later page is not writable ---------------------------------- */

static void test_bitmap_partly_writable(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	uint32_t ioas, ids[3], hwpt;
	const uint64_t length = 128 * MOCK_PAGE; /* 16 bitmap bytes */
	uint8_t *buf = map_anon(length, PAGE);
	uint8_t *bm = map_anon(2 * PAGE, PAGE);
	struct idt_pt *pt;
	bool dirty;

	assert_int_equal(mprotect(bm + PAGE, PAGE, PROT_READ), 0);
	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	ioas = ioas_alloc(ctx);
	assert_int_equal(device_new(ctx, ioas, -1, 0, ids), 0);
	assert_int_equal(hwpt_alloc(ctx, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, ids[2], ioas, &hwpt), 0);
	assert_int_equal(map_fixed(ctx, ioas, buf, length, IOVA_BASE), 0);
	assert_int_equal(set_dirty(ctx, hwpt, true), 0);
	assert_int_equal(mock_dirty_all(ctx, hwpt, IOVA_BASE, length), 0);
	pt = idt_domain_pt(hwpt_of(ctx, hwpt)->domain);

	/* the first page unwritable: ENOMEM, nothing cleared */
	assert_int_equal(get_dirty(ctx, hwpt, IOVA_BASE, length, MOCK_PAGE, bm + PAGE), -ENOMEM);
	assert_int_equal(idt_pt_is_dirty(pt, IOVA_BASE, &dirty), 0);
	assert_true(dirty);
	/* 8 writable bytes, then a read-only page: 64 bits reported and cleared */
	memset(bm, 0, PAGE);
	assert_int_equal(get_dirty(ctx, hwpt, IOVA_BASE, length, MOCK_PAGE, bm + PAGE - 8), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(bm[PAGE - 8 + i], 0xff);
	assert_int_equal(bm[PAGE], 0x5a);
	assert_int_equal(idt_pt_is_dirty(pt, IOVA_BASE + 63 * MOCK_PAGE, &dirty), 0);
	assert_false(dirty);
	assert_int_equal(idt_pt_is_dirty(pt, IOVA_BASE + 64 * MOCK_PAGE, &dirty), 0);
	assert_true(dirty);
	iommufd_ctx_destroy(ctx);
	munmap(buf, length);
	munmap(bm, 2 * PAGE);
}

/* ---- concurrent DMA through the ioctl while a third thread harvests ------------------ */

#define DMA_PAGES 512
#define DMA_ROUNDS 20000

struct dma_thread {
	struct iommufd_ctx *ctx;
	uint32_t stdev;
	unsigned int parity;
	uint8_t expected[DMA_PAGES / 8]; /* pages this thread wrote */
	uint8_t last[DMA_PAGES];         /* the last value written to each */
	int failures;
};

struct harvest_thread {
	struct iommufd_ctx *ctx;
	uint32_t hwpt;
	atomic_bool stop;
	uint8_t seen[DMA_PAGES / 8];
	int failures;
};

static void *dma_writer(void *arg)
{
	struct dma_thread *t = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (t->parity + 1);
	uint8_t page[PAGE];

	for (int round = 0; round < DMA_ROUNDS; round++) {
		unsigned int p;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* this thread's pages: those of its parity, a random half of them */
		p = (unsigned int)(seed >> 33) % (DMA_PAGES / 2) * 2 + t->parity;
		if (p % 4 >= 2)
			continue;
		memset(page, (int)(round & 0xff), PAGE);
		if (dma_write(t->ctx, t->stdev, IOVA_BASE + p * PAGE, page, PAGE))
			t->failures++;
		t->expected[p / 8] |= (uint8_t)(1u << (p % 8));
		t->last[p] = (uint8_t)(round & 0xff);
	}
	return NULL;
}

static void *harvester(void *arg)
{
	struct harvest_thread *h = arg;
	uint8_t bm[DMA_PAGES / 8];
	bool last = false;

	/* one more round after the writers stopped */
	while (!last) {
		last = atomic_load(&h->stop);
		memset(bm, 0, sizeof(bm));
		if (get_dirty(h->ctx, h->hwpt, IOVA_BASE, DMA_PAGES * PAGE, PAGE, bm))
			h->failures++;
		for (size_t i = 0; i < sizeof(bm); i++)
			h->seen[i] |= bm[i];
	}
	return NULL;
}

static void test_concurrent_dma_and_harvest(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	uint32_t ioas, tmpl[3], dev[3], hwpt;
	uint8_t *buf = map_anon(DMA_PAGES * PAGE, SZ_2M);
	struct dma_thread writers[2] = { 0 };
	struct harvest_thread h = { 0 };
	pthread_t tw[2], th;

	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	ioas = ioas_alloc(ctx);
	assert_int_equal(device_new(ctx, ioas, IODIRTY_TEST_FORMAT_AMDV1, 0, tmpl), 0);
	assert_int_equal(hwpt_alloc(ctx, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, tmpl[2], ioas, &hwpt), 0);
	assert_int_equal(device_new(ctx, hwpt, IODIRTY_TEST_FORMAT_AMDV1, 0, dev), 0);
	/* 4 KiB leaves, so that each page is reported alone */
	assert_int_equal(option_huge(ctx, ioas, 0), 0);
	assert_int_equal(map_fixed(ctx, ioas, buf, DMA_PAGES * PAGE, IOVA_BASE), 0);
	assert_int_equal(set_dirty(ctx, hwpt, true), 0);

	h.ctx = ctx;
	h.hwpt = hwpt;
	atomic_init(&h.stop, false);
	assert_int_equal(pthread_create(&th, NULL, harvester, &h), 0);
	for (unsigned int i = 0; i < 2; i++) {
		writers[i].ctx = ctx;
		writers[i].stdev = dev[0];
		writers[i].parity = i;
		assert_int_equal(pthread_create(&tw[i], NULL, dma_writer, &writers[i]), 0);
	}
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	atomic_store(&h.stop, true);
	pthread_join(th, NULL);

	assert_int_equal(writers[0].failures + writers[1].failures + h.failures, 0);
	for (unsigned int p = 0; p < DMA_PAGES; p++) {
		const struct dma_thread *w = &writers[p % 2];
		bool written = w->expected[p / 8] >> (p % 8) & 1;

		assert_int_equal(h.seen[p / 8] >> (p % 8) & 1, written);
		for (unsigned int b = 0; b < PAGE; b += 512)
			assert_int_equal(buf[p * PAGE + b], written ? w->last[p] : 0x5a);
	}
	iommufd_ctx_destroy(ctx);
	munmap(buf, DMA_PAGES * PAGE);
}

/* ---- fork leaves the child a working copy ------------------------------------------- */

static void test_fork_child_copy(void **state)
{
	(void)state;
	struct iommufd_ctx *ctx;
	int status;
	pid_t pid;

	assert_int_equal(iommufd_ctx_create(&ctx), 0);
	assert_int_equal(ioas_alloc(ctx), 1);
	iommufd_fork_prepare();
	pid = fork();
	if (pid == 0) {
		struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

		iommufd_fork_child();
		_exit(ioc(ctx, IOMMU_IOAS_ALLOC, &cmd) || cmd.out_ioas_id != 2);
	}
	iommufd_fork_parent();
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the parent's context did not change */
	assert_int_equal(ioas_alloc(ctx), 2);
	iommufd_ctx_destroy(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_change_nothing),
		cmocka_unit_test(test_copy_back_failure_destroys),
		cmocka_unit_test(test_ids_lowest_free),
		cmocka_unit_test(test_close_releases_pins),
		cmocka_unit_test(test_huge_pages_option),
		cmocka_unit_test(test_bitmap_partly_writable),
		cmocka_unit_test(test_concurrent_dma_and_harvest),
		cmocka_unit_test(test_fork_child_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
