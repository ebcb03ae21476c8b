"""Writes a copy of a scripts/bench result file in which one cell ran FACTOR times slower in every
repetition: its real and CPU times multiplied, its items/s divided, its aggregates likewise. The
compare gate must then name that cell (.ci/run, tests/compare_test.py).

Usage: slow_down.py IN.json OUT.json CELL FACTOR
       slow_down.py IN.json OUT.json --steadiest FACTOR
The second form picks the cell whose repetitions spread least (slowest over fastest) and prints
its name: on a shared machine a tiny cell's repetitions can spread by more than the slowdown, and
then no test could tell the slowdown from noise. A cell other processes starved of cores is never
picked: scripts/compare does not compare it.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
from result_file import cell_name  # noqa: E402


def slow_down(doc, cell, factor):
    touched = 0
    for b in doc["benchmarks"]:
        if cell_name(b.get("run_name", b["name"])) != cell:
            continue
        if b.get("aggregate_name") in ("stddev", "cv"):
            if b.get("aggregate_name") == "stddev":
                b["real_time"] *= factor
                b["cpu_time"] *= factor
            continue
        b["real_time"] *= factor
        b["cpu_time"] *= factor
        if "items_per_second" in b:
            b["items_per_second"] /= factor
        touched += 1
    return touched


def steadiest(doc):
    """The cell not starved whose repetitions' real times spread least, and that spread."""
    starved = {c["name"] for c in doc.get("cmbench", {}).get("cells", []) if c.get("starved")}
    times = {}
    for b in doc["benchmarks"]:
        name = cell_name(b.get("run_name", b["name"]))
        if b.get("run_type", "iteration") == "iteration" and not b.get("error_occurred") \
                and name not in starved:
            times.setdefault(name, []).append(b["real_time"])
    spreads = [(max(t) / min(t), name) for name, t in times.items() if len(t) > 1 and min(t) > 0]
    if not spreads:
        raise SystemExit("slow_down.py: no cell with several repetitions that was not starved")
    spread, name = min(spreads)
    return name, spread


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, cell, factor = argv[0], argv[1], argv[2], float(argv[3])
    with open(src, encoding="utf-8") as f:
        doc = json.load(f)
    if cell == "--steadiest":
        cell, spread = steadiest(doc)
        print(cell)
        print(f"slow_down.py: {cell}: its repetitions spread {spread - 1:.1%}", file=sys.stderr)
    if slow_down(doc, cell, factor) == 0:
        print(f"slow_down.py: no benchmark of cell {cell} in {src}", file=sys.stderr)
        return 2
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
