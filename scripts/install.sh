#!/usr/bin/env bash
# The whole set-up, run by every Make target; a second run only checks and returns.
#   scripts/install.sh          the tool: Pango, fonts and HarfBuzz's subsetter with apt-get, then
#                               handcalc into the project's own virtual environment .venv/
#   scripts/install.sh --test   also the test tools: poppler-utils, Debian's chromium, node,
#                               libatomic1 (Playwright's driver needs it), pytest, hypothesis, ...
#                               and axe-core (a pinned version, with npm into .venv/node/), which
#                               the browser tests run in every page for WCAG 2.1 AA
# System packages come from apt-get (as root, or through sudo); Python packages go into .venv/
# only, never into the system's Python.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=tool
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  *) echo "usage: scripts/install.sh [--test]" >&2; exit 2 ;;
esac

# libharfbuzz-subset0: WeasyPrint subsets fonts with it, else with fontTools (several times slower)
packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core libharfbuzz-subset0)
if [ "$mode" = test ]; then
  packages+=(poppler-utils chromium nodejs libatomic1)
  # npm: Debian's own package, unless a node that brings its own npm is installed
  command -v npm >/dev/null || packages+=(npm)
fi
command -v python3 >/dev/null || packages+=(python3 python3-venv)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "scripts/install.sh: installing system packages needs root or sudo: $*" >&2
    exit 1
  fi
}

apt_install() {
  echo "installing system packages: $*"
  as_root apt-get update -qq
  # (debconf's note that apt-utils is missing is dropped; pipefail keeps apt-get's status)
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$@" 2>&1 >/dev/null | { grep -v "^debconf: delaying package configuration" || true; } >&2
}

# The packages dpkg does not list as installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

if command -v dpkg-query >/dev/null; then
  mapfile -t missing < <(missing_packages "${packages[@]}")
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
else
  echo "no dpkg here: install Pango and HarfBuzz with your system's packages yourself"
fi

# The venv is current when its stamp holds the hash of pyproject.toml, the interpreter and the
# mode; a test install includes the tool's.
# The accessibility checker the browser tests inject into each page; pinned, so that a new
# release's new rules cannot fail a test run that changed nothing.
AXE_VERSION=4.10.3
axe_installed() {
  [ "$(node -p 'require("./.venv/node/node_modules/axe-core/package.json").version' \
    2>/dev/null)" = "$AXE_VERSION" ]
}
install_axe() {
  [ "$mode" = test ] || return 0
  axe_installed && return 0
  echo "installing axe-core $AXE_VERSION into .venv/node/"
  # npm trusts the system's certificates, as pip and apt do (a fresh root has no npmrc)
  local ca=()
  [ -f /etc/ssl/certs/ca-certificates.crt ] && ca=(--cafile /etc/ssl/certs/ca-certificates.crt)
  npm install --silent --no-audit --no-fund "${ca[@]}" --prefix .venv/node \
    "axe-core@$AXE_VERSION" >/dev/null
  axe_installed
}

python=.venv/bin/python
key="$(cat pyproject.toml; command -v python3; python3 --version)"
key=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
stamp() { echo ".venv/.installed-$1"; }
if [ -x "$python" ] && [ "$(cat "$(stamp "$mode")" 2>/dev/null)" = "$key" ]; then
  install_axe
  exit 0
fi

if [ ! -x "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    # Debian's python3 comes without ensurepip; python3-venv brings it.
    rm -rf .venv
    apt_install python3-venv
    python3 -m venv .venv
  fi
fi

rm -f "$(stamp tool)" "$(stamp test)"
if [ "$mode" = test ]; then
  target=".[test]"
  echo "installing handcalc and its test tools into .venv/ (pip install -e '$target')"
else
  target=.
  echo "installing handcalc into .venv/ (pip install -e .)"
fi
# (the filter drops pip's notes about this machine's index settings; pipefail keeps pip's status)
"$python" -m pip install -q --disable-pip-version-check -e "$target" 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored" || true; }
"$python" -c "import handcalc, weasyprint" >/dev/null
echo "$key" >"$(stamp "$mode")"
[ "$mode" = test ] && echo "$key" >"$(stamp tool)"
install_axe
exit 0
