/* SPDX-License-Identifier: MIT */
/*
 * The library's one allocation interface: every allocation in src/ goes
 * through these wrappers, so that a build with -Dalloc_fail_injection=true
 * can make any single one of them fail (tests/alloc walks them all).
 * Without the option they are the libc calls, inlined.
 */
#ifndef IODIRTY_COMMON_ALLOC_H
#define IODIRTY_COMMON_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef IDT_ALLOC_FAIL_INJECTION
/*
 * Starts a new count of allocation attempts: the nth attempt from now
 * (1-based) fails, once; 0 makes none fail.  Process-wide and thread-safe.
 */
void mem_fail_nth(uint64_t n);
/* Allocation attempts since the last mem_fail_nth, the failed one included. */
uint64_t mem_alloc_count(void);
/* Counts one attempt; true when it is the one to fail. */
bool mem_attempt_fails(void);
#else
static inline bool mem_attempt_fails(void)
{
	return false;
}
#endif

static inline void *mem_malloc(size_t size)
{
	return mem_attempt_fails() ? NULL : malloc(size);
}

static inline void *mem_calloc(size_t count, size_t size)
{
	return mem_attempt_fails() ? NULL : calloc(count, size);
}

/* On failure ptr is left as it was, as with realloc. */
static inline void *mem_realloc(void *ptr, size_t size)
{
	return mem_attempt_fails() ? NULL : realloc(ptr, size);
}

static inline void *mem_aligned_alloc(size_t alignment, size_t size)
{
	return mem_attempt_fails() ? NULL : aligned_alloc(alignment, size);
}

static inline void mem_free(void *ptr)
{
	free(ptr);
}

#endif
