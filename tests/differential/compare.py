#!/usr/bin/python3
"""Compares two folders of output_K.pb files: REFERENCE (e.g. ORT) and ACTUAL (e.g. Tessera).

Usage: compare.py REF_DIR ACT_DIR [--rtol 1e-3] [--atol 1e-4]
Element-wise check |act - ref| <= atol + rtol * |ref| (NaNs and infinities must match exactly; ints/bools exact).
Prints one summary line (worst element per output on failure); exit 0 when all match.
"""
import argparse
import glob
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
import tensorproto  # noqa: E402


def outputs(d):
    files = glob.glob(os.path.join(d, "output_*.pb"))
    files.sort(key=lambda f: int(re.search(r"output_(\d+)\.pb$", f).group(1)))
    return files


def compare_one(ref, act, rtol, atol):
    """Returns (ok, detail)."""
    if ref.dtype != act.dtype:
        return False, f"dtype {act.dtype} != {ref.dtype}"
    if ref.shape != act.shape:
        return False, f"shape {list(act.shape)} != {list(ref.shape)}"
    if ref.size == 0:
        return True, "empty"
    if not np.issubdtype(ref.dtype, np.floating):
        bad = int((ref != act).sum())
        return bad == 0, f"{bad} of {ref.size} differ" if bad else "exact"
    r, a = ref.astype(np.float64), act.astype(np.float64)
    nan_mismatch = np.isnan(r) != np.isnan(a)
    both = ~(np.isnan(r) | np.isnan(a))
    # An infinity matches only the same infinity: a finite value is not "close" to it.
    inf_mismatch = both & (np.isinf(r) | np.isinf(a)) & (a != r)
    finite = both & ~np.isinf(r) & ~np.isinf(a)
    diff = np.where(finite, np.abs(a - r), np.where(inf_mismatch, np.inf, 0.0))
    excess = np.where(finite, diff - (atol + rtol * np.abs(np.where(finite, r, 0.0))), diff)
    bad = nan_mismatch | inf_mismatch | (excess > 0)
    max_abs = float(np.nanmax(diff)) if diff.size else 0.0
    rel = diff / np.maximum(np.abs(r), 1e-30)
    max_rel = float(np.max(np.where(both & (np.abs(r) > atol), rel, 0.0)))
    detail = f"max_abs={max_abs:.3g} max_rel={max_rel:.3g}"
    nbad = int(bad.sum())
    if nbad:
        i = np.unravel_index(int(np.argmax(np.where(bad, excess, -np.inf) if not nan_mismatch.any()
                                           else nan_mismatch)), ref.shape)
        detail += f" {nbad}/{ref.size} out of tolerance, worst at {list(map(int, i))}: {a[i]!r} vs {r[i]!r}"
    return nbad == 0, detail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("act")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    args = ap.parse_args()
    refs, acts = outputs(args.ref), outputs(args.act)
    if not refs:
        print(f"no output_K.pb in {args.ref}")
        return 1
    if len(acts) != len(refs):
        print(f"{len(acts)} outputs, expected {len(refs)}")
        return 1
    ok_all, parts = True, []
    for rf, af in zip(refs, acts):
        rname, ref = tensorproto.read_tensor(rf)
        _, act = tensorproto.read_tensor(af)
        ok, detail = compare_one(ref, act, args.rtol, args.atol)
        ok_all &= ok
        parts.append(f"{rname or os.path.basename(rf)}: {detail}")
    print("; ".join(parts))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
