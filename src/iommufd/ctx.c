/* SPDX-License-Identifier: MIT */
/*
 * Contexts (uapi.md 1): the process-wide registry that MD_CHECK_REFS sums
 * pins over (11.2 rule 5, 11.4), the one id space of a context's objects,
 * teardown in dependency order, and the fork handlers (11.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "iommufd/iommufd_internal.h"

/* uapi.md 1: the largest id (unverified) */
#define OBJ_ID_MAX 0x7fffffffu

/* Marks an id reserved by a creation in progress (uapi.md 1). */
static struct obj obj_reserved;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iommufd_ctx *registry;
static void (*refs_prepare)(void);

int iommufd_ctx_create(struct iommufd_ctx **out)
{
	struct iommufd_ctx *ctx = mem_calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	pthread_rwlock_init(&ctx->lock, NULL);
	pthread_mutex_lock(&registry_lock);
	ctx->next = registry;
	if (registry)
		registry->prev = ctx;
	registry = ctx;
	pthread_mutex_unlock(&registry_lock);
	*out = ctx;
	return 0;
}

/* Every object of one type, highest id first. */
static void ctx_destroy_all(struct iommufd_ctx *ctx, enum obj_type type)
{
	for (uint32_t id = ctx->obj_capacity; id-- > 1;) {
		struct obj *obj = obj_find(ctx, id, type);

		if (!obj)
			continue;
		switch (type) {
		case OBJ_SELFTEST:
			selftest_destroy(ctx, (struct selftest *)obj);
			break;
		case OBJ_HWPT:
			hwpt_destroy(ctx, (struct hwpt *)obj);
			break;
		case OBJ_IOAS:
			ioas_destroy(ctx, (struct ioas *)obj);
			break;
		case OBJ_DEVICE: /* always bound by a SELFTEST object, gone with it */
			break;
		}
	}
}

void iommufd_ctx_destroy(struct iommufd_ctx *ctx)
{
	if (!ctx)
		return;
	pthread_mutex_lock(&registry_lock);
	if (ctx->prev)
		ctx->prev->next = ctx->next;
	else
		registry = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
	pthread_mutex_unlock(&registry_lock);

	/* uapi.md 1: dependency order; devices first release their HWPTs */
	pthread_rwlock_wrlock(&ctx->lock);
	ctx_destroy_all(ctx, OBJ_SELFTEST);
	ctx_destroy_all(ctx, OBJ_HWPT);
	ctx_destroy_all(ctx, OBJ_IOAS);
	while (ctx->instances) {
		struct instance *inst = ctx->instances;

		ctx->instances = inst->next;
		instance_destroy(inst);
	}
	pthread_rwlock_unlock(&ctx->lock);
	pthread_rwlock_destroy(&ctx->lock);
	mem_free(ctx->objs);
	mem_free(ctx);
}

/* ---- the id space (uapi.md 1) ------------------------------------------------ */

int obj_reserve(struct iommufd_ctx *ctx, uint32_t *id)
{
	uint32_t free_id = 1;

	while (free_id < ctx->obj_capacity && ctx->objs[free_id])
		free_id++;
	if (free_id > OBJ_ID_MAX)
		return -ENOMEM;
	if (free_id >= ctx->obj_capacity) {
		uint32_t capacity = ctx->obj_capacity ? 2 * ctx->obj_capacity : 64;
		struct obj **objs;

		if (capacity > OBJ_ID_MAX + 1u)
			capacity = OBJ_ID_MAX + 1u;
		objs = mem_realloc(ctx->objs, capacity * sizeof(*objs));
		if (!objs)
			return -ENOMEM;
		memset(objs + ctx->obj_capacity, 0,
		       (capacity - ctx->obj_capacity) * sizeof(*objs));
		ctx->objs = objs;
		ctx->obj_capacity = capacity;
	}
	ctx->objs[free_id] = &obj_reserved;
	*id = free_id;
	return 0;
}

void obj_publish(struct iommufd_ctx *ctx, struct obj *obj)
{
	ctx->objs[obj->id] = obj;
}

void obj_release(struct iommufd_ctx *ctx, uint32_t id)
{
	ctx->objs[id] = NULL;
}

struct obj *obj_find(struct iommufd_ctx *ctx, uint32_t id, enum obj_type type)
{
	struct obj *obj;

	if (!id || id >= ctx->obj_capacity)
		return NULL;
	obj = ctx->objs[id];
	if (!obj || obj == &obj_reserved || (type && obj->type != type))
		return NULL;
	return obj;
}

/* ---- pins (uapi.md 8.6, 11.4) ------------------------------------------------- */

uint64_t iommufd_ctx_page_pins(struct iommufd_ctx *ctx, uint64_t page_va)
{
	uint64_t pins = 0;

	pthread_rwlock_rdlock(&ctx->lock);
	for (uint32_t id = 1; id < ctx->obj_capacity; id++) {
		struct obj *obj = obj_find(ctx, id, OBJ_IOAS);

		if (obj)
			pins += ioas_page_pins((struct ioas *)obj, page_va);
	}
	pthread_rwlock_unlock(&ctx->lock);
	return pins;
}

void iommufd_set_refs_prepare(void (*prepare)(void))
{
	pthread_mutex_lock(&registry_lock);
	refs_prepare = prepare;
	pthread_mutex_unlock(&registry_lock);
}

void registry_refs_prepare(void)
{
	void (*prepare)(void);

	pthread_mutex_lock(&registry_lock);
	prepare = refs_prepare;
	pthread_mutex_unlock(&registry_lock);
	/* the hook may destroy contexts, which takes the registry lock */
	if (prepare)
		prepare();
}

uint64_t registry_page_pins(uint64_t page_va)
{
	uint64_t pins = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct iommufd_ctx *ctx = registry; ctx; ctx = ctx->next)
		pins += iommufd_ctx_page_pins(ctx, page_va);
	pthread_mutex_unlock(&registry_lock);
	return pins;
}

/* ---- fork (uapi.md 11.2 rule 3) ------------------------------------------------ */

void iommufd_fork_prepare(void)
{
	pthread_mutex_lock(&registry_lock);
	for (struct iommufd_ctx *ctx = registry; ctx; ctx = ctx->next)
		pthread_rwlock_wrlock(&ctx->lock);
}

void iommufd_fork_parent(void)
{
	for (struct iommufd_ctx *ctx = registry; ctx; ctx = ctx->next)
		pthread_rwlock_unlock(&ctx->lock);
	pthread_mutex_unlock(&registry_lock);
}

/* The child has only the forking thread: whatever the locks held, fresh
 * ones are correct. */
void iommufd_fork_child(void)
{
	pthread_mutex_init(&registry_lock, NULL);
	for (struct iommufd_ctx *ctx = registry; ctx; ctx = ctx->next) {
		pthread_rwlock_init(&ctx->lock, NULL);
		for (struct instance *inst = ctx->instances; inst; inst = inst->next)
			pthread_mutex_init(&inst->fault_lock, NULL);
	}
}
