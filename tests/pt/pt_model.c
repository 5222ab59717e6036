/* SPDX-License-Identifier: MIT */
/* The reference model of the page-table library (see pt_model.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pt_model.h"

#define BIT64(n) (1ull << (n))

uint64_t pt_model_entry_size(const struct pt_model_entry *e)
{
	return e->last - e->iova + 1;
}

unsigned int pt_model_level(const struct pt_model_entry *e)
{
	return (e->lg2 - 12) / 9;
}

unsigned int pt_model_item_lg2(const struct pt_model_entry *e)
{
	return 12 + 9 * pt_model_level(e);
}

unsigned int pt_model_items(const struct pt_model_entry *e)
{
	return 1u << (e->lg2 - pt_model_item_lg2(e));
}

size_t pt_model_lower(const struct pt_model *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pt_model_entry *pt_model_find(const struct pt_model *m, uint64_t addr)
{
	size_t i = pt_model_lower(m, addr);

	return i < m->n && m->e[i].iova <= addr ? &m->e[i] : NULL;
}

bool pt_model_overlaps(const struct pt_model *m, uint64_t first, uint64_t last)
{
	size_t i = pt_model_lower(m, first);

	return i < m->n && m->e[i].iova <= last;
}

void pt_model_replace(struct pt_model *m, size_t i, size_t j, const struct pt_model_entry *pieces,
		      size_t count)
{
	memmove(&m->e[i + count], &m->e[j], (m->n - j) * sizeof(*m->e));
	if (count)
		memcpy(&m->e[i], pieces, count * sizeof(*pieces));
	m->n = m->n - (j - i) + count;
}

/* formats.md 7.1, written independently of the library: repeatedly the
 * largest allowed size <= the remaining length dividing both iova and oa. */
size_t pt_model_map_pieces(const struct pt_model *m, uint64_t iova, uint64_t oa, uint64_t size,
			   int prot, struct pt_model_entry *out, size_t max)
{
	bool dirty = m->rules.writable_starts_dirty && (prot & IDT_PROT_WRITE);
	size_t count = 0;

	if (m->rules.write_implies_read && (prot & IDT_PROT_WRITE))
		prot |= IDT_PROT_READ;
	while (size) {
		unsigned int lg2 = 64;

		for (int b = 63; b >= 0; b--) {
			uint64_t s = BIT64(b);

			if ((m->sizes & s) && s <= size && !((iova | oa) & (s - 1))) {
				lg2 = (unsigned int)b;
				break;
			}
		}
		if (lg2 == 64 || count == max)
			return SIZE_MAX;
		out[count++] = (struct pt_model_entry){ .iova = iova, .last = iova + (BIT64(lg2) - 1),
							.oa = oa, .lg2 = lg2, .prot = prot,
							.dirty = dirty };
		iova += BIT64(lg2);
		oa += BIT64(lg2);
		size -= BIT64(lg2);
	}
	return count;
}

size_t pt_model_split_pieces(const struct pt_model *m, const struct pt_model_entry *e,
			     struct pt_model_entry *out, size_t max)
{
	unsigned int piece_lg2 = pt_model_items(e) > 1 &&
					 (m->format_sizes & BIT64(pt_model_item_lg2(e)))
					 ? pt_model_item_lg2(e)
					 : pt_model_item_lg2(e) - 9;
	size_t count = (size_t)1 << (e->lg2 - piece_lg2);

	if (count > max)
		return SIZE_MAX;
	for (size_t k = 0; k < count; k++)
		out[k] = (struct pt_model_entry){ .iova = e->iova + (k << piece_lg2),
						  .last = e->iova + (k << piece_lg2) +
							  (BIT64(piece_lg2) - 1),
						  .oa = e->oa + (k << piece_lg2), .lg2 = piece_lg2,
						  .prot = e->prot, .dirty = e->dirty };
	return count;
}

int pt_model_make_dirty_result(const struct pt_model *m, const struct pt_model_entry *e,
			       bool bad_index)
{
	if (!e)
		return -ENOENT;
	if (bad_index || (m->rules.ro_untrackable && !(e->prot & IDT_PROT_WRITE)))
		return -EINVAL; /* formats.md 4.4 (DBM = 0), 5.4 (W = 0) */
	return 0;
}

