/* SPDX-License-Identifier: MIT */
/*
 * The iodirty CLI: a table of subcommands, one source file each.
 *
 * A subcommand gets argv with argv[0] = its own name and returns the process
 * exit status: 0 success, 1 a library error (already reported with
 * strerror), 2 a usage error (already reported on stderr).
 */
#ifndef IODIRTY_TOOLS_CLI_H
#define IODIRTY_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef IODIRTY_VERSION
#define IODIRTY_VERSION "unknown"
#endif

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,
	CLI_EXIT_USAGE = 2,
};

struct cli_command {
	const char *name;
	const char *usage;   /* arguments, after the name */
	const char *summary; /* one line for `iodirty help` */
	int (*run)(int argc, char **argv);
};

extern const struct cli_command cli_commands[];
extern const size_t cli_ncommands;

/* Subcommands (cmd_<name>.c). */
int cmd_help(int argc, char **argv);
int cmd_pt_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_receive(int argc, char **argv);

/* Prints the usage of every subcommand to f. */
void cli_print_usage(FILE *f);

/* size in the largest binary unit that divides it ("64 GiB", "4097 B"), in buf. */
const char *cli_size_str(uint64_t size, char *buf, size_t len);
/* Reports an unknown option of a subcommand and returns CLI_EXIT_USAGE. */
int cli_bad_option(const char *cmd, const char *arg);
/* argv[*i] as --opt VALUE (advancing *i) or --opt=VALUE: the value, or NULL
 * if it is not opt; *missing is set when VALUE is absent. */
const char *cli_option_value(int argc, char **argv, int *i, const char *opt, bool *missing);

/*
 * Minimal JSON writer (json.c): one value per call, commas and nesting are
 * tracked, output is compact except for a final newline from json_end().
 */
struct json {
	FILE *f;
	int depth;
	bool need_comma[16];
	bool after_key;
};

void json_begin(struct json *j, FILE *f);
void json_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_hex(struct json *j, uint64_t v); /* as the string "0x..." */
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

#endif
