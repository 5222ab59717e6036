/* SPDX-License-Identifier: MIT */
/*
 * `iodirty migrate` end to end, with small guests so each run takes a
 * second or two:
 *
 *  - every IOMMU format verifies, and so do 2 MiB IOPTEs, the ring and
 *    uniform patterns, zstd, and two processes (`receive --listen`);
 *  - at the default workload's proportions (RAM / link = 2 s scaled down,
 *    dirty rate a quarter of the link) the all-dirty baseline sends at
 *    least 5x the pages tracking sends;
 *  - a connection cut mid-round, a flipped byte, a killed destination and
 *    a never-merged CPU log fail cleanly with a clear message, and a second
 *    attempt verifies while the guest kept running; so do random faults
 *    (--inject random@SEED; the soak test runs many);
 *  - bad options exit 2.
 *
 *   test_migrate_cli PATH/TO/iodirty
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;
static const char *iodirty;

struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
};

static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	ssize_t n;

	assert_non_null(s);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, s + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
	}
	s[len] = 0;
	close(fd);
	return s;
}

static int temp_fd(void)
{
	char path[] = "/tmp/iodirty-migrate-test-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* iodirty migrate ARGS..., NULL */
static struct run run_argv(char **argv)
{
	posix_spawn_file_actions_t fa;
	int out = temp_fd(), err = temp_fd(), st;
	struct run r;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	assert_int_equal(posix_spawn(&pid, iodirty, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static struct run migrate(const char *first, ...)
{
	char *argv[64] = { (char *)"iodirty", (char *)"migrate" };
	int n = 2;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(n < 63);
		argv[n++] = (char *)a;
	}
	va_end(ap);
	argv[n] = NULL;
	return run_argv(argv);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The value after "key": in the JSON object (numbers, true/false). */
static double json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p) {
		print_error("no \"%s\" in %s\n", key, json);
		fail();
	}
	p += strlen(pat);
	if (!strncmp(p, "true", 4))
		return 1;
	if (!strncmp(p, "false", 5))
		return 0;
	return strtod(p, NULL);
}

static void expect_verified(struct run *r)
{
	if (r->status || json_num(r->out, "verified") != 1)
		print_error("status %d\nstdout: %s\nstderr: %s\n", r->status, r->out, r->err);
	assert_int_equal(r->status, 0);
	assert_true(json_num(r->out, "verified") == 1);
	assert_true(json_num(r->out, "pages_sent") >= json_num(r->out, "pages_total"));
	assert_int_equal(json_num(r->out, "bad_pages_count"), 0);
}

/* A small guest: 16 MiB over a 64 MiB/s link, devices at 16 MiB/s. */
#define SMALL "--mem", "16M", "--max-bandwidth", "64", "--dirty-rate", "16", "--cpu-rate", "2"

static void format_verifies(const char *format)
{
	struct run r = migrate(SMALL, "--iommu", format, "--json", NULL);
	char want[32];

	expect_verified(&r);
	snprintf(want, sizeof(want), "\"iommu\":\"%s\"", format);
	assert_non_null(strstr(r.out, want));
	for (const char *const *k = (const char *const[]){ "rounds", "pages_dirtied_distinct",
							     "bytes_wire", "downtime_ms", "total_ms",
							     "amplification", "iopte", NULL };
	     *k; k++)
		json_num(r.out, *k);
	assert_non_null(strstr(r.out, "\"baseline\":\"none\""));
	run_free(&r);
}

static void test_amdv1(void **state)
{
	(void)state;
	format_verifies("amdv1");
}

static void test_vtdss(void **state)
{
	(void)state;
	format_verifies("vtdss");
}

static void test_arm(void **state)
{
	(void)state;
	format_verifies("arm");
}

static void test_riscv(void **state)
{
	(void)state;
	format_verifies("riscv");
}

static void test_iopte_2m(void **state)
{
	struct run r4, r2;

	(void)state;
	r4 = migrate(SMALL, "--pattern", "uniform", "--json", NULL);
	r2 = migrate(SMALL, "--pattern", "uniform", "--iopte", "2m", "--json", NULL);
	expect_verified(&r4);
	expect_verified(&r2);
	assert_int_equal(json_num(r2.out, "iopte"), 2 << 20);
	print_message("amplification, uniform writes: 4 KiB IOPTEs %.2f, 2 MiB IOPTEs %.2f\n",
		      json_num(r4.out, "amplification"), json_num(r2.out, "amplification"));
	/* a 2 MiB leaf reports 512 pages for any write into it */
	assert_true(json_num(r2.out, "pages_sent") > json_num(r4.out, "pages_sent"));
	run_free(&r4);
	run_free(&r2);
}

static void test_patterns_and_zstd(void **state)
{
	struct run r;

	(void)state;
	r = migrate(SMALL, "--pattern", "ring", "--devices", "3", "--json", NULL);
	expect_verified(&r);
	run_free(&r);
	r = migrate(SMALL, "--compress", "zstd", "--json", NULL);
	if (r.status == 2 && strstr(r.err, "without libzstd")) {
		run_free(&r);
		skip();
	}
	expect_verified(&r);
	assert_true(json_num(r.out, "bytes_wire") < json_num(r.out, "bytes_raw"));
	run_free(&r);
}

/* The default proportions, scaled: 16 MiB at 8 MiB/s is a 2 s pass. */
static void test_baseline_sends_5x(void **state)
{
#define SCALED "--mem", "16M", "--max-bandwidth", "32", "--dirty-rate", "8", "--cpu-rate", "1"
	struct run t = migrate(SCALED, "--json", NULL);
	struct run b = migrate(SCALED, "--baseline", "all-dirty", "--json", NULL);
	double ratio;

	(void)state;
	expect_verified(&t);
	expect_verified(&b);
	assert_non_null(strstr(b.out, "\"baseline\":\"all-dirty\""));
	ratio = json_num(b.out, "pages_sent") / json_num(t.out, "pages_sent");
	print_message("all-dirty sent %.0f pages, tracking %.0f: %.1fx\n",
		      json_num(b.out, "pages_sent"), json_num(t.out, "pages_sent"), ratio);
	assert_true(ratio >= 5);
	run_free(&t);
	run_free(&b);
#undef SCALED
}

/* Attempt 1 fails with the fault's message, the guest keeps writing,
 * attempt 2 verifies; alone (--attempts 1) the fault exits 1 and a living
 * destination says it discarded what it had. */
static void fault_then_retry(const char *inject, const char *message, bool dest_lives)
{
	struct run r = migrate(SMALL, "--inject", inject, "--attempts", "2", "--json", NULL);
	const char *a;

	expect_verified(&r);
	a = strstr(r.out, "\"attempts\":[");
	assert_non_null(a);
	assert_non_null(strstr(a, "{\"ok\":false"));
	assert_non_null(strstr(a, message));
	assert_true(json_num(a, "guest_writes_after") > 0);
	assert_non_null(strstr(strstr(a, "},") + 2, "\"ok\":true"));
	run_free(&r);

	r = migrate(SMALL, "--inject", inject, NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "migration failed"));
	assert_non_null(strstr(r.err, message));
	if (dest_lives)
		assert_non_null(strstr(r.err, "partial state discarded"));
	run_free(&r);
}

