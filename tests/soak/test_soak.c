/* SPDX-License-Identifier: MIT */
/*
 * Load and soak through the ABI (issue 7 part 3): everything a migration
 * does at once, on one /dev/iommu context opened with iodirty_open().
 *
 *   - DEVICES devices of five formats (mock, AMD v1, VT-d, ARM, RISC-V),
 *     each on its format's dirty-tracking HWPT (uapi.md 5.5), one DMA thread
 *     each (IODIRTY_TEST_OP_DMA, uapi.md 12) writing sequence-stamped data to
 *     random pages of the guest range, half of the writes to a small hot
 *     set; now and then a write goes to a scratch range instead;
 *   - a mapper thread maps and unmaps the scratch slots of the same IOAS
 *     (uapi.md 5.3, 5.4), some of them read-only, so scratch writes succeed
 *     or fault (EIO, counted by IODIRTY_TEST_OP_FAULTS);
 *   - the main thread harvests every HWPT (GET_DIRTY_BITMAP, uapi.md 5.8)
 *     and copies each reported page into a shadow (the check of
 *     tests/hw/test_hw_stress.c), and cycles dirty tracking off and on
 *     (SET_DIRTY_TRACKING, 5.7) on one HWPT after another.
 *
 * While an HWPT's tracking is off its devices' writes are not reported, and
 * the enable wipes what was recorded (uapi.md 4.4), so after every enable
 * the shadow restarts from a full copy of the guest range.  That copy is
 * sound: the enable's clean pass and gate switch invalidate and drain
 * (hardware.md 5), so every write begun before it has landed by then, and
 * every later write sets a D bit that a later harvest reports.
 *
 * Every CHECK_SECONDS, and at the end, tracking is back on everywhere (an
 * HWPT that is off reports nothing), the DMA threads park (the mapper runs
 * on) and a final harvest is made: then the shadow must equal the guest
 * range byte for byte; pages that differ are lost writes and must be 0.  A
 * reported page that no device ever wrote is also an error.
 *
 * Guest memory is written by the emulated DMA with relaxed atomic units and
 * read by the harvester with idt_guest_copy() in the same units, so the
 * by-design race is TSan clean; the byte compares run while the writers are
 * parked, after a mutex handshake.
 *
 * Environment: IODIRTY_SOAK_SECONDS (default 8; set hours for a real soak,
 * with `meson test -t 0` or the binary run directly), IODIRTY_SEED.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <cmocka.h>

#define IODIRTY_NO_SYSTEM_IOMMUFD /* the 6.7 layouts, whatever the system has */
#include <iodirty/dev_iommu.h>
#include <iodirty/hw.h>
#include <iodirty/iommufd.h>
#include "test_env.h"

#define PAGE 4096ull
/* The guest range: four adjacent areas (one contiguous walk, uapi.md 6),
 * inside the mock aperture [16 MiB, 2 GiB). */
#define GUEST_IOVA (64ull << 20)
#define GUEST_AREAS 4
#define AREA_PAGES 512ull
#define GUEST_PAGES (GUEST_AREAS * AREA_PAGES)
#define GUEST_SIZE (GUEST_PAGES * PAGE)
#define HOT_PAGES 16
/* The scratch slots the mapper maps and unmaps, far from the guest range. */
#define SCRATCH_IOVA (512ull << 20)
#define SCRATCH_SLOTS 8
#define SCRATCH_SLOT_SIZE (16 * PAGE)
#define SCRATCH_STRIDE (1ull << 20)
/* One DMA in SCRATCH_ONE_IN goes to a scratch slot. */
#define SCRATCH_ONE_IN 16
/* Tracking of one HWPT goes off every TOGGLE_PERIOD harvest rounds of the
 * main loop, and back on OFF_ROUNDS rounds later. */
#define TOGGLE_PERIOD 8
#define OFF_ROUNDS 3
#define CHECK_SECONDS 1.0
#define DEFAULT_SECONDS 8.0
#define DEFAULT_SEED 0x50a4ull

#define assert_u64(a, b) assert_int_equal((uint64_t)(a), (uint64_t)(b))

