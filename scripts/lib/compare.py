"""scripts/compare: a regression gate between two result files of scripts/bench.

For every cell measured in both files and each metric with a direction, it takes the median over
repetitions in each file, the relative change, and the Mann-Whitney U test's p-value across the
repetitions. A change is a regression (or an improvement) only when it is beyond --threshold in
that direction AND the U test says p < --alpha, so neither a small real drift nor one noisy
repetition fails the gate. With too few repetitions for the test to reach alpha at all, it warns
and the verdict rests on the threshold alone.

An instruction-count run (scripts/bench --instructions) is compared on instructions_per_item
alone. Two metrics are not samples: the memory figures (rss_per_task_B, heap_per_task_B) are measured
once per cell process and repeated in every repetition's row, and an instruction count is
deterministic. Both are compared on the threshold alone; memory changes under MIN_BYTES bytes per
task are no change (allocator granularity).

A cell that other processes starved of cores in either file (scripts/bench marks it in the result
file) is not compared: its figures say what the machine left it, so a change in them is neither a
regression nor an improvement of the model. Such cells are listed as "not compared (starved)".

--normalize sync divides each concurrent model's speed figures by the same workload's sync cell
(the same problem, in the same run), so a uniformly slower or faster machine cancels out; the
sync cells are then the yardstick and their speed is not compared.

Exit status: 0 nothing regressed; 1 something regressed or a cell that passed in the baseline
failed in the candidate (each is named); 2 bad input (a missing or corrupt file, no cell in
common, bad options).
"""

import json
import math
import os
import sys

from cli import Parser, check_writable, write_atomically
from quantity import duration_ns, si
from result_file import ResultFileError, load
from stats import fewest_repetitions, median, smallest_p, u_test

MIN_BYTES = 8
# Parameters that choose how a model runs, not the problem: a sync cell lacks them.
MODEL_PARAMS = ("workers", "stack_kib")


class Metric:
    def __init__(self, key, name, lower_is_better, kind):
        self.key, self.name, self.lower_is_better, self.kind = key, name, lower_is_better, kind

    @property
    def sampled(self):
        """Whether repetitions give independent samples of it (else: threshold alone)."""
        return self.kind in ("time", "rate")

    @property
    def speed(self):
        """Whether it scales with the machine's speed (what --normalize sync divides out)."""
        return self.kind in ("time", "rate")

    def show(self, value, normalized):
        if value is None:
            return "-"
        if normalized and self.speed:
            return f"{value:.3g}x sync"
        if self.kind == "time":
            return duration_ns(value)
        if self.kind == "rate":
            return si(value, "/s")
        if self.kind == "bytes":
            return si(value, "B")
        return si(value)


METRICS = (
    Metric("real_time_ns", "real_time", True, "time"),
    Metric("items_per_second", "items_per_second", False, "rate"),
    Metric("lat_p99_ns", "lat_p99_ns", True, "time"),
    Metric("rss_per_task_B", "rss_per_task_B", True, "bytes"),
    Metric("heap_per_task_B", "heap_per_task_B", True, "bytes"),
    Metric("instructions_per_item", "instructions_per_item", True, "count"),
)


class CompareError(Exception):
    pass


def sync_counterparts(run):
    """cell name -> its workload's sync cell with the same problem, for each non-sync cell; a
    starved sync cell is no yardstick."""
    syncs = [c for c in run.cells if c.model == "sync" and c.state == "ok" and not c.starved]
    out = {}
    for cell in run.cells:
        if cell.model == "sync":
            continue
        problem = {k: v for k, v in cell.params.items() if k not in MODEL_PARAMS}
        for s in syncs:
            if s.workload == cell.workload and s.params == problem:
                out[cell.name] = s
    return out


def samples(cell, metric, counterpart, normalize):
    """The values to compare, per repetition; None when the cell lacks the metric."""
    values = cell.samples(metric.key)
    if not values:
        return None
    if not metric.sampled:
        values = values[:1]
    if normalize and metric.speed:
        reference = counterpart.samples(metric.key) if counterpart else []
        if not reference or median(reference) == 0:
            return None
        values = [v / median(reference) for v in values]
    return values