static void test_drop_mid_round(void **state)
{
	(void)state;
	fault_then_retry("drop@0", "cut the connection halfway through round 0", true);
}

static void test_flipped_byte(void **state)
{
	(void)state;
	fault_then_retry("flip@20", "frame 20 from the source: checksum mismatch", true);
}

static void test_dead_destination(void **state)
{
	(void)state;
	fault_then_retry("kill-dest@0", "killed by signal 9", false);
}

/* random@11 flips a bit of frame 16, in the bulk pass (its 64 frames do not
 * depend on timing); other seeds verify, through a retry if they faulted. */
static void test_random_faults(void **state)
{
	static const char *const seeds[] = { "random@1", "random@4", "random@5", "random@9" };

	(void)state;
	fault_then_retry("random@11", "a bit of frame 16 (PAGES) flipped on the way", true);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct run r = migrate(SMALL, "--inject", seeds[i], "--attempts", "2", "--timeout",
				       "3", "--json", NULL);
		const char *failed = strstr(r.out, "{\"ok\":false");

		expect_verified(&r);
		if (failed)
			assert_non_null(strstr(failed, "(injected random@"));
		run_free(&r);
	}
}

static void test_mismatch_lists_pages(void **state)
{
	struct run r = migrate(SMALL, "--dirty-rate", "0", "--cpu-rate", "16", "--inject",
			       "no-cpu-log", "--json", NULL);

	(void)state;
	assert_int_equal(r.status, 1);
	assert_true(json_num(r.out, "verified") == 0);
	assert_true(json_num(r.out, "bad_pages_count") > 0);
	assert_non_null(strstr(r.err, "pages differ at the destination:"));
	run_free(&r);
}

