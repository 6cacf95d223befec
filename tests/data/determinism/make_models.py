"""Makes the small ResNet-like and BERT-like models the determinism tests run
(tests/unit/api/determinism_test.cc): the op mix of the benchmark models (Conv/BatchNorm/Relu/Add/
GlobalAveragePool/Gemm/Softmax; Gather embeddings, LayerNormalization, attention, Erf GELU) at a
size that runs in milliseconds, with symbolic batch (and sequence) dims.
Run with Debian's python3-onnx: /usr/bin/python3 make_models.py (outputs are committed)."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(11)


def weight(name, *shape, scale=0.2):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def save(graph, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(here, name))


def resnet_like():
    nodes, inits = [], []

    def conv(x, y, cin, cout, stride=1, relu=True):
        inits.extend([weight(y + "_w", cout, cin, 3, 3), weight(y + "_b", cout)])
        nodes.append(helper.make_node("Conv", [x, y + "_w", y + "_b"], [y + "_c"], name=y, pads=[1, 1, 1, 1],
                                      strides=[stride, stride], kernel_shape=[3, 3]))
        scale = numpy_helper.from_array((1 + 0.1 * rng.standard_normal(cout)).astype(np.float32), y + "_s")
        var = numpy_helper.from_array((1 + 0.1 * rng.random(cout)).astype(np.float32), y + "_v")
        inits.extend([scale, weight(y + "_bb", cout), weight(y + "_m", cout), var])
        nodes.append(helper.make_node("BatchNormalization", [y + "_c", y + "_s", y + "_bb", y + "_m", y + "_v"],
                                      [y + "_n" if relu else y], name=y + "_bn"))
        if relu:
            nodes.append(helper.make_node("Relu", [y + "_n"], [y], name=y + "_relu"))
        return y

    x = conv("image", "stem", 3, 16)
    y = conv(conv(x, "b1a", 16, 16), "b1b", 16, 16, relu=False)
    nodes.append(helper.make_node("Add", [x, y], ["res1"], name="res1_add"))
    nodes.append(helper.make_node("Relu", ["res1"], ["res1_out"], name="res1_relu"))
    z = conv("res1_out", "down", 16, 32, stride=2)
    nodes.append(helper.make_node("GlobalAveragePool", [z], ["pooled"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"))
    inits.extend([weight("fc_w", 10, 32), weight("fc_b", 10)])
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1))
    graph = helper.make_graph(nodes, "resnet_like",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 16, 16])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])], inits)
    save(graph, "resnet_like.onnx")


def bert_like(hidden=64, heads=4, ffn=128, vocab=100, layers=1):
    head = hidden // heads
    nodes, inits = [], []
    const = lambda name, values, dtype=np.int64: inits.append(numpy_helper.from_array(np.array(values, dtype), name))
    inits.append(weight("word_emb", vocab, hidden))
    inits.append(weight("pos_emb", 64, hidden))
    const("split_heads", [0, 0, heads, head])
    const("merge_heads", [0, 0, hidden])
    const("scale", np.sqrt(head), np.float32)
    const("sqrt2", np.sqrt(2.0), np.float32)
    const("one", 1.0, np.float32)
    const("half", 0.5, np.float32)
    const("zero", [0])
    const("axis1", [1])
    nodes.append(helper.make_node("Gather", ["word_emb", "input_ids"], ["words"], name="embed"))
    nodes.append(helper.make_node("Shape", ["input_ids"], ["ids_shape"], name="ids_shape"))
    nodes.append(helper.make_node("Gather", ["ids_shape", "axis1"], ["seq_len"], name="seq_len", axis=0))
    nodes.append(helper.make_node("Slice", ["pos_emb", "zero", "seq_len"], ["positions"], name="positions"))
    nodes.append(helper.make_node("Add", ["words", "positions"], ["emb"], name="emb_add"))

    def layer_norm(x, y):
        inits.extend([numpy_helper.from_array((1 + 0.1 * rng.standard_normal(hidden)).astype(np.float32), y + "_g"),
                      weight(y + "_b", hidden)])
        nodes.append(helper.make_node("LayerNormalization", [x, y + "_g", y + "_b"], [y], name=y, axis=-1, epsilon=1e-5))
        return y

    def dense(x, y, n_in, n_out):
        inits.extend([weight(y + "_w", n_in, n_out), weight(y + "_b", n_out)])
        nodes.append(helper.make_node("MatMul", [x, y + "_w"], [y + "_mm"], name=y + "_mm"))
        nodes.append(helper.make_node("Add", [y + "_mm", y + "_b"], [y], name=y + "_bias"))
        return y

    x = layer_norm("emb", "emb_ln")
    for i in range(layers):
        p = f"l{i}_"
        q, k, v = (dense(x, p + n, hidden, hidden) for n in ("q", "k", "v"))
        for n, src in (("q", q), ("k", k), ("v", v)):
            nodes.append(helper.make_node("Reshape", [src, "split_heads"], [p + n + "_heads"], name=p + n + "_reshape"))
        nodes.append(helper.make_node("Transpose", [p + "q_heads"], [p + "qt"], name=p + "qt", perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Transpose", [p + "k_heads"], [p + "kt"], name=p + "kt", perm=[0, 2, 3, 1]))
        nodes.append(helper.make_node("Transpose", [p + "v_heads"], [p + "vt"], name=p + "vt", perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("MatMul", [p + "qt", p + "kt"], [p + "scores"], name=p + "scores"))
        nodes.append(helper.make_node("Div", [p + "scores", "scale"], [p + "scaled"], name=p + "scaled"))
        nodes.append(helper.make_node("Softmax", [p + "scaled"], [p + "probs"], name=p + "softmax", axis=-1))
        nodes.append(helper.make_node("MatMul", [p + "probs", p + "vt"], [p + "ctx"], name=p + "ctx"))
        nodes.append(helper.make_node("Transpose", [p + "ctx"], [p + "ctx_t"], name=p + "ctx_t", perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [p + "ctx_t", "merge_heads"], [p + "merged"], name=p + "merge"))
        out = dense(p + "merged", p + "out", hidden, hidden)
        nodes.append(helper.make_node("Add", [x, out], [p + "res1"], name=p + "res1"))
        x = layer_norm(p + "res1", p + "ln1")
        h = dense(x, p + "ffn_in", hidden, ffn)
        nodes.append(helper.make_node("Div", [h, "sqrt2"], [p + "g_div"], name=p + "g_div"))
        nodes.append(helper.make_node("Erf", [p + "g_div"], [p + "g_erf"], name=p + "g_erf"))
        nodes.append(helper.make_node("Add", [p + "g_erf", "one"], [p + "g_add"], name=p + "g_add"))
        nodes.append(helper.make_node("Mul", [h, p + "g_add"], [p + "g_mul"], name=p + "g_mul"))
        nodes.append(helper.make_node("Mul", [p + "g_mul", "half"], [p + "gelu"], name=p + "g_half"))
        f = dense(p + "gelu", p + "ffn_out", ffn, hidden)
        nodes.append(helper.make_node("Add", [x, f], [p + "res2"], name=p + "res2"))
        x = layer_norm(p + "res2", p + "ln2")
    nodes.append(helper.make_node("ReduceMean", [x], ["pooled"], name="pool", axes=[1], keepdims=0))
    graph = helper.make_graph(nodes, "bert_like",
                              [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "seq", hidden]),
                               helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])], inits)
    save(graph, "bert_like.onnx")


resnet_like()
bert_like()
