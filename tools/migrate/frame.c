/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "compress.h"
#include "frame.h"
#include "xxh64.h"

/* The burst of the bandwidth limiter: two full frames, so pacing is smooth
 * at a frame's granularity but an idle link earns no large credit. */
#define LIMIT_BURST (2ull * (MIG_FRAME_MAX + MIG_FRAME_HEADER))

/* Random faults: a PAGES frame is hit one time in CHAOS_PAGES_ONE_IN (there
 * are many), any other sent frame one in CHAOS_CONTROL_ONE_IN (few, but the
 * protocol waits after them), a received one one in CHAOS_RECV_ONE_IN. */
#define CHAOS_PAGES_ONE_IN 128
#define CHAOS_CONTROL_ONE_IN 8
#define CHAOS_RECV_ONE_IN 12
#define CHAOS_DELAY_ONE_IN 64
#define CHAOS_DELAY_MAX_MS 200 /* and at most a quarter of the timeout */

static const char *const type_name[MIG_FRAME_TYPES] = {
	[MIG_FRAME_HELLO] = "HELLO",	     [MIG_FRAME_PAGES] = "PAGES",
	[MIG_FRAME_DEVICE_STATE] = "DEVICE_STATE", [MIG_FRAME_DONE] = "DONE",
	[MIG_FRAME_RECEIVED] = "RECEIVED",   [MIG_FRAME_HASHES] = "HASHES",
	[MIG_FRAME_VERDICT] = "VERDICT",     [MIG_FRAME_ERROR] = "ERROR",
	[MIG_FRAME_ACCEPTED] = "ACCEPTED",
};

const char *mig_frame_type_name(uint8_t type)
{
	return type < MIG_FRAME_TYPES && type_name[type] ? type_name[type] : "?";
}

