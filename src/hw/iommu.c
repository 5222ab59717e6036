/* SPDX-License-Identifier: MIT */
/*
 * The IOMMU instance (hardware.md 1): capability register, registered guest
 * memory, the device-context table as raw words with the format's gate
 * (formats.md 2.8, 3.5, 4.5, 5.6), the context cache, the invalidation
 * interface (hardware.md 5), walk hooks and counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "hw/hw_internal.h"

/* AMD DTE qword 0 (formats.md 2.3) */
#define AMD_DTE_V (1ull << 0)
#define AMD_DTE_TV (1ull << 1)
#define AMD_DTE_HAD_SHIFT 7
#define AMD_DTE_HAD_MASK (3ull << AMD_DTE_HAD_SHIFT)
#define AMD_HAD_NONE 0ull
#define AMD_HAD_A 1ull
#define AMD_HAD_AD 3ull
#define AMD_DTE_MODE_SHIFT 9
#define AMD_DTE_MODE_MASK (7ull << AMD_DTE_MODE_SHIFT)
#define AMD_DTE_ROOT_MASK 0x000ffffffffff000ull /* 51:12 */
#define AMD_DTE_IR (1ull << 61)
#define AMD_DTE_IW (1ull << 62)

/* VT-d scalable-mode PASID entry qword 0 (formats.md 3.5) */
#define VTD_PE_P (1ull << 0)
#define VTD_PE_AW_SHIFT 2
#define VTD_PE_AW_MASK (7ull << VTD_PE_AW_SHIFT)
#define VTD_PE_PGTT_SHIFT 6
#define VTD_PE_PGTT_MASK (7ull << VTD_PE_PGTT_SHIFT)
#define VTD_PGTT_SECOND_STAGE 2ull
#define VTD_PE_SSADE (1ull << 9)
#define VTD_PE_ROOT_MASK 0xfffffffffffff000ull /* 63:12 */

/* SMMUv3 CD word 0 (formats.md 4.5); TTB0 is in word 1, kept as hw_device.pt */
#define ARM_CD_T0SZ_MASK 0x3full
#define ARM_CD_V (1ull << 31)
#define ARM_CD_AA64 (1ull << 41)
#define ARM_CD_HD (1ull << 42)
#define ARM_CD_HA (1ull << 43)
#define ARM_IDR0_HTTU_MASK (3ull << IDT_ARM_IDR0_HTTU_SHIFT)
#define ARM_HTTU_RESERVED 3ull

/* RISC-V DC.tc (formats.md 5.6); iosatp is kept as hw_device.pt */
#define RISCV_TC_V (1ull << 0)
#define RISCV_TC_GADE (1ull << 7)
#define RISCV_TC_SADE (1ull << 8)

#define HW_DEFAULT_SETS 64
#define HW_DEFAULT_WAYS 8
#define HW_DEFAULT_FAULT_QUEUE 256
#define HW_MAX_SETS (1u << 16)
#define HW_MAX_WAYS 64u
#define HW_MAX_FAULT_QUEUE (1u << 20)

/* ---- capability --------------------------------------------------------- */

static uint64_t hw_arm_httu(uint64_t cap)
{
	return (cap & ARM_IDR0_HTTU_MASK) >> IDT_ARM_IDR0_HTTU_SHIFT;
}

uint64_t idt_iommu_capability(uint32_t format, bool dirty)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return IDT_AMD_EFR_HASUP | (dirty ? IDT_AMD_EFR_HDSUP : 0);
	case IDT_PT_VTDSS:
		return IDT_VTD_ECAP_SMTS | (dirty ? IDT_VTD_ECAP_SSADS : 0);
	case IDT_PT_ARM_S1:
		return dirty ? IDT_ARM_IDR0_HTTU_HAD : IDT_ARM_IDR0_HTTU_HA;
	case IDT_PT_RISCV:
		return dirty ? IDT_RISCV_CAP_AMO_HWAD : 0;
	}
	return 0;
}

