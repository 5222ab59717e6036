/* SPDX-License-Identifier: MIT */
/*
 * iodirty bench --plot DIR: PNG charts drawn by gnuplot.
 *
 *   harvest-FORMAT.png  ns per leaf entry by dirty density, one line per
 *                       contender, for the format's largest size and smallest
 *                       IOPTE (64 GiB of 4 KiB by default), clearing
 *   threads.png         iodirty_threads scaling (with --threads N)
 *
 * Next to each chart: its data (.dat) and the gnuplot script (bench.gp),
 * so that the charts can be redrawn or restyled.
 */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

extern char **environ;

bool bench_have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && n + sizeof("/gnuplot") < sizeof(buf)) {
			memcpy(buf, path, n);
			strcpy(buf + n, "/gnuplot");
			if (!access(buf, X_OK))
				return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/* dir/name */
static void join(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* A gnuplot single-quoted string ('' stands for a quote). */
static void gp_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	join(path, sizeof(path), dir, name);
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "iodirty bench: --plot: %s: %s\n", path, strerror(errno));
	return f;
}

static int close_file(FILE *f, const char *name)
{
	if (fclose(f)) {
		fprintf(stderr, "iodirty bench: --plot: %s: %s\n", name, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	return 0;
}

/* The rows a format's chart shows: its largest size, smallest IOPTE. */
static bool chart_table(const struct bench *b, uint32_t format, uint64_t *size,
			uint64_t *iopte)
{
	*size = 0;
	*iopte = UINT64_MAX;
	for (unsigned int i = 0; i < b->nrows; i++) {
		const struct bench_row *r = &b->rows[i];

		if (r->format != format)
			continue;
		if (r->size > *size || (r->size == *size && r->iopte < *iopte)) {
			*size = r->size;
			*iopte = r->iopte;
		}
	}
	return *size != 0;
}

static void gp_terminal(FILE *gp)
{
	fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
	      "  set terminal pngcairo size 960,600 noenhanced font 'sans,10'\n"
	      "} else {\n"
	      "  set terminal png size 960,600 noenhanced\n"
	      "}\n",
	      gp);
}

static void gp_output(FILE *gp, const char *dir, const char *name)
{
	char path[4096];

	join(path, sizeof(path), dir, name);
	fputs("set output ", gp);
	gp_quote(gp, path);
	fputc('\n', gp);
}

static int plot_harvest(const struct bench *b, FILE *gp, uint32_t format, char *made,
			size_t made_len)
{
	const char *fname = idt_pt_format_name(format);
	char name[64], dat[4096], sz[24], io[24];
	uint64_t size, iopte;
	int ncol = 0, col[BC_COUNT];
	FILE *f;

	if (!chart_table(b, format, &size, &iopte))
		return 0;
	snprintf(name, sizeof(name), "harvest-%s.dat", fname);
	f = open_in(b->plot_dir, name);
	if (!f)
		return CLI_EXIT_ERROR;
	fprintf(f, "# %s, %s of %s IOPTEs, clearing: ns per leaf entry (median)\n# density",
		fname, cli_size_str(size, sz, sizeof(sz)), cli_size_str(iopte, io, sizeof(io)));
	for (int c = 0; c < BC_COUNT; c++)
		if (c != BC_THREADS || b->threads)
			fprintf(f, " %s", bench_contender_key[c]), col[ncol++] = c;
	fputc('\n', f);
	for (unsigned int i = 0; i < b->nrows; i++) {
		const struct bench_row *r = &b->rows[i];
		char d[16];

		if (r->format != format || r->size != size || r->iopte != iopte || r->no_clear)
			continue;
		fprintf(f, "\"%s\"", bench_density_str(r->density, d, sizeof(d)));
		for (int k = 0; k < ncol; k++)
			fprintf(f, " %.6g", r->st[col[k]].med / (double)r->leaves);
		fputc('\n', f);
	}
	if (close_file(f, name))
		return CLI_EXIT_ERROR;

	join(dat, sizeof(dat), b->plot_dir, name);
	snprintf(name, sizeof(name), "harvest-%s.png", fname);
	gp_output(gp, b->plot_dir, name);
	fprintf(gp, "set title '%s: harvest of %s of %s IOPTEs (read-and-clear + bitmap + "
		    "invalidation)'\n",
		fname, sz, io);
	fputs("set xlabel 'dirty density'\nset ylabel 'ns per leaf entry (median)'\n"
	      "set logscale y\nset yrange [*:*]\nset xrange [-0.3:*]\nset grid\n"
	      "set key outside right top\n",
	      gp);
	fputs("plot ", gp);
	for (int k = 0; k < ncol; k++) {
		if (k)
			fputs(", \\\n     ", gp);
		gp_quote(gp, dat);
		fprintf(gp, " using 0:%d%s with linespoints lw 2 pt 7 title '%s'", k + 2,
			k ? "" : ":xtic(1)", bench_contender_key[col[k]]);
	}
	fputs("\nunset logscale y\n", gp);
	snprintf(made + strlen(made), made_len - strlen(made), " %s", name);
	return 0;
}

static int plot_threads(const struct bench *b, FILE *gp, char *made, size_t made_len)
{
	char dat[4096], sz[24], io[24];
	FILE *f;

	if (!b->nscaling)
		return 0;
	f = open_in(b->plot_dir, "threads.dat");
	if (!f)
		return CLI_EXIT_ERROR;
	fprintf(f, "# %s, %s of %s IOPTEs, clearing: ms (median)\n# threads 0%% 100%%\n",
		idt_pt_format_name(b->ref.format), cli_size_str(b->ref.size, sz, sizeof(sz)),
		cli_size_str(b->ref.iopte, io, sizeof(io)));
	for (unsigned int n = 1; n <= b->threads; n++) {
		double ms[2] = { 0, 0 };

		for (unsigned int i = 0; i < b->nscaling; i++)
			if (b->scaling[i].threads == n)
				ms[b->scaling[i].density >= 1] = b->scaling[i].st.med / 1e6;
		fprintf(f, "%u %.6g %.6g\n", n, ms[0], ms[1]);
	}
	if (close_file(f, "threads.dat"))
		return CLI_EXIT_ERROR;
	join(dat, sizeof(dat), b->plot_dir, "threads.dat");
	gp_output(gp, b->plot_dir, "threads.png");
	fprintf(gp, "set title '%s: iodirty_threads scaling, %s of %s IOPTEs, clearing'\n",
		idt_pt_format_name(b->ref.format), sz, io);
	fprintf(gp, "set xlabel 'threads'\nset ylabel 'ms (median)'\nset xrange [0.5:%u.5]\n"
		    "set yrange [0:*]\nset xtics 1\nset grid\nset key outside right top\nplot ",
		b->threads);
	gp_quote(gp, dat);
	fputs(" using 1:2 with linespoints lw 2 pt 7 title '0% dirty', \\\n     ", gp);
	gp_quote(gp, dat);
	fputs(" using 1:3 with linespoints lw 2 pt 7 title '100% dirty'\n", gp);
	snprintf(made + strlen(made), made_len - strlen(made), " threads.png");
	return 0;
}

static int run_gnuplot(const char *script)
{
	char *const argv[] = { (char *)"gnuplot", (char *)script, NULL };
	pid_t pid;
	int ret, wstatus;

	ret = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (ret) {
		fprintf(stderr, "iodirty bench: --plot: cannot run gnuplot: %s\n", strerror(ret));
		return CLI_EXIT_ERROR;
	}
	while (waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "iodirty bench: --plot: waitpid: %s\n", strerror(errno));
			return CLI_EXIT_ERROR;
		}
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus)) {
		fprintf(stderr, "iodirty bench: --plot: gnuplot %s failed\n", script);
		return CLI_EXIT_ERROR;
	}
	return 0;
}

