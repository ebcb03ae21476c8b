"""The report's charts, drawn with matplotlib as SVG: one colour per model, the same in every
chart; axis labels with units. Each function returns the charts it drew as Chart records, or none
when the run has no data for that chart. The SVG output is made reproducible (no date, a fixed
id salt) so the same results give the same files.
"""

import math
import os
import textwrap

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
from matplotlib.ticker import FuncFormatter  # noqa: E402

from quantity import duration_ns, si  # noqa: E402
from report_model import BASELINE_MODEL, metg, model_rank  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "cmbench", "font.size": 9, "axes.titlesize": 10,
                     "legend.fontsize": 8, "figure.dpi": 100})

MODEL_COLOURS = {"sync": "#6b6b6b", "threads": "#d62728", "tbb": "#1f77b4",
                 "tbb_blocking": "#17becf", "tbb_polling": "#9467bd", "fibers": "#ff7f0e",
                 "coro": "#2ca02c"}
_SPARE_COLOURS = ("#8c564b", "#e377c2", "#bcbd22")
_MARKERS = ("o", "s", "^", "D", "v", "P")
MAX_PANELS = 9


def colour(model):
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    return _SPARE_COLOURS[sum(map(ord, model)) % len(_SPARE_COLOURS)]


class Chart:
    def __init__(self, chart_id, title, path, caption):
        self.id, self.title, self.path, self.caption = chart_id, title, path, caption


_ns_axis = FuncFormatter(lambda v, _: duration_ns(v).replace(" ", "\u2009"))
_count_axis = FuncFormatter(lambda v, _: si(v))
_bytes_axis = FuncFormatter(lambda v, _: si(v, "B"))


def _panels(n, width=4.4, height=3.3):
    """A figure of n panels, up to three a row."""
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def _save(fig, out_dir, name):
    path = os.path.join("charts", f"{name}.svg")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, path), format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


def _series_style(view, cells):
    """Variants of one model (idle's fiber stack sizes) share its colour, with other markers."""
    styles = {}
    per_model = {}
    for c in sorted(cells, key=lambda c: (model_rank(c.model), view.row_label(c))):
        label = view.row_label(c)
        if label in styles:
            continue
        k = per_model.get(c.model, 0)
        per_model[c.model] = k + 1
        styles[label] = {"color": colour(c.model), "marker": _MARKERS[k % len(_MARKERS)],
                         "linestyle": ("-", "--", ":", "-.")[k % 4]}
    return styles


def _order(styles, label):
    return list(styles).index(label) if label in styles else len(styles)


def _legend_beside(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _timed(cells):
    """The cells whose time-based values a chart may show: a starved cell's say how busy the
    machine was, not what its model costs (the tables keep them, marked)."""
    return [c for c in cells if not c.starved]


def _starved_note(cells):
    n = sum(1 for c in cells if c.starved)
    if not n:
        return ""
    return (f" {n} starved cell{'s are' if n > 1 else ' is'} left out (see Starved cells).")


def _panel_width(problems):
    """Wide enough for the most rows any panel shows (each row a labelled group of bars)."""
    return max(4.4, 0.75 * max(len(cells) for _, cells in problems))


def throughput_vs_size(view, out_dir):
    size = view.layout.size
    candidates = [c for c in view.cells if view.is_headline(c) and c.value("items_per_second")
                  and isinstance(c.params.get(size), (int, float))]
    cells = _timed(candidates)
    series = {}
    for c in cells:
        rest = tuple((k, v) for k, v in view.problem_of(c) if k != size)
        series.setdefault((view.row_label(c), rest), []).append(
            (c.params[size], c.value("items_per_second")))
    if not any(len(pts) > 1 for pts in series.values()):
        return []
    styles = _series_style(view, cells)
    many_rests = len({rest for _, rest in series}) > 1
    fig, (ax,) = _panels(1, 6.4, 4.2)
    for (label, rest), pts in sorted(series.items(), key=lambda kv: _order(styles, kv[0][0])):
        pts.sort()
        name = label + (" " + " ".join(f"{k}:{v}" for k, v in rest) if many_rests else "")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name, **styles[label])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"{size} (log scale)")
    ax.set_ylabel("throughput, items/s (log scale)")
    ax.yaxis.set_major_formatter(_count_axis)
    ax.set_title(f"{view.workload}: throughput vs {size}, {_workers_note(view)}")
    ax.grid(True, which="major", alpha=0.3)
    _legend_beside(ax)
    path = _save(fig, out_dir, f"{view.workload}-throughput")
    return [Chart(f"{view.workload}-throughput", f"{view.workload}: throughput vs {size}", path,
                  "Items per second against problem size, log-log; higher is better."
                  + _starved_note(candidates))]


def _workers_note(view):
    w = view.headline_workers
    return f"{w} workers" if w is not None else "all workers"


def _problem_title(problem):
    """Wrapped to the width of a panel: echo's fault cells name six parameters."""
    text = " ".join(f"{k}:{v}" for k, v in problem) or "every cell"
    return textwrap.fill(text, width=48)


