/* SPDX-License-Identifier: MIT */
/*
 * iodirty migrate: live-migrate an emulated guest whose devices DMA through
 * the emulated IOMMU (tools/migrate/); iodirty receive: the destination.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <iodirty/iommufd.h>

#include "bench.h"
#include "cli.h"
#include "migrate/compress.h"
#include "migrate/migrate.h"

/*
 * Defaults: a 1 GiB guest whose two devices write 128 MiB/s (a quarter of
 * the 512 MiB/s link) to a hot eighth of RAM, plus a CPU writer at 16 MiB/s.
 * A full pass takes 2 s, far over the 300 ms budget, so all-dirty never
 * converges and runs its 8 rounds (about 20 s, 9x the RAM), while tracking
 * finds about a hot set's worth after the bulk pass and converges in a few
 * rounds (a few seconds).
 */
#define DEFAULT_MEM (1ull << 30)
#define DEFAULT_DEVICES 2
#define DEFAULT_DIRTY_RATE 128
#define DEFAULT_CPU_RATE 16
#define DEFAULT_WRITE_SIZE (16u << 10)
#define DEFAULT_BANDWIDTH 512
#define DEFAULT_DOWNTIME_MS 300
#define DEFAULT_ROUNDS 8
#define DEFAULT_TIMEOUT_S 30
#define MIN_MEM (4ull << 20)
#define MAX_MEM (64ull << 30)

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iodirty %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'iodirty %s --help'\n", cmd);
	return CLI_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

/* 64M, 1G, 4096; a multiple of 4 KiB. */
static bool parse_size(const char *s, uint64_t *v)
{
	char *end;
	uint64_t shift = 0;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (shift && (*end == 'i' || *end == 'B'))
		end += *end == 'i' ? (end[1] == 'B' ? 2 : 1) : 1;
	if (*end || *v > (UINT64_MAX >> shift))
		return false;
	*v <<= shift;
	return true;
}

/* 300, 300ms, 0.3s */
static bool parse_ms(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v > 3.6e6)
		return false;
	if (!strcmp(end, "s"))
		v *= 1000;
	else if (*end && strcmp(end, "ms"))
		return false;
	*ns = (uint64_t)(v * 1e6);
	return true;
}

static bool parse_format(const char *s, uint32_t *format)
{
	static const struct { const char *name; uint32_t format; } names[] = {
		{ "amdv1", IODIRTY_TEST_FORMAT_AMDV1 }, { "vtdss", IODIRTY_TEST_FORMAT_VTDSS },
		{ "arm", IODIRTY_TEST_FORMAT_ARM_LPAE_S1 }, { "riscv", IODIRTY_TEST_FORMAT_RISCV },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*format = names[i].format;
			return true;
		}
	return false;
}

static bool parse_pattern(const char *s, enum mig_pattern *p)
{
	for (enum mig_pattern i = MIG_PATTERN_UNIFORM; i <= MIG_PATTERN_RING; i++)
		if (!strcmp(s, mig_pattern_name(i))) {
			*p = i;
			return true;
		}
	return false;
}

/* drop@ROUND, flip@FRAME, kill-dest@ROUND, random@SEED, no-cpu-log */
static bool parse_inject(const char *s, struct mig_options *o)
{
	static const struct { const char *name; enum mig_inject kind; bool at; } kinds[] = {
		{ "drop", MIG_INJECT_DROP, true },
		{ "flip", MIG_INJECT_FLIP, true },
		{ "kill-dest", MIG_INJECT_KILL_DEST, true },
		{ "random", MIG_INJECT_RANDOM, true },
		{ "no-cpu-log", MIG_INJECT_NO_CPU_LOG, false },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].name);

		if (strncmp(s, kinds[i].name, n))
			continue;
		o->inject = kinds[i].kind;
		if (!kinds[i].at)
			return !s[n];
		return s[n] == '@' && parse_u64(s + n + 1, &o->inject_at);
	}
	return false;
}

