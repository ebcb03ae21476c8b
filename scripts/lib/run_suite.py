"""Runs the cmbench suite: every selected cell in its own process, one merged JSON file.

Each cell runs in a fresh process so that its memory figures cannot be shaped by what earlier
cells left in the allocator. The output is Google Benchmark's JSON (so its tools/compare.py reads
it) with the run's context added, plus a "cmbench" section listing every selected cell's state:
ok, failed (with the error) or skipped (with the reason), and whether an ok cell was starved of
cores by other processes (see STARVED_UTIL). It is written only when the run is over, to a
temporary file renamed into place, so an interrupted run leaves nothing half-written.

With --save-baseline NAME the result file is also kept as a baseline (reports/baselines/NAME.json
unless --baseline-dir says otherwise); with --baseline NAME the run is then compared with that
baseline as scripts/compare does.

Exit status: 0 every cell verified (and, with --baseline, nothing regressed); 1 a cell failed
(wrong result, crash or hang) or, with --baseline, something regressed; 2 bad usage.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import calibrate
import report_dir
import result_file
from cli import Parser, check_writable, write_atomically
from quantity import TO_NS, duration_ns, si

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BASELINE_DIR = os.path.join(ROOT, "reports", "baselines")
PROFILES = ("smoke", "quick", "full")


class UsageError(Exception):
    pass


def whole(lo, hi):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected {lo} to {hi}, got {value}")
        return value

    return parse


def regex(text):
    try:
        re.compile(text)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"not a valid regular expression: {e}")
    return text


def parse_args(argv):
    p = Parser(prog="scripts/bench", description="Run the cmbench suite.")
    p.add_argument("--profile", choices=PROFILES, default="quick",
                   help="problem sizes and time budgets (default quick)")
    p.add_argument("--filter", type=regex, default=None,
                   help="run only the cells whose name matches this regular expression")
    p.add_argument("--workers", type=whole(1, 1024), default=None,
                   help="worker threads per multi-worker model (default: hardware threads)")
    p.add_argument("--repetitions", type=whole(1, 1000), default=1,
                   help="Google Benchmark repetitions per cell (default 1)")
    p.add_argument("--max-threads", type=whole(1, 10_000_000), default=None,
                   help="most OS threads one cell may create (default 10000)")
    p.add_argument("--rerun-starved", type=whole(0, 20), default=0, metavar="N",
                   help="run a cell that other processes starved of cores again, up to N times, "
                        "keeping the first run that was not starved (default 0)")
    p.add_argument("--instructions", action="store_true",
                   help="count instructions per operation under valgrind's callgrind instead of "
                        "timing: single-worker cells, deterministic on any machine")
    p.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=None,
                   help="also run each paired cell's standalone reference program (bench/"
                        "calibrate/) and record cell/reference ratios (default: on for quick "
                        "and full, off for smoke, whose sizes are too small for a ratio to mean "
                        "much)")
    p.add_argument("--out", default=None,
                   help="result file (default results/<date>-<host>.json)")
    p.add_argument("--report", default=os.path.join(ROOT, "reports", "latest"), metavar="DIR",
                   help="write the run's report (Markdown and HTML) here (default reports/latest)")
    p.add_argument("--no-report", action="store_true", help="write no report")
    g = p.add_argument_group(
        "baselines", "saved result files to compare later runs with (see scripts/compare)")
    g.add_argument("--save-baseline", metavar="NAME", type=baseline_name,
                   help="save this run as baseline NAME (only if every cell verified)")
    g.add_argument("--baseline", metavar="NAME", type=baseline_name,
                   help="after the run, compare it with baseline NAME and exit as scripts/compare "
                        "does (1 on a regression)")
    g.add_argument("--baseline-dir", metavar="DIR", default=DEFAULT_BASELINE_DIR,
                   help="where baselines live (default reports/baselines)")
    g.add_argument("--threshold", type=float, metavar="PERCENT",
                   help="with --baseline: smallest change that counts (default 5)")
    g.add_argument("--alpha", type=float, help="with --baseline: significance level (default 0.05)")
    g.add_argument("--normalize", choices=("sync",),
                   help="with --baseline: compare speed as ratios to each workload's sync cell")
    g.add_argument("--markdown", metavar="FILE",
                   help="with --baseline: also write the comparison as Markdown")
    p.add_argument("--cmbench", default=None, help=argparse.SUPPRESS)
    p.add_argument("--references", default=None, help=argparse.SUPPRESS)
    p.add_argument("--check-args", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    # Find out now, not after the whole run, that something cannot be written or read.
    writes = [("--out", args.out or default_out()), ("--markdown", args.markdown)]
    if args.save_baseline:
        writes.append(("--save-baseline", baseline_path(args.baseline_dir, args.save_baseline)))
    for option, path in writes:
        if path is None:
            continue
        try:
            check_writable(path)
        except OSError as e:
            p.error(f"{option} {path}: cannot write there: {e.strerror}")
    if args.instructions:
        if args.workers not in (None, 1):
            p.error("--instructions counts single-worker cells: leave --workers out")
        if args.repetitions != 1:
            p.error("--instructions: the counts are deterministic; leave --repetitions out")
        if args.rerun_starved:
            p.error("--instructions: the counts do not depend on the machine's load; leave "
                    "--rerun-starved out")
        if shutil.which("valgrind") is None:
            p.error("--instructions needs valgrind (the distribution's valgrind package)")
        args.workers = 1
        if args.calibrate:
            p.error("--instructions counts instructions, the calibration times: not both")
        args.calibrate = False
    if args.calibrate is None:
        args.calibrate = args.profile != "smoke"
    compare_options = [o for o in ("threshold", "alpha", "normalize", "markdown")
                       if getattr(args, o) is not None]
    if compare_options and not args.baseline:
        p.error(f"--{compare_options[0]} is for comparing with a baseline: give --baseline NAME")
    if args.threshold is not None and not 0 < args.threshold < 1000:
        p.error(f"--threshold {args.threshold}: expected a percentage above 0 and below 1000")
    if args.alpha is not None and not 0 < args.alpha < 1:
        p.error(f"--alpha {args.alpha}: expected a probability between 0 and 1")
    if args.baseline:
        path = baseline_path(args.baseline_dir, args.baseline)
        if not os.path.exists(path):
            saved = sorted(f[:-5] for f in os.listdir(args.baseline_dir) if f.endswith(".json")) \
                if os.path.isdir(args.baseline_dir) else []
            p.error(f"--baseline {args.baseline}: no {path} (saved: "
                    f"{', '.join(saved) or 'none'}; make one with --save-baseline NAME)")
        try:
            result_file.load(path)
        except result_file.ResultFileError as e:
            p.error(f"--baseline {args.baseline}: {e}")
    if not args.no_report:
        try:
            report_dir.check(args.report)
        except report_dir.ReportDirError as e:
            p.error(f"--report {e}")
    return args


def baseline_name(text):
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a baseline name is letters, digits, '.', '_' and '-'")
    return text


def baseline_path(directory, name):
    return os.path.join(directory, f"{name}.json")


def cmbench_flags(args):
    flags = [f"--profile={args.profile}"]
    if args.workers:
        flags.append(f"--workers={args.workers}")
    if args.max_threads:
        flags.append(f"--max-threads={args.max_threads}")
    return flags


def git_context():
    def git(*cmd):
        try:
            return subprocess.run(["git", "-C", ROOT, *cmd], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": "unknown" if dirty is None else str(bool(dirty)).lower()}


def list_cells(exe, flags):
    r = subprocess.run([exe, *flags, "--list=json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise UsageError(f"cmbench --list failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


# --- instruction counts ------------------------------------------------------------------------
# Each timed run of a cell marks its measured region for callgrind (bench/harness/instructions.hpp):
# counters zeroed at its start, one profile dumped at its end, with every thread's instructions.
# A fixed number of timed runs keeps the count independent of how long valgrind takes. The first
# is left out: measured here, it pays one-off costs (1655 more instructions for coro and oneTBB,
# twice the count for fibers), while the later ones of sync, tbb and coro cells repeat exactly,
# run after run. The reported count is the median of the others.
INSTRUCTION_RUNS = 4
CALLGRIND = ["setarch", "-R", "valgrind", "--tool=callgrind", "--dump-instr=no", "--dump-line=no"]


def instruction_unsuited(cell):
    """Why a cell's instruction count would not be deterministic, or None when it is."""
    if cell["model"] in ("threads", "tbb_blocking"):
        return ("instruction mode: valgrind runs one thread at a time, so a thread per unit "
                "would be counted with its scheduling, not its work")
    if cell["model"] == "fibers":
        return ("instruction mode: the fiber pool's idle worker spins for a while before it "
                "sleeps, so the count depends on timing (measured: up to 5% apart between runs)")
    if cell["workload"] == "echo":
        return ("instruction mode: echo waits on sockets fed by a client process of its own, so "
                "its count depends on how their turns interleave with the server's")
    if cell["workload"] == "wait" or cell["params"].get("delay_us", 0):
        return ("instruction mode: it waits on the clock, so its count would depend on how "
                "long valgrind takes")
    return None


