/* SPDX-License-Identifier: MIT */
/*
 * The emulated /dev/iommu descriptors (uapi.md 1, 11): a table from
 * descriptor number to an alias of a refcounted iommufd context.
 *
 * - Each open makes a context and a placeholder memfd; the entry records
 *   the placeholder's (st_dev, st_ino).  An entry is valid only while fstat
 *   of its number shows that inode (11.1); a stale one is dropped silently,
 *   on lookup and before MD_CHECK_REFS sums pins, and nothing is closed.
 * - dup aliases share one context; it is destroyed when no entry aliases it
 *   and no ioctl runs on it (an ioctl holds it like Linux's file reference,
 *   so a close racing an ioctl never frees the context under it).
 * - The table lock covers only the table and the counts; ioctls and context
 *   destruction run outside it, so device-DMA threads run in parallel.
 * - fork (11.2): pthread_atfork handlers, and a recorded owner pid for
 *   children of raw clone/clone3, which run no handlers.
 *
 * Lock order: table_lock, then iommufd's registry and context locks.
 * Internal closes use the raw system call: the LD_PRELOAD shim hooks close()
 * and must not see the library's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iodirty/dev_iommu.h>

#include "common/alloc.h"
#include "iommufd/iommufd_ctx.h"

/* One open of /dev/iommu, shared by its aliases. */
struct devnode_ctx {
	struct iommufd_ctx *ctx;
	unsigned long aliases;   /* table entries naming it */
	unsigned long in_flight; /* ioctls running on it */
	/* every context not yet destroyed, for the fork child's reset */
	struct devnode_ctx *prev, *next;
	/* a context found dead under the lock, destroyed after unlocking */
	struct devnode_ctx *next_dead;
};

struct fd_entry {
	struct devnode_ctx *dctx; /* NULL: the number is not emulated */
	dev_t dev;                /* the placeholder's identity (11.1) */
	ino_t ino;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fd_entry *table;
static size_t table_len;
static struct devnode_ctx *live;

/*
 * The process that owns the state: 0 before first use, -pid while that
 * process re-initialises what it inherited (11.2 rule 3).
 */
static _Atomic pid_t owner_pid;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* ---- contexts --------------------------------------------------------------------------- */

/* Under the lock: a context nothing names or uses any more goes to *dead. */
static void ctx_settle(struct devnode_ctx *dctx, struct devnode_ctx **dead)
{
	if (dctx->aliases || dctx->in_flight)
		return;
	if (dctx->prev)
		dctx->prev->next = dctx->next;
	else
		live = dctx->next;
	if (dctx->next)
		dctx->next->prev = dctx->prev;
	dctx->next_dead = *dead;
	*dead = dctx;
}

/* Outside the lock: destruction releases every mapping and pin (uapi.md 1). */
static void ctx_destroy_dead(struct devnode_ctx *dead)
{
	while (dead) {
		struct devnode_ctx *next = dead->next_dead;

		iommufd_ctx_destroy(dead->ctx);
		mem_free(dead);
		dead = next;
	}
}

/* ---- the table (under table_lock) ------------------------------------------------------- */

static bool entry_present(int fd)
{
	return fd >= 0 && (size_t)fd < table_len && table[fd].dctx;
}

/* Drops fd's entry, if any, without closing anything (11.1, 11.2 rule 2). */
static void entry_drop(int fd, struct devnode_ctx **dead)
{
	struct devnode_ctx *dctx;

	if (!entry_present(fd))
		return;
	dctx = table[fd].dctx;
	table[fd].dctx = NULL;
	dctx->aliases--;
	ctx_settle(dctx, dead);
}

/* fd's context if the entry is valid (11.1); a stale entry is dropped. */
static struct devnode_ctx *entry_lookup(int fd, struct devnode_ctx **dead)
{
	struct stat st;

