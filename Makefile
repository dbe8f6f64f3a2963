# Two commands do all the set-up: `make report` (the main job) and `make test` (every test).
# Each creates .venv and installs the package with its extras on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install report course-site test test-fast lint benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test,dev,spark]'
	@touch $(STAMP)

install: $(STAMP)

report: install  ## render the demo client's report
	$(BIN)/workbook report data/demo

course-site: install  ## run the course notebooks on the demo; write build/course-site/ (offline HTML)
	$(BIN)/workbook course site -o build/course-site

test: install  ## run every test (browser tests skip without Chromium, except in CI)
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser and not kernel"

lint: install
	$(BIN)/ruff check workbook tests benchmarks
	$(BIN)/mypy

benchmarks: install
	$(BIN)/python benchmarks/import.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/spark.py
	$(BIN)/python benchmarks/reports.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/forms.py
	$(BIN)/python benchmarks/workshop.py
	$(BIN)/python benchmarks/workshop_app.py --browser

clean:
	rm -rf $(VENV) build dist *.egg-info
