"""What a report says, independent of how it is drawn: the metrics, how a workload's cells group
into problems and rows, the tables (value, ratio to the best model and to sync) and the verdicts.
report.py renders these as Markdown and HTML; report_charts.py draws them.

A cell that other processes starved of cores (result_file.Cell.starved) keeps its values in the
tables, marked, but is never the best value, the sync yardstick, a winner or a METG point: its
figures say what the machine left it, not how the model scales.
"""

from quantity import duration_ns, ratio, si

MODEL_ORDER = ("sync", "threads", "tbb", "tbb_blocking", "tbb_polling", "fibers", "coro")
BASELINE_MODEL = "sync"


class Metric:
    def __init__(self, key, label, better, fmt, verdict=True):
        self.key, self.label, self.better, self.fmt, self.verdict = key, label, better, fmt, verdict

    def best(self, values):
        values = [v for v in values if v is not None]
        if not values or self.better is None:
            return None
        return max(values) if self.better == "higher" else min(values)

    def advantage(self, winner, other):
        """How many times better winner is than other (>= 1), or None when it cannot be said."""
        if winner is None or other is None or winner <= 0 or other <= 0:
            return None
        return winner / other if self.better == "higher" else other / winner


def _bytes(v):
    return si(v, "B")


METRICS = (
    Metric("real_time_ns", "time/run", "lower", duration_ns, verdict=False),
    Metric("items_per_second", "items/s", "higher", lambda v: si(v, "/s")),
    Metric("switch_ns", "hop", "lower", duration_ns),
    Metric("efficiency", "efficiency", "higher", lambda v: f"{v:.2f}"),
    Metric("grain_ns", "grain", None, duration_ns),
    Metric("lat_p50_ns", "p50", "lower", duration_ns),
    Metric("lat_p99_ns", "p99", "lower", duration_ns),
    Metric("lat_p999_ns", "p999", "lower", duration_ns, verdict=False),
    Metric("rss_per_task_B", "RSS/task", "lower", _bytes),
    Metric("heap_per_task_B", "heap/task", "lower", _bytes),
    Metric("reserved_per_task_B", "reserved/task", "lower", _bytes),
    Metric("tasks", "tasks", None, si),
    # echo's fault cells: what the server did with the fault peers (bench/echo/protocol.hpp).
    Metric("fault_errors", "reset seen", None, si),
    Metric("fault_timed_out", "timed out", None, si),
    Metric("stall_ended_ms", "stall cut off", None, lambda v: duration_ns(v * 1e6)),
)
METRIC = {m.key: m for m in METRICS}


class Layout:
    """How a workload's cells are compared: `problem` are the parameters that make two cells the
    same problem (compared in one table); the others, except workers, tell variants of a model
    apart (idle's fiber stack size). `size` is the parameter on a throughput-vs-size chart."""

    def __init__(self, problem=None, size=None):
        self.problem, self.size = problem, size


LAYOUTS = {
    "wait": Layout(problem=("n", "max_delay_ms"), size="n"),
    "spawn": Layout(problem=("leaves",), size="leaves"),
    "fib": Layout(problem=("n", "cutoff")),
    # same (every unit on one worker) and cross (every hop to another core) are different things.
    "ring": Layout(problem=("units", "hops", "handoff"), size="units"),
    "pipeline": Layout(problem=("items", "stages", "capacity", "delay_us")),
    # A table per unit count, so that time and wake-up latency are compared at one N; bytes per
    # parked unit are slopes over sizes, so they stay comparable across the tables.
    "idle": Layout(problem=("units",), size="units"),
    "echo": Layout(problem=("connections", "requests", "bytes", "rate", "faults", "idle_timeout_ms"),
                   size="connections"),
}


def layout(workload, cells):
    if workload in LAYOUTS:
        return LAYOUTS[workload]
    # A workload this script does not know yet: every parameter but workers is the problem.
    keys = [k for c in cells for k in c.params if k != "workers"]
    keys = tuple(dict.fromkeys(keys))
    return Layout(problem=keys, size=keys[0] if keys else None)


def params_text(params):
    return " ".join(f"{k}:{v}" for k, v in params.items()) or "all"