static const uint32_t formats[] = {
	IODIRTY_TEST_FORMAT_MOCK,          IODIRTY_TEST_FORMAT_AMDV1, IODIRTY_TEST_FORMAT_VTDSS,
	IODIRTY_TEST_FORMAT_ARM_LPAE_S1, IODIRTY_TEST_FORMAT_RISCV,
};
#define FORMATS (sizeof(formats) / sizeof(formats[0]))
/* Devices per format, by index in formats[]: eight in all. */
static const unsigned int devices_of_format[FORMATS] = { 1, 2, 2, 1, 2 };
#define DEVICES 8

struct soak;

struct worker {
	struct soak *s;
	uint32_t stdev;
	uint32_t index;
	pthread_t thread;
	/* written by the thread, read after the join */
	uint64_t guest_writes;
	uint64_t scratch_writes;
	uint64_t scratch_faults; /* scratch DMAs that returned EIO */
	uint64_t failures;       /* any other outcome */
};

struct soak {
	int fd;
	uint32_t ioas;
	uint32_t hwpt[FORMATS];
	struct worker workers[DEVICES];
	uint64_t seed;
	uint8_t *guest;
	uint8_t *shadow;
	uint8_t *scratch;
	_Atomic uint8_t *written; /* per guest page: a device chose it (set before the DMA) */
	atomic_bool stop;
	/* the park handshake of the DMA threads */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	atomic_bool park_requested;
	unsigned int parked;
	/* the mapper's counts, read after the join */
	pthread_t mapper;
	uint64_t map_ops;
	uint64_t mapper_failures;
};

struct harvest_totals {
	uint64_t rounds;
	uint64_t gets;
	uint64_t pages_reported;
	uint64_t never_written;
	uint64_t get_failures;
	uint64_t toggles; /* disable + enable pairs */
	uint64_t checkpoints;
	uint64_t lost_writes;
	/* the enable/disable cycle: main-loop ticks, and the HWPT whose
	 * tracking is off (index in formats[], or -1) since which tick */
	uint64_t ticks;
	int off;
	uint64_t off_since;
};

/* ---- the ABI ------------------------------------------------------------------------- */

/* 0 or the ioctl's errno. */
static int ioc(int fd, unsigned long request, void *arg)
{
	return iodirty_ioctl(fd, request, arg) ? errno : 0;
}

static int map_fixed(int fd, uint32_t ioas, void *buf, uint64_t length, uint64_t iova,
		     uint32_t prot_flags)
{
	struct iommu_ioas_map cmd = { .size = sizeof(cmd),
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | prot_flags,
				      .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = length,
				      .iova = iova };

	return ioc(fd, IOMMU_IOAS_MAP, &cmd);
}

/* 0 or the errno; *unmapped gets the bytes unmapped. */
static int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t length, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = length };
	int ret = ioc(fd, IOMMU_IOAS_UNMAP, &cmd);

	*unmapped = cmd.length;
	return ret;
}

/* DEVICE_NEW on an IOAS or HWPT: ids[] = stdev, hwpt, idev. */
static void device_new(int fd, uint32_t pt_id, uint32_t format, uint32_t ids[3])
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IODIRTY_TEST_OP_DEVICE_NEW,
					.id = pt_id, .device_new = { .format = format } };

	assert_int_equal(ioc(fd, IOMMU_TEST_CMD, &cmd), 0);
	ids[0] = cmd.device_new.out_stdev_id;
	ids[1] = cmd.device_new.out_hwpt_id;
	ids[2] = cmd.device_new.out_idev_id;
}

