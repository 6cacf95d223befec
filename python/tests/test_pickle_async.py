"""Beyond ONNX Runtime: sessions pickle (re-created from the model bytes and options) and
run_async is awaitable."""

import asyncio
import pickle

import numpy as np

import tessera


def test_pickled_session_runs_the_same(digits_model, digits_data, tmp_path):
    options = tessera.SessionOptions()
    options.graph_optimization_level = tessera.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.example", "1")
    session = tessera.InferenceSession(digits_model, sess_options=options)
    copy = pickle.loads(pickle.dumps(session))
    restored = copy.get_session_options()
    assert restored.graph_optimization_level == tessera.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert restored.intra_op_num_threads == 1
    assert restored.get_session_config_entry("session.example") == "1"
    assert copy.get_providers() == ["CPUExecutionProvider"]
    image, expected = digits_data
    np.testing.assert_array_equal(copy.run(None, {"image": image})[0], session.run(None, {"image": image})[0])


def test_run_async_is_awaitable(digits_model, digits_data):
    session = tessera.InferenceSession(digits_model)
    image, expected = digits_data

    async def main():
        return await asyncio.gather(*(session.run_async(None, {"image": image[i:i + 1]}) for i in range(len(image))))

    results = asyncio.run(main())
    np.testing.assert_allclose(np.concatenate([r[0] for r in results]), expected, rtol=1e-3, atol=1e-6)
