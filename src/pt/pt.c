/* SPDX-License-Identifier: MIT */
/*
 * Public entry points of the page-table library: argument checks that are
 * the same for every format, then dispatch to the format's walker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "pt/pt_internal.h"

static const struct pt_format_ops *pt_ops_of(uint32_t format)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return &pt_amdv1_ops;
	case IDT_PT_VTDSS:
		return &pt_vtdss_ops;
	case IDT_PT_ARM_S1:
		return &pt_arm_s1_ops;
	case IDT_PT_RISCV:
		return &pt_riscv_ops;
	}
	return NULL;
}

const char *idt_pt_format_name(enum idt_pt_format format)
{
	const struct pt_format_ops *ops = pt_ops_of(format);

	return ops ? ops->name : NULL;
}

uint64_t *pt_table_alloc(struct idt_pt *pt, unsigned int index_bits)
{
	size_t bytes = sizeof(uint64_t) << index_bits;
	size_t align = bytes < 4096 ? 4096 : bytes;
	uint64_t *table = mem_aligned_alloc(align, align);

	if (!table)
		return NULL;
	memset(table, 0, align);
	atomic_fetch_add(&pt->tables, 1);
	return table;
}

void pt_table_free(struct idt_pt *pt, uint64_t *table)
{
	atomic_fetch_sub(&pt->tables, 1);
	mem_free(table);
}

/* Every leaf size the table can hold at any level it may grow to. */
static uint64_t pt_all_sizes(const struct idt_pt *pt)
{
	uint64_t sizes = 0;

	for (unsigned int level = 0; level <= pt->max_top_level; level++)
		sizes |= pt->ops->level_sizes(pt, level);
	return sizes;
}

int idt_pt_create(const struct idt_pt_config *config, struct idt_pt **out)
{
	struct idt_pt_config cfg = { 0 };
	const struct pt_format_ops *ops;
	struct idt_pt *pt;
	unsigned int top_level;
	uint64_t *root;
	int ret;

	if (!config || !out || config->size < offsetof(struct idt_pt_config, page_sizes))
		return -EINVAL;
	/* size-extensible: unknown trailing bytes must be zero */
	for (size_t i = sizeof(cfg); i < config->size; i++)
		if (((const uint8_t *)config)[i])
			return -E2BIG;
	memcpy(&cfg, config, config->size < sizeof(cfg) ? config->size : sizeof(cfg));
	if (cfg.__reserved)
		return -EINVAL;
	ops = pt_ops_of(cfg.format);
	if (!ops)
		return -EINVAL;

	pt = mem_calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	pt->ops = ops;
	pt->format = cfg.format;
	pt->flags = cfg.flags;
	ret = ops->configure(pt, &cfg);
	if (ret)
		goto fail;
	pt->page_sizes = pt_all_sizes(pt);
	if (cfg.page_sizes)
		pt->page_sizes &= cfg.page_sizes;
	ret = -EINVAL;
	if (!pt->page_sizes)
		goto fail;

	top_level = ops->initial_top_level(pt);
	pt->base_top_level = top_level;
	root = pt_table_alloc(pt, pt_index_bits(pt, top_level, top_level));
	ret = -ENOMEM;
	if (!root)
		goto fail;
	atomic_store(&pt->top, (uint64_t)(uintptr_t)root | top_level);
	pthread_mutex_init(&pt->structure_lock, NULL);
	*out = pt;
	return 0;
fail:
	mem_free(pt);
	return ret;
}

void idt_pt_destroy(struct idt_pt *pt)
{
	if (!pt)
		return;
	pt->ops->destroy(pt);
	pthread_mutex_destroy(&pt->structure_lock);
	mem_free(pt);
}

