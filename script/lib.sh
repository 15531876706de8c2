# Shared set-up for script/demo and script/test: a .venv with Yilian installed, on Python 3.11+.
# Sourced, not run. Installs only when pyproject.toml changed since the last install.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

apt_install() {
  # apt_install PACKAGE... : install the Debian packages that are missing
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing ${missing[*]} (apt)"
  as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

pick_python() {
  for py in "${PYTHON:-}" python3 python3.11 python3.12 python3.13; do
    [ -n "$py" ] && command -v "$py" >/dev/null || continue
    if "$py" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)' 2>/dev/null; then echo "$py"; return 0; fi
  done
  echo "Yilian needs Python 3.11, 3.12 or 3.13 (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

ensure_venv() {
  # ensure_venv [EXTRAS] : .venv exists and holds Yilian with these extras, installed from this checkout
  local extras=${1:-} py stamp
  if [ ! -x .venv/bin/python ]; then
    py=$(pick_python) || exit 1
    say "Creating .venv with $py"
    "$py" -m venv .venv 2>/dev/null || { apt_install python3-venv && "$py" -m venv .venv; } || exit 1
  fi
  stamp=".venv/.yilian-$(cat pyproject.toml | sha1sum | cut -c1-12)-${extras:-base}"
  if [ ! -f "$stamp" ]; then
    say "Installing Yilian${extras:+ with [$extras]} into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}" || exit 1
    rm -f .venv/.yilian-*-"${extras:-base}"
    touch "$stamp"
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
}