def compare_values(metric, base, cand, threshold, alpha):
    mb, mc = median(base), median(cand)
    if mb == 0:
        change = 0.0 if mc == 0 else math.inf
    else:
        change = mc / mb - 1
    worse = change > 0 if metric.lower_is_better else change < 0
    beyond = abs(change) > threshold
    if metric.kind == "bytes" and abs(mc - mb) < MIN_BYTES:
        beyond = False
    if not metric.sampled:
        test, p = "once per cell" if metric.kind == "bytes" else "deterministic", None
    elif smallest_p(len(base), len(cand)) < alpha:
        test, p = "U test", u_test(base, cand)
    else:
        test, p = "threshold only", None
    significant = p is None or p < alpha
    if beyond and significant:
        verdict = "regression" if worse else "improvement"
    else:
        verdict = "no change"
    return {"baseline": mb, "candidate": mc, "change": change, "p_value": p, "test": test,
            "n_baseline": len(base), "n_candidate": len(cand), "verdict": verdict}


def label(run):
    c = run.context
    commit = str(c.get("git_commit", "?"))[:10]
    dirty = " (uncommitted changes)" if c.get("git_dirty") == "true" else ""
    return (f"{os.path.relpath(run.path)}: {c.get('host_name', '?')}, commit {commit}{dirty}, "
            f"{c.get('date', '?')}")


def compare(base_run, cand_run, threshold, alpha, normalize):
    base = {c.name: c for c in base_run.cells}
    cand = {c.name: c for c in cand_run.cells}
    result = {
        "baseline": label(base_run), "candidate": label(cand_run),
        "threshold": threshold, "alpha": alpha, "normalize": normalize,
        "warnings": [], "only_in_baseline": [n for n in base if n not in cand],
        "only_in_candidate": [n for n in cand if n not in base],
        "not_compared": [], "not_compared_starved": [], "failed_in_candidate": [],
        "comparisons": [],
    }
    modes = [r.meta.get("mode", "time") for r in (base_run, cand_run)]
    if modes[0] != modes[1]:
        raise CompareError(f"the baseline is a {modes[0]} run and the candidate a {modes[1]} run "
                           "(scripts/bench --instructions): compare runs of one kind")
    instructions = modes[0] == "instructions"
    common = [n for n in base if n in cand]
    if not common:
        raise CompareError("the two files have no cell in common: nothing to compare")

    for key, what in (("host_name", "machines"), ("cmbench_profile", "profiles")):
        b, c = base_run.context.get(key), cand_run.context.get(key)
        if b != c:
            hint = "" if normalize or key != "host_name" else \
                "; --normalize sync divides out the machine's speed"
            result["warnings"].append(f"different {what}: {b} and {c}{hint}")

    counterparts = ({}, {})
    if normalize:
        counterparts = (sync_counterparts(base_run), sync_counterparts(cand_run))

    short_of_test = set()
    for name in common:
        b, c = base[name], cand[name]
        if b.state == "ok" and c.state == "failed":
            result["failed_in_candidate"].append({"cell": name, "reason": c.reason})
            continue
        if b.state != "ok" or c.state != "ok":
            if (b.state, b.reason) == (c.state, c.reason):
                why = f"{b.state} in both" + (f": {b.reason}" if b.reason else "")
            else:
                why = "; ".join(f"{side}: {cell.state}" + (f" ({cell.reason})" if cell.reason else "")
                                for side, cell in (("baseline", b), ("candidate", c))
                                if cell.state != "ok")
            result["not_compared"].append({"cell": name, "reason": why})
            continue
        if b.starved or c.starved:
            why = "; ".join(f"{side}: {cell.starved_why}"
                            for side, cell in (("baseline", b), ("candidate", c)) if cell.starved)
            result["not_compared_starved"].append({"cell": name, "reason": why})
            continue
        for metric in METRICS:
            if instructions != (metric.kind == "count"):
                continue  # under valgrind only the count means anything; timed runs have none
            if normalize and metric.speed:
                if b.model == "sync":
                    continue  # the yardstick itself
                if name not in counterparts[0] or name not in counterparts[1]:
                    if metric.key == "real_time_ns":
                        result["not_compared"].append({
                            "cell": name, "reason": "no sync cell with the same problem (or "
                                                    "only a starved one), so its speed cannot "
                                                    "be normalized"})
                    continue
            bs = samples(b, metric, counterparts[0].get(name), normalize)
            cs = samples(c, metric, counterparts[1].get(name), normalize)
            if bs is None or cs is None:
                continue
            row = {"cell": name, "metric": metric.name,
                   "better": "lower" if metric.lower_is_better else "higher"}
            row.update(compare_values(metric, bs, cs, threshold, alpha))
            row["shown"] = [metric.show(row["baseline"], normalize),
                            metric.show(row["candidate"], normalize)]
            if row["test"] == "threshold only":
                short_of_test.add((len(bs), len(cs)))
            result["comparisons"].append(row)

    if short_of_test:
        sizes = ", ".join(f"{nb} against {nc}" for nb, nc in sorted(short_of_test))
        result["warnings"].append(
            f"too few repetitions for the U test ({sizes}): it cannot reach p < {alpha} with "
            f"fewer than {fewest_repetitions(alpha)} per side, so those verdicts rest on the "
            f"{threshold:.0%} threshold alone; run with --repetitions "
            f"{fewest_repetitions(alpha)} or more")
    if not result["comparisons"] and not result["failed_in_candidate"]:
        raise CompareError("no metric could be compared: every common cell was skipped, failed "
                           "or starved, or lacks a sync counterpart under --normalize sync")
    result["regressions"] = (
        [f"{r['cell']} {r['metric']}" for r in result["comparisons"]
         if r["verdict"] == "regression"] +
        [f"{f['cell']} failed: {f['reason']}" for f in result["failed_in_candidate"]])
    return result


