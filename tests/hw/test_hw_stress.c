/* SPDX-License-Identifier: MIT */
/*
 * Concurrency stress of the emulated IOMMU (issue 3, "What it must show";
 * hardware.md 6 invariant, 7.2 R1, R2, R4, R5; test-cases.md HW-10).
 *
 * WRITERS threads (each its own device on one domain) DMA-write
 * sequence-stamped data to random pages of guest memory, half of the
 * writes to a small hot set, while the main thread harvests in a loop (rotating the three
 * read-and-clear algorithms) and copies every reported page into a shadow
 * with idt_guest_copy().  After the writers stop, one final harvest and
 * copy must leave the shadow equal to guest memory byte for byte, and with
 * 4 KiB mappings no page that was never written may ever be reported.
 *
 * The negative run does the same with IDT_IOMMU_FORGET_FLUSH while the
 * writers keep rewriting a small hot set: cached d = 1 entries survive the
 * clean, later writes through them set no D, and the final compare must
 * find a mismatch (hardware.md 5, R5).  A run that by chance loses nothing
 * is repeated, up to NEGATIVE_ATTEMPTS times.
 *
 * Environment: IODIRTY_STRESS_MEM_MB guest memory per run (default 1024, the
 * issue's configuration), IODIRTY_STRESS_SECONDS per positive run
 * (default 2), IODIRTY_SEED.
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

#include "iodirty/bitmap.h"
#include "iodirty/hw.h"
#include "iodirty/pt.h"
#include "test_env.h"

#define PAGE_SIZE 4096ull
#define IOVA_BASE 0x100000000ull /* 4 GiB */
#define TAG 1
#define WRITERS 3
#define HOT_PAGES 16
#define NEGATIVE_SECONDS 0.3
#define NEGATIVE_ATTEMPTS 5
#define DEFAULT_MEM_MB 1024
#define DEFAULT_SECONDS 2.0
#define DEFAULT_SEED 0x5eedull

#define assert_u64(a, b) assert_int_equal((uint64_t)(a), (uint64_t)(b))

static const enum idt_rcd_algo algos[] = { IDT_RCD_IODIRTY, IDT_RCD_GENERIC_PT, IDT_RCD_LEGACY };

struct stress {
	uint32_t format;
	bool forget_flush;
	double seconds;
	uint64_t seed;
	size_t mem_size;
	uint64_t npages;
	uint8_t *guest;
	uint8_t *shadow;
	_Atomic uint8_t *written; /* per page: a writer chose it (set before the DMA) */
	struct idt_iommu *iommu;
	struct idt_pt *pt;
	atomic_bool stop;
	/* reported by the threads, asserted by the main thread */
	_Atomic uint64_t short_writes;
	_Atomic uint64_t writes;
};

struct writer {
	struct stress *s;
	uint32_t id;
	pthread_t thread;
};

static uint64_t cap_of(uint32_t format)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return IDT_AMD_EFR_HASUP | IDT_AMD_EFR_HDSUP;
	case IDT_PT_VTDSS:
		return IDT_VTD_ECAP_SMTS | IDT_VTD_ECAP_SSADS;
	case IDT_PT_ARM_S1:
		return IDT_ARM_IDR0_HTTU_HAD;
	default:
		return IDT_RISCV_CAP_AMO_HWAD;
	}
}

/*
 * A writer: picks a page (always a hot one in the negative run), an 8-aligned
 * offset and length (sometimes running into the next page, so a request
 * spans two transactions), marks the pages written, then DMA-writes words
 * stamped with its id and a sequence number.
 */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct stress *s = w->s;
	uint64_t rng = s->seed ^ ((uint64_t)w->id << 32);
	uint64_t buf[2 * PAGE_SIZE / 8];
	uint64_t seq = 0;

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t r = rng_next(&rng);
		/* half the writes go to the hot pages, where cached d = 1 entries
		 * meet the harvest's clean (the sneak write of R4) */
		uint64_t page = (s->forget_flush || (r & 1)) ? (r >> 1) % HOT_PAGES
							      : (r >> 1) % s->npages;
		uint64_t offset = ((r >> 32) % PAGE_SIZE) & ~7ull;
		uint64_t length = 8 + ((r >> 44) % (PAGE_SIZE / 8)) * 8;
		uint64_t last_page;

		if (page == s->npages - 1 && offset + length > PAGE_SIZE)
			length = PAGE_SIZE - offset;
		last_page = page + (offset + length - 1) / PAGE_SIZE;
		for (uint64_t p = page; p <= last_page; p++)
			atomic_store_explicit(&s->written[p], 1, memory_order_release);
		for (uint64_t i = 0; i < length / 8; i++)
			buf[i] = ((uint64_t)w->id << 56) | ++seq;
		if (idt_dma_write(s->iommu, w->id, IOVA_BASE + page * PAGE_SIZE + offset, buf, length,
				  NULL) != length)
			atomic_fetch_add(&s->short_writes, 1);
		atomic_fetch_add_explicit(&s->writes, 1, memory_order_relaxed);
	}
	return NULL;
}

