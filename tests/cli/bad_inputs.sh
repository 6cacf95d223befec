#!/usr/bin/env bash
# Bad input must give a non-zero exit code and exactly one clear line on stderr: never a signal,
# never a hang. Usage: bad_inputs.sh path/to/tessera
source "$(dirname "$0")/common.sh" "$@"
data=$(cd "$(dirname "$0")/../data/bad_inputs" && pwd)

# The valid model runs, so the failures below come from the input alone.
if ! timeout 30 "$tessera" run "$data/add.onnx" --data "$data/good_feed" --output-dir "$out/good" >/dev/null; then
  echo "FAIL valid model: did not run"; failures=$((failures + 1))
fi

expect_error truncated_model "not a valid ONNX model|truncated|parse" "$tessera" run "$data/truncated.onnx" --data "$data/good_feed"
expect_error random_bytes_model "not a valid ONNX model|parse" "$tessera" run "$data/random.onnx" --data "$data/good_feed"
expect_error missing_node_input "'missing'" "$tessera" run "$data/missing_input.onnx" --data "$data/good_feed"
expect_error unknown_op "FrobnicateTensor is not an operator of domain ai.onnx \(the model imports opset 17\)" "$tessera" run "$data/unknown_op.onnx" --data "$data/good_feed"
expect_error wrong_dtype "input 'a'.*expected tensor\(float\)" "$tessera" run "$data/add.onnx" --data "$data/wrong_dtype"
expect_error wrong_shape "input 'a'.*expected tensor\(float\)\[2,3\]" "$tessera" run "$data/add.onnx" --data "$data/wrong_shape"
expect_error absurd_size "node 'fill' \(ConstantOfShape\).*over the limit max_tensor_elements.*limits.max_tensor_elements" "$tessera" run "$data/absurd_size.onnx"
# The limit flags: a 24-byte output over --max-tensor-bytes 8; the Loop's 3 nodes over --max-nodes 2.
expect_error max_tensor_bytes_flag "node 'add' \(Add\).*limits.max_tensor_bytes" "$tessera" run "$data/add.onnx" --data "$data/good_feed" --max-tensor-bytes 8
expect_error max_nodes_flag "long_loop.onnx'.*over the limit max_nodes = 2; raise SessionOptions::limits.max_nodes" "$tessera" run "$data/long_loop.onnx" --max-nodes 2
expect_error missing_data_folder "does not exist" "$tessera" run "$data/add.onnx" --data "$data/no_such_folder"
expect_error missing_model_file "no_such_model.onnx" "$tessera" run "$data/no_such_model.onnx" --data "$data/good_feed"
expect_error bench_dim_not_a_number "dim N: expected a whole number of at least 1, got 'abc'" "$tessera" bench "$data/add.onnx" --runs 1 --dim N=abc
expect_error bench_dim_negative "dim N: expected a whole number of at least 1, got '-3'" "$tessera" bench "$data/add.onnx" --runs 1 --dim N=-3
expect_error bench_dim_unknown_name "has no input dimension named 'batch' \(its symbolic dimensions: none\)" "$tessera" bench "$data/add.onnx" --runs 1 --dim batch=2
expect_error info_on_garbage "not a valid ONNX model|parse" "$tessera" info "$data/random.onnx"

# Optimization levels and saving the optimized model.
level_error="error: --opt-level: unknown optimization level 'fast' \(expected disabled, basic, extended or all\)"
expect_error run_unknown_opt_level "$level_error" "$tessera" run "$data/add.onnx" --data "$data/good_feed" --opt-level fast
expect_error test_unknown_opt_level "$level_error" "$tessera" test "$data" --opt-level fast
expect_error info_unknown_opt_level "$level_error" "$tessera" info "$data/add.onnx" --opt-level fast
expect_error bench_unknown_opt_level "$level_error" "$tessera" bench "$data/add.onnx" --runs 1 --opt-level fast
expect_error optimize_unknown_opt_level "$level_error" "$tessera" optimize "$data/add.onnx" -o "$out/add_opt.onnx" --opt-level fast
log_error="error: --log-level: unknown log level 'loud' \(expected verbose, info, warning, error or fatal\)"
expect_error run_unknown_log_level "$log_error" "$tessera" run "$data/add.onnx" --data "$data/good_feed" --log-level loud
expect_error test_unknown_log_level "$log_error" "$tessera" test "$data" --log-level loud
expect_error info_unknown_log_level "$log_error" "$tessera" info "$data/add.onnx" --log-level loud
expect_error bench_unknown_log_level "$log_error" "$tessera" bench "$data/add.onnx" --runs 1 --log-level loud
expect_error optimize_unknown_log_level "$log_error" "$tessera" optimize "$data/add.onnx" -o "$out/add_opt.onnx" --log-level loud
expect_error run_unwritable_profile "end_profiling: cannot write the profile to '/no/such/folder/trace.json'" \
  "$tessera" run "$data/add.onnx" --data "$data/good_feed" --profile /no/such/folder/trace.json
expect_error optimize_unwritable_output "saving to '/no/such/folder/out.onnx': cannot create '/no/such/folder/out.onnx.tmp'" \
  "$tessera" optimize "$data/add.onnx" -o /no/such/folder/out.onnx
mkdir -p "$out/a_folder"
expect_error optimize_output_is_a_folder "saving to '$out/a_folder': cannot rename" "$tessera" optimize "$data/add.onnx" -o "$out/a_folder"
expect_error optimize_garbage_model "not a valid ONNX model|parse" "$tessera" optimize "$data/random.onnx" -o "$out/random_opt.onnx"
# The optimized model runs like the original.
if ! timeout 30 "$tessera" optimize "$data/add.onnx" -o "$out/add_opt.onnx" --opt-level basic >/dev/null ||
   ! timeout 30 "$tessera" run "$out/add_opt.onnx" --data "$data/good_feed" --output-dir "$out/good_opt" >/dev/null ||
   ! cmp -s "$out/good/output_0.pb" "$out/good_opt/output_0.pb"; then
  echo "FAIL optimize then run: the saved model did not give the original's output"; failures=$((failures + 1))
else
  echo "ok   optimize then run: same output"
fi

# --timeout-ms: a Loop of 2^62 trips stops with one line and exit code 1; a far timeout changes nothing.
expect_error run_timeout \
  "^error: model '.*long_loop.onnx': run passed its deadline; stopped before .*node 'forever' \(Loop\) \(--timeout-ms 50\)$" \
  "$tessera" run "$data/long_loop.onnx" --timeout-ms 50
timeout 30 "$tessera" run "$data/long_loop.onnx" --timeout-ms 50 >/dev/null 2>&1
rc=$?
if [ "$rc" -ne 1 ]; then echo "FAIL run_timeout: exit code $rc, expected 1"; failures=$((failures + 1)); fi
expect_error run_negative_timeout "error: --timeout-ms: expected a number of milliseconds of at least 0, got -5" \
  "$tessera" run "$data/add.onnx" --data "$data/good_feed" --timeout-ms -5
if ! timeout 30 "$tessera" run "$data/add.onnx" --data "$data/good_feed" --timeout-ms 60000 --output-dir "$out/good_timeout" >/dev/null ||
   ! cmp -s "$out/good/output_0.pb" "$out/good_timeout/output_0.pb"; then
  echo "FAIL run with a far timeout: did not give the output of a run without one"; failures=$((failures + 1))
else
  echo "ok   run with a far timeout: same output"
fi

finish "bad input handling"
