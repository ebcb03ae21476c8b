"""The calibration (scripts/lib/calibrate.py) without a build: the pairing finds its cells by name
in a listing like cmbench's (ring's handoff cells included), the rounds alternate between the
cell and a stand-in reference program and take medians, the verdicts follow the ratio, a failing
reference is a failed row; scripts/report renders the section and scripts/compare ignores it."""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))

import calibrate  # noqa: E402
from result_file import parse_cell_name  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "report_fixtures")
CALIBRATED = os.path.join(FIXTURES, "calibrated.json")
MACHINE_A = os.path.join(FIXTURES, "machine-a.json")


def listing(*names):
    cells = []
    for n in names:
        workload, model, params = parse_cell_name(n)
        cells.append({"name": n, "workload": workload, "model": model, "params": params,
                      "state": "available"})
    return cells


QUICK = listing(
    "spawn/sync/leaves:10000", "spawn/tbb/leaves:10000", "spawn/fibers/leaves:10000",
    "spawn/coro/leaves:10000",
    "fib/sync/n:30/cutoff:2", "fib/tbb/n:30/cutoff:2", "fib/fibers/n:30/cutoff:2",
    "fib/tbb/n:30/cutoff:10",
    "ring/sync/units:2/hops:20000/handoff:same", "ring/threads/units:2/hops:20000/handoff:same",
    "ring/tbb/units:2/hops:20000/handoff:same", "ring/fibers/units:2/hops:20000/handoff:same",
    "ring/coro/units:2/hops:20000/handoff:same", "ring/threads/units:2/hops:20000/handoff:cross",
    "ring/fibers/units:2/hops:20000/handoff:cross", "ring/coro/units:2/hops:20000/handoff:cross",
    "ring/threads/units:503/hops:20000/handoff:same",
    "ring/coro/units:503/hops:20000/handoff:same")


class PairingTest(unittest.TestCase):
    def test_the_pairs_find_their_cells_by_name(self):
        found = {c["name"]: p.reference for c, p in calibrate.paired_cells(QUICK)}
        self.assertEqual(found, {
            "fib/tbb/n:30/cutoff:2": "tbb_fib",
            "spawn/tbb/leaves:10000": "tbb_skynet",
            "spawn/fibers/leaves:10000": "boost_fiber_skynet",
            "ring/threads/units:2/hops:20000/handoff:cross": "futex_pingpong_cross",
            "ring/threads/units:2/hops:20000/handoff:same": "futex_pingpong_same",
            "ring/coro/units:2/hops:20000/handoff:same": "coroutine_symmetric",
            "ring/fibers/units:2/hops:20000/handoff:same": "context_switch",
        })

    def test_the_reference_runs_at_the_cells_size_and_workers(self):
        pairs = dict((c["name"], (c, p)) for c, p in calibrate.paired_cells(QUICK))
        c, p = pairs["fib/tbb/n:30/cutoff:2"]
        self.assertEqual(p.reference_flags(c, 2), (["--n=30", "--workers=2"], 2))
        c, p = pairs["ring/threads/units:2/hops:20000/handoff:same"]
        self.assertEqual(p.reference_flags(c, 2), (["--hops=20000", "--placement=same"], 1))
        # A workers sweep (the full profile) names the worker count: that one, not the run's.
        (c, p), = calibrate.paired_cells(listing("spawn/tbb/leaves:1000/workers:1"))
        self.assertEqual(p.reference_flags(c, 2), (["--leaves=1000", "--workers=1"], 1))

    def test_only_the_explained_pair_is_explained(self):
        explained = [p.reference for p in calibrate.PAIRS if p.explained]
        self.assertEqual(explained, ["context_switch"])
        pair = calibrate.PAIRS[0]
        self.assertEqual(calibrate.verdict(pair, 1.10), "ok")
        self.assertEqual(calibrate.verdict(pair, 1.11), "slower")
        self.assertEqual(calibrate.verdict(calibrate.PAIRS[-1], 20.0), "explained")


def fake_reference(directory, program, body):
    path = os.path.join(directory, f"cmbench-ref-{program}")
    with open(path, "w") as f:
        f.write(f"#!{sys.executable}\n{body}")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


class RoundsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.events = os.path.join(self.tmp.name, "events")

    def tearDown(self):
        self.tmp.cleanup()

    def run_pair(self, name, main_row, rerun_rows, profile="full"):
        (cell, pair), = calibrate.paired_cells(listing(name))
        reruns = iter(rerun_rows)

        def rerun():
            with open(self.events, "a") as f:
                f.write("cell\n")
            return [next(reruns)]

        return calibrate.calibrate_cell(cell, pair, [main_row], rerun, profile, 2, self.tmp.name,
                                        lambda *_: None, timeout_s=60)

    def events_seen(self):
        with open(self.events) as f:
            return f.read().split()

    def test_rounds_alternate_and_medians_make_the_ratio(self):
        # Each run of the stand-in reference logs itself and reports 100, 200, 300 ns per hop...
        fake_reference(self.tmp.name, "coroutine", f"""
import json, sys
with open({self.events!r}, "a") as f:
    f.write("ref " + " ".join(sys.argv[1:]) + "\\n")
runs = open({self.events!r}).read().count("ref ")
print(json.dumps({{"reference": "coroutine_symmetric", "ns_per_hop": [100.0 * runs] * 5,
                  "seconds": [1e-3] * 5, "units": 2, "result": 20000}}))
""")
        row = self.run_pair("ring/coro/units:2/hops:20000/handoff:same",
                            {"run_type": "iteration", "real_time": 1, "switch_ns": 330.0},
                            [{"run_type": "iteration", "real_time": 1, "switch_ns": 110.0},
                             {"run_type": "iteration", "real_time": 1, "switch_ns": 220.0}])
        self.assertEqual(self.events_seen(), ["ref", "--hops=20000", "--repetitions=5", "cell",
                                              "ref", "--hops=20000", "--repetitions=5", "cell",
                                              "ref", "--hops=20000", "--repetitions=5"])
        self.assertEqual((row["cell_value"], row["reference_value"]), (220.0, 200.0))
        self.assertAlmostEqual(row["ratio"], 1.1)
        self.assertEqual(row["verdict"], "ok")
        self.assertEqual(row["rounds"], [3, 3])

    def test_time_per_run_and_the_counting_overhead(self):
        fake_reference(self.tmp.name, "tbb", """
import json, sys
seconds = 0.001 if "--count=0" in sys.argv else 0.002
print(json.dumps({"reference": "tbb_fib", "seconds": [seconds] * 5, "units": 1, "result": 1}))
""")
        row = self.run_pair("fib/tbb/n:30/cutoff:2",
                            {"run_type": "iteration", "real_time": 3, "time_unit": "ms"},
                            [{"run_type": "iteration", "real_time": 3, "time_unit": "ms"}] * 2)
        self.assertEqual((row["cell_value"], row["reference_value"]), (3e6, 2e6))
        self.assertEqual(row["verdict"], "slower")
        self.assertIn("counting units costs the reference +100.0% (--count=0 measured)",
                      row["note"])

    def test_a_reference_that_measured_one_long_run_makes_one_round(self):
        # Asked for 5 repetitions, it gives one (its warm-up took a second or more): no further
        # rounds of either side, and the row says why.
        fake_reference(self.tmp.name, "boost-fiber", f"""
import json, sys
with open({self.events!r}, "a") as f:
    f.write("ref\\n")
print(json.dumps({{"reference": "boost_fiber_skynet", "seconds": [40.0], "units": 1,
                  "result": 1}}))
""")
        row = self.run_pair("spawn/fibers/leaves:1000000/workers:1",
                            {"run_type": "iteration", "real_time": 2, "time_unit": "s"},
                            [{"run_type": "iteration", "real_time": 2, "time_unit": "s"}] * 2)
        self.assertEqual(self.events_seen(), ["ref"])
        self.assertEqual(row["rounds"], [1, 1])
        self.assertAlmostEqual(row["ratio"], 0.05)
        self.assertEqual(row["verdict"], "ok")
        self.assertIn("one round: the reference takes 40.0 s a run", row["note"])

    def test_a_failing_reference_is_a_failed_row(self):
        fake_reference(self.tmp.name, "context", """
import sys
print("context_switch: wrong result: 3 switches, expected 4", file=sys.stderr)
sys.exit(1)
""")
        row = self.run_pair("ring/fibers/units:2/hops:4/handoff:same",
                            {"run_type": "iteration", "real_time": 1, "switch_ns": 1.0}, [])
        self.assertEqual(row["verdict"], "failed")
        self.assertIn("exit status 1: context_switch: wrong result", row["note"])

    def test_a_missing_reference_is_a_failed_row(self):
        row = self.run_pair("spawn/tbb/leaves:1000",
                            {"run_type": "iteration", "real_time": 1}, [])
        self.assertEqual(row["verdict"], "failed")
        self.assertIn("no reference program", row["note"])