int pt_model_unmap_predict(const struct pt_model *m, uint64_t first, uint64_t last, size_t *from,
			   size_t *to, uint64_t *bytes)
{
	const struct pt_model_entry *lo = pt_model_find(m, first), *hi = pt_model_find(m, last);
	size_t j = pt_model_lower(m, first);

	/* formats.md 7.2: a leaf straddling either end, nothing changes */
	if ((lo && lo->iova < first) || (hi && hi->last > last))
		return -EINVAL;
	*from = j;
	*bytes = 0;
	while (j < m->n && m->e[j].last <= last)
		*bytes += pt_model_entry_size(&m->e[j++]);
	*to = j;
	return 0;
}

/* Sets bits first..last of a bitmap, a byte at a time in the middle. */
static void set_bits(uint8_t *map, uint64_t first, uint64_t last)
{
	while (first <= last && (first & 7)) {
		map[first / 8] |= (uint8_t)(1u << (first & 7));
		first++;
	}
	if (first + 7 <= last) {
		uint64_t bytes = (last + 1 - first) / 8;

		memset(&map[first / 8], 0xff, bytes);
		first += bytes * 8;
	}
	while (first <= last) {
		map[first / 8] |= (uint8_t)(1u << (first & 7));
		first++;
	}
}

/* Records [start, end) as the library would: the bitmap clips to the range,
 * the gather does not (but stops at 2^64 - 1). */
static void expect_record(struct pt_model_rcd *x, uint8_t *exp, uint64_t start,
			  unsigned __int128 end)
{
	uint64_t last = end > (unsigned __int128)UINT64_MAX ? UINT64_MAX : (uint64_t)(end - 1);
	uint64_t clip = last < x->last ? last : x->last;

	set_bits(exp, (start - x->first) >> x->shift, (clip - x->first) >> x->shift);
	if (!x->any || start < x->g_start)
		x->g_start = start;
	if (!x->any || last > x->g_last)
		x->g_last = last;
	x->any = true;
}

void pt_model_rcd_predict(const struct pt_model *m, struct pt_model_rcd *x, uint8_t *exp)
{
	uint64_t cursor = x->first;
	size_t i = pt_model_lower(m, x->first), done;

	x->expect = 0;
	x->hole = x->beyond_top = x->any = false;
	/* Every entry meeting the range, in address order; on ARM the walk
	 * stops with -EINVAL at the first hole (PT-12). */
	for (done = i; done < m->n && m->e[done].iova <= x->last; done++) {
		const struct pt_model_entry *e = &m->e[done];
		uint64_t start = e->iova > x->first ? e->iova : x->first;
		uint64_t stop = e->last < x->last ? e->last : x->last;

		if (m->rules.holes_are_errors && e->iova > cursor) {
			x->hole = true;
			break;
		}
		cursor = e->last + 1;
		if (!e->dirty)
			continue;
		if (x->algo == IDT_RCD_GENERIC_PT) {
			/* algorithms.md 3: from the cursor, the items from its index
			 * to the run's end (clamped to the walk's end) */
			unsigned int ilg2 = pt_model_item_lg2(e);
			unsigned __int128 items = (stop >> ilg2) - (start >> ilg2) + 1;

			expect_record(x, exp, start, (unsigned __int128)start + (items << ilg2));
		} else {
			/* iodirty: exactly the intersection; legacy: the whole
			 * entry (callers give it ranges that start and end on entries) */
			expect_record(x, exp, start, (unsigned __int128)stop + 1);
		}
	}
	if (m->rules.holes_are_errors && !x->hole && (done == i || m->e[done - 1].last < x->last))
		x->hole = true;
	if (x->hole)
		x->expect = -EINVAL;
	/* A range above what the grown table decodes now lies outside the
	 * table's IOVA limits: -EINVAL, nothing reported (algorithms.md 3
	 * step 1, as Linux's dynamic-top range check).  Entries exist only
	 * below the top, so this happens only while nothing is mapped there. */
	if (m->rules.dynamic_top && x->decoded_width < 64 && x->last >> x->decoded_width) {
		x->expect = -EINVAL;
		x->beyond_top = true;
	}
	x->from = i;
	x->to = done;
}

bool pt_model_rcd_gathers(const struct pt_model_rcd *x)
{
	/* iodirty and generic_pt gather only what they clear; legacy gathers
	 * every record (algorithms.md 2 step 4, 3 step 3) */
	return x->any && (x->clear || x->algo == IDT_RCD_LEGACY);
}

unsigned int pt_model_top_needed(uint64_t last)
{
	unsigned int top = 2;

	while (top < 5 && last >> (12 + 9 * (top + 1)))
		top++;
	return top;
}

