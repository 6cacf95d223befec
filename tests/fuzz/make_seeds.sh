#!/usr/bin/env bash
# Builds the fuzzers' seed corpora from the ONNX conformance cases, at run time (nothing copied
# into the repository): OUT/<target>/ for fuzz_model_load, fuzz_session_run, fuzz_value_decode,
# plus the few hand-written seeds committed in tests/fuzz/seeds/<target>/.
#   tests/fuzz/make_seeds.sh OUT [BACKEND_TESTS] [EVERY]
# BACKEND_TESTS defaults to ../shared/onnx-backend-tests; EVERY=N keeps every Nth case (1: all).
# Only models under 64 KiB and values under 16 KiB are kept: small seeds mutate faster.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: make_seeds.sh OUT [BACKEND_TESTS] [EVERY]}"
tests="${2:-$here/../../../shared/onnx-backend-tests}"
every="${3:-1}"
mkdir -p "$out/fuzz_model_load" "$out/fuzz_session_run" "$out/fuzz_value_decode"
for target in fuzz_model_load fuzz_session_run fuzz_value_decode; do
  [ -d "$here/seeds/$target" ] && cp "$here/seeds/$target/"* "$out/$target/"
done
[ -d "$tests" ] || { echo "make_seeds: no conformance cases at $tests; committed seeds only" >&2; exit 0; }

# The 4-byte little-endian size fuzz_session_run expects before the model.
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
                                                    $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"; }
i=0
while IFS= read -r model; do
  i=$((i + 1))
  [ $(((i - 1) % every)) -eq 0 ] || continue
  case_dir="$(dirname "$model")"
  name="$(basename "$(dirname "$case_dir")")_$(basename "$case_dir")"
  cp "$model" "$out/fuzz_model_load/$name"
  # The model, then the first input's bytes to fill the inputs from.
  size=$(stat -c %s "$model")
  input="$case_dir/test_data_set_0/input_0.pb"
  { le32 "$size"; cat "$model"; [ -f "$input" ] && head -c 4096 "$input"; } > "$out/fuzz_session_run/$name"
  # Each value file of the first data set, with the selector byte of its likely type (0 tensor,
  # 2 sequence of tensors, 4 map, 5 optional); the fuzzer mutates the selector too.
  selector='\x00'
  case "$name" in
    *optional*) selector='\x05' ;;
    *sequence* | *seq_* | *split_to_sequence*) selector='\x02' ;;
    *zipmap* | *map*) selector='\x04' ;;
  esac
  for pb in "$case_dir"/test_data_set_0/*.pb; do
    [ -f "$pb" ] && [ "$(stat -c %s "$pb")" -le 16384 ] || continue
    { printf "$selector"; cat "$pb"; } > "$out/fuzz_value_decode/${name}_$(basename "$pb" .pb)"
  done
done < <(find "$tests" -name model.onnx -size -64k | sort)
for target in fuzz_model_load fuzz_session_run fuzz_value_decode; do
  echo "make_seeds: $target: $(ls "$out/$target" | wc -l) seeds" >&2
done
