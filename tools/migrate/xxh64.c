/* SPDX-License-Identifier: MIT */
/*
 * XXH64 from the specification: four 64-bit lanes consume 32-byte stripes,
 * the lanes are merged, the tail is folded in 8-, 4- and 1-byte steps, and
 * an avalanche mixes the result.  Inputs are read little-endian.
 */
#include <string.h>

#include "xxh64.h"

#define PRIME1 0x9E3779B185EBCA87ull
#define PRIME2 0xC2B2AE3D27D4EB4Full
#define PRIME3 0x165667B19E3779F9ull
#define PRIME4 0x85EBCA77C2B2AE63ull
#define PRIME5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t read64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t read32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t lane_round(uint64_t acc, uint64_t input)
{
	acc += input * PRIME2;
	acc = rotl64(acc, 31);
	return acc * PRIME1;
}

static inline uint64_t merge_lane(uint64_t acc, uint64_t lane)
{
	acc ^= lane_round(0, lane);
	return acc * PRIME1 + PRIME4;
}

uint64_t mig_xxh64(const void *data, size_t len, uint64_t seed)
{
	/* no arithmetic on the NULL that an empty payload may be */
	const unsigned char *p = data, *end = len ? p + len : p;
	uint64_t h;

	if (len >= 32) {
		uint64_t v1 = seed + PRIME1 + PRIME2, v2 = seed + PRIME2, v3 = seed,
			 v4 = seed - PRIME1;

		do {
			v1 = lane_round(v1, read64(p));
			v2 = lane_round(v2, read64(p + 8));
			v3 = lane_round(v3, read64(p + 16));
			v4 = lane_round(v4, read64(p + 24));
			p += 32;
		} while (end - p >= 32);
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
		h = merge_lane(h, v1);
		h = merge_lane(h, v2);
		h = merge_lane(h, v3);
		h = merge_lane(h, v4);
	} else {
		h = seed + PRIME5;
	}
	h += (uint64_t)len;
	while (end - p >= 8) {
		h ^= lane_round(0, read64(p));
		h = rotl64(h, 27) * PRIME1 + PRIME4;
		p += 8;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)read32(p) * PRIME1;
		h = rotl64(h, 23) * PRIME2 + PRIME3;
		p += 4;
	}
	while (p < end) {
		h ^= (uint64_t)*p * PRIME5;
		h = rotl64(h, 11) * PRIME1;
		p++;
	}
	h ^= h >> 33;
	h *= PRIME2;
	h ^= h >> 29;
	h *= PRIME3;
	h ^= h >> 32;
	return h;
}
