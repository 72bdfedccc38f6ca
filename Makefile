# Two commands do everything: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CONFIG  ?= config/hall.example.toml

.PHONY: demo test lint bench system clean

system:
	@bash scripts/ensure-system.sh

$(STAMP): pyproject.toml
	@bash scripts/ensure-system.sh
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev,gui]'
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/hallctl config check $(CONFIG)
	@$(BIN)/hallctl simulate --config $(CONFIG) --day --seed 7
	@rm -rf build/demo/week && for s in 1 2 3 4 5 6 7; do \
	  $(BIN)/hallctl simulate --config $(CONFIG) --day --seed $$s --helpers 8 --data build/demo/week >/dev/null 2>&1; done
	@$(BIN)/hallctl report --config $(CONFIG) --data build/demo/week --from 2026-11-23 --to 2026-11-29 \
	  --out build/demo/week.xlsx --out build/demo/week.pdf
	@$(BIN)/hallctl county demo config/county.example.toml --data build/demo/county --pace 1 \
	  $(if $(DURATION),--duration $(DURATION))
	@$(BIN)/hallctl demo --config $(CONFIG) $(if $(DURATION),--duration $(DURATION))

test: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/python -m pytest

# BENCH_FLAGS=--tiny: every script at toy size in seconds (what tests/test_benchmarks.py runs). A script exits
# non-zero when a measurement fails, so make stops there.
bench: $(STAMP)
	@$(BIN)/python benchmarks/bench_core.py $(BENCH_FLAGS)
	@$(BIN)/python benchmarks/bench_bus.py $(BENCH_FLAGS)
	@$(BIN)/python benchmarks/bench_devices.py $(BENCH_FLAGS)
	@$(BIN)/python benchmarks/bench_hall_devices.py $(BENCH_FLAGS)
	@$(BIN)/python benchmarks/bench_report.py $(BENCH_FLAGS)
	@$(BIN)/python benchmarks/bench_county.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
