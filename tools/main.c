/* SPDX-License-Identifier: MIT */
/*
 * iodirty: the command-line front door.  `iodirty SUBCOMMAND [ARGS]`;
 * see `iodirty help`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct cli_command cli_commands[] = {
	{ "help", "", "list the subcommands (also -h, --help)", cmd_help },
	{ "pt-demo", "[--json]",
	  "map a small table of each format, dirty a few entries, harvest them",
	  cmd_pt_demo },
	{ "bench",
	  "[--quick] [--size LIST] [--iopte LIST] [--density LIST] [--format LIST]\n"
	  "        [--reps N] [--threads N] [--json] [--plot DIR]",
	  "the dirty-tracking benchmark: harvest (iodirty against the legacy and generic_pt\n"
	  "      algorithms and a stream read of the leaf tables), threads, SIMD scans, enable\n"
	  "      cost, DMA, bitmap recording; medians of --reps (5) with min and max.\n"
	  "      Full run: 1, 16, 64 GiB x 4 KiB, 2 MiB, 1 GiB IOPTEs x 0, 0.1%, 1%, 100% dirty\n"
	  "      x every format (about 1.5 minutes on 2 cores).  --quick (about a minute):\n"
	  "      64 GiB of 4 KiB IOPTEs, 0, 0.1% and 100% dirty, every format.\n"
	  "      See 'iodirty bench --help'",
	  cmd_bench },
	{ "run", "[--] PROGRAM [ARGS]",
	  "run PROGRAM with an emulated /dev/iommu (the LD_PRELOAD shim: the Linux 6.7\n"
	  "      iommufd ABI); exit status 127 if PROGRAM is not found, 126 if it cannot run",
	  cmd_run },
	{ "migrate",
	  "[--mem SIZE] [--devices N] [--iommu FORMAT] [--iopte 4k|2m] [--pattern P]\n"
	  "        [--dirty-rate MB/s] [--max-bandwidth MB/s] [--max-downtime MS]\n"
	  "        [--baseline all-dirty] [--compress zstd] [--to HOST:PORT] [--json] [--plot FILE]",
	  "live-migrate an emulated guest whose devices DMA through the emulated IOMMU:\n"
	  "      pre-copy driven by IOMMU dirty tracking, over TCP, verified page by page.\n"
	  "      See 'iodirty migrate --help'",
	  cmd_migrate },
	{ "receive", "--listen [ADDR:]PORT",
	  "the destination of 'iodirty migrate --to HOST:PORT'", cmd_receive },
};
const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

void cli_print_usage(FILE *f)
{
	fprintf(f, "usage: iodirty [--version | -h | --help] SUBCOMMAND [ARGS]\n\n"
		   "subcommands:\n");
	for (size_t i = 0; i < cli_ncommands; i++) {
		const struct cli_command *c = &cli_commands[i];

		fprintf(f, "  %s%s%s\n      %s\n", c->name, *c->usage ? " " : "", c->usage,
			c->summary);
	}
	fprintf(f, "\noptions:\n"
		   "  --version   print \"iodirty %s\" and exit\n"
		   "  -h, --help  print this help and exit\n",
		IODIRTY_VERSION);
}

const char *cli_option_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
	size_t n = strlen(opt);
	const char *arg = argv[*i];

	if (strncmp(arg, opt, n))
		return NULL;
	if (arg[n] == '=')
		return arg + n + 1;
	if (arg[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

const char *cli_size_str(uint64_t size, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && size >= 1024 && !(size % 1024)) {
		size /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 " %s", size, units[u]);
	return buf;
}

int cli_bad_option(const char *cmd, const char *arg)
{
	fprintf(stderr, "iodirty %s: unknown %s '%s'; see 'iodirty help'\n", cmd,
		arg[0] == '-' ? "option" : "argument", arg);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		fprintf(stderr, "iodirty: no subcommand given\n");
		cli_print_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--version")) {
		if (argc > 2)
			return cli_bad_option("--version", argv[2]);
		printf("iodirty %s\n", IODIRTY_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(name, "-h") || !strcmp(name, "--help"))
		name = "help";
	for (size_t i = 0; i < cli_ncommands; i++) {
		if (!strcmp(name, cli_commands[i].name)) {
			argv[1] = (char *)cli_commands[i].name;
			return cli_commands[i].run(argc - 1, argv + 1);
		}
	}
	if (name[0] == '-')
		fprintf(stderr, "iodirty: unknown option '%s'; see 'iodirty help'\n", name);
	else
		fprintf(stderr, "iodirty: unknown subcommand '%s'; see 'iodirty help'\n", name);
	return CLI_EXIT_USAGE;
}
