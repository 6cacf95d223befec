#!/usr/bin/env bash
# `tessera run` with a person's own data: .npy / .npz (by name, else by position), .pb, images
# (decoded, resized, --mean/--std), --random / --zeros with --dim, outputs as .npy, --compare;
# and each error a newcomer meets, as one line with exit code 1 (error) or 2 (usage).
# Usage: user_data.sh path/to/tessera path/to/digits/model.onnx
source "$(dirname "$0")/common.sh" "$@"
digits=$2
data=$(cd "$(dirname "$0")/../data/cli" && pwd)
bad=$(cd "$(dirname "$0")/../data/bad_inputs" && pwd)
add=$bad/add.onnx  # y = a + b, all float [2,3]

# expect_output NAME PATTERN COMMAND...: exits 0 and stdout matches PATTERN.
expect_output() {
  local name=$1 pattern=$2
  shift 2
  if timeout 30 "$@" >"$out/stdout" 2>"$out/stderr" && grep -qE "$pattern" "$out/stdout"; then
    echo "ok   $name"
  else
    fail "$name: $(cat "$out/stdout" "$out/stderr")"
  fi
}
values() { grep -E "^y: float\[2,3\] values: $1$" >/dev/null; }

# Inputs from NumPy files: a .npz by member name (saved as b, a), a compressed .npz of unnamed
# arrays by position, a .npy named by its file stem, by NAME=, with --zeros for the rest.
expect_output npz_by_name "^y: float\[2,3\] values: 3 3 3 3 3 3$" "$tessera" run "$add" --input "$data/ab.npz"
expect_output npz_compressed_by_position "^y: float\[2,3\] values: 4 4 4 4 4 4$" "$tessera" run "$add" --input "$data/positional.npz"
expect_output npy_by_stem_plus_zeros "^y: float\[2,3\] values: 0 1 2 3 4 5$" "$tessera" run "$add" --input "$data/a.npy" --zeros
expect_output npy_by_name "^y: float\[2,3\] values: 0 2 4 6 8 10$" "$tessera" run "$add" --input "b=$data/a.npy" --input "$data/a.npy"
# .pb files by --input, with the rest from a .npy.
expect_output pb_input "^y: float\[2,3\] values: 1 2 3 4 5 6$" \
  "$tessera" run "$add" --input "a=$bad/good_feed/input_0.pb" --input "b=$data/a.npy"

# Outputs as .pb and .npy; --compare against them: a match, then a mismatch (exit 1, numbers).
if timeout 30 "$tessera" run "$add" --input "$data/ab.npz" --output-dir "$out/ab" >/dev/null &&
   [ -s "$out/ab/output_0.pb" ] && [ -s "$out/ab/output_0.npy" ] && head -c 6 "$out/ab/output_0.npy" | grep -q NUMPY; then
  echo "ok   outputs_written_as_pb_and_npy"
else
  fail "outputs_written_as_pb_and_npy: $(ls "$out/ab" 2>&1)"
fi
expect_output compare_match "^match +output 0 'y': max abs error 0, max rel error 0 \(6 elements, rtol 0.001, atol 1e-07\)$" \
  "$tessera" run "$add" --input "$data/ab.npz" --compare "$out/ab"
expect_exit 1 compare_mismatch "error: model '.*add.onnx': outputs differ from '.*' beyond the tolerance" \
  "$tessera" run "$add" --input "$data/positional.npz" --compare "$out/ab"
if grep -qE "^MISMATCH output 0 'y': 6 of 6 elements differ \(max abs error 1, max rel error 0.333333; rtol 0.001, atol 1e-07\)" "$out/stdout"; then
  echo "ok   compare_mismatch_report"
else
  fail "compare_mismatch_report: $(cat "$out/stdout")"
fi
expect_output compare_within_atol "^match " "$tessera" run "$add" --input "$data/positional.npz" --compare "$out/ab" --atol 1.5

