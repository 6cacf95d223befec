#!/usr/bin/python3
"""Checks compare_one's verdicts on the cases that matter: tolerance, NaN and infinity."""
import os
import sys

try:
    import numpy as np
except ImportError:
    print("SKIP: python3-numpy is not installed")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import compare_one  # noqa: E402

f = np.float32
cases = [
    ("within tolerance", [1.0, 2.0], [1.0005, 2.0], True),
    ("out of tolerance", [1.0, 2.0], [1.01, 2.0], False),
    ("same infinity", [np.inf, -np.inf], [np.inf, -np.inf], True),
    ("finite for +inf", [np.inf], [3e38], False),
    ("inf for finite", [1.0], [np.inf], False),
    ("opposite infinities", [np.inf], [-np.inf], False),
    ("nan matches nan", [np.nan, 1.0], [np.nan, 1.0], True),
    ("finite for nan", [np.nan], [0.0], False),
]
failures = 0
for name, ref, act, expected in cases:
    ok, detail = compare_one(np.array(ref, f), np.array(act, f), 1e-3, 1e-4)
    if ok != expected:
        failures += 1
        print(f"FAIL {name}: got {ok}, expected {expected} ({detail})")
    else:
        print(f"ok   {name}")
sys.exit(1 if failures else 0)
