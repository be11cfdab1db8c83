"""Typed schemas of the sampler config nodes (``schema/sampler``) and of ``ganmc shape``.

Each ``conf/sampler/NAME.yaml`` starts from one of these; ``_partial_``: the pipeline passes
the GAN (and the data set to samplers that need it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class RefineOptimizer(Enum):
    sgd = "sgd"
    adam = "adam"


class Calibration(Enum):
    none = "none"
    isotonic = "isotonic"
    logistic = "logistic"


class MHImpl(Enum):
    vectorised = "vectorised"
    loop = "loop"  # per chain: its k proposals scored in one batch, accept/reject in Python
    textbook = "textbook"  # per chain and proposal: one D(G(z)) call per proposal (slow reference)


@dataclass
class CollabSamplerConfig:
    """Collaborative sampling: refinement at generator layer ``layer`` (null = output space)."""

    _target_: str = "ganmc.samplers.collab.CollabSampler"
    _partial_: bool = True
    layer: int | None = None
    n_steps: int = 50
    step_size: float = 0.1
    optimizer: RefineOptimizer = RefineOptimizer.sgd
    eta: str = "median"  # 'median' or a per-step stopping probability
    n_real: int = 10000
    reject: bool = False
    k: int = 20
    max_restarts: int = 10
    chunk: int = 65536
    shape_steps: int = 0  # > 0: shape D that many steps first (Algorithm 2), cached
    shape_lr: float = 1e-3
    shape_batch: int = 1000


@dataclass
class MHGANSamplerConfig:
    """MH-GAN: ``k`` proposals per chain, D calibrated on ``n_calib`` held-out samples."""

    _target_: str = "ganmc.samplers.mhgan.MHGANSampler"
    _partial_: bool = True
    k: int = 640
    calibration: Calibration = Calibration.isotonic
    n_calib: int = 10000
    max_restarts: int = 10
    impl: MHImpl = MHImpl.vectorised
    chunk: int = 4096  # proposals scored per batch: 4k rows of 64-wide activations stay in cache
    ece_bins: int = 10
    finetune_steps: int = 0  # > 0: fine-tune D (BCE on real vs G samples) that many steps first, cached
    finetune_lr: float = 1e-3
    finetune_batch: int = 1000


@dataclass
class ShapingConfig:
    """``ganmc shape``: fine-tune D on refined (``sampler``) vs real samples (Algorithm 2)."""

    iterations: int = 5000
    lr: float = 1e-3
    batch_size: int = 1000
    median_every: int = 100  # re-estimate the median stopping threshold with the current D
    out: str | None = None  # null: beside the cached checkpoints, named after parent and settings


@dataclass
class GeneratorSamplerConfig:
    _target_: str = "ganmc.samplers.generator.GeneratorSampler"
    _partial_: bool = True


@dataclass
class DDLSConfig:
    _target_: str = "ganmc.samplers.ddls.DDLSSampler"
    _partial_: bool = True
    step_size: float = 0.01
    n_steps: int = 100
    step_decay: float = 1.0
    noise_scale: float = 1.0
    temperature: float = 1.0
    mala: bool = False
    extended_latent: bool = False
    eps_x: float = 0.01
    calibrate: bool = False
    calibrate_steps: int = 1500
    calibrate_lr: float = 1e-3
    calibrate_batch: int = 512
    snapshot_every: int = 0  # > 0: also measure the chains every this many steps (metric vs step)
    snapshot_steps: list[int] = field(default_factory=list)  # and at these steps


@dataclass
class DRSConfig:
    _target_: str = "ganmc.samplers.drs.DRSSampler"
    _partial_: bool = True
    pilot_n: int = 10000
    gamma_percentile: float | None = 95.0
    eps: float = 1e-6
    proposal_batch: int = 10000
    max_proposals_per_sample: int = 1000
    calibrate: bool = False
    calibrate_steps: int = 1500
    calibrate_lr: float = 1e-3
    calibrate_batch: int = 512


@dataclass
class DOTConfig:
    _target_: str = "ganmc.samplers.dot.DOTSampler"
    _partial_: bool = True
    space: str = "latent"
    n_steps: int = 100
    lr: float = 0.01
    delta: float = 0.001
    k_pairs: int = 10000
    k_eff: float | None = None
