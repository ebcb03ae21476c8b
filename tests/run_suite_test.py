"""scripts/bench's runner without a build: the rule that marks a run starved of cores, the
--rerun-starved loop (on a stand-in for the cell's process) and the flag's validation."""

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))

import run_suite  # noqa: E402

TBB = {"name": "fib/tbb/n:30/cutoff:2", "workload": "fib", "model": "tbb",
       "params": {"n": 30, "cutoff": 2}, "busy_cores": 2, "state": "available"}
THREADS = {"name": "fib/threads/n:30/cutoff:20", "workload": "fib", "model": "threads",
           "params": {"n": 30, "cutoff": 20}, "state": "available"}


def row(cpu_util, others_cpu=None):
    r = {"name": "x/manual_time", "run_type": "iteration", "real_time": 1.0, "time_unit": "ms",
         "cpu_util": cpu_util}
    if others_cpu is not None:
        r["others_cpu"] = others_cpu
    return r


class StarvedRule(unittest.TestCase):
    def test_low_cpu_util_while_others_took_a_core_is_starved(self):
        why = run_suite.starved_why(TBB, row(0.99, 0.97))
        self.assertEqual(why, "cpu_util 0.99 of 2 cores, others took 0.97 cores")

    def test_low_cpu_util_on_a_quiet_machine_is_the_model_idling(self):
        self.assertIsNone(run_suite.starved_why(TBB, row(0.99, 0.02)))

    def test_a_model_that_kept_its_cores_busy_is_not_starved_however_busy_the_machine(self):
        self.assertIsNone(run_suite.starved_why(TBB, row(1.65, 1.2)))

    def test_no_busy_cores_is_never_starved(self):
        self.assertIsNone(run_suite.starved_why(THREADS, row(0.3, 1.5)))

    def test_no_others_cpu_is_never_starved(self):
        self.assertIsNone(run_suite.starved_why(TBB, row(0.3)))

    def test_the_median_row_decides_when_there_are_repetitions(self):
        reps = [row(0.5, 1.4), row(1.9, 0.0)]
        median = dict(row(1.8, 0.1), run_type="aggregate", aggregate_name="median")
        self.assertIsNone(run_suite.starved_why(TBB, run_suite.summary_row([*reps, median])))


class RerunStarved(unittest.TestCase):
    """run_cell_unstarved on a stand-in for run_cell that returns the given cpu_utils in turn."""

    def run_with(self, utils, reruns):
        calls = []

        def fake_run_cell(exe, flags, cell, args, context, timeout_s):
            calls.append(cell["name"])
            return [row(utils[len(calls) - 1], 1.0)], {}, "ok", ""

        args = argparse.Namespace(rerun_starved=reruns, instructions=False)
        real = run_suite.run_cell
        run_suite.run_cell = fake_run_cell
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                benchmarks, _, state, _, why = run_suite.run_cell_unstarved(None, [], TBB, args, {}, 1)
        finally:
            run_suite.run_cell = real
        return len(calls), benchmarks[0]["cpu_util"], why, out.getvalue()

    def test_the_first_run_not_starved_is_kept(self):
        n, util, why, line = self.run_with([0.9, 1.9, 0.9], reruns=3)
        self.assertEqual((n, util, why), (2, 1.9, None))
        self.assertIn("rerun 1 of 3", line)
        self.assertIn("kept rerun 1, not starved", line)

    def test_starved_every_time_keeps_the_last_run(self):
        n, util, why, line = self.run_with([0.9, 0.8, 0.7], reruns=2)
        self.assertEqual((n, util), (3, 0.7))
        self.assertEqual(why, "cpu_util 0.70 of 2 cores, others took 1.00 cores")
        self.assertIn("starved every time, kept the last run", line)

    def test_without_the_flag_a_starved_run_is_kept_and_said(self):
        n, _, why, line = self.run_with([0.9], reruns=0)
        self.assertEqual(n, 1)
        self.assertIn("starved: cpu_util 0.90 of 2 cores", line)
        self.assertNotIn("rerun", line)


class Flag(unittest.TestCase):
    def check_args(self, *args):
        return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "lib", "run_suite.py"),
                               "--check-args", "--no-report", "--out", os.path.join(
                                   tempfile.gettempdir(), "run-suite-test-unused.json"), *args],
                              capture_output=True, text=True, timeout=60)

    def test_rerun_starved_takes_0_to_20(self):
        self.assertEqual(self.check_args("--rerun-starved", "3").returncode, 0)
        for bad, says in (("21", "expected 0 to 20, got 21"), ("-1", "expected 0 to 20"),
                          ("some", "expected a whole number, got 'some'")):
            r = self.check_args("--rerun-starved", bad)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"--rerun-starved: {says}", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
