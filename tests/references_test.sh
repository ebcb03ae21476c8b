#!/usr/bin/env bash
# The calibration's reference programs (bench/calibrate/) at tiny sizes: each exits 0 and prints
# one valid JSON line per measurement with the verified result and unit count, and a bad flag,
# a missing size or a bad value exits 2 with a message.
# Usage: references_test.sh DIR (where the build put cmbench-ref-*)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
source "$root/scripts/lib/setup.sh"
py=$(find_python json)
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect PROGRAM FLAGS -- PYTHON-CHECK: runs it, then checks its JSON lines (list `lines`).
expect() {
  local prog=$1 out
  shift
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  out=$("$dir/cmbench-ref-$prog" "${flags[@]}") || fail "$prog ${flags[*]}: exit status $?"
  "$py" -c "
import json, sys
lines = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert all(len(l['seconds']) == 2 and min(l['seconds']) > 0 for l in lines), lines
$1" <<<"$out" || fail "$prog ${flags[*]}: $out"
}

expect tbb --workers=2 --repetitions=2 --n=15 --leaves=100 -- "
fib, sky = lines
assert fib['reference'] == 'tbb_fib' and fib['result'] == 610 and fib['units'] == 987, fib
assert fib['counted'] is True and fib['workers'] == 2, fib
assert sky['reference'] == 'tbb_skynet' and sky['result'] == 4950 and sky['units'] == 111, sky"
expect tbb --workers=1 --repetitions=2 --n=1 --count=0 -- "
assert lines[0]['result'] == 1 and lines[0]['units'] == 1 and lines[0]['counted'] is False"
expect boost-fiber --workers=2 --repetitions=2 --leaves=100 -- "
assert lines[0]['reference'] == 'boost_fiber_skynet' and lines[0]['result'] == 4950
assert lines[0]['units'] == 111 and lines[0]['workers'] == 2"
if [ "$(nproc)" -ge 2 ]; then
  expect threads --repetitions=2 --hops=1001 --placement=cross -- "
assert lines[0]['reference'] == 'futex_pingpong' and lines[0]['placement'] == 'cross'
assert lines[0]['result'] == 1001 and len(lines[0]['ns_per_hop']) == 2"
fi
expect threads --repetitions=2 --hops=1001 --placement=same -- "
assert lines[0]['placement'] == 'same' and lines[0]['workers'] == 1 and lines[0]['result'] == 1001"
expect coroutine --repetitions=2 --hops=1001 -- "
assert lines[0]['reference'] == 'coroutine_symmetric' and lines[0]['result'] == 1001"
expect context --repetitions=2 --hops=1000 -- "
assert lines[0]['reference'] == 'context_switch' and lines[0]['result'] == 1000"

# expect_usage_error PROGRAM MESSAGE FLAGS...
expect_usage_error() {
  local prog=$1 says=$2 status=0 err
  shift 2
  err=$("$dir/cmbench-ref-$prog" "$@" 2>&1 >/dev/null) || status=$?
  [ "$status" -eq 2 ] || fail "$prog $*: exit status $status, expected 2"
  grep -qF -- "$says" <<<"$err" || fail "$prog $*: said '$err', expected '$says'"
}
expect_usage_error tbb "unknown flag --bogus" --n=10 --bogus=1
expect_usage_error tbb "give --n=N (fib), --leaves=L (skynet) or both" --workers=1
expect_usage_error tbb "--leaves must be a power of 10" --leaves=99
expect_usage_error boost-fiber "--workers=0: expected a whole number from 1" --workers=0 --leaves=10
expect_usage_error boost-fiber "--leaves is required" --workers=1
expect_usage_error threads "--placement=far: not one of the allowed values" --hops=10 --placement=far
expect_usage_error coroutine "expected --flag=value, got '--hops'" --hops
expect_usage_error context "--hops must be even" --hops=7
expect_usage_error context "--hops=x: expected a whole number" --hops=x
echo "references_test: ok"