bool idt_iommu_dirty_capable(const struct idt_iommu *iommu)
{
	if (!iommu)
		return false;
	switch (iommu->format) {
	case IDT_PT_AMDV1:
		return iommu->cap & IDT_AMD_EFR_HDSUP;
	case IDT_PT_VTDSS: /* scalable mode and second-stage A/D */
		return (iommu->cap & IDT_VTD_ECAP_SMTS) && (iommu->cap & IDT_VTD_ECAP_SSADS);
	case IDT_PT_ARM_S1:
		return hw_arm_httu(iommu->cap) == 2;
	case IDT_PT_RISCV:
		return iommu->cap & IDT_RISCV_CAP_AMO_HWAD;
	}
	return false;
}

/* ---- walk hooks --------------------------------------------------------- */

static uint64_t hw_mix64(uint64_t x)
{
	/* splitmix64's finaliser */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void hw_hook_pre_cas(void *arg, uint64_t *item, unsigned int level)
{
	struct hw_hooks *hooks = arg;

	hooks->user.pre_cas(hooks->user.arg, item, level);
}

/* hardware.md 2.4: the caller's choice, else a seeded uniform draw (a
 * shared counter hashed with the seed: reproducible and thread-safe). */
static uint32_t hw_hook_replica(void *arg, uint32_t items)
{
	struct hw_hooks *hooks = arg;
	uint64_t draw;

	if (hooks->user.replica)
		return hooks->user.replica(hooks->user.arg, items);
	draw = atomic_fetch_add_explicit(&hooks->iommu->replica_draws, 1, memory_order_relaxed);
	return (uint32_t)(hw_mix64(hooks->iommu->seed ^ hw_mix64(draw)) % items);
}

/* Publishes the hooks for user (may be NULL) and the random-replica mode.
 * Called with config_lock held (or before the instance is shared). */
static void hw_publish_hooks(struct idt_iommu *iommu, const struct idt_pt_walk_hooks *user)
{
	bool random = iommu->flags & IDT_IOMMU_RANDOM_REPLICA;
	struct hw_hooks *published = atomic_load(&iommu->hooks);
	/* the buffer no walk can be using: the other one was drained */
	struct hw_hooks *next = published == &iommu->hook_buffers[0] ? &iommu->hook_buffers[1]
								      : &iommu->hook_buffers[0];
	bool any = random || (user && (user->pre_cas || user->replica));

	if (any) {
		memset(next, 0, sizeof(*next));
		if (user)
			next->user = *user;
		next->iommu = iommu;
		next->walk.arg = next;
		next->walk.pre_cas = next->user.pre_cas ? hw_hook_pre_cas : NULL;
		next->walk.replica = (random || next->user.replica) ? hw_hook_replica : NULL;
	}
	atomic_store(&iommu->hooks, any ? next : NULL);
	hw_drain(iommu);
}

void idt_iommu_set_walk_hooks(struct idt_iommu *iommu, const struct idt_pt_walk_hooks *hooks)
{
	if (!iommu)
		return;
	pthread_mutex_lock(&iommu->config_lock);
	hw_publish_hooks(iommu, hooks);
	pthread_mutex_unlock(&iommu->config_lock);
}

/* ---- instance ----------------------------------------------------------- */

static int hw_read_config(const struct idt_iommu_config *config, struct idt_iommu_config *cfg)
{
	if (!config || config->size < offsetof(struct idt_iommu_config, iotlb_sets))
		return -EINVAL;
	/* size-extensible: unknown trailing bytes must be zero */
	for (size_t i = sizeof(*cfg); i < config->size; i++)
		if (((const uint8_t *)config)[i])
			return -E2BIG;
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg, config, config->size < sizeof(*cfg) ? config->size : sizeof(*cfg));
	if (cfg->__reserved || !idt_pt_format_name(cfg->format))
		return -EINVAL;
	if (cfg->flags & ~(uint32_t)(IDT_IOMMU_RANDOM_REPLICA | IDT_IOMMU_FORGET_FLUSH))
		return -EINVAL;
	if (cfg->no_iotlb > 1)
		return -EINVAL;
	if (cfg->format == IDT_PT_ARM_S1 && hw_arm_httu(cfg->cap) == ARM_HTTU_RESERVED)
		return -EINVAL;
	if (!cfg->iotlb_sets)
		cfg->iotlb_sets = HW_DEFAULT_SETS;
	if (!cfg->iotlb_ways)
		cfg->iotlb_ways = HW_DEFAULT_WAYS;
	if (!cfg->fault_queue_len)
		cfg->fault_queue_len = HW_DEFAULT_FAULT_QUEUE;
	if ((cfg->iotlb_sets & (cfg->iotlb_sets - 1)) || cfg->iotlb_sets > HW_MAX_SETS ||
	    cfg->iotlb_ways > HW_MAX_WAYS || cfg->fault_queue_len > HW_MAX_FAULT_QUEUE)
		return -EINVAL;
	return 0;
}

