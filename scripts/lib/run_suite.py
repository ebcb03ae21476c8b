"""Runs the cmbench suite: every selected cell in its own process, one merged JSON file.

Each cell runs in a fresh process so that its memory figures cannot be shaped by what earlier
cells left in the allocator. The output is Google Benchmark's JSON (so its tools/compare.py reads
it) with the run's context added, plus a "cmbench" section listing every selected cell's state:
ok, failed (with the error) or skipped (with the reason). It is written only when the run is over,
to a temporary file renamed into place, so an interrupted run leaves nothing half-written.

Exit status: 0 every cell verified; 1 a cell failed (wrong result, crash or hang); 2 bad usage.
"""

import argparse
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import report_dir
from quantity import TO_NS, duration_ns, si

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"scripts/bench: {message}", file=sys.stderr)
        sys.exit(2)


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
    p.add_argument("--out", default=None,
                   help="result file (default results/<date>-<host>.json)")
    p.add_argument("--report", default=os.path.join(ROOT, "reports", "latest"), metavar="DIR",
                   help="write the run's report (Markdown and HTML) here (default reports/latest)")
    p.add_argument("--no-report", action="store_true", help="write no report")
    p.add_argument("--cmbench", default=None, help=argparse.SUPPRESS)
    p.add_argument("--check-args", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.out is not None and os.path.isdir(args.out):
        p.error(f"--out {args.out}: is a directory")
    try:  # find out now, not after the whole run, that the result cannot be written there
        probe_dir = os.path.dirname(os.path.abspath(args.out or default_out()))
        os.makedirs(probe_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=probe_dir, suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        p.error(f"--out {args.out or probe_dir}: cannot write there: {e.strerror}")
    if not args.no_report:
        try:
            report_dir.check(args.report)
        except report_dir.ReportDirError as e:
            p.error(f"--report {e}")
    return args


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


def run_cell(exe, flags, cell, args, context, timeout_s):
    """Runs one cell in its own process; returns (benchmarks, context, state, message)."""
    with tempfile.TemporaryDirectory(prefix="cmbench-") as tmp:
        out = os.path.join(tmp, "cell.json")
        kv = ",".join(f"{k}={v}" for k, v in context.items())
        cmd = [exe, *flags, f"--benchmark_filter=^{re.escape(cell['name'])}(/|$)",
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
        return benchmarks, data.get("context"), "ok", ""


def summary_row(benchmarks):
    """The entry a table shows for a cell: the median aggregate when there are repetitions."""
    for b in benchmarks:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            return b
    iterations = [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"]
    return iterations[0] if iterations else None


def print_table(cells, results):
    header = ("cell", "time/iter", "items/s", "tasks", "p50", "p99", "p999", "rss/task",
              "heap/task", "state")
    rows = []
    for cell in cells:
        res = results[cell["name"]]
        b = summary_row(res["benchmarks"]) if res["state"] == "ok" else None
        if b is None:
            state = res["state"] if res["state"] == "ok" else f"{res['state']}: {res['message']}"
            rows.append((cell["name"], *["-"] * 8, state))
            continue
        t = b["real_time"] * TO_NS[b.get("time_unit", "ns")]
        rows.append((
            cell["name"], duration_ns(t), si(b.get("items_per_second")), si(b.get("tasks")),
            duration_ns(b.get("lat_p50_ns")), duration_ns(b.get("lat_p99_ns")),
            duration_ns(b.get("lat_p999_ns")), si(b.get("rss_per_task_B"), "B"),
            si(b.get("heap_per_task_B"), "B"), "ok"))
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
    runnable = [c for c in cells if c["state"] == "available"]
    out_path = args.out or default_out()
    context = git_context()
    timeout_s = {"smoke": 120, "quick": 300, "full": 1200}[args.profile] * args.repetitions

    print(f"cmbench: profile {listing['profile']}, {listing['workers']} workers, "
          f"{len(runnable)} cells to run, {len(cells) - len(runnable)} skipped", flush=True)
    results, merged, first_context = {}, [], None
    started = time.monotonic()
    for c in cells:
        if c["state"] != "available":
            results[c["name"]] = {"state": "skipped", "message": c.get("reason", ""), "benchmarks": []}
    for k, c in enumerate(runnable, 1):
        print(f"[{k}/{len(runnable)}] {c['name']} ...", end="", flush=True)
        t0 = time.monotonic()
        benchmarks, ctx, state, message = run_cell(exe, flags, c, args, context, timeout_s)
        print(f" {state} ({time.monotonic() - t0:.1f} s){': ' + message if message else ''}",
              flush=True)
        results[c["name"]] = {"state": state, "message": message, "benchmarks": benchmarks}
        merged.extend(benchmarks)
        first_context = first_context or ctx
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
            "elapsed_s": round(elapsed, 3),
            "cells": [{"name": c["name"], "workload": c["workload"], "model": c["model"],
                       "params": c["params"], "state": results[c["name"]]["state"],
                       "reason": results[c["name"]]["message"]} for c in cells],
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out_path)), suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

    print()
    print_table(cells, results)
    failed = [c["name"] for c in cells if results[c["name"]]["state"] == "failed"]
    print(f"\n{len(runnable) - len(failed)} verified, {len(failed)} failed, "
          f"{len(cells) - len(runnable)} skipped in {elapsed:.1f} s; results: {out_path}")
    if not args.no_report:
        import report  # needs matplotlib, which only the report does

        try:
            index = report.write_report([out_path], args.report)
        except Exception as e:  # the results stand; say what went wrong with their report
            print(f"scripts/bench: results written, but the report failed: {e}", file=sys.stderr)
            return 1
        print(f"report: {report.shown_path(index)}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"scripts/bench: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nscripts/bench: interrupted; no result file written", file=sys.stderr)
        sys.exit(130)
