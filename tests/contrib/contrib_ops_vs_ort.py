#!/usr/bin/python3
"""Differential test of ONNX Runtime's contrib ops (docs/contrib_ops.md) against ONNX Runtime.

Usage: contrib_ops_vs_ort.py TESSERA [--filter SUBSTRING] [--keep DIR]
Writes one small crafted graph per op, attribute variant, shape and dtype (random inputs, fixed
seed), runs it in onnxruntime-node (tests/differential/ort_run.js, its optimizer off so the node
runs as written; numpy for the few ops ORT's CPU EP lacks) and in `TESSERA run`, and compares
every output: rtol 1e-3 / atol 1e-4 for
float32, rtol 1e-2 / atol 1e-2 for float16 (ORT computes some of these in float16 steps, Tessera
in float). Prints one line per case and `N passed, N failed`; exit 1 on any mismatch, 77 when
node, onnxruntime-node, numpy or onnx is missing.
"""
import argparse
import os
import shutil
import concurrent.futures
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(os.path.dirname(HERE), "differential")

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, TensorProto
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)
sys.path.insert(0, DIFF)
from compare import compare_one  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
import tensorproto  # noqa: E402

MS = "com.microsoft"
F32, F16 = np.float32, np.float16
TOL = {F32: (1e-3, 1e-4), F16: (1e-2, 1e-2)}
ONNX_TYPE = {F32: TensorProto.FLOAT, F16: TensorProto.FLOAT16, np.int64: TensorProto.INT64, np.int32: TensorProto.INT32}


class Case:
    def __init__(self, name, op, inputs, n_outputs, attrs=None, domain=MS, opset=17, dtype=F32, outputs=None, ref=None):
        self.name, self.op, self.inputs, self.attrs, self.ref = name, op, inputs, attrs or {}, ref
        self.domain, self.opset, self.dtype = domain, opset, dtype
        self.outputs = outputs if outputs is not None else [f"y{i}" for i in range(n_outputs)]


