# Two commands on a fresh machine (README.md):
#   make demo   the project's virtual environment (.venv), geoagri in it, then the main job on
#               the bundled demo into demo-out/
#   make test   the same environment with the test extras, then the test command: pytest
# The environment is made when missing and re-installed when pyproject.toml is newer than it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test clean-venv

demo: $(VENV)/.geoagri-demo
	$(BIN)/geoagri demo --out demo-out

test: $(VENV)/.geoagri-test
	. $(BIN)/activate && pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.geoagri-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.geoagri-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.geoagri-demo

clean-venv:
	rm -rf $(VENV)