def model_rank(model):
    return MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)


class WorkloadView:
    """The cells of one workload in one run, grouped for comparison."""

    def __init__(self, run, workload):
        self.run, self.workload = run, workload
        self.cells = [c for c in run.cells if c.workload == workload]
        self.layout = layout(workload, self.cells)
        self.workers_values = sorted({c.params["workers"] for c in self.cells
                                      if isinstance(c.params.get("workers"), int)})

    def problem_of(self, cell):
        return tuple((k, cell.params[k]) for k in self.layout.problem if k in cell.params)

    def row_label(self, cell):
        variant = [f"{k}:{v}" for k, v in cell.params.items()
                   if k not in self.layout.problem and k != "workers"]
        return " ".join([cell.model, *variant])

    def is_headline(self, cell):
        """A cell at the run's worker count (or one without workers): what the tables compare.
        The rest are the workers sweep."""
        w = cell.params.get("workers")
        return w is None or not self.workers_values or w == self.workers_values[-1]

    @property
    def headline_workers(self):
        return self.workers_values[-1] if self.workers_values else self.run.workers

    def problems(self):
        """[(problem, [cells in row order])] for the headline cells, problems in run order."""
        groups = {}
        for c in self.cells:
            if self.is_headline(c):
                groups.setdefault(self.problem_of(c), []).append(c)
        return [(p, sorted(cs, key=lambda c: (model_rank(c.model), self.cells.index(c))))
                for p, cs in groups.items()]

    def metrics(self):
        return [m for m in METRICS if any(c.value(m.key) is not None for c in self.cells)]


class TableCell:
    def __init__(self, text, note="", best=False, kind="value"):
        self.text, self.note, self.best, self.kind = text, note, best, kind


def problem_table(view, cells, metrics):
    """Rows: one per cell (model). Columns: metrics. Each value with its ratio to the best value in
    the table and to sync's; skipped and failed cells as rows of their own."""
    header = ["model", *[m.label for m in metrics]]
    sync = next((c for c in cells if c.model == BASELINE_MODEL and c.state == "ok"
                 and not c.starved), None)
    best = {m.key: m.best([c.value(m.key) for c in cells if not c.starved]) for m in metrics}
    rows = []
    for c in cells:
        label = view.row_label(c)
        if c.state != "ok":
            rows.append([TableCell(label), TableCell(f"{c.state}: {c.reason}", kind=c.state)])
            continue
        if c.starved:
            row = [TableCell(label, f"starved: {c.starved_why}", kind="starved")]
        else:
            row = [TableCell(label)]
        for m in metrics:
            v = c.value(m.key)
            if v is None:
                row.append(TableCell("-"))
                continue
            notes = []
            is_best = m.better is not None and not c.starved and v == best[m.key]
            if m.better is not None and not is_best and best[m.key]:
                notes.append(f"{ratio(v / best[m.key])} best")
            if m.better is not None and sync is not None and c is not sync:
                s = sync.value(m.key)
                if s:
                    notes.append(f"{ratio(v / s)} sync")
            row.append(TableCell(m.fmt(v), ", ".join(notes), best=is_best))
        rows.append(row)
    return header, rows


def winners(metric, cells):
    """Among the concurrent models' cells (not sync, not starved) with a value: (winner,
    runner_up), either may be None."""
    ranked = [c for c in cells if c.model != BASELINE_MODEL and not c.starved
              and c.value(metric.key) is not None]
    sign = -1 if metric.better == "higher" else 1
    ranked.sort(key=lambda c: sign * c.value(metric.key))
    return (ranked[0] if ranked else None), (ranked[1] if len(ranked) > 1 else None)


