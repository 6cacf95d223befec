"""Typical onnxruntime scripts, written as their users write them, run unchanged on Tessera."""

import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import tessera as onnxruntime
from conftest import DIGITS, make_model, read_tensor


def test_image_classification_with_numpy_preprocessing(digits_model):
    # Raw 8x8 images with pixel values 0..16, as scikit-learn's digits come.
    raw = np.rint(read_tensor(DIGITS / "samples" / "input_0.pb")[:, 0] * 16).astype(np.uint8)
    labels = json.load(open(DIGITS / "samples" / "labels.json"))["labels"]

    session = onnxruntime.InferenceSession(digits_model, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    output_name = session.get_outputs()[0].name
    predictions = []
    for image in raw:
        batch = (image.astype(np.float32) / 16.0)[np.newaxis, np.newaxis, :, :]
        probabilities = session.run([output_name], {input_name: batch})[0]
        predictions.append(int(np.argmax(probabilities, axis=1)[0]))
        np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)
    assert predictions == labels


def bert_like(vocab=50, hidden=16, max_len=12, seed=0):
    """A one-layer BERT-like encoder (embeddings, LayerNorm, single-head self-attention with the
    padding mask, residual, LayerNorm, tanh pooler) and a numpy implementation of it."""
    rng = np.random.default_rng(seed)
    w = {name: (rng.standard_normal(shape) * 0.2).astype(np.float32) for name, shape in [
        ("word", (vocab, hidden)), ("pos", (max_len, hidden)), ("type", (2, hidden)), ("wq", (hidden, hidden)),
        ("wk", (hidden, hidden)), ("wv", (hidden, hidden)), ("wo", (hidden, hidden)), ("wp", (hidden, hidden))]}
    w["gamma"] = np.ones(hidden, np.float32)
    w["beta"] = np.zeros(hidden, np.float32)
    w["scale"] = np.array(1 / np.sqrt(hidden), np.float32)
    w["big"] = np.array(-10000.0, np.float32)
    w["one"] = np.array(1.0, np.float32)
    w["zero"] = np.array([0], np.int64)
    w["axis1"] = np.array([1], np.int64)
    node = helper.make_node
    nodes = [
        node("Shape", ["input_ids"], ["ids_shape"]),
        node("Gather", ["ids_shape", "axis1"], ["seq_len"]),
        node("Slice", ["pos", "zero", "seq_len", "zero"], ["pos_used"]),
        node("Gather", ["word", "input_ids"], ["we"]),
        node("Gather", ["type", "token_type_ids"], ["te"]),
        node("Add", ["we", "te"], ["e1"]),
        node("Add", ["e1", "pos_used"], ["e2"]),
        node("LayerNormalization", ["e2", "gamma", "beta"], ["x"], axis=-1, epsilon=1e-12),
        node("MatMul", ["x", "wq"], ["q"]), node("MatMul", ["x", "wk"], ["k"]), node("MatMul", ["x", "wv"], ["v"]),
        node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        node("MatMul", ["q", "kt"], ["qk"]),
        node("Mul", ["qk", "scale"], ["scores"]),
        node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        node("Unsqueeze", ["maskf", "axis1"], ["mask3"]),
        node("Sub", ["one", "mask3"], ["inv"]),
        node("Mul", ["inv", "big"], ["bias"]),
        node("Add", ["scores", "bias"], ["masked"]),
        node("Softmax", ["masked"], ["probs"], axis=-1),
        node("MatMul", ["probs", "v"], ["ctx"]),
        node("MatMul", ["ctx", "wo"], ["attn"]),
        node("Add", ["attn", "x"], ["res"]),
        node("LayerNormalization", ["res", "gamma", "beta"], ["last_hidden_state"], axis=-1, epsilon=1e-12),
        node("Gather", ["last_hidden_state", "zero"], ["first3"], axis=1),
        node("Squeeze", ["first3", "axis1"], ["first"]),
        node("MatMul", ["first", "wp"], ["pooled"]),
        node("Tanh", ["pooled"], ["pooler_output"]),
    ]
    ids = [(name, TensorProto.INT64, ["batch", "sequence"]) for name in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden]),
               ("pooler_output", TensorProto.FLOAT, ["batch", hidden])]
    model = make_model(nodes, ids, outputs, [numpy_helper.from_array(v, k) for k, v in w.items()])

    def reference(input_ids, attention_mask, token_type_ids):
        def layer_norm(t):
            mean = t.mean(-1, keepdims=True)
            return (t - mean) / np.sqrt(((t - mean) ** 2).mean(-1, keepdims=True) + 1e-12)

        x = layer_norm(w["word"][input_ids] + w["type"][token_type_ids] + w["pos"][:input_ids.shape[1]])
        scores = (x @ w["wq"]) @ (x @ w["wk"]).transpose(0, 2, 1) * w["scale"]
        scores = scores + (1 - attention_mask[:, None, :].astype(np.float32)) * -10000.0
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        hidden_state = layer_norm((probs @ (x @ w["wv"])) @ w["wo"] + x)
        return hidden_state, np.tanh(hidden_state[:, 0] @ w["wp"])

    return model, reference


