/* SPDX-License-Identifier: MIT */
/*
 * `iodirty bench --migration`: amplification, rounds and downtime at dirty
 * rates of 10%, 50% and 90% of the link's bandwidth, with 4 KiB and 2 MiB
 * IOPTEs, dirty tracking against the all-dirty baseline.  A 128 MiB guest
 * on a 256 MiB/s link (a pass takes 0.5 s, more than the 300 ms budget, so
 * all-dirty can never converge), the default hotset workload and rounds.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include <iodirty/iommufd.h>

#include "../cli.h"
#include "migrate.h"

#define MATRIX_MEM (128ull << 20)
#define MATRIX_BANDWIDTH (256ull << 20)

static const double loads[] = { 0.1, 0.5, 0.9 };
static const uint32_t ioptes[] = { MIG_PAGE, MIG_HUGE };

int mig_matrix_run(struct mig_matrix *m, bool progress)
{
	m->mem = MATRIX_MEM;
	m->bandwidth = MATRIX_BANDWIDTH;
	m->nrows = 0;
	for (unsigned int l = 0; l < 3; l++)
		for (unsigned int i = 0; i < 2; i++)
			for (int baseline = 0; baseline < 2; baseline++) {
				struct mig_matrix_row *row = &m->rows[m->nrows++];
				uint64_t rate = (uint64_t)(loads[l] * (double)MATRIX_BANDWIDTH);
				struct mig_options o = {
					.guest = { .mem_size = MATRIX_MEM,
						   .format = IODIRTY_TEST_FORMAT_AMDV1,
						   .iopte = ioptes[i],
						   .ndevices = 2,
						   .tracking = !baseline },
					/* the CPU writer takes an eighth of the dirty rate */
					.workload = { .pattern = MIG_PATTERN_HOTSET,
						      .device_rate = rate - rate / 8,
						      .cpu_rate = rate / 8,
						      .write_size = 16384,
						      .seed = 1 },
					.max_bandwidth = MATRIX_BANDWIDTH,
					.max_downtime_ns = 300000000ull,
					.max_rounds = 8,
					.attempts = 1,
					.timeout_s = 60,
				};
				struct mig_result r;

				if (progress)
					fprintf(stderr,
						"\r\033[Kiodirty bench: migration [%u/12] %.0f%% load, "
						"%s IOPTEs, %s",
						m->nrows, loads[l] * 100, i ? "2 MiB" : "4 KiB",
						baseline ? "all-dirty" : "tracking");
				mig_migrate(&o, &r);
				row->load = loads[l];
				row->iopte = ioptes[i];
				row->baseline = baseline;
				row->verified = r.verified;
				row->converged = r.converged;
				row->rounds = r.nrounds;
				row->pages_sent = r.pages_sent;
				row->pages_dirtied_distinct = r.pages_dirtied_distinct;
				row->amplification = r.pages_dirtied_distinct
							     ? (double)r.pages_sent /
								       (double)r.pages_dirtied_distinct
							     : NAN;
				row->downtime_ms = r.downtime_ns / 1e6;
				row->total_ms = r.total_ns / 1e6;
				if (!r.verified)
					fprintf(stderr, "iodirty bench: migration row %u failed: %s\n",
						m->nrows, r.attempt[r.nattempts - 1].error);
				mig_result_free(&r);
			}
	if (progress)
		fputs("\r\033[K", stderr);
	for (unsigned int i = 0; i < m->nrows; i++)
		if (!m->rows[i].verified)
			return CLI_EXIT_ERROR;
	return 0;
}

void mig_matrix_text(FILE *f, const struct mig_matrix *m)
{
	fprintf(f, "\nmigration: %" PRIu64 " MiB guest, link %" PRIu64 " MiB/s, 2 amdv1 devices, "
		   "hotset, budget 300 ms, at most 8 rounds\n",
		m->mem >> 20, m->bandwidth >> 20);
	fprintf(f, "  load  iopte  mode       rounds  converged  pages sent  written  ampl.  "
		   "downtime ms  total ms  verified\n");
	for (unsigned int i = 0; i < m->nrows; i++) {
		const struct mig_matrix_row *r = &m->rows[i];

		fprintf(f, "  %3.0f%%  %5s  %-9s  %6u  %9s  %10" PRIu64 "  %7" PRIu64
			   "  %5.1f  %11.1f  %8.1f  %s\n",
			r->load * 100, r->iopte == MIG_PAGE ? "4K" : "2M",
			r->baseline ? "all-dirty" : "tracking", r->rounds, r->converged ? "yes" : "no",
			r->pages_sent, r->pages_dirtied_distinct, r->amplification, r->downtime_ms,
			r->total_ms, r->verified ? "yes" : "NO");
	}
}

void mig_matrix_json(struct json *j, const struct mig_matrix *m)
{
	json_obj_open(j);
	json_key(j, "mem");
	json_u64(j, m->mem);
	json_key(j, "bandwidth");
	json_u64(j, m->bandwidth);
	json_key(j, "rows");
	json_arr_open(j);
	for (unsigned int i = 0; i < m->nrows; i++) {
		const struct mig_matrix_row *r = &m->rows[i];

		json_obj_open(j);
		json_key(j, "load");
		json_double(j, r->load);
		json_key(j, "iopte");
		json_u64(j, r->iopte);
		json_key(j, "baseline");
		json_str(j, r->baseline ? "all-dirty" : "none");
		json_key(j, "rounds");
		json_u64(j, r->rounds);
		json_key(j, "converged");
		json_bool(j, r->converged);
		json_key(j, "pages_sent");
		json_u64(j, r->pages_sent);
		json_key(j, "pages_dirtied_distinct");
		json_u64(j, r->pages_dirtied_distinct);
		json_key(j, "amplification");
		json_double(j, r->amplification);
		json_key(j, "downtime_ms");
		json_double(j, r->downtime_ms);
		json_key(j, "total_ms");
		json_double(j, r->total_ms);
		json_key(j, "verified");
		json_bool(j, r->verified);
		json_obj_close(j);
	}
	json_arr_close(j);
	json_obj_close(j);
}