def _panel_problems(view, keys, timed=False):
    """The problems that have any of these metrics, at most MAX_PANELS (the largest last); with
    `timed`, only their cells that are not starved."""
    chosen = [(p, _timed(cs) if timed else cs) for p, cs in view.problems()
              if any(c.value(k) is not None for c in cs for k in keys)]
    return chosen[-MAX_PANELS:]


def latency(view, out_dir):
    keys = ("lat_p50_ns", "lat_p99_ns", "lat_p999_ns")
    problems = _panel_problems(view, keys, timed=True)
    if not problems:
        return []
    fig, axes = _panels(len(problems), _panel_width(problems))
    marks = (("lat_p50_ns", "o", "p50"), ("lat_p99_ns", "^", "p99"), ("lat_p999_ns", "s", "p999"))
    for ax, (problem, cells) in zip(axes, problems):
        shown = [c for c in cells if c.value("lat_p50_ns") is not None]
        for x, c in enumerate(shown):
            ys = [c.value(k) for k, _, _ in marks]
            ax.vlines(x, min(ys), max(ys), color=colour(c.model), linewidth=2, alpha=0.5)
            for (k, m, name), y in zip(marks, ys):
                ax.plot([x], [y], marker=m, color=colour(c.model), linestyle="none",
                        label=name if x == 0 else None)
        ax.set_xticks(range(len(shown)), [view.row_label(c) for c in shown], rotation=30,
                      ha="right")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_ns_axis)
        ax.set_ylabel("latency per operation (log scale)")
        ax.set_title(_problem_title(problem))
        ax.grid(True, axis="y", alpha=0.3)
        if shown:
            legend = ax.legend(title="percentile", loc="best")
            for handle in legend.legend_handles if hasattr(legend, "legend_handles") \
                    else legend.legendHandles:
                handle.set_color("black")
    fig.suptitle(f"{view.workload}: latency percentiles per model ({_workers_note(view)})")
    path = _save(fig, out_dir, f"{view.workload}-latency")
    return [Chart(f"{view.workload}-latency", f"{view.workload}: latency percentiles", path,
                  "p50 (circle), p99 (triangle) and p999 (square) per operation, log scale; "
                  "lower is better."
                  + _starved_note([c for c in view.cells if c.value("lat_p50_ns") is not None]))]


def memory(view, out_dir):
    metrics = [k for k in ("rss_per_task_B", "heap_per_task_B", "reserved_per_task_B")
               if any(c.value(k) is not None for c in view.cells)]
    problems = _panel_problems(view, metrics)
    if not problems:
        return []
    names = {"rss_per_task_B": "RSS", "heap_per_task_B": "heap", "reserved_per_task_B": "reserved"}
    hatches = {"rss_per_task_B": "", "heap_per_task_B": "//", "reserved_per_task_B": ".."}
    fig, axes = _panels(len(problems), _panel_width(problems))
    for ax, (problem, cells) in zip(axes, problems):
        shown = [c for c in cells if any(c.value(k) is not None for k in metrics)]
        width = 0.8 / len(metrics)
        for j, k in enumerate(metrics):
            xs, ys, cs = [], [], []
            for x, c in enumerate(shown):
                v = c.value(k)
                if v is not None and v > 0:  # a log axis cannot show zero: the table does
                    xs.append(x + (j - (len(metrics) - 1) / 2) * width)
                    ys.append(v)
                    cs.append(colour(c.model))
            ax.bar(xs, ys, width, color=cs, hatch=hatches[k], edgecolor="black", linewidth=0.4,
                   label=names[k])
        ax.set_xticks(range(len(shown)), [view.row_label(c) for c in shown], rotation=30,
                      ha="right")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_bytes_axis)
        ax.set_ylabel("bytes per task (log scale)")
        ax.set_title(_problem_title(problem))
        ax.grid(True, axis="y", alpha=0.3)
        legend = ax.legend(loc="best")
        for patch in legend.get_patches():
            patch.set_facecolor("white")
    fig.suptitle(f"{view.workload}: memory per task ({_workers_note(view)})")
    path = _save(fig, out_dir, f"{view.workload}-memory")
    return [Chart(f"{view.workload}-memory", f"{view.workload}: memory per task", path,
                  "Bytes per concurrent unit: resident set (plain), heap (hatched) and reserved "
                  "address space (dotted), log scale; zero values are left out of the chart "
                  "(the table has them); lower is better.")]


