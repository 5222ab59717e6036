/* SPDX-License-Identifier: MIT */
/*
 * The guest's writers: one thread per device DMA-writing through the
 * emulated IOMMU, and one CPU writer storing to RAM directly and logging
 * its pages in the software log.  Each writes at its rate in one pattern:
 *
 *   uniform  anywhere in RAM
 *   hotset   90% of writes in a hot eighth of RAM, the rest anywhere
 *   ring     sequentially around a ring of its own (NIC RX ring, disk log)
 *
 * Every written page gets a fresh stamp (writer, sequence, page), so a page
 * the migration failed to resend differs at the destination.
 */
#ifndef IODIRTY_MIGRATE_WORKLOAD_H
#define IODIRTY_MIGRATE_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest.h"

enum mig_pattern {
	MIG_PATTERN_UNIFORM,
	MIG_PATTERN_HOTSET,
	MIG_PATTERN_RING,
};

#define MIG_HOT_PERCENT 90 /* of the writes, to the hot set */
#define MIG_HOT_FRACTION 8 /* the hot set is 1/8 of RAM */
#define MIG_RING_FRACTION 16 /* the rings together are 1/16 of RAM */

/* Where one writer writes next: a pure generator (unit-tested). */
struct mig_pattern_gen {
	enum mig_pattern pattern;
	uint64_t npages;
	uint32_t write_pages;
	uint64_t hot_first, hot_pages;
	uint64_t ring_first, ring_pages, ring_pos;
	uint64_t rng;
};

void mig_pattern_init(struct mig_pattern_gen *gen, enum mig_pattern pattern, uint64_t npages,
		      uint32_t write_pages, unsigned int writer, unsigned int nwriters,
		      uint64_t seed);
/* The first page of the next write of write_pages pages (all inside RAM). */
uint64_t mig_pattern_next(struct mig_pattern_gen *gen);

struct mig_workload_config {
	enum mig_pattern pattern;
	uint64_t device_rate; /* bytes/s over all devices; 0: idle devices */
	uint64_t cpu_rate;    /* bytes/s of the CPU writer; 0: none */
	uint32_t write_size;  /* bytes per write, a multiple of 4 KiB, <= 64 KiB */
	uint64_t seed;
};

struct mig_workload;

/* Starts the writers on g; 0, or -1 with a message. */
int mig_workload_start(struct mig_workload **out, struct mig_guest *g,
		       const struct mig_workload_config *cfg, char *err, size_t errlen);
/* Stops DMA and drains: returns once no writer is inside a write. */
void mig_workload_pause(struct mig_workload *w);
void mig_workload_resume(struct mig_workload *w);
/* Stops and joins the writers, frees w. */
void mig_workload_stop(struct mig_workload *w);

/* Writes completed so far (DMA and CPU). */
uint64_t mig_workload_writes(struct mig_workload *w);
/* true if a device's DMA failed (message in err): the guest is broken. */
bool mig_workload_failed(struct mig_workload *w, char *err, size_t errlen);

#endif
