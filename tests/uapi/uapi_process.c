/* SPDX-License-Identifier: MIT */
/*
 * Processes and user memory (uapi.md 9.6, 11; test-cases.md UA-09, UA-16, UA-19; Q6): close
 * and reopen with MD_CHECK_REFS, fork (each process with its own state), a raw clone without
 * pthread_atfork, the kselftest's clone(CLONE_VFORK) grandchild with copied memory, a vfork
 * child that opens, exec with and without O_CLOEXEC, and bad bitmap pointers.
 *
 * Children report with their exit status; they never call cmocka.
 */
#include "uapi_common.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const uint64_t S = MOCK_APERTURE_START;
static const uint64_t P = MOCK_PAGE;

/* ---- child-side checks ------------------------------------------------------------------------ */

#define CK(cond)                                                                                 \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			dprintf(2, "child %d: %s:%d: check failed: %s\n", (int)getpid(), __FILE__,  \
				__LINE__, #cond);                                                \
			_exit(1);                                                                \
		}                                                                                \
	} while (0)
#define CKE(expected, call)                                                                      \
	do {                                                                                     \
		int e_ = (expected), g_ = (call);                                                \
		if (e_ != g_) {                                                                  \
			dprintf(2, "child %d: %s:%d: %s: expected %s, got %s\n", (int)getpid(),     \
				__FILE__, __LINE__, #call, ename(e_), ename(g_));                \
			_exit(1);                                                                \
		}                                                                                \
	} while (0)

/* A child must not run into cmocka's signal handlers (they would resume the test run there) */
static void child_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

static void expect_child_ok(pid_t pid, const char *what)
{
	int status = 0;
	assert_true(pid > 0);
	pid_t r;
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	assert_int_equal(r, pid);
	if (WIFSIGNALED(status))
		fail_msg("%s: the child died of signal %d", what, WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: the child failed (exit status %d; see its message above)", what,
			 WEXITSTATUS(status));
}

/*
 * The whole 6.7 dirty fixture in a fresh context, with the 9.6 teardown: the shape of one
 * kselftest test, run by a child.  Returns only on success.
 */
static void child_dirty_fixture(void)
{
	const uint64_t size = 128 << 10, nbits = size / P;
	uint8_t *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *global = mmap(NULL, 16 * HOST_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CK(buf != MAP_FAILED && global != MAP_FAILED);
	memset(global, 0, 16 * HOST_PAGE);
	int fd = open("/dev/iommu", O_RDWR);
	CK(fd >= 0);
	uint32_t ioas = 0, st = 0, h0 = 0, idev = 0;
	CKE(0, ioas_alloc_e(fd, &ioas));
	CK(ioas == 1);
	CKE(0, mock_domain_e(fd, ioas, 0, &st, &h0, &idev));
	uint64_t iova = S + 4 * SZ_1M;
	CKE(0, map_e(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				       IOMMU_IOAS_MAP_WRITEABLE,
		     global, 16 * HOST_PAGE, &iova));
	CKE(0, check_refs_e(fd, global, 16 * HOST_PAGE, 1));

	uint32_t ioas2 = 0, hwpt = 0, st2 = 0;
	CKE(0, ioas_alloc_e(fd, &ioas2));
	iova = S;
	CKE(0, map_e(fd, ioas2, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					IOMMU_IOAS_MAP_WRITEABLE,
		     buf, size, &iova));
	CKE(0, hwpt_alloc_e(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas2, &hwpt));
	CKE(0, mock_domain_e(fd, hwpt, 0, &st2, NULL, NULL));
	CKE(0, set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	uint8_t bm[64];
	memset(bm, 0x55, sizeof(bm));
	uint64_t nr = 0;
	CKE(0, test_dirty_e(fd, hwpt, S, size, P, bm, &nr));
	CK(nr == nbits / 2);
	memset(bm, 0, sizeof(bm));
	CKE(0, get_dirty_e(fd, hwpt, 0, S, size, P, bm));
	for (uint64_t i = 0; i < nbits; i++)
		CK(bit_get(bm, i) == (i % 2 == 0));
	memset(bm, 0, sizeof(bm));
	CKE(0, get_dirty_e(fd, hwpt, 0, S, size, P, bm));
	for (uint64_t i = 0; i < nbits; i++)
		CK(!bit_get(bm, i));
	/* teardown (9.6): unmap the buffers, close, reopen, MD_CHECK_REFS 0 */
	munmap(buf, size);
	CK(close(fd) == 0);
	fd = open("/dev/iommu", O_RDWR);
	CK(fd >= 0);
	CKE(0, check_refs_e(fd, global, 16 * HOST_PAGE, 0));
	CK(close(fd) == 0);
	munmap(global, 16 * HOST_PAGE);
}

/* ---- 9.6: close, reopen, MD_CHECK_REFS 0 ----------------------------------------------------- */

static void t_close_reopen_refs(void **state)
{
	(void)state;
	uint8_t *global = t_mmap_aligned(16 * HOST_PAGE, HOST_PAGE);
	memset(global, 0, 16 * HOST_PAGE);
	/* the buffer is munmapped before the close, as 6.7-6.15 teardowns do: not t_mmap */
	const size_t size = 256 << 10;
	uint8_t *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);

	int fd = dev_open();
	uint32_t ioas = ioas_alloc(fd), idev = 0, hwpt = 0;
	EXPECT_OK(mock_domain_e(fd, ioas, 0, NULL, NULL, &idev));
	map_fixed(fd, ioas, global, 16 * HOST_PAGE, S + 8 * SZ_1M);
	dirty_setup(fd, idev, buf, size, S, NULL, &hwpt, NULL);
	uint8_t in[16];
	memset(in, 0xFF, sizeof(in));
	uint64_t nr;
	EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, in, &nr));
	EXPECT_OK(check_refs_e(fd, global, 16 * HOST_PAGE, 1));
	/* a duplicate keeps the context alive; closing both ends it */
	int d = dup(fd);
	assert_true(d >= 0);
	t_track_fd(d);
	assert_int_equal(munmap(buf, size), 0);
	dev_close(fd);
	EXPECT_OK(check_refs_e(d, global, 16 * HOST_PAGE, 1));
	dev_close(d);
	int fd2 = dev_open();
	EXPECT_OK(check_refs_e(fd2, global, 16 * HOST_PAGE, 0));
	EXPECT_ERRNO(ENOENT, destroy_e(fd2, ioas)); /* a new, empty context */
	EXPECT_U64(1, ioas_alloc(fd2));
	/* the same, through a raw close that bypasses the hooks: the stale entry is discarded
	 * lazily, before MD_CHECK_REFS sums (11.1) */
	int fd3 = open("/dev/iommu", O_RDWR);
	assert_true(fd3 >= 0);
	uint32_t ioas3 = ioas_alloc(fd3);
	EXPECT_OK(mock_domain_e(fd3, ioas3, 0, NULL, NULL, NULL));
	map_fixed(fd3, ioas3, global, 16 * HOST_PAGE, S);
	EXPECT_OK(check_refs_e(fd2, global, 16 * HOST_PAGE, 1));
	assert_int_equal(syscall(SYS_close, fd3), 0);
	EXPECT_OK(check_refs_e(fd2, global, 16 * HOST_PAGE, 0));
	EXPECT_ERRNO(EBADF, uioctl(fd3, IOMMU_DESTROY, &(struct iommu_destroy){ 8, ioas3 }));
}

