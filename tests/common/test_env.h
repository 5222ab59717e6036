/* SPDX-License-Identifier: MIT */
/*
 * What the long-running tests share: their knobs from the environment
 * (IODIRTY_*_SECONDS, IODIRTY_SEED, ...), a monotonic clock, and a small
 * seeded generator (splitmix64), so a run is repeated by its seed.
 */
#ifndef IODIRTY_TESTS_TEST_ENV_H
#define IODIRTY_TESTS_TEST_ENV_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* The variable as a number (0x... allowed), or fallback when unset or empty. */
static inline uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : fallback;
}

/* The variable as a positive number, or fallback when unset, empty, not a
 * number or not positive. */
static inline double env_double(const char *name, double fallback)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (!v || !*v)
		return fallback;
	d = strtod(v, &end);
	return *end || !(d > 0) ? fallback : d;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: the next number from *state. */
static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

#endif
