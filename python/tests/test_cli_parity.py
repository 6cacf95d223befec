"""InferenceSession gives the CLI's outputs (`tessera run`) for the same model and inputs."""

import os
import pathlib
import subprocess

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import tessera
from conftest import DIGITS, REPO, read_tensor


def cli_outputs(cli, model, feeds, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i, (name, array) in enumerate(feeds.items()):
        (data / f"input_{i}.pb").write_bytes(numpy_helper.from_array(array, name).SerializeToString())
    out = tmp_path / "out"
    subprocess.run([cli, "run", model, "--data", str(data), "--output-dir", str(out)], check=True,
                   capture_output=True)
    return [read_tensor(out / f"output_{i}.pb") for i in range(len(list(out.glob("output_*.pb"))))]


def test_digits_matches_the_cli(cli, digits_model, tmp_path):
    feeds = {"image": read_tensor(DIGITS / "samples" / "input_0.pb")}
    (expected,) = cli_outputs(cli, digits_model, feeds, tmp_path)
    (got,) = tessera.InferenceSession(digits_model).run(None, feeds)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


# The benchmark models (bench/README.md), when this checkout has them: TESSERA_DIFFERENTIAL_MODELS
# names their folder (build/differential-models in the lead's checkout).
MODELS = pathlib.Path(os.environ.get("TESSERA_DIFFERENTIAL_MODELS", REPO / "build" / "differential-models"))


@pytest.mark.parametrize("name", ["resnet50", "bert_small"])
def test_benchmark_models_match_the_cli(cli, name, tmp_path):
    model = MODELS / name / "model.onnx"
    if not model.exists():
        pytest.skip(f"no {model}")
    session = tessera.InferenceSession(str(model))
    feeds = {}
    for path in sorted((model.parent / "test_data_set_0").glob("input_*.pb")):
        tensor = onnx.TensorProto()
        tensor.ParseFromString(path.read_bytes())
        feeds[tensor.name] = numpy_helper.to_array(tensor)
    expected = cli_outputs(cli, str(model), feeds, tmp_path)
    got = session.run(None, feeds)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
