# Quick start: `make run` (serve the sample corpus) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup ingest-sample embed-sample clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,semantic]'
	touch $@

ingest-sample: setup
	$(PY) ingest.py --index $(INDEX) sample/news.jsonl

embed-sample: ingest-sample
	$(VENV)/bin/hindi-search embed --index $(INDEX)

run: embed-sample
	SEARCH_SEMANTIC=1 $(VENV)/bin/hindi-search serve --index $(INDEX) --host $(HOST) --port $(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info
	find $(INDEX) -mindepth 1 ! -name .gitkeep -delete
