# Shared by scripts/bench and scripts/test: install what is missing, find a Python, build.
# Sourced, not run. Every dependency comes from the distribution's packages.

CMBENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Debian 12 / Ubuntu package names.
CMBENCH_PACKAGES=(cmake make g++ clang git python3 python3-matplotlib python3-scipy valgrind
  libbenchmark-dev libgtest-dev libtbb-dev libboost-context-dev libboost-fiber-dev)

cmbench_die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

# ensure_packages PKG...: installs the packages that are not installed yet.
ensure_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "$(basename "$0"): this system has no apt; install these packages (or their equivalents)" \
      "with your package manager, then run again:" >&2
    echo "  $*" >&2
    # Carry on: on a system that already has everything, the build below succeeds.
    return 0
  fi
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      cmbench_die "need root or sudo to install: ${missing[*]}"
    sudo=(sudo)
  fi
  echo "installing: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -q >&2 || cmbench_die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2 || cmbench_die "apt-get install failed for: ${missing[*]}"
}

# find_python MODULE...: prints a Python 3 interpreter that can import every module. The
# distribution's /usr/bin/python3 comes first: a python3 earlier on PATH (pyenv, a venv) may not
# see the distribution's packages.
find_python() {
  local candidates=(/usr/bin/python3 "$(command -v python3 2>/dev/null)") py imports=""
  local m
  for m in "$@"; do imports+="import $m;"; done
  for py in "${candidates[@]}"; do
    [ -n "$py" ] && [ -x "$py" ] || continue
    if "$py" -c "$imports" >/dev/null 2>&1; then
      echo "$py"
      return 0
    fi
  done
  cmbench_die "no python3 here can import: $* (install the python3-* packages)"
}

# build_preset NAME [TARGET...]: configures and builds a CMake preset quietly, showing errors.
build_preset() {
  local preset=$1
  shift
  local log="$CMBENCH_ROOT/build/$preset-build.log"
  mkdir -p "$CMBENCH_ROOT/build"
  echo "building ($preset preset)..." >&2
  if ! (cd "$CMBENCH_ROOT" && cmake --preset "$preset" &&
    cmake --build --preset "$preset" -j "$(nproc)" ${1:+--target "$@"}) >"$log" 2>&1; then
    grep -E "error|Error" "$log" | head -40 >&2
    cmbench_die "build failed ($preset preset); full log: $log"
  fi
}
