#!/usr/bin/env python3
"""A small closed-loop gRPC load client for `tessera serve --grpc-port` (ghz is not in Debian):
C client processes, each with its own channel, send one KServe v2 ModelInfer (raw_input_contents)
back to back for D seconds after a warm-up; prints `req/s p50_ms p99_ms errors`. Stubs are
generated from src/serve/kserve_v2.proto with Debian's tools (tests/serve/grpc_stubs.py).
Used by bench/serve_bench.sh --protocol grpc.

    serve_grpc_load.py HOST:PORT MODEL INPUTS.npz [--connections 8] [--duration 15] [--warmup 3]

INPUTS.npz: one array per model input, named as the input (np.savez)."""
import argparse
import multiprocessing
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "serve"))
import grpc_stubs  # noqa: E402

V2 = {np.float32: "FP32", np.float64: "FP64", np.float16: "FP16", np.int64: "INT64", np.int32: "INT32",
      np.int8: "INT8", np.uint8: "UINT8", np.bool_: "BOOL"}


def client(args, stub_dir, start_at, results):
    import grpc
    pb, pb_grpc = grpc_stubs.load(SOURCE, stub_dir)
    request = pb.ModelInferRequest(model_name=args.model)
    with np.load(args.inputs) as arrays:
        for name in arrays.files:
            a = arrays[name]
            request.inputs.add(name=name, datatype=V2[a.dtype.type], shape=list(a.shape))
            request.raw_input_contents.append(np.ascontiguousarray(a).tobytes())
    payload = request.SerializeToString()
    with grpc.insecure_channel(args.target, options=[("grpc.max_receive_message_length", -1)]) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        latencies, errors = [], 0
        end_warmup = start_at + args.warmup
        end = end_warmup + args.duration
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            t0 = time.time()
            if t0 >= end:
                break
            try:
                call(payload, timeout=60)
                ok = True
            except grpc.RpcError:
                ok = False
            t1 = time.time()
            if t0 >= end_warmup:
                if ok:
                    latencies.append(t1 - t0)
                else:
                    errors += 1
    results.put((latencies, errors))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("model")
    parser.add_argument("inputs")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as stub_dir:
        if grpc_stubs.load(SOURCE, stub_dir) is None:
            sys.exit("needs python3-grpcio and protobuf-compiler-grpc")
        results = multiprocessing.Queue()
        start_at = time.time() + 1.0 + 0.2 * args.connections  # every client connected first
        procs = [multiprocessing.Process(target=client, args=(args, stub_dir, start_at, results))
                 for _ in range(args.connections)]
        for p in procs:
            p.start()
        latencies, errors = [], 0
        for _ in procs:
            lat, err = results.get()
            latencies += lat
            errors += err
        for p in procs:
            p.join()
    if not latencies:
        sys.exit("no call succeeded")
    ms = np.array(latencies) * 1000
    print(f"{len(latencies) / args.duration:.1f} {np.percentile(ms, 50):.2f} {np.percentile(ms, 99):.2f} {errors}")


if __name__ == "__main__":
    main()
