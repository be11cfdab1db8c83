# ganmc — set-up, tests and reproduction targets. `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GANMC := $(VENV)/bin/ganmc
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test test-slow demo lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,slurm]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

# Trains the default toy GAN (cached after the first run), samples 10,000 points, writes
# out/demo/{record.json,samples.npy,samples.png}.
demo: install
	$(GANMC) sample experiment=demo hydra.run.dir=out/demo
	@echo "demo written to out/demo (record.json, samples.npy, samples.png)"

lint: install
	$(VENV)/bin/ruff check ganmc tests scripts

clean:
	rm -rf out outputs multirun .pytest_cache
