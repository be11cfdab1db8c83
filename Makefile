# ganmc — set-up, tests and reproduction targets. `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GANMC := $(VENV)/bin/ganmc
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test test-slow demo lint clean bench reproduce-table1 reproduce-table2 \
	reproduce-table1-progress checkpoints reproduce-collab-fig4 reproduce-collab-table1

# Reproduce targets run from the checkpoints shipped in checkpoints/ (trained by `make
# checkpoints`); RETRAIN=1 ignores them and trains every GAN again into a fresh cache.
RUNS ?= runs
RESULTS ?= results
ifdef RETRAIN
CKPT := cache_dir=$(CURDIR)/out/retrain-cache
else
CKPT := 'checkpoint_dirs=[$(CURDIR)/checkpoints]'
endif

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

reproduce-table1: install
	$(GANMC) sample experiment=table1 $(CKPT) hydra.sweep.dir=$(RUNS)/table1
	$(GANMC) table table1 records=$(RUNS)/table1 out_dir=$(RESULTS)

reproduce-table2: install
	$(GANMC) sample experiment=table2 $(CKPT) hydra.sweep.dir=$(RUNS)/table2
	$(GANMC) table table2 records=$(RUNS)/table2 out_dir=$(RESULTS)

reproduce-table1-progress: install
	$(GANMC) sample experiment=table1_progress $(CKPT) hydra.sweep.dir=$(RUNS)/table1_progress
	$(GANMC) table progress records=$(RUNS)/table1_progress out_dir=$(RESULTS)

# Collaborative sampling (imbalanced 8 Gaussians; the NS-GAN is trained into the cache).
reproduce-collab-fig4: install
	$(GANMC) sample -m experiment=collab_fig4 $(CKPT) hydra.sweep.dir=$(RUNS)/collab_fig4
	$(GANMC) table collab_fig4 records=$(RUNS)/collab_fig4 out_dir=$(RESULTS)

reproduce-collab-table1: install
	$(GANMC) sample -m experiment=collab_table1 $(CKPT) hydra.sweep.dir=$(RUNS)/collab_table1
	$(GANMC) sample experiment=collab_fig4 +sampler=generator seed=0 $(CKPT) \
		hydra.run.dir=$(RUNS)/collab_table1/generator
	$(GANMC) table collab_table1 records=$(RUNS)/collab_table1 out_dir=$(RESULTS)

# Trains the GANs of Tables 1 and 2 (5 seeds each, with the snapshots table1_progress uses)
# and copies the final ones into checkpoints/.
checkpoints: install
	$(GANMC) train -m experiment=table1 dataset=gaussians25,swissroll seed=0,1,2,3,4 \
		'gan.train.snapshots=[1000,1500]' plot=false cache_dir=$(CURDIR)/out/ckpt-cache \
		hydra.sweep.dir=out/train-checkpoints
	mkdir -p checkpoints && cp out/ckpt-cache/checkpoints/*.pt checkpoints/

bench: install
	$(PY) scripts/bench_samplers.py
