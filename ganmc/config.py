"""Typed schemas for every config node, registered in Hydra's ConfigStore.

YAML files under ``ganmc/conf`` start from these dataclasses, so a misspelt key or a value of
the wrong type fails at composition, before any compute. Value checks that a type cannot
express (positive sizes, known devices) live in :func:`ganmc.checks.validate_run`. Each key of
the run, metric, shaping and table schemas carries its one-line description (:func:`opt`), which
``ganmc COMMAND --help`` prints (:mod:`ganmc.help`). Importing this module imports no torch (the
schemas of data sets and samplers are imported when registered), so ``--help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore

from ganmc.checks import validate_run as validate_run  # value checks live in ganmc.checks
from ganmc.common import DEFAULT_CACHE_DIR, MISSING, STACKED_THRESHOLD
from ganmc.models.schemas import GanConfig

# The checkpoints shipped with ganmc (next to the package in a source checkout): searched by
# default, so the shipped configurations load instead of training.
SHIPPED_CHECKPOINTS = str(Path(__file__).resolve().parents[1] / "checkpoints")


def opt(default: Any, doc: str) -> Any:
    """A schema field with its one-line description ``doc``, the one place a key is described. A
    list default is copied per instance; a dataclass type default is built per instance."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": doc})
    if isinstance(default, type):
        return field(default_factory=default, metadata={"help": doc})
    return field(default=default, metadata={"help": doc})


class EmdCost(Enum):
    euclidean = "euclidean"
    sqeuclidean = "sqeuclidean"


class RealSet(Enum):
    iid = "iid"
    stratified = "stratified"


@dataclass
class MetricConfig:
    """2-D metrics: ``metrics`` names registered metrics (:mod:`ganmc.metrics.registry`): ``modes``
    (mixtures only), ``mass_tv``, ``emd``, ``emd_floor`` (EMD between two real draws), ``collab``.
    A metric named on the command line must apply to the data set (else an error); one a config
    file lists is skipped, with a log line, where it does not (one list serves a sweep's data sets).
    ``emd_n`` above ``n_samples`` measures the EMD on every sample, with a warning that says so; a
    protocol that ``emd_also`` repeats (or the main one) is solved once, with a log line."""

    name: str = opt(MISSING, "the metric preset (set by metric=NAME)")
    metrics: list[str] = opt(["modes", "mass_tv", "emd"], "metrics to compute: modes, mass_tv, emd, emd_floor, collab")
    hq_threshold: float = opt(4.0, "a sample is high quality within this many stds of its nearest mode")
    emd_n: int | None = opt(None, "samples in the EMD (null: min(n_samples, 2,000); above n_samples: all)")
    emd_cost: EmdCost = opt(EmdCost.euclidean, "EMD ground cost: euclidean (W1) or sqeuclidean (W2^2)")
    real_set: RealSet = opt(RealSet.iid, "EMD real set: iid, or stratified (mixtures: each mode's share fixed)")
    emd_also: list[str] = opt([], "more EMD protocols, COST/REAL_SET each: recorded as emd[COST/REAL_SET]")
    target: bool = opt(False, "estimate the exact target p_g*w of D-weighted samplers (SIR) and measure it too")
    sir_factor: int = opt(10, "target: first pool of sir_factor * n generator proposals (>= 1)")
    sir_max_pool: int = opt(500_000, "target: the pool doubles until its ESS reaches n, up to this size")
    target_metrics: list[str] | None = opt(None, "target: the metrics of the target's set (null: metric.metrics)")


@dataclass
class ClassifierConfig:
    """The small CNN behind ``cs`` and ``fd``, trained on the data set's labels and cached."""

    width: int = 32
    steps: int = 2000
    lr: float = 1e-3
    batch_size: int = 128
    holdout: float = 0.1  # fraction of the labelled images held out to report its accuracy
    seed: int = 0


@dataclass
class ImageMetricConfig:
    """Image metrics: ``metrics`` names any of ``is``, ``fid`` (through ``feature_extractor``:
    Inception from a local ``inception_weights`` file by default), ``cs``, ``fd`` (the data
    set's classifier), ``stacked_*`` (stacked digits only: named on the command line for other
    data, an error; listed in a config file, skipped with a log line)."""

    name: str = opt(MISSING, "the metric preset (set by metric=NAME)")
    metrics: list[str] = opt(["is", "fid"], "metrics to compute: is, fid, cs, fd, stacked_* (stacked digits)")
    n_ref: int | None = opt(None, "real images for the reference statistics (null: the whole set)")
    inception_weights: str | None = opt(None, "local Inception weights file for is/fid (null: torch-fidelity's)")
    feature_extractor: str = opt("inception-v3-compat", "torch-fidelity feature extractor of is and fid")
    batch_size: int = opt(64, "images per metric pass")
    isc_splits: int = opt(10, "splits of the inception score")
    classifier: ClassifierConfig = opt(ClassifierConfig, "the CNN behind cs and fd: width, steps, lr, batch_size, holdout, seed")
    stacked_threshold: float = opt(STACKED_THRESHOLD, "stacked digits: a channel's least top probability")
    target: bool = opt(False, "estimate the exact target p_g*w of D-weighted samplers (SIR) and measure it too")
    sir_factor: int = opt(5, "target: sir_factor * n generator proposals (>= 1)")
    sir_max_pool: int = opt(0, "target: images: 0, the pool does not grow (no regions to weigh)")
    target_metrics: list[str] | None = opt(None, "target: the metrics of the target's set (null: metric.metrics)")


@dataclass
class ShapingConfig:
    """``ganmc shape``: shape D on refined (``sampler``) vs real samples (Algorithm 2) with the
    schedule of ``sampler.discriminator`` (steps, lr, batch)."""

    median_every: int = opt(100, "re-estimate the median stopping threshold with the current D")
    out: str | None = opt(None, "null: <cache_dir>/shaped/, named after parent and settings (as samplers find it)")
    snapshots: list[int] = opt([], "also save D after these steps (as if shaped that long)")


