/* SPDX-License-Identifier: MIT */
/*
 * IOAS objects (uapi.md 4.1) and their commands: IOAS_ALLOC (5.2),
 * IOAS_MAP (5.3), IOAS_UNMAP (5.4), IOVA_RANGES (5.9) and OPTION (5.10).
 * Every area is mapped into every domain of its IOAS; a new domain gets
 * every existing area.  Each command checks everything before it changes
 * anything, and undoes its partial work on a later failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "iommufd/iommufd_internal.h"
#include "iommufd/usermem.h"

static uint64_t ioas_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

uint64_t ioas_iova_alignment(const struct ioas *ioas, const struct hwpt *extra)
{
	/* Linux's iopt_calculate_iova_alignment: PAGE_SIZE with large pages
	 * disabled, and the largest smallest page size of the domains */
	uint64_t align = ioas->no_huge_pages ? IOMMUFD_HOST_PAGE : 1;

	for (size_t i = 0; i < ioas->hwpt_count; i++)
		align = ioas_max(align, ioas->hwpts[i]->min_page);
	return extra ? ioas_max(align, extra->min_page) : align;
}

/* The allowed IOVAs: the intersection of the domains' apertures (everything
 * outside one is reserved, uapi.md 4.1).  false when it is empty. */
static bool ioas_allowed_range(const struct ioas *ioas, uint64_t *start, uint64_t *last)
{
	*start = 0;
	*last = UINT64_MAX;
	for (size_t i = 0; i < ioas->hwpt_count; i++) {
		*start = ioas_max(*start, ioas->hwpts[i]->aperture_start);
		if (ioas->hwpts[i]->aperture_last < *last)
			*last = ioas->hwpts[i]->aperture_last;
	}
	return *start <= *last;
}