# --- output ------------------------------------------------------------------------------------

def change_text(change):
    if math.isinf(change):
        return "+inf"
    return f"{change:+.1%}"


def p_text(row):
    return f"{row['p_value']:.3g}" if row["p_value"] is not None else row["test"]


def table_rows(rows):
    return [(r["cell"], r["metric"], *r["shown"], change_text(r["change"]), p_text(r),
             r["verdict"]) for r in rows]


HEADER = ("cell", "metric", "baseline", "candidate", "change", "p", "verdict")


def counts(result):
    rows = result["comparisons"]
    n = {v: sum(r["verdict"] == v for r in rows) for v in ("regression", "improvement", "no change")}
    cells = len({r["cell"] for r in rows})
    failed = len(result["failed_in_candidate"])
    text = (f"{n['regression']} regressions, {n['improvement']} improvements, "
            f"{n['no change']} no change, in {len(rows)} comparisons of {cells} cells")
    if failed:
        text = f"{failed} cells failed in the candidate; " + text
    if result["not_compared_starved"]:
        text += f"; {len(result['not_compared_starved'])} starved cells not compared"
    return text


def terminal(result):
    lines = [f"baseline:  {result['baseline']}", f"candidate: {result['candidate']}",
             f"threshold {result['threshold']:.0%}, alpha {result['alpha']}"
             + (", speed as a ratio to sync" if result["normalize"] else ""), ""]
    rows = table_rows(result["comparisons"])
    widths = [max(len(str(r[i])) for r in rows + [HEADER]) for i in range(len(HEADER))]
    for r in [HEADER] + rows:
        lines.append("  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    lines.append("")
    lines += notes(result, bullet="  - ")
    lines.append(counts(result))
    if result["regressions"]:
        lines.append("REGRESSED:")
        lines += [f"  {r}" for r in result["regressions"]]
    return "\n".join(lines) + "\n"


def notes(result, bullet):
    out = []
    for w in result["warnings"]:
        out.append(f"warning: {w}")
    for key, what in (("only_in_baseline", "only in the baseline (not compared)"),
                      ("only_in_candidate", "only in the candidate (not compared)")):
        if result[key]:
            out.append(f"{len(result[key])} cells {what}:")
            out += [f"{bullet}{n}" for n in result[key]]
    if result["not_compared"]:
        out.append("not compared:")
        out += [f"{bullet}{x['cell']}: {x['reason']}" for x in result["not_compared"]]
    if result["not_compared_starved"]:
        out.append("not compared (starved: other processes took the cores the cell needs):")
        out += [f"{bullet}{x['cell']}: {x['reason']}" for x in result["not_compared_starved"]]
    return out


def markdown(result):
    def table(rows):
        md = ["| " + " | ".join(HEADER) + " |", "|:--|:--|--:|--:|--:|--:|:--|"]
        md += ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |"
               for r in table_rows(rows)]
        return md

    verdict = "regressed" if result["regressions"] else "no regression"
    md = [f"## cmbench compare: {verdict}", "",
          f"- baseline: {result['baseline']}", f"- candidate: {result['candidate']}",
          f"- threshold {result['threshold']:.0%}, alpha {result['alpha']}"
          + (", speed as a ratio to sync" if result["normalize"] else ""), "",
          f"**{counts(result)}**", ""]
    if result["failed_in_candidate"]:
        md += ["### Failed in the candidate", ""]
        md += [f"- {f['cell']}: {f['reason']}" for f in result["failed_in_candidate"]] + [""]
    for v, title in (("regression", "Regressions"), ("improvement", "Improvements")):
        rows = [r for r in result["comparisons"] if r["verdict"] == v]
        if rows:
            md += [f"### {title}", ""] + table(rows) + [""]
    extra = notes(result, bullet="  - ")
    if extra:
        md += ["### Notes", ""] + [x if x.startswith("  - ") else f"- {x}" for x in extra] + [""]
    md += ["<details><summary>Every comparison</summary>", ""] + table(result["comparisons"])
    md += ["", "</details>", ""]
    return "\n".join(md)


