"""`tessera serve` driven by real clients: curl for the KServe v2 REST calls, Python's http.client
for a 2,000-request loop. Starts the server on a free port over a temporary model repository
(the bundled digits model with dynamic batching, and the models of make_models.py), and checks
answers against `tessera run` on the same inputs, every error status, queue full, batching in
/metrics, the access log, flat memory, and SIGTERM with a request in flight.
Usage: serve_test.py TESSERA SOURCE_DIR. Exits 77 (skipped) without curl, numpy or onnx."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


TESSERA, SOURCE = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import serve_common  # noqa: E402  (first: it skips the test without numpy and onnx)
serve_common.require_programs("curl")
import numpy as np  # noqa: E402
from serve_common import check, finish, rss_kb, start_server  # noqa: E402


def tessera_run(model, inputs, workdir):
    return serve_common.tessera_run(TESSERA, model, inputs, workdir)


def curl(port, path, body=None, headers=(), method=None, max_time=60):
    """Returns (status, headers dict, body bytes) as curl saw them."""
    cmd = ["curl", "-s", "-D", "-", "-H", "Expect:", "--max-time", str(max_time), f"http://127.0.0.1:{port}{path}"]
    if body is not None:
        cmd += ["--data-binary", "@-"]
    if method:
        cmd += ["-X", method]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd, input=body, capture_output=True).stdout
    head, _, payload = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1]) if lines[0] else 0
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return status, hdrs, payload


def post_json(port, path, doc, **kw):
    status, hdrs, payload = curl(port, path, json.dumps(doc).encode(), ["Content-Type: application/json"], **kw)
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, {"raw": payload.decode(errors="replace")}


def main():
    tmp = tempfile.mkdtemp(prefix="tessera_serve_test_")
    repo = os.path.join(tmp, "repo")
    digits_model = serve_common.add_digits(SOURCE, repo, {
        "max_batch_size": 16, "dynamic_batching": {"max_queue_delay_us": 200000, "preferred_batch_size": [16]},
        "instance_count": 2, "max_queue_size": 64})
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), repo], check=True)
    os.makedirs(os.path.join(repo, "broken", "1"))
    with open(os.path.join(repo, "broken", "1", "model.onnx"), "w") as f:
        f.write("not a model")
    log_path = os.path.join(tmp, "access.log")
    log = open(log_path, "w")
    server, port, _ = start_server(TESSERA, repo, log)
    try:
        run_checks(server, port, tmp, digits_model, repo)
        # Graceful stop: a slow request in flight when SIGTERM comes still gets its answer.
        x = np.ones((64, 1024), np.float32)
        doc = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [64, 1024], "parameters": {"binary_data_size": x.nbytes}}],
               "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
        header = json.dumps(doc).encode()
        client = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@-",
                                   "-H", f"Inference-Header-Content-Length: {len(header)}",
                                   f"http://127.0.0.1:{port}/v2/models/slow/infer"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        client.stdin.write(header + x.tobytes())
        client.stdin.close()
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        check(client.wait(timeout=60) == 0 and client.stdout.read() == b"200", "SIGTERM: the request in flight got 200")
        check(code == 0, f"SIGTERM: the server exited 0 (got {code})")
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
    entries = serve_common.access_log_entries(log_path)
    statuses = {e["status"] for e in entries}
    check(len(entries) > 2000 and {200, 400, 404, 413, 503} <= statuses and all("duration_ms" in e for e in entries),
          f"access log: one JSON line per request ({len(entries)} lines, statuses {sorted(statuses)})")
    shutil.rmtree(tmp, ignore_errors=True)
    finish()
    print("all serve checks passed")


def run_checks(server, port, tmp, digits_model, repo):
    status, _, body = curl(port, "/v2/health/live")
    check(status == 200, "GET /v2/health/live is 200")
    status, _, body = curl(port, "/v2/health/ready")
    check(status == 400 and json.loads(body)["ready"] is False, "ready is false (4xx) while a model failed to load")
    status, _, body = curl(port, "/v2")
    meta = json.loads(body)
    check(status == 200 and meta["name"] == "tessera" and "binary_tensor_data" in meta["extensions"], "GET /v2 metadata")
    status, _, body = curl(port, "/v2/models/digits")
    meta = json.loads(body)
    check(status == 200 and meta["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
          and meta["versions"] == ["1"], "model metadata: " + body.decode()[:200])
    check(curl(port, "/v2/models/digits/versions/1/ready")[0] == 200, "model version ready")
    status, index = post_json(port, "/v2/repository/index", {})
    states = {e["name"]: e["state"] for e in index}
    broken = [e for e in index if e["name"] == "broken"]
    check(states == {"digits": "READY", "ops": "READY", "slow": "READY", "broken": "UNAVAILABLE"}
          and "broken" in broken[0].get("reason", ""), f"repository index {index}")
    # Remove the broken model: the server is ready once every model folder has loaded.
    shutil.rmtree(os.path.join(repo, "broken"))
    check(curl(port, "/v2/health/ready")[0] == 200, "ready once every model folder has loaded")

    # JSON infer equals `tessera run` on the same input; nested data gives the same answer.
    rng = np.random.default_rng(1)
    images = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    reference = tessera_run(digits_model, {"image": images}, os.path.join(tmp, "run"))[0]
    one = tessera_run(digits_model, {"image": images[:1]}, os.path.join(tmp, "run1"))[0]
    doc = {"id": "r1", "inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 1, 8, 8],
                                   "data": images[0].ravel().tolist()}]}
    status, answer = post_json(port, "/v2/models/digits/infer", doc)
    out = answer.get("outputs", [{}])[0]
    check(status == 200 and answer["id"] == "r1" and answer["model_version"] == "1" and out["shape"] == [1, 10]
          and out["datatype"] == "FP32" and np.allclose(out["data"], one.ravel(), rtol=1e-5, atol=1e-6),
          "JSON infer equals tessera run")
    doc["inputs"][0]["data"] = images[0].tolist()
    status, nested = post_json(port, "/v2/models/digits/versions/1/infer", doc)
    check(status == 200 and nested["outputs"][0]["data"] == out["data"], "nested JSON data gives the same answer")

    # Binary tensor data extension, both ways.
    header = json.dumps({"inputs": [{"name": "image", "datatype": "FP32", "shape": [2, 1, 8, 8],
                                     "parameters": {"binary_data_size": images[:2].nbytes}}],
                         "parameters": {"binary_data_output": True}}).encode()
    status, hdrs, payload = curl(port, "/v2/models/digits/infer", header + images[:2].tobytes(),
                                 [f"Inference-Header-Content-Length: {len(header)}"])
    n = int(hdrs.get("inference-header-content-length", "-1"))
    head = json.loads(payload[:n]) if n > 0 else {}
    binary = np.frombuffer(payload[n:], np.float32) if n > 0 else np.zeros(0)
    check(status == 200 and head["outputs"][0]["parameters"]["binary_data_size"] == 80
          and np.allclose(binary, reference[:2].ravel(), rtol=1e-5, atol=1e-6), "binary infer equals tessera run")

    # Every datatype the ops model takes, JSON in and out (BOOL and BYTES binary too).
    doc = {"inputs": [{"name": "a", "datatype": "FP32", "shape": [2, 4], "data": [1, 2, 3, 4, 5, 6, 7, 8.5]},
                      {"name": "b", "datatype": "INT32", "shape": [2, 4], "data": [[1, 2, 3, 4], [-5, -6, -7, 2147483646]]},
                      {"name": "c", "datatype": "BOOL", "shape": [2], "data": [True, False]},
                      {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["héllo", ""]}]}
    status, answer = post_json(port, "/v2/models/ops/infer", doc)
    got = {o["name"]: o["data"] for o in answer.get("outputs", [])}
    check(status == 200 and got == {"a2": [2, 4, 6, 8, 10, 12, 14, 17], "b1": [2, 3, 4, 5, -4, -5, -6, 2147483647],
                                    "not_c": [False, True], "s_out": ["héllo", ""]}, f"all datatypes in JSON: {got}")
    strings = b"".join(len(s).to_bytes(4, "little") + s for s in [b"ab", b"xyz"])
    header = json.dumps({"inputs": [
        {"name": "a", "datatype": "FP32", "shape": [2, 4], "data": [0] * 8},
        {"name": "b", "datatype": "INT32", "shape": [2, 4], "data": [0] * 8},
        {"name": "c", "datatype": "BOOL", "shape": [2], "parameters": {"binary_data_size": 2}},
        {"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": len(strings)}}],
        "outputs": [{"name": "s_out", "parameters": {"binary_data": True}}, {"name": "not_c"}]}).encode()
    status, hdrs, payload = curl(port, "/v2/models/ops/infer", header + b"\x01\x00" + strings,
                                 [f"Inference-Header-Content-Length: {len(header)}"])
    n = int(hdrs.get("inference-header-content-length", "-1"))
    head = json.loads(payload[:n]) if n > 0 else {}
    check(status == 200 and payload[n:] == strings and [o["name"] for o in head["outputs"]] == ["s_out", "not_c"]
          and head["outputs"][1]["data"] == [False, True], "binary BOOL and BYTES, a chosen subset of outputs")

    # Errors: each a clear status and message, and the server stays up.
    def error(path, doc_or_bytes, want_status, want_text, headers=()):
        body = doc_or_bytes if isinstance(doc_or_bytes, bytes) else json.dumps(doc_or_bytes).encode()
        status, _, payload = curl(port, path, body, list(headers))
        try:
            message = json.loads(payload)["error"]
        except (ValueError, KeyError):
            message = payload.decode(errors="replace")
        check(status == want_status and want_text in message, f"{want_status} '{want_text}': got {status} {message[:160]}")

    good = {"name": "image", "datatype": "FP32", "shape": [1, 1, 8, 8], "data": [0.0] * 64}
    infer = "/v2/models/digits/infer"
    error(infer, {"inputs": [dict(good, shape=[1, 1, 8, 7], data=[0.0] * 56)], }, 400,
          "input 'image': shape [1,1,8,7], expected [-1,1,8,8]")
    error(infer, {"inputs": [dict(good, datatype="INT32", data=[0] * 64)]}, 400, "input 'image': datatype INT32, expected FP32")
    error(infer, {"inputs": [dict(good, data=[0.0] * 63)]}, 400, "63 data elements for shape [1,1,8,8]")
    error(infer, {"inputs": [dict(good, data=["x"] * 64)]}, 400, "is not a valid FP32")
    error(infer, {"inputs": [dict(good, name="pixels")]}, 400, "unknown input 'pixels'")
    error(infer, {"inputs": []}, 400, "missing input 'image'")
    error(infer, {"inputs": [good], "outputs": [{"name": "nope"}]}, 400, "unknown output 'nope'")
    error(infer, b'{"inputs": [ {"name": "image", ', 400, "malformed JSON")
    error(infer, b"[" * 100000 + b"]" * 100000, 400, "nested deeper than")
    error(infer, b"\xff\xfe\x00garbage", 400, "malformed JSON")
    error(infer, json.dumps({"inputs": [dict(good, data=None, parameters={"binary_data_size": 256})]}).encode(), 400,
          "Inference-Header-Content-Length", ["Inference-Header-Content-Length: 99999"])
    header = json.dumps({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 1, 8, 8],
                                     "parameters": {"binary_data_size": 255}}]}).encode()
    error(infer, header + bytes(255), 400, "255 bytes of raw data, expected 256", [f"Inference-Header-Content-Length: {len(header)}"])
    error(infer, {"inputs": [dict(good, shape=[1 << 40, 1, 8, 8])]}, 400, "over the server's limit")
    error("/v2/models/slow/infer", b"[" + b"0," * 2500000 + b"0]", 413, "over the server's limit of 4000000 bytes")
    error("/v2/models/nothing/infer", {"inputs": [good]}, 404, "model 'nothing' is not loaded")
    error("/v2/models/digits/versions/7/infer", {"inputs": [good]}, 404, "has no version '7'")
    error("/v2/models/../infer", {"inputs": [good]}, 404, "")
    check(curl(port, "/v2/models/nothing")[0] == 404 and curl(port, "/v2/models/nothing/ready")[0] == 404,
          "unknown model metadata and ready: 404")
    check(curl(port, "/v2/nothing")[0] == 404, "unknown endpoint: 404")

    # A client that hangs up mid-request does not hurt the server.
    slow_doc = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [16, 1024], "data": [0.5] * 16384}]}
    post_json(port, "/v2/models/slow/infer", slow_doc, max_time=0.05)
    check(curl(port, "/v2/health/live")[0] == 200, "a client that disconnected mid-request leaves the server up")

    # Queue full: one instance, one queued request; the rest of a burst get 503. A request that
    # waits for its answer first drains what the abandoned one left running or queued, so the
    # burst meets an idle model however slowly this machine runs.
    check(post_json(port, "/v2/models/slow/infer", slow_doc)[0] == 200, "the slow model answers before the burst")
    body = json.dumps(slow_doc).encode()
    burst = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@-",
                               f"http://127.0.0.1:{port}/v2/models/slow/infer"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE) for _ in range(8)]
    for p in burst:
        p.stdin.write(body)
        p.stdin.close()
    codes = [p.stdout.read().decode() for p in burst]
    for p in burst:
        p.wait()
    check(codes.count("200") >= 1 and codes.count("503") >= 1 and set(codes) <= {"200", "503"},
          f"queue full: a burst of 8 gets 200s and 503s {codes}")
    error("/v2/models/slow/infer", b"", 400, "malformed JSON")  # still answering

    # Dynamic batching: 16 concurrent single-image requests are coalesced, each gets its own row.
    procs = []
    for i in range(16):
        d = {"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 1, 8, 8], "data": images[i].ravel().tolist()}]}
        p = subprocess.Popen(["curl", "-s", "--data-binary", "@-", f"http://127.0.0.1:{port}/v2/models/digits/infer"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        p.stdin.write(json.dumps(d).encode())
        p.stdin.close()
        procs.append(p)
    rows_ok = True
    for i, p in enumerate(procs):
        data = json.loads(p.stdout.read())["outputs"][0]["data"]
        p.wait()
        rows_ok = rows_ok and np.allclose(data, reference[i], rtol=1e-5, atol=1e-6)
    check(rows_ok, "batched requests each get their own row, equal to tessera run")
    _, _, metrics = curl(port, "/metrics")
    metrics = metrics.decode()
    values = {}
    for line in metrics.splitlines():
        if line.startswith("tessera_") and 'model="digits"' in line and "le=" not in line:
            values[line.split("{")[0]] = float(line.split()[-1])
    check(values.get("tessera_inference_batch_size_sum", 0) > values.get("tessera_inference_batch_size_count", 0) >= 1,
          f"/metrics: batches of more than one row ran {values}")
    check(values.get("tessera_inference_requests_total", 0) >= 19 and values.get("tessera_inference_failures_total", 0) >= 8
          and 'tessera_inference_request_duration_seconds_bucket{model="digits",version="1",le="+Inf"}' in metrics
          and "tessera_inference_queue_duration_seconds_count" in metrics, "/metrics: requests, failures, histograms")

    # Unload and load through the repository API.
    check(post_json(port, "/v2/repository/models/digits/unload", {})[0] == 200, "unload")
    check(curl(port, "/v2/models/digits/ready")[0] == 400 and post_json(port, infer, {"inputs": [good]})[0] == 404,
          "an unloaded model is not ready and its infer is 404")
    check(post_json(port, "/v2/repository/models/digits/load", {})[0] == 200 and
          curl(port, "/v2/models/digits/ready")[0] == 200, "load makes it ready again")
    check(post_json(port, "/v2/repository/models/nothing/load", {})[0] == 404, "load of an unknown model: 404")
    check(post_json(port, "/v2/repository/models/broken/load", {})[0] == 404, "the removed broken model: 404")

    # 2,000 requests on one keep-alive connection, good and bad mixed: memory stays flat.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ops_doc = {"inputs": [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
                          {"name": "b", "datatype": "INT32", "shape": [1, 4], "data": [1, 2, 3, 4]},
                          {"name": "c", "datatype": "BOOL", "shape": [1], "data": [True]},
                          {"name": "s", "datatype": "BYTES", "shape": [1], "data": ["x" * 100]}]}
    good_body = json.dumps(ops_doc).encode()
    bad_bodies = [b'{"inputs": [', json.dumps({"inputs": ops_doc["inputs"][:3]}).encode()]
    infer = "/v2/models/ops/infer"
    statuses = {}

    def loop(count):
        for i in range(count):
            body = bad_bodies[i % 2] if i % 10 == 9 else good_body
            conn.request("POST", infer, body)
            r = conn.getresponse()
            r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1

    loop(300)
    before = rss_kb(server.pid)
    loop(2000)
    after = rss_kb(server.pid)
    conn.close()
    check(statuses.get(200) == 2070 and statuses.get(400) == 230, f"2,300 requests answered {statuses}")
    check(after - before < 4096, f"RSS flat over 2,000 requests: {before} kB -> {after} kB")


if __name__ == "__main__":
    main()
