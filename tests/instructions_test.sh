#!/usr/bin/env bash
# scripts/bench --instructions end to end: two runs of the same build give identical instruction
# counts cell by cell, the cells it cannot count deterministically are skipped with the reason,
# and scripts/compare gates on the counts (and refuses to mix them with a timed run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exe=$1
source "$root/scripts/lib/setup.sh"
py=$(find_python json scipy)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/test installs it)"

run() { "$py" "$root/scripts/lib/run_suite.py" --cmbench "$exe" --profile smoke "$@"; }
filter='^(fib/[a-z]+/n:20/cutoff:10|ring/[a-z]+/units:2/|spawn/[a-z]+/|wait/coro/n:10/)'
for i in 1 2; do
  run --instructions --filter "$filter" --out "$tmp/i$i.json" >"$tmp/i$i.txt" 2>&1 ||
    fail "instruction run $i: $(cat "$tmp/i$i.txt")"
done
"$py" - "$tmp/i1.json" "$tmp/i2.json" <<'PY' || fail "instruction counts"
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
rows = [{b["run_name"]: b for b in r["benchmarks"] if b["run_type"] == "iteration"} for r in runs]
assert rows[0].keys() == rows[1].keys() and len(rows[0]) >= 9, rows[0].keys()
for name, b in rows[0].items():
    other = rows[1][name]
    assert b["instructions"] > 0 and b["instructions_per_item"] > 0, b
    assert b["instructions"] == other["instructions"], (name, b["instructions_runs"],
                                                        other["instructions_runs"])
models = {n.split("/")[1] for n in rows[0]}
assert models == {"sync", "tbb", "coro"}, models
cells = {c["name"]: c for c in runs[0]["cmbench"]["cells"]}
assert runs[0]["cmbench"]["mode"] == "instructions"
assert "one thread at a time" in cells["fib/threads/n:20/cutoff:10"]["reason"]
assert "spins" in cells["fib/fibers/n:20/cutoff:10"]["reason"]
assert "waits on the clock" in cells["wait/coro/n:10/max_delay_ms:2"]["reason"]
# Instructions per item: fork-join costs more per task than the plain recursion.
per_item = {n.split("/")[1]: b["instructions_per_item"] for n, b in rows[0].items()
            if n.startswith("fib/")}
assert per_item["sync"] < per_item["coro"] and per_item["sync"] < per_item["tbb"], per_item
print("identical counts in", len(rows[0]), "cells")
PY

"$root/scripts/compare" "$tmp/i1.json" "$tmp/i2.json" --threshold 1 >"$tmp/cmp.txt" ||
  fail "two runs of one build differ: $(cat "$tmp/cmp.txt")"
grep -q "0 regressions, 0 improvements" "$tmp/cmp.txt" || fail "compare: $(cat "$tmp/cmp.txt")"
grep -q "instructions_per_item" "$tmp/cmp.txt" || fail "counts not compared: $(cat "$tmp/cmp.txt")"
! grep -q " real_time " "$tmp/cmp.txt" || fail "valgrind's times were compared"

run --filter '^spawn/sync/' --no-report --out "$tmp/timed.json" >/dev/null 2>&1
set +e
"$root/scripts/compare" "$tmp/timed.json" "$tmp/i1.json" >"$tmp/mixed.txt" 2>&1
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "compare runs of one kind" "$tmp/mixed.txt" ||
  fail "a timed run against an instruction run: exit $status: $(cat "$tmp/mixed.txt")"
set +e
"$root/scripts/report" "$tmp/i1.json" --out "$tmp/report" >"$tmp/report.txt" 2>&1
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "an instruction-count run" "$tmp/report.txt" && [ ! -e "$tmp/report" ] ||
  fail "a report of valgrind's times: exit $status: $(cat "$tmp/report.txt")"
echo "instructions: all checks passed"
