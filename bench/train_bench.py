#!/usr/bin/python3
"""Training step time and peak RSS: tessera.training.TesseraModule against torch eager.

    PYTHONPATH=build/python bench/train_bench.py [--threads 2] [--rounds 3] [--steps 50] [--models mlp,cnn,transformer]
    PYTHONPATH=build/python bench/train_bench.py --parity

A step is forward + cross-entropy + backward + AdamW step, on the same models, weights and
batches as python/tests/test_torch_module.py (one batch shape, so one export). Each round runs
torch, then Tessera, each in its own process (so peak RSS is each one's own), at --threads for
both (torch.set_num_threads, TesseraModule's intra_op_threads); per side the best round's median
and minimum step time and peak RSS are kept, since the machine is shared. Prints the
Tessera/torch ratios.

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


def worker(backend, name, threads, steps, warmup):
    import torch
    from test_torch_module import MODELS
    from tessera.training import TesseraModule

    torch.set_num_threads(threads)
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make()
    if backend == "tessera":
        model = TesseraModule(model, fallback=False, intra_op_threads=threads)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.randn(*shape, generator=gen), torch.randint(0, 10, (shape[0],), generator=gen)) for _ in range(8)]
    times = []
    for step in range(warmup + steps):
        x, target = batches[step % len(batches)]
        start = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), target).backward()
        opt.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2] * 1e3, "min_ms": times[0] * 1e3,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


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
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn,transformer")
    parser.add_argument("--parity", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.threads, args.steps, args.warmup)
    elif args.parity:
        parity()
    else:
        compare(args)


if __name__ == "__main__":
    main()
