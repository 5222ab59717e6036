#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the ioctl fuzz target (fuzz_ioctl.c, whose
header gives the input encoding):  tests/fuzz/ioctl/make_corpus.py [DIR]

Each seed is a small program that reaches one part of the ABI with valid
structs, so the fuzzer mutates from working calls: mock and hardware-format
devices that map the arena, DMA and harvest; pins, checks and options; the
EFAULT cases of MAP (NULL, PROT_NONE, read-only memory); the size word and
struct placement rules of uapi.md 3; two contexts sharing ids; unknown
commands and ops."""
import os
import struct
import sys

(DESTROY, IOAS_ALLOC, IOVA_RANGES, MAP, UNMAP, OPTION, HWPT_ALLOC, HW_INFO,
 SET_DIRTY, GET_DIRTY, MOCK_DOMAIN, MOCK_DOMAIN_FLAGS, CHECK_MAP, CHECK_REFS,
 TEST_DIRTY, DEVICE_NEW, DMA, FAULTS, TEST_RAW, RAW) = range(20)

# ctl bits
CTX1 = 1
SIZE_MIN, SIZE_EXTRA, SIZE_LONG = 1 << 1, 2 << 1, 3 << 1
ARG_EDGE, ARG_RO, ARG_NULL = 1 << 3, 2 << 3, 3 << 3
POOL = 1 << 5

MAP_FIXED, MAP_W, MAP_R = 1, 2, 4
MOCK_IOVA = 1 << 24
AMDV1, VTDSS, ARM, RISCV = 1, 2, 3, 4
DIRTY_TRACKING = 2


def arena(offset):
    return offset << 2


NULL_PAGE, RO_PAGE, GUARD_PAGE = 1, 2, 3


def op(kind, body, ctl=0, extra=0, place=0):
    return bytes([kind, ctl, extra, place]) + body


def test_cmd(union=b''):
    return struct.pack('<IIII', 0, 0, 0, 0) + union.ljust(48, b'\0') + bytes(8)


def test_id(kind, id_, union=b'', **kw):
    body = bytearray(test_cmd(union))
    struct.pack_into('<I', body, 8, id_)
    return op(kind, bytes(body), **kw)


def test_raw(test_op, id_, **kw):
    body = bytearray(test_cmd())
    struct.pack_into('<II', body, 4, test_op, id_)
    return op(TEST_RAW, bytes(body), **kw)


def destroy(id_, **kw):
    return op(DESTROY, struct.pack('<II', 0, id_), **kw)


def ioas_alloc(**kw):
    return op(IOAS_ALLOC, struct.pack('<III', 0, 0, 0), **kw)


def iova_ranges(ioas, num, ptr, **kw):
    return op(IOVA_RANGES, struct.pack('<IIIIQQ', 0, ioas, num, 0, ptr, 0), **kw)


def map_(ioas, flags, user_va, length, iova=0, **kw):
    return op(MAP, struct.pack('<IIIIQQQ', 0, flags, ioas, 0, user_va, length, iova), **kw)


def unmap(ioas, iova, length, **kw):
    return op(UNMAP, struct.pack('<IIQQ', 0, ioas, iova, length), **kw)


def option(option_id, op_, object_id, val, **kw):
    return op(OPTION, struct.pack('<IIHHIQ', 0, option_id, op_, 0, object_id, val), **kw)


def hwpt_alloc(dev, pt, flags=0, **kw):
    return op(HWPT_ALLOC, struct.pack('<IIIIIIIIQ', 0, flags, dev, pt, 0, 0, 0, 0, 0), **kw)


def hw_info(dev, data_len, ptr, **kw):
    return op(HW_INFO, struct.pack('<IIIIQIIQ', 0, 0, dev, data_len, ptr, 0, 0, 0), **kw)


def set_dirty(hwpt, enable, **kw):
    return op(SET_DIRTY, struct.pack('<IIII', 0, enable, hwpt, 0), **kw)


def get_dirty(hwpt, iova, length, page_size, ptr, flags=0, **kw):
    return op(GET_DIRTY, struct.pack('<IIIIQQQQ', 0, hwpt, flags, 0, iova, length, page_size,
                                     ptr), **kw)


def mock_domain(pt, dev_flags=None, **kw):
    if dev_flags is None:
        return test_id(MOCK_DOMAIN, pt, **kw)
    return test_id(MOCK_DOMAIN_FLAGS, pt, struct.pack('<IIII', 0, 0, 0, dev_flags), **kw)


def device_new(pt, fmt, dev_flags=0, **kw):
    return test_id(DEVICE_NEW, pt, struct.pack('<IIIII', 0, 0, 0, fmt, dev_flags), **kw)


def check_map(hwpt, iova, length, ptr, **kw):
    return test_id(CHECK_MAP, hwpt, struct.pack('<QQQ', iova, length, ptr), **kw)


def check_refs(length, ptr, refs, **kw):
    return test_id(CHECK_REFS, 0, struct.pack('<QQI', length, ptr, refs), **kw)


def test_dirty(hwpt, iova, length, page_size, ptr, **kw):
    return test_id(TEST_DIRTY, hwpt, struct.pack('<IIQQQQQ', 0, 0, iova, length, page_size,
                                                 ptr, 0), **kw)


def dma(stdev, write, iova, length, ptr, **kw):
    return test_id(DMA, stdev, struct.pack('<IIQQQQ', 1 if write else 0, 0, iova, length, ptr,
                                           0), **kw)


def faults(stdev, **kw):
    return test_id(FAULTS, stdev, **kw)


SEEDS = {
    # mock: map, auto domain, dirty HWPT, a second device on it, DMA, harvest
    'mock-dirty-harvest': [0, ioas_alloc(), map_(1, MAP_FIXED | MAP_R | MAP_W, arena(0), 32768,
                                                 MOCK_IOVA),
                           mock_domain(1), hwpt_alloc(3, 1, DIRTY_TRACKING), set_dirty(5, 1),
                           mock_domain(5), dma(6, True, MOCK_IOVA + 4096, 2048, arena(20480)),
                           test_dirty(5, MOCK_IOVA, 16384, 2048, arena(30000)),
                           get_dirty(5, MOCK_IOVA, 32768, 2048, arena(31000)),
                           get_dirty(5, MOCK_IOVA, 32768, 4096, arena(31000), flags=1),
                           check_map(4, MOCK_IOVA, 8192, arena(0)),
                           check_refs(32768, arena(0), 1),
                           unmap(1, 0, 2 ** 64 - 1), destroy(6), destroy(2), destroy(5),
                           destroy(1)],
    # AMD v1: a writable and a read-only area, DMA in both directions, faults
    'amd-dma-faults': [0, ioas_alloc(), device_new(1, AMDV1),
                       map_(1, MAP_FIXED | MAP_R | MAP_W, arena(0), 16384, 0x10000),
                       map_(1, MAP_FIXED | MAP_R, arena(16384), 8192, 0x20000),
                       dma(2, True, 0x10000 + 100, 300, arena(20000)),
                       dma(2, False, 0x10000, 5000, arena(24576)),
                       dma(2, True, 0x20000, 64, arena(0)),
                       dma(2, True, 0x14000 - 8, 16, arena(100)),
                       faults(2), unmap(1, 0x20000, 8192)],
    # VT-d: hw info, a dirty HWPT, devices on it, enable, write, harvest
    'vtd-dirty': [0, ioas_alloc(), device_new(1, VTDSS), hw_info(3, 24, arena(64)),
                  hwpt_alloc(3, 1, DIRTY_TRACKING),
                  map_(1, MAP_FIXED | MAP_R | MAP_W, arena(8192), 8192, 0x2000),
                  device_new(5, VTDSS), set_dirty(5, 1),
                  dma(6, True, 0x2000, 4096, arena(0)),
                  get_dirty(5, 0x2000, 8192, 4096, arena(100)), set_dirty(5, 0),
                  iova_ranges(1, 1, arena(200))],
    # ARM and RISC-V devices, one without dirty tracking; HWPT on an incapable one
    'arm-riscv': [0, ioas_alloc(), device_new(1, ARM), device_new(1, RISCV, 1),
                  hwpt_alloc(6, 1, DIRTY_TRACKING), hwpt_alloc(3, 1, DIRTY_TRACKING),
                  map_(1, MAP_FIXED | MAP_R | MAP_W, arena(4096), 4096, 0x8000),
                  dma(2, True, 0x8000, 4096, arena(12288)), dma(5, False, 0x8000, 64, arena(0)),
                  hw_info(6, 0, 0), destroy(1)],
    # MAP of memory Linux could not pin: NULL, PROT_NONE, read-only with WRITEABLE
    'map-efault': [0, ioas_alloc(), mock_domain(1),
                   map_(1, MAP_FIXED | MAP_R | MAP_W, NULL_PAGE, 4096, MOCK_IOVA),
                   map_(1, MAP_FIXED | MAP_R, GUARD_PAGE, 4096, MOCK_IOVA),
                   map_(1, MAP_FIXED | MAP_R | MAP_W, RO_PAGE, 4096, MOCK_IOVA),
                   map_(1, MAP_FIXED | MAP_R | MAP_W, arena(28672), 8192, MOCK_IOVA),
                   map_(1, MAP_FIXED | MAP_R, RO_PAGE, 4096, MOCK_IOVA),
                   dma(2, False, MOCK_IOVA, 4096, arena(0)),
                   dma(2, True, MOCK_IOVA, 4096, arena(0))],
    # uapi.md 3: size below min_size, above sizeof with a non-zero and a zero
    # tail, arbitrary; structs ending in PROT_NONE, read-only (copy-back), NULL
    'size-and-placement': [0, ioas_alloc(ctl=SIZE_MIN, extra=1), ioas_alloc(ctl=SIZE_LONG,
                                                                             extra=0x83),
                           ioas_alloc(ctl=SIZE_LONG, extra=3), ioas_alloc(ctl=ARG_RO),
                           ioas_alloc(ctl=ARG_EDGE, place=7), ioas_alloc(ctl=ARG_NULL),
                           mock_domain(1, ctl=ARG_RO), mock_domain(1, ctl=SIZE_EXTRA, extra=70),
                           hwpt_alloc(3, 1, ctl=SIZE_MIN), hwpt_alloc(3, 1, ctl=ARG_RO),
                           map_(1, MAP_R | MAP_W, arena(0), 4096, ctl=ARG_RO),
                           hw_info(3, 8, arena(0), ctl=SIZE_MIN),
                           get_dirty(4, MOCK_IOVA, 4096, 2048, arena(0), ctl=SIZE_LONG,
                                     extra=0x80),
                           destroy(1, ctl=ARG_EDGE, place=3)],
    # two contexts: ids of one, drawn from the pool, on the other
    'two-contexts': [1, ioas_alloc(), ioas_alloc(ctl=CTX1), mock_domain(1),
                     device_new(0, AMDV1, ctl=CTX1 | POOL),
                     map_(0, MAP_R | MAP_W, arena(0), 8192, ctl=CTX1 | POOL),
                     destroy(2, ctl=CTX1), dma(2, True, MOCK_IOVA, 64, arena(0), ctl=CTX1),
                     destroy(3, ctl=POOL)],
    # IOVA ranges, the huge-pages and rlimit options, alignment errors
    'ranges-options': [0, ioas_alloc(), iova_ranges(1, 0, 0), option(1, 1, 1, 0),
                       option(1, 0, 1, 0), map_(1, MAP_R, arena(2048), 2048),
                       device_new(1, AMDV1), mock_domain(1), iova_ranges(1, 1, arena(16)),
                       option(1, 0, 1, 1), option(0, 1, 0, 0), option(0, 0, 0, 1),
                       option(7, 1, 1, 0)],
    # object lifetimes: DESTROY of busy and bound objects, id reuse
    'destroy-order': [0, ioas_alloc(), mock_domain(1), hwpt_alloc(3, 1), destroy(1),
                      destroy(3), destroy(4), destroy(5), destroy(2), destroy(4),
                      ioas_alloc(), mock_domain(2, 1), destroy(1)],
    # UNMAP: partly covered, nothing mapped, everything; kernel-chosen IOVAs
    'unmap': [0, ioas_alloc(), mock_domain(1), map_(1, MAP_R | MAP_W, arena(0), 8192),
              map_(1, MAP_R | MAP_W, arena(8192), 2048),
              map_(1, MAP_FIXED | MAP_R, arena(12288), 4096, MOCK_IOVA + 65536),
              unmap(1, MOCK_IOVA + 65536, 2048), unmap(1, 0x7000_0000, 4096),
              unmap(1, MOCK_IOVA + 65536, 4096), unmap(1, 0, 2 ** 64 - 1),
              unmap(1, 0, 2 ** 64 - 1)],
    # GET_DIRTY_BITMAP's extreme page sizes and lengths (uapi.md 5.8, Q3, Q9)
    'dirty-extremes': [0, ioas_alloc(), mock_domain(1), hwpt_alloc(3, 1, DIRTY_TRACKING),
                       map_(1, MAP_FIXED | MAP_R | MAP_W, arena(0), 32768, MOCK_IOVA),
                       set_dirty(5, 1), get_dirty(5, 0, 0, 4096, arena(0)),
                       get_dirty(5, MOCK_IOVA, 32768, 2 ** 63, arena(0)),
                       get_dirty(5, MOCK_IOVA, 32768, 0x3000, arena(0)),
                       get_dirty(5, MOCK_IOVA, 2 ** 40, 2048, arena(4)),
                       get_dirty(5, MOCK_IOVA, 32768, 2048, RO_PAGE),
                       test_dirty(5, MOCK_IOVA, 2 ** 30, 2048, arena(0)),
                       test_dirty(5, MOCK_IOVA, 8192, 2048, GUARD_PAGE)],
    # regression: TEST DIRTY allocated the caller-sized bitmap (2^48 bytes
    # here: ASan's allocation-size-too-big), now read a page at a time
    'regress-test-dirty-huge-length': [0, ioas_alloc(), mock_domain(1),
                                       hwpt_alloc(3, 1, DIRTY_TRACKING),
                                       map_(1, MAP_FIXED | MAP_R | MAP_W, arena(0), 32768,
                                            MOCK_IOVA),
                                       set_dirty(5, 1),
                                       test_dirty(5, MOCK_IOVA, 2 ** 62, 2048, arena(0)),
                                       test_dirty(5, MOCK_IOVA, 2 ** 20, 2048, arena(4096))],
    # unknown commands (empty slots, outside the table, wrong type) and test ops
    'unknown': [0, op(RAW, struct.pack('<II', 0, 0x3B8D).ljust(72, b'\0')),
                op(RAW, struct.pack('<II', 0, 0x3B82).ljust(72, b'\0')),
                op(RAW, struct.pack('<II', 0, 0x3B7F).ljust(72, b'\0')),
                op(RAW, struct.pack('<II', 0, 0x3B8D).ljust(72, b'\0'), ctl=ARG_NULL),
                test_raw(1, 1), test_raw(0x1234, 0)],
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus')
    os.makedirs(out, exist_ok=True)
    for name, program in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(bytes([program[0]]) + b''.join(program[1:]))


if __name__ == '__main__':
    main()
