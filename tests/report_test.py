"""scripts/report on small fixture result files (tests/report_fixtures/): one run with a failed
and a skipped cell, a second machine with a different set of cells, a truncated file, and (made
here from the first) a run with a cell starved of cores. Checks
the tables and verdicts it writes, that the HTML renders every chart in a real headless browser,
that the result files are left untouched, and that bad input gives a clear error, exit status 2
and nothing written."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import rendered_charts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(ROOT, "scripts", "report")
FIXTURES = os.path.join(ROOT, "tests", "report_fixtures")
A = os.path.join(FIXTURES, "machine-a.json")
B = os.path.join(FIXTURES, "machine-b.json")
STARVED_CELL = "fib/tbb/n:20/cutoff:2/workers:2"
STARVED_WHY = "cpu_util 0.99 of 2 cores, others took 0.97 cores"


def run_report(*args):
    return subprocess.run([REPORT, *args], capture_output=True, text=True, timeout=300)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="report-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, *inputs):
        out = os.path.join(self.tmp, "out")
        r = run_report(*inputs, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("index.html", r.stdout)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            return out, f.read()

    def test_one_run_gives_tables_with_ratios_failures_skips_and_verdicts(self):
        out, md = self.write(A)
        # wait n:10: coro is best on time and throughput; ratios to the best and to sync's.
        self.assertIn("| coro | **8 ms** (best) · 0.16x sync | **1.25k/s** (best) · 6.25x sync |"
                      " **80 us** (best) · 0.8x sync |", md)
        self.assertIn("| threads | 10 ms · 1.25x best, 0.2x sync | 1k/s · 0.8x best, 5x sync |",
                      md)
        self.assertIn("| fibers | **FAILED** wrong result: 9 completions, expected 10 |", md)
        self.assertIn("| sync | *skipped: waits one after another", md)
        # fib: the tables compare 2 workers; the METG table has a column per worker count.
        self.assertIn("| coro | 500 us · 5x best, 5x sync | 20M/s · 0.2x best, 0.2x sync | "
                      "0.10 · 0.1x best, 0.1x sync | 10 ns |", md)
        self.assertIn("| model | workers:1 | workers:2 |", md)
        self.assertIn("| tbb | 3 us | 3 us |", md)
        # idle: a table per unit count; the fibers' stack size tells a variant of the model apart.
        self.assertIn("### idle units:1000\n\n", md)
        self.assertIn("| fibers stack_kib:16 | ", md)
        self.assertRegex(md, r"### idle units:100\n\n[^#]*\| threads \|")
        self.assertNotRegex(md, r"### idle units:1000\n\n[^#]*\| threads \|")
        # Verdicts come from the data: the winner among concurrent models and its margin.
        self.assertIn("| n:10 max_delay_ms:10 | coro (1.25x threads) |", md)
        self.assertIn("| n:20 cutoff:2 | coro (2x tbb) | coro (2x tbb) | coro (1.11x tbb) |", md)
        self.assertIn("Wins — items/s (higher is better): coro in 2 of 2", md)
        self.assertIn("1 cell FAILED:\n\n- wait/fibers/n:10/max_delay_ms:10: wrong result: 9 "
                      "completions", md)
        self.assertIn("1 cell was skipped, each with its reason:\n\n- wait/sync/n:1000/", md)
        self.assertIn("| host | machine-a |", md)
        charts = sorted(os.listdir(os.path.join(out, "charts")))
        self.assertEqual(charts, sorted(f"{c}.svg" for c in (
            "wait-throughput", "wait-latency", "wait-memory", "fib-efficiency", "fib-memory",
            "fib-workers", "idle-latency", "idle-memory")))
        for c in charts:
            self.assertIn(f"(charts/{c})", md)

    @staticmethod
    def chart(out, name):
        with open(os.path.join(out, "charts", f"{name}.svg"), encoding="utf-8") as f:
            return f.read()

    def starved_fixture(self, starved):
        """machine-a.json with fib/tbb at 2 workers, cutoff 2, made 2x faster than coro (and at
        90% efficiency, a METG of 10 ns): the winner, unless it is marked starved."""
        with open(A, encoding="utf-8") as f:
            doc = json.load(f)
        for b in doc["benchmarks"]:
            if b["name"].startswith(STARVED_CELL + "/"):
                b.update(real_time=0.25, cpu_time=0.25, items_per_second=40e6, efficiency=0.9)
        if starved:
            for c in doc["cmbench"]["cells"]:
                if c["name"] == STARVED_CELL:
                    c.update(starved=True, starved_why=STARVED_WHY)
        path = os.path.join(self.tmp, f"starved-{starved}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        return path

    def test_a_starved_cell_is_marked_and_left_out_of_the_verdicts(self):
        # The fixture can fail this test: unmarked, the fast tbb cell wins.
        out, md = self.write(self.starved_fixture(starved=False))
        self.assertIn("| n:20 cutoff:2 | tbb (2x coro) | tbb (9x coro) |", md)
        self.assertIn("| tbb | 3 us | 10 ns |", md)
        # The charts: its 40M items/s sets the scaling chart's axis only while it is not starved
        # (matplotlib writes each text's string as an SVG comment).
        self.assertIn("<!-- 40M -->", self.chart(out, "fib-workers"))
        out, md = self.write(self.starved_fixture(starved=True))
        self.assertNotIn("<!-- 40M -->", self.chart(out, "fib-workers"))
        self.assertIn("at each worker count; higher is better. 1 starved cell is left out (see "
                      "Starved cells).", md)
        self.assertIn(f"| tbb · **starved: {STARVED_WHY}** | 250 us · 2.5x best, 2.5x sync |", md)
        self.assertIn("| n:20 cutoff:2 | coro | coro | coro |", md)
        self.assertIn("Wins — items/s (higher is better): coro in 2 of 2", md)
        self.assertIn("n:20 cutoff:2: the best concurrent model, coro, does 0.2x sync's items/s",
                      md)
        self.assertIn("| tbb | 3 us | 3 us |", md)  # METG at 2 workers without the starved cell
        self.assertIn("METG of tbb: 3 us (workers:1), 3 us (workers:2)", md)
        self.assertIn("| cells | 19 ok (1 starved), 1 failed, 1 skipped |", md)
        self.assertIn("## Starved cells\n\n1 cell kept clearly fewer cores busy", md)
        self.assertIn(f"- {STARVED_CELL}: {STARVED_WHY}", md)
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            self.assertIn(f'<td class="starved" title="starved: {STARVED_WHY}">tbb', f.read())
        # Side by side with a run where it was not starved: the value is shown, marked.
        _, md = self.write(A, self.starved_fixture(starved=True))
        self.assertIn(f"| tbb/n:20/cutoff:2/workers:2 | 10M/s | 40M/s · **4x first, starved: "
                      f"{STARVED_WHY}** |", md)

    def test_two_machines_side_by_side_and_mismatched_cells_listed(self):
        out, md = self.write(A, B)
        self.assertIn("| host | machine-a | machine-b |", md)
        self.assertIn("| compiler | GNU 12.2.0 | Clang 14.0.6 |", md)
        self.assertIn("- only in machine-a · GNU 12.2.0: idle/sync/units:1000", md)
        self.assertIn("- only in machine-b · Clang 14.0.6: wait/tbb/n:10/max_delay_ms:10", md)
        self.assertIn("| coro/n:10/max_delay_ms:10 | 1.25k/s | 625/s · 0.5x first |", md)
        self.assertIn("| fibers/n:10/max_delay_ms:10 | **FAILED** wrong result: 9 completions, "
                      "expected 10 | 833/s |", md)
        self.assertNotIn("wait/tbb/n:10/max_delay_ms:10 |", md)  # listed, never joined
        self.assertTrue(os.path.exists(os.path.join(out, "charts", "compare-wait.svg")))

    def test_every_chart_renders_in_a_headless_browser(self):
        for inputs in ((A,), (A, B)):
            out, _ = self.write(*inputs)
            results = rendered_charts.check(os.path.join(out, "index.html"))
            charts = sorted(f[:-len(".svg")] for f in os.listdir(os.path.join(out, "charts")))
            self.assertEqual(sorted(c for c, _, _ in results), charts)
            for chart_id, ok, why in results:
                self.assertTrue(ok, f"{chart_id}: {why}")

    def test_the_render_check_sees_a_chart_that_does_not_render(self):
        out, _ = self.write(A)
        index = os.path.join(out, "index.html")
        with open(index, encoding="utf-8") as f:
            page = f.read()
        # Break one chart's image data: the browser cannot decode it.
        page = re.sub(r'(id="wait-latency" alt="[^"]*" src="data:image/svg\+xml;base64,)[^"]+',
                      r"\1AAAA", page)
        with open(index, "w", encoding="utf-8") as f:
            f.write(page)
        results = {c: ok for c, ok, _ in rendered_charts.check(index)}
        self.assertFalse(results["wait-latency"])
        self.assertTrue(results["wait-memory"])

    def test_result_files_are_only_read(self):
        before = [digest(A), digest(B)]
        self.write(A, B)
        self.assertEqual([digest(A), digest(B)], before)

    def test_rewriting_replaces_an_earlier_report_whole(self):
        out, _ = self.write(A, B)
        self.assertTrue(os.path.exists(os.path.join(out, "charts", "compare-wait.svg")))
        out, _ = self.write(A)
        self.assertFalse(os.path.exists(os.path.join(out, "charts", "compare-wait.svg")))

    def test_bad_input_is_a_clear_error_with_status_2_and_nothing_written(self):
        not_results = os.path.join(self.tmp, "not-results.json")
        with open(not_results, "w") as f:
            f.write('{"hello": 1}')
        cases = [
            ([os.path.join(self.tmp, "missing.json")], "missing.json: no such file"),
            ([os.path.join(FIXTURES, "truncated.json")], "truncated.json: not JSON"),
            ([A, not_results], "not a Google Benchmark result file"),
            ([FIXTURES], "is a directory"),
            ([], "the following arguments are required"),
            ([A, "--bogus"], "unrecognized arguments: --bogus"),
        ]
        out = os.path.join(self.tmp, "out")
        for args, says in cases:
            r = run_report(*args, "--out", out)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn(says, r.stderr, args)
            self.assertFalse(os.path.exists(out), f"{args} wrote {out}")
        self.assertEqual(os.listdir(self.tmp), ["not-results.json"])  # no temporary left over

    def test_a_directory_that_is_not_a_report_is_never_replaced(self):
        precious = os.path.join(self.tmp, "precious")
        os.makedirs(precious)
        with open(os.path.join(precious, "notes.txt"), "w") as f:
            f.write("keep me")
        r = run_report(A, "--out", precious)
        self.assertEqual(r.returncode, 2)
        self.assertIn("refusing to replace it", r.stderr)
        self.assertEqual(os.listdir(precious), ["notes.txt"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
