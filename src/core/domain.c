/* SPDX-License-Identifier: MIT */
/*
 * Paging domains of the iommu core (uapi.md 4.2, 4.3): allocation for a
 * device (its IOMMU decides the format), the capability rules at alloc and
 * attach, gates at attach (formats.md 2.8, 3.5, 4.5, 5.6; test-cases.md
 * HW-09), map and unmap with the mapped-area list the enable clean pass
 * walks, and the unmap protocol of hw.h (deferred free, invalidate with
 * drain, release).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "core/core_internal.h"

#define CORE_MAX_THREADS 64

/* The core's default input width per format (docs/compat.md "The iommu core"). */
static uint32_t core_default_width(uint32_t format)
{
	/* AMD v1: Linux 6.7's aperture is the full 64 bits, the table starting
	 * at 3 levels and growing on demand (formats.md 2.3) */
	return format == IDT_PT_AMDV1 ? 64 : 48;
}

static int core_read_config(const struct idt_domain_config *config, struct idt_domain_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!config)
		return 0;
	if (config->size < offsetof(struct idt_domain_config, page_sizes))
		return -EINVAL;
	/* size-extensible: bytes past the known struct must be zero */
	for (size_t i = sizeof(*cfg); i < config->size; i++)
		if (((const uint8_t *)config)[i])
			return -E2BIG;
	memcpy(cfg, config, config->size < sizeof(*cfg) ? config->size : sizeof(*cfg));
	if (cfg->flags & ~(uint32_t)IDT_DOMAIN_DIRTY_TRACKING)
		return -EINVAL;
	return 0;
}

/* Valid (algo, threads): threads only with iodirty's algorithm. */
static int core_check_rcd(uint32_t algo, uint32_t threads)
{
	if (algo != IDT_RCD_IODIRTY && algo != IDT_RCD_GENERIC_PT && algo != IDT_RCD_LEGACY)
		return -EINVAL;
	if (threads > CORE_MAX_THREADS || (threads > 1 && algo != IDT_RCD_IODIRTY))
		return -EINVAL;
	return 0;
}

int idt_domain_alloc(struct idt_device *dev, const struct idt_domain_config *config,
		     struct idt_domain **out)
{
	struct idt_domain_config cfg;
	struct idt_pt_config pcfg = { .size = sizeof(pcfg) };
	struct idt_pt_info info;
	struct idt_domain *domain;
	bool dirty;
	int ret;

	if (!dev || !out)
		return -EINVAL;
	ret = core_read_config(config, &cfg);
	if (ret)
		return ret;
	ret = core_check_rcd(cfg.rcd_algo, cfg.rcd_threads);
	if (ret)
		return ret;
	dirty = cfg.flags & IDT_DOMAIN_DIRTY_TRACKING;
	/* uapi.md 4.3: the driver refuses dirty tracking on an incapable device */
	if (dirty && !dev->dirty_capable)
		return -EOPNOTSUPP;

	domain = mem_calloc(1, sizeof(*domain));
	if (!domain)
		return -ENOMEM;
	pcfg.format = dev->iommu->format;
	pcfg.iova_width = cfg.iova_width ? cfg.iova_width : core_default_width(pcfg.format);
	pcfg.granule_lg2 = cfg.granule_lg2;
	pcfg.page_sizes = cfg.page_sizes;
	/* ARM: writable leaves get DBM (formats.md 4.4); the others ignore it */
	pcfg.flags = dirty ? IDT_PT_DIRTY_TRACKING : 0;
	if (pcfg.format == IDT_PT_AMDV1)
		pcfg.flags |= IDT_PT_DYNAMIC_TOP;
	ret = idt_pt_create(&pcfg, &domain->pt);
	if (ret)
		goto fail;
	ret = core_tag_alloc(dev->iommu, &domain->tag);
	if (ret)
		goto fail_pt;

	idt_pt_get_info(domain->pt, &info);
	domain->iommu = dev->iommu;
	domain->format = pcfg.format;
	domain->flags = cfg.flags;
	domain->granule_lg2 = info.granule_lg2;
	domain->page_sizes = info.page_sizes;
	domain->aperture_last =
		info.max_iova_width >= 64 ? UINT64_MAX : (1ull << info.max_iova_width) - 1;
	domain->levels = info.levels;
	atomic_init(&domain->enabled, false);
	atomic_init(&domain->rcd_algo, cfg.rcd_algo);
	atomic_init(&domain->rcd_threads, cfg.rcd_threads);
	pthread_rwlock_init(&domain->lock, NULL);
	pthread_mutex_init(&domain->gate_lock, NULL);
	*out = domain;
	return 0;
fail_pt:
	idt_pt_destroy(domain->pt);
fail:
	mem_free(domain);
	return ret;
}