static void set_error(struct mig_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct mig_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- random faults ------------------------------------------------------------------- */

void mig_chaos_init(struct mig_chaos *ch, uint64_t seed)
{
	memset(ch, 0, sizeof(*ch));
	ch->rng = seed;
}

/* splitmix64: every seed, 0 included, gives a good sequence */
static uint64_t chaos_next(struct mig_chaos *ch)
{
	uint64_t z = (ch->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void chaos_fired(struct mig_chaos *ch, enum mig_fault fault, uint32_t frame, uint8_t type)
{
	ch->fault = fault;
	ch->fault_frame = frame;
	ch->fault_frame_type = type;
}

const char *mig_fault_name(enum mig_fault f)
{
	static const char *const names[MIG_FAULTS] = {
		[MIG_FAULT_NONE] = "none",	     [MIG_FAULT_FLIP] = "flip",
		[MIG_FAULT_DROP] = "drop",	     [MIG_FAULT_TRUNCATE] = "truncate",
		[MIG_FAULT_DUPLICATE] = "duplicate", [MIG_FAULT_REORDER] = "reorder",
		[MIG_FAULT_CUT] = "cut",	     [MIG_FAULT_FLIP_RECV] = "flip-received",
	};

	return f < MIG_FAULTS ? names[f] : "?";
}

void mig_chaos_describe(const struct mig_chaos *ch, char *buf, size_t len)
{
	/* "<before>frame N (TYPE)<after>" */
	static const char *const how[MIG_FAULTS][2] = {
		[MIG_FAULT_NONE] = { "", "" },
		[MIG_FAULT_FLIP] = { "a bit of ", " flipped on the way" },
		[MIG_FAULT_DROP] = { "", " dropped on the way" },
		[MIG_FAULT_TRUNCATE] = { "", " cut short on the way" },
		[MIG_FAULT_DUPLICATE] = { "", " sent twice" },
		[MIG_FAULT_REORDER] = { "", " overtaken by the next one" },
		[MIG_FAULT_CUT] = { "the connection cut before ", "" },
		[MIG_FAULT_FLIP_RECV] = { "a bit of received ", " flipped on the way" },
	};

	if (ch->fault == MIG_FAULT_NONE || ch->fault >= MIG_FAULTS)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%sframe %u (%s)%s", how[ch->fault][0], ch->fault_frame,
			 mig_frame_type_name(ch->fault_frame_type), how[ch->fault][1]);
}

uint64_t mig_frame_checksum(const unsigned char h[MIG_FRAME_HEADER], const void *wire,
			    uint32_t wire_len)
{
	return mig_xxh64(wire, wire_len, mig_xxh64(h, 32, 0));
}

void mig_header_encode(unsigned char h[MIG_FRAME_HEADER], uint8_t type, uint8_t flags,
		       uint32_t seq, uint32_t wire_len, uint32_t raw_len, uint64_t arg,
		       const void *wire)
{
	memset(h, 0, MIG_FRAME_HEADER);
	put32(h, MIG_FRAME_MAGIC);
	h[4] = type;
	h[5] = flags;
	put32(h + 8, seq);
	put32(h + 12, wire_len);
	put32(h + 16, raw_len);
	put64(h + 24, arg);
	put64(h + 32, mig_frame_checksum(h, wire, wire_len));
}

int mig_conn_init(struct mig_conn *c, int fd, const char *peer, uint64_t bandwidth,
		  bool compress, unsigned int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->peer = peer;
	c->timeout_ms = timeout_ms;
	c->flip_frame = -1;
	/* a peer that stops reading must not block a send forever */
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	mig_ratelimit_init(&c->limit, bandwidth, LIMIT_BURST, mig_now_ns());
	c->wire = malloc(mig_codec_bound(MIG_FRAME_MAX));
	if (!c->wire)
		return -1;
	if (mig_codec_available()) {
		c->decoder = mig_codec_new();
		if (!c->decoder)
			return -1;
	}
	if (compress) {
		c->codec = mig_codec_new();
		if (!c->codec)
			return -1;
	}
	return 0;
}

void mig_conn_close(struct mig_conn *c)
{
	if (c->chaos) {
		free(c->chaos->held);
		c->chaos->held = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->wire);
	c->wire = NULL;
	mig_codec_free(c->codec);
	mig_codec_free(c->decoder);
	c->codec = c->decoder = NULL;
}

static int send_all(struct mig_conn *c, struct iovec *iov, int n)
{
	while (n) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL);

		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				set_error(c, "timed out after %u s sending to the %s", c->timeout_ms / 1000,
					  c->peer);
			else
				set_error(c, "connection to the %s lost: %s", c->peer, strerror(errno));
			return -1;
		}
		while (n && (size_t)sent >= iov->iov_len) {
			sent -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + sent;
			iov->iov_len -= (size_t)sent;
		}
	}
	return 0;
}

static int send_frame(struct mig_conn *c, unsigned char *h, const void *wire, uint32_t wire_len)
{
	struct iovec iov[2] = { { h, MIG_FRAME_HEADER }, { (void *)wire, wire_len } };

	return send_all(c, iov, wire_len ? 2 : 1);
}

/* REORDER: the frame held back goes now. */
static int send_held(struct mig_conn *c)
{
	struct mig_chaos *ch = c->chaos;
	struct iovec iov = { ch->held, ch->held_len };
	int ret = send_all(c, &iov, 1);

	free(ch->held);
	ch->held = NULL;
	return ret;
}

/* Sends one frame through the random fault injector.  ERROR frames are
 * never hit themselves, so that the peer still learns why. */