void idt_pt_get_info(const struct idt_pt *pt, struct idt_pt_info *info)
{
	uint64_t top = atomic_load(&((struct idt_pt *)pt)->top);

	memset(info, 0, sizeof(*info));
	info->format = pt->format;
	info->levels = pt_top_level(top) + 1;
	info->iova_width = pt_width_at(pt, pt_top_level(top));
	info->max_iova_width = pt->max_iova_width;
	info->oa_width = pt->oa_width;
	info->granule_lg2 = pt->granule_lg2;
	info->page_sizes = pt->page_sizes;
	info->root = (uint64_t)(uintptr_t)pt_top_table(top);
	info->tables = atomic_load(&((struct idt_pt *)pt)->tables);
}

static uint64_t pt_max_last_iova(const struct idt_pt *pt)
{
	return pt->max_iova_width >= 64 ? UINT64_MAX : (1ull << pt->max_iova_width) - 1;
}

/* Checks [iova, iova + size) is non-empty, does not wrap, fits the width and
 * is aligned to the smallest allowed page. */
static int pt_check_range(const struct idt_pt *pt, uint64_t iova, uint64_t size)
{
	uint64_t min_page = pt->page_sizes & -pt->page_sizes;

	if (!size || iova + (size - 1) < iova)
		return -EINVAL;
	if (iova + (size - 1) > pt_max_last_iova(pt))
		return -EINVAL;
	if ((iova | size) & (min_page - 1))
		return -EINVAL;
	return 0;
}

int idt_pt_map(struct idt_pt *pt, uint64_t iova, uint64_t oa, uint64_t size, int prot)
{
	uint64_t min_page;
	int ret;

	if (!pt)
		return -EINVAL;
	ret = pt_check_range(pt, iova, size);
	if (ret)
		return ret;
	min_page = pt->page_sizes & -pt->page_sizes;
	if (!prot || (prot & ~(IDT_PROT_READ | IDT_PROT_WRITE)) || (oa & (min_page - 1)))
		return -EINVAL;
	if (oa + (size - 1) < oa ||
	    (pt->oa_width < 64 && (oa + (size - 1)) >> pt->oa_width))
		return -EINVAL;
	pthread_mutex_lock(&pt->structure_lock);
	ret = pt->ops->map(pt, iova, oa, size, prot);
	pthread_mutex_unlock(&pt->structure_lock);
	return ret;
}

int idt_pt_unmap_deferred(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t *unmapped,
			  struct idt_pt_free_list *list)
{
	int ret;

	if (!pt)
		return -EINVAL;
	ret = pt_check_range(pt, iova, size);
	if (ret)
		return ret;
	pthread_mutex_lock(&pt->structure_lock);
	ret = pt->ops->unmap(pt, iova, iova + (size - 1), unmapped, list);
	pthread_mutex_unlock(&pt->structure_lock);
	return ret;
}

int idt_pt_unmap(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
	return idt_pt_unmap_deferred(pt, iova, size, unmapped, NULL);
}

void idt_pt_free_list_release(struct idt_pt *pt, struct idt_pt_free_list *list)
{
	if (!pt || !list)
		return;
	for (uint32_t i = 0; i < list->count; i++)
		pt_table_free(pt, list->tables[i]);
	mem_free(list->tables);
	memset(list, 0, sizeof(*list));
}

int idt_pt_hw_walk(struct idt_pt *pt, uint64_t iova, enum idt_access access,
		   const struct idt_pt_gate *gate, const struct idt_pt_walk_hooks *hooks,
		   struct idt_pt_walk_result *result)
{
	if (!pt || !gate || !result || (access != IDT_ACCESS_READ && access != IDT_ACCESS_WRITE))
		return -EINVAL;
	return pt->ops->hw_walk(pt, iova, access, gate, hooks, result);
}

static int pt_check_iova(const struct idt_pt *pt, uint64_t iova)
{
	return iova > pt_max_last_iova(pt) ? -EINVAL : 0;
}

int idt_pt_split(struct idt_pt *pt, uint64_t iova)
{
	int ret;

	if (!pt || pt_check_iova(pt, iova))
		return -EINVAL;
	pthread_mutex_lock(&pt->structure_lock);
	ret = pt->ops->split(pt, iova);
	pthread_mutex_unlock(&pt->structure_lock);
	return ret;
}