/* The old roots of a dynamic top stay as entry 0 of each new root. */
uint64_t pt_model_expected_tables(const struct pt_model *m, unsigned int top)
{
	uint64_t tables = 1;

	for (unsigned int level = 0; level < top; level++) {
		unsigned int shift = 12 + 9 * (level + 1);
		bool any = false, have_zero = false;
		uint64_t prev = 0;

		for (size_t i = 0; i < m->n; i++) {
			uint64_t region;

			if (pt_model_level(&m->e[i]) > level)
				continue;
			region = m->e[i].iova >> shift;
			if (!any || region != prev)
				tables++;
			any = true;
			prev = region;
			have_zero |= region == 0;
		}
		if (m->rules.dynamic_top && level >= 2 && !have_zero)
			tables++;
	}
	return tables;
}

bool pt_model_check_entry_at(const struct idt_pt *pt, const struct pt_model_entry *e,
			     uint64_t addr, char *msg, size_t len)
{
	struct idt_pt_leaf leaf;
	uint64_t oa = 0;
	int ret = idt_pt_lookup(pt, addr, &leaf);

	if (ret) {
		snprintf(msg, len, "lookup(0x%" PRIx64 ") = %d, expected the entry 0x%" PRIx64
			 " size 2^%u", addr, ret, e->iova, e->lg2);
		return false;
	}
	if (leaf.iova != e->iova || leaf.size_lg2 != e->lg2) {
		snprintf(msg, len, "lookup(0x%" PRIx64 ") gives entry 0x%" PRIx64 " size 2^%u, "
			 "expected 0x%" PRIx64 " size 2^%u (formats.md 7.1)", addr, leaf.iova,
			 leaf.size_lg2, e->iova, e->lg2);
		return false;
	}
	if (leaf.oa != e->oa) {
		snprintf(msg, len, "entry 0x%" PRIx64 ": oa 0x%" PRIx64 ", expected 0x%" PRIx64,
			 e->iova, leaf.oa, e->oa);
		return false;
	}
	if (leaf.prot != e->prot) {
		snprintf(msg, len, "entry 0x%" PRIx64 ": prot %d, expected %d", e->iova, leaf.prot,
			 e->prot);
		return false;
	}
	if (leaf.dirty != e->dirty) {
		snprintf(msg, len, "entry 0x%" PRIx64 " (size 2^%u): dirty %d, expected %d", e->iova,
			 e->lg2, leaf.dirty, e->dirty);
		return false;
	}
	if (leaf.level != pt_model_level(e) || leaf.items != pt_model_items(e)) {
		snprintf(msg, len, "entry 0x%" PRIx64 " size 2^%u: level %u items %u, expected "
			 "level %u items %u", e->iova, e->lg2, leaf.level, leaf.items,
			 pt_model_level(e), pt_model_items(e));
		return false;
	}
	ret = idt_pt_iova_to_phys(pt, addr, &oa);
	if (ret || oa != e->oa + (addr - e->iova)) {
		snprintf(msg, len, "iova_to_phys(0x%" PRIx64 ") = %d, 0x%" PRIx64 ", expected 0x%"
			 PRIx64, addr, ret, oa, e->oa + (addr - e->iova));
		return false;
	}
	return true;
}

bool pt_model_check_unmapped(const struct idt_pt *pt, uint64_t addr, char *msg, size_t len)
{
	struct idt_pt_leaf leaf;
	uint64_t oa;
	int ret = idt_pt_lookup(pt, addr, &leaf);

	if (ret != -ENOENT) {
		snprintf(msg, len, "lookup(0x%" PRIx64 ") = %d (entry 0x%" PRIx64 " size 2^%u), "
			 "expected -ENOENT", addr, ret, ret ? 0 : leaf.iova, ret ? 0 : leaf.size_lg2);
		return false;
	}
	ret = idt_pt_iova_to_phys(pt, addr, &oa);
	if (ret != -ENOENT) {
		snprintf(msg, len, "iova_to_phys(0x%" PRIx64 ") = %d, expected -ENOENT", addr, ret);
		return false;
	}
	return true;
}

bool pt_model_check_addr(const struct pt_model *m, const struct idt_pt *pt, uint64_t addr,
			 char *msg, size_t len)
{
	const struct pt_model_entry *e = pt_model_find(m, addr);

	return e ? pt_model_check_entry_at(pt, e, addr, msg, len)
		 : pt_model_check_unmapped(pt, addr, msg, len);
}
