/* SPDX-License-Identifier: MIT */
/*
 * ABI conformance test of iodirty's emulated /dev/iommu (uapi.md; test-cases.md UA-*, BM-*).
 *
 * The program is an ordinary client: it includes only <iodirty/iommufd.h>, libc and cmocka,
 * opens "/dev/iommu" with plain open() and talks to it with plain ioctl().  It does not link
 * libiodirty; it runs under `iodirty run --`, whose LD_PRELOAD shim serves the descriptor.
 *
 * Shared helpers.  Every raw helper (the *_e functions) returns 0 or the errno of the ioctl, so
 * a test states "this call gives EINVAL" as EXPECT_ERRNO(EINVAL, helper(...)).
 */
#ifndef UAPI_COMMON_H
#define UAPI_COMMON_H

#define IODIRTY_NO_SYSTEM_IOMMUFD /* the 6.7 layouts, whatever the system has */
#include <iodirty/iommufd.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#define HOST_PAGE 4096ul
#define MOCK_PAGE 2048ul
#define SZ_1M (1ul << 20)
#define SZ_2M (2ul << 20)
#define U64MAX UINT64_MAX

/* ---- Errno reporting ------------------------------------------------------------------------ */

const char *ename(int e);

/* The call returns an errno (0 = success); it must be `expected`. */
#define EXPECT_ERRNO(expected, call)                                                             \
	do {                                                                                     \
		int exp_ = (expected);                                                           \
		int got_ = (call);                                                               \
		if (got_ != exp_)                                                                \
			fail_msg("%s:%d: %s\n    expected %s, got %s", __FILE__, __LINE__, #call,  \
				 ename(exp_), ename(got_));                                      \
	} while (0)
