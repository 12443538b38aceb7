#!/usr/bin/env bash
# Remake the sample sheets from samples/problem.json:  bash samples/make.sh [OUTDIR]
# (run from anywhere; PYTHON picks the interpreter, default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-samples}"
py="${PYTHON:-python3}"
for fmt in html pdf; do
  "$py" -m handcalc generate --from samples/problem.json -o "$out/blank.$fmt"
  "$py" -m handcalc key --from samples/problem.json -o "$out/key.$fmt"
done
