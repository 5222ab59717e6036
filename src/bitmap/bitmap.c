/* SPDX-License-Identifier: MIT */
/*
 * The dirty bitmap recorder (algorithms.md 6.1, uapi.md 6) and the IOTLB
 * gather (algorithms.md 1).
 *
 * The atomic field (false after idt_bitmap_init(), set it afterwards) is for
 * bitmaps shared between concurrent harvesters: every byte is then updated
 * with a relaxed atomic OR, so bits set by another thread in the same byte
 * are never lost.  Ordering between harvesters and the reader is the
 * caller's business (join, lock, ...), hence relaxed.  The default is
 * non-atomic, as in Linux, because atomics cost up to 2x (algorithms.md 6.1).
 */
#include <errno.h>
#include <string.h>

#include "bitmap_internal.h"

/* Last IOVA of [iova, iova + length), length > 0; an end past 2^64 stops at 2^64 - 1. */
static uint64_t range_last(uint64_t iova, uint64_t length)
{
	/* length - 1 first: a range ending exactly at 2^64 - 1 must not overflow (PT-11a). */
	if (length - 1 > UINT64_MAX - iova)
		return UINT64_MAX;
	return iova + (length - 1);
}

int idt_bitmap_init(struct idt_bitmap *bitmap, uint64_t iova, uint64_t length,
		    uint64_t page_size, void *data)
{
	if (!length || length - 1 > UINT64_MAX - iova)
		return -EINVAL;
	/* BM-14: the ABI layer normalises page_size to its lowest set bit; here it must be exact. */
	if (!page_size || (page_size & (page_size - 1)))
		return -EINVAL;

	bitmap->iova = iova;
	bitmap->last = iova + (length - 1);
	bitmap->shift = (unsigned int)__builtin_ctzll(page_size);
	/*
	 * No clamp is needed: nbits is at most 2^64 - 1 (length 2^64 - 1 at
	 * page_size 1), and idt_bitmap_bytes() rounds up without overflowing.
	 */
	bitmap->nbits = ((length - 1) >> bitmap->shift) + 1;
	bitmap->data = data;
	bitmap->atomic = false;
	bitmap->window = NULL;
	return 0;
}

uint64_t idt_bitmap_bytes(const struct idt_bitmap *bitmap)
{
	/* ceil(nbits / 8) written so that nbits near 2^64 cannot overflow. */
	return bitmap->nbits / 8 + (bitmap->nbits % 8 != 0);
}

static void set_byte_bits(uint8_t *byte, uint8_t mask, bool atomic)
{
	if (atomic)
		__atomic_fetch_or(byte, mask, __ATOMIC_RELAXED);
	else
		*byte |= mask;
}

/*
 * A full byte becomes 0xff whatever else is set concurrently, and nobody
 * clears bits, so in atomic mode a relaxed atomic store of all ones is as
 * good as an atomic OR: aligned 64-bit words at a time, bytes at the ends.
 */
static void set_full_bytes(uint8_t *data, uint64_t count, bool atomic)
{
	uint64_t i = 0;

	if (!atomic) {
		memset(data, 0xff, (size_t)count);
		return;
	}
	for (; i < count && ((uintptr_t)(data + i) & 7); i++)
		__atomic_store_n(data + i, 0xff, __ATOMIC_RELAXED);
	for (; i + 8 <= count; i += 8)
		__atomic_store_n((uint64_t *)(void *)(data + i), UINT64_MAX, __ATOMIC_RELAXED);
	for (; i < count; i++)
		__atomic_store_n(data + i, 0xff, __ATOMIC_RELAXED);
}

void bitmap_bits_set(uint8_t *data, uint64_t first, uint64_t last, bool atomic)
{
	uint64_t first_byte = first / 8;
	uint64_t last_byte = last / 8;
	uint8_t head_mask = (uint8_t)(0xff << (first % 8));
	uint8_t tail_mask = (uint8_t)(0xff >> (7 - last % 8));

	if (first_byte == last_byte) {
		set_byte_bits(data + first_byte, head_mask & tail_mask, atomic);
		return;
	}
	/* Only a partial head or tail byte is read-modify-written; the rest is stored whole. */
	if (head_mask != 0xff) {
		set_byte_bits(data + first_byte, head_mask, atomic);
		first_byte++;
	}
	if (tail_mask != 0xff) {
		set_byte_bits(data + last_byte, tail_mask, atomic);
		last_byte--;
	}
	set_full_bytes(data + first_byte, last_byte + 1 - first_byte, atomic);
}

void idt_bitmap_record(struct idt_bitmap *bitmap, uint64_t iova, uint64_t length)
{
	uint64_t last, first_bit, last_bit;

	if (!length)
		return;
	/* algorithms.md 6.1 steps 1-3: clip to the range at both ends. */
	last = range_last(iova, length);
	if (last < bitmap->iova || iova > bitmap->last)
		return;
	if (iova < bitmap->iova)
		iova = bitmap->iova;
	if (last > bitmap->last)
		last = bitmap->last;
	/* Fixes 8 and 9: a 64-bit shift of the offset, never a multiply by page_size. */
	first_bit = (iova - bitmap->iova) >> bitmap->shift;
	last_bit = (last - bitmap->iova) >> bitmap->shift;

	if (bitmap->window)
		bitmap_window_set(bitmap, first_bit, last_bit);
	else
		bitmap_bits_set(bitmap->data, first_bit, last_bit, bitmap->atomic);
}

bool idt_bitmap_test(const struct idt_bitmap *bitmap, uint64_t n)
{
	const uint8_t *byte;
	uint8_t value;

	if (n >= bitmap->nbits)
		return false;
	byte = bitmap->data + n / 8;
	value = bitmap->atomic ? __atomic_load_n(byte, __ATOMIC_RELAXED) : *byte;
	return (value >> (n % 8)) & 1;
}

void idt_gather_add(struct idt_gather *gather, uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (!length)
		return;
	/* algorithms.md 1: the end is inclusive; an end past 2^64 is clipped as in the recorder. */
	last = range_last(iova, length);
	if (iova < gather->start)
		gather->start = iova;
	if (last > gather->last)
		gather->last = last;
}
