/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target (issue 7, 1a): programs of ioctls against the emulated
 * /dev/iommu (iodirty_open/iodirty_ioctl/iodirty_close, uapi.md).
 *
 * Input, little-endian; bytes past the end of the input read as zero.
 *
 *   u8 setup      bit 0: open a second context (ids of one are tried on the other)
 *   then up to MAX_OPS ops, each 4 header bytes and the struct bytes:
 *     u8 kind     modulo KINDS: DESTROY, IOAS_ALLOC, IOVA_RANGES, MAP, UNMAP,
 *                 OPTION, HWPT_ALLOC, GET_HW_INFO, SET_DIRTY_TRACKING,
 *                 GET_DIRTY_BITMAP, then IOMMU_TEST_CMD with op MOCK_DOMAIN,
 *                 MOCK_DOMAIN_FLAGS, MD_CHECK_MAP, MD_CHECK_REFS, DIRTY,
 *                 DEVICE_NEW, DMA, FAULTS, then TEST_RAW (an unknown test op)
 *                 and RAW (an unknown command value); see `kinds` below
 *     u8 ctl      bit 0: the second context (if open);
 *                 bits 1-2 size word: 0 sizeof; 1 min_size - (extra & 1);
 *                   2 extra; 3 sizeof + 1 + (extra & 31), the last byte 0xff
 *                   if extra bit 7 (E2BIG) and zero otherwise;
 *                 bits 3-4 where the struct is: 0 a writable page; 1 its
 *                   first place + 1 bytes end a writable page, the rest would
 *                   be in an inaccessible one; 2 a read-only page (copy-back
 *                   fails); 3 the NULL page at address place;
 *                 bit 5: every id field is pool[value % pool size], the ids
 *                   returned so far by either context, instead of the value
 *     u8 extra, u8 place  (see ctl)
 *     the struct: the kind's sizeof bytes (72 for the test command), its
 *                 size word replaced as ctl says and the test op set by the
 *                 kind.  A user pointer field (u64) v means, by v & 3: 0 the
 *                 arena + (v >> 2) % ARENA_BYTES; 1 the NULL page; 2 the
 *                 read-only page after the arena; 3 the PROT_NONE page after
 *                 that, each + (v >> 2) % 4096.  RAW's command value is the
 *                 struct's u32 at offset 4, taken as is unless it names a
 *                 command (then a direction bit is set); TEST_RAW's op is
 *                 taken as is unless it names an op (then bit 31 is set).
 *
 * Checks (a broken one prints why on stderr and aborts): every ioctl returns
 * 0 or -1 with an errno uapi.md allows for that command; bytes of the struct
 * past min(size, sizeof) are never written, and commands that do not
 * respond write nothing; the arena changes only where the command may write
 * (a bitmap, hw-info data, the ranges array, a DMA read's buffer), and a DMA
 * write lands only in arena bytes that a WRITEABLE area of the device's
 * IOAS maps in the IOVAs written (a shadow of the program's maps and
 * unmaps: an area whose IOVA is unknown, from a MAP whose copy-back failed,
 * allows its whole user range); created ids are non-zero, below 2^31 and
 * name objects the shadow can place.  At the end every context is closed and
 * a fresh one must see zero pins on the arena (MD_CHECK_REFS), so the
 * context was torn down; LeakSanitizer checks that it freed everything.
 *
 * FUZZ_IOCTL_TRACE=1 in the environment prints each ioctl and its result
 * (to read what a crashing input does).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "iodirty/dev_iommu.h"
#include "iodirty/iommufd.h"
#include "fuzz_common.h"

#define HOST_PAGE 4096u
/* Small, so that snapshots are cheap; 8 host pages hold areas of every
 * granule (2 KiB mock, 4 KiB hardware formats). */
#define ARENA_PAGES 8u
#define ARENA_BYTES (ARENA_PAGES * HOST_PAGE)
#define MAX_OPS 64
#define OP_HEADER 4u
/* The largest struct, plus the sizes mode 2 and 3 can ask for. */
#define ARG_MAX 256u
#define MODEL_IDS 512u /* ids are lowest-free: at most 3 per op are live */
#define POOL_MAX (3 * MAX_OPS)

/* The memory every input uses, mapped once: the arena, the read-only page
 * after it, a PROT_NONE page, the writable argument page, a PROT_NONE page,
 * and the read-only argument page. */
enum page {
	PAGE_RO = ARENA_PAGES,
	PAGE_GUARD,
	PAGE_ARG,
	PAGE_ARG_GUARD,
	PAGE_ARG_RO,
	PAGES_TOTAL
};

static uint8_t *mem;
static bool trace;
static uint8_t arena_fill[ARENA_BYTES];

enum kind {
	K_DESTROY,
	K_IOAS_ALLOC,
	K_IOVA_RANGES,
	K_MAP,
	K_UNMAP,
	K_OPTION,
	K_HWPT_ALLOC,
	K_HW_INFO,
	K_SET_DIRTY,
	K_GET_DIRTY,
	K_MOCK_DOMAIN,
	K_MOCK_DOMAIN_FLAGS,
	K_CHECK_MAP,
	K_CHECK_REFS,
	K_TEST_DIRTY,
	K_DEVICE_NEW,
	K_DMA,
	K_FAULTS,
	K_TEST_RAW,
	K_RAW,
	KINDS
};

#define TEST_SIZE sizeof(struct iodirty_test_cmd)
#define TEST_MIN (offsetof(struct iodirty_test_cmd, last) + 4)
/* The errnos of uapi.md 3 that any command's size word and copy-in give. */
#define GENERIC EFAULT, EINVAL, E2BIG

static const struct kind_desc {
	const char *name;
	uint32_t cmd;
	uint32_t test_op;
	uint32_t size, min_size;
	bool responds;
	uint8_t ids[2];     /* offsets of id fields (0: none) */
	uint8_t pointer;    /* offset of the user pointer field (0: none) */
	int errnos[10];     /* the failures uapi.md allows, 0-terminated */
} kinds[KINDS] = {
	[K_DESTROY] = { "DESTROY", IOMMU_DESTROY, 0, 8, 8, false, { 4 }, 0,
			{ GENERIC, ENOENT, EBUSY } },
	[K_IOAS_ALLOC] = { "IOAS_ALLOC", IOMMU_IOAS_ALLOC, 0, 12, 12, true, { 0 }, 0,
			   { GENERIC, EOPNOTSUPP, ENOMEM } },
	[K_IOVA_RANGES] = { "IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES, 0, 32, 32, true, { 4 }, 16,
			    { GENERIC, EOPNOTSUPP, ENOENT, EMSGSIZE } },
	[K_MAP] = { "IOAS_MAP", IOMMU_IOAS_MAP, 0, 40, 40, true, { 8 }, 16,
		    { GENERIC, EOPNOTSUPP, EOVERFLOW, ENOENT, EEXIST, ENOSPC, ENOMEM } },
	[K_UNMAP] = { "IOAS_UNMAP", IOMMU_IOAS_UNMAP, 0, 24, 24, true, { 4 }, 0,
		      { GENERIC, ENOENT, EOVERFLOW, ENOMEM } },
	[K_OPTION] = { "OPTION", IOMMU_OPTION, 0, 24, 24, true, { 12 }, 0,
		       { GENERIC, EOPNOTSUPP, ENOENT, EPERM, EADDRINUSE } },
	[K_HWPT_ALLOC] = { "HWPT_ALLOC", IOMMU_HWPT_ALLOC, 0, 40, 24, true, { 8, 12 }, 32,
			   { GENERIC, EOPNOTSUPP, ENOENT, EADDRINUSE, ENOMEM } },
	[K_HW_INFO] = { "GET_HW_INFO", IOMMU_GET_HW_INFO, 0, 40, 32, true, { 8 }, 16,
			{ GENERIC, EOPNOTSUPP, ENOENT } },
	[K_SET_DIRTY] = { "SET_DIRTY_TRACKING", IOMMU_HWPT_SET_DIRTY_TRACKING, 0, 16, 16, false,
			  { 8 }, 0, { GENERIC, EOPNOTSUPP, ENOENT, ENOMEM } },
	[K_GET_DIRTY] = { "GET_DIRTY_BITMAP", IOMMU_HWPT_GET_DIRTY_BITMAP, 0, 48, 48, false, { 4 },
			  40, { GENERIC, EOPNOTSUPP, ENOENT, EOVERFLOW, ENOMEM } },
	[K_MOCK_DOMAIN] = { "TEST MOCK_DOMAIN", IOMMU_TEST_CMD, IOMMU_TEST_OP_MOCK_DOMAIN,
			    TEST_SIZE, TEST_MIN, true, { 8 }, 0,
			    { GENERIC, EOPNOTSUPP, ENOENT, ENOMEM, EADDRINUSE } },
	[K_MOCK_DOMAIN_FLAGS] = { "TEST MOCK_DOMAIN_FLAGS", IOMMU_TEST_CMD,
				  IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, TEST_SIZE, TEST_MIN, true,
				  { 8 }, 0, { GENERIC, EOPNOTSUPP, ENOENT, ENOMEM, EADDRINUSE } },
	[K_CHECK_MAP] = { "TEST MD_CHECK_MAP", IOMMU_TEST_CMD, IOMMU_TEST_OP_MD_CHECK_MAP,
			  TEST_SIZE, TEST_MIN, false, { 8 }, 32, { GENERIC, EOPNOTSUPP, ENOENT } },
	[K_CHECK_REFS] = { "TEST MD_CHECK_REFS", IOMMU_TEST_CMD, IOMMU_TEST_OP_MD_CHECK_REFS,
			   TEST_SIZE, TEST_MIN, false, { 8 }, 24, { GENERIC, EOPNOTSUPP, EIO } },
	[K_TEST_DIRTY] = { "TEST DIRTY", IOMMU_TEST_CMD, IOMMU_TEST_OP_DIRTY, TEST_SIZE,
			   TEST_MIN, true, { 8 }, 48, { GENERIC, EOPNOTSUPP, ENOENT, ENOMEM } },
	[K_DEVICE_NEW] = { "TEST DEVICE_NEW", IOMMU_TEST_CMD, IODIRTY_TEST_OP_DEVICE_NEW,
			   TEST_SIZE, TEST_MIN, true, { 8 }, 0,
			   { GENERIC, EOPNOTSUPP, ENOENT, ENOMEM, EADDRINUSE } },
	[K_DMA] = { "TEST DMA", IOMMU_TEST_CMD, IODIRTY_TEST_OP_DMA, TEST_SIZE, TEST_MIN, true,
		    { 8 }, 40, { GENERIC, EOPNOTSUPP, ENOENT, EOVERFLOW, ENOMEM, EIO } },
	[K_FAULTS] = { "TEST FAULTS", IOMMU_TEST_CMD, IODIRTY_TEST_OP_FAULTS, TEST_SIZE, TEST_MIN,
		       true, { 8 }, 0, { GENERIC, EOPNOTSUPP, ENOENT } },
	/* an op no kernel or iodirty defines: the op field is taken as is */
	[K_TEST_RAW] = { "TEST (unknown op)", IOMMU_TEST_CMD, 0, TEST_SIZE, TEST_MIN, false,
			 { 8 }, 0, { GENERIC, EOPNOTSUPP } },
	/* a command value from the input: ENOTTY after the size word is read */
	[K_RAW] = { "(unknown command)", 0, 0, TEST_SIZE, 8, false, { 0 }, 0, { EFAULT, ENOTTY } },
};

/* ---- the shadow of each context ------------------------------------------------ */

enum obj_type { OBJ_NONE, OBJ_IOAS, OBJ_HWPT, OBJ_STDEV, OBJ_IDEV };

struct shadow_obj {
	enum obj_type type;
	uint32_t ioas; /* HWPT, STDEV: the IOAS it maps through */
};

struct shadow_area {
	uint32_t ioas;
	bool iova_known, writable;
	uint64_t iova, length, user_va;
};

struct shadow_ctx {
	int fd;
	struct shadow_obj objs[MODEL_IDS];
	struct shadow_area areas[MAX_OPS];
	size_t nareas;
};

static struct shadow_ctx ctxs[2];
static uint32_t pool[POOL_MAX];
static size_t pool_count;

static void fail(const char *what, const struct kind_desc *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static void fail(const char *what, const struct kind_desc *k, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz-ioctl: %s: %s: ", k ? k->name : "teardown", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t arena_base(void)
{
	return (uint64_t)(uintptr_t)mem;
}

/* A user pointer field's value (see the input encoding). */
static uint64_t decode_pointer(uint64_t v)
{
	switch (v & 3) {
	case 0:
		return arena_base() + (v >> 2) % ARENA_BYTES;
	case 1:
		return (v >> 2) % HOST_PAGE;
	case 2:
		return arena_base() + PAGE_RO * HOST_PAGE + (v >> 2) % HOST_PAGE;
	default:
		return arena_base() + PAGE_GUARD * HOST_PAGE + (v >> 2) % HOST_PAGE;
	}
}

static void pool_add(uint32_t id)
{
	if (pool_count < POOL_MAX)
		pool[pool_count++] = id;
}

/* A created object: the shadow takes it over whatever had its id before. */
static void shadow_create(struct shadow_ctx *c, const struct kind_desc *k, uint32_t id,
			  enum obj_type type, uint32_t ioas)
{
	if (!id || id >= MODEL_IDS)
		fail("bad new id", k, "%u", id);
	c->objs[id] = (struct shadow_obj){ type, ioas };
	pool_add(id);
}

/* The IOAS a new device or HWPT on pt_id maps through. */
static uint32_t shadow_ioas_of(struct shadow_ctx *c, const struct kind_desc *k, uint32_t pt_id)
{
	if (pt_id && pt_id < MODEL_IDS && c->objs[pt_id].type == OBJ_IOAS)
		return pt_id;
	if (pt_id && pt_id < MODEL_IDS && c->objs[pt_id].type == OBJ_HWPT)
		return c->objs[pt_id].ioas;
	fail("attached to an object the program never created", k, "id %u", pt_id);
}

static void shadow_add_area(struct shadow_ctx *c, uint32_t ioas, bool iova_known, uint64_t iova,
			    uint64_t length, uint64_t user_va, uint32_t flags)
{
	c->areas[c->nareas++] = (struct shadow_area){
		ioas, iova_known, (flags & IOMMU_IOAS_MAP_WRITEABLE) != 0, iova, length, user_va,
	};
}

/* UNMAP removed every area wholly inside [iova, last]; areas of unknown IOVA
 * stay (they may still be mapped), except for the unmap-everything form. */
static void shadow_unmap(struct shadow_ctx *c, uint32_t ioas, uint64_t iova, uint64_t length)
{
	bool all = iova == 0 && length == UINT64_MAX;
	uint64_t last = iova + (length - 1);
	size_t kept = 0;

	for (size_t i = 0; i < c->nareas; i++) {
		const struct shadow_area *a = &c->areas[i];
		bool removed = a->ioas == ioas &&
			       (all || (a->iova_known && a->iova >= iova &&
					a->iova + (a->length - 1) <= last));

		if (!removed)
			c->areas[kept++] = *a;
	}
	c->nareas = kept;
}

static void shadow_drop_ioas(struct shadow_ctx *c, uint32_t ioas)
{
	shadow_unmap(c, ioas, 0, UINT64_MAX);
}

/* ---- where a command may write in the arena ------------------------------------- */

/* Marks [uptr, uptr + length) in allowed, clipped to the arena. */
static void allow_range(uint8_t *allowed, uint64_t uptr, uint64_t length)
{
	uint64_t lo = arena_base(), hi = lo + ARENA_BYTES;
	uint64_t end = uptr + length < uptr ? UINT64_MAX : uptr + length;

	if (uptr < lo)
		uptr = lo;
	if (end > hi)
		end = hi;
	if (uptr < end)
		memset(allowed + (uptr - lo), 1, end - uptr);
}

/* A DMA write of [iova, iova + length) by a device on ioas reaches the
 * user memory of the WRITEABLE areas there. */
static void allow_dma_write(const struct shadow_ctx *c, uint32_t ioas, uint64_t iova,
			    uint64_t length, uint8_t *allowed)
{
	uint64_t last = length ? iova + (length - 1) : iova;

	if (!length)
		return;
	if (last < iova)
		last = UINT64_MAX;
	for (size_t i = 0; i < c->nareas; i++) {
		const struct shadow_area *a = &c->areas[i];
		uint64_t a_last = a->iova + (a->length - 1), lo, hi;

		if (a->ioas != ioas || !a->writable)
			continue;
		if (!a->iova_known) {
			allow_range(allowed, a->user_va, a->length);
			continue;
		}
		lo = iova > a->iova ? iova : a->iova;
		hi = last < a_last ? last : a_last;
		if (lo <= hi)
			allow_range(allowed, a->user_va + (lo - a->iova), hi - lo + 1);
	}
}

/* GET_DIRTY_BITMAP's bitmap bytes (uapi.md 6, sizing). */
static uint64_t dirty_bitmap_bytes(uint64_t length, uint64_t page_size)
{
	uint64_t nbits;

	if (!length || !page_size)
		return 0;
	nbits = ((length - 1) >> __builtin_ctzll(page_size)) + 1;
	return nbits / 8 + (nbits % 8 != 0);
}

/*
 * The arena bytes the command in cmd (as sent) may change: its output
 * buffer, or for a DMA write what the device's IOAS maps writable.
 */
static void allowed_writes(const struct shadow_ctx *c, enum kind kind, const uint8_t *cmd,
			   uint64_t dma_done, uint8_t *allowed)
{
	memset(allowed, 0, ARENA_BYTES);
	switch (kind) {
	case K_IOVA_RANGES:
		if (get32(cmd + 8))
			allow_range(allowed, get64(cmd + 16), sizeof(struct iommu_iova_range));
		break;
	case K_HW_INFO:
		allow_range(allowed, get64(cmd + 16), get32(cmd + 12));
		break;
	case K_GET_DIRTY:
		allow_range(allowed, get64(cmd + 40),
			    dirty_bitmap_bytes(get64(cmd + 24), get64(cmd + 32)));
		break;
	case K_DMA: {
		uint32_t id = get32(cmd + 8);

		if (!(get32(cmd + 16) & IODIRTY_TEST_DMA_WRITE))
			allow_range(allowed, get64(cmd + 40), get64(cmd + 32));
		else if (id < MODEL_IDS && c->objs[id].type == OBJ_STDEV)
			allow_dma_write(c, c->objs[id].ioas, get64(cmd + 24), dma_done, allowed);
		break;
	}
	default:
		break;
	}
}

/* ---- one op ------------------------------------------------------------------------ */

struct cursor {
	const uint8_t *data;
	size_t size, pos;
};

static uint8_t next_byte(struct cursor *in)
{
	return in->pos < in->size ? in->data[in->pos++] : (in->pos++, 0);
}

static bool errno_allowed(const struct kind_desc *k, int err)
{
	for (size_t i = 0; i < sizeof(k->errnos) / sizeof(k->errnos[0]) && k->errnos[i]; i++)
		if (k->errnos[i] == err)
			return true;
	return false;
}

static bool is_known_command(uint32_t cmd)
{
	for (size_t i = 0; i < KINDS; i++)
		if (kinds[i].cmd && kinds[i].cmd == cmd)
			return true;
	return false;
}

static bool is_known_test_op(uint32_t op)
{
	for (size_t i = 0; i < KINDS; i++)
		if (kinds[i].test_op && kinds[i].test_op == op)
			return true;
	return false;
}

/* The struct as the program sends it: fields decoded, size word set. */
static uint32_t build_command(const struct kind_desc *k, enum kind kind, uint8_t ctl,
			      uint8_t extra, struct cursor *in, uint8_t *cmd)
{
	uint32_t size;

	memset(cmd, 0, ARG_MAX);
	for (uint32_t i = 0; i < k->size; i++)
		cmd[i] = next_byte(in);
	if (kind == K_RAW && is_known_command(get32(cmd + 4)))
		put32(cmd + 4, get32(cmd + 4) ^ 0x40000000u); /* a direction bit: unknown */
	if (k->test_op)
		put32(cmd + 4, k->test_op);
	else if (kind == K_TEST_RAW && is_known_test_op(get32(cmd + 4)))
		put32(cmd + 4, get32(cmd + 4) | 0x80000000u);
	if (k->pointer)
		put64(cmd + k->pointer, decode_pointer(get64(cmd + k->pointer)));
	for (size_t i = 0; i < 2 && k->ids[i]; i++)
		if ((ctl & 0x20) && pool_count)
			put32(cmd + k->ids[i], pool[get32(cmd + k->ids[i]) % pool_count]);
	switch ((ctl >> 1) & 3) {
	case 0:
		size = k->size;
		break;
	case 1:
		size = k->min_size - (extra & 1);
		break;
	case 2:
		size = extra;
		break;
	default:
		size = k->size + 1 + (extra & 31);
		if (extra & 0x80)
			cmd[size - 1] = 0xff;
		break;
	}
	return size;
}

static void run_op(struct cursor *in, bool two_contexts)
{
	static uint8_t arena_before[ARENA_BYTES], allowed[ARENA_BYTES];
	enum kind kind = (enum kind)(next_byte(in) % KINDS);
	const struct kind_desc *k = &kinds[kind];
	uint8_t ctl = next_byte(in), extra = next_byte(in), place = next_byte(in);
	struct shadow_ctx *c = &ctxs[two_contexts && (ctl & 1)];
	uint8_t cmd[ARG_MAX], sent[ARG_MAX], *arg = NULL, *out = cmd;
	uint32_t size = build_command(k, kind, ctl, extra, in, cmd);
	uint32_t request = kind == K_RAW ? get32(cmd + 4) : k->cmd;
	uint32_t kept = size < k->size ? size : k->size;
	size_t fits = ARG_MAX;
	uint64_t arg_address = place; /* mode 3: in the NULL page */
	int ret, err;

	put32(cmd, size);
	memcpy(sent, cmd, sizeof(sent));
	switch ((ctl >> 3) & 3) {
	case 0:
		arg = mem + PAGE_ARG * HOST_PAGE;
		break;
	case 1:
		fits = (size_t)place + 1;
		arg = mem + PAGE_ARG_GUARD * HOST_PAGE - fits;
		break;
	case 2:
		arg = mem + PAGE_ARG_RO * HOST_PAGE;
		mprotect(arg, HOST_PAGE, PROT_READ | PROT_WRITE);
		break;
	default:
		break;
	}
	if (arg) {
		memcpy(arg, cmd, fits);
		if (((ctl >> 3) & 3) == 2)
			mprotect(arg, HOST_PAGE, PROT_READ);
		arg_address = (uint64_t)(uintptr_t)arg;
	}
	memcpy(arena_before, mem, ARENA_BYTES);

	errno = 0;
	ret = iodirty_ioctl(c->fd, request, (void *)(uintptr_t)arg_address);
	err = errno;
	if (trace)
		fprintf(stderr, "ctx %d %s size %u arg mode %d: %d %s\n", (int)(c - ctxs), k->name,
			size, (ctl >> 3) & 3, ret, ret ? strerror(err) : "");

	/* what came back, where the struct could be read */
	if (arg)
		memcpy(cmd, arg, fits);
	if (ret != 0 && ret != -1)
		fail("returned neither 0 nor -1", k, "%d", ret);
	if (ret == -1 && !errno_allowed(k, err))
		fail("errno uapi.md does not allow", k, "%s (%d)", strerror(err), err);
	if (arg) {
		uint32_t from = k->responds ? kept : 0;

		/* memcmp first: a byte loop costs the fuzzer a comparison hook per byte */
		if (from < fits && memcmp(cmd + from, sent + from, fits - from))
			for (size_t i = from; i < fits; i++)
				if (cmd[i] != sent[i])
					fail("wrote past min(size, sizeof) or without responding", k,
					     "byte %zu of a %u-byte struct", i, size);
	}
	if (ret == 0 && arg == NULL)
		fail("succeeded on a NULL-page argument", k, "address %llu",
		     (unsigned long long)arg_address);

	if (memcmp(mem, arena_before, ARENA_BYTES)) {
		/* DMA: done is written back on success and on EIO; else at most length */
		uint64_t dma_done = get64(sent + 32);

		if (kind == K_DMA && (ret == 0 || err == EIO) && arg)
			dma_done = get64(out + 48);
		allowed_writes(c, kind, sent, dma_done, allowed);
		for (size_t i = 0; i < ARENA_BYTES; i++)
			if (mem[i] != arena_before[i] && !allowed[i])
				fail("changed memory it may not write", k, "arena byte %zu", i);
	}

	if (ret == -1) {
		/* a MAP whose copy-back failed keeps its mapping, at an IOVA the
		 * program never learnt (uapi.md 3 step 7) */
		if (kind == K_MAP && err == EFAULT && ((ctl >> 3) & 3) != 0)
			shadow_add_area(c, get32(sent + 8), false, 0, get64(sent + 24),
					get64(sent + 16), get32(sent + 4));
		return;
	}
	switch (kind) {
	case K_DESTROY:
		if (get32(sent + 4) < MODEL_IDS && c->objs[get32(sent + 4)].type == OBJ_IOAS)
			shadow_drop_ioas(c, get32(sent + 4));
		break;
	case K_IOAS_ALLOC:
		shadow_drop_ioas(c, get32(out + 8));
		shadow_create(c, k, get32(out + 8), OBJ_IOAS, 0);
		break;
	case K_MAP:
		shadow_add_area(c, get32(sent + 8), true, get64(out + 32), get64(sent + 24),
				get64(sent + 16), get32(sent + 4));
		break;
	case K_UNMAP:
		shadow_unmap(c, get32(sent + 4), get64(sent + 8), get64(sent + 16));
		break;
	case K_HWPT_ALLOC:
		shadow_create(c, k, get32(out + 16), OBJ_HWPT, shadow_ioas_of(c, k, get32(sent + 12)));
		break;
	case K_MOCK_DOMAIN:
	case K_MOCK_DOMAIN_FLAGS:
	case K_DEVICE_NEW: {
		uint32_t ioas = shadow_ioas_of(c, k, get32(sent + 8));

		shadow_create(c, k, get32(out + 16), OBJ_STDEV, ioas);
		shadow_create(c, k, get32(out + 20), OBJ_HWPT, ioas);
		shadow_create(c, k, get32(out + 24), OBJ_IDEV, 0);
		break;
	}
	default:
		break;
	}
}

/* ---- the program ------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	trace = getenv("FUZZ_IOCTL_TRACE") != NULL;
	mem = mmap(NULL, PAGES_TOTAL * HOST_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("fuzz-ioctl: mmap");
		abort();
	}
	/* a pattern, so that a DMA from one place to another changes bytes */
	for (size_t i = 0; i < ARENA_BYTES; i++)
		arena_fill[i] = (uint8_t)(i * 131u + (i >> 8));
	memset(mem + PAGE_RO * HOST_PAGE, 0x5a, HOST_PAGE);
	if (mprotect(mem + PAGE_RO * HOST_PAGE, HOST_PAGE, PROT_READ) ||
	    mprotect(mem + PAGE_GUARD * HOST_PAGE, HOST_PAGE, PROT_NONE) ||
	    mprotect(mem + PAGE_ARG_GUARD * HOST_PAGE, HOST_PAGE, PROT_NONE) ||
	    mprotect(mem + PAGE_ARG_RO * HOST_PAGE, HOST_PAGE, PROT_READ)) {
		perror("fuzz-ioctl: mprotect");
		abort();
	}
	return 0;
}

static int open_context(void)
{
	int fd = iodirty_open(0);

	if (fd < 0)
		fail("iodirty_open", NULL, "%s", strerror(errno));
	return fd;
}

/* Nothing of the program may survive its close: no pin on the arena. */
static void check_torn_down(void)
{
	struct iodirty_test_cmd refs = {
		.size = sizeof(refs),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = (ARENA_PAGES + 1) * HOST_PAGE,
				.uptr = arena_base(),
				.refs = 0 },
	};
	int fd = open_context();

	if (iodirty_ioctl(fd, IOMMU_TEST_CMD, &refs))
		fail("pins left on the arena after close", NULL, "%s", strerror(errno));
	iodirty_close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor in = { data, size, 0 };
	bool two_contexts = next_byte(&in) & 1;

	memcpy(mem, arena_fill, ARENA_BYTES);
	memset(ctxs, 0, sizeof(ctxs));
	pool_count = 0;
	ctxs[0].fd = open_context();
	ctxs[1].fd = two_contexts ? open_context() : -1;
	for (int op = 0; op < MAX_OPS && in.pos < in.size; op++)
		run_op(&in, two_contexts);
	for (int i = 0; i < 2; i++) {
		if (ctxs[i].fd < 0)
			continue;
		iodirty_close(ctxs[i].fd);
		if (iodirty_fd_is_emulated(ctxs[i].fd))
			fail("descriptor still emulated after close", NULL, "fd %d", ctxs[i].fd);
	}
	check_torn_down();
	return 0;
}
