/* SPDX-License-Identifier: MIT */
/*
 * iodirty run -- PROGRAM [ARGS]: runs PROGRAM with the LD_PRELOAD shim
 * (uapi.md 11), so that its open("/dev/iommu") gets an emulated iommufd.
 *
 * The shim is $IODIRTY_PRELOAD if set, else libiodirty-preload.so beside
 * this executable (the build tree), else the installed one.  It goes first
 * in LD_PRELOAD; ASAN_OPTIONS gains verify_asan_link_order=0 so that
 * AddressSanitizer-built programs accept a preloaded library before their
 * runtime.  Exit status as a shell's: 127 if PROGRAM is not found, 126 if it
 * cannot be executed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define PRELOAD_NAME "libiodirty-preload.so"

enum {
	RUN_EXIT_CANNOT_EXECUTE = 126,
	RUN_EXIT_NOT_FOUND = 127,
};

static void run_usage(FILE *f)
{
	fprintf(f, "usage: iodirty run [--] PROGRAM [ARGS]\n"
		   "  runs PROGRAM with the /dev/iommu emulation preloaded (LD_PRELOAD);\n"
		   "  the shim is $IODIRTY_PRELOAD, else %s beside iodirty,\n"
		   "  else %s\n",
		PRELOAD_NAME, IODIRTY_PRELOAD_INSTALLED);
}

/* path beside /proc/self/exe, if that file exists; false otherwise */
static bool shim_beside_exe(char *path, size_t size)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (len <= 0)
		return false;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(path, size, "%s/%s", exe, PRELOAD_NAME) >= size)
		return false;
	return access(path, R_OK) == 0;
}

/* The shim's absolute path into path; false (reported) if there is none. */
static bool find_shim(char *path)
{
	const char *env = getenv("IODIRTY_PRELOAD");
	char beside[PATH_MAX];

	if (env && *env) {
		if (!realpath(env, path)) {
			fprintf(stderr, "iodirty run: IODIRTY_PRELOAD=%s: %s\n", env, strerror(errno));
			return false;
		}
	} else if (shim_beside_exe(beside, sizeof(beside))) {
		strcpy(path, beside);
	} else if (!realpath(IODIRTY_PRELOAD_INSTALLED, path)) {
		fprintf(stderr, "iodirty run: the shim %s is not beside iodirty nor at %s (%s); "
				"set IODIRTY_PRELOAD\n",
			PRELOAD_NAME, IODIRTY_PRELOAD_INSTALLED, strerror(errno));
		return false;
	}
	/* ld.so splits LD_PRELOAD at colons and spaces */
	if (strpbrk(path, ": \t")) {
		fprintf(stderr, "iodirty run: the shim's path '%s' has a colon or a space, which "
				"LD_PRELOAD cannot hold\n",
			path);
		return false;
	}
	return true;
}

/* Adds part to the environment variable name, before or after its old
 * value, with a colon between them. */
static bool env_add(const char *name, const char *part, bool before)
{
	const char *old = getenv(name);
	char *value;
	int ret;

	if (!old || !*old)
		return setenv(name, part, 1) == 0;
	if (asprintf(&value, "%s:%s", before ? part : old, before ? old : part) < 0)
		return false;
	ret = setenv(name, value, 1);
	free(value);
	return ret == 0;
}

int cmd_run(int argc, char **argv)
{
	char shim[PATH_MAX];
	int first = 1, err;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		run_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	else if (argc > 1 && argv[1][0] == '-')
		return cli_bad_option(argv[0], argv[1]);
	if (first >= argc) {
		fprintf(stderr, "iodirty run: no program given\n");
		run_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!find_shim(shim))
		return CLI_EXIT_ERROR;
	/* both lists take colons */
	if (!env_add("LD_PRELOAD", shim, true) ||
	    !env_add("ASAN_OPTIONS", "verify_asan_link_order=0", false)) {
		fprintf(stderr, "iodirty run: cannot set the environment: %s\n", strerror(errno));
		return CLI_EXIT_ERROR;
	}
	fflush(NULL);
	execvp(argv[first], argv + first);
	err = errno;
	fprintf(stderr, "iodirty run: %s: %s\n", argv[first],
		err == ENOENT && !strchr(argv[first], '/') ? "command not found" : strerror(err));
	return err == ENOENT ? RUN_EXIT_NOT_FOUND : RUN_EXIT_CANNOT_EXECUTE;
}
