"""Runs the ONNX project's backend test runner (python3-onnx's onnx.backend.test) against
tessera.backend over the conformance data and prints the counts per suite.

    PYTHONPATH=build/python /usr/bin/python3 python/tools/run_onnx_backend_tests.py \
        [--data ../shared/onnx-backend-tests] [--include REGEX] [--failures]

Debian's python3-onnx ships the runner without its data, so the cases are read from the same
folder `tessera test` reads (--data). The counts differ from `tessera test` where the runner's
onnx version cannot read a case (element types newer than it, e.g. float8) or compares
differently (it checks output dtypes and shapes too)."""

import argparse
import collections
import os
import pathlib
import sys
import unittest
import warnings

import numpy as np
import onnx.backend.test.loader as loader
import onnx.backend.test.runner as runner

import tessera.backend

DEFAULT_DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "onnx-backend-tests"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of suites (node, simple, ...)")
    parser.add_argument("--include", default=None, help="only cases whose test name matches this regex")
    parser.add_argument("--failures", action="store_true", help="print each failing case and why")
    args = parser.parse_args()

    suites = {d for d in os.listdir(args.data) if os.path.isdir(os.path.join(args.data, d))}

    def load_model_tests(data_dir=args.data, kind=None):
        # The runner asks for suites by name ("real" is not in every data folder).
        return loader.load_model_tests(args.data, kind) if kind in suites else []

    runner.load_model_tests = load_model_tests
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not hasattr(np, "object"):  # onnx 1.12's runner compares dtypes with np.object, gone in numpy 1.24
            np.object = object
    backend_test = runner.Runner(tessera.backend.TesseraBackend, __name__)
    if args.include:
        backend_test.include(args.include)
    # Runner.test_suite sorts its case classes, which Python 3 refuses (onnx 1.12): load them here.
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(case)
                               for case in backend_test.test_cases.values())
    tests = list(_all_tests(suite))  # a suite lets go of its tests as it runs them
    with open(os.devnull, "w") as quiet:
        result = unittest.TextTestRunner(stream=quiet, verbosity=0).run(suite)

    counts = collections.defaultdict(collections.Counter)
    kind_of = {}
    for kind in suites:
        for case in load_model_tests(kind=kind):
            kind_of[case.name] = kind

    def suite_of(test):
        name = test.id().split(".")[-1]  # test_relu_cpu
        return kind_of.get(name[:-len("_cpu")] if name.endswith("_cpu") else name, "other")

    failed = {test.id(): (suite_of(test), reason) for test, reason in result.failures + result.errors}
    skipped = {test.id() for test, _ in result.skipped}
    # Cases left out by --include, and the runner's copies for devices other than the CPU.
    not_included = {test.id() for test, reason in result.skipped
                    if reason == "no matched include pattern" or reason.startswith("Backend doesn't support device")}
    for test in tests:
        if test.id() in not_included:
            continue
        verdict = "failed" if test.id() in failed else "skipped" if test.id() in skipped else "passed"
        counts[suite_of(test)][verdict] += 1
    for kind in sorted(counts):
        c = counts[kind]
        print(f"{kind}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    total = sum(counts.values(), collections.Counter())
    print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    if args.failures:
        for test_id, (kind, reason) in sorted(failed.items()):
            print(f"FAIL {kind} {test_id.split('.')[-1]}: {reason.strip().splitlines()[-1][:300]}")
    return 0 if not failed else 1


def _all_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _all_tests(item)
        else:
            yield item


if __name__ == "__main__":
    sys.exit(main())
