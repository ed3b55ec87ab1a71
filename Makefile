# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Each makes its own virtual environment (.venv) first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test test-fast test-browser test-versions lint bench bench-longtasks bench-many bench-replay bench-files browser-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

## Run notebooks/quickstart.ipynb headless (offline demo server unless GEMINI_API_KEY is set).
demo: $(VENV)/.installed
	$(PY) notebooks/run.py notebooks/quickstart.ipynb

## Every test: lint and types, unit, kernel and browser tiers, and the fast tier on Python 3.12 and 3.13.
test: $(VENV)/.installed browser-deps lint
	$(PY) -m pytest
	$(MAKE) test-versions

## ruff (lint and format) and mypy.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check gemini_magic tests benchmarks notebooks
	$(VENV)/bin/ruff format --check gemini_magic tests benchmarks notebooks
	$(VENV)/bin/mypy

## The fast tier (no browser) on the other Python versions we support, each in its own venv.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
OTHER_PYTHONS ?= 3.12 3.13
test-versions:
	@for v in $(OTHER_PYTHONS); do \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python3 2>/dev/null | tail -n 1); \
	  if [ -z "$$py" ]; then echo "Python $$v not found under $(PYENV_ROOT)"; exit 1; fi; \
	  venv=.venv-$$v; \
	  if [ ! -f $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ]; then \
	    $$py -m venv $$venv && $$venv/bin/python -m pip install --quiet --upgrade pip && \
	    $$venv/bin/python -m pip install --quiet -e ".[test]" && touch $$venv/.installed || exit 1; \
	  fi; \
	  echo "== fast tier on $$($$venv/bin/python --version)"; \
	  $$venv/bin/python -m pytest -m "not browser" -q -p no:cacheprovider || exit 1; \
	done

## Everything but the browser tier.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not browser"

## Only the browser tier (JupyterLab + Chromium + Playwright).
test-browser: $(VENV)/.installed browser-deps
	$(PY) -m pytest -m browser

## Streaming benchmark in a real kernel; writes benchmarks/results/*.json.
bench: $(VENV)/.installed
	$(PY) -m benchmarks.bench_stream

## Long tasks in JupyterLab (headless Chromium) while 150 KB and 30 KB answers stream; writes benchmarks/results/bench_longtasks.json.
bench-longtasks: $(VENV)/.installed browser-deps
	$(PY) -m benchmarks.bench_longtasks

## Many prompts at once (--each / gemini_magic.map): rate against the ideal, memory with 10,000 items.
bench-many: $(VENV)/.installed
	$(PY) -m benchmarks.bench_many

## Replay: a 20-cell notebook replayed vs display(Markdown(...)) in real kernels; record file size for 1,000 answers.
bench-replay: $(VENV)/.installed
	$(PY) -m benchmarks.bench_replay

## Files in the prompt (upload, reuse, inline) against the raw SDK calls, in a real kernel.
bench-files: $(VENV)/.installed
	$(PY) -m benchmarks.bench_files

## Debian's Chromium for the browser tier (never Playwright's own download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium (needs root)..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }

clean:
	rm -rf $(VENV) .venv-3.* notebooks/executed benchmarks/results artifacts
