# The two commands of the README's quickstart. Each installs what it needs first.
.PHONY: sheet test bench samples

sheet:
	@scripts/install.sh
	@mkdir -p out
	python3 -m handcalc generate --seed 2026 -o out/worksheet.pdf
	python3 -m handcalc key --seed 2026 -o out/key.pdf
	@echo "wrote out/worksheet.pdf and out/key.pdf"

test:
	@scripts/install.sh --test
	python3 -m pytest -q

bench:
	@scripts/install.sh --test
	python3 benchmarks/run.py

samples:
	bash samples/make.sh
