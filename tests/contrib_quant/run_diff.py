#!/usr/bin/python3
"""Differential test of the quantized com.microsoft ops: generates the cases (gen_cases.py), runs
each in ONNX Runtime (onnxruntime-node, tests/differential/ort_run.js, its optimizer off) and in
Tessera (`tessera run`), and compares outputs per the case's tolerance.json: integer outputs
within `quanta` (0: bit-exact), float outputs within |t - o| <= atol + rtol * |o|.

Usage: run_diff.py TESSERA [--work DIR] [CASE_SUBSTRING...]
Prints one line per case (exact/within-tolerance counts) and `N passed, N failed`; exit 1 on any
failure, 77 (skipped) without node, onnxruntime-node, numpy or onnx.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(os.path.dirname(HERE), "differential")


def skip(why):
    print(f"skipped: {why}")
    sys.exit(77)


def read_outputs(d):
    from onnx import TensorProto, numpy_helper
    outs = []
    for k in range(len(glob.glob(os.path.join(d, "output_*.pb")))):
        t = TensorProto()
        with open(os.path.join(d, f"output_{k}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        outs.append(numpy_helper.to_array(t))
    return outs


def compare(ref, act, tol):
    import numpy as np
    if ref.dtype != act.dtype or ref.shape != act.shape:
        return False, f"{act.dtype}{list(act.shape)} != ORT's {ref.dtype}{list(ref.shape)}"
    if np.issubdtype(ref.dtype, np.integer):
        diff = np.abs(ref.astype(np.int64) - act.astype(np.int64))
        worst = int(diff.max()) if diff.size else 0
        off = int((diff > 0).sum())
        return worst <= tol["quanta"], f"{off} of {ref.size} differ from ORT, by at most {worst} (allowed {tol['quanta']})"
    r, a = ref.astype(np.float64), act.astype(np.float64)
    diff = np.abs(a - r)
    bad = int((diff > tol["atol"] + tol["rtol"] * np.abs(r)).sum()) + int((np.isnan(a) != np.isnan(r)).sum())
    return bad == 0, f"max_abs={float(np.nanmax(diff)) if diff.size else 0:.3g}, {bad} of {ref.size} outside rtol {tol['rtol']} atol {tol['atol']}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tessera")
    ap.add_argument("--work")
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    if shutil.which("node") is None:
        skip("node not installed")
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
    except ImportError:
        skip("numpy or onnx (python3-onnx) missing")
    if subprocess.run(["node", "-e", f"require('{DIFF}/ort_loader').loadOrt()"], capture_output=True).returncode != 0:
        skip("onnxruntime-node not found (scripts/install_test_deps.sh)")

    work = args.work or tempfile.mkdtemp(prefix="contrib_quant_")
    shutil.rmtree(os.path.join(work, "cases"), ignore_errors=True)
    subprocess.run([sys.executable, os.path.join(HERE, "gen_cases.py"), os.path.join(work, "cases")], check=True)
    passed = failed = 0
    for case in sorted(glob.glob(os.path.join(work, "cases", "*"))):
        name = os.path.basename(case)
        if args.cases and not any(s in name for s in args.cases):
            continue
        data = os.path.join(case, "test_data_set_0")
        ort_out, ts_out = os.path.join(case, "ort_out"), os.path.join(case, "tessera_out")
        with open(os.path.join(case, "tolerance.json")) as f:
            tol = json.load(f)
        r = subprocess.run(["node", os.path.join(DIFF, "ort_run.js"), os.path.join(case, "model.onnx"), data, ort_out,
                            "--opt", "disabled"], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {name}: onnxruntime: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
            failed += 1
            continue
        r = subprocess.run([args.tessera, "run", os.path.join(case, "model.onnx"), "--data", data, "--output-dir", ts_out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {name}: tessera: {r.stderr.strip()}")
            failed += 1
            continue
        ok, details = True, []
        for ref, act in zip(read_outputs(ort_out), read_outputs(ts_out)):
            good, detail = compare(ref, act, tol)
            ok &= good
            details.append(detail)
        print(f"{'PASS' if ok else 'FAIL'} {name}: {'; '.join(details)}")
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
