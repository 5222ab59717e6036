/* SPDX-License-Identifier: MIT */
/*
 * XXH64, written from the public description of the algorithm (Yann
 * Collet's xxHash specification): the per-frame checksum of the migration
 * stream and the per-page hash of the verification.
 */
#ifndef IODIRTY_MIGRATE_XXH64_H
#define IODIRTY_MIGRATE_XXH64_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit hash of len bytes at data with the given seed. */
uint64_t mig_xxh64(const void *data, size_t len, uint64_t seed);

#endif
