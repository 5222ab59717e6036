/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <iodirty/dev_iommu.h>
#include <iodirty/iommufd.h>

#include "guest.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

uint64_t mig_bits_count(const uint64_t *bits, uint64_t nwords)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < nwords; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

/*
 * RAM aligned to 2 MiB (so 2 MiB IOPTEs can map it), plus one spare 2 MiB
 * so that it can also start 4 KiB past a 2 MiB boundary, which rules large
 * leaves out when the IOAS refuses to (see map_ram).
 */
static int alloc_ram(struct mig_guest *g, char *err, size_t errlen)
{
	size_t len = (size_t)g->cfg.mem_size + 2 * MIG_HUGE;
	uintptr_t base;
	void *p = MAP_FAILED;

	if (g->cfg.hugepages) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p != MAP_FAILED)
			snprintf(g->note, sizeof(g->note), "RAM on 2 MiB hugetlbfs pages");
	}
	if (p == MAP_FAILED) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return fail(err, errlen, "cannot map %llu MiB of guest RAM: %s",
				    (unsigned long long)(g->cfg.mem_size >> 20), strerror(errno));
		if (g->cfg.hugepages) {
			madvise(p, len, MADV_HUGEPAGE);
			snprintf(g->note, sizeof(g->note),
				 "no hugetlbfs pages reserved: RAM on transparent huge pages");
		}
	}
	g->map_base = p;
	g->map_len = len;
	base = ((uintptr_t)p + MIG_HUGE - 1) & ~(uintptr_t)(MIG_HUGE - 1);
	g->ram = (unsigned char *)base;
	return 0;
}

/* Every page starts distinct (its index), so a page never sent shows. */
static void fill_ram(struct mig_guest *g)
{
	for (uint64_t p = 0; p < g->npages; p++) {
		uint64_t *w = (uint64_t *)(g->ram + p * MIG_PAGE);
		uint64_t v = p * 0x9E3779B97F4A7C15ull;

		for (unsigned int i = 0; i < MIG_PAGE / 8; i++)
			w[i] = v + (i & 7);
	}
}

static int ioctl_or_fail(struct mig_guest *g, unsigned long req, void *arg, const char *what,
			 char *err, size_t errlen)
{
	if (iodirty_ioctl(g->fd, req, arg))
		return fail(err, errlen, "%s: %s", what, strerror(errno));
	return 0;
}

static int device_new(struct mig_guest *g, uint32_t pt_id, uint32_t *stdev, uint32_t *idev,
		      char *err, size_t errlen)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(struct iommu_test_cmd),
		.op = IODIRTY_TEST_OP_DEVICE_NEW,
		.id = pt_id,
		.device_new = { .format = g->cfg.format },
	};

	if (ioctl_or_fail(g, IOMMU_TEST_CMD, &cmd, "IODIRTY_TEST_OP_DEVICE_NEW", err, errlen))
		return -1;
	*stdev = cmd.device_new.out_stdev_id;
	if (idev)
		*idev = cmd.device_new.out_idev_id;
	return 0;
}

static int destroy(struct mig_guest *g, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return iodirty_ioctl(g->fd, IOMMU_DESTROY, &d);
}

/*
 * 4 KiB IOPTEs: IOMMU_OPTION HUGE_PAGES = 0 before anything is mapped.  If
 * the IOAS refuses, RAM is mapped from 4 KiB past a 2 MiB boundary: IOVA and
 * address then never share a 2 MiB alignment, so no large leaf can exist.
 * 2 MiB IOPTEs: RAM and IOVA both 2 MiB aligned.
 */
static int map_ram(struct mig_guest *g, char *err, size_t errlen)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = g->ioas_id,
		.length = g->cfg.mem_size,
		.iova = MIG_IOVA_BASE,
	};

	if (g->cfg.iopte == MIG_PAGE) {
		struct iommu_option opt = {
			.size = sizeof(opt),
			.option_id = IOMMU_OPTION_HUGE_PAGES,
			.op = IOMMU_OPTION_OP_SET,
			.object_id = g->ioas_id,
			.val64 = 0,
		};

		if (iodirty_ioctl(g->fd, IOMMU_OPTION, &opt)) {
			size_t n = strlen(g->note);

			snprintf(g->note + n, sizeof(g->note) - n,
				 "%sIOMMU_OPTION HUGE_PAGES=0 refused (%s): RAM offset by 4 KiB "
				 "from 2 MiB alignment instead",
				 n ? "; " : "", strerror(errno));
			g->ram += MIG_PAGE;
		}
	}
	map.user_va = (uintptr_t)g->ram;
	return ioctl_or_fail(g, IOMMU_IOAS_MAP, &map, "IOMMU_IOAS_MAP", err, errlen);
}