int bench_plot(const struct bench *b)
{
	char script[4096], made[1024] = "";
	struct stat st;
	FILE *gp;
	int status = 0;

	if (mkdir(b->plot_dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "iodirty bench: --plot: %s: %s\n", b->plot_dir, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	if (stat(b->plot_dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "iodirty bench: --plot: %s is not a directory\n", b->plot_dir);
		return CLI_EXIT_ERROR;
	}
	gp = open_in(b->plot_dir, "bench.gp");
	if (!gp)
		return CLI_EXIT_ERROR;
	fputs("# iodirty bench --plot: run with `gnuplot bench.gp`\n", gp);
	gp_terminal(gp);
	for (unsigned int f = 0; f < b->nformats && !status; f++)
		status = plot_harvest(b, gp, b->formats[f], made, sizeof(made));
	if (!status)
		status = plot_threads(b, gp, made, sizeof(made));
	fputs("set output\n", gp);
	if (close_file(gp, "bench.gp") || status)
		return CLI_EXIT_ERROR;
	join(script, sizeof(script), b->plot_dir, "bench.gp");
	status = run_gnuplot(script);
	if (!status)
		fprintf(b->json ? stderr : stdout, "plots in %s:%s%s\n", b->plot_dir, made,
			b->nscaling ? "" : " (no threads chart: run with --threads N)");
	return status;
}
