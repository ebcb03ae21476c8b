"""scripts/compare: the statistics on samples with known p-values, the verdicts and exit codes on
result files built here with known changes, and bad input (exit status 2, nothing written)."""

import json
import os
import subprocess
import sys
import tempfile
import shutil
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import stats  # noqa: E402
import slow_down  # noqa: E402

COMPARE = os.path.join(ROOT, "scripts", "compare")


def result_file(path, cells, host="machine-a", states=None, starved=None):
    """Writes a result file like scripts/bench's: cells maps a cell name to its metrics, each a
    list with one value per repetition (real_time in ms); starved maps a cell name to why it was
    starved of cores."""
    states, starved = states or {}, starved or {}
    benchmarks, listing = [], []
    for name, metrics in cells.items():
        workload, model, *params = name.split("/")
        listing.append({"name": name, "workload": workload, "model": model,
                        "params": dict(p.split(":") for p in params),
                        "state": states.get(name, ("ok", ""))[0],
                        "reason": states.get(name, ("ok", ""))[1]})
        if name in starved:
            listing[-1].update(starved=True, starved_why=starved[name])
        if states.get(name, ("ok",))[0] != "ok":
            continue
        reps = len(metrics["real_time"])
        for i in range(reps):
            row = {"name": f"{name}/manual_time", "run_name": f"{name}/manual_time",
                   "run_type": "iteration", "repetitions": reps, "repetition_index": i,
                   "iterations": 10, "real_time": metrics["real_time"][i],
                   "cpu_time": metrics["real_time"][i], "time_unit": "ms"}
            for key, values in metrics.items():
                if key != "real_time":
                    row[key] = values[i]
            benchmarks.append(row)
    doc = {"context": {"host_name": host, "date": "2026-11-22T10:00:00+00:00",
                       "git_commit": "a" * 40, "git_dirty": "false", "cmbench_profile": "smoke"},
           "benchmarks": benchmarks,
           "cmbench": {"profile": "smoke", "workers": 2, "repetitions": 1, "cells": listing}}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return path


def times(*ms):
    return {"real_time": list(ms), "items_per_second": [1000 / t for t in ms]}


BASE = {
    "fib/sync/n:20/cutoff:2": times(10.0, 10.1, 9.9, 10.2, 10.0),
    "fib/coro/n:20/cutoff:2/workers:2": times(20.0, 20.4, 19.8, 20.1, 20.2),
    "fib/tbb/n:20/cutoff:2/workers:2": times(30.0, 30.3, 29.7, 30.1, 30.2),
}


def scaled(cells, factor, only=None):
    return {name: (times(*(t * factor for t in m["real_time"])) if only in (None, name) else m)
            for name, m in cells.items()}


class Statistics(unittest.TestCase):
    def test_known_p_values(self):
        # Exact two-sided U test: 2 of the 70 orderings of 4+4 values are as extreme as full
        # separation; with one swap, 4 of 70.
        self.assertAlmostEqual(stats.u_test([1, 2, 3, 4], [5, 6, 7, 8]), 2 / 70)
        self.assertAlmostEqual(stats.u_test([1, 2, 3, 5], [4, 6, 7, 8]), 4 / 70)
        self.assertAlmostEqual(stats.u_test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 2 / 252)
        self.assertEqual(stats.u_test([3, 3, 3], [3, 3, 3]), 1.0)

    def test_too_few_repetitions_cannot_reach_alpha(self):
        self.assertAlmostEqual(stats.smallest_p(3, 3), 0.1)
        self.assertAlmostEqual(stats.smallest_p(4, 4), 2 / 70)
        self.assertEqual(stats.smallest_p(1, 1), 1.0)
        self.assertEqual(stats.fewest_repetitions(0.05), 4)
        self.assertEqual(stats.fewest_repetitions(0.01), 5)


