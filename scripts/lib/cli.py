"""What the scripts share on the command line: usage errors exit with status 2 and name the
script, and files are written whole or not at all (a temporary sibling renamed into place)."""

import argparse
import os
import sys
import tempfile


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors print the usage and exit with status 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def check_writable(path):
    """Raises OSError now, not after a long run, if a file cannot be written at path."""
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a directory", path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=directory, suffix=".tmp")
    os.close(fd)
    os.unlink(probe)


def write_atomically(path, write):
    """Calls write(file) on a temporary file beside path, then renames it to path."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
