#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks `iodirty bench` end to end in a tiny configuration.

  check_bench_cli.py PATH/TO/iodirty

1. `iodirty bench --size 64M --reps 1 --format amdv1 --json` exits 0 and
   prints exactly one JSON object whose `harvest` member lists the rows with
   the documented keys, every bitmap identical to iodirty's;
2. `iodirty bench --bogus` and a bad size exit 2 with a message.
"""
import json
import subprocess
import sys

CONTENDERS = ("iodirty", "legacy", "generic_pt", "stream")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def run(exe, *args):
    return subprocess.run([exe, "bench", *args], capture_output=True, text=True, timeout=240)


def main():
    exe = sys.argv[1]

    p = run(exe, "--size", "64M", "--reps", "1", "--format", "amdv1", "--json")
    check(p.returncode == 0, f"tiny --json run exits 0 (got {p.returncode}; stderr: {p.stderr!r})")
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        doc = None
        check(False, f"stdout is one JSON object ({e}): {p.stdout[:200]!r}")
    if isinstance(doc, dict):
        rows = doc.get("harvest")
        check(isinstance(rows, list) and rows, "a non-empty 'harvest' list")
        for row in rows or []:
            check(row.get("format") == "amdv1", f"row format amdv1: {row.get('format')}")
            check(row.get("size") == 64 << 20, f"row size 64 MiB: {row.get('size')}")
            check(row.get("iopte") in (4096, 2 << 20), f"row iopte: {row.get('iopte')}")
            check(isinstance(row.get("density"), (int, float))
                  and 0 <= row["density"] <= 1, f"row density: {row.get('density')}")
            check(isinstance(row.get("no_clear"), bool), "row no_clear is a bool")
            for c in CONTENDERS:
                obj = row.get(c)
                check(isinstance(obj, dict), f"row has '{c}'")
                if not isinstance(obj, dict):
                    continue
                for k in ("ms", "min", "max", "ns_per_entry"):
                    check(isinstance(obj.get(k), (int, float)), f"{c}.{k} is a number")
                check(obj.get("bitmap_ok", True) is True, f"{c}'s bitmap matches iodirty's")
        # 4 KiB and 2 MiB rows: 4 densities x clear/NO_CLEAR each; 1 GiB is skipped
        check(len(rows or []) == 16, f"16 harvest rows (got {len(rows or [])})")
        check(any(s.get("iopte") == 1 << 30 for s in doc.get("skipped", [])),
              "the 1 GiB IOPTE row is reported as skipped")
        for key in ("dma", "bitmap", "enable", "simd", "machine"):
            check(key in doc, f"member '{key}' present")
        check(doc.get("mismatches") == 0, "no bitmap mismatches")

    p = run(exe, "--bogus")
    check(p.returncode == 2, f"--bogus exits 2 (got {p.returncode})")
    check("--bogus" in p.stderr, "--bogus is named on stderr")
    check(p.stdout == "", "--bogus prints nothing on stdout")
    p = run(exe, "--size", "3K")
    check(p.returncode == 2, f"--size 3K exits 2 (got {p.returncode})")
    check("3K" in p.stderr, "the bad size is named on stderr")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("bench CLI: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