	if (!entry_present(fd))
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_dev == table[fd].dev && st.st_ino == table[fd].ino)
		return table[fd].dctx;
	entry_drop(fd, dead);
	return NULL;
}

static int table_reserve(int fd)
{
	size_t len = table_len ? table_len : 64;
	struct fd_entry *grown;

	if ((size_t)fd < table_len)
		return 0;
	while (len <= (size_t)fd)
		len *= 2;
	grown = mem_realloc(table, len * sizeof(*grown));
	if (!grown)
		return -1;
	for (size_t i = table_len; i < len; i++)
		grown[i].dctx = NULL;
	table = grown;
	table_len = len;
	return 0;
}

/*
 * fd now names dctx.  An entry still on that number belongs to a descriptor
 * closed behind our back (or to a vfork child's shared memory): it is
 * replaced, dropping only its alias (uapi.md 11.2 rule 2).  The caller has
 * reserved the slot.
 */
static void entry_set(int fd, struct devnode_ctx *dctx, dev_t dev, ino_t ino,
		      struct devnode_ctx **dead)
{
	dctx->aliases++;
	entry_drop(fd, dead);
	table[fd] = (struct fd_entry){ .dctx = dctx, .dev = dev, .ino = ino };
}

/* ---- process lifecycle (uapi.md 11.2) ---------------------------------------------------- */

/*
 * In a child with only the calling thread: fresh locks, and no ioctl is in
 * flight any more (the threads running them are not here).  A context that
 * was only kept alive by such an ioctl is destroyed now.
 */
static void fork_child_reset(void)
{
	struct devnode_ctx *dead = NULL, *next;

	pthread_mutex_init(&table_lock, NULL);
	iommufd_fork_child();
	for (struct devnode_ctx *dctx = live; dctx; dctx = next) {
		next = dctx->next;
		dctx->in_flight = 0;
		ctx_settle(dctx, &dead);
	}
	ctx_destroy_dead(dead);
}

/*
 * Before anything else in every entry point: a process made by a raw
 * clone/clone3 ran no atfork handler, so the first call with a new getpid()
 * resets the inherited state (11.2 rule 3).  Threads of that process racing
 * on their first call wait for the one that claimed the reset.
 */
static void owner_check(void)
{
	pid_t me = getpid();

	for (;;) {
		pid_t seen = atomic_load(&owner_pid);

		if (seen == me)
			return;
		if (seen == -me) {
			sched_yield();
			continue;
		}
		if (atomic_compare_exchange_weak(&owner_pid, &seen, -me)) {
			if (seen)
				fork_child_reset();
			atomic_store(&owner_pid, me);
			return;
		}
	}
}

/* fork (11.2 rule 3): no table change or ioctl is half-done in the copy. */
static void atfork_prepare(void)
{
	owner_check();
	pthread_mutex_lock(&table_lock);
	iommufd_fork_prepare();
}

static void atfork_parent(void)
{
	iommufd_fork_parent();
	pthread_mutex_unlock(&table_lock);
}

static void atfork_child(void)
{
	fork_child_reset();
	atomic_store(&owner_pid, getpid());
}

/* MD_CHECK_REFS sums the pins of valid contexts only (11.1, 11.2 rule 5). */
static void refs_prepare(void)
{
	struct devnode_ctx *dead = NULL;

	pthread_mutex_lock(&table_lock);
	for (size_t fd = 0; fd < table_len; fd++)
		entry_lookup((int)fd, &dead);
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
}

static void hooks_register(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	iommufd_set_refs_prepare(refs_prepare);
}

static void devnode_enter(void)
{
	owner_check();
	pthread_once(&hooks_once, hooks_register);
}

/*
 * No descriptor was ever opened in this process or the ones it was copied
 * from, so the table is empty: the shim's hooks on every close, dup and
 * ioctl of a program that never opens /dev/iommu cost one load.
 */
static bool devnode_unused(void)
{
	return atomic_load(&owner_pid) == 0;
}