static int chaos_send(struct mig_conn *c, uint8_t type, unsigned char *h, const void *wire,
		      uint32_t wire_len)
{
	struct mig_chaos *ch = c->chaos;
	uint32_t total = MIG_FRAME_HEADER + wire_len, keep;
	unsigned int delay_max_ms = c->timeout_ms / 4 < CHAOS_DELAY_MAX_MS ? c->timeout_ms / 4
									  : CHAOS_DELAY_MAX_MS;
	uint64_t bit;
	enum mig_fault fault;

	if (ch->held) {
		if (send_frame(c, h, wire, wire_len))
			return -1;
		chaos_fired(ch, MIG_FAULT_REORDER, ch->held_seq, ch->held_type);
		return send_held(c);
	}
	if (ch->fault != MIG_FAULT_NONE || type == MIG_FRAME_ERROR)
		return send_frame(c, h, wire, wire_len);
	if (chaos_next(ch) % CHAOS_DELAY_ONE_IN == 0) {
		mig_sleep_ns(chaos_next(ch) % (delay_max_ms + 1) * 1000000ull);
		ch->delays++;
	}
	if (chaos_next(ch) % (type == MIG_FRAME_PAGES ? CHAOS_PAGES_ONE_IN : CHAOS_CONTROL_ONE_IN))
		return send_frame(c, h, wire, wire_len);
	fault = (enum mig_fault)(MIG_FAULT_FLIP +
				 chaos_next(ch) % (MIG_FAULT_CUT - MIG_FAULT_FLIP + 1));
	/* a reorder fires only when the next frame overtakes it */
	if (fault != MIG_FAULT_REORDER)
		chaos_fired(ch, fault, c->send_seq, type);
	switch (fault) {
	case MIG_FAULT_FLIP:
		bit = chaos_next(ch) % ((uint64_t)total * 8);
		if (bit < MIG_FRAME_HEADER * 8) {
			h[bit / 8] ^= (unsigned char)(1u << bit % 8);
		} else {
			bit -= MIG_FRAME_HEADER * 8;
			if (wire != c->wire)
				memcpy(c->wire, wire, wire_len);
			wire = c->wire;
			c->wire[bit / 8] ^= (unsigned char)(1u << bit % 8);
		}
		break;
	case MIG_FAULT_DROP:
		return 0;
	case MIG_FAULT_TRUNCATE: {
		struct iovec iov[2] = { { h, MIG_FRAME_HEADER }, { (void *)wire, wire_len } };

		keep = 1 + (uint32_t)(chaos_next(ch) % (total - 1));
		if (keep <= MIG_FRAME_HEADER) {
			iov[0].iov_len = keep;
			return send_all(c, iov, 1);
		}
		iov[1].iov_len = keep - MIG_FRAME_HEADER;
		return send_all(c, iov, 2);
	}
	case MIG_FAULT_DUPLICATE:
		if (send_frame(c, h, wire, wire_len))
			return -1;
		break;
	case MIG_FAULT_REORDER:
		/* a receive before the next send sends it in order (mig_recv) */
		ch->held = malloc(total);
		if (!ch->held)
			return send_frame(c, h, wire, wire_len);
		memcpy(ch->held, h, MIG_FRAME_HEADER);
		memcpy(ch->held + MIG_FRAME_HEADER, wire, wire_len);
		ch->held_len = total;
		ch->held_seq = c->send_seq;
		ch->held_type = type;
		return 0;
	case MIG_FAULT_CUT:
		shutdown(c->fd, SHUT_RDWR);
		break;
	default: /* the receive side's, and none */
		break;
	}
	return send_frame(c, h, wire, wire_len);
}

int mig_send(struct mig_conn *c, uint8_t type, uint64_t arg, const void *payload, uint32_t len)
{
	unsigned char h[MIG_FRAME_HEADER];
	const void *wire = payload;
	uint32_t wire_len = len;
	uint8_t flags = 0;

	if (c->codec && len) {
		size_t n = mig_codec_compress(c->codec, c->wire, mig_codec_bound(MIG_FRAME_MAX),
					      payload, len);

		if (n) {
			wire = c->wire;
			wire_len = (uint32_t)n;
			flags = MIG_FRAME_ZSTD;
		}
	}
	mig_header_encode(h, type, flags, c->send_seq, wire_len, len, arg, wire);
	if (c->flip_frame == (int64_t)c->send_seq) {
		/* fault injection: one byte changes on the wire, after the checksum */
		if (wire != c->wire)
			memcpy(c->wire, wire, wire_len);
		wire = c->wire;
		if (wire_len)
			c->wire[wire_len / 2] ^= 0x5a;
		else
			h[24] ^= 0x5a;
	}
	mig_ratelimit_wait(&c->limit, MIG_FRAME_HEADER + wire_len);
	if (c->chaos ? chaos_send(c, type, h, wire, wire_len) : send_frame(c, h, wire, wire_len))
		return -1;
	c->send_seq++;
	c->frames++;
	c->bytes_wire += MIG_FRAME_HEADER + wire_len;
	c->bytes_raw += MIG_FRAME_HEADER + len;
	return 0;
}

