/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "compress.h"

#ifdef MIG_HAVE_ZSTD
#include <zstd.h>

struct mig_codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

bool mig_codec_available(void)
{
	return true;
}

struct mig_codec *mig_codec_new(void)
{
	struct mig_codec *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx) {
		mig_codec_free(c);
		return NULL;
	}
	return c;
}

void mig_codec_free(struct mig_codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c);
}

size_t mig_codec_bound(size_t len)
{
	return ZSTD_compressBound(len);
}

size_t mig_codec_compress(struct mig_codec *c, void *dst, size_t cap, const void *src,
			  size_t len)
{
	size_t n = ZSTD_compressCCtx(c->cctx, dst, cap, src, len, MIG_ZSTD_LEVEL);

	return ZSTD_isError(n) || n >= len ? 0 : n;
}

bool mig_codec_decompress(struct mig_codec *c, void *dst, size_t raw_len, const void *src,
			  size_t len)
{
	size_t n = ZSTD_decompressDCtx(c->dctx, dst, raw_len, src, len);

	return !ZSTD_isError(n) && n == raw_len;
}

#else /* !MIG_HAVE_ZSTD */

bool mig_codec_available(void)
{
	return false;
}

struct mig_codec *mig_codec_new(void)
{
	return NULL;
}

void mig_codec_free(struct mig_codec *c)
{
	(void)c;
}

size_t mig_codec_bound(size_t len)
{
	return len;
}

size_t mig_codec_compress(struct mig_codec *c, void *dst, size_t cap, const void *src,
			  size_t len)
{
	(void)c, (void)dst, (void)cap, (void)src, (void)len;
	return 0;
}

bool mig_codec_decompress(struct mig_codec *c, void *dst, size_t raw_len, const void *src,
			  size_t len)
{
	(void)c, (void)dst, (void)raw_len, (void)src, (void)len;
	return false;
}

#endif