@dataclass
class RunConfig:
    """Primary config of ``ganmc train``, ``ganmc sample`` and ``ganmc shape``."""

    dataset: Any = opt(MISSING, "the data set: dataset=NAME, then dataset.KEY=VALUE")
    gan: GanConfig = opt(MISSING, "the GAN (nets, loss, gan.train.* schedule, gan.checkpoint): gan=NAME")
    metric: Any = opt(MISSING, "what is measured: metric=NAME, then metric.KEY=VALUE (ganmc sample --help)")
    sampler: Any = opt(None, "none: the generator alone; +sampler=NAME adds one (its keys: add --cfg job)")
    shape: Any = opt(None, "`ganmc shape` only: its schedule, shape.* (ganmc shape --help)")
    seed: int = opt(0, "the run's seed: training, sampling and metrics draw from streams derived from it")
    n_samples: int = opt(10000, "samples drawn and measured (refused when they exceed the free memory or disk)")
    batch_size: int = opt(10000, "samples per sampling batch")
    device: str = opt("auto", "auto (CUDA when present), cpu or cuda[:N]")
    deterministic: bool = opt(True, "on CUDA, deterministic kernels: the same seed gives the same samples "
                              "(false: the library's faster defaults; CPU runs are deterministic anyway)")
    cache_dir: str = opt(f"${{oc.env:GANMC_CACHE,'{DEFAULT_CACHE_DIR}'}}",
                         "trained GANs, derived Ds, reference statistics, resume states")
    checkpoint_dirs: list[str] = opt([SHIPPED_CHECKPOINTS], "folders of shipped checkpoints, searched before training")
    retrain: bool = opt(False, "train the GAN again, even when a cached or shipped checkpoint exists")
    overwrite: bool = opt(False, "replace a run folder's record of another config (else refused)")
    plot: bool = opt(True, "write the PNGs (samples, training grids)")
    threads: int | None = opt(None, "torch CPU threads, 1..1024 (null: 1 for MLP GANs, min(4, cores) for conv ones)")
    eval_batch: int | None = opt(None, "most inputs per bulk G/D pass outside the chains (null: the samplers' own)")
    smoke: bool = opt(False, "every sampler at its smallest budget (rehearsals, smoke tests)")
    sampler_labels: Any = opt(None, "class-conditional GANs (gan.num_classes): each sample's label, 'uniform' "
                              "(null), 'data' (the data's class shares), one class index, or a list, one per sample")
    max_evals: float = opt(1e11, "> 0: refuse a run whose sampler (or generator) asks for more G+D evaluations")


@dataclass
class TableConfig:
    """Primary config of ``ganmc table``."""

    report: Any = opt(None, "the table: `ganmc table NAME` or report=NAME (null: list the records)")
    records: str = opt("outputs", "the folder whose record.json files are read")
    out_dir: str = opt("out/tables", "where tables go (results/ only when asked: out_dir=results)")


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore (idempotent)."""
    from ganmc.data.schemas import (
        CelebADatasetConfig,
        CIFAR10DatasetConfig,
        DigitsDatasetConfig,
        FashionMNISTDatasetConfig,
        GridDatasetConfig,
        ImageFolderDatasetConfig,
        MixtureDatasetConfig,
        MNISTDatasetConfig,
        RingDatasetConfig,
        StackedDigitsDatasetConfig,
        StackedMNISTDatasetConfig,
        SwissRollDatasetConfig,
    )
    from ganmc.models.schemas import (
        DCGANDiscriminatorConfig,
        DCGANNetConfig,
        InfoGANDiscriminatorConfig,
        InfoGANGeneratorConfig,
        NetConfig,
        SNGANNetConfig,
        StackedMNISTDiscriminatorConfig,
        StackedMNISTGeneratorConfig,
    )
    from ganmc.samplers import SAMPLERS

    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(name="table_schema", node=TableConfig)
    for name, node in [
        ("grid", GridDatasetConfig),
        ("ring", RingDatasetConfig),
        ("mixture", MixtureDatasetConfig),
        ("swissroll", SwissRollDatasetConfig),
        ("digits", DigitsDatasetConfig),
        ("stacked_digits", StackedDigitsDatasetConfig),
        ("mnist", MNISTDatasetConfig),
        ("fashion_mnist", FashionMNISTDatasetConfig),
        ("stacked_mnist", StackedMNISTDatasetConfig),
        ("cifar10", CIFAR10DatasetConfig),
        ("image_folder", ImageFolderDatasetConfig),
        ("celeba", CelebADatasetConfig),
    ]:
        cs.store(group="schema/dataset", name=name, node=node)
    for name, sampler in SAMPLERS.items():  # every registered sampler's config dataclass
        cs.store(group="schema/sampler", name=name, node=sampler.Config)
    for name, node in [("mlp", NetConfig), ("dcgan", DCGANNetConfig), ("dcgan_d", DCGANDiscriminatorConfig),
                       ("sngan", SNGANNetConfig),
                       ("stacked_mnist_g", StackedMNISTGeneratorConfig),
                       ("stacked_mnist_d", StackedMNISTDiscriminatorConfig),
                       ("infogan_g", InfoGANGeneratorConfig), ("infogan_d", InfoGANDiscriminatorConfig)]:
        cs.store(group="schema/net", name=name, node=node)
    cs.store(group="schema/shape", name="shaping", node=ShapingConfig)
    cs.store(group="schema/metric", name="synthetic", node=MetricConfig)
    cs.store(group="schema/metric", name="image", node=ImageMetricConfig)