int idt_iommu_create(const struct idt_iommu_config *config, struct idt_iommu **out)
{
	struct idt_iommu_config cfg;
	struct idt_iommu *iommu;
	int ret;

	if (!out)
		return -EINVAL;
	ret = hw_read_config(config, &cfg);
	if (ret)
		return ret;
	iommu = mem_aligned_alloc(_Alignof(struct idt_iommu), sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	memset(iommu, 0, sizeof(*iommu));
	iommu->faults = mem_calloc(cfg.fault_queue_len, sizeof(*iommu->faults));
	if (!iommu->faults) {
		mem_free(iommu);
		return -ENOMEM;
	}
	ret = iotlb_init(&iommu->iotlb, cfg.no_iotlb ? 0 : cfg.iotlb_sets,
			 cfg.no_iotlb ? 0 : cfg.iotlb_ways);
	if (ret) {
		mem_free(iommu->faults);
		mem_free(iommu);
		return ret;
	}
	iommu->format = cfg.format;
	iommu->cap = cfg.cap;
	iommu->flags = cfg.flags;
	iommu->seed = cfg.seed;
	iommu->clean_write_walks = cfg.format == IDT_PT_RISCV;
	iommu->fault_capacity = cfg.fault_queue_len;
	pthread_mutex_init(&iommu->drain_lock, NULL);
	pthread_mutex_init(&iommu->config_lock, NULL);
	pthread_mutex_init(&iommu->fault_lock, NULL);
	hw_publish_hooks(iommu, NULL);
	*out = iommu;
	return 0;
}

int idt_iommu_destroy(struct idt_iommu *iommu)
{
	if (!iommu)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	if (iommu->device_count) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&iommu->config_lock);
	iotlb_fini(&iommu->iotlb);
	mem_free(atomic_load(&iommu->context_cache));
	mem_free(iommu->spare_cache);
	mem_free(atomic_load(&iommu->memory));
	mem_free(iommu->devices);
	mem_free(iommu->faults);
	pthread_mutex_destroy(&iommu->drain_lock);
	pthread_mutex_destroy(&iommu->config_lock);
	pthread_mutex_destroy(&iommu->fault_lock);
	mem_free(iommu);
	return 0;
}

void idt_iommu_get_counters(const struct idt_iommu *iommu, struct idt_iommu_counters *counters)
{
	uint64_t sum[HW_NCOUNTERS] = { 0 };

	if (!counters)
		return;
	memset(counters, 0, sizeof(*counters));
	if (!iommu)
		return;
	for (unsigned int s = 0; s < HW_SLOTS; s++)
		for (unsigned int c = 0; c < HW_NCOUNTERS; c++)
			sum[c] += atomic_load_explicit(&iommu->slots[s].counters[c],
						       memory_order_relaxed);
	counters->hits = sum[HW_HITS];
	counters->misses = sum[HW_MISSES];
	counters->walks = sum[HW_WALKS];
	counters->ad_updates = sum[HW_AD_UPDATES];
	counters->cas_retries = sum[HW_CAS_RETRIES];
	counters->invalidations = sum[HW_INVALIDATIONS];
	counters->faults = sum[HW_FAULTS];
	counters->faults_dropped = sum[HW_FAULTS_DROPPED];
	counters->dma_bytes = sum[HW_DMA_BYTES];
}

