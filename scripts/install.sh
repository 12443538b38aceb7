#!/usr/bin/env bash
# Installs what handcalc needs on a fresh Debian machine, skipping what is already there.
#   scripts/install.sh          the tool: Pango and fonts for WeasyPrint, then the package
#   scripts/install.sh --test   also the test tools: poppler-utils, Debian's chromium, node, pytest…
set -euo pipefail
cd "$(dirname "$0")/.."

# libharfbuzz-subset0: WeasyPrint subsets fonts with it, else with fontTools (several times slower)
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "${1:-}" = "--test" ]; then
  packages+=(poppler-utils chromium nodejs)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 \
  | grep -v -e "Running pip as the 'root' user" -e "Location '.*' is ignored" || true
python3 -c "import handcalc, weasyprint" >/dev/null
