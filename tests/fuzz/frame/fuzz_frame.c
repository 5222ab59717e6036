/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target (issue 7, 1d): the migration stream as the destination reads
 * it (tools/migrate: frame.c's mig_recv, dest.c's mig_receive_one).  The
 * input is what the source sends; a thread writes it into a socketpair,
 * half-closes, and reads every frame the destination answers.
 *
 * Input:
 *   u8 mode    bit 0 SEAL: the stream is cut into frames by their headers'
 *              wire length (a last incomplete frame is left as it is), and
 *              each frame's checksum is set to the right one, so mutations
 *              of headers and payloads get past the checksum; a HELLO as
 *              the first frame loses the zstd flag, and a guest RAM size in
 *              (FUZZ_MEM_MAX, 1 TiB] becomes FUZZ_MEM_MAX - 4096 + size %
 *              4096 (such guests are valid but slow to hash; larger sizes,
 *              which the destination must refuse, are kept);
 *              bit 1 NUMBER (with SEAL): each frame's seq is set to its
 *              position;
 *              without SEAL the stream goes as it is (the seeds' frames carry
 *              correct checksums).
 *   the rest   the stream: frames as frame.h describes them.
 *
 * Checks (a broken one prints why and aborts): mig_receive_one returns 0
 * (accepted) or 1, with an empty message exactly when it accepts; what the
 * destination sends back is a well-formed stream (magic, seq from 0, no
 * compression, lengths, checksums) that ends in ACCEPTED when it accepted,
 * after RECEIVED and HASHES frames covering every page, or in an ERROR frame
 * carrying its message when it did not; it accepts only if the input holds
 * a VERDICT frame with arg 0 somewhere.  ASan and LeakSanitizer check the
 * rest: no access outside its buffers, nothing allocated left behind.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "guest.h"
#include "migrate.h"
#include "fuzz_common.h"

#define MODE_SEAL 1u
#define MODE_NUMBER 2u
#define FUZZ_MEM_MAX (1ull << 20)
#define MEM_LIMIT (1ull << 40) /* dest.c's largest guest */
#define HELLO_MEM_SIZE 8u      /* offset of mem_size in struct mig_hello */
#define TIMEOUT_S 5
#define HASHES_ARG_PER_PAGE 8u /* a HASHES frame: u64 per page */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz-frame: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* SEAL (and NUMBER): see the input encoding. */
static void seal(unsigned char *s, size_t len, bool number)
{
	size_t pos = 0;

	for (uint32_t index = 0; len - pos >= MIG_FRAME_HEADER; index++) {
		unsigned char *h = s + pos;
		uint32_t wire_len = get32(h + 12);

		if (wire_len > len - pos - MIG_FRAME_HEADER)
			return;
		if (number)
			put32(h + 8, index);
		if (index == 0 && h[4] == MIG_FRAME_HELLO && wire_len == sizeof(struct mig_hello)) {
			unsigned char *size_field = h + MIG_FRAME_HEADER + HELLO_MEM_SIZE;
			uint64_t mem_size = get64(size_field);

			h[5] &= (unsigned char)~MIG_FRAME_ZSTD;
			if (mem_size > FUZZ_MEM_MAX && mem_size <= MEM_LIMIT)
				put64(size_field, FUZZ_MEM_MAX - MIG_PAGE + mem_size % MIG_PAGE);
		}
		put64(h + 32, mig_frame_checksum(h, h + MIG_FRAME_HEADER, wire_len));
		pos += MIG_FRAME_HEADER + wire_len;
	}
}

/* The source's side: sends the stream, half-closes, keeps every reply. */
struct source {
	int fd;
	const unsigned char *stream;
	size_t len;
	unsigned char *reply;
	size_t reply_len, reply_cap;
};

