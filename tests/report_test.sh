#!/usr/bin/env bash
# Runs tests/report_test.py with a Python that has matplotlib (the distribution's, not a pyenv or
# venv one that cannot see it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/setup.sh"
py=$(find_python json matplotlib)
exec "$py" "$root/tests/report_test.py"
