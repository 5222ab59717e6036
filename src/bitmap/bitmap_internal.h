/* SPDX-License-Identifier: MIT */
/*
 * Shared between the direct recorder (bitmap.c) and the windowed walk
 * (window.c); not part of the public API.
 */
#ifndef IODIRTY_BITMAP_INTERNAL_H
#define IODIRTY_BITMAP_INTERNAL_H

#include "iodirty/bitmap.h"

/*
 * Sets bits first..last (inclusive) of the byte array at data: partial bytes
 * are read-modify-written, full bytes are stored whole (algorithms.md 6.1
 * step 4).  atomic selects byte-wise atomic ORs for shared bitmaps.
 */
void bitmap_bits_set(uint8_t *data, uint64_t first, uint64_t last, bool atomic);

/*
 * Sets bitmap bits first..last, already clipped to the bitmap, through the
 * window of the walk that is running on it (algorithms.md 6.2 step 5).
 */
void bitmap_window_set(struct idt_bitmap *bitmap, uint64_t first, uint64_t last);

#endif
