/* SPDX-License-Identifier: MIT */
/*
 * Pacing: a token bucket for the link's --max-bandwidth, and the same rule
 * for the workload's writers (--dirty-rate).  Time is CLOCK_MONOTONIC in ns.
 */
#ifndef IODIRTY_MIGRATE_RATELIMIT_H
#define IODIRTY_MIGRATE_RATELIMIT_H

#include <stdint.h>

uint64_t mig_now_ns(void);
void mig_sleep_ns(uint64_t ns);

/*
 * rate bytes per second (0: unlimited); up to burst bytes may go at once
 * after an idle period, so a short round is not slowed by a stale budget
 * nor sent at an unlimited speed.
 */
struct mig_ratelimit {
	uint64_t rate, burst;
	double tokens;     /* bytes that may go now; negative: debt */
	uint64_t last_ns;  /* when tokens was last refilled */
};

void mig_ratelimit_init(struct mig_ratelimit *rl, uint64_t rate, uint64_t burst, uint64_t now_ns);

/* Takes bytes from the bucket at now_ns; returns how long the caller must
 * wait before those bytes may go (0: at once). */
uint64_t mig_ratelimit_take(struct mig_ratelimit *rl, uint64_t bytes, uint64_t now_ns);

/* Takes bytes and sleeps as long as the bucket says. */
void mig_ratelimit_wait(struct mig_ratelimit *rl, uint64_t bytes);

#endif