# An image: the 16x16 PGM of 2x2 blocks resizes to the 8x8 array it was made from, so the model
# gives the same probabilities as for that array (pixels / 255); --mean/--std likewise.
timeout 30 "$tessera" run "$digits" --input "$data/digit8.npy" --output-dir "$out/digit" >/dev/null || fail "digit8.npy did not run"
expect_output image_input "^match " "$tessera" run "$digits" --input "image=$data/digit16.pgm" --compare "$out/digit" --atol 1e-6
timeout 30 "$tessera" run "$digits" --input "$data/digit8_normalized.npy" --output-dir "$out/digit_n" >/dev/null || fail "normalized did not run"
expect_output image_mean_std "^match " "$tessera" run "$digits" --input "$data/digit16.pgm" --mean 0.5 --std 0.25 --compare "$out/digit_n" --atol 1e-6

# Made-up inputs: --random with --dim sets the batch; --zeros gives zeros.
expect_output random_with_dim "^probabilities: float\[3,10\] values:" "$tessera" run "$digits" --random --dim batch=3
expect_output zeros "^y: float\[2,3\] values: 0 0 0 0 0 0$" "$tessera" run "$add" --zeros

# Errors: one line, the model named, exit 2 for the command line and 1 for the data.
expect_exit 2 wrong_input_name "has no input named 'c' \(its inputs: 'a', 'b'\)" "$tessera" run "$add" --input "c=$data/a.npy"
expect_exit 2 wrong_dim_name "model '.*model.onnx' has no input dimension named 'bat' \(its symbolic dimensions: 'batch'\)" \
  "$tessera" run "$digits" --random --dim bat=3
expect_exit 2 random_and_zeros "random|zeros" "$tessera" run "$add" --random --zeros
expect_exit 2 unknown_flag "argument was not expected: --frobnicate" "$tessera" run "$add" --frobnicate
expect_exit 1 float64_array "model '.*add.onnx': input 'a' from '.*float64.npy': the array holds double but the input is tensor\(float\)\[2,3\] \(save it with a.astype\(np.float32\)\)" \
  "$tessera" run "$add" --input "$data/float64.npy" --zeros
expect_exit 1 missing_input "model '.*add.onnx': no value for input\(s\) 'b' \(give --data DIR, --input NAME=FILE, --random or --zeros\)" \
  "$tessera" run "$add" --input "$data/a.npy"
expect_exit 1 not_an_input_file "model '.*add.onnx': input file '.*not_an_input.txt' is not a .pb, .npy or .npz file, nor an image" \
  "$tessera" run "$add" --input "$data/not_an_input.txt" --zeros
expect_exit 1 too_many_inputs "has no input left to feed: model '.*add.onnx' takes 2 input\(s\): 'a', 'b'" \
  "$tessera" run "$add" --input "$data/ab.npz" --input "$data/positional.npz"
expect_exit 1 data_folder_suggests_data_set "model '.*model.onnx': data folder '.*' has no input_K.pb files; it holds 1 data set\(s\): use --data .*/test_data_set_0$" \
  "$tessera" run "$digits" --data "$(dirname "$digits")"
expect_exit 1 image_for_wrong_input "input 'a' \(tensor\(float\)\[2,3\]\) from image '.*digit16.pgm': an image feeds a float tensor \[N, C, H, W\]" \
  "$tessera" run "$add" --input "$data/digit16.pgm" --zeros
head -c 140 "$data/a.npy" >"$out/truncated.npy"
expect_exit 1 truncated_npy "'.*truncated.npy': the data is shorter than its shape \[2,3\] needs" \
  "$tessera" run "$add" --input "a=$out/truncated.npy" --zeros
head -c 300 "$data/ab.npz" >"$out/truncated.npz"
expect_exit 1 truncated_npz "'.*truncated.npz' is not a .npz file \(no zip directory\)" "$tessera" run "$add" --input "$out/truncated.npz"
# An error raised while running (the input's shape is checked when the run starts) names the model.
expect_exit 1 run_error_names_model "^error: model '.*add.onnx': .*input 'a'" "$tessera" run "$add" --data "$bad/wrong_shape"

finish "user data"
