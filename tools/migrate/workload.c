/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "workload.h"

/* xorshift64*: cheap, and good enough to scatter writes */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* A uniform pick in [0, n) (n > 0). */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

void mig_pattern_init(struct mig_pattern_gen *gen, enum mig_pattern pattern, uint64_t npages,
		      uint32_t write_pages, unsigned int writer, unsigned int nwriters,
		      uint64_t seed)
{
	uint64_t ring;

	memset(gen, 0, sizeof(*gen));
	gen->pattern = pattern;
	gen->npages = npages;
	gen->write_pages = write_pages;
	gen->rng = (seed ^ (0x9E3779B97F4A7C15ull * (writer + 1))) | 1;
	gen->hot_pages = npages / MIG_HOT_FRACTION;
	if (gen->hot_pages < write_pages)
		gen->hot_pages = write_pages;
	gen->hot_first = (npages - gen->hot_pages) / 2;
	/* rings: equal, disjoint, spread over RAM, whole writes each */
	ring = npages / MIG_RING_FRACTION / nwriters / write_pages * write_pages;
	gen->ring_pages = ring ? ring : write_pages;
	gen->ring_first = (npages / nwriters * writer) / write_pages * write_pages;
	if (gen->ring_first + gen->ring_pages > npages)
		gen->ring_first = npages - gen->ring_pages;
}

uint64_t mig_pattern_next(struct mig_pattern_gen *gen)
{
	uint64_t slots, p;

	switch (gen->pattern) {
	case MIG_PATTERN_RING:
		p = gen->ring_first + gen->ring_pos;
		gen->ring_pos += gen->write_pages;
		if (gen->ring_pos + gen->write_pages > gen->ring_pages)
			gen->ring_pos = 0;
		return p;
	case MIG_PATTERN_HOTSET:
		if (rng_below(&gen->rng, 100) < MIG_HOT_PERCENT) {
			slots = gen->hot_pages - gen->write_pages + 1;
			return gen->hot_first + rng_below(&gen->rng, slots);
		}
		break;
	case MIG_PATTERN_UNIFORM:
		break;
	}
	slots = gen->npages - gen->write_pages + 1;
	return rng_below(&gen->rng, slots);
}

struct writer {
	struct mig_workload *w;
	pthread_t thread;
	bool started;
	int device; /* -1: the CPU writer */
	uint64_t rate;
	struct mig_pattern_gen gen;
	unsigned char *buf;
	uint64_t seq;
};

struct mig_workload {
	struct mig_guest *g;
	struct mig_workload_config cfg;
	struct writer *writers;
	unsigned int nwriters;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pause_req, stop_req;
	unsigned int parked, exited; /* under lock */
	atomic_uint_fast64_t writes;
	char error[192]; /* under lock: the first DMA failure */
};

/* Stamps each page of the write: writer, sequence, page (16 bytes). */
static void stamp(struct writer *wr, uint64_t first)
{
	for (uint32_t i = 0; i < wr->gen.write_pages; i++) {
		uint64_t *p = (uint64_t *)(wr->buf + (size_t)i * MIG_PAGE);

		p[0] = ((uint64_t)(wr->device + 2) << 56) ^ wr->seq;
		p[1] = first + i;
	}
	wr->seq++;
}

/* Parks while a pause is requested; false when the writer must stop. */
static bool park(struct mig_workload *w)
{
	pthread_mutex_lock(&w->lock);
	w->parked++;
	pthread_cond_broadcast(&w->cond);
	while (atomic_load(&w->pause_req) && !atomic_load(&w->stop_req))
		pthread_cond_wait(&w->cond, &w->lock);
	w->parked--;
	pthread_mutex_unlock(&w->lock);
	return !atomic_load(&w->stop_req);
}

