#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_pt.c (its input encoding is described at the
top of that file): for each configuration one program that maps 4 KiB, 32 and
64 KiB, 2 MiB and 1 GiB pages, dirties them, harvests with every algorithm,
splits, marks ranges and unmaps.  Run from anywhere; rewrites corpus/."""
import pathlib
import struct

CONFIGS = ['amdv1-48', 'amdv1-39', 'amdv1-64-dynamic-top', 'vtdss-48', 'vtdss-57-snoop',
           'arm-48', 'arm-39', 'riscv-sv48-napot', 'riscv-sv39', 'riscv-sv57-napot',
           'riscv-sv39x4-gstage']
(MAP, UNMAP, UNMAP_DEFERRED, SPLIT, MAKE_DIRTY, MAKE_DIRTY_ITEM, MAKE_CLEAN, RCD, RCD_THREADS,
 MAKE_DIRTY_RANGE, TRANSLATE) = range(11)
IODIRTY, GENERIC_PT, LEGACY = range(3)
NO_CLEAR, NO_BITMAP, NO_GATHER = 1, 2, 4
R, W = 1, 2


def header(config, window=0, simd=0, restrict=0, base_raw=0, sizes_mask=0):
    return struct.pack('<BBBBQQ', CONFIGS.index(config), window, simd, restrict, base_raw,
                       sizes_mask)


def entry(index, page=0):
    """An address: a page of live entry index."""
    return struct.pack('<BHI', 0, index, page)


def window_page(page):
    return struct.pack('<BHI', 1, 0, page)


def map_(align_lg2, slot, count, size_lg2, prot, oa_congruent=True, oa_field=1):
    return struct.pack('<BBIBBBH', MAP, align_lg2 - 12, slot, ((count - 1) << 5) | (size_lg2 - 12),
                       prot, 0 if oa_congruent else 1, oa_field)


def rcd(algo=IODIRTY, flags=0, whole_window=True, shift=0, threads=False, entries=None):
    op = RCD_THREADS if threads else RCD
    if whole_window and algo != LEGACY:
        return struct.pack('<BBBBB', op, algo, flags, 2, shift)
    i, j = entries or (0, 31)
    return struct.pack('<BBBBB', op, algo, flags, 0, shift) + struct.pack('<IIHB', 0, 0, i, j)


def program(config):
    """Addresses are window pages: 2 MiB pages at 0x200, 32 KiB at 0x8000,
    64 KiB at 0x30000, 1 GiB at 0xc0000, 4 KiB pages at 0x10."""
    p = b''
    p += map_(21, 1, 2, 21, R | W)                      # 4 MiB in 2 MiB pages at 2 MiB
    p += map_(12, 0x30000, 1, 16, R | W)                # 64 KiB at 768 MiB (NAPOT on RISC-V)
    p += map_(15, 0x1000, 1, 15, R | W)                 # 32 KiB at 128 MiB (AMD replicas)
    p += map_(30, 3, 1, 30, R)                          # read-only 1 GiB at 3 GiB
    p += map_(12, 0x10, 3, 12, W, oa_congruent=False)   # 12 KiB write-only, any oa
    p += map_(21, 1, 1, 21, R | W)                      # overlaps: -EEXIST
    p += struct.pack('<B', MAKE_DIRTY) + window_page(0x205)
    p += struct.pack('<B', MAKE_DIRTY_ITEM) + window_page(0x8003) + b'\x03'
    p += struct.pack('<B', MAKE_DIRTY_ITEM) + window_page(0x30005) + b'\x07'
    p += struct.pack('<B', MAKE_DIRTY_ITEM) + window_page(0x400) + b'\xf0'
    p += struct.pack('<B', MAKE_DIRTY) + window_page(0xc0001)  # the read-only page
    p += rcd(IODIRTY, NO_CLEAR)
    p += rcd(GENERIC_PT, entries=(0, 8))
    p += struct.pack('<B', MAKE_DIRTY_RANGE) + window_page(0) + struct.pack('<HBI', 0, 21, 0x3000)
    p += rcd(LEGACY, entries=(0, 31))
    p += struct.pack('<B', SPLIT) + window_page(0x201)     # 2 MiB -> 4 KiB
    p += struct.pack('<B', SPLIT) + window_page(0xc0000)   # 1 GiB -> 2 MiB
    p += struct.pack('<B', SPLIT) + window_page(0x8000)    # 32 KiB
    p += struct.pack('<B', SPLIT) + window_page(0x30000)   # 64 KiB
    p += struct.pack('<B', SPLIT) + window_page(0x11)      # 4 KiB: -EINVAL
    p += struct.pack('<B', MAKE_DIRTY_RANGE) + window_page(0) + struct.pack('<HBI', 0, 21, 0)
    p += rcd(IODIRTY, threads=True, shift=3)
    p += rcd(GENERIC_PT, NO_GATHER | NO_BITMAP)
    p += struct.pack('<B', MAKE_CLEAN) + window_page(0x400)
    p += struct.pack('<B', TRANSLATE) + window_page(0x30007) + struct.pack('<H', 0x123)
    p += struct.pack('<BB', UNMAP, 0) + struct.pack('<HBH', 1, 2, 0)       # entries 1..3
    p += struct.pack('<BB', UNMAP, 1) + window_page(0x401) + struct.pack('<H', 0)  # cuts a leaf
    p += struct.pack('<BB', UNMAP_DEFERRED, 0) + struct.pack('<HBH', 0, 15, 0)
    return p


SEEDS = {name: header(name) + program(name) for name in CONFIGS}
# the top of the IOVA space, another scan, restricted sizes, the dynamic top grown
SEEDS['amdv1-48-top-of-space-scalar'] = header('amdv1-48', window=1, simd=1) + program('amdv1-48')
SEEDS['vtdss-48-random-base-avx2'] = header('vtdss-48', window=2, simd=2,
                                            base_raw=0x0000_1234_5678_9abc) + program('vtdss-48')
SEEDS['amdv1-48-sizes-4k-2m'] = header('amdv1-48', restrict=1, sizes_mask=1 << 21) + \
    program('amdv1-48')
SEEDS['amdv1-64-dynamic-top-high'] = header('amdv1-64-dynamic-top', window=1) + \
    program('amdv1-64-dynamic-top')
SEEDS['arm-48-top-of-space'] = header('arm-48', window=1, simd=3) + program('arm-48')


def main():
    corpus = pathlib.Path(__file__).resolve().parent / 'corpus'
    corpus.mkdir(exist_ok=True)
    for old in corpus.iterdir():
        old.unlink()
    for name, data in SEEDS.items():
        (corpus / name).write_bytes(data)


if __name__ == '__main__':
    main()
