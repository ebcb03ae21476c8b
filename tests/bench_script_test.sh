#!/usr/bin/env bash
# scripts/bench's runner end to end on one small cell: the merged JSON carries the context and
# every selected cell's state, Google Benchmark's own compare.py reads it, the run's report is
# written where asked, a baseline is saved and compared with, and bad input gives a clear error
# with exit status 2 and no result file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exe=$1
source "$root/scripts/lib/setup.sh"
py=$(find_python json matplotlib scipy)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run() { "$py" "$root/scripts/lib/run_suite.py" --cmbench "$exe" "$@"; }

run --profile smoke --filter '^spawn/(coro|threads)/' --max-threads 100 --repetitions 2 \
  --out "$tmp/a.json" --report "$tmp/report" >"$tmp/out.txt" ||
  fail "suite run failed: $(cat "$tmp/out.txt")"
grep -q "report: $tmp/report/index.html" "$tmp/out.txt" || fail "report path not shown"
[ -s "$tmp/report/index.html" ] && [ -s "$tmp/report/report.md" ] || fail "no report written"
grep -q '\[1/1\] spawn/coro/leaves:1000' "$tmp/out.txt" || fail "no progress line: $(cat "$tmp/out.txt")"
grep -q 'skipped: needs 1111 OS threads' "$tmp/out.txt" || fail "skip reason not shown"
"$py" - "$tmp/a.json" <<'PY' || fail "result file content"
import json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for key in ("git_commit", "compiler", "compiler_flags", "tbb_version", "boost_version",
            "cmbench_workers", "cmbench_profile"):
    assert key in ctx, key
cells = {c["name"]: c for c in d["cmbench"]["cells"]}
assert cells["spawn/coro/leaves:1000"]["state"] == "ok", cells
assert cells["spawn/threads/leaves:1000"]["state"] == "skipped", cells
assert "--max-threads=100" in cells["spawn/threads/leaves:1000"]["reason"]
runs = [b for b in d["benchmarks"] if b["run_type"] == "iteration"]
assert len(runs) == 2 and all(b["tasks"] == 1111 for b in runs), runs
assert any(b.get("aggregate_name") == "median" for b in d["benchmarks"])
PY

compare=/usr/share/benchmark/compare.py
if [ -f "$compare" ]; then
  cpy=$(find_python json scipy numpy)
  "$cpy" "$compare" benchmarks "$tmp/a.json" "$tmp/a.json" >"$tmp/cmp.txt" 2>&1 ||
    fail "compare.py could not read the result: $(cat "$tmp/cmp.txt")"
  grep -q 'spawn/coro/leaves:1000' "$tmp/cmp.txt" || fail "compare.py output: $(cat "$tmp/cmp.txt")"
else
  echo "compare.py not installed (libbenchmark-tools); skipping that check" >&2
fi

# Baselines: save one, then compare a new run with it (the gate's statistics have their own
# test; a huge threshold keeps this run's noise from deciding the exit status here).
run --profile smoke --filter '^spawn/coro/' --no-report --out "$tmp/b1.json" \
  --save-baseline smoke-coro --baseline-dir "$tmp/baselines" >"$tmp/out.txt" ||
  fail "saving a baseline: $(cat "$tmp/out.txt")"
grep -q "baseline smoke-coro: $tmp/baselines/smoke-coro.json" "$tmp/out.txt" ||
  fail "baseline path not shown: $(cat "$tmp/out.txt")"
cmp -s "$tmp/b1.json" "$tmp/baselines/smoke-coro.json" || fail "the baseline is not the run"
run --profile smoke --filter '^spawn/coro/' --no-report --out "$tmp/b2.json" \
  --baseline smoke-coro --baseline-dir "$tmp/baselines" --threshold 999 \
  --markdown "$tmp/b.md" >"$tmp/out.txt" || fail "comparing with a baseline: $(cat "$tmp/out.txt")"
