/* SPDX-License-Identifier: MIT */
/*
 * The migration engine's parts: XXH64, the framed stream (round trip,
 * corruption, loss, truncation, peer errors, the clean end, every random
 * fault detected and none without a fault), the rate limiter, zstd, the
 * write patterns, the convergence rule, and the guest's harvest through
 * the iommufd ABI (DMA by a device, the CPU log, pause and drain).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <iodirty/iommufd.h>

#include "compress.h"
#include "frame.h"
#include "guest.h"
#include "migrate.h"
#include "ratelimit.h"
#include "workload.h"
#include "xxh64.h"

/* ---- XXH64 ------------------------------------------------------------------------------ */

static void test_xxh64_vectors(void **state)
{
	/* the last two match zstd's content checksums (their low 32 bits) */
	static const struct { size_t len; uint64_t hash; } v[] = {
		{ 1, 0x1f25c8d0bc1f4bb6ull },	 { 4, 0x9bb64b7d66ee9fdaull },
		{ 17, 0x1efa7025f1b97a7aull },	 { 32, 0x23c3c17ef790fd97ull },
		{ 100, 0xa61f8d4c170fe531ull },	 { 4096, 0x796398cd432797ccull },
	};
	unsigned char buf[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(mig_xxh64("", 0, 0), 0xef46db3751d8e999ull);
	assert_int_equal(mig_xxh64("abc", 3, 0), 0x44bc2cf5ad770999ull);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(mig_xxh64(buf, v[i].len, 0), v[i].hash);
	assert_int_not_equal(mig_xxh64(buf, 100, 1), mig_xxh64(buf, 100, 0));
}

/* ---- frames ------------------------------------------------------------------------------- */

struct pair {
	struct mig_conn a, b;
	unsigned char *buf;
};

static void pair_open(struct pair *p, bool compress)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(mig_conn_init(&p->a, sv[0], "destination", 0, compress, 5000), 0);
	assert_int_equal(mig_conn_init(&p->b, sv[1], "source", 0, false, 5000), 0);
	p->buf = malloc(MIG_FRAME_MAX);
	assert_non_null(p->buf);
}

static void pair_close(struct pair *p)
{
	mig_conn_close(&p->a);
	mig_conn_close(&p->b);
	free(p->buf);
}

static void round_trip(bool compress)
{
	struct pair p;
	struct mig_frame f;
	/* compressible (a pattern) and small enough for the socket buffer */
	static unsigned char payload[64 * 1024];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i % 61);
	pair_open(&p, compress);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_PAGES, 42, payload, sizeof(payload)), 0);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_DONE, 7, NULL, 0), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), 0);
	assert_int_equal(f.type, MIG_FRAME_PAGES);
	assert_int_equal(f.arg, 42);
	assert_int_equal(f.len, sizeof(payload));
	assert_memory_equal(p.buf, payload, sizeof(payload));
	assert_int_equal(mig_recv(&p.b, &f, p.buf), 0);
	assert_int_equal(f.type, MIG_FRAME_DONE);
	assert_int_equal(f.arg, 7);
	assert_int_equal(f.len, 0);
	if (compress)
		assert_true(p.a.bytes_wire < p.a.bytes_raw);
	else
		assert_int_equal(p.a.bytes_wire, p.a.bytes_raw);
	pair_close(&p);
}

static void test_frame_round_trip(void **state)
{
	(void)state;
	round_trip(false);
	if (mig_codec_available())
		round_trip(true);
}

static void test_frame_flip_detected(void **state)
{
	unsigned char payload[1000];
	struct mig_frame f;
	struct pair p;

	(void)state;
	memset(payload, 0xab, sizeof(payload));
	pair_open(&p, false);
	p.a.flip_frame = 1;
	assert_int_equal(mig_send(&p.a, MIG_FRAME_PAGES, 0, payload, sizeof(payload)), 0);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_PAGES, 1, payload, sizeof(payload)), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), -1);
	assert_non_null(strstr(p.b.error, "frame 1 from the source: checksum mismatch"));
	pair_close(&p);
}

static void test_frame_loss_and_truncation(void **state)
{
	unsigned char h[MIG_FRAME_HEADER];
	struct mig_frame f;
	struct pair p;

	(void)state;
	pair_open(&p, false);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_HELLO, 0, "x", 1), 0);
	p.a.send_seq++; /* a frame lost on the way */
	assert_int_equal(mig_send(&p.a, MIG_FRAME_HELLO, 0, "y", 1), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), -1);
	assert_non_null(strstr(p.b.error, "lost or repeated"));
	pair_close(&p);

	/* half a header, then the peer is gone */
	pair_open(&p, false);
	mig_header_encode(h, MIG_FRAME_PAGES, 0, 0, 0, 0, 0, "");
	assert_int_equal(write(p.a.fd, h, 10), 10);
	close(p.a.fd);
	p.a.fd = -1;
	assert_int_equal(mig_recv(&p.b, &f, p.buf), -1);
	assert_non_null(strstr(p.b.error, "in the middle of a frame"));
	pair_close(&p);
}