static void migrate_usage(FILE *f)
{
	fprintf(f,
		"usage: iodirty migrate [--mem SIZE] [--devices N] [--iommu FORMAT] [--iopte 4k|2m]\n"
		"                       [--hugepages] [--pattern P] [--dirty-rate MB/s] [--cpu-rate MB/s]\n"
		"                       [--max-bandwidth MB/s] [--max-downtime MS] [--max-rounds N]\n"
		"                       [--compress zstd|none] [--baseline all-dirty] [--to HOST:PORT]\n"
		"                       [--attempts N] [--json] [--plot FILE.png]\n"
		"\n"
		"Live-migrates an emulated guest: its devices DMA-write through the emulated IOMMU\n"
		"(behind one dirty-tracking HWPT, through the iommufd ABI) and a CPU writer stores to\n"
		"RAM with a software dirty log.  Pre-copy sends all pages, then in rounds the pages\n"
		"IOMMU_HWPT_GET_DIRTY_BITMAP and the CPU log report, until what is left fits the\n"
		"downtime budget at the measured bandwidth (or --max-rounds); then the devices stop\n"
		"and drain, the rest and the device state go, and the destination takes over.  It\n"
		"hashes every page; the source compares and the run fails on any difference.\n"
		"Without --to, the destination is a child process on loopback.  MB = 2^20 bytes.\n"
		"\n"
		"guest:\n"
		"  --mem SIZE            guest RAM, a multiple of 2M from 4M to 64G (default 1G)\n"
		"  --devices N           emulated devices, 1..%d (default %d)\n"
		"  --iommu FORMAT        amdv1, vtdss, arm or riscv (default amdv1)\n"
		"  --iopte 4k|2m         IOPTE size the RAM is mapped with (default 4k)\n"
		"  --hugepages           back RAM with 2 MiB huge pages (hugetlbfs, else THP)\n"
		"  --pattern P           uniform, hotset (90%% of writes to 1/8 of RAM) or ring\n"
		"                        (sequential rings, like NIC RX or a disk log); default hotset\n"
		"  --dirty-rate MB/s     DMA writes per second, all devices together (default %d)\n"
		"  --cpu-rate MB/s       CPU writes per second, 0 for none (default %d)\n"
		"  --write-size SIZE     bytes per write, 4K..64K (default 16K)\n"
		"migration:\n"
		"  --max-bandwidth MB/s  link limit, 0 for none (default %d)\n"
		"  --max-downtime MS     downtime budget, e.g. 300, 300ms, 0.3s (default %d ms)\n"
		"  --max-rounds N        pre-copy rounds including the bulk pass (default %d)\n"
		"  --compress zstd|none  compress frames with zstd (default none)\n"
		"  --baseline all-dirty  no IOMMU dirty tracking: every page is sent each round\n"
		"                        (VFIO type1), to compare\n"
		"  --to HOST:PORT        migrate to `iodirty receive --listen PORT` there\n"
		"  --attempts N          try again after a failure, 1..%d (default 1)\n"
		"  --timeout S           give up on a silent peer after S seconds (default %d)\n"
		"  --seed N              the workload's random seed (default 1)\n"
		"output:\n"
		"  --json                one JSON object on stdout\n"
		"  --plot FILE.png       chart of dirty and sent pages per round (needs gnuplot)\n"
		"testing (faults are injected in the first attempt only):\n"
		"  --inject drop@R       cut the connection halfway through round R (0: bulk pass)\n"
		"  --inject flip@F       corrupt one byte of frame F on the wire\n"
		"  --inject kill-dest@R  kill the embedded destination halfway through round R\n"
		"  --inject random@SEED  random transport faults from SEED: a flipped bit, a frame\n"
		"                        lost, cut short, repeated or reordered, a cut connection\n"
		"                        (each must be detected), and delays (to be tolerated)\n"
		"  --inject no-cpu-log   never merge the CPU dirty log (verification must fail)\n"
		"\n"
		"Exit status: 0 verified, 1 failed (the reason is printed), 2 usage error.\n",
		MIG_MAX_DEVICES, DEFAULT_DEVICES, DEFAULT_DIRTY_RATE, DEFAULT_CPU_RATE,
		DEFAULT_BANDWIDTH, DEFAULT_DOWNTIME_MS, DEFAULT_ROUNDS, MIG_MAX_ATTEMPTS,
		DEFAULT_TIMEOUT_S);
}

