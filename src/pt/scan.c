/* SPDX-License-Identifier: MIT */
/*
 * The leaf-table scan of iodirty's read-and-clear: one pass over a table's
 * items producing a mask of the items that need a closer look (dirty ones,
 * and for formats where a hole is an error, non-leaves), so that clean
 * items cost one load and one compare.  Three versions, chosen at run time
 * by CPU: scalar (atomic loads), AVX2 (4 items a vector), AVX-512 (8).
 *
 * Vector loads of naturally aligned 64-bit items read each item whole on
 * x86, as the scalar atomic loads do; an item a device dirties during the
 * scan is seen either way and, if seen clean, is reported next round, as
 * with a scalar scan (hardware.md 6).  Likewise an aligned vector store
 * writes each item whole.  ThreadSanitizer cannot see vector accesses as
 * atomic, so its builds always use the scalar scan.
 */
#include <errno.h>
#include <immintrin.h>
#include <stdatomic.h>

#include "pt/pt_internal.h"

#if defined(__SANITIZE_THREAD__)
#define PT_SCAN_VECTOR 0
#elif defined(__x86_64__)
#define PT_SCAN_VECTOR 1
#else
#define PT_SCAN_VECTOR 0
#endif

static inline uint64_t scan_one(uint64_t item, const struct pt_scan_key *key)
{
	return (item & key->dirty_mask) == key->dirty_value ||
	       (item & key->hole_mask) != key->hole_value;
}

/*
 * Where a hole is an error (hole_mask set), the walk stops at the first hole
 * inside it, so nothing after that hole may be cleaned: a hole at or after
 * the walk's first item (whole->lo - 1) ends whole groups for this table.
 */
static inline void scan_note_holes(struct pt_scan_whole *whole, uint32_t g, uint32_t holes)
{
	uint32_t walk_first;

	if (!whole || !holes)
		return;
	walk_first = whole->lo ? whole->lo - 1 : 0;
	if (g + 8 > walk_first && (holes >> (walk_first > g ? walk_first - g : 0)))
		whole->lo = UINT32_MAX;
}

/* Group g (8 items from index g) may be handled whole. */
static inline bool scan_group_whole(struct pt_scan_whole *whole, uint32_t g)
{
	return whole && g >= whole->lo && g + 8 <= whole->hi;
}

/* Cleans a whole group item by item (the scalar scan): every item was seen
 * dirty and settled, so hardware cannot change it and a store is the clean. */
static inline void scan_clean_items(uint64_t *items, const struct pt_scan_key *key)
{
	for (unsigned int k = 0; k < 8; k++) {
		uint64_t item = __atomic_load_n(&items[k], __ATOMIC_RELAXED);

		__atomic_store_n(&items[k], (item & ~key->clean_clear) | key->clean_set,
				 __ATOMIC_RELAXED);
	}
}

/* Records group g as whole, or its look bits in mask. */
static inline void scan_group_result(uint64_t *items, uint32_t g, uint32_t look, uint32_t all,
				     const struct pt_scan_key *key,
				     struct pt_scan_whole *whole, uint64_t *mask)
{
	if (all == 0xff && scan_group_whole(whole, g)) {
		whole->mask[g / 64] |= 0xffull << (g % 64);
		if (whole->clean)
			scan_clean_items(&items[g], key);
	} else {
		mask[g / 64] |= (uint64_t)(look & 0xff) << (g % 64);
	}
}

/* Items [from, count) one by one, with no whole groups. */
static void scan_tail(const uint64_t *items, uint32_t from, uint32_t count,
		      const struct pt_scan_key *key, uint64_t *mask)
{
	for (uint32_t i = from; i < count; i++)
		mask[i / 64] |= scan_one(__atomic_load_n(&items[i], __ATOMIC_RELAXED), key)
				<< (i % 64);
}