def efficiency_vs_grain(view, out_dir):
    candidates = [c for c in view.cells if view.is_headline(c) and c.model != BASELINE_MODEL
                  and c.value("grain_ns") and c.value("efficiency") is not None]
    cells = _timed(candidates)
    if not cells:
        return []
    styles = _series_style(view, cells)
    series = {}
    for c in cells:
        series.setdefault(view.row_label(c), []).append(
            (c.value("grain_ns"), c.value("efficiency")))
    fig, (ax,) = _panels(1, 6.4, 4.2)
    for label, pts in sorted(series.items(), key=lambda kv: _order(styles, kv[0])):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **styles[label])
        g = metg(pts)
        if g is not None:
            e = dict(pts)[g]
            ax.annotate(f"METG {duration_ns(g)}", (g, e), textcoords="offset points",
                        xytext=(6, -12), fontsize=7, color=styles[label]["color"])
            ax.plot([g], [e], marker="*", markersize=13, color=styles[label]["color"],
                    linestyle="none")
    ax.axhline(0.5, color="black", linestyle=":", linewidth=1)
    ax.text(0.01, 0.51, "50%: METG threshold", fontsize=7, va="bottom",
            transform=ax.get_yaxis_transform())
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(_ns_axis)
    ax.set_xlabel("grain: serial work per task (log scale)")
    ax.set_ylabel("efficiency = serial time / (time x cores)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{view.workload}: efficiency vs grain, {_workers_note(view)}")
    ax.grid(True, which="major", alpha=0.3)
    _legend_beside(ax)
    path = _save(fig, out_dir, f"{view.workload}-efficiency")
    return [Chart(f"{view.workload}-efficiency", f"{view.workload}: efficiency vs grain", path,
                  "Task Bench's efficiency against the mean work per task; the star marks each "
                  "model's METG, the smallest measured grain with efficiency of at least 50%."
                  + _starved_note(candidates))]


def workers_scaling(view, out_dir):
    if len(view.workers_values) < 2:
        return []
    key = "items_per_second"
    groups = {}
    for c in _timed(view.cells):
        if isinstance(c.params.get("workers"), int) and c.value(key):
            groups.setdefault(view.problem_of(c), {}).setdefault(view.row_label(c), []).append(
                (c.params["workers"], c.value(key)))
    problems = [(p, s) for p, s in groups.items() if any(len(pts) > 1 for pts in s.values())]
    problems = problems[-MAX_PANELS:]
    if not problems:
        return []
    styles = _series_style(view, [c for c in view.cells if "workers" in c.params])
    fig, axes = _panels(len(problems))
    for ax, (problem, series) in zip(axes, problems):
        for label, pts in sorted(series.items(), key=lambda kv: _order(styles, kv[0])):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **styles[label])
        ax.set_xticks(view.workers_values)
        ax.set_xlabel("workers (threads)")
        ax.set_ylabel("throughput, items/s")
        ax.yaxis.set_major_formatter(_count_axis)
        ax.set_ylim(bottom=0)
        ax.set_title(_problem_title(problem))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle(f"{view.workload}: scaling with workers")
    path = _save(fig, out_dir, f"{view.workload}-workers")
    return [Chart(f"{view.workload}-workers", f"{view.workload}: scaling with workers", path,
                  "Items per second at each worker count; higher is better."
                  + _starved_note([c for c in view.cells if "workers" in c.params
                                   and c.value(key)]))]


def workload_charts(view, out_dir):
    os.makedirs(os.path.join(out_dir, "charts"), exist_ok=True)
    charts = []
    if view.layout.size:
        charts += throughput_vs_size(view, out_dir)
    charts += efficiency_vs_grain(view, out_dir)
    charts += latency(view, out_dir)
    charts += memory(view, out_dir)
    charts += workers_scaling(view, out_dir)
    return charts


def comparison_chart(workload, names, runs, labels, metric, out_dir):
    """One metric of a workload's cells, a bar per run, side by side."""
    by_name = [{c.name: c for c in r.cells} for r in runs]
    names = [n for n in names if any(b[n].value(metric.key) for b in by_name)]
    if not names:
        return []
    os.makedirs(os.path.join(out_dir, "charts"), exist_ok=True)
    height = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.32 * len(names) * len(runs)))
    run_colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    for j, (b, label) in enumerate(zip(by_name, labels)):
        ys, vs = [], []
        for i, n in enumerate(names):
            v = b[n].value(metric.key)
            if v:
                ys.append(i + (j - (len(runs) - 1) / 2) * height)
                vs.append(v)
        ax.barh(ys, vs, height, label=label, color=run_colours[j % len(run_colours)])
    ax.set_yticks(range(len(names)), [n[len(workload) + 1:] for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    unit = {"items_per_second": "items/s", "switch_ns": "time per hop"}.get(metric.key, "")
    ax.set_xlabel(f"{metric.label}{' (' + unit + ')' if unit and unit != metric.label else ''}"
                  f", log scale; {metric.better} is better")
    ax.xaxis.set_major_formatter(_ns_axis if metric.key.endswith("_ns") else _count_axis)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="best")
    ax.set_title(f"{workload}: {metric.label} per cell, run by run")
    path = _save(fig, out_dir, f"compare-{workload}")
    return [Chart(f"compare-{workload}", f"{workload}: {metric.label}, run by run", path,
                  f"{metric.label} of every cell in each run (log scale).")]
