/* SPDX-License-Identifier: MIT */
/* A minimal JSON writer for the CLI's --json output. */
#include <inttypes.h>
#include <math.h>

#include "cli.h"

#define JSON_MAX_DEPTH ((int)(sizeof(((struct json *)0)->need_comma) / sizeof(bool)))

void json_begin(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
	j->after_key = false;
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
}

/* Separates a value from the previous one at the current depth. */
static void json_value_prefix(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
}

static void json_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	json_value_prefix(j);
	json_escaped(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

static void json_open(struct json *j, char c)
{
	json_value_prefix(j);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->f);
}

void json_obj_open(struct json *j)
{
	json_open(j, '{');
}

void json_obj_close(struct json *j)
{
	json_close(j, '}');
}

void json_arr_open(struct json *j)
{
	json_open(j, '[');
}

void json_arr_close(struct json *j)
{
	json_close(j, ']');
}

void json_str(struct json *j, const char *s)
{
	json_value_prefix(j);
	json_escaped(j->f, s);
}

void json_u64(struct json *j, uint64_t v)
{
	json_value_prefix(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_hex(struct json *j, uint64_t v)
{
	json_value_prefix(j);
	fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

void json_double(struct json *j, double v)
{
	json_value_prefix(j);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, bool v)
{
	json_value_prefix(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	json_value_prefix(j);
	fputs("null", j->f);
}
