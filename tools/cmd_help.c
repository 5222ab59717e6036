/* SPDX-License-Identifier: MIT */
/* iodirty help: lists the subcommands. */
#include <stdio.h>

#include "cli.h"

int cmd_help(int argc, char **argv)
{
	if (argc > 1)
		return cli_bad_option(argv[0], argv[1]);
	printf("iodirty %s: IOMMU dirty tracking in userspace\n\n", IODIRTY_VERSION);
	cli_print_usage(stdout);
	return CLI_EXIT_OK;
}
