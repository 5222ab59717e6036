/* SPDX-License-Identifier: MIT */
/*
 * Frame payload compression: zstd through libzstd when the build found it
 * (MIG_HAVE_ZSTD), otherwise none and --compress zstd is refused.
 */
#ifndef IODIRTY_MIGRATE_COMPRESS_H
#define IODIRTY_MIGRATE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

/* zstd's fastest level: the link, not the ratio, is what a migration races */
#define MIG_ZSTD_LEVEL 1

struct mig_codec;

bool mig_codec_available(void);

/* A compressor and decompressor; NULL when out of memory or unavailable. */
struct mig_codec *mig_codec_new(void);
void mig_codec_free(struct mig_codec *c);

/* The largest output mig_codec_compress may produce for len input bytes. */
size_t mig_codec_bound(size_t len);

/* Compresses src into dst (cap bytes); returns the compressed length, or 0
 * if it did not fit or is not smaller than the input (send it raw). */
size_t mig_codec_compress(struct mig_codec *c, void *dst, size_t cap, const void *src,
			  size_t len);

/* Decompresses exactly raw_len bytes; false if src is not a frame of that size. */
bool mig_codec_decompress(struct mig_codec *c, void *dst, size_t raw_len, const void *src,
			  size_t len);

#endif
