"""Writes a comparison report from result files of scripts/bench: DIR/report.md and
DIR/index.html (self-contained: the charts are inlined, so it opens offline from the file
system; they are also in DIR/charts/ for the Markdown). One file gives the run's report: per
workload, tables of models x metrics with ratios to the best model and to sync, charts, and a
verdict generated from the data. Several files give a side-by-side comparison keyed by each
file's context. The result files are only read.

The directory is written whole or not at all, and replaces only an earlier report
(report_dir.py).

Exit status: 0 written; 2 bad input (a missing or corrupt result file, an unusable --out).
"""

import base64
import html
import os
import sys

import report_charts as charts
from cli import Parser
import report_dir
import report_model as rm
from result_file import ResultFileError, load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "reports", "latest")
CONCEPTS = ("README.md, \"What it answers\": what asyncio's coroutine, event loop, Task, gather, "
            "sleep and async generator are in every model here")


# --- the document: a list of blocks, rendered twice -------------------------------------------

class Doc:
    def __init__(self):
        self.blocks = []
        self.charts = []

    def heading(self, level, text, anchor=None):
        self.blocks.append(("h", level, text, anchor))

    def para(self, text):
        self.blocks.append(("p", text))

    def bullets(self, items):
        if items:
            self.blocks.append(("ul", list(items)))

    def table(self, header, rows):
        self.blocks.append(("table", header, rows))

    def chart(self, chart):
        self.charts.append(chart)
        self.blocks.append(("chart", chart))


def _cell_md(v):
    if isinstance(v, rm.TableCell):
        if v.kind == "failed":
            text = f"**FAILED** {v.text[len('failed: '):]}"
        elif v.kind == "skipped":
            text = f"*{v.text}*"
        elif v.kind == "starved":
            text = f"{v.text} · **{v.note}**"
        else:
            text = f"**{v.text}** (best)" if v.best else v.text
            if v.note:
                text += f" · {v.note}"
        v = text
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table_md(header, rows):
    width = len(header)
    out = ["| " + " | ".join(_cell_md(h) for h in header) + " |",
           "|" + "|".join([":--"] + ["--:"] * (width - 1)) + "|"]
    for r in rows:
        r = list(r) + [""] * (width - len(r))
        out.append("| " + " | ".join(_cell_md(v) for v in r) + " |")
    return "\n".join(out)


def render_markdown(doc):
    out = []
    for b in doc.blocks:
        kind = b[0]
        if kind == "h":
            out.append("#" * b[1] + " " + b[2])
        elif kind == "p":
            out.append(b[1])
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in b[1]))
        elif kind == "table":
            out.append(_table_md(b[1], b[2]))
        elif kind == "chart":
            c = b[1]
            out.append(f"![{c.title}]({c.path})\n\n*{c.caption}*")
    return "\n\n".join(out) + "\n"


def _cell_html(v, tag="td"):
    if isinstance(v, rm.TableCell):
        if v.kind in ("failed", "skipped"):
            cls = "failed" if v.kind == "failed" else "skipped"
            label = "FAILED" if v.kind == "failed" else "skipped"
            reason = v.text.split(": ", 1)[1] if ": " in v.text else v.text
            return (f'<{tag} class="{cls}" colspan="99"><b>{label}</b> '
                    f"{html.escape(reason)}</{tag}>")
        note = f'<div class="note">{html.escape(v.note)}</div>' if v.note else ""
        if v.kind == "starved":
            return (f'<{tag} class="starved" title="{html.escape(v.note)}">'
                    f"{html.escape(v.text)}{note}</{tag}>")
        cls = ' class="best"' if v.best else ""
        return f"<{tag}{cls}>{html.escape(v.text)}{note}</{tag}>"
    return f"<{tag}>{html.escape(str(v))}</{tag}>"


