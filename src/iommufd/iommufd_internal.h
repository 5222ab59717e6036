/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the iommufd layer (uapi.md 1, 4, 8), shared by
 *   ctx.c       contexts, the registry, the id space, pins, fork;
 *   dispatch.c  the generic ioctl steps of uapi.md 3;
 *   ioas.c      IOAS objects and their commands (5.2-5.4, 5.9, 5.10);
 *   hwpt.c      instances, devices, HWPTs, attach, DESTROY, hw info and
 *               the dirty commands (5.1, 5.5-5.8);
 *   selftest.c  IOMMU_TEST_CMD and iodirty's extension ops (8, 12).
 *
 * Locks, outermost first:
 *   registry_lock  the list of contexts (MD_CHECK_REFS sums over it);
 *   ctx->lock      rwlock: write for whatever creates, destroys, maps,
 *                  unmaps, attaches or sets options; read for DMA, faults,
 *                  the dirty commands and queries (uapi.md 4.4: the IOAS
 *                  read lock), so DMA threads run concurrently;
 *   inst->fault_lock  draining an instance's fault queue into counters.
 * Under the read lock object lists and areas do not change; the core and
 * the emulated hardware have their own locks for what runs concurrently.
 */
#ifndef IODIRTY_IOMMUFD_INTERNAL_H
#define IODIRTY_IOMMUFD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iodirty/core.h>

#define IODIRTY_NO_SYSTEM_IOMMUFD
#include <iodirty/iommufd.h>

#include "iommufd/iommufd_ctx.h"

#define IOMMUFD_HOST_PAGE 4096u

enum obj_type {
	OBJ_IOAS = 1,
	OBJ_HWPT,     /* HWPT_PAGING */
	OBJ_DEVICE,   /* the idev */
	OBJ_SELFTEST, /* the stdev */
};

/* Common head of every object; ctx->objs[id] points at it. */
struct obj {
	uint32_t id;
	enum obj_type type;
};

/* uapi.md 4.1: an area of an IOAS. */
struct area {
	uint64_t iova;
	uint64_t length;
	uint64_t user_va;
	int prot; /* IDT_PROT_* */
};

struct hwpt;

struct ioas {
	struct obj obj;
	struct area *areas; /* sorted by iova, non-overlapping */
	size_t area_count;
	size_t area_capacity;
	struct hwpt **hwpts; /* the domains in this IOAS */
	size_t hwpt_count;
	size_t hwpt_capacity;
	bool no_huge_pages; /* IOMMU_OPTION_HUGE_PAGES = 0 (uapi.md 5.10) */
};

/*
 * One emulated IOMMU of a context (uapi.md 12): the mock, or a format with
 * or without dirty tracking in its capability register.
 */
struct instance {
	uint32_t test_format; /* IODIRTY_TEST_FORMAT_* */
	bool capable;
	uint64_t cap;         /* the capability register */
	struct idt_core_iommu *core;
	uint32_t next_device_id;
	pthread_mutex_t fault_lock;
	struct instance *next;
};

struct device {
	struct obj obj;
	struct instance *inst;
	struct idt_device *dev;
	bool mock_huge_iova;  /* MOCK_FLAGS_DEVICE_HUGE_IOVA */
	struct hwpt *hwpt;    /* attached to */
	_Atomic uint64_t faults; /* since the last FAULTS op */
};

struct hwpt {
	struct obj obj;
	struct ioas *ioas;    /* held */
	struct instance *inst;
	struct idt_domain *domain;
	uint64_t aperture_start;
	uint64_t aperture_last;
	uint64_t min_page;
	bool auto_domain;     /* made by attaching a device to an IOAS */
	uint32_t devices;     /* attached devices: they hold the HWPT */
};

struct selftest {
	struct obj obj;
	struct device *idev;  /* held */
};

struct iommufd_ctx {
	pthread_rwlock_t lock;
	struct obj **objs;    /* by id; NULL free, &obj_reserved while being created */
	uint32_t obj_capacity;
	struct instance *instances;
	struct iommufd_ctx *prev, *next; /* the registry */
};

/* ---- ctx.c ---------------------------------------------------------------- */

