#!/usr/bin/env bash
# `tessera --version`, `help`, `test` (data.json tolerance, --rtol/--atol, the failure report,
# no case found), `info` (metadata, weights, node counts, unsupported ops, --json) and `ops`.
# Usage: commands.sh path/to/tessera
source "$(dirname "$0")/common.sh" "$@"
data=$(cd "$(dirname "$0")/../data/cli" && pwd)
bad=$(cd "$(dirname "$0")/../data/bad_inputs" && pwd)

# check NAME COMMAND... : succeeds (the command is a test of the output saved in $out/stdout).
check() {
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else fail "$name: $(cat "$out/stdout" "$out/stderr" 2>/dev/null | head -20)"; fi
}
has() { grep -qE "$1" "$out/stdout"; }

"$tessera" --version >"$out/stdout" 2>"$out/stderr"
check version [ $? -eq 0 ] && check version_text has "^tessera [0-9]+\.[0-9]+\.[0-9]+$"
"$tessera" help >"$out/stdout" 2>"$out/stderr"
check help_lists_commands has "^  ops +List every operator"
check help_exit_codes has "Exit codes: 0 success; 1 error .*; 2 usage"
"$tessera" help run >"$out/stdout" 2>"$out/stderr"
check help_run_shows_defaults has "^  --rtol FLOAT=0.001 "
expect_exit 2 help_unknown_command "no command 'frob'" "$tessera" help frob
expect_exit 2 no_command "subcommand" "$tessera"

# test: the case's data.json allows rtol 1e-2 (its output is 0.5% off); --rtol 1e-3 fails it,
# with the error statistics and the tolerance used; no case found is an error.
case_dir=$data/tolerance_case
"$tessera" test "$case_dir" >"$out/stdout" 2>"$out/stderr"
check test_data_json_tolerance [ $? -eq 0 ] && check test_data_json_passes has "^1 passed, 0 failed$"
"$tessera" test "$case_dir" --rtol 1e-3 >"$out/stdout" 2>"$out/stderr"
check test_rtol_override_fails [ $? -eq 1 ]
check test_failure_report has "^FAIL cli/tolerance_case: output 0 \('y'\): 6 of 6 elements differ \(max abs error 0.0(35|349)[0-9]*, max rel error 0.00497[0-9]*; rtol 0.001, atol 0\)"
"$tessera" test "$case_dir" --rtol 1e-3 --atol 0.05 >"$out/stdout" 2>"$out/stderr"
check test_atol_override [ $? -eq 0 ]
mkdir -p "$out/no_json" && cp -r "$case_dir" "$out/no_json/case" && rm "$out/no_json/case/data.json"
"$tessera" test "$out/no_json" >"$out/stdout" 2>"$out/stderr"
check test_default_tolerance_fails has "rtol 0.001, atol 1e-07\)"
echo '{"rtol": "loose"}' >"$out/no_json/case/data.json"
"$tessera" test "$out/no_json" >"$out/stdout" 2>"$out/stderr"
check test_bad_data_json has "data.json': \"rtol\" is not a number"
mkdir -p "$out/empty"
expect_exit 2 test_no_case "^error: no test case \(a folder with model.onnx and test_data_set_N/\) under '.*empty'$" "$tessera" test "$out/empty"
# --expected-failures: a listed case that passes is an error, unless its reason starts with
# "random:" (expected outputs drawn at random, which a run can match by chance).
echo "cli/tolerance_case   listed, but it passes" >"$out/expected.txt"
"$tessera" test "$case_dir" --expected-failures "$out/expected.txt" >"$out/stdout" 2>"$out/stderr"
check test_listed_case_passing_fails [ $? -eq 1 ] && check test_listed_case_passing_named grep -q "cli/tolerance_case passed but is listed" "$out/stderr"
echo "cli/tolerance_case   random: draws that a run may match" >"$out/expected.txt"
"$tessera" test "$case_dir" --expected-failures "$out/expected.txt" >"$out/stdout" 2>"$out/stderr"
check test_random_case_may_pass [ $? -eq 0 ]
"$tessera" test "$case_dir" --rtol 1e-3 --expected-failures "$out/expected.txt" >"$out/stdout" 2>"$out/stderr"
check test_random_case_may_fail [ $? -eq 0 ] && check test_random_case_xfail has "^XFAIL cli/tolerance_case: "

# info: metadata, weights in initializers and Constant nodes, the parameter count, node counts
# apart; --json the same as an object; a model with an unknown op is described and flagged.
"$tessera" info "$data/metadata.onnx" >"$out/stdout" 2>"$out/stderr"
check info_producer has "^producer: cli-test 4.5.6$"
check info_model_version has "^model_version: 7$"
check info_doc_string has "^doc_string: a model for the info test$"
check info_metadata_props has "^  author: tessera$"
check info_initializers has "^initializers: 1 tensors, 80 B$"
check info_constants has "^constant nodes: 1, 12 B$"
check info_parameters has "^parameters: 23 \(23\)$"
check info_node_counts has "^nodes in the file: 2 top-level, 2 in 2 subgraphs$"
"$tessera" info "$data/metadata.onnx" --json >"$out/stdout" 2>"$out/stderr"
check info_json /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["producer_version"] == "4.5.6" and j["model_version"] == 7 and j["metadata_props"] == {"author": "tessera", "license": "MIT"}, j
assert j["parameters"] == 23 and j["constant_nodes"] == {"count": 1, "bytes": 12}, j
assert j["nodes"] == {"top_level": 2, "in_subgraphs": 2, "subgraphs": 2} and j["runnable"] is True, j
' "$out/stdout"
expect_exit 1 info_unsupported_op "^error: model '.*unknown_op.onnx': .*FrobnicateTensor" "$tessera" info "$bad/unknown_op.onnx"
"$tessera" info "$bad/unknown_op.onnx" >"$out/stdout" 2>/dev/null
check info_flags_unsupported has "^runnable: no$"
check info_lists_unsupported has "^  FrobnicateTensor \(opset 17\)$"

# ops: the registry's operators with their schema types; docs/operators.md is its --markdown.
"$tessera" ops >"$out/stdout" 2>"$out/stderr"
check ops_lists_conv has "^  Conv 11-21  T: float16, float, double$"
check ops_lists_ml_domain has "^ai.onnx.ml \([0-9]+ ops\)$"

finish "commands"