/* ---- registered guest memory -------------------------------------------- */

/* Index of the last region whose base is <= addr, or -1. */
static ptrdiff_t hw_region_before(const struct hw_memory_map *map, uint64_t addr)
{
	ptrdiff_t lo = 0, hi = map ? (ptrdiff_t)map->count : 0;

	while (lo < hi) {
		ptrdiff_t mid = lo + (hi - lo) / 2;

		if (map->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

bool hw_memory_contains(struct idt_iommu *iommu, uint64_t oa, uint64_t length)
{
	const struct hw_memory_map *map = atomic_load(&iommu->memory);
	ptrdiff_t i = hw_region_before(map, oa);
	uint64_t last = oa + (length - 1);

	return i >= 0 && last >= oa && last <= map->regions[i].last;
}

/* Publishes map and frees the one it replaces once no transaction uses it. */
static void hw_replace_memory(struct idt_iommu *iommu, struct hw_memory_map *map)
{
	struct hw_memory_map *old = atomic_exchange(&iommu->memory, map);

	hw_drain(iommu);
	mem_free(old);
}

static struct hw_memory_map *hw_memory_alloc(size_t count)
{
	struct hw_memory_map *map =
		mem_malloc(sizeof(*map) + count * sizeof(map->regions[0]));

	if (map)
		map->count = count;
	return map;
}

int idt_iommu_register_memory(struct idt_iommu *iommu, void *base, size_t length)
{
	uint64_t start = (uint64_t)(uintptr_t)base, last = start + (length - 1);
	const struct hw_memory_map *old;
	struct hw_memory_map *map;
	ptrdiff_t before;
	size_t n;

	if (!iommu || !base || !length || last < start)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	old = atomic_load(&iommu->memory);
	n = old ? old->count : 0;
	before = hw_region_before(old, start);
	if ((before >= 0 && old->regions[before].last >= start) ||
	    ((size_t)(before + 1) < n && old->regions[before + 1].base <= last)) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -EEXIST;
	}
	map = hw_memory_alloc(n + 1);
	if (!map) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -ENOMEM;
	}
	for (size_t i = 0, j = 0; j < n + 1; j++)
		map->regions[j] = (ptrdiff_t)j == before + 1
					  ? (struct hw_region){ start, last }
					  : old->regions[i++];
	hw_replace_memory(iommu, map);
	pthread_mutex_unlock(&iommu->config_lock);
	return 0;
}

int idt_iommu_unregister_memory(struct idt_iommu *iommu, void *base, size_t length)
{
	uint64_t start = (uint64_t)(uintptr_t)base, last = start + (length - 1);
	const struct hw_memory_map *old;
	struct hw_memory_map *map;
	ptrdiff_t found;

	if (!iommu || !base || !length || last < start)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	old = atomic_load(&iommu->memory);
	found = hw_region_before(old, start);
	if (found < 0 || old->regions[found].base != start || old->regions[found].last != last) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -ENOENT;
	}
	map = hw_memory_alloc(old->count - 1);
	if (!map) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -ENOMEM;
	}
	for (size_t i = 0, j = 0; i < old->count; i++)
		if ((ptrdiff_t)i != found)
			map->regions[j++] = old->regions[i];
	hw_replace_memory(iommu, map);
	pthread_mutex_unlock(&iommu->config_lock);
	return 0;
}

/* ---- device contexts ---------------------------------------------------- */

static struct hw_device *hw_device_find(struct idt_iommu *iommu, uint32_t device_id)
{
	for (size_t i = 0; i < iommu->device_count; i++)
		if (iommu->devices[i].device_id == device_id)
			return &iommu->devices[i];
	return NULL;
}