struct round_result {
	uint64_t reported;
	uint64_t never_written; /* reported pages no writer chose */
	int error;
};

/* One harvest round (hardware.md 6): harvest, then copy reported pages. */
static void harvest_round(struct stress *s, struct idt_bitmap *bitmap, uint8_t *bits,
			  enum idt_rcd_algo algo, struct round_result *out)
{
	int ret;

	memset(bits, 0, idt_bitmap_bytes(bitmap));
	ret = idt_iommu_harvest(s->iommu, TAG, s->pt, IOVA_BASE, s->mem_size, 0, bitmap, algo);
	if (ret && !out->error)
		out->error = ret;
	for (uint64_t byte = 0; byte < idt_bitmap_bytes(bitmap); byte++) {
		if (!bits[byte])
			continue;
		for (uint64_t p = byte * 8; p < byte * 8 + 8 && p < s->npages; p++) {
			if (!idt_bitmap_test(bitmap, p))
				continue;
			out->reported++;
			if (!atomic_load_explicit(&s->written[p], memory_order_acquire))
				out->never_written++;
			idt_guest_copy(s->shadow + p * PAGE_SIZE, s->guest + p * PAGE_SIZE, PAGE_SIZE);
		}
	}
}

static void *map_zeroed(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static void stress_open(struct stress *s)
{
	struct idt_iommu_config icfg = {
		.size = sizeof(icfg),
		.format = s->format,
		.cap = cap_of(s->format),
		.flags = s->forget_flush ? IDT_IOMMU_FORGET_FLUSH : 0,
		.seed = s->seed,
	};
	struct idt_pt_config pcfg = {
		.size = sizeof(pcfg),
		.format = s->format,
		.iova_width = 48,
		.page_sizes = PAGE_SIZE,
		.flags = IDT_PT_DIRTY_TRACKING,
	};

	s->npages = s->mem_size / PAGE_SIZE;
	s->guest = map_zeroed(s->mem_size);
	s->shadow = map_zeroed(s->mem_size); /* the first full copy: both zero */
	s->written = calloc(s->npages, 1);
	assert_non_null(s->written);
	assert_int_equal(idt_iommu_create(&icfg, &s->iommu), 0);
	assert_int_equal(idt_pt_create(&pcfg, &s->pt), 0);
	assert_int_equal(idt_iommu_register_memory(s->iommu, s->guest, s->mem_size), 0);
	assert_int_equal(idt_pt_map(s->pt, IOVA_BASE, (uint64_t)(uintptr_t)s->guest, s->mem_size,
				    IDT_PROT_READ | IDT_PROT_WRITE),
			 0);
	for (uint32_t id = 0; id < WRITERS; id++) {
		assert_int_equal(idt_iommu_attach(s->iommu, id, s->pt, TAG), 0);
		assert_int_equal(idt_iommu_set_gate(s->iommu, id, true), 0);
	}
	/* iommufd's enable-time clean: ARM and RISC-V leaves start dirty */
	assert_int_equal(idt_iommu_harvest(s->iommu, TAG, s->pt, IOVA_BASE, s->mem_size, 0, NULL,
					   IDT_RCD_IODIRTY),
			 0);
}

static void stress_close(struct stress *s)
{
	for (uint32_t id = 0; id < WRITERS; id++)
		assert_int_equal(idt_iommu_detach(s->iommu, id), 0);
	assert_int_equal(idt_iommu_destroy(s->iommu), 0);
	idt_pt_destroy(s->pt);
	munmap(s->guest, s->mem_size);
	munmap(s->shadow, s->mem_size);
	free(s->written);
}

/* Runs writers against the harvest loop for s->seconds, then the final
 * quiesced round; returns the number of pages where shadow != guest. */
static uint64_t stress_run(struct stress *s)
{
	struct writer writers[WRITERS];
	struct round_result result = { 0 };
	struct idt_bitmap bitmap;
	struct idt_iommu_counters c;
	uint64_t rounds = 0, mismatched = 0;
	uint8_t *bits = calloc(s->npages / 8 + 1, 1);
	double end;

	assert_non_null(bits);
	assert_int_equal(idt_bitmap_init(&bitmap, IOVA_BASE, s->mem_size, PAGE_SIZE, bits), 0);
	atomic_store(&s->stop, false);
	for (uint32_t id = 0; id < WRITERS; id++) {
		writers[id] = (struct writer){ .s = s, .id = id };
		assert_int_equal(pthread_create(&writers[id].thread, NULL, writer_main, &writers[id]),
				 0);
	}
	end = now_s() + s->seconds;
	do
		harvest_round(s, &bitmap, bits, algos[rounds++ % 3], &result);
	while (now_s() < end);
	atomic_store(&s->stop, true);
	for (uint32_t id = 0; id < WRITERS; id++)
		assert_int_equal(pthread_join(writers[id].thread, NULL), 0);
	harvest_round(s, &bitmap, bits, algos[rounds++ % 3], &result);

	for (uint64_t p = 0; p < s->npages; p++)
		if (memcmp(s->shadow + p * PAGE_SIZE, s->guest + p * PAGE_SIZE, PAGE_SIZE))
			mismatched++;
	idt_iommu_get_counters(s->iommu, &c);
	print_message("%s%s: %" PRIu64 " writes, %" PRIu64 " rounds, %" PRIu64
		      " pages reported, %" PRIu64 " mismatched; hits %" PRIu64 " misses %" PRIu64
		      " ad_updates %" PRIu64 " cas_retries %" PRIu64 " invalidations %" PRIu64 "\n",
		      idt_pt_format_name(s->format), s->forget_flush ? " (forgot to flush)" : "",
		      atomic_load(&s->writes), rounds, result.reported, mismatched, c.hits,
		      c.misses, c.ad_updates, c.cas_retries, c.invalidations);
	assert_int_equal(result.error, 0);
	assert_u64(atomic_load(&s->short_writes), 0); /* no DMA faulted */
	assert_u64(c.faults, 0);
	assert_u64(result.never_written, 0);
	assert_true(atomic_load(&s->writes) > 0);
	free(bits);
	return mismatched;
}

static struct stress stress_config(uint32_t format, bool forget_flush)
{
	return (struct stress){
		.format = format,
		.forget_flush = forget_flush,
		.seconds = forget_flush ? NEGATIVE_SECONDS
					: env_double("IODIRTY_STRESS_SECONDS", DEFAULT_SECONDS),
		.seed = env_u64("IODIRTY_SEED", DEFAULT_SEED) ^ format,
		.mem_size = env_u64("IODIRTY_STRESS_MEM_MB", DEFAULT_MEM_MB) << 20,
	};
}

/* The invariant: the shadow equals guest memory after the final round. */
static void positive(uint32_t format)
{
	struct stress s = stress_config(format, false);

	stress_open(&s);
	assert_u64(stress_run(&s), 0);
	stress_close(&s);
}

/* With invalidation disabled the invariant must break (R5). */
static void negative(uint32_t format)
{
	uint64_t mismatched = 0;

	for (unsigned int attempt = 0; attempt < NEGATIVE_ATTEMPTS && !mismatched; attempt++) {
		struct stress s = stress_config(format, true);

		s.seed += attempt;
		stress_open(&s);
		mismatched = stress_run(&s);
		stress_close(&s);
	}
	assert_true(mismatched > 0);
}

static void test_amdv1(void **state)
{
	(void)state;
	positive(IDT_PT_AMDV1);
}

static void test_vtdss(void **state)
{
	(void)state;
	positive(IDT_PT_VTDSS);
}

static void test_arm(void **state)
{
	(void)state;
	positive(IDT_PT_ARM_S1);
}

static void test_riscv(void **state)
{
	(void)state;
	positive(IDT_PT_RISCV);
}

static void test_amdv1_forgot_flush_loses_writes(void **state)
{
	(void)state;
	negative(IDT_PT_AMDV1);
}

static void test_vtdss_forgot_flush_loses_writes(void **state)
{
	(void)state;
	negative(IDT_PT_VTDSS);
}

static void test_arm_forgot_flush_loses_writes(void **state)
{
	(void)state;
	negative(IDT_PT_ARM_S1);
}

static void test_riscv_forgot_flush_loses_writes(void **state)
{
	(void)state;
	negative(IDT_PT_RISCV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amdv1),
		cmocka_unit_test(test_vtdss),
		cmocka_unit_test(test_arm),
		cmocka_unit_test(test_riscv),
		cmocka_unit_test(test_amdv1_forgot_flush_loses_writes),
		cmocka_unit_test(test_vtdss_forgot_flush_loses_writes),
		cmocka_unit_test(test_arm_forgot_flush_loses_writes),
		cmocka_unit_test(test_riscv_forgot_flush_loses_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
