"""Whether a class-conditional GAN's samples honour their labels, on data whose classes are its
modes (a mixture): ``label_match``, the share of samples nearest their label's mode, overall and
per class."""

from __future__ import annotations

from typing import Any

import torch


def label_match(samples: torch.Tensor, labels: torch.Tensor, dataset: Any) -> dict[str, Any]:
    """``{"label_match": share, "label_match_per_class": [share or None per class]}`` (``None``
    for a class with no sample); ``{}`` on data without modes as classes (images, the swiss roll)."""
    weights = dataset.class_weights() if hasattr(dataset, "class_weights") else None
    if weights is None or getattr(dataset, "region_kind", None) != "mode" or len(samples) == 0:
        return {}
    labels = labels.long().cpu()
    hit = (dataset.regions(samples.detach().cpu()).cpu() == labels).double()
    counts = torch.bincount(labels, minlength=len(weights))
    per_class = torch.bincount(labels, weights=hit, minlength=len(weights))
    return {"label_match": float(hit.mean()),
            "label_match_per_class": [float(h / c) if c else None for h, c in zip(per_class, counts)]}
