"""`tessera serve --grpc-port` driven by a Python gRPC client generated at test time from
src/serve/kserve_v2.proto with Debian's tools (grpc_stubs.py): health, metadata, ModelInfer with
typed contents and with raw contents for every datatype, outputs equal to `tessera run`, the error
codes (unknown model, wrong shape and dtype, bytes that are not a request (INVALID_ARGUMENT, and a
valid call answered after them), an oversized message, a tensor over the limit, a full queue),
load and unload through the repository service, metrics
shared with HTTP, the access log, and SIGTERM with a call in flight.
Usage: serve_grpc_test.py TESSERA SOURCE_DIR. Exits 77 (skipped) without python3-grpcio,
python3-protobuf, protoc with grpc_python_plugin, numpy or onnx."""
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


TESSERA, SOURCE = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import serve_common  # noqa: E402  (first: it skips the test without numpy and onnx)
import numpy as np  # noqa: E402
import grpc_stubs  # noqa: E402
from serve_common import check, finish, start_server  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tessera_serve_grpc_test_")
pb, pb_grpc = grpc_stubs.load_or_skip(SOURCE, TMP)
import grpc  # noqa: E402

SERVICE = "/inference.GRPCInferenceService/"


def code_of(call):
    """(status code, details) of a call that may raise grpc.RpcError."""
    try:
        call()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details() or ""


def expect_error(stub_call, request, want_code, want_text, what):
    code, details = code_of(lambda: stub_call(request, timeout=60))
    check(code == want_code and want_text in details, f"{what}: {want_code.name} '{want_text}': got {code.name} {details[:160]}")


def infer_request(model, inputs, raw=False, outputs=(), **kw):
    """A ModelInferRequest from (name, datatype, array) triples, typed contents or raw."""
    req = pb.ModelInferRequest(model_name=model, **kw)
    for name, datatype, array in inputs:
        t = req.inputs.add(name=name, datatype=datatype, shape=list(array.shape))
        if raw:
            if datatype == "BYTES":
                req.raw_input_contents.append(b"".join(len(s).to_bytes(4, "little") + s for s in array.ravel()))
            else:
                req.raw_input_contents.append(np.ascontiguousarray(array).tobytes())
            continue
        field = {"FP32": "fp32_contents", "FP64": "fp64_contents", "INT8": "int_contents", "INT16": "int_contents",
                 "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
                 "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
                 "BOOL": "bool_contents", "BYTES": "bytes_contents"}[datatype]
        getattr(t.contents, field).extend(array.ravel().tolist())
    for name in outputs:
        req.outputs.add(name=name)
    return req


NUMPY = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "INT8": np.int8, "INT16": np.int16,
         "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
         "UINT64": np.uint64, "BOOL": np.bool_}


def outputs_of(response):
    """name -> numpy array (or list of bytes for BYTES), from typed contents or raw_output_contents."""
    result = {}
    for i, out in enumerate(response.outputs):
        if response.raw_output_contents:
            raw = response.raw_output_contents[i]
            if out.datatype == "BYTES":
                items, pos = [], 0
                while pos < len(raw):
                    n = int.from_bytes(raw[pos:pos + 4], "little")
                    items.append(raw[pos + 4:pos + 4 + n])
                    pos += 4 + n
                result[out.name] = items
            else:
                result[out.name] = np.frombuffer(raw, NUMPY[out.datatype]).reshape(out.shape)
            continue
        c = out.contents
        values = {"FP32": c.fp32_contents, "FP64": c.fp64_contents, "INT64": c.int64_contents,
                  "UINT64": c.uint64_contents, "BOOL": c.bool_contents, "BYTES": c.bytes_contents}.get(out.datatype)
        if values is None:
            values = c.int_contents if out.datatype.startswith("INT") else c.uint_contents
        result[out.name] = list(values) if out.datatype == "BYTES" else \
            np.array(list(values), NUMPY[out.datatype]).reshape(out.shape)
    return result