static int set_dirty(int fd, uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return ioc(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int get_dirty(int fd, uint32_t hwpt, uint64_t iova, uint64_t length, void *bitmap)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = { .size = sizeof(cmd), .hwpt_id = hwpt,
						   .iova = iova, .length = length,
						   .page_size = PAGE, .data = (uintptr_t)bitmap };

	return ioc(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* 0 or the errno; *done gets the bytes moved (written back on EIO too). */
static int dma_write(int fd, uint32_t stdev, uint64_t iova, const void *src, uint64_t length,
		     uint64_t *done)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IODIRTY_TEST_OP_DMA, .id = stdev,
		.dma = { .flags = IODIRTY_TEST_DMA_WRITE, .iova = iova, .length = length,
			 .uptr = (uintptr_t)src },
	};
	int ret = ioc(fd, IOMMU_TEST_CMD, &cmd);

	*done = cmd.dma.done;
	return ret;
}

static uint64_t faults_of(int fd, uint32_t stdev)
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IODIRTY_TEST_OP_FAULTS,
					.id = stdev };

	assert_int_equal(ioc(fd, IOMMU_TEST_CMD, &cmd), 0);
	return cmd.faults.count;
}

/* ---- the DMA threads ------------------------------------------------------------------ */

/* Waits while the main thread holds the writers parked. */
static void worker_park(struct soak *s)
{
	pthread_mutex_lock(&s->park_lock);
	s->parked++;
	pthread_cond_broadcast(&s->park_cond);
	while (atomic_load(&s->park_requested))
		pthread_cond_wait(&s->park_cond, &s->park_lock);
	s->parked--;
	pthread_mutex_unlock(&s->park_lock);
}

/* A scratch slot may be mapped writable, read-only or not at all: the write
 * lands or faults, and nothing else may happen. */
static void worker_scratch_write(struct worker *w, uint64_t r, const uint64_t *buf)
{
	uint64_t slot = r % SCRATCH_SLOTS;
	uint64_t offset = ((r >> 8) % SCRATCH_SLOT_SIZE) & ~7ull;
	uint64_t length = SCRATCH_SLOT_SIZE - offset < PAGE ? SCRATCH_SLOT_SIZE - offset : PAGE;
	uint64_t done;
	int ret = dma_write(w->s->fd, w->stdev, SCRATCH_IOVA + slot * SCRATCH_STRIDE + offset, buf,
			    length, &done);

	if (ret == EIO && done < length)
		w->scratch_faults++;
	else if (ret || done != length)
		w->failures++;
	w->scratch_writes++;
}

/*
 * A write to the guest range: a page (a hot one half the time), an 8-aligned
 * offset and length (sometimes running into the next page, so one request
 * is two transactions), the pages marked written, then the DMA.
 */
static void worker_guest_write(struct worker *w, uint64_t r, uint64_t *buf, uint64_t *seq)
{
	struct soak *s = w->s;
	uint64_t page = (r & 1) ? (r >> 1) % HOT_PAGES : (r >> 1) % GUEST_PAGES;
	uint64_t offset = ((r >> 32) % PAGE) & ~7ull;
	uint64_t length = 8 + ((r >> 44) % (PAGE / 8)) * 8;
	uint64_t done;

	if (page == GUEST_PAGES - 1 && offset + length > PAGE)
		length = PAGE - offset;
	for (uint64_t p = page; p <= page + (offset + length - 1) / PAGE; p++)
		atomic_store_explicit(&s->written[p], 1, memory_order_release);
	for (uint64_t i = 0; i < length / 8; i++)
		buf[i] = ((uint64_t)(w->index + 1) << 56) | ++*seq;
	if (dma_write(s->fd, w->stdev, GUEST_IOVA + page * PAGE + offset, buf, length, &done) ||
	    done != length)
		w->failures++;
	w->guest_writes++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct soak *s = w->s;
	uint64_t rng = s->seed ^ ((uint64_t)(w->index + 1) << 40);
	uint64_t buf[2 * PAGE / 8];
	uint64_t seq = 0;

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t r = rng_next(&rng);

		if (atomic_load(&s->park_requested))
			worker_park(s);
		if (r % SCRATCH_ONE_IN == 0)
			worker_scratch_write(w, rng_next(&rng), buf);
		else
			worker_guest_write(w, rng_next(&rng), buf, &seq);
	}
	return NULL;
}

/* The main thread parks the writers for a byte compare, and lets them go. */
static void writers_park(struct soak *s)
{
	pthread_mutex_lock(&s->park_lock);
	atomic_store(&s->park_requested, true);
	while (s->parked < DEVICES)
		pthread_cond_wait(&s->park_cond, &s->park_lock);
	pthread_mutex_unlock(&s->park_lock);
}

