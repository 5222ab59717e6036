/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the frame fuzz target (fuzz_frame.c) with the
 * engine's own frame encoder, so that the frames carry correct checksums:
 *   BUILD/tests/fuzz/frame/fuzz-frame-seeds tests/fuzz/frame/corpus
 * Each seed is a mode byte and a source stream: whole sessions (accepted,
 * with zstd PAGES if libzstd is there, refused by the verdict), the destination's refusals
 * (absurd and odd HELLOs, bad PAGES, DONE miscounted, frames out of order,
 * an ERROR from the source, bytes after the verdict) and damaged streams
 * (checksum, seq, truncation); the SEAL seeds carry zero checksums.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "frame.h"
#include "guest.h"

#define STREAM_MAX (64u * 1024u)
#define GUEST_PAGES 16u

struct stream {
	unsigned char mode;
	bool zstd; /* PAGES go compressed, as `--compress` sends them */
	unsigned char bytes[STREAM_MAX];
	size_t len;
	uint32_t seq;
};

static void add(struct stream *s, uint8_t type, uint64_t arg, const void *payload, uint32_t len)
{
	static struct mig_codec *codec;
	unsigned char wire[STREAM_MAX];
	const void *sent = payload;
	uint32_t wire_len = len;
	uint8_t flags = 0;

	if (type == MIG_FRAME_PAGES && s->zstd) {
		size_t n;

		if (!codec && !(codec = mig_codec_new()))
			exit(1);
		n = mig_codec_compress(codec, wire, sizeof(wire), payload, len);
		if (n) {
			sent = wire;
			wire_len = (uint32_t)n;
			flags = MIG_FRAME_ZSTD;
		}
	}
	if (s->len + MIG_FRAME_HEADER + wire_len > STREAM_MAX)
		exit(1);
	mig_header_encode(s->bytes + s->len, type, flags, s->seq++, wire_len, len, arg, sent);
	memcpy(s->bytes + s->len + MIG_FRAME_HEADER, sent, wire_len);
	s->len += MIG_FRAME_HEADER + wire_len;
}

static void hello(struct stream *s, uint32_t version, uint64_t mem_size)
{
	struct mig_hello h = { .version = version, .page_size = MIG_PAGE, .mem_size = mem_size };

	add(s, MIG_FRAME_HELLO, 0, &h, sizeof(h));
}

/* One PAGES frame of count pages from first (stride apart), each filled with its index. */
static void pages(struct stream *s, uint64_t first, uint32_t count, uint64_t stride)
{
	static unsigned char payload[8 + 4 * (8 + MIG_PAGE)];
	uint32_t len = 8 + count * (8 + MIG_PAGE);

	memset(payload, 0, 8);
	memcpy(payload, &count, 4);
	for (uint32_t i = 0; i < count; i++) {
		uint64_t index = first + i * stride;

		memcpy(payload + 8 + 8 * i, &index, 8);
		memset(payload + 8 + 8 * count + i * MIG_PAGE, (int)(index + 1), MIG_PAGE);
	}
	add(s, MIG_FRAME_PAGES, 1, payload, len);
}

static void device_state(struct stream *s)
{
	static const char blob[] = "fuzz seed device state";

	add(s, MIG_FRAME_DEVICE_STATE, 0, blob, sizeof(blob));
}

/* HELLO, two PAGES frames, the device state, DONE (and optionally VERDICT). */
static void session(struct stream *s, bool with_verdict, uint64_t differ)
{
	hello(s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE);
	pages(s, 0, 2, 1);
	pages(s, 5, 3, 4);
	device_state(s);
	add(s, MIG_FRAME_DONE, 2, NULL, 0);
	if (with_verdict)
		add(s, MIG_FRAME_VERDICT, differ, NULL, 0);
}

static void save(const char *dir, const char *name, const struct stream *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&s->mode, 1, 1, f) != 1 || fwrite(s->bytes, 1, s->len, f) != s->len ||
	    fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Zeroes every frame's checksum: the harness seals SEAL streams itself. */
static void unseal(struct stream *s)
{
	for (size_t pos = 0; pos + MIG_FRAME_HEADER <= s->len;) {
		uint32_t wire_len;

		memcpy(&wire_len, s->bytes + pos + 12, 4);
		memset(s->bytes + pos + 32, 0, 8);
		pos += MIG_FRAME_HEADER + wire_len;
	}
}

int main(int argc, char **argv)
{
	static struct stream s;
	const char *dir = argc > 1 ? argv[1] : ".";

#define SEED(name, mode_, ...)                                                          \
	do {                                                                             \
		memset(&s, 0, sizeof(s));                                                \
		s.mode = (mode_);                                                        \
		__VA_ARGS__;                                                             \
		save(dir, name, &s);                                                     \
	} while (0)

	SEED("accepted", 0, session(&s, true, 0));
	if (mig_codec_available())
		SEED("accepted-zstd", 0, s.zstd = true; session(&s, true, 0));
	SEED("refused-verdict", 0, session(&s, true, 3));
	SEED("bytes-after-verdict", 0, session(&s, true, 0); s.bytes[s.len++] = 0);
	SEED("truncated-before-verdict", 0, session(&s, true, 0); s.len -= 7);
	SEED("no-verdict", 0, session(&s, false, 0));
	SEED("hello-absurd-size", 0, hello(&s, MIG_PROTOCOL_VERSION, 1ull << 41));
	SEED("hello-odd-size", 0, hello(&s, MIG_PROTOCOL_VERSION, 3 * MIG_PAGE + 1));
	SEED("hello-old-version", 0, hello(&s, 1, GUEST_PAGES * MIG_PAGE));
	SEED("pages-before-hello", 0, pages(&s, 0, 1, 1));
	SEED("pages-outside-guest", 0, hello(&s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE);
	     pages(&s, GUEST_PAGES, 1, 1));
	SEED("done-miscounted", 0, hello(&s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE);
	     pages(&s, 1, 1, 1); device_state(&s); add(&s, MIG_FRAME_DONE, 7, NULL, 0));
	SEED("verdict-before-done", 0, hello(&s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE);
	     add(&s, MIG_FRAME_VERDICT, 0, NULL, 0));
	SEED("error-from-source", 0, hello(&s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE);
	     add(&s, MIG_FRAME_ERROR, 0, "source gave up", 15));
	SEED("checksum-flipped", 0, session(&s, true, 0); s.bytes[60] ^= 1);
	SEED("seq-repeated", 0, hello(&s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE); s.seq = 0;
	     device_state(&s));
	SEED("seal-session", 1, session(&s, true, 0); unseal(&s));
	SEED("seal-number-pages-short", 3, hello(&s, MIG_PROTOCOL_VERSION, GUEST_PAGES * MIG_PAGE);
	     pages(&s, 2, 2, 1); s.bytes[MIG_FRAME_HEADER * 2 + sizeof(struct mig_hello)] = 9;
	     unseal(&s));
	return 0;
}