/* ---- UA-16, UA-19: fork ------------------------------------------------------------------------ */

static void t_fork(void **state)
{
	(void)state;
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t ioas = ioas_alloc(fd), idev = 0, ioas2 = 0, hwpt = 0, st1 = 0;
	EXPECT_OK(mock_domain_e(fd, ioas, 0, NULL, NULL, &idev));
	dirty_setup(fd, idev, buf, SZ_1M, S, &ioas2, &hwpt, &st1);
	uint8_t in = 0x03;
	uint64_t nr;
	EXPECT_OK(test_dirty_e(fd, hwpt, S, 8 * P, P, &in, &nr));
	EXPECT_U64(2, nr);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		child_init();
		close(pfd[0]);
		/* a context of its own, from id 1, doing the whole fixture */
		child_dirty_fixture();
		/* the inherited context: a copy of the parent's at the fork */
		uint8_t bm[8] = { 0 };
		CKE(0, get_dirty_e(fd, hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, S, 64 * P, P, bm));
		CK(bm[0] == 0x03);
		CKE(0, get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
		memset(bm, 0, sizeof(bm));
		CKE(0, get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
		CK(bm[0] == 0);
		uint8_t five = 1u << 5;
		CKE(0, test_dirty_e(fd, hwpt, S, 8 * P, P, &five, &nr));
		CK(nr == 1);
		uint32_t x = 0;
		CKE(0, hwpt_alloc_e(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas2, &x));
		CK(write(pfd[1], &x, sizeof(x)) == sizeof(x));
		CKE(0, destroy_e(fd, st1));
		CKE(0, destroy_e(fd, hwpt));
		CKE(0, destroy_e(fd, x));
		uint64_t len = 0;
		CKE(0, unmap_e(fd, ioas2, 0, U64MAX, &len));
		CK(len == SZ_1M);
		CKE(0, destroy_e(fd, ioas2));
		/* a dup2 and a close of the original in the child (UA-19.4) */
		CK(dup2(fd, 200) == 200);
		CK(close(fd) == 0);
		CKE(ENOENT, destroy_e(200, 0x7777));
		uint32_t y = 0;
		CKE(0, ioas_alloc_e(200, &y));
		CK(close(200) == 0);
		_exit(0);
	}
	close(pfd[1]);
	expect_child_ok(pid, "fork child");
	uint32_t x = 0;
	assert_int_equal(read(pfd[0], &x, sizeof(x)), sizeof(x));
	close(pfd[0]);

	/* the parent's state is its own: the child's HWPT does not exist here, and nothing the
	 * child destroyed or cleared is gone (documented deviation: Linux would share) */
	EXPECT_ERRNO(ENOENT, destroy_e(fd, x));
	EXPECT_ERRNO(EBUSY, destroy_e(fd, hwpt));
	EXPECT_OK(check_map_e(fd, hwpt, S, SZ_1M, buf));
	EXPECT_OK(check_refs_e(fd, buf, SZ_1M, 1));
	uint8_t bm[8] = { 0 };
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	EXPECT_U64(0x03, bm[0]); /* not cleared by the child, and not its page 5 */
	memset(bm, 0, sizeof(bm));
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, 64 * P, P, bm));
	EXPECT_U64(0, bm[0]);
	/* and it goes on working */
	uint32_t y = ioas_alloc(fd);
	EXPECT_OK(destroy_e(fd, y));
	EXPECT_OK(destroy_e(fd, st1));
	EXPECT_OK(destroy_e(fd, hwpt));
}