static void writers_resume(struct soak *s)
{
	pthread_mutex_lock(&s->park_lock);
	atomic_store(&s->park_requested, false);
	pthread_cond_broadcast(&s->park_cond);
	pthread_mutex_unlock(&s->park_lock);
}

/* ---- the mapper ------------------------------------------------------------------------ */

/* Maps a free slot (read-write or read-only) or unmaps a mapped one. */
static void *mapper_main(void *arg)
{
	struct soak *s = arg;
	uint64_t rng = s->seed ^ 0x6d61707065720000ull;
	bool mapped[SCRATCH_SLOTS] = { false };

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t r = rng_next(&rng);
		uint64_t slot = r % SCRATCH_SLOTS;
		uint64_t iova = SCRATCH_IOVA + slot * SCRATCH_STRIDE;
		uint64_t unmapped = 0;
		int ret;

		if (mapped[slot]) {
			ret = unmap(s->fd, s->ioas, iova, SCRATCH_SLOT_SIZE, &unmapped);
			if (ret || unmapped != SCRATCH_SLOT_SIZE)
				s->mapper_failures++;
		} else {
			uint32_t prot = (r >> 8) % 4 ? IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE
						     : IOMMU_IOAS_MAP_READABLE;

			ret = map_fixed(s->fd, s->ioas, s->scratch + slot * SCRATCH_SLOT_SIZE,
					SCRATCH_SLOT_SIZE, iova, prot);
			if (ret)
				s->mapper_failures++;
		}
		if (!ret)
			mapped[slot] = !mapped[slot];
		s->map_ops++;
	}
	return NULL;
}

/* ---- harvests and the shadow ----------------------------------------------------------- */

/* One round: every HWPT's bitmap of the guest range, OR-ed; each reported
 * page is copied into the shadow.  One HWPT also walks a scratch slot,
 * which the mapper keeps changing (what it reports does not matter). */
static void harvest_round(struct soak *s, struct harvest_totals *t)
{
	uint8_t combined[GUEST_PAGES / 8] = { 0 };
	uint8_t bits[GUEST_PAGES / 8];
	uint8_t scratch_bits[SCRATCH_STRIDE / PAGE / 8];

	for (size_t f = 0; f < FORMATS; f++) {
		memset(bits, 0, sizeof(bits));
		if (get_dirty(s->fd, s->hwpt[f], GUEST_IOVA, GUEST_SIZE, bits))
			t->get_failures++;
		for (size_t i = 0; i < sizeof(bits); i++)
			combined[i] |= bits[i];
		t->gets++;
	}
	if (get_dirty(s->fd, s->hwpt[t->rounds % FORMATS],
		      SCRATCH_IOVA + t->rounds % SCRATCH_SLOTS * SCRATCH_STRIDE, SCRATCH_STRIDE,
		      scratch_bits))
		t->get_failures++;
	for (uint64_t p = 0; p < GUEST_PAGES; p++) {
		if (!(combined[p / 8] >> (p % 8) & 1))
			continue;
		t->pages_reported++;
		if (!atomic_load_explicit(&s->written[p], memory_order_acquire))
			t->never_written++;
		idt_guest_copy(s->shadow + p * PAGE, s->guest + p * PAGE, PAGE);
	}
	t->rounds++;
}

/* With no DMA running: one more round, then the byte compare.  Differing
 * pages are counted and resynchronised, so that each checkpoint counts only
 * its own losses. */
static void compare_shadow(struct soak *s, struct harvest_totals *t)
{
	harvest_round(s, t);
	for (uint64_t p = 0; p < GUEST_PAGES; p++) {
		if (!memcmp(s->shadow + p * PAGE, s->guest + p * PAGE, PAGE))
			continue;
		t->lost_writes++;
		memcpy(s->shadow + p * PAGE, s->guest + p * PAGE, PAGE);
	}
	t->checkpoints++;
}

/* The enable wipes the HWPT's dirty state and its devices' writes while it
 * was off were not recorded: the shadow restarts from a full copy (see the
 * top comment for why that is sound). */
