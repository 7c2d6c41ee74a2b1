# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   - create .venv, install, run the demo chain on data it makes itself
#   make test   - create .venv, install, run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/python -m k4mlinference.edm.loader
	$(BIN)/python -m k4mlinference.framework.cpp
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m k4mlinference.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) build demo_output
