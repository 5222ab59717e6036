/* SPDX-License-Identifier: MIT */
/*
 * libiodirty-preload.so: the LD_PRELOAD shim that gives unmodified programs
 * an emulated /dev/iommu (uapi.md 11.1).  `iodirty run -- PROGRAM` loads it.
 *
 * - open("/dev/iommu") (every open variant, the path exactly that string)
 *   is iodirty_open(); every other path goes to the next definition.
 * - ioctl on an emulated descriptor is iodirty_ioctl() (the low 32 bits of
 *   the request count); every other descriptor passes through.
 * - close, close_range, dup, dup2, dup3 and fcntl F_DUPFD/F_DUPFD_CLOEXEC
 *   keep the descriptor table in step: duplicates alias one context, which
 *   dies with its last alias.  Other fcntl commands pass through.
 * - Pass-through calls see the caller's errno unchanged.
 *
 * Not intercepted (the placeholder is then a plain memfd; the table notices
 * closes it missed on the next lookup, 11.1):
 * - direct system calls (syscall(SYS_ioctl, ...), syscall(SYS_close, ...))
 *   and libc-internal calls that do not go through the dynamic symbol
 *   (closefrom(), posix_spawn file actions, fclose of an fdopen'ed stream);
 * - statically linked programs and programs started without the shim in
 *   LD_PRELOAD (setuid programs ignore LD_PRELOAD paths with slashes);
 * - relative paths or other spellings of the device ("iommu" under an
 *   openat() directory descriptor of /dev, "/dev/../dev/iommu", a symlink).
 *
 * The real functions are resolved with dlsym(RTLD_NEXT) on first use.  A
 * hook called while dlsym itself runs (an interposed allocator opening a
 * file, say) makes the system call directly.
 */
/* The shim defines both open and open64 (fcntl and fcntl64): with 64-bit
 * offsets <fcntl.h> would rename the first of each pair to the second. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iodirty/dev_iommu.h>

#define DEV_IOMMU_PATH "/dev/iommu"

/* ---- the real functions -------------------------------------------------------------------- */

static __thread bool resolving;

/* The next definition of name, or NULL while dlsym runs on this thread. */
static void *real_symbol(const char *name, _Atomic(void *) *cache)
{
	void *fn = atomic_load_explicit(cache, memory_order_acquire);
	int saved;

	if (fn || resolving)
		return fn;
	saved = errno; /* the caller's errno survives the lookup */
	resolving = true;
	fn = dlsym(RTLD_NEXT, name);
	resolving = false;
	errno = saved;
	atomic_store_explicit(cache, fn, memory_order_release);
	return fn;
}

#define REAL(type, name)                                                                      \
	({                                                                                    \
		static _Atomic(void *) cache_;                                                \
		(type)real_symbol(#name, &cache_);                                            \
	})

/* open flags that carry a mode argument (open(2)) */
static bool open_needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* libc declares the path nonnull, so a plain NULL test would be compiled away;
 * a NULL path must pass through (EFAULT), not crash here. */
static bool is_dev_iommu(const char *path)
{
	const char *volatile checked = path;

	return checked && !strcmp(checked, DEV_IOMMU_PATH);
}

/* Table queries must not disturb the errno a pass-through call returns with. */
static bool fd_emulated(int fd)
{
	int saved = errno;
	bool emulated = iodirty_fd_is_emulated(fd);

	errno = saved;
	return emulated;
}

static void fd_forget(int fd)
{
	int saved = errno;

	iodirty_fd_forget(fd);
	errno = saved;
}

static int real_close(int fd)
{
	typedef int (*close_fn)(int);
	close_fn real = REAL(close_fn, close);

	return real ? real(fd) : (int)syscall(SYS_close, fd);
}

/*
 * After a successful duplication of oldfd to newfd: newfd aliases oldfd's
 * context, or, if oldfd is not emulated, is no longer emulated (dup2 and
 * dup3 closed whatever it was).  If the alias cannot be recorded the
 * duplicate is closed and the call fails with ENOMEM.
 */
static int after_dup(int oldfd, int newfd)
{
	int saved = errno;

	if (newfd == oldfd)
		return newfd;
	if (iodirty_fd_alias(oldfd, newfd) == 0) {
		errno = saved;
		return newfd;
	}
	if (errno == EBADF) {
		iodirty_fd_forget(newfd);
		errno = saved;
		return newfd;
	}
	real_close(newfd);
	errno = ENOMEM;
	return -1;
}

/* ---- open ------------------------------------------------------------------------------------ */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open_2_fn)(const char *, int);
typedef int (*openat_2_fn)(int, const char *, int);

