/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <time.h>

#include "ratelimit.h"

uint64_t mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mig_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void mig_ratelimit_init(struct mig_ratelimit *rl, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	rl->rate = rate;
	rl->burst = burst;
	rl->tokens = (double)burst;
	rl->last_ns = now_ns;
}

uint64_t mig_ratelimit_take(struct mig_ratelimit *rl, uint64_t bytes, uint64_t now_ns)
{
	if (!rl->rate)
		return 0;
	if (now_ns > rl->last_ns) {
		rl->tokens += (double)(now_ns - rl->last_ns) * (double)rl->rate / 1e9;
		if (rl->tokens > (double)rl->burst)
			rl->tokens = (double)rl->burst;
		rl->last_ns = now_ns;
	}
	rl->tokens -= (double)bytes;
	if (rl->tokens >= 0)
		return 0;
	return (uint64_t)(-rl->tokens * 1e9 / (double)rl->rate);
}

void mig_ratelimit_wait(struct mig_ratelimit *rl, uint64_t bytes)
{
	uint64_t wait = mig_ratelimit_take(rl, bytes, mig_now_ns());

	if (wait)
		mig_sleep_ns(wait);
}
