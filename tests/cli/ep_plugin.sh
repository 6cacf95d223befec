#!/usr/bin/env bash
# `--ep` on the CLI: `info` shows the split with the example plugin EP, `run` gives the CPU EP's
# outputs, `test` passes the same case, and a bad --ep is one clear line on stderr.
# Usage: ep_plugin.sh path/to/tessera path/to/plugin.so MODEL_DIR (a model.onnx with test_data_set_0/)
source "$(dirname "$0")/common.sh" "$@"
plugin=$2
model_dir=$3
ep="example_elementwise:$plugin,cpu"

if "$tessera" info "$model_dir/model.onnx" --ep "$ep" >"$out/info" 2>&1 &&
   grep -q '^placement:' "$out/info" && grep -Eq '^  example_elementwise: [1-9][0-9]* nodes' "$out/info" &&
   grep -Eq '^copies: [1-9]' "$out/info" && grep -Eq ' cpu:0 -> other:0 \(per run\), ([0-9]+ bytes \(inferred\)|bytes unknown until a run)$' "$out/info"; then
  echo "ok   info_placement"
else
  fail "info_placement: $(cat "$out/info")"
fi

"$tessera" run "$model_dir/model.onnx" --data "$model_dir/test_data_set_0" --output-dir "$out/cpu" >/dev/null 2>&1 || fail "cpu run"
# Close, not bit-equal: with another EP in the session the CPU EP's convolutions run in NCHW, not
# in the blocked layout of level `all`, on other kernels that sum in another order.
if "$tessera" run "$model_dir/model.onnx" --data "$model_dir/test_data_set_0" --output-dir "$out/plugin" --ep "$ep" \
     --compare "$out/cpu" --rtol 1e-5 --atol 1e-6 >"$out/run" 2>&1; then
  echo "ok   run_same_outputs"
else
  fail "run_same_outputs: $(cat "$out/run")"
fi

if "$tessera" test "$model_dir" --ep "$ep" >"$out/test" 2>&1 && grep -q '^1 passed, 0 failed' "$out/test"; then
  echo "ok   test_with_plugin"
else
  fail "test_with_plugin: $(cat "$out/test")"
fi

# --strict-placement: the digits model has nodes the example EP declines, so creation fails naming them.
if "$tessera" info "$model_dir/model.onnx" --ep "$ep" --strict-placement >/dev/null 2>"$out/strict"; then
  fail "strict_placement: succeeded"
elif [ "$(wc -l <"$out/strict")" -ne 1 ] || ! grep -Eq "strict placement: [0-9]+ nodes? would fall back to the CPU EP: node '" "$out/strict"; then
  fail "strict_placement: $(cat "$out/strict")"
else
  echo "ok   strict_placement"
fi

# bad_ep NAME EP EXPECTED: fails with one line on stderr containing EXPECTED.
bad_ep() {
  if "$tessera" run "$model_dir/model.onnx" --data "$model_dir/test_data_set_0" --ep "$2" >/dev/null 2>"$out/err"; then
    fail "$1: succeeded"
  elif [ "$(wc -l <"$out/err")" -ne 1 ] || ! grep -qF -- "$3" "$out/err"; then
    fail "$1: $(cat "$out/err")"
  else
    echo "ok   $1"
  fi
}
bad_ep unknown_ep "nosuch,cpu" "unknown execution provider 'nosuch'"
bad_ep missing_library "example_elementwise:$out/missing.so,cpu" "cannot load"
bad_ep empty_entry "cpu,,cpu" "--ep: '' is not NAME or NAME:PATH"
bad_ep wrong_name "other:$plugin" "the library is the EP 'example_elementwise', not 'other'"

finish "ep plugin"