def verdict(view):
    """Per problem and metric, which concurrent model wins and by how much over the next; then
    the count of wins per model and metric across problems. Generated from the data only."""
    metrics = [m for m in view.metrics() if m.better and m.verdict]
    problems = view.problems()
    table = []
    tally = {m.key: {} for m in metrics}
    for problem, cells in problems:
        row = [params_text(dict(problem))]
        for m in metrics:
            w, r = winners(m, cells)
            if w is None:
                row.append("-")
                continue
            label = view.row_label(w)
            tally[m.key][label] = tally[m.key].get(label, 0) + 1
            adv = m.advantage(w.value(m.key), r.value(m.key)) if r else None
            row.append(f"{label} ({ratio(adv)} {view.row_label(r)})" if adv else label)
        table.append(row)
    lines = []
    for m in metrics:
        counts = tally[m.key]
        if not counts:
            continue
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        who = ", ".join(f"{label} in {n} of {total}" for label, n in ranked)
        lines.append(f"{m.label} ({m.better} is better): {who}")
    header = ["problem", *[m.label for m in metrics]]
    return header, table, lines


def sync_ratio_lines(view):
    """What being concurrent costs or gains against sync, per problem: the best concurrent
    model's throughput over sync's."""
    m = METRIC["items_per_second"]
    out = []
    for problem, cells in view.problems():
        sync = next((c for c in cells if c.model == BASELINE_MODEL and not c.starved
                     and c.value(m.key)), None)
        w, _ = winners(m, cells)
        if sync and w:
            out.append(f"{params_text(dict(problem))}: the best concurrent model, "
                       f"{view.row_label(w)}, does {ratio(w.value(m.key) / sync.value(m.key))} "
                       "sync's items/s")
    return out


def metg(points):
    """Task Bench's minimum effective task granularity: the smallest grain (ns) among the points
    (grain_ns, efficiency) whose efficiency is at least 50%; None when none reaches it."""
    good = [g for g, e in points if g is not None and e is not None and e >= 0.5]
    return min(good) if good else None


def metg_table(view):
    """fib: METG per model (rows) and worker count (columns), from the cells not starved."""
    workers = view.workers_values or [None]
    labels = []
    points = {}
    for c in view.cells:
        if c.model == BASELINE_MODEL or c.state != "ok":
            continue
        label = view.row_label(c)
        if label not in labels:
            labels.append(label)
        at = points.setdefault((label, c.params.get("workers")), [])
        if not c.starved:
            at.append((c.value("grain_ns"), c.value("efficiency")))
    if not labels:
        return None
    labels.sort(key=lambda l: model_rank(l.split()[0]))
    header = ["model", *[f"workers:{w}" if w is not None else "METG" for w in workers]]
    rows = []
    for label in labels:
        row = [label]
        for w in workers:
            pts = points.get((label, w), points.get((label, None)))
            if pts is None:
                row.append("-")
                continue
            if not pts:
                row.append("starved at every grain")
                continue
            g = metg(pts)
            if g is not None:
                row.append(duration_ns(g))
            else:
                e = max((e for _, e in pts if e is not None), default=None)
                row.append(f"not reached (best efficiency {e:.2f})" if e is not None else "-")
        rows.append(row)
    return header, rows


CONTEXT_FIELDS = (
    ("date", "date"), ("host_name", "host"), ("cpu_model", "CPU"), ("num_cpus", "cores"),
    ("mhz_per_cpu", "MHz"), ("compiler", "compiler"), ("compiler_flags", "flags"),
    ("build_type", "build type"), ("tbb_version", "oneTBB"), ("boost_version", "Boost"),
    ("cmbench_profile", "profile"), ("cmbench_workers", "workers"),
    ("cmbench_max_threads", "max threads"), ("git_commit", "git commit"), ("git_dirty", "uncommitted changes"),
    ("load_avg", "load average at start"), ("page_fault_ns", "page fault, first touch (ns)"),
)


def context_value(run, key):
    v = run.context.get(key)
    if key == "load_avg" and isinstance(v, list):
        return " ".join(f"{x:.2f}" for x in v)
    if key == "compiler_flags" and isinstance(v, str):
        return v.strip()
    return "-" if v is None else str(v)


def context_rows(runs):
    rows = [[label, *[context_value(r, key) for r in runs]] for key, label in CONTEXT_FIELDS]
    rows.append(["repetitions", *[str(r.meta.get("repetitions", "-")) for r in runs]])
    rows.append(["seconds of running", *[str(r.meta.get("elapsed_s", "-")) for r in runs]])
    counts = []
    for r in runs:
        states = [c.state for c in r.cells]
        starved = sum(c.starved for c in r.cells)
        counts.append(f"{states.count('ok')} ok" + (f" ({starved} starved)" if starved else "") +
                      f", {states.count('failed')} failed, {states.count('skipped')} skipped")
    rows.append(["cells", *counts])
    return rows