static int open_fallback(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

/* The mode argument of an open variant, present only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last)                                                                \
	({                                                                                    \
		mode_t mode_ = 0;                                                             \
		if (open_needs_mode(flags)) {                                                 \
			va_list ap_;                                                          \
			va_start(ap_, last);                                                  \
			mode_ = (mode_t)va_arg(ap_, int);                                     \
			va_end(ap_);                                                          \
		}                                                                             \
		mode_;                                                                        \
	})

#define OPEN_HOOK(name)                                                                       \
	int name(const char *path, int flags, ...)                                            \
	{                                                                                     \
		mode_t mode = OPEN_MODE(flags, flags);                                        \
		open_fn real;                                                                 \
                                                                                              \
		if (is_dev_iommu(path))                                                       \
			return iodirty_open(flags);                                           \
		real = REAL(open_fn, name);                                                   \
		return real ? real(path, flags, mode) : open_fallback(AT_FDCWD, path, flags, mode); \
	}

#define OPENAT_HOOK(name)                                                                     \
	int name(int dirfd, const char *path, int flags, ...)                                 \
	{                                                                                     \
		mode_t mode = OPEN_MODE(flags, flags);                                        \
		openat_fn real;                                                               \
                                                                                              \
		if (is_dev_iommu(path))                                                       \
			return iodirty_open(flags);                                           \
		real = REAL(openat_fn, name);                                                 \
		return real ? real(dirfd, path, flags, mode) : open_fallback(dirfd, path, flags, mode); \
	}

/* the fortified variants (_FORTIFY_SOURCE) take no mode: O_CREAT without one aborts there */
#define OPEN_2_HOOK(name)                                                                     \
	int name(const char *path, int flags)                                                 \
	{                                                                                     \
		open_2_fn real;                                                               \
                                                                                              \
		if (is_dev_iommu(path))                                                       \
			return iodirty_open(flags);                                           \
		real = REAL(open_2_fn, name);                                                 \
		return real ? real(path, flags) : open_fallback(AT_FDCWD, path, flags, 0);    \
	}

#define OPENAT_2_HOOK(name)                                                                   \
	int name(int dirfd, const char *path, int flags)                                      \
	{                                                                                     \
		openat_2_fn real;                                                             \
                                                                                              \
		if (is_dev_iommu(path))                                                       \
			return iodirty_open(flags);                                           \
		real = REAL(openat_2_fn, name);                                               \
		return real ? real(dirfd, path, flags) : open_fallback(dirfd, path, flags, 0); \
	}

/* declared here: <fcntl.h> declares only some of them, depending on feature macros */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

OPEN_HOOK(open)
OPEN_HOOK(open64)
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)
OPEN_2_HOOK(__open_2)
OPEN_2_HOOK(__open64_2)
OPENAT_2_HOOK(__openat_2)
OPENAT_2_HOOK(__openat64_2)

/* ---- ioctl ----------------------------------------------------------------------------------- */

typedef int (*ioctl_fn)(int, unsigned long, ...);

