# Quick start: `make run` (serve the sample corpus) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup ingest-sample clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

ingest-sample: setup
	$(PY) ingest.py --index $(INDEX) sample/news.jsonl

run: ingest-sample
	$(VENV)/bin/hindi-search serve --index $(INDEX) --host $(HOST) --port $(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info
	find $(INDEX) -mindepth 1 ! -name .gitkeep -delete