int idt_pt_lookup(const struct idt_pt *pt, uint64_t iova, struct idt_pt_leaf *leaf)
{
	if (!pt || !leaf || pt_check_iova(pt, iova))
		return -EINVAL;
	return pt->ops->lookup(pt, iova, leaf);
}

int idt_pt_iova_to_phys(const struct idt_pt *pt, uint64_t iova, uint64_t *oa)
{
	struct idt_pt_leaf leaf;
	int ret;

	if (!oa)
		return -EINVAL;
	ret = idt_pt_lookup(pt, iova, &leaf);
	if (ret)
		return ret;
	*oa = leaf.oa + (iova - leaf.iova);
	return 0;
}

int idt_pt_read_and_clear_dirty(struct idt_pt *pt, uint64_t iova, uint64_t size,
				unsigned int flags, struct idt_dirty_record *record,
				enum idt_rcd_algo algo)
{
	if (!pt || !record || (flags & ~IDT_DIRTY_NO_CLEAR))
		return -EINVAL;
	if (algo != IDT_RCD_IODIRTY && algo != IDT_RCD_GENERIC_PT && algo != IDT_RCD_LEGACY)
		return -EINVAL;
	if (!size || iova + (size - 1) < iova || iova + (size - 1) > pt_max_last_iova(pt))
		return -EINVAL;
	return pt->ops->read_and_clear_dirty(pt, iova, iova + (size - 1), flags, record, algo);
}

int idt_pt_read_and_clear_dirty_threads(struct idt_pt *pt, uint64_t iova, uint64_t size,
					unsigned int flags, struct idt_dirty_record *record,
					unsigned int threads)
{
	if (!pt || !record || (flags & ~IDT_DIRTY_NO_CLEAR))
		return -EINVAL;
	if (!size || iova + (size - 1) < iova || iova + (size - 1) > pt_max_last_iova(pt))
		return -EINVAL;
	return pt->ops->read_and_clear_dirty_threads(pt, iova, iova + (size - 1), flags, record,
						      threads);
}

int idt_pt_make_dirty_range(struct idt_pt *pt, uint64_t iova, uint64_t size, uint64_t stride,
			    uint64_t *marked)
{
	if (!pt || !size || iova + (size - 1) < iova || iova + (size - 1) > pt_max_last_iova(pt))
		return -EINVAL;
	return pt->ops->make_dirty_range(pt, iova, iova + (size - 1), stride, marked);
}

int idt_pt_for_each_leaf_table(const struct idt_pt *pt, uint64_t iova, uint64_t size,
			       void (*fn)(void *arg, const uint64_t *items, uint32_t count),
			       void *arg)
{
	if (!pt || !fn || !size || iova + (size - 1) < iova ||
	    iova + (size - 1) > pt_max_last_iova(pt))
		return -EINVAL;
	return pt->ops->for_each_leaf_table(pt, iova, iova + (size - 1), fn, arg);
}

int idt_pt_is_dirty(const struct idt_pt *pt, uint64_t iova, bool *dirty)
{
	struct idt_pt_leaf leaf;
	int ret;

	if (!dirty)
		return -EINVAL;
	ret = idt_pt_lookup(pt, iova, &leaf);
	if (ret)
		return ret;
	*dirty = leaf.dirty;
	return 0;
}

int idt_pt_make_clean(struct idt_pt *pt, uint64_t iova)
{
	if (!pt || pt_check_iova(pt, iova))
		return -EINVAL;
	return pt->ops->make_clean(pt, iova);
}

int idt_pt_make_dirty(struct idt_pt *pt, uint64_t iova)
{
	if (!pt || pt_check_iova(pt, iova))
		return -EINVAL;
	return pt->ops->make_dirty_item(pt, iova, UINT32_MAX);
}

int idt_pt_make_dirty_item(struct idt_pt *pt, uint64_t iova, uint32_t item_index)
{
	if (!pt || pt_check_iova(pt, iova) || item_index == UINT32_MAX)
		return -EINVAL;
	return pt->ops->make_dirty_item(pt, iova, item_index);
}
