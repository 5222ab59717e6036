/* SPDX-License-Identifier: MIT */
/* Helpers of the ABI conformance test (uapi_common.h). */
#include "uapi_common.h"

const char *uapi_argv0;

const char *ename(int e)
{
	static char buf[8][32];
	static unsigned slot;

	switch (e) {
	case 0: return "success (0)";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EADDRINUSE: return "EADDRINUSE";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOSYS: return "ENOSYS";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	default:
		slot = (slot + 1) % 8;
		snprintf(buf[slot], sizeof(buf[slot]), "errno %d", e);
		return buf[slot];
	}
}

int uioctl(int fd, unsigned long request, void *arg)
{
	errno = 0;
	int rc = ioctl(fd, request, arg);
	if (rc == 0)
		return 0;
	if (rc == -1)
		return errno ? errno : -1;
	return -1000 - rc;
}

/* ---- Per-test resources ----------------------------------------------------------------------- */

#define MAX_FDS 64
#define MAX_MAPS 256

static struct {
	int fds[MAX_FDS];
	int nfds;
	struct {
		void *p;
		size_t len;
	} maps[MAX_MAPS];
	int nmaps;
} T;

int ts_setup(void **state)
{
	(void)state;
	T.nfds = 0;
	T.nmaps = 0;
	return 0;
}

int ts_teardown(void **state)
{
	(void)state;
	for (int i = T.nfds - 1; i >= 0; i--)
		if (T.fds[i] >= 0)
			close(T.fds[i]);
	for (int i = T.nmaps - 1; i >= 0; i--)
		munmap(T.maps[i].p, T.maps[i].len);
	T.nfds = 0;
	T.nmaps = 0;
	return 0;
}

void t_track_fd(int fd)
{
	assert_true(T.nfds < MAX_FDS);
	T.fds[T.nfds++] = fd;
}

void t_forget_fd(int fd)
{
	for (int i = 0; i < T.nfds; i++)
		if (T.fds[i] == fd)
			T.fds[i] = -1;
}

int dev_open(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		fail_msg("open(\"/dev/iommu\") failed: %s (run this under `iodirty run --`)",
			 strerror(errno));
	t_track_fd(fd);
	return fd;
}

void dev_close(int fd)
{
	t_forget_fd(fd);
	assert_int_equal(close(fd), 0);
}

static void track_map(void *p, size_t len)
{
	assert_true(T.nmaps < MAX_MAPS);
	T.maps[T.nmaps].p = p;
	T.maps[T.nmaps].len = len;
	T.nmaps++;
}

void *t_mmap(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		fail_msg("mmap(%zu) failed: %s", len, strerror(errno));
	track_map(p, len);
	return p;
}

void *t_mmap_aligned(size_t len, size_t align)
{
	uint8_t *p = t_mmap(len + align, PROT_READ | PROT_WRITE);
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	return (void *)a;
}

void *t_hole(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(munmap(p, len), 0);
	return p;
}

/* ---- Raw command helpers ---------------------------------------------------------------------- */

int destroy_e(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };
	return uioctl(fd, IOMMU_DESTROY, &cmd);
}

int ioas_alloc_e(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .out_ioas_id = 0xdeadbeef };
	int rc = uioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc && id)
		*id = cmd.out_ioas_id;
	return rc;
}

int map_e(int fd, uint32_t ioas, uint32_t flags, const void *va, uint64_t len, uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova ? *iova : 0,
	};
	int rc = uioctl(fd, IOMMU_IOAS_MAP, &cmd);
	if (!rc && iova)
		*iova = cmd.iova;
	return rc;
}

int unmap_e(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out_len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	int rc = uioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
	if (!rc && out_len)
		*out_len = cmd.length;
	return rc;
}

int option_e(int fd, uint32_t option_id, uint16_t op, uint32_t object, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object,
		.val64 = val ? *val : 0,
	};
	int rc = uioctl(fd, IOMMU_OPTION, &cmd);
	if (!rc && val)
		*val = cmd.val64;
	return rc;
}

int hwpt_alloc_e(int fd, uint32_t flags, uint32_t dev, uint32_t pt, uint32_t *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
	};
	int rc = uioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!rc && out)
		*out = cmd.out_hwpt_id;
	return rc;
}

int hw_info_e(int fd, uint32_t dev, void *data, uint32_t *data_len, uint32_t *type,
	      uint64_t *caps)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev,
		.data_len = data_len ? *data_len : 0,
		.data_uptr = (uintptr_t)data,
		.out_data_type = 0x12345678,
		.out_capabilities = 0xf0f0f0f0f0f0f0f0ull, /* must be recomputed */
	};
	int rc = uioctl(fd, IOMMU_GET_HW_INFO, &cmd);
	if (!rc) {
		if (data_len)
			*data_len = cmd.data_len;
		if (type)
			*type = cmd.out_data_type;
		if (caps)
			*caps = cmd.out_capabilities;
	}
	return rc;
}

