"""Class labels: the labels a class-conditional GAN samples at, and the real data of one class.

A label spec (``labels=`` from Python, ``sampler_labels=`` from the CLI) is ``"uniform"`` (the
default: each sample's label drawn uniformly), ``"data"`` (drawn from the data's class shares),
one class index for every sample, or one index per sample. :func:`parse_labels` refuses a bad
one in one line before any compute; :func:`draw_labels` turns it into a label per sample.
:class:`ClassData` is the real data of one class (a mixture's classes are its modes), which
samplers on the GAN at that label read for calibration, chain starts and stopping rules.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Any

import torch

from ganmc.errors import GanmcError

LABEL_MODES = ("uniform", "data")
LabelSpec = str | int | torch.Tensor


def _show(value: Any) -> str:
    """``value`` as an error message shows it (a long sequence shortened)."""
    if isinstance(value, str):
        return repr(value)
    try:
        items = value.tolist() if hasattr(value, "tolist") else list(value)
    except TypeError:
        return repr(value)
    if not isinstance(items, list):
        return repr(items)
    return str(items) if len(items) <= 6 else f"[{', '.join(map(str, items[:3]))}, ... ({len(items)} labels)]"


def _as_tensor(value: Any, key: str) -> torch.Tensor:
    """``value`` (a sequence, array or tensor) as a LongTensor of labels; non-integers refused."""
    try:
        t = torch.as_tensor(list(value) if not hasattr(value, "dtype") else value)
    except (TypeError, ValueError, RuntimeError):
        t = None
    if t is None or t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool or t.ndim > 1:
        raise GanmcError(f"{key}={_show(value)}: labels are class indices (integers), one per sample")
    return t.long().flatten().cpu()


def parse_labels(value: Any, num_classes: int | None, n: int | None, key: str) -> LabelSpec | None:
    """``value`` as a label spec: ``"uniform"`` (also for ``None``), ``"data"``, one label (an
    int) or one label per sample (a LongTensor of ``n``, when ``n`` is given); ``None`` for an
    unconditional GAN (``num_classes`` None). ``key`` names the setting in the one-line errors."""
    if num_classes is None:
        if value is not None:
            raise GanmcError(f"{key}={_show(value)} given, but the GAN is not class-conditional: labels apply to "
                             "a class-conditional GAN, G(z, y) and D(x, y) (num_classes=K; gan.num_classes=K from the CLI)")
        return None
    if value is None:
        return "uniform"
    if isinstance(value, str):
        if value in LABEL_MODES:
            return value
        raise GanmcError(f"{key}={value!r}: expected 'uniform', 'data', a class index in 0..{num_classes - 1} "
                         "or one per sample")
    return class_indices(value, n, key, num_classes)


def class_indices(value: Any, n: int | None, key: str, num_classes: int | None = None) -> int | torch.Tensor:
    """``value`` as one class index (an int) or one per sample (a LongTensor of ``n`` when ``n`` is
    given), each an integer in 0..num_classes-1 (>= 0 without ``num_classes``); anything else
    refused in one line naming ``key``."""
    if isinstance(value, bool) or (isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)):
        raise GanmcError(f"{key}={value!r}: a label is a class index (an integer >= 0)")
    scalar = isinstance(value, numbers.Integral) or (isinstance(value, torch.Tensor) and value.ndim == 0)
    labels = _as_tensor([value] if scalar else value, key)
    if not scalar and (len(labels) == 0 or (n is not None and len(labels) != n)):
        raise GanmcError(f"{key}={_show(value)} gives {len(labels)} labels for {n} samples: give one per sample, or one "
                         "class index for all of them")
    bad = labels[(labels < 0) | (labels >= num_classes)] if num_classes else labels[labels < 0]
    if len(bad):
        classes = f"the GAN's classes are 0..{num_classes - 1} (num_classes={num_classes})" if num_classes else \
            "labels are class indices 0, 1, ..."
        raise GanmcError(f"{key}={_show(value)}: label {int(bad[0])} is out of range: {classes}")
    return int(labels[0]) if scalar else labels


def per_sample(value: Any, n: int, key: str) -> torch.Tensor:
    """``value`` (one class index, or ``n`` of them) as the label of each of ``n`` samples."""
    given = class_indices(value, n, key)
    return given if isinstance(given, torch.Tensor) else torch.full((n,), given)


def draw_labels(spec: LabelSpec, n: int, num_classes: int, dataset: Any, generator: torch.Generator) -> torch.Tensor:
    """The label of each of ``n`` samples under ``spec`` (from :func:`parse_labels`), drawn with
    ``generator`` for ``"uniform"`` and ``"data"`` (the data's class shares)."""
    if isinstance(spec, torch.Tensor):
        if len(spec) != n:
            raise GanmcError(f"labels give {len(spec)} labels for {n} samples: give one per sample")
        return spec.long()
    if isinstance(spec, int):
        return torch.full((n,), spec, dtype=torch.long)
    if spec == "uniform":
        return torch.randint(num_classes, (n,), generator=generator)
    weights = dataset.class_weights()
    if weights is None or len(weights) != num_classes:
        found = "no classes" if weights is None else f"{len(weights)} classes"
        raise GanmcError(f"labels='data' draws labels from the data's class shares, but dataset {dataset.name} has "
                         f"{found} and the GAN {num_classes}: give labels='uniform' or class indices")
    return torch.multinomial(weights, n, replacement=True, generator=generator)


class ClassData:
    """The real data of class ``label`` of ``dataset``: what a sampler on a class-conditional GAN
    at that label reads as its data set (``sample``, ``fingerprint``, ``dim``, ``shape``)."""

    def __init__(self, dataset: Any, label: int) -> None:
        self.dataset = dataset
        self.label = int(label)
        self._checked = False

    @property
    def name(self) -> str:
        return f"{self.dataset.name}[class {self.label}]"

    @property
    def dim(self) -> int:
        return int(self.dataset.dim)

    @property
    def shape(self) -> tuple[int, ...] | None:
        return getattr(self.dataset, "shape", None)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` real samples of the class; one line when the data have no such class."""
        if not self._checked:
            weights = self.dataset.class_weights()
            if weights is None:
                raise GanmcError(f"dataset {self.dataset.name} has no classes: a sampler that reads real data needs, "
                                 "on a class-conditional GAN, data with classes (a mixture's are its modes)")
            if self.label >= len(weights) or float(weights[self.label]) == 0:
                raise GanmcError(f"dataset {self.dataset.name} has no samples of class {self.label} (its classes: "
                                 f"0..{len(weights) - 1}): give data with the GAN's classes")
            self._checked = True
        return self.dataset.sample_class(n, self.label, generator)

    def fingerprint(self) -> str:
        """The data's fingerprint and the class: a D derived at each label has its own file."""
        return hashlib.sha256(f"{self.dataset.fingerprint()}:class{self.label}".encode()).hexdigest()
