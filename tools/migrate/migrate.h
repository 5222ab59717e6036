/* SPDX-License-Identifier: MIT */
/*
 * iodirty migrate: live migration of an emulated guest whose devices
 * DMA through the emulated IOMMU, with pre-copy driven by IOMMU dirty
 * tracking (IOMMU_HWPT_GET_DIRTY_BITMAP) merged with a CPU dirty log.
 *
 *   guest.c     RAM, the iommufd set-up, DMA, the harvest
 *   workload.c  device and CPU writer threads, write patterns
 *   source.c    pre-copy rounds, stop-and-copy, verification, attempts
 *   dest.c      the receiving side (embedded child or `iodirty receive`)
 *   frame.c     the framed, checksummed, rate-limited stream over TCP
 *   report.c    text, JSON, progress line, gnuplot chart
 *   matrix.c    the benchmark matrix of `iodirty bench --migration`
 */
#ifndef IODIRTY_MIGRATE_MIGRATE_H
#define IODIRTY_MIGRATE_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "workload.h"

#define MIG_MAX_ATTEMPTS 8
#define MIG_MAX_BAD_PAGES 64 /* listed; all are counted */

enum mig_inject {
	MIG_INJECT_NONE,
	MIG_INJECT_DROP,      /* drop@ROUND: the connection is cut mid-round */
	MIG_INJECT_FLIP,      /* flip@FRAME: one byte of that frame changes on the wire */
	MIG_INJECT_KILL_DEST, /* kill-dest@ROUND: the embedded destination is killed */
	MIG_INJECT_NO_CPU_LOG, /* no-cpu-log: the CPU dirty log is never merged */
	MIG_INJECT_RANDOM     /* random@SEED: random transport faults (frame.h) */
};

struct mig_options {
	struct mig_guest_config guest;
	struct mig_workload_config workload;
	uint64_t max_bandwidth;   /* bytes/s on the wire; 0: unlimited */
	uint64_t max_downtime_ns;
	unsigned int max_rounds;  /* pre-copy rounds, the bulk pass included */
	bool compress;
	const char *to;           /* HOST:PORT, or NULL: embedded destination */
	unsigned int attempts;
	enum mig_inject inject;   /* in the first attempt only */
	uint64_t inject_at;       /* the round, the frame, or the random seed */
	unsigned int timeout_s;   /* of every wait for the peer */
	bool json, progress;
	const char *plot;         /* FILE.png or NULL */
};

/* One pass over dirty memory. */
struct mig_round {
	uint64_t pages_sent;
	uint64_t pages_dirty; /* dirty at its end: what the next round sends */
	uint64_t bytes_wire;
	uint64_t ns;          /* sending and harvesting */
	bool final;           /* the stop-and-copy pass */
};

struct mig_attempt {
	bool ok;
	char error[320];
	uint64_t ns;
	uint64_t guest_writes_after; /* writes the guest made in the pause after a failure */
};

struct mig_result {
	struct mig_attempt attempt[MIG_MAX_ATTEMPTS];
	unsigned int nattempts;
	/* the last attempt */
	struct mig_round *rounds;
	unsigned int nrounds, rounds_cap;
	bool verified, converged;
	uint64_t pages_total, pages_sent, pages_dirtied_distinct;
	uint64_t bytes_wire, bytes_raw, frames;
	uint64_t downtime_ns, total_ns, verify_ns;
	double dirty_rate;  /* bytes/s, measured over the pre-copy rounds */
	double page_rate;   /* pages/s the link carried */
	uint64_t bad_pages[MIG_MAX_BAD_PAGES];
	uint64_t nbad_pages;
	bool inject_fired;
	struct mig_chaos chaos; /* --inject random: what its injector did */
	char note[256];
};

/* Runs the migration (with its attempts); 0 if it verified, else 1 with
 * the reasons in r.  r is to be freed with mig_result_free. */
int mig_migrate(const struct mig_options *o, struct mig_result *r);
void mig_result_free(struct mig_result *r);

/* The destination: serves one connection; 0 if the migration was accepted
 * (complete and verified), else 1 with the reason in err. */
int mig_receive_one(int fd, unsigned int timeout_s, bool quiet, char *err, size_t errlen);

/* Convergence (source.c): the stop-and-copy time of pages at page_rate
 * pages/s, and whether it fits the budget. */
uint64_t mig_estimate_ns(uint64_t pages, double page_rate);
bool mig_fits_downtime(uint64_t pages, double page_rate, uint64_t max_downtime_ns);

/* report.c */
const char *mig_format_name(uint32_t format);
const char *mig_pattern_name(enum mig_pattern p);
void mig_report_text(FILE *f, const struct mig_options *o, const struct mig_result *r);
void mig_report_json(FILE *f, const struct mig_options *o, const struct mig_result *r);
int mig_plot(const struct mig_options *o, const struct mig_result *r);
void mig_progress(const struct mig_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mig_progress_done(const struct mig_options *o);

/* matrix.c: `iodirty bench --migration` */
struct json;
struct mig_matrix_row {
	double load;     /* dirty rate / link bandwidth */
	uint32_t iopte;
	bool baseline;
	bool verified, converged;
	unsigned int rounds;
	uint64_t pages_sent, pages_dirtied_distinct;
	double amplification;
	double downtime_ms, total_ms;
};
struct mig_matrix {
	uint64_t mem, bandwidth;
	struct mig_matrix_row rows[12];
	unsigned int nrows;
};
int mig_matrix_run(struct mig_matrix *m, bool progress);
void mig_matrix_text(FILE *f, const struct mig_matrix *m);
void mig_matrix_json(struct json *j, const struct mig_matrix *m);

#endif