static void test_frame_peer_error(void **state)
{
	struct mig_frame f;
	struct pair p;

	(void)state;
	pair_open(&p, false);
	assert_false(mig_peer_failed(&p.a, p.buf));
	mig_send_error(&p.b, "disk full");
	assert_true(mig_peer_failed(&p.a, p.buf));
	assert_non_null(strstr(p.a.error, "the destination reported: disk full"));
	close(p.b.fd);
	p.b.fd = -1;
	assert_int_equal(mig_recv(&p.a, &f, p.buf), -1);
	assert_non_null(strstr(p.a.error, "closed the connection"));
	pair_close(&p);
}

/* The sender's half-close ends the stream; anything after the last frame
 * the receiver reads is a fault. */
static void test_frame_clean_end(void **state)
{
	struct mig_frame f;
	struct pair p;

	(void)state;
	pair_open(&p, false);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_VERDICT, 0, NULL, 0), 0);
	assert_int_equal(mig_send_end(&p.a), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), 0);
	assert_int_equal(mig_recv_end(&p.b), 0);
	pair_close(&p);

	pair_open(&p, false);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_VERDICT, 0, NULL, 0), 0);
	assert_int_equal(mig_send(&p.a, MIG_FRAME_VERDICT, 0, NULL, 0), 0);
	assert_int_equal(mig_send_end(&p.a), 0);
	assert_int_equal(mig_recv(&p.b, &f, p.buf), 0);
	assert_int_equal(mig_recv_end(&p.b), -1);
	assert_non_null(strstr(p.b.error, "sent more after its last frame"));
	pair_close(&p);
}

#define CHAOS_FRAMES 20
#define CHAOS_SEEDS 2000
#define CHAOS_TIMEOUT_MS 40 /* everything is sent before it is read: no waits */

/* One stream of PAGES frames and a DONE through the random injector on
 * both ends: it is read whole and intact exactly when nothing fired. */
static enum mig_fault chaos_stream(uint64_t seed, unsigned char *buf)
{
	unsigned char payload[1024];
	struct mig_chaos sender, receiver;
	struct mig_conn a, b;
	struct mig_frame f;
	enum mig_fault fault;
	int sv[2], got = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(mig_conn_init(&a, sv[0], "destination", 0, false, CHAOS_TIMEOUT_MS), 0);
	assert_int_equal(mig_conn_init(&b, sv[1], "source", 0, false, CHAOS_TIMEOUT_MS), 0);
	mig_chaos_init(&sender, seed);
	mig_chaos_init(&receiver, ~seed);
	a.chaos = &sender;
	b.chaos = &receiver;
	for (int i = 0; i <= CHAOS_FRAMES; i++) {
		memset(payload, i, sizeof(payload));
		if (mig_send(&a, i < CHAOS_FRAMES ? MIG_FRAME_PAGES : MIG_FRAME_DONE, (uint64_t)i,
			     payload, sizeof(payload)))
			break;
	}
	mig_send_end(&a);
	for (; got <= CHAOS_FRAMES && !mig_recv(&b, &f, buf); got++) {
		memset(payload, got, sizeof(payload));
		assert_int_equal(f.arg, got);
		assert_memory_equal(buf, payload, sizeof(payload));
	}
	fault = sender.fault != MIG_FAULT_NONE ? sender.fault : receiver.fault;
	if (fault == MIG_FAULT_NONE) {
		assert_int_equal(got, CHAOS_FRAMES + 1);
		assert_int_equal(mig_recv_end(&b), 0);
	} else if (got == CHAOS_FRAMES + 1) {
		/* every frame arrived intact: the fault was after the last one */
		assert_int_equal(mig_recv_end(&b), -1);
	}
	mig_conn_close(&a);
	mig_conn_close(&b);
	return fault;
}

static void test_frame_random_faults(void **state)
{
	unsigned int seen[MIG_FAULTS] = { 0 }, kinds = 0;
	unsigned char *buf = malloc(MIG_FRAME_MAX);

	(void)state;
	assert_non_null(buf);
	for (uint64_t seed = 0; seed < CHAOS_SEEDS && kinds < MIG_FAULTS; seed++) {
		enum mig_fault f = chaos_stream(seed, buf);

		kinds += !seen[f]++;
	}
	for (int f = 0; f < MIG_FAULTS; f++)
		if (!seen[f])
			fail_msg("no %s in %u seeds", mig_fault_name(f), CHAOS_SEEDS);
	free(buf);
}