static int parse_migrate(struct mig_options *o, int argc, char **argv, bool *help)
{
	const char *cmd = "migrate";

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		bool missing = false;
		uint64_t n;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			*help = true;
			return 0;
		} else if (!strcmp(arg, "--json")) {
			o->json = true;
		} else if (!strcmp(arg, "--hugepages")) {
			o->guest.hugepages = true;
		} else if ((v = cli_option_value(argc, argv, &i, "--mem", &missing))) {
			if (!parse_size(v, &n) || n % MIG_HUGE || n < MIN_MEM || n > MAX_MEM)
				return usage_error(cmd, "bad --mem '%s' (a multiple of 2M, 4M..64G)", v);
			o->guest.mem_size = n;
		} else if ((v = cli_option_value(argc, argv, &i, "--devices", &missing))) {
			if (!parse_u64(v, &n) || !n || n > MIG_MAX_DEVICES)
				return usage_error(cmd, "bad --devices '%s' (1..%d)", v, MIG_MAX_DEVICES);
			o->guest.ndevices = (unsigned int)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--iommu", &missing))) {
			if (!parse_format(v, &o->guest.format))
				return usage_error(cmd, "bad --iommu '%s' (amdv1, vtdss, arm, riscv)", v);
		} else if ((v = cli_option_value(argc, argv, &i, "--iopte", &missing))) {
			if (!strcasecmp(v, "4k"))
				o->guest.iopte = MIG_PAGE;
			else if (!strcasecmp(v, "2m"))
				o->guest.iopte = MIG_HUGE;
			else
				return usage_error(cmd, "bad --iopte '%s' (4k or 2m)", v);
		} else if ((v = cli_option_value(argc, argv, &i, "--pattern", &missing))) {
			if (!parse_pattern(v, &o->workload.pattern))
				return usage_error(cmd, "bad --pattern '%s' (uniform, hotset, ring)", v);
		} else if ((v = cli_option_value(argc, argv, &i, "--dirty-rate", &missing))) {
			if (!parse_u64(v, &n) || n > 1u << 20)
				return usage_error(cmd, "bad --dirty-rate '%s' (MB/s)", v);
			o->workload.device_rate = n << 20;
		} else if ((v = cli_option_value(argc, argv, &i, "--cpu-rate", &missing))) {
			if (!parse_u64(v, &n) || n > 1u << 20)
				return usage_error(cmd, "bad --cpu-rate '%s' (MB/s)", v);
			o->workload.cpu_rate = n << 20;
		} else if ((v = cli_option_value(argc, argv, &i, "--write-size", &missing))) {
			if (!parse_size(v, &n) || !n || n % MIG_PAGE || n > 64 * 1024)
				return usage_error(cmd, "bad --write-size '%s' (4K..64K, 4K multiples)", v);
			o->workload.write_size = (uint32_t)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--max-bandwidth", &missing))) {
			if (!parse_u64(v, &n) || n > 1u << 20)
				return usage_error(cmd, "bad --max-bandwidth '%s' (MB/s, 0: none)", v);
			o->max_bandwidth = n << 20;
		} else if ((v = cli_option_value(argc, argv, &i, "--max-downtime", &missing))) {
			if (!parse_ms(v, &o->max_downtime_ns))
				return usage_error(cmd, "bad --max-downtime '%s' (e.g. 300, 300ms, 0.3s)", v);
		} else if ((v = cli_option_value(argc, argv, &i, "--max-rounds", &missing))) {
			if (!parse_u64(v, &n) || !n || n > 1000)
				return usage_error(cmd, "bad --max-rounds '%s' (1..1000)", v);
			o->max_rounds = (unsigned int)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--compress", &missing))) {
			if (!strcmp(v, "zstd"))
				o->compress = true;
			else if (!strcmp(v, "none"))
				o->compress = false;
			else
				return usage_error(cmd, "bad --compress '%s' (zstd or none)", v);
		} else if ((v = cli_option_value(argc, argv, &i, "--baseline", &missing))) {
			if (strcmp(v, "all-dirty"))
				return usage_error(cmd, "bad --baseline '%s' (all-dirty)", v);
			o->guest.tracking = false;
		} else if ((v = cli_option_value(argc, argv, &i, "--to", &missing))) {
			if (!strchr(v, ':'))
				return usage_error(cmd, "--to needs HOST:PORT, not '%s'", v);
			o->to = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--attempts", &missing))) {
			if (!parse_u64(v, &n) || !n || n > MIG_MAX_ATTEMPTS)
				return usage_error(cmd, "bad --attempts '%s' (1..%d)", v, MIG_MAX_ATTEMPTS);
			o->attempts = (unsigned int)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--timeout", &missing))) {
			if (!parse_u64(v, &n) || !n || n > 3600)
				return usage_error(cmd, "bad --timeout '%s' (1..3600 s)", v);
			o->timeout_s = (unsigned int)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--seed", &missing))) {
			if (!parse_u64(v, &o->workload.seed))
				return usage_error(cmd, "bad --seed '%s'", v);
		} else if ((v = cli_option_value(argc, argv, &i, "--plot", &missing))) {
			if (!*v)
				return usage_error(cmd, "--plot needs a file name");
			o->plot = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--inject", &missing))) {
			if (!parse_inject(v, o))
				return usage_error(cmd, "bad --inject '%s' (drop@R, flip@F, kill-dest@R, "
							"random@SEED, no-cpu-log)", v);
		} else if (!missing) {
			return cli_bad_option(cmd, arg);
		}
		if (missing)
			return usage_error(cmd, "option '%s' needs a value", arg);
	}
	if (o->compress && !mig_codec_available())
		return usage_error(cmd, "--compress zstd: this iodirty was built without libzstd "
					"(install libzstd-dev and rebuild)");
	if (o->inject == MIG_INJECT_KILL_DEST && o->to)
		return usage_error(cmd, "--inject kill-dest needs the embedded destination (no --to)");
	if (o->inject == MIG_INJECT_NO_CPU_LOG && !o->guest.tracking)
		return usage_error(cmd, "--inject no-cpu-log needs dirty tracking (no --baseline)");
	if (o->guest.iopte == MIG_HUGE && o->guest.mem_size % MIG_HUGE)
		return usage_error(cmd, "--iopte 2m needs --mem in 2M multiples");
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	struct mig_options o = {
		.guest = { .mem_size = DEFAULT_MEM, .format = IODIRTY_TEST_FORMAT_AMDV1,
			   .iopte = MIG_PAGE, .ndevices = DEFAULT_DEVICES, .tracking = true },
		.workload = { .pattern = MIG_PATTERN_HOTSET,
			      .device_rate = (uint64_t)DEFAULT_DIRTY_RATE << 20,
			      .cpu_rate = (uint64_t)DEFAULT_CPU_RATE << 20,
			      .write_size = DEFAULT_WRITE_SIZE, .seed = 1 },
		.max_bandwidth = (uint64_t)DEFAULT_BANDWIDTH << 20,
		.max_downtime_ns = DEFAULT_DOWNTIME_MS * 1000000ull,
		.max_rounds = DEFAULT_ROUNDS,
		.attempts = 1,
		.timeout_s = DEFAULT_TIMEOUT_S,
	};
	struct mig_result r;
	bool help = false;
	int status;

	status = parse_migrate(&o, argc, argv, &help);
	if (status)
		return status;
	if (help) {
		migrate_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (o.plot && !bench_have_gnuplot()) {
		fprintf(stderr, "iodirty migrate: --plot needs gnuplot, which is not installed "
				"(Debian: apt-get install gnuplot-nox)\n");
		return CLI_EXIT_ERROR;
	}
	o.progress = isatty(STDERR_FILENO);
	status = mig_migrate(&o, &r);
	if (o.json)
		mig_report_json(stdout, &o, &r);
	else
		mig_report_text(stdout, &o, &r);
	if (fflush(stdout)) {
		perror("iodirty migrate: stdout");
		status = CLI_EXIT_ERROR;
	}
	if (status) {
		fprintf(stderr, "iodirty migrate: migration failed: %s\n",
			r.attempt[r.nattempts - 1].error);
		status = CLI_EXIT_ERROR;
	}
	if (!status && o.plot)
		status = mig_plot(&o, &r);
	mig_result_free(&r);
	return status;
}

