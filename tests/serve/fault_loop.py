"""The server's fault loop: 10,000 requests in a bounded loop, HTTP and gRPC at once (one client
thread each), valid and invalid mixed (malformed JSON and protobuf, wrong dtype and shape, unknown
model, a tensor over the limit, an oversized body), with clients that hang up mid-request. Each
answer must have its expected status, the server must stay up, and its RSS must stay flat after a
warm-up (start and end RSS are printed; docs/serving.md has the figures).
Usage: fault_loop.py TESSERA SOURCE_DIR [REQUESTS]. Exits 77 (skipped) without numpy, onnx,
python3-grpcio or the gRPC stub tools."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


TESSERA, SOURCE = sys.argv[1], sys.argv[2]
REQUESTS = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import serve_common  # noqa: E402  (first: it skips the test without numpy and onnx)
serve_common.require_programs("curl")
import numpy as np  # noqa: E402
import grpc_stubs  # noqa: E402
from serve_common import check, finish, rss_kb, start_server  # noqa: E402

TMP = tempfile.mkdtemp(prefix="tessera_fault_loop_")
pb, pb_grpc = grpc_stubs.load_or_skip(SOURCE, TMP)
import grpc  # noqa: E402

MAX_BODY = 4000000  # serve_common.start_server's --max-body-bytes

OPS_INPUTS = [{"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
              {"name": "b", "datatype": "INT32", "shape": [1, 4], "data": [1, 2, 3, 4]},
              {"name": "c", "datatype": "BOOL", "shape": [1], "data": [True]},
              {"name": "s", "datatype": "BYTES", "shape": [1], "data": ["x" * 100]}]


def http_cases():
    """(path, body, expected status) for the HTTP client, cycled in order."""
    good = json.dumps({"inputs": OPS_INPUTS}).encode()
    wrong_dtype = json.dumps({"inputs": [dict(OPS_INPUTS[0], datatype="INT32")] + OPS_INPUTS[1:]}).encode()
    wrong_shape = json.dumps({"inputs": [dict(OPS_INPUTS[0], shape=[1, 5], data=[0] * 5)] + OPS_INPUTS[1:]}).encode()
    huge = json.dumps({"inputs": [dict(OPS_INPUTS[0], shape=[1 << 40, 4])] + OPS_INPUTS[1:]}).encode()
    infer = "/v2/models/ops/infer"
    return [(infer, good, 200), (infer, good, 200), (infer, b'{"inputs": [', 400), (infer, good, 200),
            (infer, wrong_dtype, 400), (infer, good, 200), (infer, wrong_shape, 400), (infer, good, 200),
            ("/v2/models/nothing/infer", good, 404), (infer, huge, 400), (infer, b"\xff\xfe\x00", 400)]


def grpc_cases():
    """(request message or raw bytes, expected code) for the gRPC client, cycled in order."""
    def ops(model="ops", raw=False, a_shape=(1, 4), a_type="FP32"):
        req = pb.ModelInferRequest(model_name=model)
        a = req.inputs.add(name="a", datatype=a_type, shape=list(a_shape))
        b = req.inputs.add(name="b", datatype="INT32", shape=[1, 4])
        c = req.inputs.add(name="c", datatype="BOOL", shape=[1])
        s = req.inputs.add(name="s", datatype="BYTES", shape=[1])
        if raw:
            req.raw_input_contents.extend([np.arange(4, dtype=np.float32).tobytes(), np.arange(4, dtype=np.int32).tobytes(),
                                           b"\x01", (100).to_bytes(4, "little") + b"y" * 100])
        else:
            a.contents.fp32_contents.extend([1, 2, 3, 4])
            b.contents.int_contents.extend([1, 2, 3, 4])
            c.contents.bool_contents.append(True)
            s.contents.bytes_contents.append(b"y" * 100)
        return req
    ok, bad = grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT
    return [(ops(), ok), (ops(raw=True), ok), (b"\xff\xff\xff\xff\x0f", bad), (ops(), ok),
            (ops(a_type="INT32"), bad), (ops(raw=True), ok), (ops(a_shape=(1, 5)), bad), (ops(), ok),
            (ops(model="nothing"), grpc.StatusCode.NOT_FOUND), (ops(a_shape=(1 << 40, 4)), grpc.StatusCode.RESOURCE_EXHAUSTED),
            (ops(raw=True), ok)]


def hang_up_http(port):
    """A client that sends half a body and goes away, then one that sends a slow request whole and
    goes away before the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /v2/models/ops/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"{" * 300)
    body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [4, 1024], "data": [0.5] * 4096}]}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /v2/models/slow/infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def main():
    repo = os.path.join(TMP, "repo")
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), repo], check=True)
    # The slow model's queue holds more here: hang-ups queue slow runs that must not crowd out the loop.
    with open(os.path.join(repo, "slow", "config.json"), "w") as f:
        f.write('{"max_queue_size": 16, "instance_count": 1}')
    log = open(os.devnull, "w")
    server, http_port, grpc_port = start_server(TESSERA, repo, log, ["--grpc-port", "0", "--no-access-log"])
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    raw_infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    wrong = []  # (protocol, index, expected, got)
    counts = {"http": 0, "grpc": 0, "hang-ups": 0}
    lock = threading.Lock()

    def http_client(n, first):
        cases = http_cases()
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
        for i in range(first, first + n):
            if i % 1000 == 500:
                hang_up_http(http_port)
                with lock:
                    counts["hang-ups"] += 2
            if i % 2500 == 1250:  # a body over --max-body-bytes, through curl, which reads the early 413
                out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
                                      "--data-binary", "@-", f"http://127.0.0.1:{http_port}/v2/models/ops/infer"],
                                     input=b" " * (MAX_BODY + 1), capture_output=True).stdout
                if out != b"413":
                    wrong.append(("http", i, 413, out))
            path, body, want = cases[i % len(cases)]
            try:
                conn.request("POST", path, body)
                r = conn.getresponse()
                r.read()
                got = r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (ConnectionError, http.client.HTTPException) as e:
                got = f"{type(e).__name__}"
                conn.close()
            if got != want:
                wrong.append(("http", i, want, got))
            with lock:
                counts["http"] += 1
        conn.close()

    def grpc_client(n, first):
        cases = grpc_cases()
        slow = pb.ModelInferRequest(model_name="slow")
        slow.inputs.add(name="x", datatype="FP32", shape=[4, 1024])
        slow.raw_input_contents.append(np.zeros((4, 1024), np.float32).tobytes())
        for i in range(first, first + n):
            if i % 1000 == 750:  # a client that cancels its call mid-run
                try:
                    stub.ModelInfer(slow, timeout=0.02)
                except grpc.RpcError:
                    pass
                with lock:
                    counts["hang-ups"] += 1
            request, want = cases[i % len(cases)]
            try:
                if isinstance(request, bytes):
                    raw_infer(request, timeout=60)
                else:
                    stub.ModelInfer(request, timeout=60)
                got = grpc.StatusCode.OK
            except grpc.RpcError as e:
                got = e.code()
            if got != want:
                wrong.append(("grpc", i, want.name, got.name))
            with lock:
                counts["grpc"] += 1

    def run(n, first):
        threads = [threading.Thread(target=http_client, args=(n // 2, first)),
                   threading.Thread(target=grpc_client, args=(n - n // 2, first))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    try:
        # Warm-up. Each fresh connection may land on another of the 32 HTTP worker threads, whose first
        # use grows RSS (its stack, a malloc arena): with the slow model's 4x1024 JSON requests,
        # measured converging after ~150 connections, then flat. So 200 one-request connections
        # first (the loop's hang-ups send that request), then 1,000 requests of the loop itself.
        slow_body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [4, 1024],
                                            "data": [0.5] * 4096}]}).encode()
        for _ in range(200):
            with socket.create_connection(("127.0.0.1", http_port), timeout=60) as s:
                s.sendall(b"POST /v2/models/slow/infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                          % len(slow_body) + slow_body)
                s.recv(65536)
        run(1000, 0)
        before = rss_kb(server.pid)
        counts.update({"http": 0, "grpc": 0, "hang-ups": 0})
        start = time.time()
        samples = [before]  # RSS after each quarter: growth that keeps going would be a leak
        for quarter in range(4):
            n = REQUESTS // 4 if quarter < 3 else REQUESTS - 3 * (REQUESTS // 4)
            run(n, 1000 + quarter * (REQUESTS // 4))
            samples.append(rss_kb(server.pid))
        seconds = time.time() - start
        after = samples[-1]
        live = stub.ServerLive(pb.ServerLiveRequest(), timeout=30).live
        check(server.poll() is None and live, "the server is up after the loop")
        check(not wrong, f"every answer had its expected status ({len(wrong)} wrong: {wrong[:5]})")
        check(counts["http"] + counts["grpc"] == REQUESTS, f"{counts['http']} HTTP + {counts['grpc']} gRPC requests, "
              f"{counts['hang-ups']} hang-ups, in {seconds:.1f} s")
        check(after - before < 8192, f"RSS flat over {REQUESTS} requests: {before} kB -> {after} kB")
        print(f"fault loop: {REQUESTS} requests in {seconds:.1f} s, RSS {before} kB -> {after} kB ({after - before:+d} kB; "
              f"after each quarter: {', '.join(map(str, samples[1:]))} kB)")
    finally:
        channel.close()
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(TMP, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
