/* SPDX-License-Identifier: MIT */
/*
 * The destination: receives into RAM of its own, answers the switch-over,
 * hashes every page for the source's verification, and accepts the state
 * only on the source's verdict and a clean end of its stream.  Anything else (a corrupt or missing frame,
 * a closed connection, a timeout, a mismatch) discards what it received.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frame.h"
#include "guest.h"
#include "migrate.h"
#include "xxh64.h"

#define HASHES_PER_FRAME 8192u /* 64 KiB of hashes */
#define MAX_DEVICE_STATE 4096u
#define MAX_MEM (1ull << 40)
#define DRAIN_MS 1000u /* for the source to read our ERROR and close */

struct dest {
	struct mig_conn conn;
	unsigned char *buf;
	unsigned char *ram;
	uint64_t mem_size, npages, page_frames;
	unsigned char state[MAX_DEVICE_STATE];
	uint32_t state_len;
	char *err;
	size_t errlen;
};

static int fail(struct dest *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct dest *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int recv_frame(struct dest *d, struct mig_frame *f)
{
	return mig_recv(&d->conn, f, d->buf) ? fail(d, "%s", d->conn.error) : 0;
}

static int hello(struct dest *d)
{
	struct mig_hello h;
	struct mig_frame f;

	if (recv_frame(d, &f))
		return -1;
	if (f.type != MIG_FRAME_HELLO || f.len != sizeof(h))
		return fail(d, "the stream does not start with HELLO");
	memcpy(&h, d->buf, sizeof(h));
	if (h.version != MIG_PROTOCOL_VERSION || h.page_size != MIG_PAGE)
		return fail(d, "protocol version %u, page size %u: this destination speaks "
			       "version %u with %u-byte pages",
			    h.version, h.page_size, MIG_PROTOCOL_VERSION, MIG_PAGE);
	if (!h.mem_size || h.mem_size % MIG_PAGE || h.mem_size > MAX_MEM)
		return fail(d, "bad guest RAM size %llu", (unsigned long long)h.mem_size);
	d->ram = mmap(NULL, h.mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (d->ram == MAP_FAILED) {
		d->ram = NULL;
		return fail(d, "cannot map %llu MiB for the guest: %s",
			    (unsigned long long)(h.mem_size >> 20), strerror(errno));
	}
	d->mem_size = h.mem_size;
	d->npages = h.mem_size / MIG_PAGE;
	return 0;
}

static int pages(struct dest *d, const struct mig_frame *f)
{
	uint32_t count;
	const unsigned char *data;

	if (f->len < 8)
		return fail(d, "PAGES frame too short");
	memcpy(&count, d->buf, 4);
	if (!count || f->len != 8 + (uint64_t)count * (8 + MIG_PAGE))
		return fail(d, "PAGES frame of %u bytes cannot hold %u pages", f->len, count);
	data = d->buf + 8 + 8 * (size_t)count;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t page;

		memcpy(&page, d->buf + 8 + 8 * (size_t)i, 8);
		if (page >= d->npages)
			return fail(d, "page %llu is outside the guest's %llu pages",
				    (unsigned long long)page, (unsigned long long)d->npages);
		memcpy(d->ram + page * MIG_PAGE, data + (size_t)i * MIG_PAGE, MIG_PAGE);
	}
	d->page_frames++;
	return 0;
}

/* Everything up to DONE. */
static int receive_state(struct dest *d)
{
	for (;;) {
		struct mig_frame f;

		if (recv_frame(d, &f))
			return -1;
		switch (f.type) {
		case MIG_FRAME_PAGES:
			if (pages(d, &f))
				return -1;
			break;
		case MIG_FRAME_DEVICE_STATE:
			if (f.len > MAX_DEVICE_STATE)
				return fail(d, "device state of %u bytes is too large", f.len);
			memcpy(d->state, d->buf, f.len);
			d->state_len = f.len;
			break;
		case MIG_FRAME_DONE:
			if (f.arg != d->page_frames)
				return fail(d, "the source sent %llu PAGES frames, %llu arrived",
					    (unsigned long long)f.arg,
					    (unsigned long long)d->page_frames);
			if (!d->state_len)
				return fail(d, "no device state before DONE");
			return 0;
		default:
			return fail(d, "unexpected frame type %u before DONE", f.type);
		}
	}
}

static int send_hashes(struct dest *d)
{
	for (uint64_t first = 0; first < d->npages; first += HASHES_PER_FRAME) {
		uint64_t n = d->npages - first < HASHES_PER_FRAME ? d->npages - first
								 : HASHES_PER_FRAME;

		for (uint64_t i = 0; i < n; i++) {
			uint64_t h = mig_xxh64(d->ram + (first + i) * MIG_PAGE, MIG_PAGE, 0);

			memcpy(d->buf + 8 * i, &h, 8);
		}
		if (mig_send(&d->conn, MIG_FRAME_HASHES, first, d->buf, (uint32_t)(8 * n)))
			return fail(d, "%s", d->conn.error);
	}
	return 0;
}

static int session(struct dest *d)
{
	struct mig_frame f;

	if (hello(d) || receive_state(d))
		return -1;
	/* complete: this is where a VMM would resume the guest (switch-over) */
	if (mig_send(&d->conn, MIG_FRAME_RECEIVED, mig_xxh64(d->state, d->state_len, 0), NULL, 0))
		return fail(d, "%s", d->conn.error);
	if (send_hashes(d) || recv_frame(d, &f))
		return -1;
	if (f.type != MIG_FRAME_VERDICT)
		return fail(d, "unexpected frame type %u instead of the verdict", f.type);
	if (f.arg)
		return fail(d, "the source found %llu page%s that differ", (unsigned long long)f.arg,
			    f.arg == 1 ? "" : "s");
	/* accepted only on a clean end: a verdict cut short, lost or followed by
	 * anything is a faulty stream.  If ACCEPTED is then lost, the source
	 * fails and keeps its guest running: the verified copy here is never
	 * used by it, so neither side believes in a state it does not have. */
	if (mig_recv_end(&d->conn))
		return fail(d, "%s", d->conn.error);
	if (mig_send(&d->conn, MIG_FRAME_ACCEPTED, 0, NULL, 0))
		return fail(d, "%s", d->conn.error);
	return 0;
}

int mig_receive_one(int fd, unsigned int timeout_s, bool quiet, char *err, size_t errlen)
{
	struct dest d = { .err = err, .errlen = errlen };
	int ret;

	err[0] = 0;
	if (mig_conn_init(&d.conn, fd, "source", 0, false, timeout_s * 1000) ||
	    !(d.buf = malloc(MIG_FRAME_MAX))) {
		mig_conn_close(&d.conn);
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	ret = session(&d);
	if (ret) {
		/* tell the source why (best effort: the link may be what failed) */
		mig_send_error(&d.conn, err);
		mig_drain(&d.conn, d.conn.timeout_ms < DRAIN_MS ? d.conn.timeout_ms : DRAIN_MS);
	} else if (!quiet) {
		printf("iodirty receive: accepted the migration: %llu MiB of guest RAM in %llu "
		       "frames, every page verified\n",
		       (unsigned long long)(d.mem_size >> 20),
		       (unsigned long long)d.conn.recv_seq);
		fflush(stdout);
	}
	mig_conn_close(&d.conn);
	free(d.buf);
	/* accepted or discarded, the received RAM goes with this process's
	 * session; a partial state is never kept */
	if (d.ram)
		munmap(d.ram, d.mem_size);
	return ret ? 1 : 0;
}