def test_bert_like_model_fed_token_ids(tmp_path):
    model, reference = bert_like()
    path = tmp_path / "bert_like.onnx"
    path.write_bytes(model.SerializeToString())

    vocabulary = {word: i for i, word in enumerate("[PAD] [CLS] [SEP] the a cat dog sat on mat ran".split())}

    def tokenize(sentences, max_len):
        ids = np.zeros((len(sentences), max_len), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, sentence in enumerate(sentences):
            tokens = ["[CLS]"] + sentence.split() + ["[SEP]"]
            ids[row, :len(tokens)] = [vocabulary[t] for t in tokens]
            mask[row, :len(tokens)] = 1
        return ids, mask

    input_ids, attention_mask = tokenize(["the cat sat on the mat", "a dog ran"], max_len=10)
    token_type_ids = np.zeros_like(input_ids)

    session_options = onnxruntime.SessionOptions()
    session_options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session_options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(path), session_options, providers=["CPUExecutionProvider"])
    ort_inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
    last_hidden_state, pooler_output = session.run(["last_hidden_state", "pooler_output"], ort_inputs)

    assert last_hidden_state.shape == (2, 10, 16) and pooler_output.shape == (2, 16)
    expected_hidden, expected_pooled = reference(input_ids, attention_mask, token_type_ids)
    np.testing.assert_allclose(last_hidden_state, expected_hidden, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(pooler_output, expected_pooled, rtol=1e-3, atol=1e-4)


# What such scripts keep to map type strings to numpy.
ORT_TYPE_TO_NUMPY = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_, "tensor(string)": np.str_,
}


def random_feeds(session, rng):
    feeds = {}
    for model_input in session.get_inputs():
        shape = [dim if isinstance(dim, int) else 1 for dim in model_input.shape]
        dtype = ORT_TYPE_TO_NUMPY[model_input.type]
        if dtype == np.bool_:
            feeds[model_input.name] = rng.random(shape) > 0.5
        elif np.issubdtype(dtype, np.integer):
            feeds[model_input.name] = rng.integers(0, 2, size=shape).astype(dtype)
        elif dtype == np.str_:
            feeds[model_input.name] = np.array(["token"] * int(np.prod(shape))).reshape(shape)
        else:
            feeds[model_input.name] = rng.random(shape).astype(dtype)
    return feeds


def test_random_feeds_built_from_get_inputs(digits_model, tmp_path):
    mixed = make_model([helper.make_node("Where", ["cond", "a", "b"], ["picked"]),
                        helper.make_node("Cast", ["count"], ["count_f"], to=TensorProto.DOUBLE),
                        helper.make_node("Identity", ["names"], ["names_out"])],
                       [("cond", TensorProto.BOOL, ["n", 3]), ("a", TensorProto.FLOAT16, ["n", 3]),
                        ("b", TensorProto.FLOAT16, [1, 3]), ("count", TensorProto.INT32, [2]),
                        ("names", TensorProto.STRING, ["k"])],
                       [("picked", TensorProto.FLOAT16, ["n", 3]), ("count_f", TensorProto.DOUBLE, [2]),
                        ("names_out", TensorProto.STRING, ["k"])])
    bert, _ = bert_like()
    rng = np.random.default_rng(0)
    for name, model in (("digits", digits_model), ("mixed", mixed.SerializeToString()),
                        ("bert", bert.SerializeToString())):
        session = onnxruntime.InferenceSession(model)
        feeds = random_feeds(session, rng)
        outputs = session.run(None, feeds)
        for output, meta in zip(outputs, session.get_outputs()):
            expected_type = np.object_ if meta.type == "tensor(string)" else ORT_TYPE_TO_NUMPY[meta.type]
            assert output.dtype.type == expected_type
            assert output.shape == tuple(dim if isinstance(dim, int) else 1 for dim in meta.shape)
        if name == "digits":
            np.testing.assert_allclose(outputs[0].sum(), 1.0, rtol=1e-5)
        elif name == "mixed":
            np.testing.assert_array_equal(outputs[0], np.where(feeds["cond"], feeds["a"], feeds["b"]))
            np.testing.assert_array_equal(outputs[1], feeds["count"].astype(np.float64))
            assert outputs[2].tolist() == ["token"]
        else:  # one token: attention over itself, so the output is LayerNorm'd (mean 0 per row)
            np.testing.assert_allclose(outputs[0].mean(-1), 0, atol=1e-5)
