#!/usr/bin/env bash
# `tessera bench`: the --json object has every field with sane values and the input shapes used;
# a symbolic dim left out is warned about by name; --dim with a name the model lacks is an error
# listing the names it has; --free-dim fixes a dim in the session, --no-warm-up turns the
# session's warm-up off. Usage: bench_command.sh path/to/tessera path/to/digits/model.onnx
source "$(dirname "$0")/common.sh" "$@"
model=$2

# JSON: parsed by python3 (no extra package), fields checked against the run that made them.
if ! timeout 60 "$tessera" bench "$model" --runs 5 --warmup 1 --threads 1 --dim batch=3 --json >"$out/json" 2>"$out/stderr"; then
  fail "bench --json exited non-zero: $(cat "$out/stderr")"
elif ! /usr/bin/python3 - "$out/json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"]
assert r["runs"] == 5 and r["warmup"] == 1 and r["threads"] == 1 and r["inter_op_threads"] == 1, r
assert r["inputs"] == {"image": [3, 1, 8, 8]}, r["inputs"]
assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"], lat
assert lat["min"] <= lat["mean"] and lat["stddev"] >= 0, lat
assert r["throughput_per_s"] > 0 and r["load_ms"] > 0 and r["peak_rss_mb"] > 1, r
assert r["isa"] in ("portable", "avx2", "avx512"), r["isa"]
PY
then
  fail "bench --json: unexpected object: $(cat "$out/json")"
elif [ -s "$out/stderr" ]; then
  fail "bench --json with every dim set wrote to stderr: $(cat "$out/stderr")"
else
  echo "ok   bench --json"
fi

# The parallel execution mode: the thread count in the output; a negative count is a usage error.
if ! timeout 60 "$tessera" bench "$model" --runs 2 --warmup 0 --dim batch=2 --inter-op-threads 2 >"$out/text" 2>"$out/stderr"; then
  fail "bench --inter-op-threads 2 exited non-zero: $(cat "$out/stderr")"
elif ! grep -qx "inter_op_threads: 2" "$out/text"; then
  fail "bench --inter-op-threads 2: no 'inter_op_threads: 2' line: $(cat "$out/text")"
else
  echo "ok   bench --inter-op-threads"
fi
expect_exit 2 "bench --inter-op-threads -1" "inter-op-threads" "$tessera" bench "$model" --inter-op-threads -1

# Text output names the shapes; a defaulted symbolic dim is one warning naming it.
if ! timeout 60 "$tessera" bench "$model" --runs 2 --warmup 0 >"$out/text" 2>"$out/stderr"; then
  fail "bench without --dim exited non-zero: $(cat "$out/stderr")"
elif ! grep -qx "input: image \[1,1,8,8\]" "$out/text"; then
  fail "bench text output lacks the input shape: $(cat "$out/text")"
elif [ "$(cat "$out/stderr")" != "warning: symbolic dimension 'batch' defaulted to 1 (set it with --dim batch=VALUE)" ]; then
  fail "bench: expected one warning naming 'batch', got: $(cat "$out/stderr")"
else
  echo "ok   bench warns about a defaulted dim"
fi

# An unknown --dim name: one line naming the dims the model has.
if timeout 60 "$tessera" bench "$model" --runs 1 --dim sequence=4 >/dev/null 2>"$out/stderr"; then
  fail "bench --dim sequence=4: exit code 0"
elif ! grep -q "^error: --dim sequence: model '.*' has no input dimension named 'sequence' (its symbolic dimensions: 'batch')$" "$out/stderr" ||
     [ "$(wc -l <"$out/stderr")" -ne 1 ]; then
  fail "bench --dim sequence=4: unexpected stderr: $(cat "$out/stderr")"
else
  echo "ok   bench rejects an unknown dim: $(cat "$out/stderr")"
fi

# --free-dim fixes the batch in the session: the inputs follow it with no warning, and the
# session warms up at it (the verbose log's warm_up phase), unless --no-warm-up.
if ! timeout 60 "$tessera" bench "$model" --runs 2 --warmup 1 --free-dim batch=4 --log-level verbose >"$out/text" 2>"$out/stderr"; then
  fail "bench --free-dim batch=4 exited non-zero: $(cat "$out/stderr")"
elif ! grep -qx "input: image \[4,1,8,8\]" "$out/text" || grep -q "defaulted" "$out/stderr"; then
  fail "bench --free-dim batch=4: expected input [4,1,8,8] and no warning: $(cat "$out/text") $(cat "$out/stderr")"
elif ! grep -q "session warm_up" "$out/stderr"; then
  fail "bench --free-dim batch=4: no warm_up phase in the verbose log: $(cat "$out/stderr")"
else
  echo "ok   bench --free-dim fixes the batch and warms up"
fi
if ! timeout 60 "$tessera" bench "$model" --runs 1 --warmup 0 --no-warm-up --log-level verbose >/dev/null 2>"$out/stderr"; then
  fail "bench --no-warm-up exited non-zero: $(cat "$out/stderr")"
elif grep -q "session warm_up" "$out/stderr"; then
  fail "bench --no-warm-up: the session warmed up anyway: $(cat "$out/stderr")"
else
  echo "ok   bench --no-warm-up"
fi
expect_exit 2 "bench --free-dim unknown name" "free_dimension_overrides names dim 'sequence', which no input of the model has" \
  "$tessera" bench "$model" --runs 1 --free-dim sequence=4
expect_exit 2 "bench --free-dim not a number" "free-dim batch: expected a whole number of at least 0, got 'x'" \
  "$tessera" bench "$model" --runs 1 --free-dim batch=x
expect_exit 2 "run --free-dim without =" "free-dim expects NAME=VALUE, got 'batch'" "$tessera" run "$model" --random --free-dim batch

finish "bench command"
