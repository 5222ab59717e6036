/* SPDX-License-Identifier: MIT */
/*
 * Migrations back to back with random transport faults (issue 7 part 3).
 * Small guests (8-32 MiB; every IOMMU format and write pattern, 4 KiB or
 * 2 MiB IOPTEs, zstd or not) migrate through the engine (mig_migrate with
 * `--inject random@SEED --attempts 2`) to a destination thread of this
 * process, so the test sees both ends of every attempt.  It counts
 * migrations, faults injected and detected (and by what), retries and
 * verifications, and requires:
 *
 *  - a faulted attempt never verifies, and its destination never accepts;
 *  - an attempt without a fault verifies (delays are not faults);
 *  - the retry verifies, so every migration does;
 *  - the source verifies only what its destination accepted;
 *  - no migration hangs (takes over HANG_S; a watchdog aborts one that
 *    never ends), none leaks an fd or a thread.
 *
 * The one outcome allowed to differ between the ends: the destination
 * accepted and the source failed because ACCEPTED itself was corrupted on
 * its way back (counted as "acceptances lost"); the source never claims it.
 *
 * Environment: IODIRTY_SOAK_SECONDS (default 20; hours for a real soak,
 * with `meson test -t 0` or the binary run directly), IODIRTY_SEED.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <iodirty/iommufd.h>

#include "compress.h"
#include "frame.h"
#include "migrate.h"
#include "test_env.h"

#define DEFAULT_SECONDS 20.0
#define ATTEMPTS 2
#define TIMEOUT_S 3	/* of every wait: a lost last frame costs this much */
#define HANG_S 30	/* far beyond ATTEMPTS attempts' timeouts and transfers */
#define WATCHDOG_S 120	/* a migration still running then never ends: abort */
#define ACCEPT_POLL_MS 50

/* ---- the destination: a thread serving each attempt's connection -------------------- */

struct destination {
	int listen_fd;
	atomic_uint expected; /* connections to serve: the attempts, once known */
	unsigned int sessions;
	bool accepted[MIG_MAX_ATTEMPTS];
	char error[MIG_MAX_ATTEMPTS][320];
};

static void *destination_main(void *arg)
{
	struct destination *d = arg;

	while (d->sessions < atomic_load(&d->expected) && d->sessions < MIG_MAX_ATTEMPTS) {
		struct pollfd pfd = { .fd = d->listen_fd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, ACCEPT_POLL_MS) != 1)
			continue;
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		d->accepted[d->sessions] = !mig_receive_one(fd, TIMEOUT_S, true,
							   d->error[d->sessions],
							   sizeof(d->error[0]));
		d->sessions++;
	}
	return NULL;
}

static int listen_loopback(int *port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, MIG_MAX_ATTEMPTS), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

/* ---- the watchdog and the leak checks -------------------------------------------------- */

static char hang_message[256];

static void on_hang(int sig)
{
	(void)sig;
	/* async-signal-safe: the message was written before the migration */
	if (write(STDERR_FILENO, hang_message, strlen(hang_message)) < 0)
		_exit(3);
	abort();
}

static unsigned int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	unsigned int n = 0;

	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- the counts --------------------------------------------------------------------------- */

enum detector { BY_CHECKSUM, BY_SEQUENCE, BY_HEADER, BY_END_OF_STREAM, BY_TIMEOUT, BY_OTHER,
		DETECTORS };

static const char *const detector_name[DETECTORS] = {
	"checksum", "sequence", "header", "end of stream", "timeout", "other",
};

struct counts {
	unsigned int migrations, attempts, retries, verified, delays;
	unsigned int injected[MIG_FAULTS], detected[MIG_FAULTS], detected_by[DETECTORS];
	unsigned int clean_attempts, clean_verified;
	unsigned int false_verifications, false_acceptances, acceptances_lost;
	unsigned int unfaulted_failures, hangs, fd_leaks, thread_leaks;
	uint64_t slowest_ns;
};

/* What caught the fault, from the failed attempt's message (which carries
 * the destination's report when it was the one to notice). */