grep -q "compared with baseline smoke-coro" "$tmp/out.txt" && grep -q "0 regressions" "$tmp/out.txt" ||
  fail "no comparison shown: $(cat "$tmp/out.txt")"
grep -q "## cmbench compare: no regression" "$tmp/b.md" || fail "no Markdown comparison"

# Calibration, asked for in smoke (off there by default): the paired cells beside their
# reference programs, a ratio and a verdict each; unpaired cells have no row.
run --profile smoke --filter '^(spawn/(tbb|coro)/|fib/tbb/n:20/cutoff:2$)' --calibrate --no-report \
  --out "$tmp/c.json" >"$tmp/out.txt" || fail "calibrated run: $(cat "$tmp/out.txt")"
grep -q "spawn/tbb/leaves:1000 vs tbb_skynet" "$tmp/out.txt" || fail "no calibration line shown"
"$py" - "$tmp/c.json" <<'PY' || fail "calibration in the result file"
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["cell"]: r for r in d["cmbench"]["calibration"]}
assert sorted(rows) == ["fib/tbb/n:20/cutoff:2", "spawn/tbb/leaves:1000"], rows
for r in rows.values():
    assert r["verdict"] in ("ok", "slower"), r
    assert r["cell_value"] > 0 and r["reference_value"] > 0, r
    assert abs(r["ratio"] - r["cell_value"] / r["reference_value"]) < 1e-9, r
assert d["cmbench"]["calibration_s"] > 0
PY
run --profile smoke --filter '^spawn/tbb/' --no-report --out "$tmp/d.json" >/dev/null ||
  fail "uncalibrated smoke run"
"$py" -c "import json, sys; assert 'calibration' not in json.load(open(sys.argv[1]))['cmbench']" \
  "$tmp/d.json" || fail "smoke calibrated without being asked"

expect_usage() {
  local says=$1
  shift
  set +e
  run "$@" --out "$tmp/bad.json" >"$tmp/err.txt" 2>&1
  local status=$?
  set -e
  [ "$status" -eq 2 ] || fail "exit $status, not 2, for: $* ($(cat "$tmp/err.txt"))"
  grep -q -- "$says" "$tmp/err.txt" || fail "no '$says' in: $(cat "$tmp/err.txt")"
  [ ! -e "$tmp/bad.json" ] || fail "a result file was written for: $*"
}
expect_usage "invalid choice: 'nope'" --profile nope
expect_usage "expected 1 to 1024, got 0" --workers 0
expect_usage "not a valid regular expression" --filter '('
expect_usage "no cell matches" --filter 'no-such-cell'
expect_usage "unrecognized arguments: --bogus" --bogus
expect_usage "no $tmp/baselines/nosuch.json (saved: smoke-coro" --baseline nosuch \
  --baseline-dir "$tmp/baselines"
expect_usage "give --baseline NAME" --threshold 10
expect_usage "a baseline name is letters" --save-baseline ../x
expect_usage "--instructions counts instructions, the calibration times" --instructions --calibrate
echo '{"benchmarks": [' >"$tmp/baselines/broken.json"
expect_usage "broken.json: not JSON" --baseline broken --baseline-dir "$tmp/baselines"
mkdir "$tmp/precious" && touch "$tmp/precious/notes.txt"
expect_usage "not a report written by cmbench" --report "$tmp/precious"
[ -f "$tmp/precious/notes.txt" ] || fail "--report removed a directory that was not a report"
touch "$tmp/file"
set +e
run --profile smoke --out "$tmp/file/sub/x.json" >"$tmp/err.txt" 2>&1
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "cannot write there" "$tmp/err.txt" ||
  fail "unwritable --out: exit $status: $(cat "$tmp/err.txt")"
[ -z "$(find "$tmp" -name '*.tmp')" ] || fail "a temporary file was left behind"
echo "bench script: all checks passed"
