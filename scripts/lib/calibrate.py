"""Calibration: each paired cell set, in the same run, beside a standalone program of its runtime
(bench/calibrate/) written the way that runtime's documentation or examples write the problem.
The pairing lives here and nowhere else: which cell goes with which reference program, with which
flags, on which metric, and what the cell does by design that the reference does not.

A pair is measured in rounds, the reference program and the cell's own cmbench process taking
turns (the cell's result from the main run is its first round), and each side's median taken.
ratio = cell / reference on a lower-is-better metric: 1.0 is the runtime's own floor, and a cell
within 10% of it (<= 1.10) is "ok". Above, "slower", unless the pair says why it must be above
("explained": the reference leaves out by construction something the cell's runtime does).
"""

import json
import os
import statistics
import subprocess
import types

from quantity import TO_NS

OK_RATIO = 1.10


class Pair:
    """workload/model and the parameters a cell must have (others: only `workers`), the
    reference program and how its flags follow from the cell's parameters."""

    def __init__(self, workload, model, fixed, program, reference, metric, flags, note,
                 explained=False, workers=None, overhead_flag=None, work_cell=None):
        self.workload, self.model, self.fixed = workload, model, fixed
        self.program, self.reference, self.metric = program, reference, metric
        self.flags, self.note, self.explained = flags, note, explained
        self.workers = workers  # fixed worker count of the reference; None: the cell's
        self.overhead_flag = overhead_flag  # the reference without the cell's bookkeeping
        # The cell of the same run that does the cell's own work per operation and nothing of
        # the runtime's (ring/sync: the token's mixing and the clock, no switch), by name.
        self.work_cell = work_cell

    def matches(self, cell):
        params = cell["params"]
        if cell["workload"] != self.workload or cell["model"] != self.model:
            return False
        if any(params.get(k) != v for k, v in self.fixed.items()):
            return False
        return all(k in self.fixed or k == "workers" or k in self.sized for k in params)

    @property
    def sized(self):
        return {"fib": ("n",), "spawn": ("leaves",), "ring": ("hops",)}[self.workload]

    def reference_flags(self, cell, run_workers):
        workers = self.workers or cell["params"].get("workers", run_workers)
        return self.flags(cell["params"], workers), workers


TIME = "time/run"  # the cell's real_time per iteration; the reference's seconds per repetition
HOP = "hop"  # the cell's switch_ns; the reference's ns_per_hop


def ring_work(p):
    return f"ring/sync/units:{p['units']}/hops:{p['hops']}/handoff:same"


PAIRS = (
    Pair("fib", "tbb", {"cutoff": 2}, "tbb", "tbb_fib", TIME,
         lambda p, w: [f"--n={p['n']}", f"--workers={w}"],
         "same fork shape and units; the cell also notifies its memory probe per task",
         overhead_flag="--count=0"),
    Pair("spawn", "tbb", {}, "tbb", "tbb_skynet", TIME,
         lambda p, w: [f"--leaves={p['leaves']}", f"--workers={w}"],
         "same tree and units; the cell also notifies its memory probe per task",
         overhead_flag="--count=0"),
    Pair("spawn", "fibers", {}, "boost-fiber", "boost_fiber_skynet", TIME,
         lambda p, w: [f"--leaves={p['leaves']}", f"--workers={w}"],
         "reference: Boost's work_stealing, launch::dispatch, malloc'd 16 KiB stacks; the cell: "
         "our pool's scheduler and stack cache, a memory-probe call per fiber"),
    Pair("ring", "threads", {"units": 2, "handoff": "cross"}, "threads", "futex_pingpong_cross",
         HOP, lambda p, w: [f"--hops={p['hops']}", "--placement=cross"],
         "same hand-off (a futex word per unit, spin then park, wake only a parked receiver); "
         "the cell also copies and mixes a 24-byte token per hop, reads the clock every 64 hops "
         "and notes where each unit made its last hop", workers=2, work_cell=ring_work),
    Pair("ring", "threads", {"units": 2, "handoff": "same"}, "threads", "futex_pingpong_same",
         HOP, lambda p, w: [f"--hops={p['hops']}", "--placement=same"],
         "both threads on one CPU, no spin: every hop is a futex wake and a thread switch in the "
         "kernel; the cell also mixes the token and reads the clock every 64 hops", workers=1,
         work_cell=ring_work),
    Pair("ring", "coro", {"units": 2, "handoff": "same"}, "coroutine", "coroutine_symmetric",
         HOP, lambda p, w: [f"--hops={p['hops']}"],
         "both switch by symmetric transfer; the cell also stores its own handle in its slot "
         "a hop (for the end of the run), mixes the token and reads the clock every 64 hops",
         workers=1, work_cell=ring_work),
    Pair("ring", "fibers", {"units": 2, "handoff": "same"}, "context", "context_switch", HOP,
         lambda p, w: [f"--hops={p['hops']}"],
         "explained in README: a bare Boost.Context switch, under Boost.Fiber's scheduler, ready "
         "queue and channel that the cell goes through", explained=True, workers=1,
         work_cell=ring_work),
)

