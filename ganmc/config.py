"""Typed schemas for every config node, registered in Hydra's ConfigStore.

YAML files under ``ganmc/conf`` start from these dataclasses, so a misspelt key or a value of
the wrong type fails at composition, before any compute. Value checks that a type cannot
express (positive sizes, known devices) live in :func:`ganmc.checks.validate_run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ganmc.checks import validate_run as validate_run  # value checks live in ganmc.checks
from ganmc.common import DEFAULT_CACHE_DIR
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
from ganmc.metrics.stacked import STACKED_THRESHOLD
from ganmc.models.schemas import (
    DCGANDiscriminatorConfig,
    DCGANNetConfig,
    GanConfig,
    InfoGANDiscriminatorConfig,
    InfoGANGeneratorConfig,
    NetConfig,
    SNGANNetConfig,
    StackedMNISTDiscriminatorConfig,
    StackedMNISTGeneratorConfig,
)
from ganmc.samplers import SAMPLERS

# The checkpoints shipped with ganmc (next to the package in a source checkout): searched by
# default, so the shipped configurations load instead of training.
SHIPPED_CHECKPOINTS = str(Path(__file__).resolve().parents[1] / "checkpoints")


class EmdCost(Enum):
    euclidean = "euclidean"
    sqeuclidean = "sqeuclidean"


class RealSet(Enum):
    iid = "iid"
    stratified = "stratified"


# --- GAN: architecture (one schema per net family, under schema/net), loss, schedule ---
@dataclass
class MetricConfig:
    """2-D metrics: ``metrics`` names registered metrics (:mod:`ganmc.metrics.registry`): ``modes``
    (mixtures only), ``mass_tv``, ``emd``, ``emd_floor`` (EMD between two real draws), ``collab``.
    A metric named on the command line must apply to the data set (else an error); one a config
    file lists is skipped, with a log line, where it does not (one list serves a sweep's data sets).
    ``emd_n`` above ``n_samples`` measures the EMD on every sample, with a warning that says so; a
    protocol that ``emd_also`` repeats (or the main one) is solved once, with a log line."""

    name: str = MISSING
    metrics: list[str] = field(default_factory=lambda: ["modes", "mass_tv", "emd"])
    hq_threshold: float = 4.0
    emd_n: int | None = None  # null: min(n_samples, EMD_DEFAULT_N = 10,000); more than n_samples: n_samples
    emd_cost: EmdCost = EmdCost.euclidean  # euclidean: W1; sqeuclidean: W2^2
    real_set: RealSet = RealSet.iid  # stratified (mixtures): each mode's share of the real set fixed
    emd_also: list[str] = field(default_factory=list)  # more protocols, COST/REAL_SET: emd[COST/REAL_SET]
    sir_factor: int = 10  # exact-target estimate: first pool of sir_factor * n proposals (0: none)
    sir_max_pool: int = 500_000  # the pool doubles until its ESS reaches n, up to this size


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

    name: str = MISSING
    metrics: list[str] = field(default_factory=lambda: ["is", "fid"])
    n_ref: int | None = None  # real images for the reference statistics (null: the whole set)
    inception_weights: str | None = None
    feature_extractor: str = "inception-v3-compat"
    batch_size: int = 64
    isc_splits: int = 10
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    stacked_threshold: float = STACKED_THRESHOLD  # stacked digits: a channel's least top probability
    sir_factor: int = 5  # exact-target estimate from sir_factor * n proposals (0: none)
    sir_max_pool: int = 0  # images: the pool does not grow (no regions to weigh)


@dataclass
class ShapingConfig:
    """``ganmc shape``: shape D on refined (``sampler``) vs real samples (Algorithm 2) with the
    schedule of ``sampler.discriminator`` (steps, lr, batch)."""

    median_every: int = 100  # re-estimate the median stopping threshold with the current D
    out: str | None = None  # null: <cache_dir>/shaped/, named after parent and settings (as samplers find it)
    snapshots: list[int] = field(default_factory=list)  # also save D after these steps (as if shaped that long)


@dataclass
class RunConfig:
    """Primary config of ``ganmc train`` and ``ganmc sample``."""

    dataset: Any = MISSING
    gan: GanConfig = MISSING
    metric: Any = MISSING  # typed by its schema under schema/metric (synthetic or image)
    sampler: Any = None
    shape: Any = None  # ganmc shape only (ShapingConfig)
    seed: int = 0
    n_samples: int = 10000  # refused when the kept samples exceed the free memory or disk
    batch_size: int = 10000
    device: str = "auto"
    cache_dir: str = f"${{oc.env:GANMC_CACHE,'{DEFAULT_CACHE_DIR}'}}"
    checkpoint_dirs: list[str] = field(default_factory=lambda: [SHIPPED_CHECKPOINTS])
    retrain: bool = False
    overwrite: bool = False  # replace a run folder's record of another config (else refused)
    plot: bool = True
    threads: int | None = None  # CPU threads of torch, 1..1024 (null: 1 for MLP GANs, min(4, cores) for conv ones)
    eval_batch: int | None = None  # most inputs per bulk G/D pass outside the chains (null: the samplers' own)
    smoke: bool = False  # every sampler at its smallest budget (rehearsals, smoke tests)
    # class-conditional GANs (gan.num_classes): each sample's label, 'uniform' (null: the default),
    # 'data' (the data's class shares), one class index for all, or a list of one per sample
    sampler_labels: Any = None
    max_evals: float = 1e11  # > 0: refuse a run whose sampler (or generator) asks for more G+D evaluations


@dataclass
class TableConfig:
    """Primary config of ``ganmc table``."""

    report: Any = None
    records: str = "outputs"
    out_dir: str = "out/tables"  # results/ only when asked (out_dir=results)


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore (idempotent)."""
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

