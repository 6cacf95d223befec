#!/usr/bin/env python3
"""Heap allocations per steady-state run of each model, by call site.

Runs `tessera bench MODEL --runs SHORT` and `--runs LONG` under the malloc_counter LD_PRELOAD
library (bench/malloc_counter.c: every malloc, calloc, realloc and aligned form, oneDNN's
included) and divides the difference by LONG - SHORT: loading, warm-up and the runs' fixed
share cancel, and a steady run's allocations remain. Prints, per model and thread count, the
mallocs per run and the call sites that make them (the first frames outside the C and C++
libraries, symbolized with addr2line).

  bench/mallocs_per_run.py build/differential-models/mobilenet_v2/model.onnx --threads 1 2
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile

SYSTEM_MODULES = ("libc.so", "libstdc++.so", "libmalloc_counter.so", "libgcc_s.so", "ld-linux")


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.join(os.path.dirname(here), "build")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="model.onnx files")
    p.add_argument("--tessera", default=os.path.join(build, "tessera"), help="the tessera CLI (default build/tessera)")
    p.add_argument("--counter", default=os.path.join(build, "bench", "libmalloc_counter.so"), help="the LD_PRELOAD library")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--dim", action="append", default=[], help="NAME=VALUE, passed to tessera bench")
    p.add_argument("--short", type=int, default=5, help="runs of the shorter bench (default 5)")
    p.add_argument("--long", type=int, default=25, help="runs of the longer bench (default 25)")
    p.add_argument("--sites", type=int, default=12, help="call sites to list per model (0: none)")
    p.add_argument("--frames", type=int, default=3, help="frames shown per call site")
    return p.parse_args()


def count(args, model, threads, runs):
    """{total, sites: {frames tuple: count}} of one `tessera bench` process."""
    with tempfile.NamedTemporaryFile(prefix="mallocs_", suffix=".txt", delete=False) as f:
        out = f.name
    cmd = [args.tessera, "bench", model, "--threads", str(threads), "--runs", str(runs), "--warmup", "3"]
    for d in args.dim:
        cmd += ["--dim", d]
    env = dict(os.environ, LD_PRELOAD=args.counter, MALLOC_COUNTER_OUT=out)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    total, sites = 0, collections.Counter()
    with open(out) as f:
        for line in f:
            head, *frames = line.split()
            if head == "total":
                total = int(frames[0])
            elif head != "unrecorded":
                # The main program is named as it was started (argv[0]): give addr2line its path.
                frames = [fr if fr.startswith(("/", "?")) else os.path.abspath(args.tessera) + fr[fr.index("+"):] for fr in frames]
                sites[tuple(frames)] += int(head)
    os.unlink(out)
    return total, sites


def own_frames(frames, n):
    """The first n frames outside the C and C++ libraries and the counter."""
    return [fr for fr in frames if not any(m in fr for m in SYSTEM_MODULES)][:n]


def symbolize(frames):
    """{"module+0xoff": "function (file:line)"} for the frames, one addr2line call per module."""
    by_module = collections.defaultdict(set)
    for fr in frames:
        module, _, off = fr.rpartition("+")
        if module.startswith("/"):
            by_module[module].add(off)
    names = {}
    for module, offs in by_module.items():
        offs = sorted(offs)
        # A return address is one past its call: look up the call.
        query = [hex(int(o, 16) - 1) for o in offs]
        res = subprocess.run(["addr2line", "-f", "-C", "-s", "-e", module] + query, capture_output=True, text=True)
        lines = res.stdout.splitlines()
        for i, off in enumerate(offs):
            fn, loc = (lines[2 * i], lines[2 * i + 1]) if len(lines) >= 2 * i + 2 else ("?", "?")
            if len(fn) > 90:
                fn = fn[:87] + "..."
            names[f"{module}+{off}"] = f"{fn} ({loc})" if not loc.startswith("??") else f"{fn} ({os.path.basename(module)})"
    return names


def main():
    args = parse_args()
    span = args.long - args.short
    summary = []
    for model in args.models:
        name = os.path.basename(os.path.dirname(os.path.abspath(model))) or model
        for threads in args.threads:
            t0, s0 = count(args, model, threads, args.short)
            t1, s1 = count(args, model, threads, args.long)
            per_run = (t1 - t0) / span
            summary.append((name, threads, per_run))
            print(f"== {name}, {threads} thread(s): {per_run:.1f} mallocs per steady run")
            if args.sites <= 0:
                continue
            # Per call site (its first own frames, symbolized: two sites in one function merge),
            # the difference per run.
            grouped = collections.Counter()
            for frames, c in s1.items():
                grouped[tuple(own_frames(frames, args.frames))] += c
            for frames, c in s0.items():
                grouped[tuple(own_frames(frames, args.frames))] -= c
            grouped = {k: c for k, c in grouped.items() if c != 0}
            names = symbolize([fr for k in grouped for fr in k])
            by_name = collections.Counter()
            for frames, c in grouped.items():
                by_name[tuple(names.get(fr, fr) for fr in frames) or ("(system libraries only)",)] += c
            for frames, c in by_name.most_common(args.sites):
                print(f"  {c / span:8.1f}  " + "\n            <- ".join(frames))
    print("\nmodel | threads | mallocs per run")
    for name, threads, per_run in summary:
        print(f"{name} | {threads} | {per_run:.0f}")


if __name__ == "__main__":
    sys.exit(main())
