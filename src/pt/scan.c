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
 * with a scalar scan (hardware.md 6).  ThreadSanitizer cannot see vector
 * loads as atomic, so its builds always use the scalar scan.
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

static void scan_scalar(const uint64_t *items, uint32_t count, const struct pt_scan_key *key,
			uint64_t *mask)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t item = __atomic_load_n(&items[i], __ATOMIC_RELAXED);

		mask[i / 64] |= scan_one(item, key) << (i % 64);
	}
}

#if PT_SCAN_VECTOR
__attribute__((target("avx2"))) static void scan_avx2(const uint64_t *items, uint32_t count,
						      const struct pt_scan_key *key,
						      uint64_t *mask)
{
	const __m256i dmask = _mm256_set1_epi64x((long long)key->dirty_mask);
	const __m256i dvalue = _mm256_set1_epi64x((long long)key->dirty_value);
	const __m256i hmask = _mm256_set1_epi64x((long long)key->hole_mask);
	const __m256i hvalue = _mm256_set1_epi64x((long long)key->hole_value);
	uint32_t i = 0;

	for (; i + 8 <= count; i += 8) {
		__m256i a = _mm256_load_si256((const __m256i *)&items[i]);
		__m256i b = _mm256_load_si256((const __m256i *)&items[i + 4]);
		__m256i da = _mm256_cmpeq_epi64(_mm256_and_si256(a, dmask), dvalue);
		__m256i db = _mm256_cmpeq_epi64(_mm256_and_si256(b, dmask), dvalue);
		/* a hole is an item whose hole bits differ from the leaf value */
		__m256i ha = _mm256_cmpeq_epi64(_mm256_and_si256(a, hmask), hvalue);
		__m256i hb = _mm256_cmpeq_epi64(_mm256_and_si256(b, hmask), hvalue);
		uint32_t dirty = (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(da)) |
				 (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(db)) << 4;
		uint32_t leaf = (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(ha)) |
				(uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(hb)) << 4;

		mask[i / 64] |= (uint64_t)((dirty | ~leaf) & 0xff) << (i % 64);
	}
	if (i < count)
		scan_scalar(items + i, count - i, key, mask + i / 64);
}

__attribute__((target("avx512f"))) static void scan_avx512(const uint64_t *items,
							    uint32_t count,
							    const struct pt_scan_key *key,
							    uint64_t *mask)
{
	const __m512i dmask = _mm512_set1_epi64((long long)key->dirty_mask);
	const __m512i dvalue = _mm512_set1_epi64((long long)key->dirty_value);
	const __m512i hmask = _mm512_set1_epi64((long long)key->hole_mask);
	const __m512i hvalue = _mm512_set1_epi64((long long)key->hole_value);
	uint32_t i = 0;

	for (; i + 8 <= count; i += 8) {
		__m512i v = _mm512_load_si512((const void *)&items[i]);
		__mmask8 dirty = _mm512_cmpeq_epi64_mask(_mm512_and_epi64(v, dmask), dvalue);
		__mmask8 hole = _mm512_cmpneq_epi64_mask(_mm512_and_epi64(v, hmask), hvalue);

		mask[i / 64] |= (uint64_t)(uint8_t)(dirty | hole) << (i % 64);
	}
	if (i < count)
		scan_scalar(items + i, count - i, key, mask + i / 64);
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