/* Context word 0 as attach writes it: valid, root and mode, gate off. */
static uint64_t hw_initial_word0(const struct idt_iommu *iommu, const struct idt_pt_info *info)
{
	switch (iommu->format) {
	case IDT_PT_AMDV1:
		return AMD_DTE_V | AMD_DTE_TV | ((uint64_t)info->levels << AMD_DTE_MODE_SHIFT) |
		       (info->root & AMD_DTE_ROOT_MASK) | AMD_DTE_IR | AMD_DTE_IW;
	case IDT_PT_VTDSS: /* AW = top level - 1 */
		return VTD_PE_P | ((uint64_t)(info->levels - 2) << VTD_PE_AW_SHIFT) |
		       (VTD_PGTT_SECOND_STAGE << VTD_PE_PGTT_SHIFT) | (info->root & VTD_PE_ROOT_MASK);
	case IDT_PT_ARM_S1:
		return (64 - info->iova_width) | ARM_CD_V | ARM_CD_AA64;
	default:
		return RISCV_TC_V;
	}
}

static uint64_t hw_gate_bits(uint32_t format)
{
	switch (format) {
	case IDT_PT_AMDV1:
		return AMD_DTE_HAD_MASK;
	case IDT_PT_VTDSS:
		return VTD_PE_SSADE;
	case IDT_PT_ARM_S1:
		return ARM_CD_HA | ARM_CD_HD;
	default:
		return RISCV_TC_SADE;
	}
}

/*
 * Decodes a device's context word as the hardware would on a context-cache
 * fill.  Misconfigurations (formats.md gate sections) leave it unusable:
 * DMA through it takes a context fault.
 */
static void hw_decode_context(const struct idt_iommu *iommu, const struct hw_device *dev,
			      struct hw_context *ctx)
{
	uint64_t w = dev->word0, cap = iommu->cap;
	bool riscv = iommu->format == IDT_PT_RISCV;
	struct idt_pt_info info;
	bool valid = false, configured = false;

	idt_pt_get_info(dev->pt, &info);
	memset(ctx, 0, sizeof(*ctx));
	ctx->device_id = dev->device_id;
	ctx->domain_tag = dev->domain_tag;
	ctx->pt = dev->pt;
	ctx->word0 = w;
	ctx->prot = IDT_PROT_READ | IDT_PROT_WRITE;
	ctx->top_level = info.levels - 1;
	ctx->txn_lg2 = info.granule_lg2 < 12 ? info.granule_lg2 : 12;

	switch (iommu->format) {
	case IDT_PT_AMDV1: {
		uint64_t had = (w & AMD_DTE_HAD_MASK) >> AMD_DTE_HAD_SHIFT;

		valid = (w & AMD_DTE_V) && (w & AMD_DTE_TV);
		/* HAD 10b is undescribed; HAD needs HASup, 11b also HDSup (2.8) */
		configured = had != 2 && (had == AMD_HAD_NONE || (cap & IDT_AMD_EFR_HASUP)) &&
			     (had != AMD_HAD_AD || (cap & IDT_AMD_EFR_HDSUP));
		ctx->gate.update_a = had == AMD_HAD_A || had == AMD_HAD_AD;
		ctx->gate.update_d = had == AMD_HAD_AD;
		ctx->prot = ((w & AMD_DTE_IR) ? IDT_PROT_READ : 0) |
			    ((w & AMD_DTE_IW) ? IDT_PROT_WRITE : 0);
		break;
	}
	case IDT_PT_VTDSS: {
		bool ssade = w & VTD_PE_SSADE;

		valid = w & VTD_PE_P;
		configured = ((w & VTD_PE_PGTT_MASK) >> VTD_PE_PGTT_SHIFT) == VTD_PGTT_SECOND_STAGE &&
			     ((w & VTD_PE_AW_MASK) >> VTD_PE_AW_SHIFT) == info.levels - 2 &&
			     (!ssade || idt_iommu_dirty_capable(iommu));
		ctx->gate.update_a = ctx->gate.update_d = ssade;
		break;
	}
	case IDT_PT_ARM_S1: {
		uint64_t httu = hw_arm_httu(cap);

		valid = w & ARM_CD_V;
		configured = (w & ARM_CD_AA64) && (w & ARM_CD_T0SZ_MASK) == 64 - info.iova_width &&
			     (!(w & ARM_CD_HA) || httu >= 1) && (!(w & ARM_CD_HD) || httu == 2);
		ctx->gate.update_a = w & ARM_CD_HA;
		ctx->gate.update_d = w & ARM_CD_HD;
		break;
	}
	default: {
		bool ade = w & (RISCV_TC_SADE | RISCV_TC_GADE);

		valid = w & RISCV_TC_V;
		/* GADE/SADE are reserved without AMO_HWAD (5.6) */
		configured = !ade || (cap & IDT_RISCV_CAP_AMO_HWAD);
		ctx->gate.update_a = ctx->gate.update_d = ade;
		break;
	}
	}
	ctx->usable = valid && configured;
	if (riscv && !ctx->usable)
		ctx->fault_cause = valid ? HW_RISCV_CAUSE_DDT_MISCONFIGURED : HW_RISCV_CAUSE_DDT_INVALID;
}

