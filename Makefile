# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := episodes/welcome-to-radical-kindness.flac
# PyTorch for the openai-whisper engine, which the tests and the benchmark compare against. The
# CPU build is enough; pin it so pip never reaches for a multi-GB CUDA build. Elsewhere:
#   make test TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0

.PHONY: demo test bench stings clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,openai-whisper]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,openai-whisper]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

## demo: build .venv, install rkaudio, and finish the bundled demo episode end to end: audio,
## transcript, tags and feed (feed/)
demo: $(VENV)/.installed
	$(BIN)/rkaudio process $(DEMO)

## test: build .venv with the dev extras and run the whole test suite
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

## bench: time rkaudio against its peers: processing a generated hour-long recording, and
## transcribing the committed speech clips (see BENCHMARKS.md)
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py
	$(BIN)/python bench/transcribe.py

## stings: re-synthesise the demo show's intro and outro (they are committed)
stings: $(VENV)/.installed
	$(BIN)/python -c "from pathlib import Path; from rkaudio.stings import write_sting; \
	write_sting(Path('assets/intro.flac'), 'intro', 3.0); write_sting(Path('assets/outro.flac'), 'outro', 3.0)"

clean:
	rm -rf $(VENV) feed/media feed/*.xml masters bench/out