class Gate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="compare-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def file(self, name, cells, **kw):
        return result_file(os.path.join(self.tmp, name), cells, **kw)

    def compare(self, base, cand, *args):
        return subprocess.run([COMPARE, base, cand, *args], capture_output=True, text=True,
                              timeout=120)

    def verdicts(self, base, cand, *args):
        out = os.path.join(self.tmp, "verdicts.json")
        r = self.compare(base, cand, "--json", out, *args)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        return r, {(c["cell"], c["metric"]): c for c in doc["comparisons"]}, doc

    def test_a_run_against_itself_is_no_change(self):
        a = self.file("a.json", BASE)
        r, v, _ = self.verdicts(a, a)
        self.assertEqual(r.returncode, 0)
        self.assertEqual({c["verdict"] for c in v.values()}, {"no change"})
        self.assertEqual(v[("fib/coro/n:20/cutoff:2/workers:2", "real_time")]["p_value"], 1.0)

    def test_thirty_percent_slower_is_a_regression_named(self):
        a = self.file("a.json", BASE)
        b = self.file("b.json", scaled(BASE, 1.3, only="fib/coro/n:20/cutoff:2/workers:2"))
        r, v, doc = self.verdicts(a, b)
        self.assertEqual(r.returncode, 1)
        row = v[("fib/coro/n:20/cutoff:2/workers:2", "real_time")]
        self.assertEqual(row["verdict"], "regression")
        self.assertAlmostEqual(row["change"], 0.3)
        self.assertAlmostEqual(row["p_value"], 2 / 252)
        self.assertEqual(v[("fib/coro/n:20/cutoff:2/workers:2", "items_per_second")]["verdict"],
                         "regression")
        self.assertEqual(v[("fib/tbb/n:20/cutoff:2/workers:2", "real_time")]["verdict"],
                         "no change")
        self.assertIn("REGRESSED:\n  fib/coro/n:20/cutoff:2/workers:2 real_time", r.stdout)
        self.assertEqual(doc["regressions"], ["fib/coro/n:20/cutoff:2/workers:2 real_time",
                                              "fib/coro/n:20/cutoff:2/workers:2 items_per_second"])

    def test_faster_is_an_improvement_and_passes(self):
        a = self.file("a.json", BASE)
        b = self.file("b.json", scaled(BASE, 0.7, only="fib/tbb/n:20/cutoff:2/workers:2"))
        r, v, _ = self.verdicts(a, b)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(v[("fib/tbb/n:20/cutoff:2/workers:2", "real_time")]["verdict"],
                         "improvement")

    def test_a_change_below_the_threshold_is_no_change(self):
        a = self.file("a.json", BASE)
        b = self.file("b.json", scaled(BASE, 1.04))  # real, consistent, but only 4%
        r, v, _ = self.verdicts(a, b)
        self.assertEqual(r.returncode, 0)
        row = v[("fib/sync/n:20/cutoff:2", "real_time")]
        self.assertLess(row["p_value"], 0.05)
        self.assertEqual(row["verdict"], "no change")
        r, v, _ = self.verdicts(a, b, "--threshold", "3")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(v[("fib/sync/n:20/cutoff:2", "real_time")]["verdict"], "regression")

    def test_a_large_median_change_that_noise_explains_is_no_change(self):
        noisy_a = {"ring/coro/units:2/hops:100": times(100, 100, 100, 140, 140)}
        noisy_b = {"ring/coro/units:2/hops:100": times(100, 100, 140, 140, 140)}
        r, v, _ = self.verdicts(self.file("a.json", noisy_a), self.file("b.json", noisy_b))
        row = v[("ring/coro/units:2/hops:100", "real_time")]
        self.assertAlmostEqual(row["change"], 0.4)
        self.assertGreater(row["p_value"], 0.05)
        self.assertEqual(row["verdict"], "no change")
        self.assertEqual(r.returncode, 0)

    def test_too_few_repetitions_warn_and_fall_back_to_the_threshold(self):
        one = {n: times(m["real_time"][0]) for n, m in BASE.items()}
        a = self.file("a.json", one)
        b = self.file("b.json", scaled(one, 1.3, only="fib/sync/n:20/cutoff:2"))
        r, v, _ = self.verdicts(a, b)
        self.assertEqual(r.returncode, 1)
        self.assertIn("too few repetitions for the U test (1 against 1)", r.stdout)
        self.assertIn("--repetitions 4", r.stdout)
        row = v[("fib/sync/n:20/cutoff:2", "real_time")]
        self.assertEqual((row["test"], row["verdict"]), ("threshold only", "regression"))

    def test_memory_is_compared_once_per_cell_with_a_floor(self):
        def mem(rss, heap):
            m = times(10, 10, 10, 10)
            m["rss_per_task_B"] = [rss] * 4
            m["heap_per_task_B"] = [heap] * 4
            return {"idle/coro/units:1000": m}
        a = self.file("a.json", mem(200.0, 100.0))
        r, v, _ = self.verdicts(a, self.file("b.json", mem(260.0, 104.0)))
        self.assertEqual(r.returncode, 1)
        rss = v[("idle/coro/units:1000", "rss_per_task_B")]
        self.assertEqual((rss["test"], rss["verdict"], rss["n_baseline"]),
                         ("once per cell", "regression", 1))
        heap = v[("idle/coro/units:1000", "heap_per_task_B")]  # +4%, and under 8 B
        self.assertEqual(heap["verdict"], "no change")

    def test_failed_skipped_and_unmatched_cells(self):
        cells = dict(BASE)
        a = self.file("a.json", {**cells, "fib/fibers/n:20/cutoff:2/workers:2": times(1, 1, 1)})
        b = self.file("b.json", {**cells, "fib/threads/n:20/cutoff:2": times(1, 1, 1)},
                      states={"fib/tbb/n:20/cutoff:2/workers:2": ("failed", "wrong result: 7")})
        r, _, doc = self.verdicts(a, b)
        self.assertEqual(r.returncode, 1)
        self.assertIn("fib/tbb/n:20/cutoff:2/workers:2 failed: wrong result: 7", r.stdout)
        self.assertEqual(doc["only_in_baseline"], ["fib/fibers/n:20/cutoff:2/workers:2"])
        self.assertEqual(doc["only_in_candidate"], ["fib/threads/n:20/cutoff:2"])

    def test_a_starved_cell_is_listed_and_never_a_regression(self):
        tbb = "fib/tbb/n:20/cutoff:2/workers:2"
        why = "cpu_util 0.99 of 2 cores, others took 0.97 cores"
        a = self.file("a.json", BASE)
        slower = scaled(BASE, 1.5, only=tbb)
        # The test can fail: unmarked, 50% slower is a regression.
        r, v, _ = self.verdicts(a, self.file("b.json", slower))
        self.assertEqual((r.returncode, v[(tbb, "real_time")]["verdict"]), (1, "regression"))
        r, v, doc = self.verdicts(a, self.file("c.json", slower, starved={tbb: why}))
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertFalse([k for k in v if k[0] == tbb])
        self.assertEqual(doc["regressions"], [])
        self.assertEqual(doc["not_compared_starved"],
                         [{"cell": tbb, "reason": f"candidate: {why}"}])
        self.assertIn(f"not compared (starved: other processes took the cores the cell needs):\n"
                      f"  - {tbb}: candidate: {why}", r.stdout)
        self.assertIn("; 1 starved cells not compared", r.stdout)
        # Starved in the baseline: the same, whichever way the time moved.
        r, v, doc = self.verdicts(self.file("d.json", BASE, starved={tbb: why}),
                                  self.file("e.json", scaled(BASE, 0.5, only=tbb)))
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(doc["not_compared_starved"], [{"cell": tbb, "reason": f"baseline: {why}"}])
        self.assertFalse([k for k, c in v.items() if c["verdict"] != "no change"])

    def test_normalize_sync_divides_out_a_slower_machine(self):
        a = self.file("a.json", BASE)
        slow = self.file("b.json", scaled(BASE, 2.0), host="machine-b")
        r = self.compare(a, slow)
        self.assertEqual(r.returncode, 1)  # raw: everything regressed
        self.assertIn("different machines: machine-a and machine-b; --normalize sync", r.stdout)
        r, v, _ = self.verdicts(a, slow, "--normalize", "sync")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertNotIn(("fib/sync/n:20/cutoff:2", "real_time"), v)  # the yardstick
        row = v[("fib/coro/n:20/cutoff:2/workers:2", "real_time")]
        self.assertAlmostEqual(row["baseline"], 2.01)
        self.assertEqual(row["verdict"], "no change")
        # On the slower machine, one model 30% slower still than its sync yardstick: caught.
        worse = scaled(scaled(BASE, 2.0), 1.3, only="fib/tbb/n:20/cutoff:2/workers:2")
        r, v, _ = self.verdicts(a, self.file("c.json", worse), "--normalize", "sync")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(v[("fib/tbb/n:20/cutoff:2/workers:2", "real_time")]["verdict"],
                         "regression")

    def test_markdown_for_a_job_summary(self):
        a = self.file("a.json", BASE)
        b = self.file("b.json", scaled(BASE, 1.3, only="fib/coro/n:20/cutoff:2/workers:2"))
        md = os.path.join(self.tmp, "summary.md")
        r = self.compare(a, b, "--markdown", md)
        self.assertEqual(r.returncode, 1)
        with open(md, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("## cmbench compare: regressed", text)
        self.assertIn("### Regressions", text)
        self.assertIn("| fib/coro/n:20/cutoff:2/workers:2 | real_time | 20.1 ms | 26.1 ms | "
                      "+30.0% | 0.00794 | regression |", text)

    def test_the_slow_down_tool_changes_one_cell_only(self):
        a = self.file("a.json", BASE)
        b = os.path.join(self.tmp, "b.json")
        self.assertEqual(slow_down.main([a, b, "fib/coro/n:20/cutoff:2/workers:2", "1.3"]), 0)
        r, v, _ = self.verdicts(a, b)
        self.assertEqual(r.returncode, 1)
        self.assertEqual([k for k, c in v.items() if c["verdict"] != "no change"],
                         [("fib/coro/n:20/cutoff:2/workers:2", "real_time"),
                          ("fib/coro/n:20/cutoff:2/workers:2", "items_per_second")])

    def test_the_slow_down_tool_picks_the_steadiest_cell(self):
        noisy = dict(BASE)
        noisy["fib/sync/n:20/cutoff:2"] = times(10.0, 10.5, 9.9, 10.2, 10.0)
        noisy["fib/tbb/n:20/cutoff:2/workers:2"] = times(30.0, 45.0, 29.7, 30.1, 30.2)
        with open(self.file("a.json", noisy), encoding="utf-8") as f:
            doc = json.load(f)
        name, spread = slow_down.steadiest(doc)
        # sync spreads 10.5/9.9 (6%), coro 20.4/19.8 (3%), tbb 45/29.7 (52%).
        self.assertEqual(name, "fib/coro/n:20/cutoff:2/workers:2")
        self.assertAlmostEqual(spread, 20.4 / 19.8)
        # Starved, the steadiest is never picked: scripts/compare would not compare it.
        with open(self.file("b.json", noisy, starved={name: "cpu_util 0.9 of 2 cores, others "
                                                            "took 1.1 cores"}),
                  encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(slow_down.steadiest(doc)[0], "fib/sync/n:20/cutoff:2")

    def test_bad_input_is_exit_2_with_a_clear_error(self):
        a = self.file("a.json", BASE)
        garbage = os.path.join(self.tmp, "garbage.json")
        with open(garbage, "w") as f:
            f.write("{\"benchmarks\": [")
        not_bench = os.path.join(self.tmp, "not-bench.json")
        with open(not_bench, "w") as f:
            f.write("{\"hello\": 1}")
        other = self.file("other.json", {"ring/sync/units:2/hops:10": times(1, 1, 1)})
        md = os.path.join(self.tmp, "never.md")
        cases = [
            ((os.path.join(self.tmp, "missing.json"), a), "missing.json: no such file"),
            ((a, garbage), "garbage.json: not JSON"),
            ((a, not_bench), "not a Google Benchmark result file"),
            ((a, other), "no cell in common"),
            ((a, a, "--threshold", "-5"), "--threshold -5.0: expected a percentage"),
            ((a, a, "--normalize", "tbb"), "invalid choice"),
            ((a, a, "--markdown", os.path.join(a, "x.md")), "--markdown"),
            ((a, garbage, "--markdown", md), "not JSON"),
        ]
        for args, message in cases:
            r = subprocess.run([COMPARE, *args], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(message, r.stderr, args)
        self.assertFalse(os.path.exists(md))


if __name__ == "__main__":
    unittest.main(verbosity=2)
