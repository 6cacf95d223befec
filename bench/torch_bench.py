#!/usr/bin/python3
"""Times PyTorch eager on one of the benchmark models, the way `tessera bench` times Tessera:
same architecture and input shapes (built by tests/differential/gen_models.py with random
weights), warmup then timed runs under torch.no_grad(); prints key: value lines.

Usage: /usr/bin/python3 bench/torch_bench.py NAME [--threads 2] [--runs 20] [--warmup 3]
       [--batch 1] [--sequence 128]
"""
import argparse
import os
import resource
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "differential"))
import gen_models  # noqa: E402


def inputs_for(name, example, batch, sequence):
    if name.startswith("bert"):
        ids, mask = example
        vocab = 30522 if name == "bert_base" else 8000
        return (torch.randint(0, min(vocab, 100), (batch, sequence), dtype=torch.int64),
                torch.ones(batch, sequence, dtype=torch.int64))
    return (torch.rand(batch, *example[0].shape[1:]),)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=[m for m in gen_models.MODELS if m != "digits"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--sequence", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(gen_models.SEED)
    start = time.perf_counter()
    model, example, *_ = gen_models.MODELS[a.name](gen)
    model.eval()
    load_ms = (time.perf_counter() - start) * 1e3
    feeds = inputs_for(a.name, example, a.batch, a.sequence)
    times = []
    with torch.no_grad():
        for _ in range(a.warmup):
            model(*feeds)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            model(*feeds)
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"model: {a.name}\nload_ms: {load_ms:.3f}\nruns: {a.runs}\nlatency_ms_p50: {pct(0.5):.3f}\n"
          f"latency_ms_p90: {pct(0.9):.3f}\nlatency_ms_min: {times[0]:.3f}\npeak_rss_mb: {rss:.3f}")


if __name__ == "__main__":
    main()