/* ---- rate limiter, compression, convergence --------------------------------------------- */

static void test_ratelimit(void **state)
{
	struct mig_ratelimit rl;

	(void)state;
	mig_ratelimit_init(&rl, 1000, 100, 0);
	assert_int_equal(mig_ratelimit_take(&rl, 100, 0), 0);           /* the burst */
	assert_int_equal(mig_ratelimit_take(&rl, 100, 0), 100000000);   /* 100 B at 1000 B/s */
	assert_int_equal(mig_ratelimit_take(&rl, 0, 100000000), 0);     /* debt paid */
	/* idle for 10 s earns the burst only */
	assert_int_equal(mig_ratelimit_take(&rl, 300, 10100000000ull), 200000000);
	mig_ratelimit_init(&rl, 0, 0, 0);
	assert_int_equal(mig_ratelimit_take(&rl, 1u << 30, 0), 0); /* unlimited */
}

static void test_compress(void **state)
{
	static unsigned char in[65536], out[65536 + 1024], back[65536];
	struct mig_codec *c;
	size_t n;

	(void)state;
	if (!mig_codec_available()) {
		assert_null(mig_codec_new());
		skip();
	}
	c = mig_codec_new();
	assert_non_null(c);
	memset(in, 7, sizeof(in));
	n = mig_codec_compress(c, out, sizeof(out), in, sizeof(in));
	assert_true(n > 0 && n < 1000);
	assert_true(mig_codec_decompress(c, back, sizeof(back), out, n));
	assert_memory_equal(back, in, sizeof(in));
	assert_false(mig_codec_decompress(c, back, sizeof(back) - 1, out, n));
	/* random bytes do not shrink: sent raw */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(mig_xxh64(&i, sizeof(i), 0));
	assert_int_equal(mig_codec_compress(c, out, sizeof(out), in, sizeof(in)), 0);
	mig_codec_free(c);
}

static void test_convergence(void **state)
{
	(void)state;
	assert_int_equal(mig_estimate_ns(0, 0), 0);
	assert_int_equal(mig_estimate_ns(100, 0), UINT64_MAX); /* nothing measured yet */
	assert_int_equal(mig_estimate_ns(1000, 10000), 100000000);
	assert_true(mig_fits_downtime(3000, 10000, 300000000));
	assert_false(mig_fits_downtime(3001, 10000, 300000000));
	assert_true(mig_fits_downtime(0, 0, 0));
}

/* ---- write patterns ----------------------------------------------------------------------- */

static void test_patterns(void **state)
{
	const uint64_t npages = 4096;
	struct mig_pattern_gen g;
	uint64_t hot = 0, first_ring[3];

	(void)state;
	mig_pattern_init(&g, MIG_PATTERN_UNIFORM, npages, 4, 0, 1, 1);
	for (int i = 0; i < 10000; i++)
		assert_true(mig_pattern_next(&g) + 4 <= npages);

	mig_pattern_init(&g, MIG_PATTERN_HOTSET, npages, 4, 0, 1, 1);
	for (int i = 0; i < 10000; i++) {
		uint64_t p = mig_pattern_next(&g);

		assert_true(p + 4 <= npages);
		hot += p >= g.hot_first && p + 4 <= g.hot_first + g.hot_pages;
	}
	assert_int_equal(g.hot_pages, npages / MIG_HOT_FRACTION);
	assert_true(hot > 8800 && hot < 9400); /* 90% + the uniform share landing there */

	/* rings: sequential, wrapping, disjoint between writers */
	for (unsigned int w = 0; w < 3; w++) {
		mig_pattern_init(&g, MIG_PATTERN_RING, npages, 4, w, 3, 1);
		first_ring[w] = mig_pattern_next(&g);
		assert_int_equal(first_ring[w], g.ring_first);
		assert_int_equal(mig_pattern_next(&g), g.ring_first + 4);
		for (uint64_t i = 2; i < g.ring_pages / 4; i++)
			assert_true(mig_pattern_next(&g) < g.ring_first + g.ring_pages);
		assert_int_equal(mig_pattern_next(&g), g.ring_first); /* wrapped */
		if (w)
			assert_true(first_ring[w] >= first_ring[w - 1] + g.ring_pages);
	}
}

/* ---- the guest through the ABI --------------------------------------------------------- */