static void *source_run(void *arg)
{
	struct source *s = arg;
	size_t sent = 0;

	while (sent < s->len) {
		ssize_t n = send(s->fd, s->stream + sent, s->len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the destination gave up and closed */
		sent += (size_t)n;
	}
	shutdown(s->fd, SHUT_WR);
	for (;;) {
		ssize_t n;

		if (s->reply_len == s->reply_cap) {
			s->reply_cap = s->reply_cap ? 2 * s->reply_cap : 65536;
			s->reply = realloc(s->reply, s->reply_cap);
			if (!s->reply)
				fail("out of memory for the replies");
		}
		n = recv(s->fd, s->reply + s->reply_len, s->reply_cap - s->reply_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		s->reply_len += (size_t)n;
	}
	return NULL;
}

/* Whether the stream holds a frame header of a VERDICT with arg 0 (any
 * alignment: a loose test, only for "never accepted without one"). */
static bool has_accepting_verdict(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i + MIG_FRAME_HEADER <= len; i++)
		if (get32(s + i) == MIG_FRAME_MAGIC && s[i + 4] == MIG_FRAME_VERDICT &&
		    get64(s + i + 24) == 0)
			return true;
	return false;
}

/* The destination's answer must be a well-formed stream ending as ret says. */
static void check_replies(const struct source *s, int ret, const char *err, uint64_t mem_size)
{
	uint8_t last_type = 0;
	uint64_t hashed = 0;
	size_t pos = 0;
	uint32_t seq = 0;
	const unsigned char *payload = NULL;
	uint32_t payload_len = 0;

	while (pos < s->reply_len) {
		const unsigned char *h = s->reply + pos;
		uint32_t wire_len;

		if (s->reply_len - pos < MIG_FRAME_HEADER)
			fail("reply %u: a truncated header", seq);
		wire_len = get32(h + 12);
		if (get32(h) != MIG_FRAME_MAGIC || get32(h + 8) != seq || h[5] ||
		    wire_len != get32(h + 16) || wire_len > s->reply_len - pos - MIG_FRAME_HEADER ||
		    wire_len > MIG_FRAME_MAX)
			fail("reply %u: a malformed header", seq);
		payload = h + MIG_FRAME_HEADER;
		payload_len = wire_len;
		if (mig_frame_checksum(h, payload, wire_len) != get64(h + 32))
			fail("reply %u: a wrong checksum", seq);
		last_type = h[4];
		if (last_type == MIG_FRAME_HASHES) {
			if (get64(h + 24) != hashed || wire_len % HASHES_ARG_PER_PAGE)
				fail("reply %u: HASHES out of order", seq);
			hashed += wire_len / HASHES_ARG_PER_PAGE;
		}
		pos += MIG_FRAME_HEADER + wire_len;
		seq++;
	}
	if (ret == 0) {
		if (err[0])
			fail("accepted with the message \"%s\"", err);
		if (last_type != MIG_FRAME_ACCEPTED)
			fail("accepted without answering ACCEPTED");
		if (hashed != mem_size / MIG_PAGE)
			fail("accepted after hashing %llu of %llu pages", (unsigned long long)hashed,
			     (unsigned long long)(mem_size / MIG_PAGE));
		return;
	}
	if (ret != 1)
		fail("mig_receive_one returned %d", ret);
	if (!err[0])
		fail("refused without a message");
	if (last_type != MIG_FRAME_ERROR || payload_len != strlen(err) + 1 ||
	    memcmp(payload, err, payload_len))
		fail("refused (\"%s\") without telling the source in an ERROR frame", err);
}

/* The guest RAM size of a first HELLO frame (0 if there is none). */
static uint64_t hello_mem_size(const unsigned char *s, size_t len)
{
	if (len < MIG_FRAME_HEADER + sizeof(struct mig_hello) || s[4] != MIG_FRAME_HELLO)
		return 0;
	return get64(s + MIG_FRAME_HEADER + HELLO_MEM_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source src = { 0 };
	unsigned char *stream;
	char err[512];
	pthread_t thread;
	int fds[2], ret;

	if (!size)
		return 0;
	stream = malloc(size);
	if (!stream)
		fail("out of memory");
	memcpy(stream, data + 1, size - 1);
	if (data[0] & MODE_SEAL)
		seal(stream, size - 1, data[0] & MODE_NUMBER);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds))
		fail("socketpair: %s", strerror(errno));
	src = (struct source){ .fd = fds[1], .stream = stream, .len = size - 1 };
	if (pthread_create(&thread, NULL, source_run, &src))
		fail("pthread_create");
	ret = mig_receive_one(fds[0], TIMEOUT_S, true, err, sizeof(err));
	pthread_join(thread, NULL);
	close(fds[1]);
	if (ret == 0 && !has_accepting_verdict(stream, size - 1))
		fail("accepted a stream without VERDICT 0");
	check_replies(&src, ret, err, hello_mem_size(stream, size - 1));
	free(src.reply);
	free(stream);
	return 0;
}
