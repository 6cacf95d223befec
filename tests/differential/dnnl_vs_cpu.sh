#!/usr/bin/env bash
# The oneDNN EP against the CPU EP alone on the differential models: ResNet-50 and the BERT-like
# encoder run with `--ep dnnl,cpu` must give the CPU EP's outputs within rtol 1e-3 / atol 1e-4.
# Usage: dnnl_vs_cpu.sh path/to/tessera path/to/libtessera_ep_dnnl.so CACHE_DIR
# CACHE_DIR (or $TESSERA_DIFF_CACHE) holds MODEL/model.onnx + MODEL/test_data_set_0 as
# tests/differential/run_differential.sh makes them; skipped (77) when neither model is there.
set -u
tessera=$1
plugin=$2
cache=${TESSERA_DIFF_CACHE:-$3}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ran=0
failures=0
for model in resnet50 bert_small; do
  dir=$cache/$model
  [ -f "$dir/model.onnx" ] && [ -d "$dir/test_data_set_0" ] || continue
  ran=$((ran + 1))
  if ! "$tessera" run "$dir/model.onnx" --data "$dir/test_data_set_0" --output-dir "$out/$model/cpu" --threads 2 >/dev/null 2>"$out/err" ||
     ! "$tessera" run "$dir/model.onnx" --data "$dir/test_data_set_0" --output-dir "$out/$model/dnnl" --threads 2 \
         --ep "dnnl:$plugin,cpu" >/dev/null 2>>"$out/err"; then
    echo "FAIL $model: $(cat "$out/err")"
    failures=$((failures + 1))
  elif verdict=$(/usr/bin/python3 "$here/compare.py" "$out/$model/cpu" "$out/$model/dnnl" --rtol 1e-3 --atol 1e-4); then
    echo "ok   $model: $verdict"
  else
    echo "FAIL $model: $verdict"
    failures=$((failures + 1))
  fi
done
if [ "$ran" -eq 0 ]; then
  echo "skipped: no differential models under $cache (tests/differential/run_differential.sh makes them)"
  exit 77
fi
exit $((failures > 0))
