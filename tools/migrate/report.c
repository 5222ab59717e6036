/* SPDX-License-Identifier: MIT */
/* iodirty migrate's output: the summary, --json, --plot and the TTY progress line. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <iodirty/iommufd.h>

#include "../cli.h"
#include "migrate.h"

extern char **environ;

const char *mig_format_name(uint32_t format)
{
	switch (format) {
	case IODIRTY_TEST_FORMAT_AMDV1:
		return "amdv1";
	case IODIRTY_TEST_FORMAT_VTDSS:
		return "vtdss";
	case IODIRTY_TEST_FORMAT_ARM_LPAE_S1:
		return "arm";
	case IODIRTY_TEST_FORMAT_RISCV:
		return "riscv";
	}
	return "?";
}

const char *mig_pattern_name(enum mig_pattern p)
{
	switch (p) {
	case MIG_PATTERN_UNIFORM:
		return "uniform";
	case MIG_PATTERN_HOTSET:
		return "hotset";
	case MIG_PATTERN_RING:
		return "ring";
	}
	return "?";
}

static double amplification(const struct mig_result *r)
{
	return r->pages_dirtied_distinct ? (double)r->pages_sent / (double)r->pages_dirtied_distinct
					 : NAN;
}

/* "bulk", "1", "2", ..., "stop" */
static const char *round_label(const struct mig_result *r, unsigned int i, char *buf, size_t len)
{
	if (r->rounds[i].final)
		return "stop";
	if (!i)
		return "bulk";
	snprintf(buf, len, "%u", i);
	return buf;
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

void mig_progress(const struct mig_options *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->progress)
		return;
	fputs("\r\033[Kiodirty migrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void mig_progress_done(const struct mig_options *o)
{
	if (o->progress) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void mig_report_text(FILE *f, const struct mig_options *o, const struct mig_result *r)
{
	const struct mig_guest_config *g = &o->guest;

	fprintf(f, "iodirty migrate: %.0f MiB guest, %u %s device%s (%s IOPTEs), %s at %.0f MiB/s "
		   "+ CPU %.0f MiB/s, link %s%.0f MiB/s%s, %s\n",
		mib(g->mem_size), g->ndevices, mig_format_name(g->format),
		g->ndevices == 1 ? "" : "s", g->iopte == MIG_PAGE ? "4 KiB" : "2 MiB",
		mig_pattern_name(o->workload.pattern), mib(o->workload.device_rate),
		mib(o->workload.cpu_rate), o->max_bandwidth ? "" : "unlimited, measured ",
		o->max_bandwidth ? mib(o->max_bandwidth) : r->page_rate * MIG_PAGE / (1 << 20),
		o->compress ? ", zstd" : "",
		g->tracking ? "IOMMU dirty tracking + CPU log" : "baseline all-dirty (no tracking)");
	if (r->note[0])
		fprintf(f, "note: %s\n", r->note);
	for (unsigned int i = 0; i < r->nattempts; i++)
		if (!r->attempt[i].ok)
			fprintf(f, "attempt %u: FAILED: %s\n", i + 1, r->attempt[i].error);
	if (!r->nrounds)
		return;
	fprintf(f, "\n  round  pages sent  dirty after       ms   MiB wire\n");
	for (unsigned int i = 0; i < r->nrounds; i++) {
		const struct mig_round *rd = &r->rounds[i];
		char label[12], dirty[24];

		snprintf(dirty, sizeof(dirty), "%" PRIu64, rd->pages_dirty);
		fprintf(f, "  %5s  %10" PRIu64 "  %11s  %7.1f  %9.1f\n",
			round_label(r, i, label, sizeof(label)), rd->pages_sent,
			rd->final ? "-" : dirty, rd->ns / 1e6, mib(rd->bytes_wire));
	}
	fprintf(f, "\n");
	fprintf(f, "  rounds                %u (%s)\n", r->nrounds,
		r->converged ? "converged" : "stopped at --max-rounds");
	fprintf(f, "  pages sent            %" PRIu64 " of %" PRIu64 " (%.2fx guest RAM)\n",
		r->pages_sent, r->pages_total, (double)r->pages_sent / (double)r->pages_total);
	fprintf(f, "  pages written         %" PRIu64 " distinct, by devices and CPU\n",
		r->pages_dirtied_distinct);
	fprintf(f, "  amplification         %.2f (pages sent / distinct pages written)\n",
		amplification(r));
	fprintf(f, "  dirty rate            %.1f MiB/s measured\n", r->dirty_rate / (1 << 20));
	fprintf(f, "  link                  %.1f MiB/s of pages; %.1f MiB on the wire in %" PRIu64
		   " frames (%.1f MiB raw)\n",
		r->page_rate * MIG_PAGE / (1 << 20), mib(r->bytes_wire), r->frames,
		mib(r->bytes_raw));
	fprintf(f, "  downtime              %.1f ms (budget %.0f ms)\n", r->downtime_ns / 1e6,
		o->max_downtime_ns / 1e6);
	fprintf(f, "  total                 %.1f ms (verification %.1f ms)\n", r->total_ns / 1e6,
		r->verify_ns / 1e6);
	if (r->verified) {
		fprintf(f, "  verification          OK: all %" PRIu64 " pages identical at the "
			   "destination\n",
			r->pages_total);
	} else if (r->nbad_pages) {
		fprintf(f, "  verification          FAILED: %" PRIu64 " page%s differ:",
			r->nbad_pages, r->nbad_pages == 1 ? "" : "s");
		for (uint64_t i = 0; i < r->nbad_pages && i < MIG_MAX_BAD_PAGES; i++)
			fprintf(f, " %" PRIu64, r->bad_pages[i]);
		fprintf(f, "%s\n", r->nbad_pages > MIG_MAX_BAD_PAGES ? " ..." : "");
	} else {
		fprintf(f, "  verification          not reached\n");
	}
}

void mig_report_json(FILE *f, const struct mig_options *o, const struct mig_result *r)
{
	struct json j;

	json_begin(&j, f);
	json_obj_open(&j);
	json_key(&j, "verified");
	json_bool(&j, r->verified);
	json_key(&j, "rounds");
	json_u64(&j, r->nrounds);
	json_key(&j, "converged");
	json_bool(&j, r->converged);
	json_key(&j, "pages_total");
	json_u64(&j, r->pages_total);
	json_key(&j, "pages_sent");
	json_u64(&j, r->pages_sent);
	json_key(&j, "pages_dirtied_distinct");
	json_u64(&j, r->pages_dirtied_distinct);
	json_key(&j, "bytes_wire");
	json_u64(&j, r->bytes_wire);
	json_key(&j, "bytes_raw");
	json_u64(&j, r->bytes_raw);
	json_key(&j, "downtime_ms");
	json_double(&j, r->downtime_ns / 1e6);
	json_key(&j, "total_ms");
	json_double(&j, r->total_ns / 1e6);
	json_key(&j, "verify_ms");
	json_double(&j, r->verify_ns / 1e6);
	json_key(&j, "amplification");
	json_double(&j, amplification(r));
	json_key(&j, "dirty_rate_mib_s");
	json_double(&j, r->dirty_rate / (1 << 20));
	json_key(&j, "link_mib_s");
	json_double(&j, r->page_rate * MIG_PAGE / (1 << 20));
	json_key(&j, "iommu");
	json_str(&j, mig_format_name(o->guest.format));
	json_key(&j, "iopte");
	json_u64(&j, o->guest.iopte);
	json_key(&j, "baseline");
	json_str(&j, o->guest.tracking ? "none" : "all-dirty");
	json_key(&j, "mem");
	json_u64(&j, o->guest.mem_size);
	json_key(&j, "devices");
	json_u64(&j, o->guest.ndevices);
	json_key(&j, "pattern");
	json_str(&j, mig_pattern_name(o->workload.pattern));
	json_key(&j, "dirty_rate_config_mib_s");
	json_double(&j, mib(o->workload.device_rate));
	json_key(&j, "cpu_rate_mib_s");
	json_double(&j, mib(o->workload.cpu_rate));
	json_key(&j, "max_bandwidth_mib_s");
	json_double(&j, mib(o->max_bandwidth));
	json_key(&j, "max_downtime_ms");
	json_double(&j, o->max_downtime_ns / 1e6);
	json_key(&j, "compress");
	json_str(&j, o->compress ? "zstd" : "none");
	json_key(&j, "note");
	json_str(&j, r->note);
	json_key(&j, "per_round");
	json_arr_open(&j);
	for (unsigned int i = 0; i < r->nrounds; i++) {
		json_obj_open(&j);
		json_key(&j, "kind");
		json_str(&j, r->rounds[i].final ? "stop" : i ? "precopy" : "bulk");
		json_key(&j, "pages_sent");
		json_u64(&j, r->rounds[i].pages_sent);
		json_key(&j, "pages_dirty");
		json_u64(&j, r->rounds[i].pages_dirty);
		json_key(&j, "bytes_wire");
		json_u64(&j, r->rounds[i].bytes_wire);
		json_key(&j, "ms");
		json_double(&j, r->rounds[i].ns / 1e6);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "bad_pages_count");
	json_u64(&j, r->nbad_pages);
	json_key(&j, "bad_pages");
	json_arr_open(&j);
	for (uint64_t i = 0; i < r->nbad_pages && i < MIG_MAX_BAD_PAGES; i++)
		json_u64(&j, r->bad_pages[i]);
	json_arr_close(&j);
	json_key(&j, "attempts");
	json_arr_open(&j);
	for (unsigned int i = 0; i < r->nattempts; i++) {
		json_obj_open(&j);
		json_key(&j, "ok");
		json_bool(&j, r->attempt[i].ok);
		json_key(&j, "ms");
		json_double(&j, r->attempt[i].ns / 1e6);
		json_key(&j, "error");
		if (r->attempt[i].ok)
			json_null(&j);
		else
			json_str(&j, r->attempt[i].error);
		json_key(&j, "guest_writes_after");
		json_u64(&j, r->attempt[i].guest_writes_after);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
}

/* FILE.png from FILE.png.dat and FILE.png.gp, kept beside it for redrawing. */
int mig_plot(const struct mig_options *o, const struct mig_result *r)
{
	char dat[4096], gp[4096];
	FILE *f;
	pid_t pid;
	int ret, status;

	snprintf(dat, sizeof(dat), "%s.dat", o->plot);
	snprintf(gp, sizeof(gp), "%s.gp", o->plot);
	f = fopen(dat, "w");
	if (!f) {
		fprintf(stderr, "iodirty migrate: --plot: %s: %s\n", dat, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	fprintf(f, "# round dirty_pages sent_pages\n");
	for (unsigned int i = 0; i < r->nrounds; i++) {
		char label[12];

		fprintf(f, "\"%s\" %" PRIu64 " %" PRIu64 "\n", round_label(r, i, label, sizeof(label)),
			i ? r->rounds[i - 1].pages_dirty : r->pages_total, r->rounds[i].pages_sent);
	}
	if (fclose(f)) {
		fprintf(stderr, "iodirty migrate: --plot: %s: %s\n", dat, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	f = fopen(gp, "w");
	if (!f) {
		fprintf(stderr, "iodirty migrate: --plot: %s: %s\n", gp, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	fprintf(f,
		"if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		"  set terminal pngcairo size 960,600 noenhanced font 'sans,10'\n"
		"} else {\n"
		"  set terminal png size 960,600 noenhanced\n"
		"}\n"
		"set output '%s'\n"
		"set title 'iodirty migrate: %s, %s IOPTEs, %s, %s'\n"
		"set style data histogram\nset style histogram clustered gap 1\n"
		"set style fill solid 0.8 border -1\nset logscale y\nset grid ytics\n"
		"set xlabel 'round'\nset ylabel '4 KiB pages'\nset key outside right top\n"
		"plot '%s' using 2:xtic(1) title 'dirty (to send)', '' using 3 title 'sent'\n",
		o->plot, mig_format_name(o->guest.format),
		o->guest.iopte == MIG_PAGE ? "4 KiB" : "2 MiB", mig_pattern_name(o->workload.pattern),
		o->guest.tracking ? "dirty tracking" : "all-dirty baseline", dat);
	if (fclose(f)) {
		fprintf(stderr, "iodirty migrate: --plot: %s: %s\n", gp, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	char *const argv[] = { (char *)"gnuplot", gp, NULL };
	ret = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (ret) {
		fprintf(stderr, "iodirty migrate: --plot: cannot run gnuplot: %s\n", strerror(ret));
		return CLI_EXIT_ERROR;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return CLI_EXIT_ERROR;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "iodirty migrate: --plot: gnuplot %s failed\n", gp);
		return CLI_EXIT_ERROR;
	}
	fprintf(o->json ? stderr : stdout, "plot: %s\n", o->plot);
	return 0;
}