static enum detector detector_of(const char *error)
{
	if (strstr(error, "checksum mismatch"))
		return BY_CHECKSUM;
	if (strstr(error, "lost or repeated") || strstr(error, "PAGES frames"))
		return BY_SEQUENCE;
	if (strstr(error, "bad length") || strstr(error, "bad magic") ||
	    strstr(error, "unknown type"))
		return BY_HEADER;
	if (strstr(error, "timed out"))
		return BY_TIMEOUT;
	if (strstr(error, "closed the connection") || strstr(error, "connection to the"))
		return BY_END_OF_STREAM;
	return BY_OTHER;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A small guest of its own for each migration. */
static void pick_options(struct mig_options *o, uint64_t *rng, const char *to, uint64_t seed)
{
	static const uint32_t formats[] = { IODIRTY_TEST_FORMAT_AMDV1, IODIRTY_TEST_FORMAT_VTDSS,
					    IODIRTY_TEST_FORMAT_ARM_LPAE_S1,
					    IODIRTY_TEST_FORMAT_RISCV };

	*o = (struct mig_options){
		.guest = { .mem_size = (8ull << 20) * (1 + rng_next(rng) % 4),
			   .format = formats[rng_next(rng) % 4],
			   .iopte = rng_next(rng) % 4 ? MIG_PAGE : MIG_HUGE,
			   .ndevices = 1 + (unsigned int)(rng_next(rng) % 2), .tracking = true },
		.workload = { .pattern = (enum mig_pattern)(rng_next(rng) % 3),
			      .device_rate = (8ull << 20) * (1 + rng_next(rng) % 3),
			      .cpu_rate = 2ull << 20, .write_size = 16384, .seed = seed },
		.max_bandwidth = 128ull << 20,
		.max_downtime_ns = 300000000ull,
		.max_rounds = 8,
		.compress = mig_codec_available() && rng_next(rng) % 3 == 0,
		.to = to,
		.attempts = ATTEMPTS,
		.inject = MIG_INJECT_RANDOM,
		.inject_at = seed,
		.timeout_s = TIMEOUT_S,
		/* no per-attempt lines on stderr: this test prints its own */
		.json = true,
	};
}

/* Both ends of each attempt against the fault injected into it. */
static void check_attempts(struct counts *c, const struct mig_result *r,
			   const struct destination *d, uint64_t seed)
{
	const struct mig_chaos *ch = &r->chaos;

	for (unsigned int a = 0; a < r->nattempts; a++) {
		bool faulted = a == 0 && ch->fault != MIG_FAULT_NONE;
		bool src_ok = r->attempt[a].ok, dst_ok = a < d->sessions && d->accepted[a];
		bool acceptance_lost = faulted && ch->fault == MIG_FAULT_FLIP_RECV &&
				       ch->fault_frame_type == MIG_FRAME_ACCEPTED;
		const char *error = r->attempt[a].error;

		c->attempts++;
		if (src_ok && (faulted || !dst_ok)) {
			c->false_verifications++;
			print_error("seed %llu attempt %u: verified with fault %s, destination %s\n",
				    (unsigned long long)seed, a + 1, mig_fault_name(ch->fault),
				    dst_ok ? "accepted" : d->error[a]);
		}
		if (dst_ok && !src_ok && acceptance_lost) {
			c->acceptances_lost++;
		} else if (dst_ok && (faulted || !src_ok)) {
			c->false_acceptances++;
			print_error("seed %llu attempt %u: the destination accepted (fault %s): %s\n",
				    (unsigned long long)seed, a + 1, mig_fault_name(ch->fault),
				    error);
		}
		if (faulted) {
			c->injected[ch->fault]++;
			if (!src_ok) {
				c->detected[ch->fault]++;
				c->detected_by[detector_of(error)]++;
				if (detector_of(error) == BY_OTHER)
					print_message("seed %llu: detected otherwise: %s\n",
						      (unsigned long long)seed, error);
			}
		} else {
			c->clean_attempts++;
			c->clean_verified += src_ok;
			if (!src_ok) {
				c->unfaulted_failures++;
				print_error("seed %llu attempt %u failed without a fault: %s\n",
					    (unsigned long long)seed, a + 1, error);
			}
		}
	}
}

static void migrate_once(struct counts *c, int listen_fd, const char *to, uint64_t seed,
			 uint64_t *rng)
{
	struct destination d = { .listen_fd = listen_fd, .expected = MIG_MAX_ATTEMPTS };
	unsigned int fds = count_entries("/proc/self/fd");
	unsigned int threads = count_entries("/proc/self/task");
	struct mig_options o;
	struct mig_result r;
	pthread_t dest;
	uint64_t t0 = now_ns();
	int status;

	pick_options(&o, rng, to, seed);
	snprintf(hang_message, sizeof(hang_message),
		 "HANG: the migration with random@%llu did not end within %d s\n",
		 (unsigned long long)seed, WATCHDOG_S);
	alarm(WATCHDOG_S);
	assert_int_equal(pthread_create(&dest, NULL, destination_main, &d), 0);
	status = mig_migrate(&o, &r);
	/* each attempt connected once: the destination serves that many */
	atomic_store(&d.expected, r.nattempts);
	assert_int_equal(pthread_join(dest, NULL), 0);
	alarm(0);
	if (now_ns() - t0 > c->slowest_ns)
		c->slowest_ns = now_ns() - t0;
	if (now_ns() - t0 > HANG_S * 1000000000ull) {
		c->hangs++;
		print_error("seed %llu: the migration took %.0f s\n", (unsigned long long)seed,
			    (now_ns() - t0) / 1e9);
	}

	c->migrations++;
	c->retries += r.nattempts - 1;
	c->delays += r.chaos.delays;
	if (status == 0 && r.verified)
		c->verified++;
	else
		print_error("seed %llu: migration failed: %s\n", (unsigned long long)seed,
			    r.attempt[r.nattempts - 1].error);
	check_attempts(c, &r, &d, seed);
	mig_result_free(&r);

	if (count_entries("/proc/self/fd") != fds) {
		c->fd_leaks++;
		print_error("seed %llu: %u fds before, %u after\n", (unsigned long long)seed, fds,
			    count_entries("/proc/self/fd"));
	}
	if (count_entries("/proc/self/task") != threads) {
		c->thread_leaks++;
		print_error("seed %llu: %u threads before, %u after\n", (unsigned long long)seed,
			    threads, count_entries("/proc/self/task"));
	}
}

static void print_counts(const struct counts *c, double seconds, uint64_t seed)
{
	unsigned int injected = 0, detected = 0;

	for (int f = MIG_FAULT_NONE + 1; f < MIG_FAULTS; f++) {
		injected += c->injected[f];
		detected += c->detected[f];
	}
	print_message("migrate soak: %.0f s, seed %llu\n", seconds, (unsigned long long)seed);
	print_message("  migrations %u (verified %u), attempts %u, retries %u, slowest %.1f s\n",
		      c->migrations, c->verified, c->attempts, c->retries, c->slowest_ns / 1e9);
	print_message("  faults injected %u, detected %u; attempts without a fault %u "
		      "(verified %u), delays tolerated %u\n",
		      injected, detected, c->clean_attempts, c->clean_verified, c->delays);
	for (int f = MIG_FAULT_NONE + 1; f < MIG_FAULTS; f++)
		print_message("    %-14s injected %4u  detected %4u\n", mig_fault_name(f),
			      c->injected[f], c->detected[f]);
	print_message("  detected by:");
	for (int b = 0; b < DETECTORS; b++)
		print_message(" %s %u%s", detector_name[b], c->detected_by[b],
			      b + 1 < DETECTORS ? "," : "\n");
	print_message("  false verifications %u, false acceptances %u, acceptances lost %u, "
		      "failures without a fault %u\n",
		      c->false_verifications, c->false_acceptances, c->acceptances_lost,
		      c->unfaulted_failures);
	print_message("  hangs %u, fd leaks %u, thread leaks %u\n", c->hangs, c->fd_leaks,
		      c->thread_leaks);
}

static void test_soak_random_faults(void **state)
{
	double seconds = env_double("IODIRTY_SOAK_SECONDS", DEFAULT_SECONDS);
	uint64_t base = env_u64("IODIRTY_SEED", 1), rng = base;
	struct counts c = { 0 };
	unsigned int injected = 0, detected = 0;
	uint64_t t0 = now_ns();
	char to[32];
	int port, listen_fd;

	(void)state;
	signal(SIGALRM, on_hang);
	listen_fd = listen_loopback(&port);
	snprintf(to, sizeof(to), "127.0.0.1:%d", port);
	while ((double)(now_ns() - t0) / 1e9 < seconds)
		migrate_once(&c, listen_fd, to, base * 1000003 + c.migrations, &rng);
	close(listen_fd);
	print_counts(&c, (double)(now_ns() - t0) / 1e9, base);

	for (int f = MIG_FAULT_NONE + 1; f < MIG_FAULTS; f++) {
		injected += c.injected[f];
		detected += c.detected[f];
	}
	assert_true(c.migrations > 0);
	assert_true(injected > 0);
	assert_true(c.clean_verified > 0);
	assert_int_equal(detected, injected);
	assert_int_equal(c.false_verifications, 0);
	assert_int_equal(c.false_acceptances, 0);
	assert_int_equal(c.unfaulted_failures, 0);
	assert_int_equal(c.verified, c.migrations);
	assert_int_equal(c.hangs, 0);
	assert_int_equal(c.fd_leaks, 0);
	assert_int_equal(c.thread_leaks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak_random_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
