# Sourced by the CLI test scripts (`source "$(dirname "$0")/common.sh" "$@"`), whose first argument
# is the tessera binary. Sets `tessera`, `out` (a temporary folder removed on exit) and `failures`,
# and gives the checks every script uses.
set -u
tessera=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=0

# fail NAME: WHY — counts a failure.
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# expect_exit CODE NAME PATTERN COMMAND...: the command exits with CODE ("any" for any non-zero
# code that is not a crash or a hang) and prints exactly one line on stderr, matching PATTERN.
expect_exit() {
  local code=$1 name=$2 pattern=$3
  shift 3
  timeout 30 "$@" >"$out/stdout" 2>"$out/stderr"
  local rc=$?
  local lines
  lines=$(wc -l <"$out/stderr")
  if [ "$rc" -eq 0 ]; then
    fail "$name: exit code 0"
  elif [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ]; then
    fail "$name: crashed or hung (exit code $rc)"
  elif [ "$code" != any ] && [ "$rc" -ne "$code" ]; then
    fail "$name: exit code $rc, expected $code: $(cat "$out/stderr")"
  elif [ "$lines" -ne 1 ]; then
    fail "$name: expected one line on stderr, got $lines: $(cat "$out/stderr")"
  elif ! grep -qE "$pattern" "$out/stderr"; then
    fail "$name: stderr does not match /$pattern/: $(cat "$out/stderr")"
  else
    echo "ok   $name: $(cat "$out/stderr")"
  fi
}

# expect_error NAME PATTERN COMMAND...: expect_exit with any error code.
expect_error() { expect_exit any "$@"; }

# finish LABEL: prints the summary and exits 1 when anything failed.
finish() {
  if [ "$failures" -eq 0 ]; then echo "$1: all ok"; else echo "$1: $failures failed"; fi
  exit $((failures > 0))
}