static void tracking_back_on(struct soak *s, struct harvest_totals *t)
{
	assert_int_equal(set_dirty(s->fd, s->hwpt[t->off], true), 0);
	idt_guest_copy(s->shadow, s->guest, GUEST_SIZE);
	t->off = -1;
	t->toggles++;
}

/* Called before each round of the main loop: tracking of one HWPT after
 * another goes off and comes back on. */
static void toggle_tick(struct soak *s, struct harvest_totals *t)
{
	t->ticks++;
	if (t->off < 0 && t->ticks % TOGGLE_PERIOD == 0) {
		t->off = (int)(t->ticks / TOGGLE_PERIOD % FORMATS);
		t->off_since = t->ticks;
		assert_int_equal(set_dirty(s->fd, s->hwpt[t->off], false), 0);
	} else if (t->off >= 0 && t->ticks - t->off_since == OFF_ROUNDS) {
		tracking_back_on(s, t);
	}
}

/* ---- setup ------------------------------------------------------------------------------ */

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/*
 * The IOAS with 4 KiB leaves (so a report is one page), per format a dirty
 * HWPT allocated with a template device that is then destroyed (the HWPT
 * outlives it: uapi.md 5.5), the devices on it, the guest range mapped, and
 * tracking enabled, which cleans ARM's and RISC-V's start-dirty leaves.
 */
static void soak_open(struct soak *s)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_option no_huge = { .size = sizeof(no_huge),
					.option_id = IOMMU_OPTION_HUGE_PAGES,
					.op = IOMMU_OPTION_OP_SET, .val64 = 0 };
	uint32_t index = 0;

	s->fd = iodirty_open(0);
	assert_true(s->fd >= 0);
	assert_int_equal(ioc(s->fd, IOMMU_IOAS_ALLOC, &alloc), 0);
	s->ioas = alloc.out_ioas_id;
	no_huge.object_id = s->ioas;
	assert_int_equal(ioc(s->fd, IOMMU_OPTION, &no_huge), 0);

	for (size_t f = 0; f < FORMATS; f++) {
		struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt),
						 .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
						 .pt_id = s->ioas };
		struct iommu_destroy destroy = { .size = sizeof(destroy) };
		uint32_t template[3];

		device_new(s->fd, s->ioas, formats[f], template);
		hwpt.dev_id = template[2];
		assert_int_equal(ioc(s->fd, IOMMU_HWPT_ALLOC, &hwpt), 0);
		s->hwpt[f] = hwpt.out_hwpt_id;
		for (unsigned int d = 0; d < devices_of_format[f]; d++, index++) {
			uint32_t ids[3];

			device_new(s->fd, s->hwpt[f], formats[f], ids);
			assert_int_equal(ids[1], s->hwpt[f]);
			s->workers[index] = (struct worker){ .s = s, .stdev = ids[0], .index = index };
		}
		destroy.id = template[0];
		assert_int_equal(ioc(s->fd, IOMMU_DESTROY, &destroy), 0);
	}
	assert_int_equal(index, DEVICES);

	s->guest = map_anon(GUEST_SIZE);
	s->shadow = map_anon(GUEST_SIZE);
	s->scratch = map_anon(SCRATCH_SLOTS * SCRATCH_SLOT_SIZE);
	s->written = calloc(GUEST_PAGES, 1);
	assert_non_null(s->written);
	/* a pattern, so that a page never copied differs from a zero shadow */
	memset(s->guest, 0xa5, GUEST_SIZE);
	for (uint64_t a = 0; a < GUEST_AREAS; a++)
		assert_int_equal(map_fixed(s->fd, s->ioas, s->guest + a * AREA_PAGES * PAGE,
					   AREA_PAGES * PAGE, GUEST_IOVA + a * AREA_PAGES * PAGE,
					   IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE),
				 0);
	for (size_t f = 0; f < FORMATS; f++)
		assert_int_equal(set_dirty(s->fd, s->hwpt[f], true), 0);
	memcpy(s->shadow, s->guest, GUEST_SIZE);

	pthread_mutex_init(&s->park_lock, NULL);
	pthread_cond_init(&s->park_cond, NULL);
	atomic_init(&s->park_requested, false);
	atomic_init(&s->stop, false);
}

