/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: undefined behaviour stops the run as a
 * crash does (libFuzzer and the replayer alike), and a reader that decodes
 * little-endian fields from the input with zeros past its end, so every
 * input, however short, is a whole program.
 */
#ifndef IODIRTY_FUZZ_COMMON_H
#define IODIRTY_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Read by the UBSan runtime; one definition per target (each is one file). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

struct reader {
	const uint8_t *data;
	size_t size, pos;
};

static inline uint64_t read_le(struct reader *r, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++, r->pos++)
		if (r->pos < r->size)
			v |= (uint64_t)r->data[r->pos] << (8 * i);
	return v;
}

#endif