#define EXPECT_OK(call) EXPECT_ERRNO(0, call)
/* The call must fail (the spec marks the errno unverified, so only failure is asserted). */
#define EXPECT_FAIL(call)                                                                        \
	do {                                                                                     \
		int got_ = (call);                                                               \
		if (got_ == 0)                                                                   \
			fail_msg("%s:%d: %s\n    expected a failure, got success", __FILE__,        \
				 __LINE__, #call);                                               \
	} while (0)
#define EXPECT_U64(expected, value)                                                              \
	do {                                                                                     \
		uint64_t e_ = (uint64_t)(expected), v_ = (uint64_t)(value);                      \
		if (e_ != v_)                                                                    \
			fail_msg("%s:%d: %s\n    expected 0x%llx, got 0x%llx", __FILE__, __LINE__,   \
				 #value, (unsigned long long)e_, (unsigned long long)v_);        \
	} while (0)

/* ioctl with errno as the result: 0, an errno, or -1 for a nonsensical return value. */
int uioctl(int fd, unsigned long request, void *arg);

/* ---- Per-test resources ----------------------------------------------------------------------- */

/*
 * Every descriptor and mapping a test makes through these helpers is released by the teardown,
 * also when the test fails half-way: pin counts are process-wide (uapi.md 11.4), so a leaked
 * context would disturb the MD_CHECK_REFS of later tests.
 */
int ts_setup(void **state);
int ts_teardown(void **state);
#define UT(f) cmocka_unit_test_setup_teardown(f, ts_setup, ts_teardown)

int dev_open(void);              /* open("/dev/iommu", O_RDWR), asserted, closed at teardown */
void dev_close(int fd);          /* close now (and forget) */
void t_forget_fd(int fd);        /* the test closed it itself */
void t_track_fd(int fd);         /* close at teardown */
void *t_mmap(size_t len, int prot);                 /* anonymous, NORESERVE, unmapped at teardown */
void *t_mmap_aligned(size_t len, size_t align);     /* read/write, aligned */
void *t_hole(size_t len);                           /* an address range that is not mapped */

/* ---- Raw command helpers: 0 or errno ---------------------------------------------------------- */

int destroy_e(int fd, uint32_t id);
int ioas_alloc_e(int fd, uint32_t *id);
int map_e(int fd, uint32_t ioas, uint32_t flags, const void *va, uint64_t len, uint64_t *iova);
int unmap_e(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out_len);
int option_e(int fd, uint32_t option_id, uint16_t op, uint32_t object, uint64_t *val);
int hwpt_alloc_e(int fd, uint32_t flags, uint32_t dev, uint32_t pt, uint32_t *out);
int hw_info_e(int fd, uint32_t dev, void *data, uint32_t *data_len, uint32_t *type,
	      uint64_t *caps);
int set_dirty_e(int fd, uint32_t hwpt, uint32_t flags);
int get_dirty_e(int fd, uint32_t hwpt, uint32_t flags, uint64_t iova, uint64_t len,
		uint64_t page_size, void *data);
int iova_ranges_e(int fd, uint32_t ioas, struct iommu_iova_range *ranges, uint32_t *num,
		  uint64_t *align);
/* MOCK_DOMAIN when dev_flags is 0, MOCK_DOMAIN_FLAGS otherwise; outputs may be NULL */
int mock_domain_e(int fd, uint32_t id, uint32_t dev_flags, uint32_t *stdev, uint32_t *hwpt,
		  uint32_t *idev);
int mock_domain_flags_e(int fd, uint32_t id, uint32_t dev_flags, uint32_t *stdev,
			uint32_t *hwpt, uint32_t *idev);
int check_refs_e(int fd, const void *uptr, uint64_t len, uint32_t refs);
int check_map_e(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, const void *uptr);
int test_dirty_e(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
		 const void *uptr, uint64_t *nr);
int device_new_e(int fd, uint32_t id, uint32_t format, uint32_t dev_flags, uint32_t *stdev,
		 uint32_t *hwpt, uint32_t *idev);
int dma_e(int fd, uint32_t stdev, uint32_t flags, uint64_t iova, uint64_t len, void *uptr,
	  uint64_t *done);
int faults_e(int fd, uint32_t stdev, uint64_t *count);

/* ---- Asserted shortcuts ----------------------------------------------------------------------- */

uint32_t ioas_alloc(int fd);
void map_fixed(int fd, uint32_t ioas, const void *va, uint64_t len, uint64_t iova);
uint32_t hwpt_alloc(int fd, uint32_t flags, uint32_t dev, uint32_t pt);

/* A context with an IOAS and a mock device attached to it (uapi.md 9.1). */
struct mockfx {
	int fd;
	uint32_t ioas, stdev, hwpt, idev;
};
void mockfx_init(struct mockfx *f, uint32_t dev_flags);

/*
 * The 6.7 get_dirty_bitmap setup (uapi.md 9.2): a new IOAS, buf mapped R|W at iova, an HWPT
 * allocated with DIRTY_TRACKING from template device idev, a mock device attached to it, and
 * tracking enabled.  Outputs may be NULL.
 */
void dirty_setup(int fd, uint32_t idev, const void *buf, uint64_t len, uint64_t iova,
		 uint32_t *ioas, uint32_t *hwpt, uint32_t *stdev);

/* ---- Bitmaps ---------------------------------------------------------------------------------- */

static inline bool bit_get(const uint8_t *bm, uint64_t n) { return (bm[n / 8] >> (n % 8)) & 1; }
static inline void bit_set(uint8_t *bm, uint64_t n) { bm[n / 8] |= (uint8_t)(1u << (n % 8)); }
static inline uint64_t bm_bytes(uint64_t nbits) { return (nbits + 7) / 8; }

/*
 * A bitmap of `bytes` bytes at page offset `offset` (which may exceed a page) inside read/write
 * pages framed by PROT_NONE pages.  Every byte of those pages outside the bitmap is filled with
 * GUARD_BYTE, and the bitmap itself with `fill`.
 */
#define GUARD_BYTE 0xAA
struct gbm {
	uint8_t *base; /* first read/write page */
	size_t span;   /* read/write bytes */
	uint8_t *bm;   /* base + offset */
	size_t bytes;
};
void gbm_alloc(struct gbm *g, size_t bytes, size_t offset, uint8_t fill);
void gbm_fill(struct gbm *g, uint8_t fill);
/* Asserts that every byte outside the bitmap still holds GUARD_BYTE. */
void gbm_check_guard_(struct gbm *g, const char *file, int line);
#define gbm_check_guard(g) gbm_check_guard_(g, __FILE__, __LINE__)

/* Asserts that bits [0, nbits) of bm equal those of want; reports the first difference. */
void bm_expect_(const uint8_t *bm, const uint8_t *want, uint64_t nbits, const char *what,
		const char *file, int line);
#define bm_expect(bm, want, nbits, what) bm_expect_(bm, want, nbits, what, __FILE__, __LINE__)
/* Asserts that bits [0, nbits) of bm are all clear. */
void bm_expect_zero_(const uint8_t *bm, uint64_t nbits, const char *what, const char *file,
		     int line);
#define bm_expect_zero(bm, nbits, what) bm_expect_zero_(bm, nbits, what, __FILE__, __LINE__)

/* ---- Groups ----------------------------------------------------------------------------------- */

struct uapi_group {
	const char *name;
	const struct CMUnitTest *tests;
	size_t count;
};
extern const struct uapi_group uapi_group_dispatch;
extern const struct uapi_group uapi_group_commands;
extern const struct uapi_group uapi_group_selftest;
extern const struct uapi_group uapi_group_dirty;
extern const struct uapi_group uapi_group_formats;
extern const struct uapi_group uapi_group_process;

/* argv[0] of the program, for the exec test */
extern const char *uapi_argv0;
int uapi_exec_probe(int argc, char **argv);

#endif
