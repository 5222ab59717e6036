/* SPDX-License-Identifier: MIT */
/*
 * The few iommufd commands the shim tests issue, over any ioctl entry
 * (iodirty_ioctl directly, or libc's ioctl under the shim).  Each returns 0
 * or the errno of the call.
 */
#ifndef SHIM_CMDS_H
#define SHIM_CMDS_H

#define IODIRTY_NO_SYSTEM_IOMMUFD /* the 6.7 layouts, whatever the system has */
#include <iodirty/iommufd.h>

#include <errno.h>
#include <stdint.h>

typedef int (*shim_ioctl_fn)(int fd, unsigned long request, void *arg);

static inline int shim_call(shim_ioctl_fn call, int fd, unsigned long request, void *arg)
{
	return call(fd, request, arg) ? errno : 0;
}

static inline int ioas_alloc_e(shim_ioctl_fn call, int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int err = shim_call(call, fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return err;
}

static inline int destroy_e(shim_ioctl_fn call, int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return shim_call(call, fd, IOMMU_DESTROY, &cmd);
}

/* A mock device on ioas, so that its mappings pin pages (uapi.md 8.6). */
static inline int mock_domain_e(shim_ioctl_fn call, int fd, uint32_t ioas)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas,
	};

	return shim_call(call, fd, IOMMU_TEST_CMD, &cmd);
}

static inline int map_fixed_e(shim_ioctl_fn call, int fd, uint32_t ioas, const void *buf,
			      uint64_t len)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = MOCK_APERTURE_START,
	};

	return shim_call(call, fd, IOMMU_IOAS_MAP, &cmd);
}

/* MD_CHECK_REFS: the pins of every valid context on buf, process-wide (11.2 rule 5). */
static inline int check_refs_e(shim_ioctl_fn call, int fd, const void *buf, uint64_t len,
			       uint32_t refs)
{
	struct iommu_test_cmd cmd = { .size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS };

	cmd.check_refs.length = len;
	cmd.check_refs.uptr = (uintptr_t)buf;
	cmd.check_refs.refs = refs;
	return shim_call(call, fd, IOMMU_TEST_CMD, &cmd);
}

#endif