/* A raw clone (no pthread_atfork handlers run) and the kselftest's CLONE_VFORK grandchild with
 * copied memory (11.2 rule 3) */
static void clone_test(unsigned long flags, const char *what)
{
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t ioas = ioas_alloc(fd), st = 0, hwpt = 0;
	EXPECT_OK(mock_domain_e(fd, ioas, 0, &st, &hwpt, NULL));
	map_fixed(fd, ioas, buf, SZ_1M, S);

	fflush(NULL);
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		child_init();
		/* the inherited context */
		CKE(0, check_map_e(fd, hwpt, S, SZ_1M, buf));
		uint32_t x = 0;
		CKE(0, ioas_alloc_e(fd, &x));
		CK(x == ioas + 4);
		CKE(0, destroy_e(fd, st));
		/* a fresh one, the whole fixture (setup, test, teardown in this process) */
		child_dirty_fixture();
		_exit(0);
	}
	expect_child_ok((pid_t)pid, what);
	/* the parent's context is intact */
	EXPECT_OK(check_map_e(fd, hwpt, S, SZ_1M, buf));
	EXPECT_OK(check_refs_e(fd, buf, SZ_1M, 1));
	EXPECT_ERRNO(EBUSY, destroy_e(fd, hwpt));
	uint32_t y = ioas_alloc(fd);
	EXPECT_U64(ioas + 4, y);
}

