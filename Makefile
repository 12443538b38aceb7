# The commands of the README (sheet, test) and DEVELOPING.md (bench, samples). Each runs
# scripts/install.sh first (system packages, then the project's virtual environment .venv/;
# seconds when all is there) and then runs from .venv/.
PY := .venv/bin/python
.PHONY: sheet test bench samples

sheet:
	@scripts/install.sh
	@mkdir -p out
	$(PY) -m handcalc generate --seed 2026 -o out/worksheet.pdf
	$(PY) -m handcalc key --seed 2026 -o out/key.pdf
	@echo "wrote out/worksheet.pdf and out/key.pdf"

test:
	@scripts/install.sh --test
	$(PY) -m pytest -q

bench:
	@scripts/install.sh --test
	$(PY) benchmarks/run.py

samples:
	@scripts/install.sh
	PYTHON=$(PY) bash samples/make.sh
