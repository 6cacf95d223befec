#!/usr/bin/python3
"""Writes small crafted graphs of ONNX Runtime's quantized com.microsoft ops, one case folder each
(model.onnx, test_data_set_0/input_K.pb, tolerance.json), with random inputs from a fixed seed.

Usage: gen_cases.py OUT_DIR [--list]
Each op gets several shapes, dtypes and attribute variants: zero points present and omitted,
int8 and uint8, odd K and K not a multiple of block_size for MatMulNBits, both its kernel paths
(a few rows: fused dot product; more rows: dequantized panels), opset forms of QLinearSoftmax,
both channels_last values of QLinearGlobalAveragePool. tolerance.json says how a case's outputs
compare: integer outputs within `quanta` (0: bit-exact), float outputs within rtol/atol.
"""
import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

RNG = np.random.default_rng(20261206)
NP_TO_ONNX = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16, np.uint8: TensorProto.UINT8,
              np.int8: TensorProto.INT8, np.int32: TensorProto.INT32}


def onnx_type(dtype):
    return NP_TO_ONNX[np.dtype(dtype).type]


class Case:
    """One node graph: `feeds` become graph inputs (and input_K.pb), `consts` initializers."""

    def __init__(self, name, op, attrs=None, quanta=0, rtol=1e-4, atol=1e-4):
        self.name, self.op, self.attrs = name, op, attrs or {}
        self.inputs, self.feeds, self.consts = [], [], []
        self.tolerance = {"quanta": quanta, "rtol": rtol, "atol": atol}

    def feed(self, name, value):
        self.inputs.append(name)
        self.feeds.append((name, np.asarray(value)))
        return self

    def const(self, name, value):
        self.inputs.append(name)
        self.consts.append((name, np.asarray(value)))
        return self

    def skip(self):  # an omitted optional input
        self.inputs.append("")
        return self

    def write(self, out_dir, out_dtype, out_shape=None):
        while self.inputs and self.inputs[-1] == "":
            self.inputs.pop()
        node = helper.make_node(self.op, self.inputs, ["Y"], domain="com.microsoft", **self.attrs)
        graph = helper.make_graph(
            [node], self.name,
            [helper.make_tensor_value_info(n, onnx_type(v.dtype), list(v.shape)) for n, v in self.feeds],
            [helper.make_tensor_value_info("Y", onnx_type(out_dtype), out_shape)],
            [numpy_helper.from_array(v, n) for n, v in self.consts])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        d = os.path.join(out_dir, self.name)
        os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
        save(model, os.path.join(d, "model.onnx"))
        for k, (n, v) in enumerate(self.feeds):
            with open(os.path.join(d, "test_data_set_0", f"input_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, n).SerializeToString())
        with open(os.path.join(d, "tolerance.json"), "w") as f:
            json.dump(self.tolerance, f)


def q_random(dtype, shape):
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max + 1, size=shape, dtype=np.int64).astype(dtype)


def scalar(dtype, value):
    return np.array(value, dtype=dtype)


# ---- MatMulNBits ------------------------------------------------------------------------

def pack_codes(codes, bits, per_row):
    """codes [rows, count] of `bits` bits -> [rows, per_row] bytes, low bits first."""
    rows, count = codes.shape
    out = np.zeros((rows, per_row), np.uint8)
    for i in range(count):
        bit = i * bits
        out[:, bit // 8] |= (codes[:, i].astype(np.uint8) << (bit % 8)).astype(np.uint8)
    return out


def matmul_nbits_cases(out):
    # (name, rows of A (tuple: leading dims), K, N, block_size, bits, zero points, bias, dtype)
    variants = [
        ("m1_k64_b16_nozp", (1,), 64, 16, 16, 4, None, False, np.float32),
        ("m1_k4096_b32_packed", (1,), 4096, 24, 32, 4, "packed", True, np.float32),
        ("m3_k100_b32_packed", (3,), 100, 24, 32, 4, "packed", False, np.float32),  # K % block != 0
        ("m2_k77_b16_float_zp", (2,), 77, 10, 16, 4, "float", True, np.float32),  # odd K
        ("rank3_k96_b32_bias", (2, 3), 96, 17, 32, 4, "packed", True, np.float32),  # 6 rows: panels
        ("m9_k130_b64_nozp", (9,), 130, 40, 64, 4, None, False, np.float32),
        ("m33_k256_b128_packed", (33,), 256, 70, 128, 4, "packed", True, np.float32),
        ("bits8_m1_k50_b16_packed", (1,), 50, 12, 16, 8, "packed", True, np.float32),
        ("bits8_m7_k64_b32_nozp", (7,), 64, 9, 32, 8, None, False, np.float32),
        ("fp16_m2_k64_b32_packed", (2,), 64, 8, 32, 4, "packed", False, np.float16),
        ("fp16_m5_k48_b16_float_zp", (5,), 48, 6, 16, 4, "float", True, np.float16),
    ]
    for name, lead, K, N, bs, bits, zp_kind, bias, dtype in variants:
        blocks = (K + bs - 1) // bs
        codes = RNG.integers(0, 1 << bits, size=(N, blocks * bs))
        codes[:, K:] = 0  # padding past K
        B = pack_codes(codes, bits, blocks * bs * bits // 8).reshape(N, blocks, bs * bits // 8)
        scales = (RNG.random((N * blocks,)) * 0.1 + 0.01).astype(dtype)
        tol = 2e-3 if dtype == np.float16 else 1e-4
        c = Case(f"matmul_nbits_{name}", "MatMulNBits", dict(K=K, N=N, bits=bits, block_size=bs),
                 rtol=tol, atol=tol * (10 if dtype == np.float16 else 1))
        c.feed("A", RNG.standard_normal(lead + (K,)).astype(dtype)).const("B", B).const("scales", scales)
        if zp_kind == "packed":
            zcodes = RNG.integers(0, 1 << bits, size=(N, blocks))
            c.const("zero_points", pack_codes(zcodes, bits, (blocks * bits + 7) // 8).reshape(-1))
        elif zp_kind == "float":
            c.const("zero_points", RNG.uniform(0, (1 << bits) - 1, size=(N * blocks,)).astype(dtype))
        elif bias:
            c.skip()
        if bias:
            c.skip().const("bias", RNG.standard_normal((N,)).astype(dtype))
        c.write(out, dtype, list(lead) + [N])


# ---- integer matrix products with float or requantized output ------------------------------

def dynamic_quantize_matmul_cases(out):
    for name, a_shape, N, b_type, per_col, zp, bias in [
        ("2d_int8", (4, 16), 8, np.int8, False, False, False),
        ("3d_uint8_zp_bias", (2, 3, 20), 7, np.uint8, True, True, True),
        ("int8_percol_bias", (5, 9), 6, np.int8, True, False, True),
    ]:
        K = a_shape[-1]
        c = Case(f"dynamic_quantize_matmul_{name}", "DynamicQuantizeMatMul", rtol=1e-4, atol=1e-4)
        c.feed("A", RNG.standard_normal(a_shape).astype(np.float32)).const("B", q_random(b_type, (K, N)))
        c.const("b_scale", (RNG.random((N,) if per_col else ()) * 0.05 + 0.01).astype(np.float32))
        if zp:
            c.const("b_zero_point", q_random(b_type, (N,) if per_col else ()))
        elif bias:
            c.skip()
        if bias:
            c.const("bias", RNG.standard_normal((N,)).astype(np.float32))
        c.write(out, np.float32, list(a_shape[:-1]) + [N])


def matmul_integer_to_float_cases(out):
    for name, a_shape, N, a_type, b_type, per_col, zps, bias in [
        ("u8_s8", (3, 10), 5, np.uint8, np.int8, False, True, False),
        ("u8_u8_percol_bias", (2, 4, 12), 6, np.uint8, np.uint8, True, True, True),
        ("s8_s8_nozp", (7, 8), 4, np.int8, np.int8, False, False, True),
    ]:
        K = a_shape[-1]
        c = Case(f"matmul_integer_to_float_{name}", "MatMulIntegerToFloat")
        c.feed("A", q_random(a_type, a_shape)).const("B", q_random(b_type, (K, N)))
        c.const("a_scale", scalar(np.float32, 0.02))
        c.const("b_scale", (RNG.random((N,) if per_col else ()) * 0.05 + 0.01).astype(np.float32))
        if zps:
            c.const("a_zero_point", q_random(a_type, ())).const("b_zero_point", q_random(b_type, (N,) if per_col else ()))
        elif bias:
            c.skip().skip()
        if bias:
            c.const("bias", RNG.standard_normal((N,)).astype(np.float32))
        c.write(out, np.float32, list(a_shape[:-1]) + [N])


def qgemm_cases(out):
    # ORT's CPU QGemm takes uint8 A with either B, int8 A with int8 B; a quantized Y has A's type.
    for name, M, K, N, ta, tb, a_type, b_type, c_kind, y_out, alpha in [
        ("float_out", 4, 12, 5, 0, 0, np.uint8, np.int8, None, None, 1.0),
        ("float_out_transb_bias", 3, 9, 6, 0, 1, np.uint8, np.uint8, "row", None, 0.5),
        ("u8_out_transa", 5, 7, 4, 1, 0, np.uint8, np.int8, "full", np.uint8, 1.0),
        ("s8_out_percol", 6, 16, 8, 0, 1, np.int8, np.int8, "row", np.int8, 2.0),
        ("s8_float_out_percol", 2, 5, 3, 1, 1, np.int8, np.int8, "full", None, 1.0),
    ]:
        c = Case(f"qgemm_{name}", "QGemm", dict(alpha=alpha, transA=ta, transB=tb), quanta=1)
        a_shape = (K, M) if ta else (M, K)
        b_shape = (N, K) if tb else (K, N)
        per_col = "percol" in name
        c.feed("A", q_random(a_type, a_shape)).const("a_scale", scalar(np.float32, 0.03)).const("a_zero_point", q_random(a_type, ()))
        c.const("B", q_random(b_type, b_shape))
        c.const("b_scale", (RNG.random((N,) if per_col else ()) * 0.05 + 0.01).astype(np.float32))
        c.const("b_zero_point", q_random(b_type, (N,) if per_col else ()) if b_type == np.uint8 else np.zeros((N,) if per_col else (), np.int8))
        if c_kind == "row":
            c.const("C", RNG.integers(-500, 500, size=(N,)).astype(np.int32))
        elif c_kind == "full":
            c.const("C", RNG.integers(-500, 500, size=(M, N)).astype(np.int32))
        elif y_out is not None:
            c.skip()
        if y_out is not None:
            c.const("y_scale", scalar(np.float32, 0.5)).const("y_zero_point", scalar(y_out, 3 if y_out == np.uint8 else -2))
        c.write(out, y_out or np.float32, [M, N])


# ---- QLinear elementwise, pooling, concatenation, softmax ----------------------------------

def qlinear_binary_cases(out):
    for op in ("QLinearAdd", "QLinearMul"):
        # ORT's type inference refuses an omitted zero point here, so every case has all three.
        for name, dtype, a_shape, b_shape in [
            ("u8_same", np.uint8, (2, 3, 4), (2, 3, 4)),
            ("s8_broadcast", np.int8, (3, 1, 5), (4, 1)),
            ("u8_scalar", np.uint8, (6, 7), ()),
        ]:
            c = Case(f"{op.lower()}_{name}", op, quanta=1)
            c.feed("A", q_random(dtype, a_shape)).const("A_scale", scalar(np.float32, 0.05))
            c.const("A_zero_point", q_random(dtype, ()))
            c.feed("B", q_random(dtype, b_shape)).const("B_scale", scalar(np.float32, 0.03 if op == "QLinearAdd" else 0.02))
            c.const("B_zero_point", q_random(dtype, ()))
            c.const("C_scale", scalar(np.float32, 0.07 if op == "QLinearAdd" else 0.25)).const("C_zero_point", q_random(dtype, ()))
            out_shape = list(np.broadcast_shapes(a_shape, b_shape))
            c.write(out, dtype, out_shape)


def qlinear_unary_cases(out):
    for op, attrs in (("QLinearSigmoid", {}), ("QLinearLeakyRelu", {"alpha": 0.1})):
        for name, dtype, shape, zps in [("u8", np.uint8, (4, 64), True), ("s8", np.int8, (2, 3, 50), True),
                                        ("u8_nozp", np.uint8, (300,), False)]:
            c = Case(f"{op.lower()}_{name}", op, attrs, quanta=1)
            c.feed("X", np.arange(np.prod(shape)).astype(np.int64).reshape(shape).astype(dtype))  # every code
            c.const("X_scale", scalar(np.float32, 0.05))
            c.const("X_zero_point", q_random(dtype, ())) if zps else c.skip()
            c.const("Y_scale", scalar(np.float32, 1.0 / 256 if op == "QLinearSigmoid" else 0.04))
            # ORT fails without Y_zero_point, so only X's is omitted.
            c.const("Y_zero_point", scalar(dtype, 0 if dtype == np.uint8 else -128) if op == "QLinearSigmoid" else q_random(dtype, ()))
            c.write(out, dtype, list(shape))


def qlinear_global_average_pool_cases(out):
    for name, dtype, shape, last in [("nchw_u8", np.uint8, (2, 3, 5, 5), 0), ("nhwc_u8", np.uint8, (2, 4, 4, 6), 1),
                                     ("nchw_s8", np.int8, (1, 8, 7, 3), 0), ("nhwc_s8_1d", np.int8, (3, 9, 5), 1)]:
        c = Case(f"qlinear_global_average_pool_{name}", "QLinearGlobalAveragePool", {"channels_last": last}, quanta=1)
        c.feed("X", q_random(dtype, shape)).const("x_scale", scalar(np.float32, 0.1)).const("x_zero_point", q_random(dtype, ()))
        c.const("y_scale", scalar(np.float32, 0.05)).const("y_zero_point", q_random(dtype, ()))
        out_shape = [shape[0]] + [1] * (len(shape) - 2) + [shape[-1]] if last else list(shape[:2]) + [1] * (len(shape) - 2)
        c.write(out, dtype, out_shape)


def qlinear_concat_cases(out):
    for name, dtype, shapes, axis in [("u8_axis1", np.uint8, [(2, 3, 4), (2, 5, 4), (2, 1, 4)], 1),
                                      ("s8_axis_last", np.int8, [(3, 2), (3, 4)], -1),
                                      ("u8_axis0", np.uint8, [(1, 6), (2, 6), (3, 6)], 0)]:
        c = Case(f"qlinear_concat_{name}", "QLinearConcat", {"axis": axis}, quanta=1)
        y_scale, y_zp = 0.08, q_random(dtype, ())
        c.const("Y_scale", scalar(np.float32, y_scale)).const("Y_zero_point", y_zp)
        for i, s in enumerate(shapes):
            c.feed(f"X{i}", q_random(dtype, s))
            if i == 0:  # the same parameters as Y: copied
                c.const(f"X{i}_scale", scalar(np.float32, y_scale)).const(f"X{i}_zero_point", y_zp)
            else:
                c.const(f"X{i}_scale", scalar(np.float32, 0.03 * (i + 1))).const(f"X{i}_zero_point", q_random(dtype, ()))
        out_shape = list(shapes[0])
        out_shape[axis] = sum(s[axis] for s in shapes)
        c.write(out, dtype, out_shape)


def qlinear_softmax_cases(out):
    for name, dtype, shape, axis, opset in [("u8_last_13", np.uint8, (3, 10), -1, 13), ("s8_last_13", np.int8, (2, 4, 16), -1, 13),
                                            ("u8_axis1_13", np.uint8, (2, 5, 3), 1, 13), ("u8_axis1_12", np.uint8, (2, 5, 3), 1, 12),
                                            ("s8_axis0_11", np.int8, (4, 3), 0, 11)]:
        c = Case(f"qlinear_softmax_{name}", "QLinearSoftmax", {"axis": axis, "opset": opset}, quanta=1)
        c.feed("X", q_random(dtype, shape)).const("X_scale", scalar(np.float32, 0.04)).const("x_zero_point", q_random(dtype, ()))
        c.const("y_scale", scalar(np.float32, 1.0 / 256)).const("y_zero_point", scalar(dtype, 0 if dtype == np.uint8 else -128))
        c.write(out, dtype, list(shape))


GENERATORS = [matmul_nbits_cases, dynamic_quantize_matmul_cases, matmul_integer_to_float_cases, qgemm_cases,
              qlinear_binary_cases, qlinear_unary_cases, qlinear_global_average_pool_cases, qlinear_concat_cases,
              qlinear_softmax_cases]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_cases.py OUT_DIR")
    for gen in GENERATORS:
        gen(sys.argv[1])


if __name__ == "__main__":
    main()