static void test_guest_harvest(void **state)
{
	struct mig_guest_config cfg = { .mem_size = 8u << 20, .format = IODIRTY_TEST_FORMAT_VTDSS,
					.iopte = MIG_PAGE, .ndevices = 2, .tracking = true };
	struct mig_guest g;
	char err[256];
	unsigned char buf[2 * MIG_PAGE];
	uint64_t *dirty;

	(void)state;
	memset(buf, 0x5c, sizeof(buf));
	assert_int_equal(mig_guest_create(&g, &cfg, err, sizeof(err)), 0);
	dirty = calloc(g.nwords, sizeof(uint64_t));
	assert_non_null(dirty);
	assert_int_equal(mig_guest_reset_tracking(&g, err, sizeof(err)), 0);
	assert_int_equal(mig_guest_harvest(&g, dirty, true, err, sizeof(err)), 0);
	assert_int_equal(mig_bits_count(dirty, g.nwords), 0);

	/* device 1 writes pages 5 and 6; the CPU log has page 100 */
	assert_int_equal(mig_guest_dma_write(&g, 1, 5 * MIG_PAGE, buf, sizeof(buf)), 0);
	assert_memory_equal(g.ram + 5 * MIG_PAGE, buf, sizeof(buf));
	mig_bit_set_atomic(g.cpu_log, 100);
	assert_int_equal(mig_guest_harvest(&g, dirty, false, err, sizeof(err)), 0);
	assert_int_equal(mig_bits_count(dirty, g.nwords), 2);
	assert_int_equal(dirty[0], 3ull << 5);
	assert_int_equal(mig_guest_harvest(&g, dirty, true, err, sizeof(err)), 0);
	assert_int_equal(mig_bits_count(dirty, g.nwords), 3);
	assert_int_equal(dirty[1], 1ull << (100 - 64));
	/* cleared by the reads */
	memset(dirty, 0, g.nwords * sizeof(uint64_t));
	assert_int_equal(mig_guest_harvest(&g, dirty, true, err, sizeof(err)), 0);
	assert_int_equal(mig_bits_count(dirty, g.nwords), 0);
	/* outside the mapping: a translation fault */
	assert_int_equal(mig_guest_dma_write(&g, 0, 8u << 20, buf, MIG_PAGE), -EIO);
	free(dirty);
	mig_guest_destroy(&g);
}

static void test_workload_pause_drains(void **state)
{
	struct mig_guest_config cfg = { .mem_size = 8u << 20, .format = IODIRTY_TEST_FORMAT_AMDV1,
					.iopte = MIG_HUGE, .ndevices = 2, .tracking = true };
	struct mig_workload_config wc = { .pattern = MIG_PATTERN_UNIFORM, .device_rate = 64u << 20,
					  .cpu_rate = 8u << 20, .write_size = 16384, .seed = 3 };
	struct mig_workload *w;
	struct mig_guest g;
	uint64_t *dirty, n;
	char err[256];

	(void)state;
	assert_int_equal(mig_guest_create(&g, &cfg, err, sizeof(err)), 0);
	dirty = calloc(g.nwords, sizeof(uint64_t));
	assert_non_null(dirty);
	assert_int_equal(mig_workload_start(&w, &g, &wc, err, sizeof(err)), 0);
	mig_sleep_ns(50000000);
	mig_workload_pause(w);
	n = mig_workload_writes(w);
	assert_true(n > 0);
	assert_false(mig_workload_failed(w, err, sizeof(err)));
	assert_int_equal(mig_guest_harvest(&g, dirty, true, err, sizeof(err)), 0);
	/* 2 MiB IOPTEs: a device write dirties its whole 2 MiB leaf */
	assert_true(mig_bits_count(dirty, g.nwords) % 512 == 0 ||
		    mig_bits_count(dirty, g.nwords) > 512);
	mig_sleep_ns(20000000);
	assert_int_equal(mig_workload_writes(w), n); /* paused: nothing moves */
	memset(dirty, 0, g.nwords * sizeof(uint64_t));
	assert_int_equal(mig_guest_harvest(&g, dirty, true, err, sizeof(err)), 0);
	assert_int_equal(mig_bits_count(dirty, g.nwords), 0);
	mig_workload_resume(w);
	mig_sleep_ns(30000000);
	assert_true(mig_workload_writes(w) > n);
	mig_workload_stop(w);
	free(dirty);
	mig_guest_destroy(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xxh64_vectors),
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_flip_detected),
		cmocka_unit_test(test_frame_loss_and_truncation),
		cmocka_unit_test(test_frame_peer_error),
		cmocka_unit_test(test_frame_clean_end),
		cmocka_unit_test(test_frame_random_faults),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_compress),
		cmocka_unit_test(test_convergence),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_guest_harvest),
		cmocka_unit_test(test_workload_pause_drains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
