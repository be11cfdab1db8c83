"""What the metrics read of the ``metric`` config: :class:`MetricSettings`, plain typed values
that the run resolves from its config once (:func:`ganmc.settings.metric_settings`).

One class serves both metric presets: a key the preset's schema lacks (``metric=synthetic`` has no
``classifier``; ``metric=image`` no ``hq_threshold``) keeps the default here, which is the
schema's (:mod:`ganmc.config`) where a schema has the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ganmc.common import STACKED_THRESHOLD


@dataclass(frozen=True)
class ClassifierSettings:
    """The cs/fd classifier's training (``metric.classifier``), cached under these settings."""

    width: int = 32
    steps: int = 2000
    lr: float = 1e-3
    batch_size: int = 128
    holdout: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class MetricSettings:
    """The resolved ``metric`` node. ``batch_size``: images per metric pass (``None``, where the
    preset has none: 64 for ``is``/``fid``/``cs``/``fd``, 1,000 for the stacked metrics)."""

    metrics: tuple[str, ...] = ("modes", "mass_tv", "emd")
    name: str = ""  # the preset (synthetic, image): named in the hint of a metric of the wrong kind
    hq_threshold: float = 4.0
    emd_n: int | None = None
    emd_cost: str = "euclidean"
    real_set: str = "iid"
    emd_also: tuple[str, ...] = ()
    n_ref: int | None = None
    inception_weights: str | None = None
    feature_extractor: str = "inception-v3-compat"
    batch_size: int | None = None
    isc_splits: int = 10
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    stacked_threshold: float = STACKED_THRESHOLD
    target: bool = False
    sir_factor: int = 10
    sir_max_pool: int = 500_000
    target_metrics: tuple[str, ...] | None = None
