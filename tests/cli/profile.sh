#!/usr/bin/env bash
# `--profile` on run and bench writes a Chrome trace that parses as JSON, with the session phases
# and one event per node of each run; `--log-level` chooses what goes to stderr.
# Usage: profile.sh path/to/tessera MODEL_DIR (a model.onnx with test_data_set_0/)
source "$(dirname "$0")/common.sh" "$@"
model_dir=$2

# check_trace NAME FILE RUNS: the file is JSON with the phases, RUNS run events and node events
# inside them (op_type, ep, shapes).
check_trace() {
  local name=$1 file=$2 runs=$3
  if /usr/bin/python3 - "$file" "$runs" <<'PY'
import json, sys
trace = json.load(open(sys.argv[1]))
events = trace["traceEvents"]
names = {(e["cat"], e["name"]) for e in events}
for phase in ("model_load", "session_creation", "check", "optimize", "partition", "kernel_creation", "memory_plan"):
    assert ("session", phase) in names, "no phase " + phase
assert any(e["cat"] == "optimizer" and "rewrites" in e["args"] for e in events), "no optimizer pass"
runs = [e for e in events if e["cat"] == "session" and e["name"] == "run"]
assert len(runs) == int(sys.argv[2]), "%d run events" % len(runs)
nodes = [e for e in events if e["cat"] == "node"]
assert len(nodes) == len(runs) * runs[0]["args"]["nodes"] and nodes, "%d node events" % len(nodes)
for e in events:
    assert e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0, e
for e in nodes:
    assert e["args"]["op_type"] and e["args"]["ep"] == "CPU", e
    assert all(isinstance(s, list) for s in e["args"]["output_shapes"]), e
PY
  then echo "ok   $name"; else fail "$name: $file is not the expected trace"; fi
}

if "$tessera" run "$model_dir/model.onnx" --data "$model_dir/test_data_set_0" --profile "$out/run.json" >"$out/stdout" 2>"$out/stderr"; then
  check_trace run_profile "$out/run.json" 1
else
  fail "run --profile: exit code $?: $(cat "$out/stderr")"
fi

if "$tessera" bench "$model_dir/model.onnx" --runs 3 --warmup 1 --profile "$out/bench.json" >"$out/stdout" 2>"$out/stderr"; then
  check_trace bench_profile "$out/bench.json" 4
else
  fail "bench --profile: exit code $?: $(cat "$out/stderr")"
fi

# Without --profile nothing is written; at the default level (warning) a good run prints nothing
# on stderr, at info the session summary.
"$tessera" run "$model_dir/model.onnx" --data "$model_dir/test_data_set_0" >"$out/stdout" 2>"$out/stderr"
if [ -s "$out/stderr" ]; then fail "default log level: stderr not empty: $(cat "$out/stderr")"; else echo "ok   quiet_by_default"; fi
[ "$(ls "$out" | grep -c json)" -eq 2 ] || fail "a run without --profile wrote a trace"
"$tessera" run "$model_dir/model.onnx" --data "$model_dir/test_data_set_0" --log-level info >"$out/stdout" 2>"$out/stderr"
if grep -q "^\[tessera info\] model '.*': session created: " "$out/stderr" && ! grep -q "tessera verbose" "$out/stderr"; then
  echo "ok   log_level_info"
else
  fail "--log-level info: $(cat "$out/stderr")"
fi
"$tessera" info "$model_dir/model.onnx" --log-level verbose >"$out/stdout" 2>"$out/stderr"
if grep -q "^\[tessera verbose\] model '.*': session kernel_creation " "$out/stderr"; then
  echo "ok   log_level_verbose"
else
  fail "--log-level verbose: $(cat "$out/stderr")"
fi

finish "profile"
