"""Reads the result files scripts/bench writes: Google Benchmark JSON plus cmbench's context and
its "cmbench" section (every selected cell's state, and whether other processes starved it of
cores). Plain Google Benchmark JSON from the cmbench
binary is accepted too; its cells are then known only from the benchmarks it holds.

A file that is missing, is not JSON or is not a benchmark result raises ResultFileError with a
message that names the file and says what is wrong: callers turn it into exit status 2.
"""

import json
import os
import re

from quantity import TO_NS


class ResultFileError(Exception):
    pass


# Segments Google Benchmark appends to a benchmark's name; the rest is ours:
# <workload>/<model>/<param>:<value>/...
_GB_SUFFIX = re.compile(r"^(manual_time|real_time|process_time|(iterations|repeats|threads|"
                        r"min_time|min_warmup_time):[^/]*)$")


def cell_name(benchmark_name):
    return "/".join(p for p in benchmark_name.split("/") if not _GB_SUFFIX.match(p))


def parse_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_cell_name(name):
    """'fib/coro/n:30/cutoff:2' -> ('fib', 'coro', {'n': 30, 'cutoff': 2})."""
    parts = name.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    params = {}
    for p in parts[2:]:
        key, sep, value = p.partition(":")
        if not sep or not key:
            return None
        params[key] = parse_value(value)
    return parts[0], parts[1], params


class Cell:
    """One (workload, model, parameters) cell of one run: its state and its measured rows."""

    def __init__(self, name, workload, model, params, state="ok", reason="", starved_why=None):
        self.name, self.workload, self.model, self.params = name, workload, model, params
        self.state, self.reason = state, reason
        # Set when other processes took the cores the cell needs (scripts/lib/run_suite.py): its
        # figures stand, but say nothing about how the model scales.
        self.starved_why = starved_why
        self.iterations = []  # one row per repetition
        self.aggregates = {}  # aggregate name ("median", "mean", ...) -> row

    @property
    def starved(self):
        return self.state == "ok" and self.starved_why is not None

    @property
    def summary(self):
        """The row a table shows: the median over repetitions when there are several."""
        if "median" in self.aggregates:
            return self.aggregates["median"]
        return self.iterations[0] if self.iterations else None

    def value(self, key):
        row = self.summary
        if row is None or self.state != "ok":
            return None
        if key == "real_time_ns":
            return row["real_time"] * TO_NS.get(row.get("time_unit", "ns"), 1)
        value = row.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def samples(self, key):
        """The value of every repetition (for statistics across repetitions)."""
        out = []
        for row in self.iterations:
            if key == "real_time_ns":
                out.append(row["real_time"] * TO_NS.get(row.get("time_unit", "ns"), 1))
            elif isinstance(row.get(key), (int, float)):
                out.append(float(row[key]))
        return out


class Run:
    """One result file: where it came from, its context and its cells in the order they ran."""

    def __init__(self, path, context, meta, cells):
        self.path, self.context, self.meta, self.cells = path, context, meta, cells

    @property
    def workers(self):
        w = self.meta.get("workers", self.context.get("cmbench_workers"))
        try:
            return int(w)
        except (TypeError, ValueError):
            return None


def _fail(path, what):
    raise ResultFileError(f"{path}: {what}")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        _fail(path, "no such file")
    except IsADirectoryError:
        _fail(path, "is a directory, not a result file")
    except (OSError, UnicodeDecodeError) as e:
        _fail(path, f"cannot read it: {e}")
    try:
        doc = json.loads(text)
    except ValueError as e:
        _fail(path, f"not JSON ({e}); is it a complete result file from scripts/bench?")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        _fail(path, "not a Google Benchmark result file: no \"benchmarks\" list")
    context = doc.get("context")
    if not isinstance(context, dict):
        _fail(path, "not a Google Benchmark result file: no \"context\" object")
    meta = doc.get("cmbench", {})
    if not isinstance(meta, dict) or not isinstance(meta.get("cells", []), list):
        _fail(path, "the \"cmbench\" section is malformed")

    cells = {}
    for entry in meta.get("cells", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            _fail(path, f"a cell in the \"cmbench\" section has no name: {entry!r}")
        parsed = parse_cell_name(entry["name"])
        if parsed is None:
            _fail(path, f"cell name {entry['name']!r} is not <workload>/<model>/<param>:<value>")
        state = entry.get("state", "ok")
        if state not in ("ok", "failed", "skipped"):
            _fail(path, f"cell {entry['name']}: unknown state {state!r}")
        starved_why = None
        if entry.get("starved"):
            starved_why = str(entry.get("starved_why") or "starved of cores")
        cells[entry["name"]] = Cell(entry["name"], *parsed, state, entry.get("reason", ""),
                                    starved_why)

    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            _fail(path, f"a benchmark entry has no name: {b!r:.80}")
        name = cell_name(b.get("run_name", b["name"]))
        parsed = parse_cell_name(name)
        if parsed is None:
            _fail(path, f"benchmark {b['name']!r} is not a cmbench cell "
                        "(<workload>/<model>/<param>:<value>)")
        cell = cells.get(name)
        if cell is None:
            if meta.get("cells"):
                _fail(path, f"benchmark {name} is not among the run's cells")
            cell = cells[name] = Cell(name, *parsed)
        if b.get("error_occurred"):
            cell.state, cell.reason = "failed", b.get("error_message", "error")
            continue
        if "real_time" not in b:
            _fail(path, f"benchmark {b['name']} has no real_time")
        if b.get("run_type") == "aggregate":
            cell.aggregates[b.get("aggregate_name", "")] = b
        else:
            cell.iterations.append(b)

    for cell in cells.values():
        if cell.state == "ok" and not cell.iterations:
            cell.state, cell.reason = "failed", "no measurements in the result file"
    if not cells:
        _fail(path, "holds no benchmarks")
    return Run(os.path.abspath(path), context, meta, list(cells.values()))
