# Two commands for a new user (see README):
#   make demo   local Neo4j started, the sample vault ingested, the GraphQL API serving, a learning path shown
#   make test   ruff, mypy and the whole test suite (real Neo4j started by the tests themselves)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint install clean-venv

$(BIN)/kg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/kg

install: $(BIN)/kg

demo: install
	$(BIN)/kg demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
