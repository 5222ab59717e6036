/* SPDX-License-Identifier: MIT */
/*
 * The source guest: RAM, and the emulated IOMMU reached only through the
 * iommufd ABI as a VMM reaches /dev/iommu (iodirty_open + iodirty_ioctl):
 * one IOAS maps the RAM, one HWPT (with dirty tracking unless the baseline
 * runs) holds the devices, and the dirty bitmap is read with
 * IOMMU_HWPT_GET_DIRTY_BITMAP.  A software log records the CPU writer's
 * pages, as KVM's dirty log does; a harvest merges both.
 */
#ifndef IODIRTY_MIGRATE_GUEST_H
#define IODIRTY_MIGRATE_GUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_PAGE 4096u
#define MIG_PAGE_SHIFT 12
#define MIG_HUGE (2u << 20)
#define MIG_MAX_DEVICES 16
/* The guest's RAM starts at this IOVA (any 2 MiB multiple works). */
#define MIG_IOVA_BASE (1ull << 30)

struct mig_guest_config {
	uint64_t mem_size;   /* a multiple of 2 MiB */
	uint32_t format;     /* IODIRTY_TEST_FORMAT_* */
	uint32_t iopte;      /* 4 KiB or 2 MiB leaves */
	unsigned int ndevices;
	bool hugepages;      /* back RAM with 2 MiB huge pages (hugetlbfs, else THP) */
	bool tracking;       /* false: the all-dirty baseline, no IOMMU dirty tracking */
};

struct mig_guest {
	struct mig_guest_config cfg;
	unsigned char *ram;
	uint64_t npages, nwords; /* pages, and u64 words of a page bitmap */
	void *map_base;
	size_t map_len;
	int fd; /* the emulated /dev/iommu */
	uint32_t ioas_id, hwpt_id;
	uint32_t stdev_id[MIG_MAX_DEVICES];
	uint64_t *iommu_bits;            /* GET_DIRTY_BITMAP's buffer */
	_Atomic uint64_t *cpu_log;       /* pages the CPU writer dirtied */
	_Atomic uint64_t *written;       /* pages the workload wrote (amplification) */
	char note[160];                  /* how RAM and IOPTEs were set up */
};

/* Sets everything up; 0, or -1 with a message in err. */
int mig_guest_create(struct mig_guest *g, const struct mig_guest_config *cfg, char *err,
		     size_t errlen);
void mig_guest_destroy(struct mig_guest *g);

/* A device writes len bytes from buf at guest offset off; 0 or -errno. */
int mig_guest_dma_write(struct mig_guest *g, unsigned int dev, uint64_t off, const void *buf,
			uint64_t len);

/* ORs into dirty (nwords) the pages dirtied since the last harvest: the
 * IOMMU's bitmap (read and cleared) and the CPU log (exchanged with 0).
 * merge_cpu false leaves the CPU log out (fault injection).  0, or -1. */
int mig_guest_harvest(struct mig_guest *g, uint64_t *dirty, bool merge_cpu, char *err,
		      size_t errlen);

/* Forgets what is dirty and written so far (a new attempt starts). */
int mig_guest_reset_tracking(struct mig_guest *g, char *err, size_t errlen);

static inline void mig_bit_set_atomic(_Atomic uint64_t *bits, uint64_t n)
{
	atomic_fetch_or_explicit(&bits[n / 64], 1ull << (n % 64), memory_order_relaxed);
}

uint64_t mig_bits_count(const uint64_t *bits, uint64_t nwords);

#endif