int idt_domain_free(struct idt_domain *domain)
{
	size_t devices;

	if (!domain)
		return -EINVAL;
	pthread_rwlock_wrlock(&domain->lock);
	devices = domain->device_count;
	pthread_rwlock_unlock(&domain->lock);
	if (devices)
		return -EBUSY;
	core_tag_free(domain->iommu, domain->tag);
	idt_pt_destroy(domain->pt);
	pthread_rwlock_destroy(&domain->lock);
	pthread_mutex_destroy(&domain->gate_lock);
	mem_free(domain->devices);
	mem_free(domain->areas);
	mem_free(domain);
	return 0;
}

/* ---- attach and detach ------------------------------------------------------ */

/* Room for one more device.  Called with the write lock held. */
static int core_reserve_device(struct idt_domain *domain)
{
	size_t capacity;
	struct idt_device **devices;

	if (domain->device_count < domain->device_capacity)
		return 0;
	capacity = domain->device_capacity ? 2 * domain->device_capacity : 4;
	devices = mem_realloc(domain->devices, capacity * sizeof(*devices));
	if (!devices)
		return -ENOMEM;
	domain->devices = devices;
	domain->device_capacity = capacity;
	return 0;
}

int idt_domain_attach(struct idt_domain *domain, struct idt_device *dev)
{
	struct idt_domain *none = NULL;
	struct idt_iommu *hw;
	bool gate;
	int ret;

	if (!domain || !dev)
		return -EINVAL;
	/* uapi.md 4.3: an incapable device never joins a domain with dirty ops */
	if ((domain->flags & IDT_DOMAIN_DIRTY_TRACKING) && !dev->dirty_capable)
		return -EINVAL;
	/* one IOMMU per domain (docs/compat.md "The iommu core") */
	if (dev->iommu != domain->iommu)
		return -EINVAL;
	hw = domain->iommu->hw;

	pthread_rwlock_wrlock(&domain->lock);
	if (!atomic_compare_exchange_strong(&dev->domain, &none, domain)) {
		ret = -EBUSY;
		goto out;
	}
	ret = core_reserve_device(domain);
	if (ret)
		goto unclaim;
	ret = idt_iommu_attach(hw, dev->device_id, domain->pt, domain->tag);
	if (ret)
		goto unclaim;
	/*
	 * The gate in the domain's current state (formats.md 2.8 and 3.5: a
	 * device attached to an enabled domain gets HAD 11b / SSADE at attach,
	 * test-cases.md HW-09); ARM and RISC-V dirty domains always have it
	 * (formats.md 4.5: CD.HA and HD with a dirty domain; 5.6 item 3).
	 */
	gate = (domain->flags & IDT_DOMAIN_DIRTY_TRACKING) &&
	       (!core_format_toggles(domain->format) || atomic_load(&domain->enabled));
	if (gate) {
		ret = idt_iommu_set_gate(hw, dev->device_id, true);
		if (ret) {
			idt_iommu_detach(hw, dev->device_id);
			goto unclaim;
		}
	}
	domain->devices[domain->device_count++] = dev;
	goto out;
unclaim:
	atomic_store(&dev->domain, NULL);
out:
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}

int idt_domain_detach(struct idt_domain *domain, struct idt_device *dev)
{
	int ret = -ENOENT;

	if (!domain || !dev)
		return -EINVAL;
	pthread_rwlock_wrlock(&domain->lock);
	for (size_t i = 0; i < domain->device_count; i++) {
		if (domain->devices[i] != dev)
			continue;
		/* removes the context, invalidates it and the domain's IOTLB, drains */
		ret = idt_iommu_detach(domain->iommu->hw, dev->device_id);
		if (ret)
			break;
		domain->devices[i] = domain->devices[--domain->device_count];
		atomic_store(&dev->domain, NULL);
		break;
	}
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}

/* ---- map and unmap ---------------------------------------------------------- */

static uint64_t core_min_page(const struct idt_domain *domain)
{
	return domain->page_sizes & -domain->page_sizes;
}

/* [iova, iova + length) non-empty, not wrapping, inside the aperture and
 * aligned to the smallest page size. */
static bool core_range_ok(const struct idt_domain *domain, uint64_t iova, uint64_t length)
{
	uint64_t last = iova + (length - 1);

	return length && last >= iova && last <= domain->aperture_last &&
	       !((iova | length) & (core_min_page(domain) - 1));
}