/* ---- iodirty receive ---------------------------------------------------------------------- */

static void receive_usage(FILE *f)
{
	fprintf(f,
		"usage: iodirty receive --listen [ADDR:]PORT [--timeout S]\n"
		"\n"
		"The destination of `iodirty migrate --to HOST:PORT`: receives the guest into RAM\n"
		"of its own, hashes every page for the source's verification, and accepts the\n"
		"state only when the source confirms it is identical.  A failed attempt (a broken\n"
		"connection, a corrupt frame, a mismatch) is discarded whole and the next one is\n"
		"awaited; after an accepted migration it exits 0.  ADDR defaults to every\n"
		"interface; PORT 0 picks a free one.  It prints \"listening on ADDR:PORT\".\n"
		"  --timeout S   give up on a silent source after S seconds (default %d)\n",
		DEFAULT_TIMEOUT_S);
}

static int listen_on(const char *spec)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai, *p;
	char host[256] = "", port[16], shown[300], sh[256], sp[16];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	int fd = -1, ret, one = 1, saved = 0;

	if (colon) {
		size_t n = (size_t)(colon - spec);

		if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']')
			spec++, n -= 2;
		if (n >= sizeof(host))
			return -1;
		memcpy(host, spec, n);
		host[n] = 0;
		spec = colon + 1;
	}
	snprintf(port, sizeof(port), "%s", spec);
	ret = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (ret) {
		fprintf(stderr, "iodirty receive: --listen: %s\n", gai_strerror(ret));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, p->ai_addr, p->ai_addrlen) && !listen(fd, 1))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		fprintf(stderr, "iodirty receive: cannot listen on %s%s%s: %s\n", host,
			*host ? ":" : "", port, strerror(saved));
		return -1;
	}
	if (!getsockname(fd, (struct sockaddr *)&ss, &slen) &&
	    !getnameinfo((struct sockaddr *)&ss, slen, sh, sizeof(sh), sp, sizeof(sp),
			 NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(shown, sizeof(shown), "%s:%s", sh, sp);
		printf("iodirty receive: listening on %s\n", shown);
		fflush(stdout);
	}
	return fd;
}

