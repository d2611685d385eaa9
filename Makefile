# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := episodes/welcome-to-radical-kindness.flac

.PHONY: demo test bench stings clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

## demo: build .venv, install rkaudio, and finish the bundled demo episode into feed/media/
demo: $(VENV)/.installed
	$(BIN)/rkaudio process $(DEMO) --title "Welcome to Radical Kindness" --no-transcribe

## test: build .venv with the dev extras and run the whole test suite
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

## bench: time rkaudio against its peers on a generated 60-minute recording (see BENCHMARKS.md)
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

## stings: re-synthesise the demo show's intro and outro (they are committed)
stings: $(VENV)/.installed
	$(BIN)/python -c "from pathlib import Path; from rkaudio.stings import write_sting; \
	write_sting(Path('assets/intro.flac'), 'intro', 3.0); write_sting(Path('assets/outro.flac'), 'outro', 3.0)"

clean:
	rm -rf $(VENV) feed/media feed/*.xml masters bench/out
