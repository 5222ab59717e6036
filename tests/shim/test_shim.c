/* SPDX-License-Identifier: MIT */
/*
 * The emulated /dev/iommu descriptor table (include/iodirty/dev_iommu.h,
 * uapi.md 11), through the library's interface: aliases and last-close
 * destruction, stale entries, fork, raw clone and clone3 children, exec,
 * threads.  MD_CHECK_REFS shows whether a context still lives: its mappings
 * pin pages until it is destroyed (uapi.md 8.6, 11.2 rule 5).
 *
 * Children report with their exit status; they never call cmocka.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/sched.h>

#include <iodirty/dev_iommu.h>

#include "shim_cmds.h"

#define PAGE 4096u
#define BUF_LEN (16u * PAGE)
/* The next id after pinned_open(): IOAS 1, then the mock device's stdev, HWPT, idev */
#define NEXT_ID 5u

static const char *self_exe;

/* ---- helpers -------------------------------------------------------------------------------- */

static void *buf_alloc(void)
{
	void *buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(buf != MAP_FAILED);
	memset(buf, 0, BUF_LEN);
	return buf;
}

/* A new context whose IOAS 1 maps buf through a mock domain: buf's pages are pinned once. */
static int pinned_open(const void *buf)
{
	int fd = iodirty_open(O_RDWR);
	uint32_t ioas = 0;

	assert_true(fd >= 0);
	assert_int_equal(ioas_alloc_e(iodirty_ioctl, fd, &ioas), 0);
	assert_int_equal(ioas, 1);
	assert_int_equal(mock_domain_e(iodirty_ioctl, fd, ioas), 0);
	assert_int_equal(map_fixed_e(iodirty_ioctl, fd, ioas, buf, BUF_LEN), 0);
	return fd;
}

static uint32_t ioas_alloc(int fd)
{
	uint32_t id = 0;

	assert_int_equal(ioas_alloc_e(iodirty_ioctl, fd, &id), 0);
	return id;
}

static int refs_e(int fd, const void *buf, uint32_t refs)
{
	return check_refs_e(iodirty_ioctl, fd, buf, BUF_LEN, refs);
}

static void expect_child_ok(pid_t pid)
{
	int status = 0;

	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the child died of signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status))
		fail_msg("the child failed at its check %d", WEXITSTATUS(status));
}

/* In a child: exit with status `line` unless cond holds. */
#define CHILD_CHECK(cond)                                                                     \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			dprintf(2, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
			_exit(__LINE__ % 250 + 1);                                            \
		}                                                                             \
	} while (0)

/* A child must not run into cmocka's signal handlers; a deadlock ends it. */
static void child_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	alarm(10);
}

/* ---- the interface -------------------------------------------------------------------------- */