class WorkTest(unittest.TestCase):
    """A ring row says what the cell's own work per hop costs, from ring/sync in the same run."""

    ROW = {"cell_value": 7.5, "reference_value": 3.75, "ratio": 2.0, "note": "both switch"}

    def pair_and_cell(self, name):
        (cell, pair), = calibrate.paired_cells(listing(name))
        return pair, cell

    def test_the_ring_rows_add_the_hop_work_of_ring_sync(self):
        pair, cell = self.pair_and_cell("ring/coro/units:2/hops:20000/handoff:same")
        results = {"ring/sync/units:2/hops:20000/handoff:same": {
            "state": "ok", "benchmarks": [{"run_type": "iteration", "real_time": 1,
                                           "switch_ns": 2.5}]}}
        row = calibrate.add_work(dict(self.ROW), pair, cell, results)
        self.assertEqual(row["work_value"], 2.5)
        self.assertEqual(row["ratio"], 2.0)  # the verdict's ratio is the plain one
        self.assertIn("that work alone (ring/sync/units:2/hops:20000/handoff:same, this run) "
                      "takes 2.5 ns a hop: the cell is 1.20x the reference plus it", row["note"])

    def test_no_work_without_a_verified_ring_sync_or_for_other_pairs(self):
        pair, cell = self.pair_and_cell("ring/coro/units:2/hops:20000/handoff:same")
        failed = {"ring/sync/units:2/hops:20000/handoff:same": {"state": "failed"}}
        for results in ({}, failed):
            row = calibrate.add_work(dict(self.ROW), pair, cell, results)
            self.assertNotIn("work_value", row)
            self.assertEqual(row["note"], "both switch")
        pair, cell = self.pair_and_cell("fib/tbb/n:30/cutoff:2")
        row = calibrate.add_work(dict(self.ROW), pair, cell, {})
        self.assertNotIn("work_value", row)


class ScriptsTest(unittest.TestCase):
    def test_the_report_shows_the_calibration_table(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            r = subprocess.run([os.path.join(ROOT, "scripts", "report"), CALIBRATED, "--out", out],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
                md = f.read()
            with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
                page = f.read()
        self.assertIn("## Calibration", md)
        self.assertIn("| cell | reference | metric | cell value | reference value | ratio | "
                      "verdict | note |", md)
        self.assertIn("| fib/tbb/n:20/cutoff:2/workers:2 | tbb_fib | time/run | 3.1 ms | 3 ms | "
                      "1.03x | ok | same fork shape and units |", md)
        self.assertIn("| ring/threads/units:2/hops:1000/handoff:cross | futex_pingpong_cross | "
                      "hop | 900 ns | 600 ns | 1.5x | slower |", md)
        self.assertIn("| ring/fibers/units:2/hops:1000/handoff:same | context_switch | hop | "
                      "120 ns | 6 ns | 20x | explained | explained in README", md)
        self.assertIn("| spawn/tbb/leaves:1000 | tbb_skynet | time/run | - | - | - | FAILED | "
                      "cmbench-ref-tbb exit status 1", md)
        self.assertIn('<h2 id="calibration">Calibration</h2>', page)
        self.assertIn("<td>context_switch</td>", page)

    def test_a_report_without_calibration_has_no_such_section(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            r = subprocess.run([os.path.join(ROOT, "scripts", "report"), MACHINE_A, "--out", out],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
                self.assertNotIn("Calibration", f.read())

    def test_compare_ignores_the_calibration(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "cmp.json")
            r = subprocess.run([os.path.join(ROOT, "scripts", "compare"), MACHINE_A, CALIBRATED,
                                "--json", out], capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(out) as f:
                self.assertNotIn("calibration", json.dumps(json.load(f)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