def rnd(rng, shape, dtype=F32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def cases():
    rng = np.random.default_rng(12)
    out = []
    for dt in (F32, F16):
        t = "f16" if dt == F16 else "f32"
        # FusedMatMul: alpha and each transpose; logical A [2,3,4,5] x B [2,3,5,6].
        for ta, tb, tba, tbb in [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (1, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 1, 1)]:
            a_log, b_log = [2, 3, 4, 5], [2, 3, 5, 6]
            def stored(log, trans, trans_batch):
                s = list(log)
                if trans:
                    s[-1], s[-2] = s[-2], s[-1]
                if trans_batch:
                    s = [s[-2]] + s[:-2] + [s[-1]]
                return s
            out.append(Case(f"FusedMatMul_t{ta}{tb}_b{tba}{tbb}_{t}", "FusedMatMul",
                            {"A": rnd(rng, stored(a_log, ta, tba), dt), "B": rnd(rng, stored(b_log, tb, tbb), dt)}, 1,
                            {"alpha": 0.125, "transA": ta, "transB": tb, "transBatchA": tba, "transBatchB": tbb}, dtype=dt))
        out.append(Case(f"FusedMatMul_2d_bcast_{t}", "FusedMatMul", {"A": rnd(rng, [2, 7, 16], dt), "B": rnd(rng, [16, 9], dt)}, 1,
                        {"alpha": 2.0}, dtype=dt))
        for name in ("Gelu", "QuickGelu"):
            out.append(Case(f"{name}_{t}", name, {"X": rnd(rng, [2, 5, 24], dt, 2.0)}, 1, dtype=dt))
        out.append(Case(f"QuickGelu_alpha_{t}", "QuickGelu", {"X": rnd(rng, [3, 40], dt, 2.0)}, 1, {"alpha": 1.0}, dtype=dt))
        out.append(Case(f"FastGelu_{t}", "FastGelu", {"X": rnd(rng, [2, 5, 24], dt, 2.0)}, 1, dtype=dt))
        out.append(Case(f"FastGelu_bias_{t}", "FastGelu", {"X": rnd(rng, [2, 5, 24], dt, 2.0), "bias": rnd(rng, [24], dt)}, 1, dtype=dt))
        out.append(Case(f"BiasGelu_{t}", "BiasGelu", {"A": rnd(rng, [3, 4, 32], dt, 2.0), "B": rnd(rng, [32], dt)}, 1, dtype=dt))
        # ONNX Runtime has BiasAdd on CUDA only: numpy gives the reference (in float32).
        out.append(Case(f"BiasAdd_{t}", "BiasAdd", {"X": rnd(rng, [2, 3, 32], dt), "bias": rnd(rng, [32], dt),
                                                     "skip": rnd(rng, [2, 3, 32], dt)}, 1, dtype=dt,
                        ref=lambda i: [(i["X"].astype(F32) + i["bias"].astype(F32) + i["skip"].astype(F32)).astype(i["X"].dtype)]))
        # SkipLayerNormalization: optional beta / bias inputs and each optional output.
        for beta, bias, n_out in [(0, 0, 1), (1, 0, 1), (1, 1, 4), (0, 1, 4), (1, 1, 2)]:
            ins = {"input": rnd(rng, [2, 3, 16], dt), "skip": rnd(rng, [2, 3, 16], dt), "gamma": rnd(rng, [16], dt)}
            ins["beta"] = rnd(rng, [16], dt) if beta else None
            if bias:
                ins["bias"] = rnd(rng, [16], dt)
            outs = ["y0", "mean", "inv_std", "sum"][:n_out]
            out.append(Case(f"SkipLayerNormalization_beta{beta}_bias{bias}_out{n_out}_{t}", "SkipLayerNormalization", ins, 0,
                            {"epsilon": 1e-5} if beta else {}, dtype=dt, outputs=outs))
        out.append(Case(f"SkipLayerNormalization_skip2d_{t}", "SkipLayerNormalization",
                        {"input": rnd(rng, [2, 3, 16], dt), "skip": rnd(rng, [3, 16], dt), "gamma": rnd(rng, [16], dt),
                         "beta": rnd(rng, [16], dt)}, 1, dtype=dt))
        for bias, n_out in [(0, 1), (1, 1), (1, 4)]:
            ins = {"input": rnd(rng, [2, 3, 16], dt), "skip": rnd(rng, [2, 3, 16], dt), "gamma": rnd(rng, [16], dt)}
            if bias:
                ins["bias"] = rnd(rng, [16], dt)
            # mean is not defined for the RMS form: only inv_std_var and the sum are compared.
            outs = ["y0", "", "inv_std", "sum"][:n_out]
            out.append(Case(f"SkipSimplifiedLayerNormalization_bias{bias}_out{n_out}_{t}", "SkipSimplifiedLayerNormalization",
                            ins, 0, dtype=dt, outputs=outs))
        for axis in (-1, 1):
            out.append(Case(f"SimplifiedLayerNormalization_axis{axis}_{t}", "SimplifiedLayerNormalization",
                            {"X": rnd(rng, [2, 3, 8], dt), "scale": rnd(rng, [3, 8] if axis == 1 else [8], dt)}, 0,
                            {"axis": axis, "epsilon": 1e-6}, domain="", dtype=dt, outputs=["y0", "inv_std"]))
            out.append(Case(f"LayerNormalization1_axis{axis}_{t}", "LayerNormalization",
                            {"X": rnd(rng, [2, 3, 8], dt), "Scale": rnd(rng, [3, 8] if axis == 1 else [8], dt),
                             "B": rnd(rng, [3, 8] if axis == 1 else [8], dt)}, 0, {"axis": axis}, domain="", opset=13, dtype=dt,
                            outputs=["y0", "mean", "inv_std"]))
        # RotaryEmbedding: 3-D and 4-D input, interleaved or not, position_ids [B, S] or an offset [1].
        for interleaved in (0, 1):
            for four_d, offset in [(0, 0), (0, 1), (1, 0)]:
                B, S, N, H, max_s = 2, 5, 3, 8, 12
                pos = np.array([3], np.int64) if offset else rng.integers(0, max_s, (B, S)).astype(np.int64)
                x = rnd(rng, [B, N, S, H] if four_d else [B, S, N * H], dt)
                attrs = {"interleaved": interleaved}
                if not four_d:
                    attrs["num_heads"] = N
                out.append(Case(f"RotaryEmbedding_i{interleaved}_{'4d' if four_d else '3d'}_{'offset' if offset else 'ids'}_{t}",
                                "RotaryEmbedding", {"input": x, "position_ids": pos, "cos_cache": rnd(rng, [max_s, H // 2], dt),
                                                    "sin_cache": rnd(rng, [max_s, H // 2], dt)}, 1, attrs, dtype=dt))
    out += attention_cases(rng)
    # float32 only in ONNX Runtime's CPU EP: FusedGemm and FusedConv.
    for act, extra in [("Relu", {}), ("LeakyRelu", {"activation_alpha": 0.2}), ("Sigmoid", {}), ("Tanh", {}),
                       ("HardSigmoid", {"activation_alpha": 0.3, "activation_beta": 0.4})]:
        for ta, tb in [(0, 0), (1, 1)]:
            attrs = dict(extra, activation=act, alpha=0.5, beta=2.0, transA=ta, transB=tb)
            out.append(Case(f"FusedGemm_{act}_t{ta}{tb}", "FusedGemm",
                            {"A": rnd(rng, [6, 5] if ta else [5, 6]), "B": rnd(rng, [7, 6] if tb else [6, 7]),
                             "C": rnd(rng, [7])}, 1, attrs))
    for act, params in [("Relu", None), ("Clip", [0.0, 0.5]), ("LeakyRelu", [0.1]), ("Sigmoid", None), ("Tanh", None),
                        ("HardSigmoid", [0.3, 0.4])]:
        for with_z in (0, 1):
            ins = {"X": rnd(rng, [1, 3, 7, 7]), "W": rnd(rng, [4, 3, 3, 3]), "B": rnd(rng, [4])}
            if with_z:
                ins["Z"] = rnd(rng, [1, 4, 7, 7])
            attrs = {"activation": act, "kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
            if params:
                attrs["activation_params"] = params
            out.append(Case(f"FusedConv_{act}_z{with_z}", "FusedConv", ins, 1, attrs))
    return out


def mha_reference(q, k, v, heads):
    """softmax(Q K^T / sqrt(head)) V per head, for the packed forms ONNX Runtime's CPU EP lacks."""
    B, S, D = q.shape
    H = D // heads
    split = lambda t: t.reshape(t.shape[0], t.shape[1], heads, -1).transpose(0, 2, 1, 3).astype(np.float64)  # noqa: E731
    qh, kh, vh = split(q), split(k), split(v)
    scores = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(H)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    y = (p / p.sum(-1, keepdims=True)) @ vh
    return [y.transpose(0, 2, 1, 3).reshape(B, S, -1).astype(np.float32)]


def attention_cases(rng):
    """com.microsoft Attention and MultiHeadAttention: mask forms, past/present, packed inputs (float32)."""
    out = []
    B, S, N, H = 2, 5, 2, 8
    D = N * H
    i32 = lambda a: np.array(a, np.int32)  # noqa: E731
    raw = np.ones((B, S), np.int32)
    raw[1, 3:] = 0
    raw3 = np.tril(np.ones((S, S), np.int32))[None].repeat(B, 0)
    variants = [("plain", {}, {}), ("lengths", {"mask_index": i32([5, 3])}, {}), ("end_start", {"mask_index": i32([5, 4, 0, 1])}, {}),
                ("raw2d", {"mask_index": raw}, {}), ("raw3d", {"mask_index": raw3}, {}), ("unidirectional", {}, {"unidirectional": 1}),
                ("scale", {}, {"scale": 0.2}), ("attn_bias", {"attention_bias": rnd(rng, [1, N, S, S])}, {}),
                ("qkv_sizes", {}, {"qkv_hidden_sizes": [D, D, N * 4]})]
    for name, extra, attrs in variants:
        vd = attrs.get("qkv_hidden_sizes", [D, D, D])[2]
        ins = {"input": rnd(rng, [B, S, 12]), "weights": rnd(rng, [12, 2 * D + vd], scale=0.5), "bias": rnd(rng, [2 * D + vd])}
        ins["mask_index"] = extra.get("mask_index")
        if "attention_bias" in extra:
            ins["past"] = None
            ins["attention_bias"] = extra["attention_bias"]
        out.append(Case(f"Attention_{name}", "Attention", ins, 1, dict(attrs, num_heads=N)))
    P = 3
    out.append(Case("Attention_past_present", "Attention",
                    {"input": rnd(rng, [B, S, 12]), "weights": rnd(rng, [12, 3 * D], scale=0.5), "bias": rnd(rng, [3 * D]),
                     "mask_index": None, "past": rnd(rng, [2, B, N, P, H])}, 2, {"num_heads": N, "unidirectional": 1}))
    L = 6
    mha = [("plain", {"key": rnd(rng, [B, L, D]), "value": rnd(rng, [B, L, D])}, {}),
           ("bias", {"key": rnd(rng, [B, L, D]), "value": rnd(rng, [B, L, D]), "bias": rnd(rng, [3 * D])}, {}),
           ("lengths", {"key": rnd(rng, [B, L, D]), "value": rnd(rng, [B, L, D]), "bias": None, "key_padding_mask": i32([6, 2])}, {}),
           ("raw_mask", {"key": rnd(rng, [B, L, D]), "value": rnd(rng, [B, L, D]), "bias": None,
                         "key_padding_mask": np.array([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 0, 0]], np.int32)}, {}),
           ("attn_bias", {"key": rnd(rng, [B, L, D]), "value": rnd(rng, [B, L, D]), "bias": None, "key_padding_mask": None,
                          "attention_bias": rnd(rng, [B, 1, S, L])}, {}),
           ("bnsh", {"key": rnd(rng, [B, N, L, H]), "value": rnd(rng, [B, N, L, H])}, {}),
           ("scale", {"key": rnd(rng, [B, L, D]), "value": rnd(rng, [B, L, D])}, {"scale": 0.3})]
    for name, extra, attrs in mha:
        out.append(Case(f"MultiHeadAttention_{name}", "MultiHeadAttention", dict({"query": rnd(rng, [B, S, D])}, **extra), 1,
                        dict(attrs, num_heads=N)))
    # Packed K/V and QKV: not in ONNX Runtime's CPU EP, numpy gives the reference.
    out.append(Case("MultiHeadAttention_packed_kv", "MultiHeadAttention",
                    {"query": rnd(rng, [B, S, D]), "key": rnd(rng, [B, L, N, 2, H]), "value": None, "bias": rnd(rng, [3 * D])}, 1,
                    {"num_heads": N},
                    ref=lambda i, B=B, L=L, D=D, N=N: mha_reference(i["query"] + i["bias"][:D], i["key"][:, :, :, 0].reshape(B, L, D) + i["bias"][D:2 * D],
                                                i["key"][:, :, :, 1].reshape(B, L, D) + i["bias"][2 * D:], N)))
    out.append(Case("MultiHeadAttention_packed_qkv", "MultiHeadAttention", {"query": rnd(rng, [B, S, N, 3, H])}, 1, {"num_heads": N},
                    ref=lambda i, B=B, S=S, D=D, N=N: mha_reference(*(i["query"][:, :, :, j].reshape(B, S, D) for j in range(3)), N)))
    out.append(Case("MultiHeadAttention_past_present", "MultiHeadAttention",
                    {"query": rnd(rng, [B, 1, D]), "key": rnd(rng, [B, 1, D]), "value": rnd(rng, [B, 1, D]), "bias": rnd(rng, [3 * D]),
                     "key_padding_mask": None, "attention_bias": None, "past_key": rnd(rng, [B, N, P, H]),
                     "past_value": rnd(rng, [B, N, P, H])}, 3, {"num_heads": N}))
    # GroupQueryAttention: prompts (a right-padded batch too), a decode step over a past, rotary,
    # packed QKV, a local window; float32 and float16.
    N, Nk, max_len = 4, 2, 16
    for name, S, P, lens, attrs, packed, dt in [
            ("prompt", 5, 0, [4, 4], {}, 0, F32), ("prompt_padded", 5, 0, [4, 2], {}, 0, F32),
            ("decode", 1, 4, [4, 2], {}, 0, F32), ("rotary_prompt", 5, 0, [4, 4], {"do_rotary": 1}, 0, F32),
            ("rotary_decode_interleaved", 1, 4, [4, 3], {"do_rotary": 1, "rotary_interleaved": 1}, 0, F32),
            ("packed", 5, 0, [4, 4], {}, 1, F32), ("window", 5, 0, [4, 4], {"local_window_size": 2}, 0, F32),
            ("prompt_f16", 5, 0, [4, 4], {}, 0, F16), ("decode_f16", 1, 4, [4, 2], {"scale": 0.2}, 0, F16)]:
        H = 16 if attrs.get("do_rotary") else 8  # ONNX Runtime rotates heads of a multiple of 16 only
        total = S if P == 0 else max(lens) + 1
        ins = {"query": rnd(rng, [B, S, (N + 2 * Nk) * H if packed else N * H], dt),
               "key": None if packed else rnd(rng, [B, S, Nk * H], dt), "value": None if packed else rnd(rng, [B, S, Nk * H], dt),
               "past_key": rnd(rng, [B, Nk, P, H], dt) if P else None, "past_value": rnd(rng, [B, Nk, P, H], dt) if P else None,
               "seqlens_k": i32(lens), "total_sequence_length": i32([total]).reshape([])}
        if attrs.get("do_rotary"):
            ins["cos_cache"], ins["sin_cache"] = rnd(rng, [max_len, H // 2], dt), rnd(rng, [max_len, H // 2], dt)
        out.append(Case(f"GroupQueryAttention_{name}", "GroupQueryAttention", ins, 3, dict(attrs, num_heads=N, kv_num_heads=Nk),
                        dtype=dt))
    # EmbedLayerNormalization: with and without segments, mask and position_ids, embedding_sum.
    V, Pmax, Hd = 20, 16, 24
    for seg, mask, pos, n_out in [(1, 1, 0, 2), (0, 0, 0, 2), (1, 1, 1, 3), (0, 1, 0, 3)]:
        m = np.ones((B, S), np.int32)
        m[0, 4:] = 0
        ins = {"input_ids": rng.integers(0, V, (B, S)).astype(np.int32),
               "segment_ids": rng.integers(0, 2, (B, S)).astype(np.int32) if seg else None,
               "word_embedding": rnd(rng, [V, Hd]), "position_embedding": rnd(rng, [Pmax, Hd]),
               "segment_embedding": rnd(rng, [2, Hd]) if seg else None, "gamma": rnd(rng, [Hd]), "beta": rnd(rng, [Hd]),
               "mask": m if mask else None}
        if pos:
            ins["position_ids"] = rng.integers(0, Pmax, (B, S)).astype(np.int32)
        out.append(Case(f"EmbedLayerNormalization_seg{seg}_mask{mask}_pos{pos}_out{n_out}", "EmbedLayerNormalization", ins, 0,
                        {"epsilon": 1e-5}, outputs=["y0", "mask_index", "sum"][:n_out]))
    return out


def write_case(case, root):
    d = os.path.join(root, case.name)
    data = os.path.join(d, "test_data_set_0")
    os.makedirs(data)
    names, graph_inputs, k = [], [], 0
    for name, value in case.inputs.items():
        if value is None:
            names.append("")
            continue
        names.append(name)
        graph_inputs.append(helper.make_tensor_value_info(name, ONNX_TYPE[value.dtype.type], value.shape))
        with open(os.path.join(data, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, name).SerializeToString())
        k += 1
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node(case.op, names, case.outputs, domain=case.domain, **case.attrs)
    # Statistics outputs (mean, inv_std) are float32; the others have the case's dtype.
    kinds = {"mean": TensorProto.FLOAT, "inv_std": TensorProto.FLOAT, "mask_index": TensorProto.INT32}
    outs = [helper.make_tensor_value_info(o, kinds.get(o, ONNX_TYPE[case.dtype]), None)
            for o in case.outputs if o]
    graph = helper.make_graph([node], case.name, graph_inputs, outs)
    opsets = [helper.make_opsetid("", case.opset)] + ([helper.make_opsetid(MS, 1)] if case.domain == MS else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=8), os.path.join(d, "model.onnx"))
    return d


def read_outputs(d):
    files = sorted((f for f in os.listdir(d) if f.startswith("output_") and f.endswith(".pb")), key=lambda f: int(f[7:-3]))
    return [tensorproto.read_tensor(os.path.join(d, f))[1] for f in files]


def run_case(case, root, tessera):
    d = write_case(case, root)
    data = os.path.join(d, "test_data_set_0")
    if case.ref is None:
        ort = subprocess.run(["node", os.path.join(DIFF, "ort_run.js"), os.path.join(d, "model.onnx"), data,
                              os.path.join(d, "ort"), "--opt", "disabled", "--threads", "1"], capture_output=True, text=True)
        if ort.returncode != 0:
            return False, "onnxruntime failed: " + (ort.stderr.strip().splitlines() or ["?"])[-1]
    ts = subprocess.run([tessera, "run", os.path.join(d, "model.onnx"), "--data", data, "--output-dir",
                         os.path.join(d, "tessera")], capture_output=True, text=True)
    if ts.returncode != 0:
        return False, "tessera failed: " + (ts.stderr.strip().splitlines() or ["?"])[-1]
    refs = case.ref(case.inputs) if case.ref else read_outputs(os.path.join(d, "ort"))
    acts = read_outputs(os.path.join(d, "tessera"))
    if len(refs) != len(acts):
        return False, f"{len(acts)} outputs, onnxruntime gave {len(refs)}"
    rtol, atol = TOL[case.dtype]
    ok_all, parts = True, []
    for i, (ref, act) in enumerate(zip(refs, acts)):
        ok, detail = compare_one(ref, act, rtol, atol)
        ok_all &= ok
        parts.append(f"out{i}: {detail}")
    return ok_all, "; ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tessera")
    ap.add_argument("--filter", default="")
    ap.add_argument("--keep", help="write the cases here and keep them")
    args = ap.parse_args()
    if shutil.which("node") is None:
        print("node not installed: skipped")
        return 77
    probe = subprocess.run(["node", "-e", f"require({os.path.join(DIFF, 'ort_loader.js')!r}).loadOrt()"], capture_output=True)
    if probe.returncode != 0:
        print("onnxruntime-node not found: skipped")
        return 77
    root = args.keep or tempfile.mkdtemp(prefix="contrib_ops_")
    os.makedirs(root, exist_ok=True)
    passed = failed = 0
    try:
        # Each case is two processes (node and tessera): one case per core at a time.
        selected = [case for case in cases() if args.filter in case.name]
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for case, (ok, detail) in zip(selected, pool.map(lambda c: run_case(c, root, args.tessera), selected)):
                print(f"{'PASS' if ok else 'FAIL'} {case.name}: {detail}", flush=True)
                passed, failed = passed + ok, failed + (not ok)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
