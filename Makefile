# Salon: `make run` serves the gallery, `make test` runs the whole suite. Both create the
# environment on first use. uv is used from PATH, else installed into .tools/ with pip.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := .venv
# Two stamps: the runtime set (what `make run` needs) and the dev set on top of it (pytest,
# ruff, mypy, playwright, moto, schemathesis: what `make test`, `make lint` and the benchmarks
# need). `make run` on a fresh clone installs and compiles only the runtime set.
RUNTIME_STAMP := $(VENV)/.synced-runtime
STAMP := $(VENV)/.synced
# With a system ffmpeg on PATH the runtime set leaves out imageio-ffmpeg's 170 MB static binary
# (the ffmpeg_video plugin falls back to the system's); the dev set always has it (its tests
# and the Docker image use it).
RUNTIME_SKIP := $(if $(shell command -v ffmpeg 2>/dev/null),--no-install-package imageio-ffmpeg)
# The example plugins are workspace members (so the dev set installs them for their tests and
# mypy), not part of a gallery: `make run` leaves them out.
RUNTIME_SKIP += --no-install-package salon-avif-phash --no-install-package salon-photo-log \
	--no-install-package salon-folder-source
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON ?= 3.11

.PHONY: run test test-suites lint typecheck fmt sync localstack localstack-stop bench load load-hostile clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==0.13.9"

DEPS := pyproject.toml core/pyproject.toml $(wildcard plugins/*/pyproject.toml) \
	examples/salon-avif-phash/pyproject.toml examples/salon-photo-log/pyproject.toml \
	examples/salon-folder-source/pyproject.toml

# Bytecode is compiled at install time for the runtime set only: importing the app from source
# alone takes about 3 s here (and PYTHONDONTWRITEBYTECODE may forbid caching it later), which
# would triple the time from `salon serve` to ready. The dev tools compile on first import.
# --inexact: plugins you installed into .venv yourself (and the dev set) stay installed.
$(RUNTIME_STAMP): $(DEPS) | $(UV)
	$(UV) sync --all-packages --inexact --no-dev $(RUNTIME_SKIP) --compile-bytecode
	$(VENV)/bin/python -m compileall -q core/salon $(wildcard plugins/*/salon_*) examples/salon-photo-log/salon_photo_log > /dev/null
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) | $(UV)
	$(UV) sync --all-packages --inexact
	touch $(STAMP)

sync: $(STAMP)

run: $(RUNTIME_STAMP)
	$(VENV)/bin/salon db upgrade
	$(VENV)/bin/salon serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The browser suites drive Chromium through Playwright's sync API, whose event loop must not
# share a process with the async tests: they run in a pytest process of their own. tests/docs
# runs the docs' shell blocks in a fresh clone of this checkout (see tests/docs/docblocks.py).
# tests/services.py starts PostgreSQL and LocalStack of their own on free ports for both
# processes (SALON_TEST_POSTGRES_URL, SALON_TEST_LOCALSTACK_URL) and stops them afterwards.
test: $(STAMP) lint typecheck
	$(VENV)/bin/python tests/services.py -- $(MAKE) --no-print-directory test-suites

test-suites:
	$(VENV)/bin/pytest --ignore=tests/e2e --ignore=tests/docs $(PYTEST_ARGS)
	$(VENV)/bin/pytest tests/e2e tests/docs $(PYTEST_ARGS)

localstack:
	bash deploy/localstack/run.sh start

localstack-stop:
	bash deploy/localstack/run.sh stop

# Benchmarks start a PostgreSQL of their own (tests/services.py, as `make test`); the S3
# timing uses moto, so LocalStack is left out.
bench: $(STAMP)
	SALON_TEST_LOCALSTACK=0 $(VENV)/bin/python tests/services.py -- $(VENV)/bin/python benchmarks/run_all.py

# The long load test (64 connections, 60 s) against a real `salon serve`; see benchmarks/load.
load: $(STAMP)
	$(VENV)/bin/python benchmarks/load/load_test.py --seconds 60 --connections 64

# 64 honest connections beside slow uploads, huge bodies, pixel bombs and a log-in flood (60 s).
load-hostile: $(STAMP)
	$(VENV)/bin/python benchmarks/load/hostile_load.py --seconds 60 --connections 64

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache
