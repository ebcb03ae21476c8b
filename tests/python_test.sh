#!/usr/bin/env bash
# Runs a Python test of tests/ with a Python that can import what it needs: the distribution's,
# not a pyenv or venv one that cannot see the python3-* packages.
# Usage: python_test.sh TEST.py MODULE...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/setup.sh"
test=$1
shift
py=$(find_python "$@")
exec "$py" "$root/tests/$test"