int set_dirty_e(int fd, uint32_t hwpt, uint32_t flags)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .flags = flags, .hwpt_id = hwpt,
	};
	return uioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

int get_dirty_e(int fd, uint32_t hwpt, uint32_t flags, uint64_t iova, uint64_t len,
		uint64_t page_size, void *data)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = iova,
		.length = len,
		.page_size = page_size,
		.data = (uintptr_t)data,
	};
	return uioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

int iova_ranges_e(int fd, uint32_t ioas, struct iommu_iova_range *ranges, uint32_t *num,
		  uint64_t *align)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = num ? *num : 0,
		.allowed_iovas = (uintptr_t)ranges,
		.out_iova_alignment = 0x5555,
	};
	int rc = uioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	/* EMSGSIZE still copies the struct back (uapi.md 5.9 step 6) */
	if ((!rc || rc == EMSGSIZE) && num)
		*num = cmd.num_iovas;
	if ((!rc || rc == EMSGSIZE) && align)
		*align = cmd.out_iova_alignment;
	return rc;
}

static int mock_domain_op(int fd, uint32_t op, uint32_t id, uint32_t dev_flags, uint32_t *stdev,
			  uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = op, .id = id };
	cmd.mock_domain_flags.dev_flags = dev_flags;
	int rc = uioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!rc) {
		if (stdev)
			*stdev = cmd.mock_domain.out_stdev_id;
		if (hwpt)
			*hwpt = cmd.mock_domain.out_hwpt_id;
		if (idev)
			*idev = cmd.mock_domain.out_idev_id;
	}
	return rc;
}

int mock_domain_e(int fd, uint32_t id, uint32_t dev_flags, uint32_t *stdev, uint32_t *hwpt,
		  uint32_t *idev)
{
	return mock_domain_op(fd, dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
					    : IOMMU_TEST_OP_MOCK_DOMAIN,
			      id, dev_flags, stdev, hwpt, idev);
}

int mock_domain_flags_e(int fd, uint32_t id, uint32_t dev_flags, uint32_t *stdev,
			uint32_t *hwpt, uint32_t *idev)
{
	return mock_domain_op(fd, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, id, dev_flags, stdev, hwpt,
			      idev);
}

int check_refs_e(int fd, const void *uptr, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS };
	cmd.check_refs.length = len;
	cmd.check_refs.uptr = (uintptr_t)uptr;
	cmd.check_refs.refs = refs;
	return uioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int check_map_e(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, const void *uptr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt,
	};
	cmd.check_map.iova = iova;
	cmd.check_map.length = len;
	cmd.check_map.uptr = (uintptr_t)uptr;
	return uioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int test_dirty_e(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
		 const void *uptr, uint64_t *nr)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt };
	cmd.dirty.iova = iova;
	cmd.dirty.length = len;
	cmd.dirty.page_size = page_size;
	cmd.dirty.uptr = (uintptr_t)uptr;
	cmd.dirty.out_nr_dirty = 0xbadbadbadull;
	int rc = uioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

int device_new_e(int fd, uint32_t id, uint32_t format, uint32_t dev_flags, uint32_t *stdev,
		 uint32_t *hwpt, uint32_t *idev)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IODIRTY_TEST_OP_DEVICE_NEW, .id = id,
	};
	cmd.device_new.format = format;
	cmd.device_new.dev_flags = dev_flags;
	int rc = uioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!rc) {
		if (stdev)
			*stdev = cmd.device_new.out_stdev_id;
		if (hwpt)
			*hwpt = cmd.device_new.out_hwpt_id;
		if (idev)
			*idev = cmd.device_new.out_idev_id;
	}
	return rc;
}

int dma_e(int fd, uint32_t stdev, uint32_t flags, uint64_t iova, uint64_t len, void *uptr,
	  uint64_t *done)
{
	struct iodirty_test_cmd cmd = { .size = sizeof(cmd), .op = IODIRTY_TEST_OP_DMA, .id = stdev };
	cmd.dma.flags = flags;
	cmd.dma.iova = iova;
	cmd.dma.length = len;
	cmd.dma.uptr = (uintptr_t)uptr;
	cmd.dma.done = 0xbadbadbadull;
	int rc = uioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (done)
		*done = cmd.dma.done; /* also on EIO */
	return rc;
}

int faults_e(int fd, uint32_t stdev, uint64_t *count)
{
	struct iodirty_test_cmd cmd = {
		.size = sizeof(cmd), .op = IODIRTY_TEST_OP_FAULTS, .id = stdev,
	};
	cmd.faults.count = 0xbadbadbadull;
	int rc = uioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!rc && count)
		*count = cmd.faults.count;
	return rc;
}