/* Index of the first area whose last byte is >= iova. */
static size_t ioas_area_search(const struct ioas *ioas, uint64_t iova)
{
	size_t lo = 0, hi = ioas->area_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct area *a = &ioas->areas[mid];

		if (a->iova + (a->length - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t ioas_area_at(const struct ioas *ioas, uint64_t iova)
{
	size_t pos = ioas_area_search(ioas, iova);

	return pos < ioas->area_count && ioas->areas[pos].iova <= iova ? pos : ioas->area_count;
}

uint64_t ioas_page_pins(const struct ioas *ioas, uint64_t page_va)
{
	uint64_t pins = 0, page_last = page_va + (IOMMUFD_HOST_PAGE - 1);

	/* uapi.md 8.6: areas pin only while a domain needs their pages */
	if (!ioas->hwpt_count)
		return 0;
	for (size_t i = 0; i < ioas->area_count; i++) {
		const struct area *a = &ioas->areas[i];

		if (a->user_va <= page_last && page_va <= a->user_va + (a->length - 1))
			pins++;
	}
	return pins;
}

/* One area into one domain, with small leaves while huge pages are off. */
static int ioas_map_area(const struct ioas *ioas, const struct hwpt *hwpt, const struct area *a)
{
	if (ioas->no_huge_pages)
		return idt_domain_map_smallest(hwpt->domain, a->iova, a->user_va, a->length,
					       a->prot);
	return idt_domain_map(hwpt->domain, a->iova, a->user_va, a->length, a->prot);
}

/* Removes an area from the first count domains (undo, or unmap). */
static int ioas_unmap_area(const struct ioas *ioas, size_t count, const struct area *a)
{
	int ret = 0;

	for (size_t i = 0; i < count; i++) {
		int err = idt_domain_unmap(ioas->hwpts[i]->domain, a->iova, a->length, NULL);

		if (err && !ret)
			ret = err;
	}
	return ret;
}

int ioas_add_hwpt(struct ioas *ioas, struct hwpt *hwpt)
{
	uint64_t align = ioas_iova_alignment(ioas, hwpt);
	size_t done;
	int ret = 0;

	/* uapi.md 4.1: every area must fit the new aperture and alignment */
	for (size_t i = 0; i < ioas->area_count; i++) {
		const struct area *a = &ioas->areas[i];

		if (a->iova < hwpt->aperture_start ||
		    a->iova + (a->length - 1) > hwpt->aperture_last ||
		    (a->iova | a->length | a->user_va) & (align - 1))
			return -EADDRINUSE;
	}
	if (ioas->hwpt_count == ioas->hwpt_capacity) {
		size_t capacity = ioas->hwpt_capacity ? 2 * ioas->hwpt_capacity : 4;
		struct hwpt **hwpts = mem_realloc(ioas->hwpts, capacity * sizeof(*hwpts));

		if (!hwpts)
			return -ENOMEM;
		ioas->hwpts = hwpts;
		ioas->hwpt_capacity = capacity;
	}
	for (done = 0; done < ioas->area_count && !ret; done++)
		ret = ioas_map_area(ioas, hwpt, &ioas->areas[done]);
	if (ret) {
		/* the failed area mapped nothing */
		for (size_t i = 0; i + 1 < done; i++)
			idt_domain_unmap(hwpt->domain, ioas->areas[i].iova, ioas->areas[i].length,
					 NULL);
		return ret;
	}
	ioas->hwpts[ioas->hwpt_count++] = hwpt;
	return 0;
}

void ioas_remove_hwpt(struct ioas *ioas, struct hwpt *hwpt)
{
	for (size_t i = 0; i < ioas->hwpt_count; i++)
		if (ioas->hwpts[i] == hwpt) {
			ioas->hwpts[i] = ioas->hwpts[--ioas->hwpt_count];
			return;
		}
}

void ioas_destroy(struct iommufd_ctx *ctx, struct ioas *ioas)
{
	obj_release(ctx, ioas->obj.id);
	mem_free(ioas->areas);
	mem_free(ioas->hwpts);
	mem_free(ioas);
}

/* ---- IOAS_ALLOC (5.2) ------------------------------------------------------------ */

int ioas_cmd_alloc(struct ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct ioas *ioas;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = mem_calloc(1, sizeof(*ioas));
	if (!ioas)
		return -ENOMEM;
	ret = obj_reserve(ucmd->ctx, &ioas->obj.id);
	if (ret) {
		mem_free(ioas);
		return ret;
	}
	ioas->obj.type = OBJ_IOAS;
	obj_publish(ucmd->ctx, &ioas->obj);
	cmd->out_ioas_id = ioas->obj.id;
	ret = ucmd_respond(ucmd);
	if (ret) /* uapi.md 3 step 7: all or nothing */
		ioas_destroy(ucmd->ctx, ioas);
	return ret;
}

/* ---- IOAS_MAP (5.3) -------------------------------------------------------------- */

static uint64_t ioas_roundup_pow2(uint64_t x)
{
	return x <= 1 ? 1 : x > (1ull << 63) ? 0 : 1ull << (64 - __builtin_clzll(x - 1));
}

/*
 * uapi.md 5.3 step 8: the lowest hole of [start, last] that holds length
 * bytes at a multiple of align, never at IOVA 0 (project choice, the exact
 * hole is unverified).
 */
static int ioas_find_hole(const struct ioas *ioas, uint64_t length, uint64_t align,
			  uint64_t *iova)
{
	uint64_t start, last, cursor;

	if (!ioas_allowed_range(ioas, &start, &last))
		return -ENOSPC;
	cursor = start ? start : 1;
	for (size_t i = 0;; i++) {
		uint64_t limit = i == ioas->area_count ? last
				 : ioas->areas[i].iova ? ioas->areas[i].iova - 1
							: 0; /* no hole below IOVA 0 */
		uint64_t candidate = cursor + ((align - cursor % align) % align);

		if (limit > last)
			limit = last;
		if (candidate >= cursor && candidate <= limit && limit - candidate >= length - 1) {
			*iova = candidate;
			return 0;
		}
		if (i >= ioas->area_count)
			return -ENOSPC;
		cursor = ioas->areas[i].iova + ioas->areas[i].length;
		if (!cursor || cursor > last) /* the area ends at 2^64 or past the range */
			return -ENOSPC;
	}
}

int ioas_cmd_map(struct ucmd *ucmd)
{
	const uint32_t known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
			       IOMMU_IOAS_MAP_READABLE;
	struct iommu_ioas_map *cmd = ucmd->cmd;
	struct area a = { .length = cmd->length, .user_va = cmd->user_va };
	uint64_t align, start, last;
	struct ioas *ioas;
	size_t pos, done;
	int ret = 0;

	/* checks in the kernel order of uapi.md 5.3 */
	if ((cmd->flags & ~known) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
		return -EINVAL;
	ioas = (struct ioas *)obj_find(ucmd->ctx, cmd->ioas_id, OBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	align = ioas_iova_alignment(ioas, NULL);
	if (!cmd->length || cmd->length % align)
		return -EINVAL;
	if ((cmd->user_va % IOMMUFD_HOST_PAGE) % align)
		return -EINVAL;
	if (cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA) {
		uint64_t map_last = cmd->iova + (cmd->length - 1);

		if (cmd->iova % align)
			return -EINVAL;
		if (map_last < cmd->iova)
			return -EOVERFLOW;
		if (!ioas_allowed_range(ioas, &start, &last) || cmd->iova < start ||
		    map_last > last)
			return -EINVAL;
		pos = ioas_area_search(ioas, cmd->iova);
		if (pos < ioas->area_count && ioas->areas[pos].iova <= map_last)
			return -EEXIST;
		a.iova = cmd->iova;
	} else {
		uint64_t hole_align = ioas_roundup_pow2(cmd->length);

		if (!hole_align || (cmd->user_va && (cmd->user_va & -cmd->user_va) < hole_align))
			hole_align = cmd->user_va ? cmd->user_va & -cmd->user_va : 1ull << 63;
		if (hole_align < align)
			return -EINVAL;
		ret = ioas_find_hole(ioas, cmd->length, hole_align, &a.iova);
		if (ret)
			return ret;
		pos = ioas_area_search(ioas, a.iova);
	}
	/* Linux pins the pages here; iodirty checks they could be (compat.md) */
	if (!usermem_accessible(cmd->user_va, cmd->length, cmd->flags & IOMMU_IOAS_MAP_WRITEABLE))
		return -EFAULT;
	if (ioas->area_count == ioas->area_capacity) {
		size_t capacity = ioas->area_capacity ? 2 * ioas->area_capacity : 16;
		struct area *areas = mem_realloc(ioas->areas, capacity * sizeof(*areas));

		if (!areas)
			return -ENOMEM;
		ioas->areas = areas;
		ioas->area_capacity = capacity;
	}
	a.prot = (cmd->flags & IOMMU_IOAS_MAP_READABLE ? IDT_PROT_READ : 0) |
		 (cmd->flags & IOMMU_IOAS_MAP_WRITEABLE ? IDT_PROT_WRITE : 0);
	/* uapi.md 4.1: into every domain, all or nothing */
	for (done = 0; done < ioas->hwpt_count && !ret; done++)
		ret = ioas_map_area(ioas, ioas->hwpts[done], &a);
	if (ret) {
		ioas_unmap_area(ioas, done - 1, &a);
		return ret;
	}
	memmove(&ioas->areas[pos + 1], &ioas->areas[pos],
		(ioas->area_count - pos) * sizeof(ioas->areas[0]));
	ioas->areas[pos] = a;
	ioas->area_count++;
	cmd->iova = a.iova;
	/* a failed copy-back keeps the mapping (uapi.md 3 step 7, unverified) */
	return ucmd_respond(ucmd);
}

/* ---- IOAS_UNMAP (5.4) ------------------------------------------------------------ */

/* Removes areas [first, end) from the IOAS and its domains. */
static int ioas_remove_areas(struct ioas *ioas, size_t first, size_t end, uint64_t *unmapped)
{
	int ret = 0;

	*unmapped = 0;
	for (size_t i = first; i < end; i++) {
		int err = ioas_unmap_area(ioas, ioas->hwpt_count, &ioas->areas[i]);

		/* the core fails only without memory; report it, the area is gone */
		if (err && !ret)
			ret = err;
		*unmapped += ioas->areas[i].length;
	}
	if (end > first) /* areas may be NULL when the IOAS never had one */
		memmove(&ioas->areas[first], &ioas->areas[end],
			(ioas->area_count - end) * sizeof(ioas->areas[0]));
	ioas->area_count -= end - first;
	return ret;
}

int ioas_cmd_unmap(struct ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	uint64_t last, unmapped;
	size_t first, end;
	struct ioas *ioas;
	int ret;

	ioas = (struct ioas *)obj_find(ucmd->ctx, cmd->ioas_id, OBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		/* unmap everything; nothing mapped is success with length 0 */
		first = 0;
		end = ioas->area_count;
	} else {
		if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX)
			return -EOVERFLOW;
		if (!cmd->length)
			return -EINVAL;
		last = cmd->iova + (cmd->length - 1);
		if (last < cmd->iova)
			return -EOVERFLOW;
		first = ioas_area_search(ioas, cmd->iova);
		end = first;
		while (end < ioas->area_count && ioas->areas[end].iova <= last)
			end++;
		/* Q10: no splitting, and nothing mapped is ENOENT; checked for
		 * every area before any is removed */
		if (first == end)
			return -ENOENT;
		if (ioas->areas[first].iova < cmd->iova ||
		    ioas->areas[end - 1].iova + (ioas->areas[end - 1].length - 1) > last)
			return -ENOENT;
	}
	ret = ioas_remove_areas(ioas, first, end, &unmapped);
	if (ret)
		return ret;
	cmd->length = unmapped;
	return ucmd_respond(ucmd);
}

/* ---- IOVA_RANGES (5.9) ----------------------------------------------------------- */

int ioas_cmd_iova_ranges(struct ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range range;
	uint32_t count, capacity = cmd->num_iovas;
	uint64_t start, last;
	struct ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = (struct ioas *)obj_find(ucmd->ctx, cmd->ioas_id, OBJ_IOAS);
	if (!ioas)
		return -ENOENT;
	count = ioas_allowed_range(ioas, &start, &last) ? 1 : 0;
	range.start = start;
	range.last = last;
	if (count && capacity &&
	    usermem_write(cmd->allowed_iovas, &range, sizeof(range)))
		return -EFAULT;
	cmd->num_iovas = count;
	cmd->out_iova_alignment = ioas_iova_alignment(ioas, NULL);
	ret = ucmd_respond(ucmd);
	if (ret)
		return ret;
	/* the struct first, so the caller learns the count (5.9 step 6) */
	return count > capacity ? -EMSGSIZE : 0;
}

/* ---- OPTION (5.10) --------------------------------------------------------------- */

/* RLIMIT_MODE as Linux for an unprivileged process: GET is 0 (per-user
 * accounting), SET needs CAP_SYS_RESOURCE. */
static int option_rlimit_mode(struct iommu_option *cmd)
{
	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = 0;
		return 0;
	}
	return cmd->op == IOMMU_OPTION_OP_SET ? -EPERM : -EOPNOTSUPP;
}

/* Linux's iopt_disable_large_pages and iopt_enable_large_pages. */
static int option_huge_pages(struct ioas *ioas, struct iommu_option *cmd)
{
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->no_huge_pages;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->val64 > 1)
		return -EINVAL;
	if (cmd->val64 == 0 && !ioas->no_huge_pages) {
		/* domains that have mapped pages keep their leaves (as Linux) */
		if (ioas->hwpt_count && ioas->area_count)
			return -EINVAL;
		/* the alignment rises to a host page: existing areas must fit */
		for (size_t i = 0; i < ioas->area_count; i++)
			if ((ioas->areas[i].iova | ioas->areas[i].length | ioas->areas[i].user_va) %
			    IOMMUFD_HOST_PAGE)
				return -EADDRINUSE;
	}
	ioas->no_huge_pages = cmd->val64 == 0;
	return 0;
}

int ioas_cmd_option(struct ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->option_id == IOMMU_OPTION_RLIMIT_MODE) {
		ret = option_rlimit_mode(cmd);
	} else if (cmd->option_id == IOMMU_OPTION_HUGE_PAGES) {
		ioas = (struct ioas *)obj_find(ucmd->ctx, cmd->object_id, OBJ_IOAS);
		if (!ioas)
			return -ENOENT;
		ret = option_huge_pages(ioas, cmd);
	} else {
		return -EOPNOTSUPP;
	}
	return ret ? ret : ucmd_respond(ucmd);
}