static int setup_iommu(struct mig_guest *g, char *err, size_t errlen)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	uint32_t template_stdev, template_idev;

	g->fd = iodirty_open(O_RDWR | O_CLOEXEC);
	if (g->fd < 0)
		return fail(err, errlen, "cannot open the emulated /dev/iommu: %s", strerror(errno));
	if (ioctl_or_fail(g, IOMMU_IOAS_ALLOC, &ioas, "IOMMU_IOAS_ALLOC", err, errlen))
		return -1;
	g->ioas_id = ioas.out_ioas_id;
	if (map_ram(g, err, errlen))
		return -1;
	/* A device on the IOAS is the template HWPT_ALLOC asks for (it picks the
	 * driver and its capabilities); the devices then live on the HWPT. */
	if (device_new(g, g->ioas_id, &template_stdev, &template_idev, err, errlen))
		return -1;
	hwpt.dev_id = template_idev;
	hwpt.pt_id = g->ioas_id;
	hwpt.flags = g->cfg.tracking ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0;
	if (ioctl_or_fail(g, IOMMU_HWPT_ALLOC, &hwpt, "IOMMU_HWPT_ALLOC", err, errlen))
		return -1;
	g->hwpt_id = hwpt.out_hwpt_id;
	if (destroy(g, template_stdev))
		return fail(err, errlen, "IOMMU_DESTROY of the template device: %s",
			    strerror(errno));
	for (unsigned int i = 0; i < g->cfg.ndevices; i++)
		if (device_new(g, g->hwpt_id, &g->stdev_id[i], NULL, err, errlen))
			return -1;
	if (g->cfg.tracking) {
		struct iommu_hwpt_set_dirty_tracking set = {
			.size = sizeof(set),
			.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
			.hwpt_id = g->hwpt_id,
		};

		if (ioctl_or_fail(g, IOMMU_HWPT_SET_DIRTY_TRACKING, &set,
				  "IOMMU_HWPT_SET_DIRTY_TRACKING", err, errlen))
			return -1;
	}
	return 0;
}

int mig_guest_create(struct mig_guest *g, const struct mig_guest_config *cfg, char *err,
		     size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	g->fd = -1;
	g->npages = cfg->mem_size / MIG_PAGE;
	g->nwords = (g->npages + 63) / 64;
	g->iommu_bits = calloc(g->nwords, sizeof(uint64_t));
	g->cpu_log = calloc(g->nwords, sizeof(uint64_t));
	g->written = calloc(g->nwords, sizeof(uint64_t));
	if (!g->iommu_bits || !g->cpu_log || !g->written)
		return fail(err, errlen, "out of memory for the dirty bitmaps");
	if (alloc_ram(g, err, errlen) || setup_iommu(g, err, errlen))
		return -1;
	fill_ram(g); /* after map_ram, which may have moved g->ram */
	return 0;
}

void mig_guest_destroy(struct mig_guest *g)
{
	if (g->fd >= 0)
		iodirty_close(g->fd); /* the context frees devices, HWPT and IOAS */
	g->fd = -1;
	if (g->map_base)
		munmap(g->map_base, g->map_len);
	g->map_base = NULL;
	free(g->iommu_bits);
	free(g->cpu_log);
	free(g->written);
	g->iommu_bits = NULL;
	g->cpu_log = g->written = NULL;
}

int mig_guest_dma_write(struct mig_guest *g, unsigned int dev, uint64_t off, const void *buf,
			uint64_t len)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(struct iommu_test_cmd),
		.op = IODIRTY_TEST_OP_DMA,
		.id = g->stdev_id[dev],
		.dma = { .flags = IODIRTY_TEST_DMA_WRITE, .iova = MIG_IOVA_BASE + off,
			 .length = len, .uptr = (uintptr_t)buf },
	};

	if (iodirty_ioctl(g->fd, IOMMU_TEST_CMD, &cmd))
		return -errno;
	return cmd.dma.done == len ? 0 : -EIO;
}

/* GET_DIRTY_BITMAP, clearing, over all of RAM into g->iommu_bits. */
static int read_iommu_bits(struct mig_guest *g, char *err, size_t errlen)
{
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = g->hwpt_id,
		.iova = MIG_IOVA_BASE,
		.length = g->cfg.mem_size,
		.page_size = MIG_PAGE,
		.data = (uintptr_t)g->iommu_bits,
	};

	/* the kernel only sets bits: the buffer is zeroed before every call */
	memset(g->iommu_bits, 0, g->nwords * sizeof(uint64_t));
	if (iodirty_ioctl(g->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get))
		return fail(err, errlen, "IOMMU_HWPT_GET_DIRTY_BITMAP: %s", strerror(errno));
	return 0;
}

int mig_guest_harvest(struct mig_guest *g, uint64_t *dirty, bool merge_cpu, char *err,
		      size_t errlen)
{
	if (read_iommu_bits(g, err, errlen))
		return -1;
	for (uint64_t i = 0; i < g->nwords; i++) {
		dirty[i] |= g->iommu_bits[i];
		if (merge_cpu)
			dirty[i] |= atomic_exchange_explicit(&g->cpu_log[i], 0, memory_order_acq_rel);
	}
	return 0;
}

int mig_guest_reset_tracking(struct mig_guest *g, char *err, size_t errlen)
{
	for (uint64_t i = 0; i < g->nwords; i++) {
		atomic_store_explicit(&g->cpu_log[i], 0, memory_order_relaxed);
		atomic_store_explicit(&g->written[i], 0, memory_order_relaxed);
	}
	/* a clearing read whose result is dropped: the bulk pass sends it all */
	return g->cfg.tracking ? read_iommu_bits(g, err, errlen) : 0;
}