/* ---- the interface ----------------------------------------------------------------------- */

int iodirty_open(int flags)
{
	struct devnode_ctx *dctx, *dead = NULL;
	struct stat st;
	int fd, ret, err;

	devnode_enter();
	dctx = mem_calloc(1, sizeof(*dctx));
	if (!dctx) {
		errno = ENOMEM;
		return -1;
	}
	ret = iommufd_ctx_create(&dctx->ctx);
	if (ret) {
		mem_free(dctx);
		errno = -ret;
		return -1;
	}
	/* the placeholder: a real descriptor with an inode unique to this open (11.1) */
	fd = memfd_create("iodirty-dev-iommu", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0 || fstat(fd, &st))
		goto fail;
	pthread_mutex_lock(&table_lock);
	if (table_reserve(fd)) {
		pthread_mutex_unlock(&table_lock);
		errno = ENOMEM;
		goto fail;
	}
	dctx->next = live;
	if (live)
		live->prev = dctx;
	live = dctx;
	entry_set(fd, dctx, st.st_dev, st.st_ino, &dead);
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
	return fd;

fail:
	err = errno;
	if (fd >= 0)
		syscall(SYS_close, fd);
	iommufd_ctx_destroy(dctx->ctx);
	mem_free(dctx);
	errno = err;
	return -1;
}

int iodirty_ioctl(int fd, unsigned long request, void *arg)
{
	struct devnode_ctx *dctx, *dead = NULL;
	int ret;

	if (devnode_unused()) {
		errno = EBADF;
		return -1;
	}
	devnode_enter();
	pthread_mutex_lock(&table_lock);
	dctx = entry_lookup(fd, &dead);
	if (dctx)
		dctx->in_flight++;
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
	if (!dctx) {
		errno = EBADF;
		return -1;
	}
	/* unlocked: ioctls of one context may run on several threads (iommufd_ctx.h) */
	ret = iommufd_ctx_ioctl(dctx->ctx, (uint32_t)request, (uintptr_t)arg);

	pthread_mutex_lock(&table_lock);
	dctx->in_flight--;
	ctx_settle(dctx, &dead);
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

int iodirty_close(int fd)
{
	iodirty_fd_forget(fd);
	return (int)syscall(SYS_close, fd);
}

int iodirty_fd_is_emulated(int fd)
{
	struct devnode_ctx *dead = NULL;
	bool emulated;

	if (devnode_unused())
		return 0;
	devnode_enter();
	pthread_mutex_lock(&table_lock);
	emulated = entry_lookup(fd, &dead) != NULL;
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
	return emulated;
}

int iodirty_fd_alias(int oldfd, int newfd)
{
	struct devnode_ctx *dctx, *dead = NULL;
	int err = 0;

	if (devnode_unused()) {
		errno = EBADF;
		return -1;
	}
	devnode_enter();
	pthread_mutex_lock(&table_lock);
	dctx = entry_lookup(oldfd, &dead);
	if (!dctx || newfd < 0)
		err = EBADF;
	else if (newfd != oldfd && table_reserve(newfd))
		err = ENOMEM;
	else if (newfd != oldfd)
		entry_set(newfd, dctx, table[oldfd].dev, table[oldfd].ino, &dead);
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

void iodirty_fd_forget(int fd)
{
	if (fd >= 0)
		iodirty_fd_forget_range((unsigned int)fd, (unsigned int)fd);
}

void iodirty_fd_forget_range(unsigned int first, unsigned int last)
{
	struct devnode_ctx *dead = NULL;

	if (devnode_unused())
		return;
	devnode_enter();
	pthread_mutex_lock(&table_lock);
	for (size_t fd = first; fd <= last && fd < table_len; fd++)
		entry_drop((int)fd, &dead);
	pthread_mutex_unlock(&table_lock);
	ctx_destroy_dead(dead);
}
