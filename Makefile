# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each makes its own virtual environment (.venv) first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test test-fast test-browser bench bench-many bench-replay browser-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

## Run notebooks/quickstart.ipynb headless (offline demo server unless GEMINI_API_KEY is set).
demo: $(VENV)/.installed
	$(PY) notebooks/run.py notebooks/quickstart.ipynb

## Every test: unit, kernel and browser tiers.
test: $(VENV)/.installed browser-deps
	$(PY) -m pytest

## Everything but the browser tier.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not browser"

## Only the browser tier (JupyterLab + Chromium + Playwright).
test-browser: $(VENV)/.installed browser-deps
	$(PY) -m pytest -m browser

## Streaming benchmark in a real kernel; writes benchmarks/results/*.json.
bench: $(VENV)/.installed
	$(PY) benchmarks/bench_stream.py

## Many prompts at once (--each / gemini_magic.map): rate against the ideal, memory with 10,000 items.
bench-many: $(VENV)/.installed
	$(PY) benchmarks/bench_many.py

## Replay: a 20-cell notebook replayed vs display(Markdown(...)) in real kernels; record file size for 1,000 answers.
bench-replay: $(VENV)/.installed
	$(PY) benchmarks/bench_replay.py

## Debian's Chromium for the browser tier (never Playwright's own download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium (needs root)..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }

clean:
	rm -rf $(VENV) notebooks/executed benchmarks/results artifacts