static void scan_scalar(uint64_t *items, uint32_t count, const uint64_t *ahead,
			const struct pt_scan_key *key, struct pt_scan_whole *whole, uint64_t *mask)
{
	uint32_t g = 0;

	for (; g + 8 <= count; g += 8) {
		uint32_t look = 0, all = 0, holes = 0;

		__builtin_prefetch(&ahead[g]);
		for (unsigned int k = 0; k < 8; k++) {
			uint64_t item = __atomic_load_n(&items[g + k], __ATOMIC_RELAXED);

			look |= (uint32_t)scan_one(item, key) << k;
			holes |= (uint32_t)((item & key->hole_mask) != key->hole_value) << k;
			all |= (uint32_t)((item & key->whole_mask) == key->whole_value) << k;
		}
		scan_note_holes(whole, g, holes);
		scan_group_result(items, g, look, all, key, whole, mask);
	}
	scan_tail(items, g, count, key, mask);
}

#if PT_SCAN_VECTOR
/* Bit k set when 64-bit lane k of v equals the key value under its mask. */
__attribute__((target("avx2"))) static inline uint32_t lanes_match_avx2(__m256i a, __m256i b,
									__m256i m, __m256i v)
{
	__m256i ea = _mm256_cmpeq_epi64(_mm256_and_si256(a, m), v);
	__m256i eb = _mm256_cmpeq_epi64(_mm256_and_si256(b, m), v);

	return (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(ea)) |
	       (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(eb)) << 4;
}

__attribute__((target("avx2"))) static void scan_avx2(uint64_t *items, uint32_t count,
						      const uint64_t *ahead,
						      const struct pt_scan_key *key,
						      struct pt_scan_whole *whole,
						      uint64_t *mask)
{
	const __m256i dmask = _mm256_set1_epi64x((long long)key->dirty_mask);
	const __m256i dvalue = _mm256_set1_epi64x((long long)key->dirty_value);
	const __m256i hmask = _mm256_set1_epi64x((long long)key->hole_mask);
	const __m256i hvalue = _mm256_set1_epi64x((long long)key->hole_value);
	const __m256i wmask = _mm256_set1_epi64x((long long)key->whole_mask);
	const __m256i wvalue = _mm256_set1_epi64x((long long)key->whole_value);
	const __m256i clear = _mm256_set1_epi64x((long long)key->clean_clear);
	const __m256i set = _mm256_set1_epi64x((long long)key->clean_set);
	uint32_t g = 0;

	for (; g + 8 <= count; g += 8) {
		__m256i a = _mm256_load_si256((const __m256i *)&items[g]);
		__m256i b = _mm256_load_si256((const __m256i *)&items[g + 4]);

		__builtin_prefetch(&ahead[g]);
		/* a hole is an item whose hole bits differ from the leaf value */
		uint32_t holes = ~lanes_match_avx2(a, b, hmask, hvalue) & 0xff;
		uint32_t look = lanes_match_avx2(a, b, dmask, dvalue) | holes;
		uint32_t all;

		if (!look)
			continue; /* clean: nothing to note (a whole group is dirty) */
		all = lanes_match_avx2(a, b, wmask, wvalue);
		scan_note_holes(whole, g, holes);

		if (all == 0xff && scan_group_whole(whole, g) && whole->clean) {
			/* every item was seen dirty: hardware cannot change it
			 * further, so a plain store is the clean (algorithms.md 3) */
			_mm256_store_si256((__m256i *)&items[g],
					   _mm256_or_si256(_mm256_andnot_si256(clear, a), set));
			_mm256_store_si256((__m256i *)&items[g + 4],
					   _mm256_or_si256(_mm256_andnot_si256(clear, b), set));
			whole->mask[g / 64] |= 0xffull << (g % 64);
			continue;
		}
		scan_group_result(items, g, look, all, key, whole, mask);
	}
	scan_tail(items, g, count, key, mask);
}

