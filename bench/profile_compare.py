#!/usr/bin/env python3
"""Compares a Tessera profile with an ONNX Runtime profile of the same model, op by op.

  tessera bench MODEL --threads 1 --runs 30 --profile /tmp/t.json
  node bench/ort_bench.js MODEL --threads 1 --runs 30 --profile /tmp/ort   # writes /tmp/ort_<date>.json
  bench/profile_compare.py --tessera /tmp/t.json --ort /tmp/ort_*.json

Each node's time is its median over the runs (so warm-up runs do not count); given several
profiles of one runtime (taken interleaved with the other's), the smallest of those medians, so
a burst of load on the shared machine during one profile does not count. Summed per key.
The default key is the op with its output shape, so a Tessera FusedConv and ORT's fused Conv of
the same layer land in one row; --by op groups by op type only. Fused ops are named differently
by the two runtimes (FusedConv vs Conv), so the key uses a common family name, and a convolution's
family says its kind from its weights' shape (depthwise 3x3, 1x1, 1x1 on a 1x1 image, 3x3...).
Tessera's blocked-layout outputs [N, C/block, H, W, block] are keyed as [N, C, H, W] with C rounded
up to whole blocks, as ORT's NCHWc convolutions report theirs (24 channels show as 32). Activations ORT runs as
nodes of their own (QuickGelu, Sigmoid) are inside Tessera's fused convolutions, and Tessera's
BlockedSqueezeExcite is ORT's GlobalAveragePool + two 1x1 Convs + activations + Mul: compare
those as sums.
"""
import argparse
import collections
import json
import statistics

# Both runtimes' names for the same kind of work.
FAMILY = {
    "com.tessera.FusedConv": "Conv", "FusedConv": "Conv", "Conv": "Conv", "com.tessera.BlockedConv": "Conv",
    "com.tessera.BlockedSqueezeExcite": "SqueezeExcite",
    "com.tessera.FusedGemm": "Gemm", "FusedGemm": "Gemm",
    "com.tessera.FusedMatMul": "MatMul", "FusedMatMul": "MatMul",
    "QuickGelu": "Sigmoid*Mul", "Sigmoid": "Sigmoid*Mul",
}


def family(op, inputs=()):
    name = FAMILY.get(op, op.split(".")[-1])
    if name != "Conv" or len(inputs) < 2 or len(inputs[1]) != 4:
        return name
    w, x = inputs[1], inputs[0]
    if len(x) == 4 and x[2:] == [1, 1]:
        return "Conv 1x1 on 1x1"
    kernel = f"{w[2]}x{w[3]}"
    return f"Conv dw{kernel}" if w[1] == 1 and w[0] > 1 else f"Conv {kernel}"


def nchw(shape):
    """A blocked [N, C/block, H, W, block] output as [N, C rounded up to whole blocks, H, W]."""
    if len(shape) != 5 or shape[4] not in (8, 16):
        return shape
    return [shape[0], shape[1] * shape[4], shape[2], shape[3]]


def shape_key(shapes):
    return "x".join(str(d) for d in nchw(shapes[0])) if shapes else "?"


def tessera_nodes(path):
    per_node = collections.defaultdict(list)
    for e in json.load(open(path))["traceEvents"]:
        args = e.get("args", {})
        if e.get("ph") != "X" or "op_type" not in args:
            continue
        outs, ins = args.get("output_shapes", []), args.get("input_shapes", [])
        if isinstance(outs, str):
            outs = json.loads(outs) if outs.startswith("[") else []
        if isinstance(ins, str):
            ins = json.loads(ins) if ins.startswith("[") else []
        op = args["op_type"]
        per_node[(e["name"], family(op, ins), shape_key(outs))].append(e["dur"])
    return per_node


def ort_nodes(path):
    per_node = collections.defaultdict(list)
    for e in json.load(open(path)):
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        args = e["args"]
        outs = [list(t.values())[0] for t in args.get("output_type_shape", [])]
        ins = [list(t.values())[0] for t in args.get("input_type_shape", [])]
        per_node[(e["name"], family(args["op_name"], ins), shape_key(outs))].append(e["dur"])
    return per_node


def totals(profiles, by):
    best = {}
    for per_node in profiles:
        for node, durs in per_node.items():
            best[node] = min(best.get(node, float("inf")), statistics.median(durs))
    out = collections.defaultdict(float)
    for (_, op, shape), t in best.items():
        key = op if by == "op" else f"{op} {shape}"
        out[key] += t
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--tessera", nargs="+", required=True, help="Chrome traces of tessera bench --profile")
    p.add_argument("--ort", nargs="+", required=True, help="profiles of bench/ort_bench.js --profile")
    p.add_argument("--by", choices=["op", "shape"], default="shape")
    p.add_argument("--top", type=int, default=30)
    a = p.parse_args()
    t = totals([tessera_nodes(f) for f in a.tessera], a.by)
    o = totals([ort_nodes(f) for f in a.ort], a.by)
    tt, ot = sum(t.values()), sum(o.values())
    print(f"sum of node medians: tessera {tt / 1000:.2f} ms, ort {ot / 1000:.2f} ms, ratio {tt / ot:.2f}")
    print(f"{'key':44} {'tessera us':>11} {'ort us':>9} {'ratio':>6} {'excess us':>10}")
    rows = sorted(set(t) | set(o), key=lambda k: -(t.get(k, 0) - o.get(k, 0)))
    for k in rows[: a.top]:
        tv, ov = t.get(k, 0), o.get(k, 0)
        ratio = f"{tv / ov:.2f}" if ov else "-"
        print(f"{k[:44]:44} {tv:11.0f} {ov:9.0f} {ratio:>6} {tv - ov:10.0f}")


if __name__ == "__main__":
    main()