/* ---- Asserted shortcuts ----------------------------------------------------------------------- */

uint32_t ioas_alloc(int fd)
{
	uint32_t id = 0;
	EXPECT_OK(ioas_alloc_e(fd, &id));
	assert_true(id != 0);
	return id;
}

void map_fixed(int fd, uint32_t ioas, const void *va, uint64_t len, uint64_t iova)
{
	uint64_t io = iova;
	EXPECT_OK(map_e(fd, ioas,
			IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				IOMMU_IOAS_MAP_WRITEABLE,
			va, len, &io));
	EXPECT_U64(iova, io);
}

uint32_t hwpt_alloc(int fd, uint32_t flags, uint32_t dev, uint32_t pt)
{
	uint32_t id = 0;
	EXPECT_OK(hwpt_alloc_e(fd, flags, dev, pt, &id));
	assert_true(id != 0);
	return id;
}

void mockfx_init(struct mockfx *f, uint32_t dev_flags)
{
	f->fd = dev_open();
	f->ioas = ioas_alloc(f->fd);
	EXPECT_OK(mock_domain_e(f->fd, f->ioas, dev_flags, &f->stdev, &f->hwpt, &f->idev));
	assert_true(f->stdev && f->hwpt && f->idev);
}

void dirty_setup(int fd, uint32_t idev, const void *buf, uint64_t len, uint64_t iova,
		 uint32_t *ioas_out, uint32_t *hwpt_out, uint32_t *stdev_out)
{
	uint32_t ioas = ioas_alloc(fd);
	map_fixed(fd, ioas, buf, len, iova);
	uint32_t hwpt = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas);
	uint32_t stdev = 0;
	EXPECT_OK(mock_domain_e(fd, hwpt, 0, &stdev, NULL, NULL));
	EXPECT_OK(set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	if (ioas_out)
		*ioas_out = ioas;
	if (hwpt_out)
		*hwpt_out = hwpt;
	if (stdev_out)
		*stdev_out = stdev;
}

/* ---- Bitmaps ---------------------------------------------------------------------------------- */

void gbm_alloc(struct gbm *g, size_t bytes, size_t offset, uint8_t fill)
{
	size_t span = (offset + bytes + 256 + HOST_PAGE - 1) & ~(HOST_PAGE - 1);
	uint8_t *p = t_mmap(span + 2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	assert_int_equal(mprotect(p, HOST_PAGE, PROT_NONE), 0);
	assert_int_equal(mprotect(p + HOST_PAGE + span, HOST_PAGE, PROT_NONE), 0);
	g->base = p + HOST_PAGE;
	g->span = span;
	g->bm = g->base + offset;
	g->bytes = bytes;
	memset(g->base, GUARD_BYTE, span);
	memset(g->bm, fill, bytes);
}

void gbm_fill(struct gbm *g, uint8_t fill)
{
	memset(g->bm, fill, g->bytes);
}

void gbm_check_guard_(struct gbm *g, const char *file, int line)
{
	for (size_t i = 0; i < g->span; i++) {
		uint8_t *p = g->base + i;
		if (p >= g->bm && p < g->bm + g->bytes)
			continue;
		if (*p != GUARD_BYTE)
			fail_msg("%s:%d: byte %+td from the bitmap start (bitmap is %zu bytes) was "
				 "written: 0x%02x",
				 file, line, p - g->bm, g->bytes, *p);
	}
}

void bm_expect_(const uint8_t *bm, const uint8_t *want, uint64_t nbits, const char *what,
		const char *file, int line)
{
	uint64_t bad = 0, first = 0;
	for (uint64_t n = 0; n < nbits; n++) {
		if (bit_get(bm, n) != bit_get(want, n)) {
			if (!bad)
				first = n;
			bad++;
		}
	}
	if (bad)
		fail_msg("%s:%d: %s: %llu of %llu bits differ; first is bit %llu: got %d, want %d",
			 file, line, what, (unsigned long long)bad, (unsigned long long)nbits,
			 (unsigned long long)first, bit_get(bm, first), bit_get(want, first));
}

void bm_expect_zero_(const uint8_t *bm, uint64_t nbits, const char *what, const char *file,
		     int line)
{
	uint64_t bad = 0, first = 0;
	for (uint64_t n = 0; n < nbits; n++) {
		if (bit_get(bm, n)) {
			if (!bad)
				first = n;
			bad++;
		}
	}
	if (bad)
		fail_msg("%s:%d: %s: %llu of %llu bits set, expected none; first is bit %llu", file,
			 line, what, (unsigned long long)bad, (unsigned long long)nbits,
			 (unsigned long long)first);
}