int mig_send_end(struct mig_conn *c)
{
	if (c->chaos && c->chaos->held && send_held(c))
		return -1;
	if (shutdown(c->fd, SHUT_WR)) {
		set_error(c, "connection to the %s lost: %s", c->peer, strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads exactly len bytes within the timeout. */
static int recv_all(struct mig_conn *c, void *buf, size_t len, bool frame_start)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&pfd, 1, (int)c->timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			set_error(c, "timed out after %u s waiting for the %s", c->timeout_ms / 1000,
				  c->peer);
			return -1;
		}
		n = r < 0 ? -1 : recv(c->fd, p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_error(c, "connection to the %s lost: %s", c->peer, strerror(errno));
			return -1;
		}
		if (n == 0) {
			set_error(c, "the %s closed the connection%s", c->peer,
				  frame_start && p == (char *)buf ? "" : " in the middle of a frame");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A received frame through the random fault injector: flips a bit of its
 * header now, or returns the payload bit to flip once it is in (-1: none). */
static int64_t chaos_recv(struct mig_conn *c, unsigned char h[MIG_FRAME_HEADER])
{
	struct mig_chaos *ch = c->chaos;
	uint32_t wire_len = get32(h + 12);
	uint64_t bit;

	if (ch->fault != MIG_FAULT_NONE || h[4] == MIG_FRAME_ERROR ||
	    chaos_next(ch) % CHAOS_RECV_ONE_IN)
		return -1;
	if (wire_len > mig_codec_bound(MIG_FRAME_MAX))
		wire_len = 0; /* rejected before its payload is read */
	chaos_fired(ch, MIG_FAULT_FLIP_RECV, c->recv_seq, h[4]);
	bit = chaos_next(ch) % ((MIG_FRAME_HEADER + (uint64_t)wire_len) * 8);
	if (bit >= MIG_FRAME_HEADER * 8)
		return (int64_t)(bit - MIG_FRAME_HEADER * 8);
	h[bit / 8] ^= (unsigned char)(1u << bit % 8);
	return -1;
}

int mig_recv(struct mig_conn *c, struct mig_frame *f, void *buf)
{
	unsigned char h[MIG_FRAME_HEADER];
	uint32_t wire_len, raw_len, seq;
	uint64_t sum;
	uint8_t type, flags;
	int64_t flip_bit = -1;
	void *wire;

	/* a frame held back to be reordered goes in order: the peer may be
	 * waiting for it */
	if (c->chaos && c->chaos->held && send_held(c))
		return -1;
	if (recv_all(c, h, sizeof(h), true))
		return -1;
	if (c->chaos)
		flip_bit = chaos_recv(c, h);
	seq = get32(h + 8);
	type = h[4];
	flags = h[5];
	wire_len = get32(h + 12);
	raw_len = get32(h + 16);
	if (get32(h) != MIG_FRAME_MAGIC) {
		set_error(c, "frame %u from the %s: bad magic 0x%08x (not an iodirty migration "
			     "stream, or corrupted)", c->recv_seq, c->peer, get32(h));
		return -1;
	}
	if (raw_len > MIG_FRAME_MAX || wire_len > mig_codec_bound(MIG_FRAME_MAX) ||
	    (!(flags & MIG_FRAME_ZSTD) && wire_len != raw_len)) {
		set_error(c, "frame %u from the %s: bad length (wire %u, raw %u; corrupted header)",
			  c->recv_seq, c->peer, wire_len, raw_len);
		return -1;
	}
	wire = flags & MIG_FRAME_ZSTD ? (void *)c->wire : buf;
	if (recv_all(c, wire, wire_len, false))
		return -1;
	if (flip_bit >= 0)
		((unsigned char *)wire)[flip_bit / 8] ^= (unsigned char)(1u << flip_bit % 8);
	sum = get64(h + 32);
	if (mig_frame_checksum(h, wire, wire_len) != sum) {
		set_error(c, "frame %u from the %s: checksum mismatch (corrupted in transit)",
			  c->recv_seq, c->peer);
		return -1;
	}
	if (seq != c->recv_seq) {
		set_error(c, "frame %u from the %s arrived as number %u (lost or repeated frames)",
			  seq, c->peer, c->recv_seq);
		return -1;
	}
	if (!type || type >= MIG_FRAME_TYPES || (flags & ~MIG_FRAME_ZSTD) || get32(h + 20) ||
	    h[6] || h[7]) {
		set_error(c, "frame %u from the %s: unknown type %u or flags 0x%x", seq, c->peer,
			  type, flags);
		return -1;
	}
	if (flags & MIG_FRAME_ZSTD) {
		if (!c->decoder) {
			set_error(c, "frame %u from the %s is zstd-compressed, but this iodirty was "
				     "built without libzstd", seq, c->peer);
			return -1;
		}
		if (!mig_codec_decompress(c->decoder, buf, raw_len, wire, wire_len)) {
			set_error(c, "frame %u from the %s: bad zstd payload", seq, c->peer);
			return -1;
		}
	}
	c->recv_seq++;
	if (type == MIG_FRAME_ERROR) {
		set_error(c, "the %s reported: %.*s", c->peer, (int)(raw_len < 200 ? raw_len : 200),
			  (const char *)buf);
		return -1;
	}
	f->type = type;
	f->arg = get64(h + 24);
	f->len = raw_len;
	return 0;
}

int mig_recv_end(struct mig_conn *c)
{
	unsigned char byte;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	for (;;) {
		int r = poll(&pfd, 1, (int)c->timeout_ms);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			set_error(c, "timed out after %u s waiting for the %s to end the stream",
				  c->timeout_ms / 1000, c->peer);
			return -1;
		}
		n = r < 0 ? -1 : recv(c->fd, &byte, 1, 0);
		if (n == 0)
			return 0;
		if (n > 0) {
			set_error(c, "the %s sent more after its last frame (lost or repeated frames)",
				  c->peer);
			return -1;
		}
		if (errno != EINTR) {
			set_error(c, "connection to the %s lost: %s", c->peer, strerror(errno));
			return -1;
		}
	}
}

bool mig_peer_failed(struct mig_conn *c, void *buf)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	struct mig_frame f;

	if (poll(&pfd, 1, 0) <= 0)
		return false;
	if (mig_recv(c, &f, buf))
		return true;
	set_error(c, "the %s sent an unexpected %s frame", c->peer, mig_frame_type_name(f.type));
	return true;
}

void mig_drain(struct mig_conn *c, unsigned int max_ms)
{
	unsigned char sink[4096];
	uint64_t deadline = mig_now_ns() + max_ms * 1000000ull;

	if (shutdown(c->fd, SHUT_WR))
		return;
	for (;;) {
		uint64_t now = mig_now_ns();
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (now >= deadline || poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) <= 0 ||
		    recv(c->fd, sink, sizeof(sink), 0) <= 0)
			return;
	}
}

void mig_send_error(struct mig_conn *c, const char *msg)
{
	char saved[sizeof(c->error)];

	memcpy(saved, c->error, sizeof(saved));
	c->flip_frame = -1;
	c->limit.rate = 0;
	mig_send(c, MIG_FRAME_ERROR, 0, msg, (uint32_t)strlen(msg) + 1);
	memcpy(c->error, saved, sizeof(saved));
}
