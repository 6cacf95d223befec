#!/usr/bin/python3
"""Training step time and peak RSS: tessera.training.TesseraModule against torch eager.

    PYTHONPATH=build/python bench/train_bench.py [--threads 2] [--rounds 3] [--steps 50] [--models mlp,cnn,transformer]
    PYTHONPATH=build/python bench/train_bench.py --interleaved [--threads 2] [--rounds 3] [--steps 2000]
    PYTHONPATH=build/python bench/train_bench.py --parity

A step is forward + cross-entropy + backward + AdamW step, on the same models, weights and
batches as python/tests/test_torch_module.py (one batch shape, so one export). Each round runs
torch, then Tessera, each in its own process (so peak RSS is each one's own), at --threads for
both (torch.set_num_threads, TesseraModule's intra_op_threads); per side the best round's median
and minimum step time and peak RSS are kept, since the machine is shared. Prints the
Tessera/torch ratios.

--interleaved steps a torch and a Tessera copy of each model in one process, alternating blocks of
--block steps (each block's first step is not counted: it pays for the other side's cache
traffic), --steps steps per side and round; per round the medians of the two sides' step times
and their ratio. Both sides then see the same machine load, which a shared machine changes from
one process to the next; peak RSS is not measured (one process holds both).

--parity runs the tests' 200-step comparison (SGD with momentum 0.9, AdamW; every loss within
1e-3 relative, final weights within rtol 1e-3 / atol 1e-4) and the digits convergence check
(30 epochs of AdamW, test accuracy within 1 point of torch's) on all three models; the tests run
them on the MLP only, to keep their time down.
"""

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python" / "tests"))


def make_side(backend, name, threads):
    """The model (torch's, or an equal TesseraModule copy: same seed), its AdamW and the 8 batches
    every run and side steps through."""
    import torch
    from test_torch_module import MODELS
    from tessera.training import TesseraModule

    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make()
    if backend == "tessera":
        model = TesseraModule(model, fallback=False, intra_op_threads=threads)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.randn(*shape, generator=gen), torch.randint(0, 10, (shape[0],), generator=gen)) for _ in range(8)]
    return model, opt, batches


def train_step(model, opt, batch):
    """One timed step: forward, cross-entropy, backward, AdamW; returns its seconds."""
    import torch

    x, target = batch
    start = time.perf_counter()
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), target).backward()
    opt.step()
    return time.perf_counter() - start


def worker(backend, name, threads, steps, warmup):
    import torch

    torch.set_num_threads(threads)
    model, opt, batches = make_side(backend, name, threads)
    times = [train_step(model, opt, batches[step % len(batches)]) for step in range(warmup + steps)][warmup:]
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2] * 1e3, "min_ms": times[0] * 1e3,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def interleaved(args):
    import torch

    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, one process, blocks of {args.block} steps alternating, {args.steps} steps per side "
          f"and round (shared machine: expect noise)")
    print(f"{'model':12} {'round':>5} {'torch p50':>9} {'tessera p50':>11} {'ratio':>6}")
    for name in args.models.split(","):
        sides = [make_side(backend, name, args.threads) for backend in ("torch", "tessera")]
        for model, opt, batches in sides:  # the export and first runs
            for step in range(args.warmup):
                train_step(model, opt, batches[step % len(batches)])
        ratios = []
        step = 0
        for r in range(args.rounds):
            times = ([], [])
            while len(times[1]) < args.steps:
                for side, (model, opt, batches) in enumerate(sides):
                    for k in range(args.block):
                        seconds = train_step(model, opt, batches[(step + k) % len(batches)])
                        if k > 0:
                            times[side].append(seconds)
                step += args.block
            t, s = (sorted(ts)[len(ts) // 2] * 1e3 for ts in times)
            ratios.append(s / t)
            print(f"{name:12} {r:5} {t:9.3f} {s:11.3f} {s / t:6.3f}", flush=True)
        ratios.sort()
        print(f"{name:12} Tessera/torch per round: min {ratios[0]:.3f}, median {ratios[len(ratios) // 2]:.3f}, "
              f"max {ratios[-1]:.3f}")


def compare(args):
    print(f"threads {args.threads}, {args.steps} steps after {args.warmup} warm-up, best of {args.rounds} rounds "
          "(shared machine: expect noise)")
    print(f"{'model':12} {'torch p50':>9} {'tessera p50':>11} {'ratio':>6} {'torch min':>8} {'tess min':>8} {'ratio':>6} "
          f"{'torch MB':>9} {'tessera MB':>11} {'ratio':>6}")
    for name in args.models.split(","):
        best = {}
        for _ in range(args.rounds):
            for backend in ("torch", "tessera"):
                out = subprocess.run([sys.executable, __file__, "--worker", backend, name, "--threads", str(args.threads),
                                      "--steps", str(args.steps), "--warmup", str(args.warmup)],
                                     check=True, capture_output=True, text=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                prev = best.setdefault(backend, result)
                for key in result:  # each figure's best round
                    prev[key] = min(prev[key], result[key])
        t, s = best["torch"], best["tessera"]
        print(f"{name:12} {t['median_ms']:9.2f} {s['median_ms']:11.2f} {s['median_ms'] / t['median_ms']:6.2f} "
              f"{t['min_ms']:8.2f} {s['min_ms']:8.2f} {s['min_ms'] / t['min_ms']:6.2f} "
              f"{t['peak_rss_mb']:9.0f} {s['peak_rss_mb']:11.0f} {s['peak_rss_mb'] / t['peak_rss_mb']:6.2f}")


def parity():
    import torch
    from test_torch_module import DIGITS_MODELS, MODELS, OPTIMIZERS, check_200_steps, digits_accuracies

    torch.set_num_threads(2)
    failed = 0
    for name in MODELS:
        for optimizer in OPTIMIZERS:
            try:
                losses = check_200_steps(name, optimizer)
                print(f"{name:12} {optimizer:6} ok (loss {losses[0]:.4f} -> {losses[-1]:.4f})")
            except AssertionError as e:
                failed += 1
                print(f"{name:12} {optimizer:6} FAILED: {str(e).strip()}")
    for name in DIGITS_MODELS:
        torch_accuracy, tessera_accuracy = digits_accuracies(name)
        verdict = "ok" if abs(tessera_accuracy - torch_accuracy) <= 1.0 else "FAILED"
        failed += verdict != "ok"
        print(f"digits {name:12} 30 epochs AdamW: torch {torch_accuracy:.2f}%, TesseraModule {tessera_accuracy:.2f}%  {verdict}")
    sys.exit(1 if failed else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, help="steps per side and round (default 50; --interleaved 2000)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn,transformer")
    parser.add_argument("--interleaved", action="store_true")
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument("--parity", action="store_true")
    args = parser.parse_args()
    if args.steps is None:
        args.steps = 2000 if args.interleaved else 50
    if args.worker:
        worker(args.worker[0], args.worker[1], args.threads, args.steps, args.warmup)
    elif args.parity:
        parity()
    elif args.interleaved:
        interleaved(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