def main():
    repo = os.path.join(TMP, "repo")
    digits_model = serve_common.add_digits(
        SOURCE, repo, {"max_batch_size": 16, "dynamic_batching": {"max_queue_delay_us": 2000}, "instance_count": 2})
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), repo, "--types"], check=True)
    log_path = os.path.join(TMP, "access.log")
    log = open(log_path, "w")
    server, http_port, grpc_port = start_server(TESSERA, repo, log, ["--grpc-port", "0"])
    check(grpc_port is not None, "the server prints its gRPC port")
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    try:
        run_checks(stub, channel, http_port, digits_model, repo)
        # Graceful stop: a slow call in flight when SIGTERM comes still gets its answer.
        x = np.ones((64, 1024), np.float32)
        pool = concurrent.futures.ThreadPoolExecutor(1)
        slow = pool.submit(lambda: code_of(lambda: stub.ModelInfer(infer_request("slow", [("x", "FP32", x)], raw=True),
                                                                   timeout=120)))
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=120)
        check(slow.result(timeout=120)[0] == grpc.StatusCode.OK, "SIGTERM: the call in flight got OK")
        check(exit_code == 0, f"SIGTERM: the server exited 0 (got {exit_code})")
    finally:
        channel.close()
        if server.poll() is None:
            server.kill()
        log.close()
    entries = serve_common.access_log_entries(log_path)
    grpc_lines = [e for e in entries if e.get("protocol") == "grpc"]
    codes = {e["status"] for e in grpc_lines}
    check(len(grpc_lines) > 20 and {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "UNAVAILABLE", "RESOURCE_EXHAUSTED"} <= codes
          and all("duration_ms" in e and "method" in e for e in grpc_lines),
          f"access log: a JSON line per call ({len(grpc_lines)} lines, codes {sorted(codes)})")
    shutil.rmtree(TMP, ignore_errors=True)
    finish()
    print("all gRPC serve checks passed")