def run_labels(runs):
    """Short names that tell the runs apart, from the context fields that differ between them."""
    keys = ("host_name", "cpu_model", "compiler", "compiler_flags", "cmbench_workers",
            "cmbench_profile", "git_commit", "date")
    differing = [k for k in keys if len({str(r.context.get(k)) for r in runs}) > 1]
    labels = []
    for i, r in enumerate(runs):
        parts = []
        for k in differing[:2]:
            v = str(r.context.get(k, "?"))
            parts.append(v[:7] if k == "git_commit" else v)
        label = " · ".join(parts) or f"run {i + 1}"
        labels.append(label)
    for i, label in enumerate(labels):  # still equal: number them
        if labels.count(label) > 1:
            labels[i] = f"{label} ({i + 1})"
    return labels


COMPARED = ("items_per_second", "switch_ns", "efficiency", "lat_p99_ns", "rss_per_task_B",
            "heap_per_task_B", "reserved_per_task_B")


def comparison(runs):
    """Cells in every run, per workload and metric: each run's value and its ratio to the first
    run's. Also the cells that are not in every run, per run, and cells whose state differs."""
    names = [set(c.name for c in r.cells) for r in runs]
    common = set.intersection(*names)
    ordered = [c.name for c in runs[0].cells if c.name in common]
    only = [sorted(n - common) for n in names]
    by_name = [{c.name: c for c in r.cells} for r in runs]
    workloads = list(dict.fromkeys(name.split("/")[0] for name in ordered))
    sections = []
    for w in workloads:
        names_w = [n for n in ordered if n.startswith(w + "/")]
        tables = []
        keys = list(COMPARED)
        if not any(by_name[0][n].value("items_per_second") for n in names_w):
            keys.insert(0, "real_time_ns")
        for key in keys:
            m = METRIC[key]
            if not any(b[n].value(key) is not None for b in by_name for n in names_w):
                continue
            rows = []
            for n in names_w:
                cells = [b[n] for b in by_name]
                if tables and all(c.value(key) is None for c in cells):
                    continue  # the workload's first table shows every cell and its state
                base = by_name[0][n].value(key)
                row = [n[len(w) + 1:]]
                for b in by_name:
                    c = b[n]
                    if c.state != "ok":
                        row.append(TableCell(f"{c.state}: {c.reason}", kind=c.state))
                        continue
                    v = c.value(key)
                    if v is None:
                        row.append(TableCell("-"))
                        continue
                    note = f"{ratio(v / base)} first" if base and b is not by_name[0] else ""
                    if c.starved:
                        note = ", ".join(x for x in (note, f"starved: {c.starved_why}") if x)
                    row.append(TableCell(m.fmt(v), note, kind="starved" if c.starved else "value"))
                rows.append(row)
            if rows:
                tables.append((m, rows))
        sections.append((w, tables))
    return sections, only



CALIBRATION_VERDICTS = {"ok": "ok", "slower": "slower", "explained": "explained", "failed": "FAILED"}


def calibration_table(run):
    """The run's calibration (scripts/lib/calibrate.py): each paired cell beside its standalone
    reference program, or None when the run has none."""
    rows_in = run.meta.get("calibration")
    if not isinstance(rows_in, list) or not rows_in:
        return None
    header = ["cell", "reference", "metric", "cell value", "reference value", "ratio", "verdict",
              "note"]
    rows = []
    for r in rows_in:
        if not isinstance(r, dict):
            continue
        rows.append([r.get("cell", "?"), r.get("reference", "?"), r.get("metric", "-"),
                     duration_ns(r.get("cell_value")), duration_ns(r.get("reference_value")),
                     ratio(r.get("ratio")),
                     CALIBRATION_VERDICTS.get(r.get("verdict"), str(r.get("verdict"))),
                     r.get("note", "")])
    return header, rows