static void test_two_processes(void **state)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)"iodirty", (char *)"receive", (char *)"--listen",
			 (char *)"127.0.0.1:0", (char *)"--timeout", (char *)"20", NULL };
	int pipefd[2], st;
	char line[256] = "", to[64];
	const char *port;
	FILE *f;
	pid_t pid;
	struct run r;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	assert_int_equal(posix_spawn(&pid, iodirty, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	assert_non_null(fgets(line, sizeof(line), f));
	port = strrchr(line, ':');
	assert_non_null(strstr(line, "listening on 127.0.0.1:"));
	snprintf(to, sizeof(to), "127.0.0.1:%d", atoi(port + 1));
	/* a first attempt cut mid-round, then the same receiver takes the second */
	r = migrate(SMALL, "--to", to, "--inject", "drop@0", "--attempts", "2", "--json", NULL);
	expect_verified(&r);
	run_free(&r);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "accepted the migration"));
	fclose(f);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_plot(void **state)
{
	char png[] = "/tmp/iodirty-migrate-plot-XXXXXX.png", dat[64], gp[64];
	struct stat st;
	struct run r;
	int fd;

	(void)state;
	fd = mkstemps(png, 4);
	assert_true(fd >= 0);
	close(fd);
	r = migrate(SMALL, "--plot", png, NULL);
	snprintf(dat, sizeof(dat), "%s.dat", png);
	snprintf(gp, sizeof(gp), "%s.gp", png);
	if (r.status == 1 && strstr(r.err, "needs gnuplot")) {
		unlink(png);
		run_free(&r);
		skip();
	}
	assert_int_equal(r.status, 0);
	assert_int_equal(stat(png, &st), 0);
	assert_true(st.st_size > 1000);
	unlink(png);
	unlink(dat);
	unlink(gp);
	run_free(&r);
}

static void test_bad_options(void **state)
{
	static const char *const bad[][2] = {
		{ "--mem", "3M" },	    { "--iommu", "mock" },	  { "--iopte", "1g" },
		{ "--pattern", "zigzag" }, { "--inject", "drop" },	  { "--bogus", NULL },
		{ "--baseline", "none" },  { "--max-downtime", "-1" }, { "--to", "nowhere" },
		{ "--inject", "random" },  { "--inject", "random@x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r = migrate(bad[i][0], bad[i][1], NULL);

		assert_int_equal(r.status, 2);
		assert_string_equal(r.out, "");
		assert_non_null(strstr(r.err, bad[i][1] ? bad[i][1] : bad[i][0]));
		run_free(&r);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amdv1),
		cmocka_unit_test(test_vtdss),
		cmocka_unit_test(test_arm),
		cmocka_unit_test(test_riscv),
		cmocka_unit_test(test_iopte_2m),
		cmocka_unit_test(test_patterns_and_zstd),
		cmocka_unit_test(test_baseline_sends_5x),
		cmocka_unit_test(test_drop_mid_round),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_dead_destination),
		cmocka_unit_test(test_random_faults),
		cmocka_unit_test(test_mismatch_lists_pages),
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_plot),
		cmocka_unit_test(test_bad_options),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/iodirty\n", argv[0]);
		return 2;
	}
	iodirty = argv[1];
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
