#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_bitmap.c (its input encoding is described
at the top of that file): the scenarios of test-cases.md BM-01..BM-08 and the
edge cases of idt_bitmap_init().  Run from anywhere; rewrites corpus/."""
import pathlib
import struct

WINDOWED, ATOMIC, VERBATIM = 1, 2, 4
RELATIVE, BELOW, PAGES, NEXT_WINDOW = 1, 2, 4, 8
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


def header(flags=0, shift=12, offset=0, pages_per_window=1, fill=0, iova=0, length=1,
           page_size=0):
    """length is the real length; fitted mode stores length - 1."""
    stored = length if flags & VERBATIM else length - 1
    return struct.pack('<BBHBBHQQQ', flags, shift, offset, pages_per_window, fill, 0,
                       iova, stored, page_size)


def record(a, b, how=0):
    return struct.pack('<BQQ', how, a, b)


SEEDS = {
    # BM-01: bitmap at +0x800, records at the first, middle and last page
    'bm01-unaligned-data': header(offset=0x800, length=64 * MiB) +
        record(0, 4 * KiB) + record(32 * MiB, 4 * KiB) + record(64 * MiB - 4 * KiB, 4 * KiB),
    'bm01-unaligned-data-windowed': header(WINDOWED, offset=0x800, length=64 * MiB) +
        record(0, 4 * KiB, RELATIVE) + record(32 * MiB, 4 * KiB) +
        record(64 * MiB - 4 * KiB, 4 * KiB),
    # BM-02: one 2 MiB record across the first bitmap page boundary
    'bm02-record-across-pages': header(WINDOWED, pages_per_window=8, length=512 * MiB) +
        record(32512 * 4 * KiB, 2 * MiB),
    # BM-03a: a 1 GiB record from bit 32,000, one page per window
    'bm03-huge-record-set-ahead': header(WINDOWED, length=512 * MiB) +
        record(32000, 1 * GiB, RELATIVE | PAGES),
    # BM-05/BM-07: a 2 MiB leaf across the window boundary, data at +0x810
    'bm05-leaf-across-window': header(WINDOWED, offset=0x810, length=256 * MiB) +
        record(62 * MiB, 2 * MiB),
    'bm07-set-ahead-to-the-end': header(WINDOWED, offset=0x810, length=64 * MiB) +
        record(62 * MiB, 2 * MiB),
    # BM-06: data at +0x40, last page dirty
    'bm06-page-offset': header(WINDOWED, pages_per_window=4, offset=0x40, iova=1 * MiB,
                               length=511 * MiB) + record(511 * MiB, 4 * KiB, RELATIVE),
    # BM-08: page sizes 2^40 and 2^62, a record 5 bytes into a page
    'bm08-page-2-40': header(shift=40, length=8 << 40) + record((3 << 40) + 5, 1),
    'bm08-page-2-62': header(shift=62, length=1 << 63) + record((1 << 62) + 5, 1),
    # page size 2^63 at the top of the address space: two bits, a record to 2^64
    'page-2-63-top': header(shift=63, iova=1 << 63, length=1 << 63) +
        record(0, (1 << 64) - 1, RELATIVE | BELOW | (15 << 4)) + record(5, 1 << 62, RELATIVE),
    # BM-04: 9 bits of 2 KiB at +0xff1, first and last page, atomic
    'bm04-odd-offset-atomic': header(ATOMIC, shift=11, offset=0xff1, length=18 * KiB) +
        record(0, 2 * KiB, RELATIVE) + record(8, 2 * KiB, RELATIVE | PAGES),
    # records before, across and after the range; bits already set (fill)
    'clip-both-ends-filled': header(ATOMIC, offset=3, fill=0x81, iova=1 * GiB,
                                    length=100 * MiB) +
        record(4 * KiB, 8 * KiB, RELATIVE | BELOW) + record(100 * MiB - 4 * KiB, 1 * MiB,
                                                          RELATIVE) +
        record(0, 1 * GiB) + record(2 * GiB, 4 * KiB) + record(7, 0, RELATIVE),
    # several windows of records, each ended with NEXT_WINDOW
    'windows-in-sequence': header(WINDOWED | ATOMIC, pages_per_window=2, offset=0x123,
                                  length=512 * MiB) +
        record(1, 3, RELATIVE | PAGES | NEXT_WINDOW) + record(0, 1 << 28,
                                                              RELATIVE | NEXT_WINDOW) +
        record(0, 5, RELATIVE | PAGES) + record(1, 4 * KiB, RELATIVE | BELOW),
    'windows-zero-pages-refused': header(WINDOWED, pages_per_window=0, length=4 * MiB) +
        record(0, 4 * KiB, RELATIVE),
    # idt_bitmap_init: invalid geometries and one too large to allocate
    'init-page-size-zero': header(VERBATIM, length=4 * KiB, page_size=0),
    'init-page-size-not-power-of-two': header(VERBATIM, length=4 * KiB, page_size=3 * KiB),
    'init-length-zero': header(VERBATIM, length=0, page_size=4 * KiB),
    'init-wraps': header(VERBATIM, iova=(1 << 64) - 4 * KiB, length=8 * KiB, page_size=4 * KiB),
    'init-whole-space-page-1': header(VERBATIM, length=(1 << 64) - 1, page_size=1),
}


def main():
    corpus = pathlib.Path(__file__).resolve().parent / 'corpus'
    corpus.mkdir(exist_ok=True)
    for old in corpus.iterdir():
        old.unlink()
    for name, data in SEEDS.items():
        (corpus / name).write_bytes(data)


if __name__ == '__main__':
    main()