__attribute__((target("avx512f"))) static void scan_avx512(uint64_t *items, uint32_t count,
							    const uint64_t *ahead,
							    const struct pt_scan_key *key,
							    struct pt_scan_whole *whole,
							    uint64_t *mask)
{
	const __m512i dmask = _mm512_set1_epi64((long long)key->dirty_mask);
	const __m512i dvalue = _mm512_set1_epi64((long long)key->dirty_value);
	const __m512i hmask = _mm512_set1_epi64((long long)key->hole_mask);
	const __m512i hvalue = _mm512_set1_epi64((long long)key->hole_value);
	const __m512i wmask = _mm512_set1_epi64((long long)key->whole_mask);
	const __m512i wvalue = _mm512_set1_epi64((long long)key->whole_value);
	const __m512i clear = _mm512_set1_epi64((long long)key->clean_clear);
	const __m512i set = _mm512_set1_epi64((long long)key->clean_set);
	uint32_t g = 0;

	for (; g + 8 <= count; g += 8) {
		__m512i v = _mm512_load_si512((const void *)&items[g]);
		__mmask8 dirty = _mm512_cmpeq_epi64_mask(_mm512_and_epi64(v, dmask), dvalue);
		__mmask8 hole = _mm512_cmpneq_epi64_mask(_mm512_and_epi64(v, hmask), hvalue);
		__mmask8 all;

		__builtin_prefetch(&ahead[g]);
		if (!(dirty | hole))
			continue; /* clean: nothing to note (a whole group is dirty) */
		all = _mm512_cmpeq_epi64_mask(_mm512_and_epi64(v, wmask), wvalue);
		scan_note_holes(whole, g, hole);

		if (all == 0xff && scan_group_whole(whole, g) && whole->clean) {
			_mm512_store_si512((void *)&items[g],
					   _mm512_or_epi64(_mm512_andnot_epi64(clear, v), set));
			whole->mask[g / 64] |= 0xffull << (g % 64);
			continue;
		}
		scan_group_result(items, g, (uint32_t)(dirty | hole), all, key, whole, mask);
	}
	scan_tail(items, g, count, key, mask);
}
#endif

static _Atomic int scan_selected = IDT_SIMD_AUTO;

static bool scan_supported(enum idt_simd simd)
{
	switch (simd) {
	case IDT_SIMD_SCALAR:
		return true;
#if PT_SCAN_VECTOR
	case IDT_SIMD_AVX2:
		return __builtin_cpu_supports("avx2");
	case IDT_SIMD_AVX512:
		return __builtin_cpu_supports("avx512f");
#endif
	default:
		return false;
	}
}

static enum idt_simd scan_best(void)
{
	if (scan_supported(IDT_SIMD_AVX512))
		return IDT_SIMD_AVX512;
	if (scan_supported(IDT_SIMD_AVX2))
		return IDT_SIMD_AVX2;
	return IDT_SIMD_SCALAR;
}

int idt_simd_select(enum idt_simd simd)
{
	if (simd == IDT_SIMD_AUTO)
		simd = scan_best();
	if (!scan_supported(simd))
		return simd > IDT_SIMD_AVX512 ? -EINVAL : -EOPNOTSUPP;
	atomic_store(&scan_selected, simd);
	return 0;
}

enum idt_simd idt_simd_active(void)
{
	int simd = atomic_load_explicit(&scan_selected, memory_order_relaxed);

	if (simd == IDT_SIMD_AUTO) {
		simd = scan_best();
		atomic_store(&scan_selected, simd);
	}
	return (enum idt_simd)simd;
}

const char *idt_simd_name(enum idt_simd simd)
{
	switch (simd) {
	case IDT_SIMD_AUTO:
		return "auto";
	case IDT_SIMD_SCALAR:
		return "scalar";
	case IDT_SIMD_AVX2:
		return "avx2";
	case IDT_SIMD_AVX512:
		return "avx512";
	}
	return NULL;
}

pt_scan_fn pt_scan_function(void)
{
	switch (idt_simd_active()) {
#if PT_SCAN_VECTOR
	case IDT_SIMD_AVX512:
		return scan_avx512;
	case IDT_SIMD_AVX2:
		return scan_avx2;
#endif
	default:
		return scan_scalar;
	}
}