static void t_raw_clone(void **state)
{
	(void)state;
	clone_test(0, "raw clone child");
}

static void t_clone_vfork_copied(void **state)
{
	(void)state;
	clone_test(CLONE_VFORK, "clone(CLONE_VFORK) child");
}

/* A vfork child that opens /dev/iommu and exits: the parent is not corrupted (UA-19.6) */
static void t_vfork_open(void **state)
{
	(void)state;
	int fd = dev_open();
	uint8_t *buf = t_mmap_aligned(16 * HOST_PAGE, HOST_PAGE);
	uint32_t ioas = ioas_alloc(fd), hwpt = 0;
	EXPECT_OK(mock_domain_e(fd, ioas, 0, NULL, &hwpt, NULL));
	map_fixed(fd, ioas, buf, 16 * HOST_PAGE, S);

	fflush(NULL);
	pid_t pid = vfork();
	if (pid == 0) {
		int c = open("/dev/iommu", O_RDWR);
		_exit(c >= 0 ? 0 : 1);
	}
	expect_child_ok(pid, "vfork child");
	/* the parent's context works */
	EXPECT_OK(check_map_e(fd, hwpt, S, 16 * HOST_PAGE, buf));
	EXPECT_OK(check_refs_e(fd, buf, 16 * HOST_PAGE, 1));
	/* a new open, probably on the descriptor number the child used, is a new context */
	int fd2 = dev_open();
	EXPECT_U64(1, ioas_alloc(fd2));
	EXPECT_ERRNO(ENOENT, destroy_e(fd2, hwpt));
	uint32_t ioas2 = 1, st = 0;
	EXPECT_OK(mock_domain_e(fd2, ioas2, 0, &st, NULL, NULL));
	uint8_t *b2 = t_mmap_aligned(4 * HOST_PAGE, HOST_PAGE);
	map_fixed(fd2, ioas2, b2, 4 * HOST_PAGE, S);
	EXPECT_OK(check_refs_e(fd, b2, 4 * HOST_PAGE, 1));
	dev_close(fd2);
	EXPECT_OK(check_refs_e(fd, b2, 4 * HOST_PAGE, 0));
	dev_close(fd);
	int fd3 = dev_open();
	EXPECT_OK(check_refs_e(fd3, buf, 16 * HOST_PAGE, 0));
}

/* exec (11.2 rule 4, UA-19.5): an inherited emulated descriptor reaches the real kernel */
int uapi_exec_probe(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int keep = atoi(argv[2]), cloexec = atoi(argv[3]);
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = uioctl(keep, IOMMU_IOAS_ALLOC, &cmd);
	if (rc != ENOTTY) {
		fprintf(stderr, "exec probe: ioctl on the inherited descriptor: %s, expected ENOTTY\n",
			ename(rc));
		return 3;
	}
	if (fcntl(keep, F_GETFD) < 0) {
		fprintf(stderr, "exec probe: the descriptor without O_CLOEXEC is gone\n");
		return 4;
	}
	if (fcntl(cloexec, F_GETFD) >= 0 || errno != EBADF) {
		fprintf(stderr, "exec probe: the O_CLOEXEC descriptor survived exec\n");
		return 5;
	}
	/* the new image has the shim too */
	int fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "exec probe: open(/dev/iommu): %s\n", strerror(errno));
		return 6;
	}
	cmd.out_ioas_id = 0;
	rc = uioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (rc || cmd.out_ioas_id != 1) {
		fprintf(stderr, "exec probe: IOAS_ALLOC: %s, id %u\n", ename(rc), cmd.out_ioas_id);
		return 7;
	}
	close(fd);
	return 0;
}

