# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := episodes/welcome-to-radical-kindness.flac
# PyTorch for the openai-whisper engine, which the tests and the benchmark compare against. The
# CPU build is enough; pin it so pip never reaches for a multi-GB CUDA build. Elsewhere:
#   make test TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0
# axe-core, which the review editor's accessibility test runs in the browser (from npm, gitignored).
AXE    := node_modules/axe-core/axe.min.js

.PHONY: demo demo-webinar test test-fast bench stings clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The demo labels its speakers: the diarizer (the speakers extra) runs on PyTorch's CPU build.
$(VENV)/.installed-speakers: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[speakers]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,plot,openai-whisper,speakers]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-speakers

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,plot,bench,openai-whisper,speakers]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed $(VENV)/.installed-speakers

## demo: build .venv, install rkaudio, and finish the bundled demo episode end to end: audio,
## transcript with speaker labels, tags, feed and the listeners' site (feed/index.html)
demo: $(VENV)/.installed-speakers
	$(BIN)/rkaudio process $(DEMO)

## demo-webinar: the demo as a webinar: a 720p video (ffmpeg's test picture) with the demo's sound,
## made in episodes/, finished into the MP3 and feed/media/welcome-webinar.mp4 with its captions
WEBINAR := episodes/welcome-webinar.mp4
$(WEBINAR): $(DEMO) | $(VENV)/.installed
	$(BIN)/python -c "import subprocess, imageio_ffmpeg; subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), \
	'-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=10', \
	'-i', '$(DEMO)', '-shortest', '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'aac', '$@'], check=True)"

demo-webinar: $(VENV)/.installed-speakers $(WEBINAR)
	$(BIN)/rkaudio process $(WEBINAR) --title "Welcome to Radical Kindness (webinar)"

$(AXE):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix "$(CURDIR)" --no-save --no-audit --no-fund axe-core@4; \
	else \
		echo "npm not found: the review editor's accessibility test will be skipped"; \
	fi

# Test workers: one per core (pytest-xdist); "make test JOBS=1" runs the suite serially.
JOBS ?= auto
## test: build .venv with the dev extras, fetch axe-core, and run the whole test suite, in parallel
test: $(VENV)/.installed-dev $(AXE)
	$(BIN)/python -m pytest -n $(JOBS)

## test-fast: the quick lane for an edit-test loop: every test that needs neither a speech model,
## a browser nor PyTorch, and no end-to-end run marked slow (stress tests and the slowed upload
## included), in parallel
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow and not speech and not browser and not torch and not speakers and not stress and not slow_upload"

## bench: time rkaudio against its peers: processing a generated hour-long recording, levelling
## a panel of voices, transcribing the committed speech clips, coverage on the three-voice panels,
## speaker labels on the conversations, building the site of a 100-episode show, and a 720p webinar
## against its sound alone, and whole-show builds (see BENCHMARKS.md)
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py
	$(BIN)/python bench/leveller.py
	$(BIN)/python bench/transcribe.py
	$(BIN)/python bench/voice_coverage.py
	$(BIN)/python bench/speakers.py
	$(BIN)/python bench/site.py
	$(BIN)/python bench/video.py
	$(BIN)/python bench/build.py

## stings: re-synthesise the demo show's intro and outro (they are committed)
stings: $(VENV)/.installed
	$(BIN)/python -c "from pathlib import Path; from rkaudio.audio.stings import write_sting; \
	write_sting(Path('assets/intro.flac'), 'intro', 3.0); write_sting(Path('assets/outro.flac'), 'outro', 3.0)"

clean:
	rm -rf $(VENV) node_modules feed/media feed/*.xml masters bench/out