def read_instruction_counts(directory):
    """The instruction count of each measured region in the callgrind profiles in directory."""
    counts = []
    for name in sorted(os.listdir(directory)):
        if not name.startswith("callgrind.out"):
            continue
        with open(os.path.join(directory, name), errors="replace") as f:
            text = f.read()
        if "Trigger: Client Request: cmbench measured region" not in text:
            continue
        m = re.search(r"^summary:\s*(\d+)", text, re.M)
        if m:
            counts.append(int(m.group(1)))
    return counts


def add_instruction_counts(benchmarks, counts):
    """Puts instructions (the median per timed run, the first left out) and
    instructions_per_item on each row."""
    measured = sorted(counts[1:])
    per_run = measured[len(measured) // 2]
    for b in benchmarks:
        if b.get("run_type", "iteration") != "iteration":
            continue
        b["instructions"] = per_run
        b["instructions_runs"] = counts
        items = b.get("items_per_second", 0) * b["real_time"] * TO_NS[b.get("time_unit", "ns")] / 1e9
        if round(items) > 0:
            b["instructions_per_item"] = per_run / round(items)


def run_cell(exe, flags, cell, args, context, timeout_s):
    """Runs one cell in its own process; returns (benchmarks, context, state, message)."""
    with tempfile.TemporaryDirectory(prefix="cmbench-") as tmp:
        out = os.path.join(tmp, "cell.json")
        kv = ",".join(f"{k}={v}" for k, v in context.items())
        prefix = []
        if args.instructions:
            prefix = [*CALLGRIND, f"--callgrind-out-file={tmp}/callgrind.out.%p"]
            flags = [*flags, f"--iterations={INSTRUCTION_RUNS}"]
        cmd = [*prefix, exe, *flags, f"--benchmark_filter=^{re.escape(cell['name'])}(/|$)",
               f"--benchmark_repetitions={args.repetitions}",
               f"--benchmark_out={out}", "--benchmark_out_format=json",
               f"--benchmark_context={kv}"]
        if args.repetitions > 1:
            cmd.append("--benchmark_report_aggregates_only=false")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return [], None, "failed", f"no result after {timeout_s:.0f} s: killed"
        message = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        if r.returncode not in (0, 1) or not os.path.exists(out):
            return [], None, "failed", f"exit status {r.returncode}: {message}"
        try:
            with open(out) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            return [], None, "failed", f"unreadable result: {e}"
        benchmarks = data.get("benchmarks", [])
        errors = [b.get("error_message", "") for b in benchmarks if b.get("error_occurred")]
        if r.returncode == 1 or errors:
            return benchmarks, data.get("context"), "failed", "; ".join(errors) or message
        if not benchmarks:
            return [], data.get("context"), "failed", "the cell reported nothing"
        if args.instructions:
            counts = read_instruction_counts(tmp)
            if len(counts) != INSTRUCTION_RUNS * args.repetitions:
                return [], data.get("context"), "failed", (
                    f"{len(counts)} callgrind profiles of the measured region, expected "
                    f"{INSTRUCTION_RUNS * args.repetitions}")
            add_instruction_counts(benchmarks, counts)
        return benchmarks, data.get("context"), "ok", ""


# --- starved cells -----------------------------------------------------------------------------
# A compute cell's run was starved when it kept clearly fewer cores busy than its model does when
# it has them (cpu_util below STARVED_UTIL x busy_cores) while other processes took at least
# STARVED_OTHERS cores (others_cpu). Both are needed: cpu_util alone cannot tell starvation from a
# model that idles by itself (oneTBB's workers sleep at coarse grain: on a quiet machine quick
# fib/tbb cells on 2 workers keep well under 1.6 cores busy at some cutoffs; README, "Starved
# cells"), and a busy machine does not matter to a model that has the cores it uses. others_cpu
# counts in 10 ms ticks: a quarter of a core is above what their rounding makes of a quiet machine.
STARVED_UTIL = 0.8
STARVED_OTHERS = 0.25


def starved_why(cell, row):
    """Why the run of cell (its --list entry) whose summary row is row was starved of cores, or
    None when it was not, or cannot be told (no busy_cores, no others_cpu)."""
    busy = cell.get("busy_cores")
    if busy is None or row is None:
        return None
    util, others = row.get("cpu_util"), row.get("others_cpu")
    if util is None or others is None:
        return None
    if util >= STARVED_UTIL * busy or others < STARVED_OTHERS:
        return None
    return (f"cpu_util {util:.2f} of {busy:g} core{'' if busy == 1 else 's'}, "
            f"others took {others:.2f} cores")


def run_cell_unstarved(exe, flags, cell, args, context, timeout_s):
    """run_cell, again while the run was starved, up to --rerun-starved times: the first run that
    was not starved is kept, or the last. Prints the rest of the cell's progress line; returns
    run_cell's four values and why the kept run was starved (None when it was not)."""
    for attempt in range(args.rerun_starved + 1):
        if attempt:
            print(f"; rerun {attempt} of {args.rerun_starved} ...", end="", flush=True)
        t0 = time.monotonic()
        benchmarks, ctx, state, message = run_cell(exe, flags, cell, args, context, timeout_s)
        why = None
        if state == "ok" and not args.instructions:
            why = starved_why(cell, summary_row(benchmarks))
        print(f" {state} ({time.monotonic() - t0:.1f} s)"
              f"{': ' + message if message else ''}{', starved: ' + why if why else ''}",
              end="", flush=True)
        if why is None:
            break
    if attempt and why is None:
        print(f"; kept rerun {attempt}, not starved")
    elif attempt:
        print("; starved every time, kept the last run")
    else:
        print()
    return benchmarks, ctx, state, message, why


def rerun_hint(args, names):
    """The scripts/bench command that runs just these cells again with this run's options."""
    cmd = ["scripts/bench", "--profile", args.profile]
    for option in ("workers", "max_threads", "repetitions"):
        value = getattr(args, option)
        if value is not None and not (option == "repetitions" and value == 1):
            cmd += [f"--{option.replace('_', '-')}", str(value)]
    cmd += ["--filter", f"^({'|'.join(re.escape(n) for n in names)})$"]
    return " ".join(shlex.quote(c) for c in cmd)


def summary_row(benchmarks):
    """The entry a table shows for a cell: the median aggregate when there are repetitions."""
    for b in benchmarks:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            return b
    iterations = [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"]
    return iterations[0] if iterations else None


def print_table(cells, results, instructions):
    if instructions:
        header = ("cell", "instructions/run", "per item", "tasks", "state")
    else:
        header = ("cell", "time/iter", "items/s", "tasks", "p50", "p99", "p999", "rss/task",
                  "heap/task", "state")
    rows = []
    for cell in cells:
        res = results[cell["name"]]
        b = summary_row(res["benchmarks"]) if res["state"] == "ok" else None
        if b is None:
            state = res["state"] if res["state"] == "ok" else f"{res['state']}: {res['message']}"
            rows.append((cell["name"], *["-"] * (len(header) - 2), state))
            continue
        if instructions:
            rows.append((cell["name"], si(b.get("instructions")),
                         si(b.get("instructions_per_item")), si(b.get("tasks")), "ok"))
            continue
        t = b["real_time"] * TO_NS[b.get("time_unit", "ns")]
        rows.append((
            cell["name"], duration_ns(t), si(b.get("items_per_second")), si(b.get("tasks")),
            duration_ns(b.get("lat_p50_ns")), duration_ns(b.get("lat_p99_ns")),
            duration_ns(b.get("lat_p999_ns")), si(b.get("rss_per_task_B"), "B"),
            si(b.get("heap_per_task_B"), "B"), "ok, starved" if res["starved_why"] else "ok"))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header) - 1)]
    def line(r):
        return "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                         for i, (v, w) in enumerate(zip(r, widths))) + "  " + str(r[-1])
    print(line(header))
    for r in rows:
        print(line(r))