/* The embedded destination (--listen-fd, from iodirty migrate): one
 * connection on an inherited listening socket. */
static int receive_embedded(int lfd, unsigned int timeout_s)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	char err[320];
	int fd, status;

	/* never outlive the source */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return CLI_EXIT_ERROR;
	if (poll(&pfd, 1, (int)timeout_s * 1000) != 1) {
		fprintf(stderr, "iodirty receive (embedded): no source connected\n");
		return CLI_EXIT_ERROR;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (fd < 0) {
		fprintf(stderr, "iodirty receive (embedded): accept: %s\n", strerror(errno));
		return CLI_EXIT_ERROR;
	}
	status = mig_receive_one(fd, timeout_s, true, err, sizeof(err));
	if (status)
		fprintf(stderr, "iodirty receive (embedded destination): %s; partial state "
				"discarded\n", err);
	return status ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cmd_receive(int argc, char **argv)
{
	const char *listen_spec = NULL;
	unsigned int timeout_s = DEFAULT_TIMEOUT_S;
	int listen_fd = -1, lfd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		bool missing = false;
		uint64_t n;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			receive_usage(stdout);
			return CLI_EXIT_OK;
		} else if ((v = cli_option_value(argc, argv, &i, "--listen", &missing))) {
			if (!*v)
				return usage_error("receive", "--listen needs [ADDR:]PORT");
			listen_spec = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--listen-fd", &missing))) {
			if (!parse_u64(v, &n) || n > 1u << 20)
				return usage_error("receive", "bad --listen-fd '%s'", v);
			listen_fd = (int)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--timeout", &missing))) {
			if (!parse_u64(v, &n) || !n || n > 3600)
				return usage_error("receive", "bad --timeout '%s' (1..3600 s)", v);
			timeout_s = (unsigned int)n;
		} else if (!missing) {
			return cli_bad_option("receive", arg);
		}
		if (missing)
			return usage_error("receive", "option '%s' needs a value", arg);
	}
	if (listen_fd >= 0)
		return receive_embedded(listen_fd, timeout_s);
	if (!listen_spec)
		return usage_error("receive", "--listen [ADDR:]PORT is required");
	lfd = listen_on(listen_spec);
	if (lfd < 0)
		return CLI_EXIT_ERROR;
	for (;;) {
		char err[320];
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "iodirty receive: accept: %s\n", strerror(errno));
			close(lfd);
			return CLI_EXIT_ERROR;
		}
		if (!mig_receive_one(fd, timeout_s, false, err, sizeof(err)))
			break;
		fprintf(stderr, "iodirty receive: migration failed: %s; partial state discarded, "
				"waiting for another attempt\n", err);
	}
	close(lfd);
	return CLI_EXIT_OK;
}