def run_checks(stub, channel, http_port, digits_model, repo):
    check(stub.ServerLive(pb.ServerLiveRequest(), timeout=30).live, "ServerLive")
    check(stub.ServerReady(pb.ServerReadyRequest(), timeout=30).ready, "ServerReady")
    meta = stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=30)
    check(meta.name == "tessera" and "model_repository" in meta.extensions, "ServerMetadata")
    meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="digits"), timeout=30)
    check(list(meta.versions) == ["1"] and meta.platform == "onnx" and len(meta.inputs) == 1
          and meta.inputs[0].name == "image" and meta.inputs[0].datatype == "FP32"
          and list(meta.inputs[0].shape) == [-1, 1, 8, 8], "ModelMetadata: " + str(meta).replace("\n", " ")[:160])
    check(stub.ModelReady(pb.ModelReadyRequest(name="digits", version="1"), timeout=30).ready, "ModelReady")
    expect_error(stub.ModelMetadata, pb.ModelMetadataRequest(name="nothing"), grpc.StatusCode.NOT_FOUND,
                 "model 'nothing' is not loaded", "ModelMetadata of an unknown model")
    expect_error(stub.ModelReady, pb.ModelReadyRequest(name="nothing"), grpc.StatusCode.NOT_FOUND, "nothing",
                 "ModelReady of an unknown model")

    # Typed and raw contents equal `tessera run` on the same inputs.
    rng = np.random.default_rng(2)
    images = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    reference = serve_common.tessera_run(TESSERA, digits_model, {"image": images}, os.path.join(TMP, "run"))[0]
    one = serve_common.tessera_run(TESSERA, digits_model, {"image": images[:1]}, os.path.join(TMP, "run1"))[0]
    answer = stub.ModelInfer(infer_request("digits", [("image", "FP32", images[:1])], id="g1"), timeout=60)
    got = outputs_of(answer)
    name = answer.outputs[0].name
    check(answer.id == "g1" and answer.model_version == "1" and list(answer.outputs[0].shape) == [1, 10]
          and not answer.raw_output_contents and np.allclose(got[name], one, rtol=1e-5, atol=1e-6),
          "typed contents: infer equals tessera run")
    answer = stub.ModelInfer(infer_request("digits", [("image", "FP32", images)], raw=True, model_version="1"), timeout=60)
    check(len(answer.raw_output_contents) == 1 and np.allclose(outputs_of(answer)[name], reference, rtol=1e-5, atol=1e-6),
          "raw contents: infer equals tessera run")

    # The ops model: FP32, INT32, BOOL, BYTES, typed in and out.
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8.5]], np.float32)
    b = np.array([[1, 2, 3, 4], [-5, -6, -7, 2147483646]], np.int32)
    c = np.array([True, False])
    s = np.array(["héllo".encode(), b""], object)
    ops_inputs = [("a", "FP32", a), ("b", "INT32", b), ("c", "BOOL", c), ("s", "BYTES", s)]
    got = outputs_of(stub.ModelInfer(infer_request("ops", ops_inputs), timeout=60))
    check(np.array_equal(got["a2"], a * 2) and np.array_equal(got["b1"], b + 1) and np.array_equal(got["not_c"], ~c)
          and got["s_out"] == ["héllo".encode(), b""], "typed FP32, INT32, BOOL, BYTES: " + str(got).replace("\n", "")[:200])
    got = outputs_of(stub.ModelInfer(infer_request("ops", ops_inputs, raw=True, outputs=["s_out", "not_c"]), timeout=60))
    check(list(got) == ["s_out", "not_c"] and got["s_out"] == ["héllo".encode(), b""]
          and np.array_equal(got["not_c"], ~c), "raw BOOL and BYTES, a chosen subset of outputs")

    # Every other datatype: raw both ways (FP16 has no typed field), and typed where there is one.
    types = ["FP16", "FP64", "INT8", "INT16", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"]
    arrays = {}
    for t in types:
        info = np.finfo(NUMPY[t]) if t.startswith("FP") else np.iinfo(NUMPY[t])
        arrays[t] = np.array([[info.min, info.max, 0], [1, 2, 3]], NUMPY[t])
    inputs = [(f"in_{t}", t, arrays[t]) for t in types]
    got = outputs_of(stub.ModelInfer(infer_request("types", inputs, raw=True), timeout=60))
    check(all(got[f"out_{t}"].dtype == NUMPY[t] and np.array_equal(got[f"out_{t}"], arrays[t]) for t in types),
          "raw contents: FP16, FP64, INT8, INT16, INT64, UINT8, UINT16, UINT32, UINT64 round-trip")
    typed = [(n, t, arr) for n, t, arr in inputs if t != "FP16"]
    fp16_raw = np.ascontiguousarray(arrays["FP16"]).tobytes()
    req = infer_request("types", typed, outputs=[f"out_{t}" for t in types if t != "FP16"])
    req.inputs.add(name="in_FP16", datatype="FP16", shape=[2, 3])
    expect_error(stub.ModelInfer, req, grpc.StatusCode.INVALID_ARGUMENT,
                 "input 'in_FP16': FP16 has no typed contents field; send it in raw_input_contents", "FP16 typed")
    req.inputs.pop()
    req.raw_input_contents.append(fp16_raw)
    expect_error(stub.ModelInfer, req, grpc.StatusCode.INVALID_ARGUMENT, "raw_input_contents has 1 entries for 8 inputs",
                 "raw_input_contents not one per input")
    expect_error(stub.ModelInfer, infer_request("types", typed), grpc.StatusCode.INVALID_ARGUMENT,
                 "missing input 'in_FP16'", "a missing input")
    bad = infer_request("types", typed + [("in_FP16", "FP32", arrays["FP16"].astype(np.float32))])
    expect_error(stub.ModelInfer, bad, grpc.StatusCode.INVALID_ARGUMENT, "input 'in_FP16': datatype FP32, expected FP16",
                 "wrong datatype")
    over = infer_request("types", typed)
    over.inputs[1].contents.int_contents[0] = 300  # in_INT8
    expect_error(stub.ModelInfer, over, grpc.StatusCode.INVALID_ARGUMENT, "input 'in_INT8': element 0 (300) is out of range for INT8",
                 "an INT8 value out of range")
    # Raw in, typed out: binary_data_output false, the outputs that have a typed field.
    req = infer_request("types", inputs, raw=True, outputs=[f"out_{t}" for t in types if t != "FP16"])
    req.parameters["binary_data_output"].bool_param = False
    answer = stub.ModelInfer(req, timeout=60)
    got = outputs_of(answer)
    check(not answer.raw_output_contents and all(np.array_equal(got[f"out_{t}"], arrays[t]) for t in types if t != "FP16"),
          "typed contents out: FP64, INT8, INT16, INT64, UINT8, UINT16, UINT32, UINT64 round-trip")

    # Errors: each its code and a message naming model and input; the server stays up.
    good = [("image", "FP32", images[:1])]
    infer = stub.ModelInfer
    expect_error(infer, infer_request("nothing", good), grpc.StatusCode.NOT_FOUND, "model 'nothing' is not loaded",
                 "unknown model")
    expect_error(infer, infer_request("digits", good, model_version="7"), grpc.StatusCode.NOT_FOUND, "has no version '7'",
                 "unknown version")
    expect_error(infer, infer_request("digits", [("image", "FP32", np.zeros((1, 1, 8, 7), np.float32))]),
                 grpc.StatusCode.INVALID_ARGUMENT, "model 'digits' version 1: input 'image': shape [1,1,8,7], expected [-1,1,8,8]",
                 "wrong shape")
    expect_error(infer, infer_request("digits", [("image", "INT32", np.zeros((1, 1, 8, 8), np.int32))]),
                 grpc.StatusCode.INVALID_ARGUMENT, "input 'image': datatype INT32, expected FP32", "wrong dtype")
    short = infer_request("digits", good)
    del short.inputs[0].contents.fp32_contents[-1]
    expect_error(infer, short, grpc.StatusCode.INVALID_ARGUMENT, "63 values in contents.fp32_contents for shape [1,1,8,8]",
                 "too few typed values")
    raw = infer_request("digits", good, raw=True)
    raw.raw_input_contents[0] = raw.raw_input_contents[0][:255]
    expect_error(infer, raw, grpc.StatusCode.INVALID_ARGUMENT, "255 bytes of raw data, expected 256", "raw size")
    expect_error(infer, infer_request("digits", good, outputs=["nope"]), grpc.StatusCode.INVALID_ARGUMENT,
                 "unknown output 'nope'", "unknown output")
    huge = pb.ModelInferRequest(model_name="digits")
    huge.inputs.add(name="image", datatype="FP32", shape=[1 << 40, 1, 8, 8])
    expect_error(infer, huge, grpc.StatusCode.RESOURCE_EXHAUSTED, "over the server's limit", "tensor over the limit")
    big = infer_request("slow", [("x", "FP32", np.zeros((1000, 1024), np.float32))], raw=True)
    expect_error(infer, big, grpc.StatusCode.RESOURCE_EXHAUSTED, "", "a message over --max-body-bytes")
    # Bytes that are not the method's request: the server parses them itself and answers
    # INVALID_ARGUMENT naming the message type, then goes on answering valid calls.
    raw_call = channel.unary_unary(SERVICE + "ModelInfer")
    nested = b"\x7b" * 200 + b"\x7c" * 200  # groups nested past the server's limit in an unknown field
    for garbage in [b"\xff\xff\xff\xff\x0f", b"\x0a\x05ab", b"\x2a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", nested]:
        code, details = code_of(lambda: raw_call(garbage, timeout=30))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and
              f"malformed protobuf: the request's {len(garbage)} bytes are not a inference.ModelInferRequest" in details,
              f"malformed protobuf {garbage[:12]!r} is INVALID_ARGUMENT: {code.name} {details[:120]}")
    code, details = code_of(lambda: channel.unary_unary(SERVICE + "ServerLive")(b"\x0a\x05ab", timeout=30))
    check(code == grpc.StatusCode.INVALID_ARGUMENT and "are not a inference.ServerLiveRequest" in details,
          f"malformed protobuf on ServerLive is INVALID_ARGUMENT: {code.name} {details[:120]}")
    answer = stub.ModelInfer(infer_request("digits", [("image", "FP32", images[:1])]), timeout=60)
    check(np.allclose(outputs_of(answer)[name], one, rtol=1e-5, atol=1e-6),
          "after malformed messages the server answers a valid ModelInfer, equal to tessera run")

    # A client that gives up mid-call (its deadline passes) does not hurt the server.
    slow_req = infer_request("slow", [("x", "FP32", np.full((16, 1024), 0.5, np.float32))], raw=True)
    long_req = infer_request("slow", [("x", "FP32", np.full((512, 1024), 0.5, np.float32))], raw=True)
    code, details = code_of(lambda: stub.ModelInfer(long_req, timeout=0.05))
    check(code == grpc.StatusCode.DEADLINE_EXCEEDED and stub.ServerLive(pb.ServerLiveRequest(), timeout=30).live,
          f"a call whose client deadline passed is DEADLINE_EXCEEDED and the server stays up: {code.name} {details}")

    # Queue full: one instance, one queued request; the rest of a burst get UNAVAILABLE.
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: code_of(lambda: stub.ModelInfer(slow_req, timeout=120))[0], range(8)))
    check(grpc.StatusCode.OK in codes and grpc.StatusCode.UNAVAILABLE in codes
          and set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE},
          f"queue full: a burst of 8 gets OK and UNAVAILABLE {[c.name for c in codes]}")

    # Metrics are shared with HTTP: gRPC calls count on /metrics.
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=30) as r:
        metrics = r.read().decode()
    values = {line.split("{")[0]: float(line.split()[-1]) for line in metrics.splitlines()
              if line.startswith("tessera_inference_") and 'model="slow"' in line and "le=" not in line}
    check(values.get("tessera_inference_requests_total", 0) >= 8 and values.get("tessera_inference_failures_total", 0) >= 1,
          f"/metrics counts the gRPC calls {values}")

    # The repository extension.
    index = stub.RepositoryIndex(pb.RepositoryIndexRequest(), timeout=30)
    states = {m.name: m.state for m in index.models}
    check(states == {"digits": "READY", "ops": "READY", "slow": "READY", "types": "READY"}, f"RepositoryIndex {states}")
    stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="digits"), timeout=60)
    check(not stub.ModelReady(pb.ModelReadyRequest(name="digits"), timeout=30).ready, "unloaded: not ready")
    expect_error(infer, infer_request("digits", good), grpc.StatusCode.NOT_FOUND, "not loaded", "infer on an unloaded model")
    ready_only = stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True), timeout=30)
    check("digits" not in {m.name for m in ready_only.models}, "RepositoryIndex ready=true leaves the unloaded model out")
    stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="digits"), timeout=60)
    check(stub.ModelReady(pb.ModelReadyRequest(name="digits"), timeout=30).ready, "load makes it ready again")
    expect_error(stub.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="nothing"), grpc.StatusCode.NOT_FOUND,
                 "no model 'nothing'", "load of an unknown model")
    expect_error(stub.RepositoryModelUnload, pb.RepositoryModelUnloadRequest(model_name="../x"), grpc.StatusCode.NOT_FOUND,
                 "", "unload of a path outside the repository")

    # Dynamic batching over gRPC: concurrent single-image calls each get their own row.
    def one_image(i):
        return outputs_of(stub.ModelInfer(infer_request("digits", [("image", "FP32", images[i:i + 1])]), timeout=60))[name]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(one_image, range(4)))
    check(all(np.allclose(rows[i], reference[i:i + 1], rtol=1e-5, atol=1e-6) for i in range(4)),
          "concurrent calls on the batching model each get their row, equal to tessera run")


if __name__ == "__main__":
    main()