def default_out():
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    return os.path.join(ROOT, "results", f"{stamp}-{socket.gethostname()}.json")


def main(argv):
    args = parse_args(argv)
    if args.check_args:
        return 0
    exe = args.cmbench
    if not exe or not os.access(exe, os.X_OK):
        raise UsageError(f"no cmbench executable at {exe}")
    flags = cmbench_flags(args)
    listing = list_cells(exe, flags)
    cells = [c for c in listing["cells"] if args.filter is None or re.search(args.filter, c["name"])]
    if not cells:
        raise UsageError(f"no cell matches --filter {args.filter!r} (see cmbench --list)")
    if args.instructions:
        if not listing.get("callgrind_markers"):
            raise UsageError("--instructions: this cmbench was built without valgrind's headers "
                             "(install the valgrind package and build again)")
        for c in cells:
            why = instruction_unsuited(c)
            if c["state"] == "available" and why:
                c["state"], c["reason"] = "skipped", why
    runnable = [c for c in cells if c["state"] == "available"]
    out_path = args.out or default_out()
    context = git_context()
    timeout_s = {"smoke": 120, "quick": 300, "full": 1200}[args.profile] * args.repetitions
    if args.instructions:
        timeout_s *= 10  # valgrind runs code tens of times slower
        flags.append(f"--cell-timeout={timeout_s}")
        context["cmbench_mode"] = "instructions"

    print(f"cmbench: profile {listing['profile']}, {listing['workers']} workers, "
          f"{len(runnable)} cells to run, {len(cells) - len(runnable)} skipped", flush=True)
    results, merged, first_context = {}, [], None
    started = time.monotonic()
    for c in cells:
        if c["state"] != "available":
            results[c["name"]] = {"state": "skipped", "message": c.get("reason", ""),
                                  "benchmarks": [], "starved_why": None}
    for k, c in enumerate(runnable, 1):
        print(f"[{k}/{len(runnable)}] {c['name']} ...", end="", flush=True)
        benchmarks, ctx, state, message, starved = run_cell_unstarved(exe, flags, c, args, context,
                                                                timeout_s)
        results[c["name"]] = {"state": state, "message": message, "benchmarks": benchmarks,
                              "starved_why": starved}
        merged.extend(benchmarks)
        first_context = first_context or ctx
    calibration, calibration_s = None, None
    if args.calibrate:
        pairs = [c for c, _ in calibrate.paired_cells(runnable)
                 if results[c["name"]]["state"] == "ok"]
        print(f"calibration: {len(pairs)} cells beside their reference programs", flush=True)
        t0 = time.monotonic()
        calibration = calibrate.calibrate(runnable, results, exe, flags, run_cell, args.profile,
                                          listing["workers"], context, timeout_s,
                                          ref_dir=args.references)
        calibration_s = time.monotonic() - t0
        print(f"calibration: {calibration_s:.1f} s", flush=True)
    elapsed = time.monotonic() - started

    context_out = dict(first_context or {})
    context_out.update(context)
    # Per-cell processes each wrote their own "skipped ..." keys; the cmbench section has them all.
    context_out = {k: v for k, v in context_out.items() if not k.startswith("skipped ")}
    doc = {
        "context": context_out,
        "benchmarks": merged,
        "cmbench": {
            "profile": listing["profile"],
            "workers": listing["workers"],
            "max_threads": listing["max_threads"],
            "repetitions": args.repetitions,
            "mode": "instructions" if args.instructions else "time",
            "elapsed_s": round(elapsed, 3),
            "cells": [cell_entry(c, results[c["name"]]) for c in cells],
        },
    }
    if calibration is not None:
        doc["cmbench"]["calibration"] = calibration
        doc["cmbench"]["calibration_s"] = round(calibration_s, 3)
    def write_doc(f):
        json.dump(doc, f, indent=1)
        f.write("\n")

    write_atomically(out_path, write_doc)

    print()
    print_table(cells, results, args.instructions)
    failed = [c["name"] for c in cells if results[c["name"]]["state"] == "failed"]
    print(f"\n{len(runnable) - len(failed)} verified, {len(failed)} failed, "
          f"{len(cells) - len(runnable)} skipped in {elapsed:.1f} s; results: {out_path}")
    starved = [c["name"] for c in cells if results[c["name"]]["starved_why"]]
    if starved:
        print(f"{len(starved)} starved: other processes took the cores "
              f"{'this cell needs' if len(starved) == 1 else 'these cells need'}; the figures "
              "are kept but left out of the report's verdicts and of scripts/compare:")
        for name in starved:
            print(f"  {name}: {results[name]['starved_why']}")
        print(f"rerun on a quieter machine: {rerun_hint(args, starved)}"
              + ("" if args.rerun_starved else " (or give --rerun-starved N)"))
    if not args.no_report and not args.instructions:
        import report  # needs matplotlib, which only the report does

        try:
            index = report.write_report([out_path], args.report)
        except Exception as e:  # the results stand; say what went wrong with their report
            print(f"scripts/bench: results written, but the report failed: {e}", file=sys.stderr)
            return 1
        print(f"report: {report.shown_path(index)}")
    # A reference program that failed (a wrong result, or not built) fails the run as a cell does.
    uncalibrated = [r for r in calibration or [] if r["verdict"] == "failed"]
    for r in uncalibrated:
        print(f"calibration of {r['cell']} FAILED: {r['note']}", file=sys.stderr)
    status = 1 if failed or uncalibrated else 0
    if args.baseline:
        status = max(status, compare_with_baseline(args, out_path))
    if args.save_baseline:
        path = baseline_path(args.baseline_dir, args.save_baseline)
        if failed:
            print(f"scripts/bench: not saved as baseline {args.save_baseline}: "
                  f"{len(failed)} cells failed", file=sys.stderr)
            return 1
        write_atomically(path, write_doc)
        print(f"baseline {args.save_baseline}: {path}")
    return status


def cell_entry(cell, result):
    """The cell's entry in the result file's "cmbench" section."""
    entry = {"name": cell["name"], "workload": cell["workload"], "model": cell["model"],
             "params": cell["params"], "state": result["state"], "reason": result["message"]}
    if result["starved_why"]:
        entry["starved"] = True
        entry["starved_why"] = result["starved_why"]
    return entry


def compare_with_baseline(args, out_path):
    """Compares the run with the baseline as scripts/compare does; returns its exit status."""
    import compare  # needs scipy, which only the comparison does

    path = baseline_path(args.baseline_dir, args.baseline)
    print(f"\ncompared with baseline {args.baseline} ({path}):")
    try:
        result = compare.compare(
            result_file.load(path), result_file.load(out_path),
            (5.0 if args.threshold is None else args.threshold) / 100,
            0.05 if args.alpha is None else args.alpha, args.normalize is not None)
    except (result_file.ResultFileError, compare.CompareError) as e:
        print(f"scripts/bench: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(compare.terminal(result))
    if args.markdown:
        write_atomically(args.markdown, lambda f: f.write(compare.markdown(result)))
    return 1 if result["regressions"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"scripts/bench: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nscripts/bench: interrupted; no result file written", file=sys.stderr)
        sys.exit(130)
