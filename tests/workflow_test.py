""".github/workflows/bench.yml, the workflow users copy: valid YAML with the steps README promises
(build and run with repetitions, restore main's baseline, compare, job summary, fail on a
regression, refresh the baseline only from main), and every option it passes to our scripts is
one they accept."""

import os
import re
import subprocess
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "bench.yml")


def load():
    with open(WORKFLOW, encoding="utf-8") as f:
        return yaml.safe_load(f)


def step_index(steps, predicate, what):
    for i, s in enumerate(steps):
        if predicate(s):
            return i
    raise AssertionError(f"no step that {what}")


class Workflow(unittest.TestCase):
    def setUp(self):
        self.doc = load()

    def test_triggers(self):
        on = self.doc.get("on", self.doc.get(True))  # YAML 1.1 reads a bare `on` as true
        self.assertIn("pull_request", on)
        self.assertEqual(on["push"]["branches"], ["main"])

    def check_gate(self, job, bench_flags, compare_flags):
        steps = self.doc["jobs"][job]["steps"]
        run = lambda s: s.get("run", "")  # noqa: E731
        checkout = step_index(steps, lambda s: s.get("uses", "").startswith("actions/checkout"),
                              "checks out")
        restore = step_index(steps, lambda s: s.get("uses", "").startswith(
            "actions/cache/restore"), "restores the baseline")
        self.assertTrue(steps[restore]["with"]["restore-keys"].endswith("-main-"))
        bench = step_index(steps, lambda s: "scripts/bench" in run(s), "runs the suite")
        for flag in bench_flags:
            self.assertIn(flag, run(steps[bench]))
        compare = step_index(steps, lambda s: "scripts/compare" in run(s), "compares")
        text = run(steps[compare])
        for flag in ("--markdown", *compare_flags):
            self.assertIn(flag, text)
        self.assertIn('>> "$GITHUB_STEP_SUMMARY"', text)
        self.assertIn('exit "$status"', text)  # the gate's exit status fails the job
        self.assertIn("cache-matched-key != ''", steps[compare]["if"])
        save = step_index(steps, lambda s: s.get("uses", "").startswith("actions/cache/save"),
                          "saves the baseline")
        self.assertIn("refs/heads/main", steps[save]["if"])
        self.assertIn("github.event_name == 'push'", steps[save]["if"])
        self.assertTrue(steps[save]["with"]["key"].startswith(
            steps[restore]["with"]["restore-keys"]))
        self.assertLess(checkout, restore)
        self.assertLess(restore, bench)
        self.assertLess(bench, compare)
        self.assertLess(compare, save)

    def test_timed_gate(self):
        self.check_gate("timed", ("--repetitions",), ("--normalize sync",))

    def test_instruction_gate(self):
        self.check_gate("instructions", ("--instructions",), ("--threshold",))

    def test_every_option_is_one_the_scripts_accept(self):
        helps = {}
        for script in ("bench", "compare"):
            r = subprocess.run([os.path.join(ROOT, "scripts", script), "--help"],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            helps[script] = r.stdout
        used = 0
        for job in self.doc["jobs"].values():
            for step in job["steps"]:
                text = step.get("run", "").replace("\\\n", " ")
                for m in re.finditer(r"scripts/(bench|compare)\b([^\n|;]*)", text):
                    for flag in re.findall(r"(?<!\S)(--[a-z-]+)", m.group(2)):
                        self.assertIn(flag, helps[m.group(1)], f"scripts/{m.group(1)} {flag}")
                        used += 1
        self.assertGreater(used, 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