static void writer_failed(struct writer *wr, int err)
{
	struct mig_workload *w = wr->w;

	pthread_mutex_lock(&w->lock);
	if (!w->error[0])
		snprintf(w->error, sizeof(w->error), "device %d: IODIRTY_TEST_OP_DMA failed: %s",
			 wr->device, strerror(-err));
	pthread_mutex_unlock(&w->lock);
}

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct mig_workload *w = wr->w;
	struct mig_guest *g = w->g;
	uint64_t len = (uint64_t)wr->gen.write_pages * MIG_PAGE;
	uint64_t start = mig_now_ns(), bytes = 0;

	while (!atomic_load(&w->stop_req)) {
		uint64_t due, now, first;

		if (atomic_load(&w->pause_req)) {
			if (!park(w))
				break;
			/* no catching up on the time spent parked */
			start = mig_now_ns();
			bytes = 0;
			continue;
		}
		now = mig_now_ns();
		due = start + (uint64_t)((double)bytes * 1e9 / (double)wr->rate);
		if (due > now) {
			/* short sleeps, so a pause is noticed quickly */
			mig_sleep_ns(due - now < 2000000 ? due - now : 2000000);
			continue;
		}
		first = mig_pattern_next(&wr->gen);
		stamp(wr, first);
		if (wr->device >= 0) {
			int err = mig_guest_dma_write(g, (unsigned int)wr->device,
						      first * MIG_PAGE, wr->buf, len);

			if (err) {
				writer_failed(wr, err);
				break;
			}
		} else {
			memcpy(g->ram + first * MIG_PAGE, wr->buf, len);
			/* after the store: a harvest between them resends it next round */
			for (uint32_t i = 0; i < wr->gen.write_pages; i++)
				mig_bit_set_atomic(g->cpu_log, first + i);
		}
		for (uint32_t i = 0; i < wr->gen.write_pages; i++)
			mig_bit_set_atomic(g->written, first + i);
		bytes += len;
		atomic_fetch_add_explicit(&w->writes, 1, memory_order_relaxed);
	}
	pthread_mutex_lock(&w->lock);
	w->exited++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int mig_workload_start(struct mig_workload **out, struct mig_guest *g,
		       const struct mig_workload_config *cfg, char *err, size_t errlen)
{
	unsigned int ndev = cfg->device_rate ? g->cfg.ndevices : 0;
	unsigned int n = ndev + (cfg->cpu_rate ? 1 : 0);
	struct mig_workload *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w || !(w->writers = calloc(n ? n : 1, sizeof(*w->writers)))) {
		free(w);
		snprintf(err, errlen, "out of memory for the workload");
		return -1;
	}
	w->g = g;
	w->cfg = *cfg;
	w->nwriters = n;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (unsigned int i = 0; i < n; i++) {
		struct writer *wr = &w->writers[i];

		wr->w = w;
		wr->device = i < ndev ? (int)i : -1;
		wr->rate = i < ndev ? cfg->device_rate / ndev : cfg->cpu_rate;
		if (!wr->rate)
			wr->rate = 1;
		mig_pattern_init(&wr->gen, cfg->pattern, g->npages, cfg->write_size / MIG_PAGE, i,
				 n, cfg->seed);
		wr->buf = malloc(cfg->write_size);
		if (!wr->buf) {
			snprintf(err, errlen, "out of memory for the workload");
			mig_workload_stop(w);
			return -1;
		}
		/* the body of every page: a compressible pattern, then stamps */
		for (uint32_t b = 0; b < cfg->write_size; b++)
			wr->buf[b] = (unsigned char)(b * 7 + i);
	}
	for (unsigned int i = 0; i < n; i++) {
		int ret = pthread_create(&w->writers[i].thread, NULL, writer_main, &w->writers[i]);

		if (ret) {
			snprintf(err, errlen, "cannot start a workload thread: %s", strerror(ret));
			mig_workload_stop(w);
			return -1;
		}
		w->writers[i].started = true;
	}
	*out = w;
	return 0;
}

static unsigned int started(const struct mig_workload *w)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < w->nwriters; i++)
		n += w->writers[i].started;
	return n;
}

void mig_workload_pause(struct mig_workload *w)
{
	unsigned int n = started(w);

	atomic_store(&w->pause_req, true);
	pthread_mutex_lock(&w->lock);
	while (w->parked + w->exited < n)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void mig_workload_resume(struct mig_workload *w)
{
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->pause_req, false);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void mig_workload_stop(struct mig_workload *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stop_req, true);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned int i = 0; i < w->nwriters; i++) {
		if (w->writers[i].started)
			pthread_join(w->writers[i].thread, NULL);
		free(w->writers[i].buf);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->writers);
	free(w);
}

uint64_t mig_workload_writes(struct mig_workload *w)
{
	return atomic_load_explicit(&w->writes, memory_order_relaxed);
}

bool mig_workload_failed(struct mig_workload *w, char *err, size_t errlen)
{
	bool failed;

	pthread_mutex_lock(&w->lock);
	failed = w->error[0] != 0;
	if (failed)
		snprintf(err, errlen, "%s", w->error);
	pthread_mutex_unlock(&w->lock);
	return failed;
}