const struct hw_context *hw_context_lookup(struct idt_iommu *iommu, uint32_t device_id)
{
	const struct hw_context_cache *cache = atomic_load(&iommu->context_cache);
	size_t lo = 0, hi = cache ? cache->count : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t id = cache->contexts[mid].device_id;

		if (id == device_id)
			return &cache->contexts[mid];
		if (id < device_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Fills cache with old's entries, device_id's replaced by ctx or removed
 * when ctx is NULL; cache has room for all of them. */
static void hw_cache_fill(struct hw_context_cache *cache, const struct hw_context_cache *old,
			  uint32_t device_id, const struct hw_context *ctx)
{
	size_t n = old ? old->count : 0, j = 0;
	bool placed = !ctx;

	for (size_t i = 0; i < n; i++) {
		const struct hw_context *cur = &old->contexts[i];

		if (!placed && cur->device_id >= device_id) {
			cache->contexts[j++] = *ctx;
			placed = true;
		}
		if (cur->device_id != device_id)
			cache->contexts[j++] = *cur;
	}
	if (!placed)
		cache->contexts[j++] = *ctx;
	cache->count = j;
}

/*
 * A copy of the context cache with device_id's entry replaced by ctx, or
 * removed when ctx is NULL.  Built before anything changes, so that an
 * allocation failure leaves the instance as it was.
 */
static struct hw_context_cache *hw_cache_with(struct idt_iommu *iommu, uint32_t device_id,
					      const struct hw_context *ctx)
{
	const struct hw_context_cache *old = atomic_load(&iommu->context_cache);
	size_t capacity = (old ? old->count : 0) + 1;
	struct hw_context_cache *cache =
		mem_malloc(sizeof(*cache) + capacity * sizeof(cache->contexts[0]));

	if (!cache)
		return NULL;
	cache->capacity = capacity;
	hw_cache_fill(cache, old, device_id, ctx);
	return cache;
}

/*
 * Context invalidation: publish the new cache, drain, then retire the old
 * one.  The larger of it and the spare stays as the spare: the old cache
 * held every device now attached but the one just added, so a detach
 * always finds room there.
 */
static void hw_install_cache(struct idt_iommu *iommu, struct hw_context_cache *cache)
{
	struct hw_context_cache *old = atomic_exchange(&iommu->context_cache, cache);

	hw_drain(iommu);
	if (old && (!iommu->spare_cache || old->capacity > iommu->spare_cache->capacity)) {
		struct hw_context_cache *smaller = iommu->spare_cache;

		iommu->spare_cache = old;
		old = smaller;
	}
	mem_free(old);
}

/*
 * The context as memory now holds it, for a context-cache fill.  AMD grows
 * its top level (formats.md 2.3): root and mode are rewritten from the
 * table first, as the driver's DTE update before the DTE flush.
 */
static void hw_refresh_and_decode(struct idt_iommu *iommu, struct hw_device *dev,
				  struct hw_context *ctx)
{
	if (iommu->format == IDT_PT_AMDV1 && (dev->word0 & AMD_DTE_V)) {
		struct idt_pt_info info;

		idt_pt_get_info(dev->pt, &info);
		dev->word0 = (dev->word0 & ~(AMD_DTE_MODE_MASK | AMD_DTE_ROOT_MASK)) |
			     ((uint64_t)info.levels << AMD_DTE_MODE_SHIFT) |
			     (info.root & AMD_DTE_ROOT_MASK);
	}
	hw_decode_context(iommu, dev, ctx);
}

/* IOTLB invalidation plus drain; FORGET_FLUSH drops only the former. */
enum hw_flush_scope { FLUSH_RANGE, FLUSH_DOMAIN, FLUSH_ALL };

static void hw_flush(struct idt_iommu *iommu, enum hw_flush_scope scope, uint32_t domain_tag,
		     uint64_t start, uint64_t last)
{
	if (!(iommu->flags & IDT_IOMMU_FORGET_FLUSH)) {
		switch (scope) {
		case FLUSH_RANGE:
			iotlb_invalidate_range(&iommu->iotlb, domain_tag, start, last);
			break;
		case FLUSH_DOMAIN:
			iotlb_invalidate_domain(&iommu->iotlb, domain_tag);
			break;
		case FLUSH_ALL:
			iotlb_invalidate_all(&iommu->iotlb);
			break;
		}
		hw_count(hw_my_slot(iommu), HW_INVALIDATIONS, 1);
	}
	hw_drain(iommu);
}

int idt_iommu_attach(struct idt_iommu *iommu, uint32_t device_id, struct idt_pt *pt,
		     uint32_t domain_tag)
{
	struct hw_context_cache *cache;
	struct hw_context ctx;
	struct hw_device dev;
	struct idt_pt_info info;
	int ret = 0;

	if (!iommu || !pt)
		return -EINVAL;
	idt_pt_get_info(pt, &info);
	if (info.format != iommu->format)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	if (hw_device_find(iommu, device_id)) {
		ret = -EEXIST;
		goto out;
	}
	/* one tag, one table: the IOTLB is tagged by domain only */
	for (size_t i = 0; i < iommu->device_count; i++)
		if (iommu->devices[i].domain_tag == domain_tag && iommu->devices[i].pt != pt) {
			ret = -EINVAL;
			goto out;
		}
	if (iommu->device_count == iommu->device_capacity) {
		size_t capacity = iommu->device_capacity ? 2 * iommu->device_capacity : 8;
		struct hw_device *devices =
			mem_realloc(iommu->devices, capacity * sizeof(*devices));

		if (!devices) {
			ret = -ENOMEM;
			goto out;
		}
		iommu->devices = devices;
		iommu->device_capacity = capacity;
	}
	dev = (struct hw_device){ device_id, domain_tag, hw_initial_word0(iommu, &info), pt };
	hw_decode_context(iommu, &dev, &ctx);
	cache = hw_cache_with(iommu, device_id, &ctx);
	if (!cache) {
		ret = -ENOMEM;
		goto out;
	}
	iommu->devices[iommu->device_count++] = dev;
	hw_install_cache(iommu, cache);
out:
	pthread_mutex_unlock(&iommu->config_lock);
	return ret;
}

int idt_iommu_detach(struct idt_iommu *iommu, uint32_t device_id)
{
	struct hw_context_cache *cache;
	struct hw_device *dev;
	uint32_t domain_tag;

	if (!iommu)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	dev = hw_device_find(iommu, device_id);
	if (!dev) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -ENOENT;
	}
	/* A detach cannot fail (DESTROY and close must not): without memory
	 * the spare takes the cache without this device. */
	cache = hw_cache_with(iommu, device_id, NULL);
	if (!cache && iommu->device_count > 1) {
		cache = iommu->spare_cache;
		iommu->spare_cache = NULL;
		hw_cache_fill(cache, atomic_load(&iommu->context_cache), device_id, NULL);
	}
	domain_tag = dev->domain_tag;
	*dev = iommu->devices[--iommu->device_count];
	hw_install_cache(iommu, cache);
	hw_flush(iommu, FLUSH_DOMAIN, domain_tag, 0, 0);
	pthread_mutex_unlock(&iommu->config_lock);
	return 0;
}

/* Rewrites the device's word 0 and invalidates its context. */
static int hw_rewrite_context(struct idt_iommu *iommu, struct hw_device *dev, uint64_t word0)
{
	struct hw_device next = *dev;
	struct hw_context_cache *cache;
	struct hw_context ctx;

	next.word0 = word0;
	hw_refresh_and_decode(iommu, &next, &ctx);
	cache = hw_cache_with(iommu, dev->device_id, &ctx);
	if (!cache)
		return -ENOMEM;
	*dev = next;
	hw_install_cache(iommu, cache);
	return 0;
}

int idt_iommu_set_gate(struct idt_iommu *iommu, uint32_t device_id, bool enable)
{
	struct hw_device *dev;
	uint64_t gate;
	int ret;

	if (!iommu)
		return -EINVAL;
	if (!idt_iommu_dirty_capable(iommu))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&iommu->config_lock);
	dev = hw_device_find(iommu, device_id);
	if (!dev) {
		pthread_mutex_unlock(&iommu->config_lock);
		return -ENOENT;
	}
	/* formats.md 2.8 / 3.5: rewrite the context, invalidate it, invalidate
	 * the domain's IOTLB, wait for completion */
	gate = hw_gate_bits(iommu->format);
	ret = hw_rewrite_context(iommu, dev, enable ? dev->word0 | gate : dev->word0 & ~gate);
	if (!ret)
		hw_flush(iommu, FLUSH_DOMAIN, dev->domain_tag, 0, 0);
	pthread_mutex_unlock(&iommu->config_lock);
	return ret;
}