/* Lowest free id >= 1, held until obj_publish or obj_release.  Write lock. */
int obj_reserve(struct iommufd_ctx *ctx, uint32_t *id);
void obj_publish(struct iommufd_ctx *ctx, struct obj *obj);
void obj_release(struct iommufd_ctx *ctx, uint32_t id);
/* The finished object id of that type, or NULL; type 0 means any. */
struct obj *obj_find(struct iommufd_ctx *ctx, uint32_t id, enum obj_type type);

/* MD_CHECK_REFS (uapi.md 8.6, 11.2 rule 5): runs the refs_prepare hook, then
 * returns the pins of every registered context on the page at page_va.
 * The caller holds no context lock. */
void registry_refs_prepare(void);
uint64_t registry_page_pins(uint64_t page_va);

/* ---- dispatch.c ----------------------------------------------------------- */

/* A command being served: the kernel copy and where it came from. */
struct ucmd {
	struct iommufd_ctx *ctx;
	uint64_t uptr;
	uint32_t user_size;
	uint32_t kernel_size;
	void *cmd;
};

/* uapi.md 3 step 7: copies back min(user size, kernel sizeof) bytes of the
 * whole struct.  0 or -EFAULT. */
int ucmd_respond(struct ucmd *ucmd);

/* ---- ioas.c --------------------------------------------------------------- */

int ioas_cmd_alloc(struct ucmd *ucmd);
int ioas_cmd_map(struct ucmd *ucmd);
int ioas_cmd_unmap(struct ucmd *ucmd);
int ioas_cmd_iova_ranges(struct ucmd *ucmd);
int ioas_cmd_option(struct ucmd *ucmd);

void ioas_destroy(struct iommufd_ctx *ctx, struct ioas *ioas);
/* uapi.md 4.1: the largest smallest page size of the domains, or 1 (at least
 * a host page with huge pages disabled, as Linux). */
uint64_t ioas_iova_alignment(const struct ioas *ioas, const struct hwpt *extra);
/* Adds a new domain: checks and maps every area (EADDRINUSE, or the map's
 * errno), all or nothing. */
int ioas_add_hwpt(struct ioas *ioas, struct hwpt *hwpt);
void ioas_remove_hwpt(struct ioas *ioas, struct hwpt *hwpt);
/* Pins of this IOAS on the host page at page_va (uapi.md 8.6). */
uint64_t ioas_page_pins(const struct ioas *ioas, uint64_t page_va);
/* Index of the area containing iova, or area_count. */
size_t ioas_area_at(const struct ioas *ioas, uint64_t iova);

/* ---- hwpt.c --------------------------------------------------------------- */

int hwpt_cmd_alloc(struct ucmd *ucmd);
int hwpt_cmd_hw_info(struct ucmd *ucmd);
int hwpt_cmd_set_dirty(struct ucmd *ucmd);
int hwpt_cmd_get_dirty(struct ucmd *ucmd);
int obj_cmd_destroy(struct ucmd *ucmd);

/* The context's instance for (format, capable), created on first use. */
int instance_get(struct iommufd_ctx *ctx, uint32_t test_format, bool capable,
		 struct instance **out);
void instance_destroy(struct instance *inst);
/* Moves the instance's queued faults into its devices' counters. */
void instance_drain_faults(struct iommufd_ctx *ctx, struct instance *inst);

/*
 * MOCK_DOMAIN, MOCK_DOMAIN_FLAGS and DEVICE_NEW (uapi.md 8.3): the stdev,
 * a device of test_format, its idev, attached to pt_id.  All or nothing;
 * *stdev_out gets the new SELFTEST object.  Write lock.
 */
int selftest_device_create(struct iommufd_ctx *ctx, uint32_t test_format, bool capable,
			   uint32_t core_flags, bool mock_huge_iova, uint32_t pt_id,
			   struct selftest **stdev_out);
/* DESTROY(stdev): detach, drop an unused auto HWPT, unbind, remove. */
void selftest_destroy(struct iommufd_ctx *ctx, struct selftest *stdev);
void hwpt_destroy(struct iommufd_ctx *ctx, struct hwpt *hwpt);

/* ---- selftest.c ----------------------------------------------------------- */

/* IOMMU_TEST_CMD: takes the context lock its op needs. */
int selftest_cmd(struct ucmd *ucmd);

#endif