/* the argument is one pointer-sized word, as libc itself reads it */
#define VA_WORD(last)                                                                         \
	({                                                                                    \
		va_list ap_;                                                                  \
		void *word_;                                                                  \
		va_start(ap_, last);                                                          \
		word_ = va_arg(ap_, void *);                                                  \
		va_end(ap_);                                                                  \
		word_;                                                                        \
	})

#define IOCTL_HOOK(name)                                                                      \
	int name(int fd, unsigned long request, ...)                                          \
	{                                                                                     \
		void *arg = VA_WORD(request);                                                 \
		ioctl_fn real;                                                                \
                                                                                              \
		if (fd_emulated(fd))                                                          \
			return iodirty_ioctl(fd, request, arg);                               \
		real = REAL(ioctl_fn, name);                                                  \
		return real ? real(fd, request, arg) : (int)syscall(SYS_ioctl, fd, request, arg); \
	}

IOCTL_HOOK(ioctl)
#if __TIMESIZE != 64
/* 32-bit libcs with 64-bit time route ioctl here (uapi.md 11.1) */
int __ioctl_time64(int fd, unsigned long request, ...);
IOCTL_HOOK(__ioctl_time64)
#endif

/* ---- close ----------------------------------------------------------------------------------- */

/* The alias goes first: once the number is closed another thread may reuse it. */
int close(int fd)
{
	fd_forget(fd);
	return real_close(fd);
}

int close_range(unsigned int first, unsigned int last, int flags)
{
	typedef int (*close_range_fn)(unsigned int, unsigned int, int);
	close_range_fn real = REAL(close_range_fn, close_range);
	int saved = errno;

	/* only a call that will close: CLOSE_RANGE_CLOEXEC only marks, unknown flags fail */
	if (first <= last && !(flags & ~CLOSE_RANGE_UNSHARE)) {
		iodirty_fd_forget_range(first, last);
		errno = saved;
	}
	return real ? real(first, last, flags) : (int)syscall(SYS_close_range, first, last, flags);
}

/* ---- dup ------------------------------------------------------------------------------------- */

int dup(int oldfd)
{
	typedef int (*dup_fn)(int);
	dup_fn real = REAL(dup_fn, dup);
	int newfd = real ? real(oldfd) : (int)syscall(SYS_dup, oldfd);

	return newfd < 0 ? newfd : after_dup(oldfd, newfd);
}

int dup2(int oldfd, int newfd)
{
	typedef int (*dup2_fn)(int, int);
	dup2_fn real = REAL(dup2_fn, dup2);
	int ret;

	if (real)
		ret = real(oldfd, newfd);
	else if (oldfd == newfd) /* dup3 refuses equal numbers; dup2 checks oldfd */
		ret = syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	else
		ret = (int)syscall(SYS_dup3, oldfd, newfd, 0);
	return ret < 0 ? ret : after_dup(oldfd, ret);
}

int dup3(int oldfd, int newfd, int flags)
{
	typedef int (*dup3_fn)(int, int, int);
	dup3_fn real = REAL(dup3_fn, dup3);
	int ret = real ? real(oldfd, newfd, flags) : (int)syscall(SYS_dup3, oldfd, newfd, flags);

	return ret < 0 ? ret : after_dup(oldfd, ret);
}

/* ---- fcntl ----------------------------------------------------------------------------------- */

typedef int (*fcntl_fn)(int, int, ...);

#define FCNTL_HOOK(name)                                                                      \
	int name(int fd, int cmd, ...)                                                        \
	{                                                                                     \
		void *arg = VA_WORD(cmd);                                                     \
		fcntl_fn real = REAL(fcntl_fn, name);                                         \
		int ret = real ? real(fd, cmd, arg) : (int)syscall(SYS_fcntl, fd, cmd, arg);  \
                                                                                              \
		if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))                   \
			return after_dup(fd, ret);                                            \
		return ret;                                                                   \
	}

int fcntl64(int fd, int cmd, ...);
FCNTL_HOOK(fcntl)
FCNTL_HOOK(fcntl64)