static void soak_close(struct soak *s)
{
	assert_int_equal(iodirty_close(s->fd), 0);
	pthread_cond_destroy(&s->park_cond);
	pthread_mutex_destroy(&s->park_lock);
	munmap(s->guest, GUEST_SIZE);
	munmap(s->shadow, GUEST_SIZE);
	munmap(s->scratch, SCRATCH_SLOTS * SCRATCH_SLOT_SIZE);
	free(s->written);
}

/* ---- the test -------------------------------------------------------------------------- */

static void test_soak(void **state)
{
	(void)state;
	struct soak s = { .seed = env_u64("IODIRTY_SEED", DEFAULT_SEED) };
	struct harvest_totals t = { .off = -1 };
	uint64_t guest_writes = 0, scratch_writes = 0, scratch_faults = 0, failures = 0;
	uint64_t faults_counted = 0;
	double seconds = env_double("IODIRTY_SOAK_SECONDS", DEFAULT_SECONDS);
	double start, next_check;

	soak_open(&s);
	for (unsigned int i = 0; i < DEVICES; i++)
		assert_int_equal(pthread_create(&s.workers[i].thread, NULL, worker_main,
						&s.workers[i]),
				 0);
	assert_int_equal(pthread_create(&s.mapper, NULL, mapper_main, &s), 0);

	start = now_s();
	next_check = start + CHECK_SECONDS;
	while (now_s() < start + seconds) {
		toggle_tick(&s, &t);
		harvest_round(&s, &t);
		if (now_s() >= next_check) {
			/* a checkpoint compares what tracking covers: all of it, and
			 * with the writers still running after the full copy */
			if (t.off >= 0)
				tracking_back_on(&s, &t);
			writers_park(&s);
			compare_shadow(&s, &t);
			writers_resume(&s);
			next_check = now_s() + CHECK_SECONDS;
		}
	}
	/* the final quiesced point, with every HWPT tracking (as a checkpoint) */
	if (t.off >= 0)
		tracking_back_on(&s, &t);
	atomic_store(&s.stop, true);
	for (unsigned int i = 0; i < DEVICES; i++) {
		assert_int_equal(pthread_join(s.workers[i].thread, NULL), 0);
		guest_writes += s.workers[i].guest_writes;
		scratch_writes += s.workers[i].scratch_writes;
		scratch_faults += s.workers[i].scratch_faults;
		failures += s.workers[i].failures;
		faults_counted += faults_of(s.fd, s.workers[i].stdev);
	}
	assert_int_equal(pthread_join(s.mapper, NULL), 0);
	compare_shadow(&s, &t);

	print_message("soak %.1f s, seed 0x%" PRIx64 ": %" PRIu64
		      " DMA writes to the guest range, %" PRIu64 " to scratch (%" PRIu64
		      " faulted, %" PRIu64 " faults counted); %" PRIu64
		      " harvest rounds (%" PRIu64 " GET_DIRTY_BITMAP), %" PRIu64
		      " pages reported; %" PRIu64 " map/unmap ops; %" PRIu64
		      " enable/disable cycles; %" PRIu64 " checkpoints; %" PRIu64 " lost writes\n",
		      now_s() - start, s.seed, guest_writes, scratch_writes, scratch_faults,
		      faults_counted, t.rounds, t.gets, t.pages_reported, s.map_ops, t.toggles,
		      t.checkpoints, t.lost_writes);
	assert_u64(t.lost_writes, 0);
	assert_u64(t.never_written, 0);
	assert_u64(t.get_failures, 0);
	assert_u64(failures, 0);
	assert_u64(s.mapper_failures, 0);
	/* every faulting DMA stopped at its one faulting transaction (uapi.md 12) */
	assert_u64(faults_counted, scratch_faults);
	assert_true(guest_writes > 0 && t.pages_reported > 0);
	assert_true(s.map_ops > 0 && t.toggles > 0);
	soak_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
