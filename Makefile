# The two commands of the README: `make nightly` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: nightly test install system-deps lint bench

$(BIN)/dvsync: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(BIN)/dvsync

install: $(BIN)/dvsync

# Runs the nightly reconciliation on the bundled demo data; outputs in ./dvsync-out
nightly: install
	$(BIN)/dvsync nightly --demo --out dvsync-out

system-deps:
	bash .ci/system-deps.sh
	bash .ci/system-deps-browser.sh
	bash .ci/system-deps-print.sh

# The whole test suite, against a real PostgreSQL, ODBC driver, headless Chromium and LibreOffice.
test: install system-deps
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench.run --members 100000