/* Index of the first area whose last byte is >= iova. */
static size_t core_area_search(const struct idt_domain *domain, uint64_t iova)
{
	size_t lo = 0, hi = domain->area_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct idt_domain_area *a = &domain->areas[mid];

		if (a->iova + (a->length - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more area.  Called with the write lock held. */
static int core_reserve_area(struct idt_domain *domain)
{
	size_t capacity;
	struct idt_domain_area *areas;

	if (domain->area_count < domain->area_capacity)
		return 0;
	capacity = domain->area_capacity ? 2 * domain->area_capacity : 16;
	areas = mem_realloc(domain->areas, capacity * sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	domain->areas = areas;
	domain->area_capacity = capacity;
	return 0;
}

/* Unmaps with the protocol of hw.h: deferred free, invalidation with drain
 * when devices may have cached the range, release.  Write lock held. */
static int core_unmap_locked(struct idt_domain *domain, uint64_t iova, uint64_t length,
			     uint64_t *unmapped)
{
	struct idt_pt_free_list list = { 0 };
	int ret;

	*unmapped = 0;
	ret = idt_pt_unmap_deferred(domain->pt, iova, length, unmapped, &list);
	/* hardware.md 5: the IOTLB over the unmapped range, before reuse; a
	 * detached device has had its domain's IOTLB invalidated already */
	if (*unmapped && domain->device_count)
		idt_iommu_invalidate_range(domain->iommu->hw, domain->tag, iova,
					   iova + (length - 1));
	idt_pt_free_list_release(domain->pt, &list);
	return ret;
}

/*
 * AMD grows its top level on demand (formats.md 2.3): after a growth the
 * contexts are updated and invalidated (hardware.md 5, "growing the AMD
 * top level"); the old root stays valid meanwhile.  Write lock held.
 */
static int core_refresh_contexts(struct idt_domain *domain)
{
	struct idt_pt_info info;
	int ret;

	if (domain->format != IDT_PT_AMDV1)
		return 0;
	idt_pt_get_info(domain->pt, &info);
	if (info.levels == domain->levels)
		return 0;
	for (size_t i = 0; i < domain->device_count; i++) {
		ret = idt_iommu_invalidate_context(domain->iommu->hw, domain->devices[i]->device_id);
		if (ret)
			return ret;
	}
	domain->levels = info.levels;
	return 0;
}

/* The table part of a map: one idt_pt_map with the largest leaves that
 * fit, or one per smallest page (all or nothing).  Write lock held. */
static int core_pt_map(struct idt_domain *domain, uint64_t iova, uint64_t oa, uint64_t length,
		       int prot, bool smallest)
{
	uint64_t step = smallest ? core_min_page(domain) : length, done, unmapped;
	int ret = 0;

	for (done = 0; done < length; done += step) {
		ret = idt_pt_map(domain->pt, iova + done, oa + done, step, prot);
		if (ret)
			break;
	}
	if (ret && done)
		core_unmap_locked(domain, iova, done, &unmapped);
	return ret;
}

static int core_map(struct idt_domain *domain, uint64_t iova, uint64_t oa, uint64_t length,
		    int prot, bool smallest)
{
	uint64_t last = iova + (length - 1), unmapped;
	size_t pos;
	int ret;

	if (!domain || !core_range_ok(domain, iova, length) || (oa & (core_min_page(domain) - 1)))
		return -EINVAL;
	if (!prot || (prot & ~(IDT_PROT_READ | IDT_PROT_WRITE)))
		return -EINVAL;
	pthread_rwlock_wrlock(&domain->lock);
	pos = core_area_search(domain, iova);
	if (pos < domain->area_count && domain->areas[pos].iova <= last) {
		ret = -EEXIST;
		goto out;
	}
	ret = core_reserve_area(domain);
	if (ret)
		goto out;
	ret = core_pt_map(domain, iova, oa, length, prot, smallest);
	if (ret)
		goto out;
	ret = core_refresh_contexts(domain);
	if (ret) {
		core_unmap_locked(domain, iova, length, &unmapped);
		goto out;
	}
	memmove(&domain->areas[pos + 1], &domain->areas[pos],
		(domain->area_count - pos) * sizeof(domain->areas[0]));
	domain->areas[pos] = (struct idt_domain_area){ iova, length };
	domain->area_count++;
	domain->mapped_bytes += length;
out:
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}

int idt_domain_map(struct idt_domain *domain, uint64_t iova, uint64_t oa, uint64_t length,
		   int prot)
{
	return core_map(domain, iova, oa, length, prot, false);
}

int idt_domain_map_smallest(struct idt_domain *domain, uint64_t iova, uint64_t oa,
			    uint64_t length, int prot)
{
	return core_map(domain, iova, oa, length, prot, true);
}

/* Removes [iova, last] from the area list; at most one area splits in two
 * (room reserved by the caller). */
static void core_areas_remove(struct idt_domain *domain, uint64_t iova, uint64_t last)
{
	size_t first = core_area_search(domain, iova), end = first, keep = 0;
	struct idt_domain_area pieces[2];

	while (end < domain->area_count && domain->areas[end].iova <= last)
		end++;
	if (first == end)
		return;
	if (domain->areas[first].iova < iova)
		pieces[keep++] = (struct idt_domain_area){ domain->areas[first].iova,
							   iova - domain->areas[first].iova };
	{
		const struct idt_domain_area *a = &domain->areas[end - 1];
		uint64_t a_last = a->iova + (a->length - 1);

		if (a_last > last)
			pieces[keep++] = (struct idt_domain_area){ last + 1, a_last - last };
	}
	memmove(&domain->areas[first + keep], &domain->areas[end],
		(domain->area_count - end) * sizeof(domain->areas[0]));
	memcpy(&domain->areas[first], pieces, keep * sizeof(pieces[0]));
	domain->area_count = domain->area_count - (end - first) + keep;
}

/* Does removing [iova, last] leave two pieces of one area? */
static bool core_areas_split(const struct idt_domain *domain, uint64_t iova, uint64_t last)
{
	size_t pos = core_area_search(domain, iova);
	const struct idt_domain_area *a;

	if (pos == domain->area_count)
		return false;
	a = &domain->areas[pos];
	return a->iova < iova && a->iova + (a->length - 1) > last;
}

int idt_domain_unmap(struct idt_domain *domain, uint64_t iova, uint64_t length,
		     uint64_t *unmapped)
{
	uint64_t done = 0;
	int ret = 0;

	if (unmapped)
		*unmapped = 0;
	if (!domain || !core_range_ok(domain, iova, length))
		return -EINVAL;
	pthread_rwlock_wrlock(&domain->lock);
	/* only a split needs room: unmapping whole areas (every IOAS_UNMAP and
	 * undo) cannot fail for memory */
	if (core_areas_split(domain, iova, iova + (length - 1)))
		ret = core_reserve_area(domain);
	if (!ret)
		ret = core_unmap_locked(domain, iova, length, &done);
	if (!ret) {
		core_areas_remove(domain, iova, iova + (length - 1));
		domain->mapped_bytes -= done;
		if (unmapped)
			*unmapped = done;
	}
	pthread_rwlock_unlock(&domain->lock);
	return ret;
}

/* ---- queries ---------------------------------------------------------------- */

bool idt_domain_has_dirty_ops(const struct idt_domain *domain)
{
	return domain && (domain->flags & IDT_DOMAIN_DIRTY_TRACKING);
}

bool idt_domain_dirty_tracking_enabled(const struct idt_domain *domain)
{
	if (!idt_domain_has_dirty_ops(domain))
		return false;
	return !core_format_toggles(domain->format) ||
	       atomic_load(&((struct idt_domain *)domain)->enabled);
}

int idt_domain_get_info(const struct idt_domain *domain, struct idt_domain_info *info)
{
	struct idt_domain *d = (struct idt_domain *)domain;

	if (!domain || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	pthread_rwlock_rdlock(&d->lock);
	info->format = d->format;
	info->flags = d->flags;
	info->page_sizes = d->page_sizes;
	info->min_page_size = core_min_page(d);
	info->aperture_start = 0;
	info->aperture_last = d->aperture_last;
	info->domain_tag = d->tag;
	info->devices = (uint32_t)d->device_count;
	info->areas = (uint32_t)d->area_count;
	info->rcd_algo = atomic_load(&d->rcd_algo);
	info->rcd_threads = atomic_load(&d->rcd_threads);
	info->granule_lg2 = d->granule_lg2;
	info->mapped_bytes = d->mapped_bytes;
	info->dirty_ops = idt_domain_has_dirty_ops(d);
	info->dirty_tracking = idt_domain_dirty_tracking_enabled(d);
	pthread_rwlock_unlock(&d->lock);
	return 0;
}

size_t idt_domain_get_areas(const struct idt_domain *domain, struct idt_domain_area *areas,
			    size_t max)
{
	struct idt_domain *d = (struct idt_domain *)domain;
	size_t count;

	if (!domain)
		return 0;
	pthread_rwlock_rdlock(&d->lock);
	count = d->area_count;
	if (areas && count) /* d->areas is NULL before the first map */
		memcpy(areas, d->areas, (count < max ? count : max) * sizeof(*areas));
	pthread_rwlock_unlock(&d->lock);
	return count;
}

struct idt_pt *idt_domain_pt(const struct idt_domain *domain)
{
	return domain ? domain->pt : NULL;
}

struct idt_core_iommu *idt_domain_iommu(const struct idt_domain *domain)
{
	return domain ? domain->iommu : NULL;
}

int idt_domain_set_rcd(struct idt_domain *domain, enum idt_rcd_algo algo, unsigned int threads)
{
	int ret;

	if (!domain)
		return -EINVAL;
	ret = core_check_rcd(algo, threads);
	if (ret)
		return ret;
	/* any mix a concurrent harvest may read is valid: threads only count
	 * with IDT_RCD_IODIRTY */
	atomic_store(&domain->rcd_algo, algo);
	atomic_store(&domain->rcd_threads, threads);
	return 0;
}
