/* SPDX-License-Identifier: MIT */
/*
 * IOMMU instances and devices of the iommu core (uapi.md 4.3): an instance
 * owns its emulated IOMMU and allocates the domain tags used on it; a
 * device carries IOMMU_CAP_DIRTY_TRACKING from the capability register.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "core/core_internal.h"

int idt_core_iommu_create(const struct idt_iommu_config *config, struct idt_core_iommu **out)
{
	struct idt_core_iommu *iommu;
	int ret;

	if (!config || !out)
		return -EINVAL;
	iommu = mem_calloc(1, sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	ret = idt_iommu_create(config, &iommu->hw);
	if (ret) {
		mem_free(iommu);
		return ret;
	}
	/* idt_iommu_create accepted the config, so format lies within size */
	iommu->format = config->format;
	iommu->dirty_capable = idt_iommu_dirty_capable(iommu->hw);
	iommu->tags[0] = 1; /* tag 0 is never handed out */
	pthread_mutex_init(&iommu->lock, NULL);
	*out = iommu;
	return 0;
}

int idt_core_iommu_destroy(struct idt_core_iommu *iommu)
{
	bool busy;

	if (!iommu)
		return -EINVAL;
	pthread_mutex_lock(&iommu->lock);
	busy = iommu->device_count || iommu->domain_count;
	pthread_mutex_unlock(&iommu->lock);
	if (busy)
		return -EBUSY;
	if (idt_iommu_destroy(iommu->hw)) /* cannot fail: no device is attached */
		return -EBUSY;
	pthread_mutex_destroy(&iommu->lock);
	mem_free(iommu->device_ids);
	mem_free(iommu);
	return 0;
}

struct idt_iommu *idt_core_iommu_hw(const struct idt_core_iommu *iommu)
{
	return iommu ? iommu->hw : NULL;
}

uint32_t idt_core_iommu_format(const struct idt_core_iommu *iommu)
{
	return iommu ? iommu->format : 0;
}

int core_tag_alloc(struct idt_core_iommu *iommu, uint32_t *tag)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&iommu->lock);
	for (uint32_t w = 0; w < CORE_TAG_LIMIT / 64; w++) {
		uint64_t free_bits = ~iommu->tags[w];

		if (free_bits) {
			uint32_t bit = (uint32_t)__builtin_ctzll(free_bits);

			iommu->tags[w] |= 1ull << bit;
			*tag = w * 64 + bit;
			iommu->domain_count++;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&iommu->lock);
	return ret;
}

void core_tag_free(struct idt_core_iommu *iommu, uint32_t tag)
{
	pthread_mutex_lock(&iommu->lock);
	iommu->tags[tag / 64] &= ~(1ull << (tag % 64));
	iommu->domain_count--;
	pthread_mutex_unlock(&iommu->lock);
}

/* ---- devices -------------------------------------------------------------- */

int idt_device_create(struct idt_core_iommu *iommu, uint32_t device_id,
		      struct idt_device **out)
{
	return idt_device_create_config(iommu, device_id, NULL, out);
}

static int core_read_device_config(const struct idt_device_config *config,
				   struct idt_device_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!config)
		return 0;
	if (config->size < offsetof(struct idt_device_config, flags))
		return -EINVAL;
	/* size-extensible: bytes past the known struct must be zero */
	for (size_t i = sizeof(*cfg); i < config->size; i++)
		if (((const uint8_t *)config)[i])
			return -E2BIG;
	memcpy(cfg, config, config->size < sizeof(*cfg) ? config->size : sizeof(*cfg));
	if (cfg->flags & ~(uint32_t)IDT_DEVICE_NO_DIRTY_TRACKING)
		return -EINVAL;
	return 0;
}

int idt_device_create_config(struct idt_core_iommu *iommu, uint32_t device_id,
			     const struct idt_device_config *config, struct idt_device **out)
{
	struct idt_device_config cfg;
	struct idt_device *dev;
	int ret;

	if (!iommu || !out)
		return -EINVAL;
	ret = core_read_device_config(config, &cfg);
	if (ret)
		return ret;
	dev = mem_calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	pthread_mutex_lock(&iommu->lock);
	for (size_t i = 0; i < iommu->device_count; i++)
		if (iommu->device_ids[i] == device_id)
			ret = -EEXIST;
	if (!ret && iommu->device_count == iommu->device_capacity) {
		size_t capacity = iommu->device_capacity ? 2 * iommu->device_capacity : 8;
		uint32_t *ids = mem_realloc(iommu->device_ids, capacity * sizeof(*ids));

		if (ids) {
			iommu->device_ids = ids;
			iommu->device_capacity = capacity;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret)
		iommu->device_ids[iommu->device_count++] = device_id;
	pthread_mutex_unlock(&iommu->lock);
	if (ret) {
		mem_free(dev);
		return ret;
	}
	dev->iommu = iommu;
	dev->device_id = device_id;
	dev->dirty_capable =
		iommu->dirty_capable && !(cfg.flags & IDT_DEVICE_NO_DIRTY_TRACKING);
	atomic_init(&dev->domain, NULL);
	*out = dev;
	return 0;
}

int idt_device_destroy(struct idt_device *dev)
{
	struct idt_core_iommu *iommu;

	if (!dev)
		return -EINVAL;
	if (atomic_load(&dev->domain))
		return -EBUSY;
	iommu = dev->iommu;
	pthread_mutex_lock(&iommu->lock);
	for (size_t i = 0; i < iommu->device_count; i++)
		if (iommu->device_ids[i] == dev->device_id) {
			iommu->device_ids[i] = iommu->device_ids[--iommu->device_count];
			break;
		}
	pthread_mutex_unlock(&iommu->lock);
	mem_free(dev);
	return 0;
}

bool idt_device_capable(const struct idt_device *dev, enum idt_cap cap)
{
	if (!dev)
		return false;
	switch (cap) {
	case IDT_CAP_DIRTY_TRACKING:
		return dev->dirty_capable;
	}
	return false;
}

uint32_t idt_device_id(const struct idt_device *dev)
{
	return dev ? dev->device_id : 0;
}

struct idt_core_iommu *idt_device_iommu(const struct idt_device *dev)
{
	return dev ? dev->iommu : NULL;
}

struct idt_domain *idt_device_domain(const struct idt_device *dev)
{
	return dev ? atomic_load(&((struct idt_device *)dev)->domain) : NULL;
}
