"""Which charts of a report's index.html a real browser rendered, judged from a screenshot.

Headless Chromium loads the page twice: once to read what the page's own load handler recorded
(charts decoded, each chart's box, the page height), once to take a screenshot of the whole page.
A chart counts as rendered when the browser decoded it and its box in the screenshot is not
blank: a good share of its pixels differ from the page background and they hold several colours.

Usage: rendered_charts.py REPORT_DIR/index.html   (prints a line per chart; exit 1 if any is not
rendered, 2 if the page could not be checked)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

WIDTH = 1300
MAX_HEIGHT = 60000


class CheckError(Exception):
    pass


def browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise CheckError("no Chromium found: install the distribution's chromium package "
                     "(scripts/test does)")


def _chromium(*args):
    r = subprocess.run([browser(), "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--virtual-time-budget=5000", *args],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise CheckError(f"chromium exited {r.returncode}: {r.stderr[-1500:]}")
    return r.stdout


def page_facts(index_html):
    """The page's own record after loading: expected, loaded, failed ids, boxes, height."""
    url = "file://" + os.path.abspath(index_html)
    dom = _chromium(f"--window-size={WIDTH},2000", "--dump-dom", url)
    body = re.search(r"<body([^>]*)>", dom)
    if not body:
        raise CheckError("no <body> in the page Chromium loaded")
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    if "data-charts-loaded" not in attrs:
        raise CheckError("the page's load handler did not run")
    boxes = {}
    for item in attrs.get("data-chart-boxes", "").split():
        chart_id, *numbers = item.split(":")
        boxes[chart_id] = tuple(int(float(n)) for n in numbers)
    return {"expected": int(attrs["data-charts"]), "loaded": int(attrs["data-charts-loaded"]),
            "failed": attrs.get("data-charts-failed", "").split(), "boxes": boxes,
            "height": int(attrs.get("data-page-height", "0"))}


def blank_share(image, box):
    """The share of the box's pixels that are the page background (white), and its colours."""
    x, y, w, h = box
    region = image.crop((x, y, x + w, y + h)).convert("RGB").resize((max(1, w // 2),
                                                                     max(1, h // 2)))
    pixels = list(region.getdata())
    white = sum(1 for p in pixels if min(p) > 245)
    colours = len(set(pixels))
    return white / len(pixels), colours


def check(index_html):
    """[(chart id, rendered?, why)] for every chart on the page."""
    facts = page_facts(index_html)
    height = min(max(facts["height"], 1), MAX_HEIGHT)
    with tempfile.TemporaryDirectory(prefix="rendered-charts-") as tmp:
        shot = os.path.join(tmp, "page.png")
        _chromium(f"--window-size={WIDTH},{height}", f"--screenshot={shot}",
                  "file://" + os.path.abspath(index_html))
        image = Image.open(shot)
        image.load()
    out = []
    for chart_id, box in facts["boxes"].items():
        if chart_id in facts["failed"]:
            out.append((chart_id, False, "the browser could not decode it"))
            continue
        x, y, w, h = box
        if w < 50 or h < 50 or y + h > image.height:
            out.append((chart_id, False, f"box {box} not on the {image.size} screenshot"))
            continue
        white, colours = blank_share(image, box)
        ok = white < 0.97 and colours >= 8
        out.append((chart_id, ok, f"{100 * (1 - white):.0f}% drawn, {colours} colours, "
                                  f"{w}x{h} px at y={y}"))
    if len(out) != facts["expected"]:
        out.append(("(page)", False, f"{facts['expected']} charts expected, {len(out)} found"))
    return out


def main(argv):
    if len(argv) != 1 or not os.path.isfile(argv[0]):
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    try:
        results = check(argv[0])
    except CheckError as e:
        print(f"rendered_charts: {e}", file=sys.stderr)
        return 2
    for chart_id, ok, why in results:
        print(f"{'rendered' if ok else 'NOT RENDERED'}  {chart_id}: {why}")
    bad = [c for c, ok, _ in results if not ok]
    print(f"{len(results) - len(bad)} of {len(results)} charts rendered")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