def json_safe(value):
    """JSON has no infinity: a change from zero is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def main(argv):
    p = Parser(prog="scripts/compare",
               description="Compare two result files of scripts/bench; exit 1 on a regression.")
    p.add_argument("baseline", metavar="BASELINE.json")
    p.add_argument("candidate", metavar="CANDIDATE.json")
    p.add_argument("--threshold", type=float, default=5.0, metavar="PERCENT",
                   help="smallest change that counts, in percent (default 5)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="significance level of the U test (default 0.05)")
    p.add_argument("--normalize", choices=("sync",), default=None,
                   help="compare speed as each model's ratio to its workload's sync cell")
    p.add_argument("--markdown", metavar="FILE", help="also write the result as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = p.parse_args(argv)
    if not 0 < args.threshold < 1000:
        p.error(f"--threshold {args.threshold}: expected a percentage above 0 and below 1000")
    if not 0 < args.alpha < 1:
        p.error(f"--alpha {args.alpha}: expected a probability between 0 and 1")
    for option, path in (("--markdown", args.markdown), ("--json", args.json)):
        if path:
            try:
                check_writable(path)
            except OSError as e:
                p.error(f"{option} {path}: cannot write there: {e.strerror}")

    result = compare(load(args.baseline), load(args.candidate), args.threshold / 100,
                     args.alpha, args.normalize is not None)
    sys.stdout.write(terminal(result))
    if args.markdown:
        write_atomically(args.markdown, lambda f: f.write(markdown(result)))
    if args.json:
        write_atomically(args.json, lambda f: json.dump(json_safe(result), f, indent=1))
    return 1 if result["regressions"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ResultFileError, CompareError) as e:
        print(f"scripts/compare: {e}", file=sys.stderr)
        sys.exit(2)