int idt_iommu_context_read(struct idt_iommu *iommu, uint32_t device_id, uint64_t *word0)
{
	struct hw_device *dev;

	if (!iommu || !word0)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	dev = hw_device_find(iommu, device_id);
	if (dev)
		*word0 = dev->word0;
	pthread_mutex_unlock(&iommu->config_lock);
	return dev ? 0 : -ENOENT;
}

int idt_iommu_context_write(struct idt_iommu *iommu, uint32_t device_id, uint64_t word0)
{
	struct hw_device *dev;

	if (!iommu)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	dev = hw_device_find(iommu, device_id);
	if (dev)
		dev->word0 = word0; /* memory only, until the context is invalidated */
	pthread_mutex_unlock(&iommu->config_lock);
	return dev ? 0 : -ENOENT;
}

int idt_iommu_invalidate_context(struct idt_iommu *iommu, uint32_t device_id)
{
	struct hw_device *dev;
	int ret;

	if (!iommu)
		return -EINVAL;
	pthread_mutex_lock(&iommu->config_lock);
	dev = hw_device_find(iommu, device_id);
	ret = dev ? hw_rewrite_context(iommu, dev, dev->word0) : -ENOENT;
	pthread_mutex_unlock(&iommu->config_lock);
	return ret;
}

/* ---- IOTLB invalidation (hardware.md 5) --------------------------------- */

void idt_iommu_invalidate_range(struct idt_iommu *iommu, uint32_t domain_tag, uint64_t start,
				uint64_t last)
{
	if (iommu && start <= last)
		hw_flush(iommu, FLUSH_RANGE, domain_tag, start, last);
}

void idt_iommu_invalidate_domain(struct idt_iommu *iommu, uint32_t domain_tag)
{
	if (iommu)
		hw_flush(iommu, FLUSH_DOMAIN, domain_tag, 0, 0);
}

void idt_iommu_invalidate_all(struct idt_iommu *iommu)
{
	if (iommu)
		hw_flush(iommu, FLUSH_ALL, 0, 0, 0);
}

void idt_iommu_sync_gather(struct idt_iommu *iommu, uint32_t domain_tag,
			   struct idt_gather *gather)
{
	if (!iommu || !gather)
		return;
	if (!idt_gather_empty(gather))
		idt_iommu_invalidate_range(iommu, domain_tag, gather->start, gather->last);
	idt_gather_init(gather);
}