static void t_exec(void **state)
{
	(void)state;
	int keep = open("/dev/iommu", O_RDWR);
	assert_true(keep >= 0);
	t_track_fd(keep);
	int cloexec = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(cloexec >= 0);
	t_track_fd(cloexec);
	EXPECT_U64(1, ioas_alloc(keep));
	char a[16], b[16];
	snprintf(a, sizeof(a), "%d", keep);
	snprintf(b, sizeof(b), "%d", cloexec);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		child_init();
		char *argv[] = { (char *)uapi_argv0, "--exec-probe", a, b, NULL };
		execv("/proc/self/exe", argv);
		dprintf(2, "execv: %s\n", strerror(errno));
		_exit(127);
	}
	expect_child_ok(pid, "exec probe");
	/* the parent's descriptors are unaffected */
	EXPECT_U64(2, ioas_alloc(keep));
	EXPECT_U64(1, ioas_alloc(cloexec));
}

/* ---- UA-09, Q6: bad bitmap pointers ----------------------------------------------------------- */

static void t_get_bad_data(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	const uint64_t size = 64 << 20, nbits = size / P; /* a 4 KiB bitmap */
	uint8_t *buf = t_mmap_aligned(size, SZ_2M);
	uint32_t hwpt = 0;
	dirty_setup(fd, m.idev, buf, size, S, NULL, &hwpt, NULL);
	uint8_t *in = t_mmap(nbits / 8, PROT_READ | PROT_WRITE);
	uint64_t nr;
	bit_set(in, 5);
	bit_set(in, 20000);
	EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, in, &nr));
	EXPECT_U64(2, nr);

	/* the first page of the bitmap is not writable user memory: ENOMEM, not EFAULT */
	EXPECT_ERRNO(ENOMEM, get_dirty_e(fd, hwpt, 0, S, size, P, NULL));
	EXPECT_ERRNO(ENOMEM, get_dirty_e(fd, hwpt, 0, S, size, P, t_hole(2 * HOST_PAGE)));
	uint8_t *none = t_mmap(2 * HOST_PAGE, PROT_NONE);
	EXPECT_ERRNO(ENOMEM, get_dirty_e(fd, hwpt, 0, S, size, P, none + 100));
	uint8_t *ro = t_mmap(2 * HOST_PAGE, PROT_READ);
	EXPECT_ERRNO(ENOMEM, get_dirty_e(fd, hwpt, 0, S, size, P, ro));
	EXPECT_ERRNO(ENOMEM, get_dirty_e(fd, hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, S, size, P,
					 (void *)0xffff800000000000ull));
	/* nothing was reported or cleared by those */
	uint8_t *ok = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	EXPECT_OK(get_dirty_e(fd, hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, S, size, P, ok));
	assert_true(bit_get(ok, 5) && bit_get(ok, 20000));

	/* a later page is bad: 0, with the bits before it set */
	uint8_t *two = t_mmap(2 * HOST_PAGE, PROT_READ | PROT_WRITE);
	assert_int_equal(mprotect(two + HOST_PAGE, HOST_PAGE, PROT_NONE), 0);
	uint8_t *data = two + 0x800; /* bits 0..16383 in the first page, the rest in the second */
	memset(data, 0, 0x800);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, data));
	assert_true(bit_get(data, 5));
	for (uint64_t b = 0; b < 0x800 * 8; b++)
		if (b != 5 && bit_get(data, b))
			fail_msg("bit %llu set", (unsigned long long)b);
	for (uint64_t b = 0; b < 0x800 * 8; b++)
		assert_false(bit_get(two, b)); /* before data: untouched */
	/* only the second page has a dirty page: 0, nothing set */
	memset(in, 0, nbits / 8);
	bit_set(in, 30000);
	EXPECT_OK(test_dirty_e(fd, hwpt, S, size, P, in, &nr));
	memset(data, 0, 0x800);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, data));
	for (uint64_t b = 0; b < 0x800 * 8; b++)
		assert_false(bit_get(data, b));
	/* the process is fine and the bitmap at a good address works */
	memset(ok, 0, 2 * HOST_PAGE);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S + SZ_1M, SZ_1M, P, ok));
	EXPECT_OK(set_dirty_e(fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	memset(ok, 0, 2 * HOST_PAGE);
	EXPECT_OK(get_dirty_e(fd, hwpt, 0, S, size, P, ok));
	bm_expect_zero(ok, nbits, "after the enable");
}

/* Bad user pointers in the other pointer fields never crash: EFAULT */
static void t_bad_user_pointers(void **state)
{
	(void)state;
	struct mockfx m;
	mockfx_init(&m, 0);
	int fd = m.fd;
	uint8_t *buf = t_mmap_aligned(SZ_1M, SZ_1M);
	uint32_t hwpt = 0;
	dirty_setup(fd, m.idev, buf, SZ_1M, S, NULL, &hwpt, NULL);
	uint8_t *rom = t_mmap(4 * HOST_PAGE, PROT_READ);
	void *hole = t_hole(4 * HOST_PAGE); /* no mmap may follow while it is used */
	uint64_t nr = 0;
	uint32_t num = 2;

	EXPECT_ERRNO(EFAULT, test_dirty_e(fd, hwpt, S, SZ_1M, P, hole, &nr));
	EXPECT_ERRNO(EFAULT, test_dirty_e(fd, hwpt, S, SZ_1M, P, (void *)0xffff800000000000ull, &nr));
	EXPECT_ERRNO(EFAULT, iova_ranges_e(fd, m.ioas, hole, &num, NULL));
	num = 2;
	EXPECT_ERRNO(EFAULT, iova_ranges_e(fd, m.ioas, (void *)8, &num, NULL));
	uint32_t len = 8;
	EXPECT_ERRNO(EFAULT, hw_info_e(fd, m.idev, hole, &len, NULL, NULL));
	EXPECT_ERRNO(EFAULT, check_refs_e(fd, hole, 4 * HOST_PAGE, 0));
	/* IOAS_MAP of memory that is not mapped (or not writable for WRITEABLE): EFAULT, as
	 * Linux's pin (compat.md "Pins are not real"), even in an IOAS without domain */
	EXPECT_ERRNO(EFAULT, map_e(fd, m.ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
				   hole, 4 * HOST_PAGE, &(uint64_t){ S + 64 * SZ_1M }));
	EXPECT_ERRNO(EFAULT, map_e(fd, m.ioas,
				   IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					   IOMMU_IOAS_MAP_WRITEABLE,
				   rom, 4 * HOST_PAGE, &(uint64_t){ S + 64 * SZ_1M }));
	EXPECT_OK(map_e(fd, m.ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, rom,
			4 * HOST_PAGE, &(uint64_t){ S + 64 * SZ_1M }));
	uint32_t bare = ioas_alloc(fd);
	EXPECT_ERRNO(EFAULT, map_e(fd, bare, IOMMU_IOAS_MAP_READABLE, hole, 4 * HOST_PAGE,
				   &(uint64_t){ 0 }));
	EXPECT_OK(check_map_e(fd, hwpt, S, SZ_1M, buf));
}

static const struct CMUnitTest process_tests[] = {
	UT(t_close_reopen_refs), UT(t_fork),   UT(t_raw_clone), UT(t_clone_vfork_copied),
	UT(t_vfork_open),        UT(t_exec),   UT(t_get_bad_data), UT(t_bad_user_pointers),
};
const struct uapi_group uapi_group_process = {
	"processes and user memory", process_tests, sizeof(process_tests) / sizeof(process_tests[0])
};