# How many rounds (the cell's main run is the first) per profile. scripts/bench leaves smoke
# uncalibrated unless asked (its sizes take microseconds: a ratio there says little).
ROUNDS = {"smoke": 2, "quick": 3, "full": 3}
# The cell's extra rounds take Google Benchmark's minimum time per process (0.12 s in quick);
# a shorter one keeps quick's calibration within its budget.
RERUN_MIN_TIME_S = {"smoke": None, "quick": 0.05, "full": None}
REFERENCE_REPETITIONS = {"smoke": 3, "quick": 3, "full": 5}


def pair_of(cell):
    return next((p for p in PAIRS if p.matches(cell)), None)


def paired_cells(cells):
    """[(cell, pair)] for the cells (listing entries) that have a reference, in run order."""
    return [(c, p) for c in cells for p in [pair_of(c)] if p is not None]


def reference_dir(cmbench_exe):
    """Where the build puts the reference programs: bench/calibrate/ beside bench/cmbench."""
    return os.path.join(os.path.dirname(os.path.abspath(cmbench_exe)), "calibrate")


def reference_exe(directory, program):
    return os.path.join(directory, f"cmbench-ref-{program}")


def cell_value(benchmarks, metric):
    """The cell's value on the pair's metric from its rows (the median aggregate if any), ns."""
    rows = [b for b in benchmarks if b.get("run_type") == "aggregate" and
            b.get("aggregate_name") == "median"]
    rows = rows or [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"]
    if not rows:
        return None
    b = rows[0]
    if metric == TIME:
        return b["real_time"] * TO_NS[b.get("time_unit", "ns")]
    value = b.get("switch_ns")
    return float(value) if isinstance(value, (int, float)) else None


class ReferenceError(Exception):
    pass


def run_reference(exe, flags, repetitions, timeout_s):
    """Runs a reference program; returns its measurement line (a dict), the median of its
    repetitions as `value_ns` on the pair's metric, and `long_run` when it measured fewer
    repetitions than asked (a run of a second or more is measured once: timed_repetitions in
    bench/calibrate/reference.hpp)."""
    cmd = [exe, *flags, f"--repetitions={repetitions}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        raise ReferenceError(f"no reference program {exe} (build target cmbench-references)")
    except subprocess.TimeoutExpired:
        raise ReferenceError(f"{os.path.basename(exe)}: no result after {timeout_s} s")
    if r.returncode != 0:
        why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        raise ReferenceError(f"{os.path.basename(exe)} exit status {r.returncode}: {why}")
    try:
        line = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ReferenceError(f"{os.path.basename(exe)}: no JSON line on stdout")
    if "ns_per_hop" in line:
        line["value_ns"] = statistics.median(line["ns_per_hop"])
    else:
        line["value_ns"] = statistics.median(line["seconds"]) * 1e9
    line["long_run"] = len(line["seconds"]) < repetitions
    return line


def verdict(pair, ratio):
    if ratio <= OK_RATIO:
        return "ok"
    return "explained" if pair.explained else "slower"


def calibrate_cell(cell, pair, main_benchmarks, rerun, profile, run_workers, ref_dir, log,
                   timeout_s):
    """One row of the calibration: rounds of reference and cell, alternately. `rerun()` runs the
    cell's process once more and returns its benchmarks (or None when it failed). A reference
    that runs a second or more is measured in one round: its ratio to the cell is then far from
    1 or its spread small next to it, and more rounds would take minutes. `timeout_s`: the
    profile's definition of a hang, the cells' own."""
    row = {"cell": cell["name"], "reference": pair.reference, "metric": pair.metric,
           "note": pair.note}
    exe = reference_exe(ref_dir, pair.program)
    flags, workers = pair.reference_flags(cell, run_workers)
    row["reference_command"] = " ".join([os.path.basename(exe), *flags])
    cell_values = [cell_value(main_benchmarks, pair.metric)]
    ref_values = []
    reps = REFERENCE_REPETITIONS[profile]
    try:
        for k in range(ROUNDS[profile]):
            if k > 0:
                benchmarks = rerun()
                v = cell_value(benchmarks or [], pair.metric)
                if v is not None:
                    cell_values.append(v)
            line = run_reference(exe, flags, reps, timeout_s)
            ref_values.append(line["value_ns"])
            if line["long_run"]:
                row["note"] += (f"; one round: the reference takes "
                                f"{line['seconds'][0]:.1f} s a run")
                break
        if pair.overhead_flag and profile == "full":
            bare = run_reference(exe, [*flags, pair.overhead_flag], reps, timeout_s)["value_ns"]
            counted = statistics.median(ref_values)
            row["note"] += (f"; counting units costs the reference "
                            f"{(counted / bare - 1) * 100:+.1f}% ({pair.overhead_flag} measured)")
    except ReferenceError as e:
        row.update(cell_value=None, reference_value=None, ratio=None, verdict="failed",
                   note=str(e))
        log(f"  calibration {cell['name']}: {e}")
        return row
    cell_values = [v for v in cell_values if v is not None]
    if not cell_values:
        row.update(cell_value=None, reference_value=statistics.median(ref_values), ratio=None,
                   verdict="failed", note=f"the cell reported no {pair.metric}")
        return row
    c, r = statistics.median(cell_values), statistics.median(ref_values)
    ratio = c / r if r > 0 else None
    row.update(cell_value=c, reference_value=r, ratio=ratio, workers=workers,
               rounds=[len(cell_values), len(ref_values)],
               verdict=verdict(pair, ratio) if ratio is not None else "failed")
    return row


def add_work(row, pair, cell, results):
    """What the cell does per operation beyond the reference, measured in the same run by the
    pair's work cell (ring/sync for ring: the hop's token and clock with no switch), added to the
    row: `work_value` and a note with the ratio to reference + work. The verdict stays the plain
    ratio's. Nothing is added when the work cell was not run or did not verify."""
    if pair.work_cell is None or row.get("ratio") is None:
        return row
    name = pair.work_cell(cell["params"])
    res = results.get(name)
    if not res or res.get("state") != "ok":
        return row
    work = cell_value(res["benchmarks"], pair.metric)
    if work is None:
        return row
    floor = row["reference_value"] + work
    row["work_value"] = work
    row["note"] += (f"; that work alone ({name}, this run) takes {work:.3g} ns a hop: the cell "
                    f"is {row['cell_value'] / floor:.2f}x the reference plus it")
    return row


def calibrate(cells, results, exe, flags, run_cell, profile, run_workers, context, timeout_s,
              ref_dir=None, log=print):
    """The calibration rows for the cells of the run that have a reference and verified."""
    rows = []
    rerun_flags = list(flags)
    if RERUN_MIN_TIME_S.get(profile):
        rerun_flags.append(f"--benchmark_min_time={RERUN_MIN_TIME_S[profile]}")
    once = types.SimpleNamespace(repetitions=1, instructions=False)
    for cell, pair in paired_cells(cells):
        res = results.get(cell["name"])
        if not res or res["state"] != "ok":
            continue

        def rerun(cell=cell):
            benchmarks, _, state, _ = run_cell(exe, rerun_flags, cell, once, context, timeout_s)
            return benchmarks if state == "ok" else None

        row = calibrate_cell(cell, pair, res["benchmarks"], rerun, profile, run_workers,
                             ref_dir or reference_dir(exe), log, timeout_s)
        add_work(row, pair, cell, results)
        rows.append(row)
        shown = f"{row['ratio']:.2f}x" if row.get("ratio") else "-"
        log(f"  {cell['name']} vs {pair.reference}: {shown} {row['verdict']}")
    return rows