static void t_open_ioctl_close(void **state)
{
	int fd = iodirty_open(O_RDWR), fdc = iodirty_open(O_RDWR | O_CLOEXEC), pipefd[2];
	char link[64], target[256];
	ssize_t len;

	(void)state;
	assert_true(fd >= 0 && fdc >= 0);
	assert_int_equal(iodirty_fd_is_emulated(fd), 1);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	assert_int_equal(fcntl(fdc, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* the placeholder is a real memfd */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	assert_true(len > 0);
	target[len] = '\0';
	assert_non_null(strstr(target, "memfd:"));

	/* each open is its own context; only the low 32 bits of the request count */
	assert_int_equal(ioas_alloc(fd), 1);
	assert_int_equal(ioas_alloc(fdc), 1);
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	assert_int_equal(iodirty_ioctl(fd, IOMMU_IOAS_ALLOC | (0xdeadul << 32), &cmd), 0);
	assert_int_equal(cmd.out_ioas_id, 2);
	/* errors of the context layer come back as -1/errno */
	assert_int_equal(iodirty_ioctl(fd, IOMMU_IOAS_ALLOC, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(destroy_e(iodirty_ioctl, fd, 77), ENOENT);

	/* not emulated: EBADF, and nothing breaks */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(destroy_e(iodirty_ioctl, pipefd[0], 1), EBADF);
	assert_int_equal(destroy_e(iodirty_ioctl, -1, 1), EBADF);
	assert_int_equal(destroy_e(iodirty_ioctl, INT_MAX, 1), EBADF);
	assert_int_equal(iodirty_fd_is_emulated(-5), 0);
	assert_int_equal(iodirty_fd_is_emulated(pipefd[1]), 0);
	assert_int_equal(iodirty_fd_alias(pipefd[0], 200), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(iodirty_fd_alias(fd, -1), -1);
	assert_int_equal(errno, EBADF);
	iodirty_fd_forget(-1);
	iodirty_fd_forget_range(UINT_MAX - 1, UINT_MAX);
	iodirty_fd_forget_range(5, 4);
	assert_int_equal(iodirty_fd_is_emulated(fd), 1);
	/* iodirty_close closes anything */
	assert_int_equal(iodirty_close(pipefd[0]), 0);
	assert_int_equal(iodirty_close(pipefd[1]), 0);

	assert_int_equal(iodirty_close(fd), 0);
	assert_int_equal(iodirty_fd_is_emulated(fd), 0);
	assert_int_equal(destroy_e(iodirty_ioctl, fd, 1), EBADF);
	assert_int_equal(iodirty_close(fd), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(iodirty_close(fdc), 0);
}

static void t_alias_last_close(void **state)
{
	void *buf = buf_alloc(), *buf_b = buf_alloc();
	int fd = pinned_open(buf), d, d2, other, a, b;

	(void)state;
	assert_int_equal(refs_e(fd, buf, 1), 0);
	/* dup and fcntl duplicates alias the context */
	d = dup(fd);
	assert_true(d >= 0);
	assert_int_equal(iodirty_fd_alias(fd, d), 0);
	assert_int_equal(iodirty_fd_alias(fd, fd), 0);
	d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	assert_true(d2 >= 100);
	assert_int_equal(iodirty_fd_alias(d, d2), 0);
	assert_int_equal(ioas_alloc(d), NEXT_ID);
	assert_int_equal(ioas_alloc(d2), NEXT_ID + 1);
	/* the context lives until its last alias closes */
	assert_int_equal(iodirty_close(fd), 0);
	assert_int_equal(refs_e(d, buf, 1), 0);
	assert_int_equal(iodirty_close(d), 0);
	assert_int_equal(refs_e(d2, buf, 1), 0);
	other = iodirty_open(O_RDWR);
	assert_true(other >= 0);
	assert_int_equal(refs_e(other, buf, 1), 0);
	assert_int_equal(iodirty_close(d2), 0);
	assert_int_equal(refs_e(other, buf, 0), 0);

	/* a duplicate onto another context's descriptor (dup2) ends that context */
	a = iodirty_open(O_RDWR);
	b = pinned_open(buf_b);
	assert_int_equal(ioas_alloc(a), 1);
	assert_int_equal(dup2(a, b), b);
	assert_int_equal(iodirty_fd_alias(a, b), 0);
	assert_int_equal(refs_e(other, buf_b, 0), 0);
	assert_int_equal(ioas_alloc(b), 2);
	assert_int_equal(iodirty_close(a), 0);
	assert_int_equal(ioas_alloc(b), 3);
	assert_int_equal(iodirty_close(b), 0);
	assert_int_equal(iodirty_close(other), 0);
	munmap(buf, BUF_LEN);
	munmap(buf_b, BUF_LEN);
}

/* ---- stale entries (uapi.md 11.1, 11.2 rule 2) ---------------------------------------------- */

static void t_stale_entry(void **state)
{
	void *buf = buf_alloc(), *buf3 = buf_alloc();
	int fd = pinned_open(buf), fd2, fd3, fd4, probe = iodirty_open(O_RDWR);
	int null = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(probe >= 0 && null >= 0);
	assert_int_equal(refs_e(probe, buf, 1), 0);
	/* a close behind the table's back, and the number reused by an unrelated file */
	assert_int_equal(syscall(SYS_close, fd), 0);
	assert_int_equal(dup2(null, fd), fd);
	/* MD_CHECK_REFS first drops the stale entry, and with it the context */
	assert_int_equal(refs_e(probe, buf, 0), 0);
	assert_int_equal(iodirty_fd_is_emulated(fd), 0);
	assert_int_equal(destroy_e(iodirty_ioctl, fd, 1), EBADF);
	assert_true(fcntl(fd, F_GETFD) >= 0); /* nothing was closed */

	/* found stale on lookup */
	fd2 = iodirty_open(O_RDWR);
	assert_int_equal(ioas_alloc(fd2), 1);
	assert_int_equal(syscall(SYS_close, fd2), 0);
	assert_int_equal(dup2(null, fd2), fd2);
	assert_int_equal(iodirty_fd_is_emulated(fd2), 0);
	assert_int_equal(iodirty_fd_alias(fd2, 300), -1);
	assert_int_equal(errno, EBADF);
	assert_true(fcntl(fd2, F_GETFD) >= 0);

	/* a new open on a number with a stale entry replaces it: a new context, the old one gone */
	fd3 = pinned_open(buf3);
	assert_int_equal(syscall(SYS_close, fd3), 0);
	fd4 = iodirty_open(O_RDWR);
	assert_int_equal(fd4, fd3);
	assert_int_equal(iodirty_fd_is_emulated(fd4), 1);
	assert_int_equal(ioas_alloc(fd4), 1);
	assert_int_equal(refs_e(fd4, buf3, 0), 0);

	assert_int_equal(iodirty_close(fd4), 0);
	assert_int_equal(iodirty_close(probe), 0);
	close(fd);
	close(fd2);
	close(null);
	munmap(buf, BUF_LEN);
	munmap(buf3, BUF_LEN);
}

/* ---- fork, raw clone, clone3 (uapi.md 11.2) ------------------------------------------------- */

static void t_fork(void **state)
{
	void *buf = buf_alloc();
	int fd = pinned_open(buf);
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_init();
		/* the child's own copy of the context */
		CHILD_CHECK(refs_e(fd, buf, 1) == 0);
		CHILD_CHECK(destroy_e(iodirty_ioctl, fd, 1) == EBUSY);
		uint32_t id = 0;
		CHILD_CHECK(ioas_alloc_e(iodirty_ioctl, fd, &id) == 0 && id == NEXT_ID);
		int dup_fd = dup(fd);
		CHILD_CHECK(iodirty_fd_alias(fd, dup_fd) == 0);
		CHILD_CHECK(iodirty_close(fd) == 0);
		CHILD_CHECK(refs_e(dup_fd, buf, 1) == 0);
		CHILD_CHECK(iodirty_close(dup_fd) == 0);
		int fresh = iodirty_open(O_RDWR);
		CHILD_CHECK(fresh >= 0);
		CHILD_CHECK(refs_e(fresh, buf, 0) == 0);
		CHILD_CHECK(iodirty_close(fresh) == 0);
		_exit(0);
	}
	expect_child_ok(pid);
	/* the parent's context is untouched by the child's */
	assert_int_equal(refs_e(fd, buf, 1), 0);
	assert_int_equal(ioas_alloc(fd), NEXT_ID);
	assert_int_equal(iodirty_close(fd), 0);
	munmap(buf, BUF_LEN);
}

/* What a raw clone child does with the inherited descriptor and a fresh one. */
static void raw_child(int fd, const void *buf)
{
	uint32_t id = 0;
	int fresh;

	child_init();
	CHILD_CHECK(refs_e(fd, buf, 1) == 0);
	CHILD_CHECK(ioas_alloc_e(iodirty_ioctl, fd, &id) == 0 && id == NEXT_ID);
	CHILD_CHECK(destroy_e(iodirty_ioctl, fd, NEXT_ID) == 0);
	fresh = iodirty_open(O_RDWR);
	CHILD_CHECK(fresh >= 0);
	CHILD_CHECK(ioas_alloc_e(iodirty_ioctl, fresh, &id) == 0 && id == 1);
	CHILD_CHECK(iodirty_close(fresh) == 0);
	CHILD_CHECK(iodirty_close(fd) == 0);
	CHILD_CHECK(iodirty_fd_is_emulated(fd) == 0);
	_exit(0);
}

/*
 * Takes the table lock and iommufd's locks over and over, without
 * allocating (a raw clone child inherits malloc's locks as they were), so
 * that a raw clone often copies them held: MD_CHECK_REFS validates every
 * alias (CHURN_ALIASES of them) under the table lock.
 */
enum { CHURN_ALIASES = 256 };

struct lock_churn {
	int fd;
	void *buf;
	atomic_bool stop;
	int aliases[CHURN_ALIASES];
};

static void *lock_churn_run(void *arg)
{
	struct lock_churn *churn = arg;
	struct iommu_test_cmd refs = { .size = sizeof(refs), .op = IOMMU_TEST_OP_MD_CHECK_REFS };

	refs.check_refs.uptr = (uintptr_t)churn->buf; /* length 0: only the refs-prepare hook */
	while (!atomic_load(&churn->stop)) {
		iodirty_fd_is_emulated(churn->fd);
		destroy_e(iodirty_ioctl, churn->fd, 999);
		iodirty_ioctl(churn->fd, IOMMU_TEST_CMD, &refs);
	}
	return NULL;
}

/* Raw clone and clone3 children run no atfork handler: the owner pid check resets them. */
static void t_raw_clone(void **state)
{
	void *buf = buf_alloc();
	int fd = pinned_open(buf);
	struct lock_churn churn = { .fd = iodirty_open(O_RDWR), .buf = buf };
	bool have_clone3 = true;
	pthread_t thread;

	(void)state;
	assert_true(churn.fd >= 0);
	for (int i = 0; i < CHURN_ALIASES; i++) {
		churn.aliases[i] = dup(churn.fd);
		assert_int_equal(iodirty_fd_alias(churn.fd, churn.aliases[i]), 0);
	}
	assert_int_equal(pthread_create(&thread, NULL, lock_churn_run, &churn), 0);
	for (int round = 0; round < 20; round++) {
		struct clone_args args = { .exit_signal = SIGCHLD };
		long pid;

		fflush(NULL);
		if (round % 2 == 0) {
			pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
		} else if (have_clone3) {
			pid = syscall(SYS_clone3, &args, sizeof(args));
			if (pid < 0 && errno == ENOSYS) {
				have_clone3 = false;
				continue;
			}
		} else {
			continue;
		}
		assert_true(pid >= 0);
		if (pid == 0)
			raw_child(fd, buf);
		expect_child_ok((pid_t)pid);
	}
	atomic_store(&churn.stop, true);
	assert_int_equal(pthread_join(thread, NULL), 0);
	/* the parent's context is its own */
	assert_int_equal(refs_e(fd, buf, 1), 0);
	assert_int_equal(ioas_alloc(fd), NEXT_ID);
	assert_int_equal(iodirty_close(fd), 0);
	assert_int_equal(iodirty_close(churn.fd), 0);
	for (int i = 0; i < CHURN_ALIASES; i++)
		assert_int_equal(iodirty_close(churn.aliases[i]), 0);
	munmap(buf, BUF_LEN);
}

/* ---- exec (uapi.md 11.2 rule 4) ------------------------------------------------------------- */

/* The new image: the O_CLOEXEC placeholder is gone, the other is a plain memfd. */
static int exec_probe(int keep, int cloexec)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (fcntl(cloexec, F_GETFD) >= 0 || errno != EBADF)
		return 10;
	if (fcntl(keep, F_GETFD) < 0)
		return 11;
	if (iodirty_fd_is_emulated(keep))
		return 12;
	if (ioctl(keep, IOMMU_IOAS_ALLOC, &cmd) != -1 || errno != ENOTTY)
		return 13;
	if (iodirty_ioctl(keep, IOMMU_IOAS_ALLOC, &cmd) != -1 || errno != EBADF)
		return 14;
	return 0;
}

static void t_exec(void **state)
{
	int keep = iodirty_open(O_RDWR), cloexec = iodirty_open(O_RDWR | O_CLOEXEC);
	char keep_arg[16], cloexec_arg[16];
	pid_t pid;

	(void)state;
	assert_true(keep >= 0 && cloexec >= 0);
	snprintf(keep_arg, sizeof(keep_arg), "%d", keep);
	snprintf(cloexec_arg, sizeof(cloexec_arg), "%d", cloexec);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { (char *)self_exe, "--exec-probe", keep_arg, cloexec_arg, NULL };

		child_init();
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	expect_child_ok(pid);
	/* the parent's descriptors are unaffected */
	assert_int_equal(ioas_alloc(keep), 1);
	assert_int_equal(ioas_alloc(cloexec), 1);
	assert_int_equal(iodirty_close(keep), 0);
	assert_int_equal(iodirty_close(cloexec), 0);
}

/* ---- threads -------------------------------------------------------------------------------- */

enum { CHURN_THREADS = 4, CHURN_ROUNDS = 300 };

static void *open_dup_close_run(void *arg)
{
	(void)arg;
	for (int round = 0; round < CHURN_ROUNDS; round++) {
		int fd = iodirty_open(O_RDWR | O_CLOEXEC), d;
		uint32_t id = 0;

		if (fd < 0)
			return "open";
		d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (d < 0 || iodirty_fd_alias(fd, d))
			return "alias";
		if (ioas_alloc_e(iodirty_ioctl, fd, &id) || id != 1 || iodirty_close(fd))
			return "first alias";
		if (ioas_alloc_e(iodirty_ioctl, d, &id) || id != 2 || iodirty_close(d))
			return "second alias";
	}
	return NULL;
}

struct ioctl_until_closed {
	int fd;
	atomic_ulong ioctls;
};

static void *ioctl_until_closed_run(void *arg)
{
	struct ioctl_until_closed *ctl = arg;
	uint32_t id;

	while (ioas_alloc_e(iodirty_ioctl, ctl->fd, &id) == 0) {
		destroy_e(iodirty_ioctl, ctl->fd, id);
		atomic_fetch_add(&ctl->ioctls, 1);
	}
	return NULL;
}

static void t_threads(void **state)
{
	pthread_t threads[CHURN_THREADS], ioctl_thread;
	struct ioctl_until_closed ctl = { .fd = iodirty_open(O_RDWR) };
	void *result;

	(void)state;
	for (int i = 0; i < CHURN_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, open_dup_close_run, NULL), 0);
	for (int i = 0; i < CHURN_THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], &result), 0);
		if (result)
			fail_msg("a thread failed at: %s", (const char *)result);
	}
	/* a close while another thread's ioctls run: they end with EBADF, never a freed context */
	assert_true(ctl.fd >= 0);
	assert_int_equal(pthread_create(&ioctl_thread, NULL, ioctl_until_closed_run, &ctl), 0);
	while (atomic_load(&ctl.ioctls) < 100)
		sched_yield();
	assert_int_equal(iodirty_close(ctl.fd), 0);
	assert_int_equal(pthread_join(ioctl_thread, NULL), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_open_ioctl_close),
		cmocka_unit_test(t_alias_last_close),
		cmocka_unit_test(t_stale_entry),
		cmocka_unit_test(t_fork),
		cmocka_unit_test(t_raw_clone),
		cmocka_unit_test(t_exec),
		cmocka_unit_test(t_threads),
	};

	/* the concurrency test alone, for the ThreadSanitizer tree */
	const struct CMUnitTest stress_tests[] = {
		cmocka_unit_test(t_threads),
	};

	if (argc == 4 && !strcmp(argv[1], "--exec-probe"))
		return exec_probe(atoi(argv[2]), atoi(argv[3]));
	if (argc == 2 && !strcmp(argv[1], "stress"))
		return cmocka_run_group_tests(stress_tests, NULL, NULL);
	self_exe = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
