"""Where a report goes: a directory written whole or not at all. It is filled in a temporary
sibling and renamed into place; an existing directory is replaced only if it holds a report
written here (it carries a marker file), so a mistyped --out cannot wipe anything else.
Needs nothing beyond the standard library, so scripts/bench can check its --report early.
"""

import os
import shutil
import tempfile

MARKER = ".cmbench-report"


class ReportDirError(Exception):
    pass


def check(out_dir):
    """Raises ReportDirError unless out_dir can be (re)written as a report."""
    if not os.path.exists(out_dir):
        return
    if not os.path.isdir(out_dir):
        raise ReportDirError(f"{out_dir}: exists and is not a directory")
    if os.listdir(out_dir) and not os.path.exists(os.path.join(out_dir, MARKER)):
        raise ReportDirError(f"{out_dir}: not empty and not a report written by cmbench; "
                             "refusing to replace it")


def write(out_dir, fill):
    """Calls fill(tmp_dir) to write the report's files, then puts them at out_dir."""
    out_dir = os.path.abspath(out_dir)
    check(out_dir)
    parent = os.path.dirname(out_dir)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".report-", dir=parent)
    except OSError as e:
        raise ReportDirError(f"{out_dir}: cannot write there: {e.strerror}")
    try:
        fill(tmp)
        with open(os.path.join(tmp, MARKER), "w") as f:
            f.write("written by cmbench's scripts/report; the directory is replaced on rewrite\n")
        os.chmod(tmp, 0o755)
        old = None
        if os.path.exists(out_dir):
            old = tempfile.mkdtemp(prefix=".report-old-", dir=parent)
            os.rename(out_dir, os.path.join(old, "report"))
        os.rename(tmp, out_dir)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
