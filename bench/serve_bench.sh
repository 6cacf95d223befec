#!/usr/bin/env bash
# `tessera serve` under load on loopback, for MobileNetV2 (1x3x224x224) and the BERT-like encoder
# (bert_small, 1x128 tokens), with dynamic batching off and on: over HTTP, wrk posts one KServe v2
# infer request (binary tensor data extension) over C connections for D seconds; over gRPC,
# bench/serve_grpc_load.py (C client processes) sends one ModelInfer with raw_input_contents.
# Prints throughput and the p50/p99 latency the load tool measured, with the load average and
# scheduling policy it ran under. A benchmark, not a test: it checks nothing but that answers succeed.
#
#   bench/serve_bench.sh [--protocol http|grpc|both] [--tessera build/tessera]
#                        [--models build/differential-models] [--connections 8] [--duration 15] [--threads 1]
set -euo pipefail
cd "$(dirname "$0")/.."
tessera=build/tessera models=build/differential-models connections=8 duration=15 threads=1 protocol=http
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) protocol=$2; shift 2 ;;
    --tessera) tessera=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$protocol" in
  http) protocols=(http) ;;
  grpc) protocols=(grpc) ;;
  both) protocols=(http grpc) ;;
  *) echo "--protocol is http, grpc or both" >&2; exit 2 ;;
esac
if [ "$protocol" != grpc ]; then
  command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
fi
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# One request body per model: the JSON header, then the raw input bytes.
/usr/bin/python3 - "$work" <<'PY'
import json, sys
import numpy as np
work = sys.argv[1]
def body(name, inputs):
    header = json.dumps({"inputs": [{"name": n, "datatype": t, "shape": list(a.shape),
                                     "parameters": {"binary_data_size": a.nbytes}} for n, t, a in inputs],
                         "parameters": {"binary_data_output": True}}).encode()
    with open(f"{work}/{name}.body", "wb") as f:
        f.write(header + b"".join(a.tobytes() for _, _, a in inputs))
    with open(f"{work}/{name}.len", "w") as f:
        f.write(str(len(header)))
rng = np.random.default_rng(0)
inputs = {"mobilenet_v2": [("input", "FP32", rng.random((1, 3, 224, 224), np.float32))],
          "bert_small": [("input_ids", "INT64", rng.integers(0, 1000, (1, 128), np.int64)),
                         ("attention_mask", "INT64", np.ones((1, 128), np.int64))]}
for name, model_inputs in inputs.items():
    body(name, model_inputs)
    np.savez(f"{work}/{name}.npz", **{n: a for n, _, a in model_inputs})  # for the gRPC client
PY

# How busy the machine was (the figures are only as quiet as it): the load average and this
# process's scheduling policy (run it under `chrt -f 10` on a shared machine), before and after.
echo "# $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(chrt -p $$ | sed -n 's/.*policy: //p'), $(nproc) cores"
printf '%-8s %-14s %-9s %10s %10s %10s %8s\n' protocol model batching "req/s" "p50 ms" "p99 ms" failed
for proto in "${protocols[@]}"; do
for model in mobilenet_v2 bert_small; do
  for batching in off on; do
    repo=$work/repo_${proto}_${model}_$batching
    mkdir -p "$repo/$model/1"
    ln -s "$(realpath "$models/$model/model.onnx")" "$repo/$model/1/model.onnx"
    if [ $batching = on ]; then
      echo '{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_us": 2000}, "instance_count": 2, "max_queue_size": 256}'
    else
      echo '{"instance_count": 2, "max_queue_size": 256}'
    fi > "$repo/$model/config.json"
    "$tessera" serve --model-repository "$repo" --http-port 0 --grpc-port "$([ "$proto" = grpc ] && echo 0 || echo -1)" \
      --host 127.0.0.1 --threads "$threads" --no-access-log > "$work/server.out" 2> "$work/server.err" &
    server_pid=$!
    for _ in $(seq 600); do grep -qs "HTTP on" "$work/server.out" && break; sleep 0.1; done
    port=$(sed -n 's/.*HTTP on [^:]*:\([0-9]*\),.*/\1/p' "$work/server.out")
    if [ "$proto" = grpc ]; then
      grpc_port=$(sed -n 's/.*gRPC on [^:]*:\([0-9]*\),.*/\1/p' "$work/server.out")
      read -r rps p50 p99 bad < <(/usr/bin/python3 bench/serve_grpc_load.py "127.0.0.1:$grpc_port" "$model" \
        "$work/$model.npz" --connections "$connections" --duration "$duration")
      printf '%-8s %-14s %-9s %10s %10s %10s %8s\n' grpc "$model" "$batching" "$rps" "$p50" "$p99" "$bad"
      kill -TERM "$server_pid"
      wait "$server_pid" || true
      server_pid=
      continue
    fi
    cat > "$work/post.lua" <<LUA
local f = io.open("$work/$model.body", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Inference-Header-Content-Length"] = "$(cat "$work/$model.len")"
wrk.headers["Content-Type"] = "application/octet-stream"
LUA
    url=http://127.0.0.1:$port/v2/models/$model/infer
    wrk -t2 -c"$connections" -d3s -s "$work/post.lua" "$url" > /dev/null  # warm-up
    wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/post.lua" "$url" > "$work/wrk.out"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
    ms() { awk -v p="$1" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$work/wrk.out"; }
    bad=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.out")
    printf '%-8s %-14s %-9s %10s %10s %10s %8s\n' http "$model" "$batching" "$rps" "$(ms 50%)" "$(ms 99%)" "${bad:-0}"
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=
  done
done
done
echo "# done $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