def _slug(text):
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def render_html(doc, out_dir, title):
    body = []
    toc = []
    for b in doc.blocks:
        kind = b[0]
        if kind == "h":
            anchor = b[3] or _slug(b[2])
            if b[1] == 2:
                toc.append(f'<a href="#{anchor}">{html.escape(b[2])}</a>')
            body.append(f'<h{b[1]} id="{anchor}">{html.escape(b[2])}</h{b[1]}>')
        elif kind == "p":
            body.append(f"<p>{html.escape(b[1])}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(_cell_html(h, "th") for h in b[1])
            rows = "".join("<tr>" + "".join(_cell_html(v) for v in r) + "</tr>" for r in b[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "chart":
            c = b[1]
            with open(os.path.join(out_dir, c.path), "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
            body.append(f'<figure><img class="chart" id="{c.id}" alt="{html.escape(c.title)}" '
                        f'src="data:image/svg+xml;base64,{data}">'
                        f"<figcaption>{html.escape(c.caption)}</figcaption></figure>")
    colours = "".join(f'<span class="swatch" style="background:{charts.colour(m)}"></span>{m} '
                      for m in rm.MODEL_ORDER)
    # The page records which charts the browser decoded and where it drew them, so a headless
    # browser can check them (tests/rendered_charts.py).
    script = """
window.addEventListener('load', () => {
  const charts = [...document.querySelectorAll('img.chart')];
  const bad = charts.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.id);
  document.body.dataset.chartsLoaded = charts.length - bad.length;
  document.body.dataset.chartsFailed = bad.join(' ');
  document.body.dataset.chartBoxes = charts.map(i => {
    const r = i.getBoundingClientRect();
    return [i.id, r.left + scrollX, r.top + scrollY, r.width, r.height].map(
        v => typeof v === 'number' ? Math.round(v) : v).join(':');
  }).join(' ');
  document.body.dataset.pageHeight = document.documentElement.scrollHeight;
});"""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; vertical-align: top; }}
th:first-child, td:first-child {{ text-align: left; white-space: nowrap; }}
th {{ background: #f3f3f3; }}
td.best {{ font-weight: bold; background: #e8f5e9; }}
td.failed {{ background: #fde0e0; text-align: left; }}
td.skipped {{ color: #666; font-style: italic; text-align: left; }}
td.starved {{ background: #fff3d6; }}
.note {{ font-size: 11px; color: #666; font-weight: normal; }}
figure {{ margin: 1em 0; }} img.chart {{ max-width: 100%; }}
figcaption {{ font-size: 12px; color: #555; }}
nav a {{ margin-right: 1em; }} .swatch {{ display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.3em 0 0.8em; vertical-align: middle; }}
</style></head>
<body data-charts="{len(doc.charts)}">
<nav>{' '.join(toc)}</nav>
<p>Model colours: {colours}</p>
{chr(10).join(body)}
<script>{script}</script>
</body></html>
"""


# --- content ----------------------------------------------------------------------------------

def workloads_of(run):
    return list(dict.fromkeys(c.workload for c in run.cells))


def single_run(doc, run, path_label, out_dir):
    doc.heading(1, "cmbench report")
    doc.para(f"From {path_label}. Each table compares the models on one problem; a value's notes "
             "give its ratio to the best value in the table and to sync's (value ÷ theirs); the "
             "best value is bold. sync is one thread with no concurrency: the floor for the "
             "work itself, not a contender; the verdicts rank the concurrent models. A cell "
             "marked starved ran while other processes took the cores it needs: its values are "
             "shown but never ranked (see Starved cells). For what "
             f"asyncio's concepts are in each model, see {CONCEPTS}.")
    doc.heading(2, "Run context", "context")
    doc.table(["", "value"], rm.context_rows([run]))

    verdict_blocks = []
    for w in workloads_of(run):
        view = rm.WorkloadView(run, w)
        doc.heading(2, f"Workload {w}", f"workload-{w}")
        if view.workers_values:
            doc.para(f"Tables and verdicts: multi-worker models at {view.headline_workers} "
                     f"workers; the run also swept workers {view.workers_values} (chart below).")
        metrics = view.metrics()
        for problem, cells in view.problems():
            doc.heading(3, f"{w} {rm.params_text(dict(problem))}")
            doc.table(*rm.problem_table(view, cells, metrics))
        if w == "fib":
            t = rm.metg_table(view)
            if t:
                doc.heading(3, "fib: METG (minimum effective task granularity)")
                doc.para("The smallest measured grain (serial work per task) at which the model "
                         "keeps at least 50% efficiency.")
                doc.table(*t)
        for chart in charts.workload_charts(view, out_dir):
            doc.chart(chart)
        verdict_blocks.append((w, view))

    doc.heading(2, "Verdict", "verdict")
    doc.para("Generated from the data above. For each problem and metric: the concurrent model "
             "with the best value, then how many times better it is than the next one, named. "
             "Latency and memory: lower is better; items/s and efficiency: higher. Starved "
             "cells take no part.")
    for w, view in verdict_blocks:
        doc.heading(3, f"Verdict: {w}")
        header, table, lines = rm.verdict(view)
        if not table:
            doc.para("No concurrent model produced a result.")
            continue
        doc.table(header, table)
        doc.bullets(["Wins — " + line for line in lines])
        doc.bullets(rm.sync_ratio_lines(view))
        if w == "fib":
            t = rm.metg_table(view)
            if t:
                header, rows = t
                doc.bullets([f"METG of {row[0]}: " + ", ".join(
                    f"{v} ({h})" if h != "METG" else v for h, v in zip(header[1:], row[1:]))
                    for row in rows])
    starved = [c for c in run.cells if c.starved]
    if starved:
        doc.heading(2, "Starved cells", "starved")
        one = len(starved) == 1
        doc.para(f"{count_cells(len(starved))} kept clearly fewer cores busy than "
                 f"{'its' if one else 'their'} model does while other processes took at least a "
                 "quarter of a core (scripts/bench's rule, README \"Starved cells\"). "
                 f"{'Its' if one else 'Their'} values are in the tables, marked, but not in the "
                 f"verdicts or the METG; rerun {'it' if one else 'them'} on a quieter machine, or "
                 "with scripts/bench --rerun-starved N:")
        doc.bullets([f"{c.name}: {c.starved_why}" for c in starved])
    calibration = rm.calibration_table(run)
    if calibration:
        doc.heading(2, "Calibration", "calibration")
        doc.para("Each paired cell beside a standalone program of its runtime, written the way "
                 "the runtime's documentation writes the same problem (bench/calibrate/), run "
                 "in the same run in alternating rounds; medians. ratio = cell ÷ reference, lower "
                 "is better for both: 1 is the runtime's own floor, ok up to 1.10. README.md, "
                 "\"Calibration\", says what each reference is and why some rows stand above.")
        doc.table(*calibration)
    skipped = [c for c in run.cells if c.state == "skipped"]
    failed = [c for c in run.cells if c.state == "failed"]
    doc.heading(2, "Cells not measured", "not-measured")
    if failed:
        doc.para(f"{count_cells(len(failed))} FAILED:")
        doc.bullets([f"{c.name}: {c.reason}" for c in failed])
    if skipped:
        doc.para(f"{count_cells(len(skipped))} {'was' if len(skipped) == 1 else 'were'} skipped, "
                 "each with its reason:")
        doc.bullets([f"{c.name}: {c.reason}" for c in skipped])
    if not failed and not skipped:
        doc.para("Every selected cell ran and was verified.")


def count_cells(n):
    return f"{n} cell" if n == 1 else f"{n} cells"


def several_runs(doc, runs, paths, out_dir):
    labels = rm.run_labels(runs)
    doc.heading(1, "cmbench comparison")
    doc.para(f"{len(runs)} runs, side by side; the first is the reference each ratio is taken "
             "against (value ÷ first run's). Runs: " +
             "; ".join(f"{label} = {p}" for label, p in zip(labels, paths)) + ".")
    doc.heading(2, "Run contexts", "context")
    doc.table(["", *labels], rm.context_rows(runs))
    sections, only = rm.comparison(runs)
    doc.heading(2, "Benchmark sets", "sets")
    if any(only):
        doc.para("The runs do not hold the same cells. These are in some runs only; they are "
                 "listed here and not compared:")
        doc.bullets([f"only in {label}: {', '.join(names)}"
                     for label, names in zip(labels, only) if names])
    else:
        doc.para("Every run holds the same cells.")
    common = [c.name for c in runs[0].cells if all(c.name in {d.name for d in r.cells}
                                                   for r in runs)]
    for w, tables in sections:
        doc.heading(2, f"Workload {w}", f"workload-{w}")
        for m, rows in tables:
            doc.heading(3, f"{w}: {m.label} ({m.better} is better)")
            doc.table(["cell", *labels], rows)
        headline = next((m for m, _ in tables), None)
        if headline is not None:
            names = [n for n in common if n.startswith(w + "/")]
            for chart in charts.comparison_chart(w, names, runs, labels, headline, out_dir):
                doc.chart(chart)


def write_report(paths, out_dir):
    """Loads the result files and writes the report; returns the path of index.html."""
    runs = [load(p) for p in paths]  # ResultFileError for a bad file, before anything is written
    for run in runs:
        if run.meta.get("mode") == "instructions":
            raise ResultFileError(f"{run.path}: an instruction-count run, whose times are "
                                  "valgrind's; compare such runs with scripts/compare")

    def fill(tmp):
        doc = Doc()
        if len(runs) == 1:
            single_run(doc, runs[0], shown_path(os.path.abspath(paths[0])), tmp)
            title = "cmbench report"
        else:
            several_runs(doc, runs, [shown_path(os.path.abspath(p)) for p in paths], tmp)
            title = "cmbench comparison"
        with open(os.path.join(tmp, "report.md"), "w", encoding="utf-8") as f:
            f.write(render_markdown(doc))
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as f:
            f.write(render_html(doc, tmp, title))

    return os.path.join(report_dir.write(out_dir, fill), "index.html")


def shown_path(path):
    """The path relative to the working directory when it is below it, else absolute."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def main(argv):
    p = Parser(prog="scripts/report",
               description="Write a Markdown and HTML report from scripts/bench result files; "
                           "several files are compared side by side.")
    p.add_argument("results", nargs="+", metavar="RESULTS.json")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help="directory to write (default: reports/latest in the repository)")
    args = p.parse_args(argv)
    index = write_report(args.results, args.out)
    print(f"report: {shown_path(index)} (and report.md beside it)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ResultFileError, report_dir.ReportDirError) as e:
        print(f"scripts/report: {e}", file=sys.stderr)
        sys.exit(2)
