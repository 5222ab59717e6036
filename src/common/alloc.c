/* SPDX-License-Identifier: MIT */
/* Allocation-failure injection (common/alloc.h): one counter for the process. */
#include <stdatomic.h>

#include "common/alloc.h"

#ifdef IDT_ALLOC_FAIL_INJECTION
static _Atomic uint64_t attempts;
static _Atomic uint64_t fail_at; /* 0: disarmed */

void mem_fail_nth(uint64_t n)
{
	atomic_store(&fail_at, 0);
	atomic_store(&attempts, 0);
	atomic_store(&fail_at, n);
}

uint64_t mem_alloc_count(void)
{
	return atomic_load(&attempts);
}

bool mem_attempt_fails(void)
{
	uint64_t n = atomic_fetch_add(&attempts, 1) + 1;
	uint64_t target = atomic_load(&fail_at);

	/* the exchange makes the failure happen once even if the count is
	 * restarted concurrently */
	return target && n == target && atomic_compare_exchange_strong(&fail_at, &target, 0);
}
#endif
