"""Classifier score (``cs``) and Frechet distance (``fd``) with a small CNN trained on the data
set's labels: the DDLS/DRS image protocol on data sets where Inception's classes mean nothing.

The classifier is trained once per (data set, settings) and cached, hash-keyed and atomically,
under ``<cache_dir>/classifiers/``; it is registered with torch-fidelity as the feature
extractor ``ganmc-classifier`` (features ``features``, the penultimate layer, and ``logits``),
which loads the cached file through ``feature_extractor_weights_path``. Data sets whose channels
are separate labelled images (stacked digits: ``channel_data``) use the classifier of those
images on each channel (``ganmc-classifier-stacked``). Where a classifier of the labelled images
ships with ganmc (MNIST: :class:`MnistCNN` in ``checkpoints/classifiers/``, trained by ``make
mnist-classifier``), :func:`shipped_classifier` names it and the stacked metrics use it.
``cs = exp(E_x KL(p(y|x) || p(y)))`` (the Inception-score formula with this classifier, one
split) and ``fd`` = Frechet distance of the penultimate features to the real data's.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from tqdm import tqdm

from ganmc.common import bar_disable
from ganmc.data.images import ImageDataset, to_float
from ganmc.errors import GanmcError
from ganmc.io import file_lock, sha256_json, write_atomic
from ganmc.metrics.fidelity import register_extractor
from ganmc.weights import load_weights, state_mismatch

log = logging.getLogger(__name__)

CLASSIFIER = "ganmc-classifier"
CLASSIFIER_STACKED = "ganmc-classifier-stacked"  # the same file, applied to each channel
_ARCH = {"small_cnn": {"in_channels", "n_classes", "width"},  # each net's arguments a classifier file holds
         "mnist_cnn": {"in_channels", "n_classes", "width", "feature_dim", "size"}}


class _BodyHead(nn.Module):
    """A classifier as ``body`` (images -> penultimate features) and ``head`` (-> logits)."""

    body: nn.Module
    head: nn.Module

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features, logits) of float images in [-1, 1]."""
        h = self.body(x)
        return h, self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[1]


class SmallCNN(_BodyHead):
    """Two conv blocks (3x3 conv, ReLU, 2x2 max-pool), global average pool, a ``feature_dim``
    hidden layer (the features of ``fd``) and a linear head to ``n_classes`` logits."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 32, feature_dim: int = 64) -> None:
        super().__init__()
        self.in_channels, self.n_classes = int(in_channels), int(n_classes)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(2 * width, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

class MnistCNN(_BodyHead):
    """The shipped MNIST mode classifier (``scripts/train_mnist_classifier.py``): five 3x3 conv
    layers with batch norm (``width``, 2x, 2x, 4x, 4x channels), a 2x2 max-pool after the 1st, 3rd
    and 5th (28 -> 3 px), a ``feature_dim`` hidden layer (the features) and a linear head."""

    def __init__(self, in_channels: int = 1, n_classes: int = 10, width: int = 16, feature_dim: int = 64,
                 size: int = 28) -> None:
        super().__init__()
        self.in_channels, self.n_classes, self.size = int(in_channels), int(n_classes), int(size)

        def conv(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        w = int(width)
        self.body = nn.Sequential(
            *conv(in_channels, w), nn.MaxPool2d(2), *conv(w, 2 * w), *conv(2 * w, 2 * w), nn.MaxPool2d(2),
            *conv(2 * w, 4 * w), *conv(4 * w, 4 * w), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(4 * w * (self.size // 8) ** 2, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

Classifier = SmallCNN | MnistCNN
CLASSIFIER_NETS: dict[str, type[Classifier]] = {"small_cnn": SmallCNN, "mnist_cnn": MnistCNN}  # payload "net"
# Classifiers shipped in the repository, by the ``source`` of the labelled images they classify.
SHIPPED_CLASSIFIERS = Path(__file__).resolve().parents[2] / "checkpoints" / "classifiers"
SHIPPED = {"mnist": "mnist-cnn.pt"}


def classifier_score(logits: torch.Tensor) -> float:
    """exp(mean_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x) over the set; in float64."""
    logp = torch.log_softmax(logits.double(), dim=1)
    log_marginal = torch.logsumexp(logp, dim=0) - math.log(len(logp))
    kl = (logp.exp() * (logp - log_marginal)).sum(1)
    return float(kl.mean().exp())


def _split(n: int, holdout: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = max(1, int(round(holdout * n))) if holdout > 0 else 0
    return perm[k:], perm[:k]


def train_classifier(dataset: ImageDataset, steps: int, lr: float, batch_size: int, width: int,
                     holdout: float, seed: int, device: torch.device | str = "cpu",
                     progress: bool = True) -> tuple[SmallCNN, dict[str, float]]:
    """Train :class:`SmallCNN` on the labelled images (Adam, cross-entropy, random 1-px shifts),
    holding out a ``holdout`` fraction to measure accuracy; returns the net and its record."""
    if dataset.labels is None:
        raise GanmcError(f"metrics cs/fd need a labelled data set; dataset={dataset.name} has no labels: "
                         "drop cs and fd from metric.metrics")
    if steps <= 0 or lr <= 0 or batch_size <= 0 or not 0 <= holdout < 1:
        raise GanmcError("metric.classifier needs steps, lr and batch_size > 0 and 0 <= holdout < 1")
    labels = dataset.labels.long()
    n_classes = int(labels.max()) + 1
    train_idx, test_idx = _split(len(dataset), holdout, seed)
    rng = torch.Generator().manual_seed(seed + 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SmallCNN(dataset.shape[0], n_classes, width).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    loss = torch.zeros(())
    for _ in tqdm(range(steps), desc="train classifier", disable=bar_disable(progress), dynamic_ncols=True):
        idx = train_idx[torch.randint(len(train_idx), (batch_size,), generator=rng)]
        x = to_float(dataset.images[idx])
        dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=rng))
        x = torch.roll(x, shifts=(dy, dx), dims=(2, 3)).to(device)
        loss = F.cross_entropy(net(x), labels[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()
    record: dict[str, float] = {"final_loss": float(loss.detach()), "n_train": float(len(train_idx))}
    if len(test_idx):
        with torch.no_grad():
            pred = net(to_float(dataset.images[test_idx]).to(device)).argmax(1).cpu()
        record["holdout_accuracy"] = float((pred == labels[test_idx]).double().mean())
        record["n_holdout"] = float(len(test_idx))
    return net.cpu(), record


def classifier_path(dataset: ImageDataset, cache_dir: str | Path, settings: dict[str, Any]) -> Path:
    """Where the classifier of ``dataset`` trained with ``settings`` is cached."""
    key = sha256_json({"data": dataset.fingerprint(), **settings})[:16]
    return Path(cache_dir).expanduser() / "classifiers" / f"{dataset.name}-cnn-{key}.pt"


def obtain_classifier(dataset: ImageDataset, cache_dir: str | Path, steps: int = 2000, lr: float = 1e-3,
                      batch_size: int = 128, width: int = 32, holdout: float = 0.1, seed: int = 0,
                      device: torch.device | str = "cpu") -> Path:
    """The classifier file for these settings: shipped in ``checkpoints/classifiers/`` under the
    same name (``make classifiers``: the same classifier on every machine), else cached, trained
    first if absent."""
    settings = {"steps": steps, "lr": lr, "batch_size": batch_size, "width": width, "holdout": holdout,
                "seed": seed}
    path = classifier_path(dataset, cache_dir, settings)
    if (SHIPPED_CLASSIFIERS / path.name).is_file():
        return SHIPPED_CLASSIFIERS / path.name
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(path.name + ".lock"), "another run is training this classifier"):
        if not path.is_file():  # trained once, whichever run of a sweep comes first
            _train_and_save(dataset, path, settings, device)
    return path


def _train_and_save(dataset: ImageDataset, path: Path, settings: dict[str, Any], device: torch.device | str) -> None:
    """Train the classifier with ``settings`` and save it at ``path`` atomically."""
    steps, lr, batch_size, width, holdout, seed = (settings[k] for k in ("steps", "lr", "batch_size", "width",
                                                                          "holdout", "seed"))
    log.info("training the cs/fd classifier on %s (%d steps) -> %s", dataset.name, steps, path)
    net, record = train_classifier(dataset, steps, lr, batch_size, width, holdout, seed, device)
    payload = {"arch": {"in_channels": net.in_channels, "n_classes": net.n_classes, "width": width},
               "state_dict": net.state_dict(), "record": record, "settings": settings,
               "data_fingerprint": dataset.fingerprint()}
    write_atomic(path, lambda tmp: torch.save(payload, tmp))
    log.info("classifier hold-out accuracy: %s", record.get("holdout_accuracy", "n/a"))


def load_classifier(path: str | Path) -> tuple[Classifier, dict[str, Any]]:
    """A cached or shipped classifier and its payload, read by ganmc's one loader
    (``weights_only=True``) and checked (net, architecture, keys, shapes) before it loads; one
    line naming the file if not."""
    payload = load_weights(path, "classifier")
    net_name = payload.get("net", "small_cnn") if isinstance(payload, dict) else None
    keys = _ARCH.get(net_name) if isinstance(net_name, str) else None
    arch = payload.get("arch") if isinstance(payload, dict) else None
    if keys is None or not isinstance(arch, dict) or set(arch) != keys or \
            not all(type(v) is int and v > 0 for v in arch.values()):
        need = ", ".join(sorted(keys or _ARCH["small_cnn"]))
        raise GanmcError(f"classifier {path} is not a ganmc classifier file (needs 'arch' with positive "
                         f"{need} and 'state_dict'): remove it to train the classifier again")
    with torch.device("meta"):  # the expected shapes, nothing allocated
        expected = CLASSIFIER_NETS[net_name](**arch).state_dict()
    problem = state_mismatch(payload.get("state_dict"), expected)
    if problem:
        raise GanmcError(f"classifier {path}: its state_dict does not match its 'arch' ({problem})")
    net = CLASSIFIER_NETS[net_name](**arch)
    net.load_state_dict(payload["state_dict"])
    return net.eval(), payload


def shipped_classifier(labelled: ImageDataset, strict: bool = True) -> Path | None:
    """The classifier shipped for ``labelled``'s source (MNIST: the Stacked MNIST mode
    classifier, trained by ``make mnist-classifier``), or None where none is shipped. Images
    of another size than the classifier's: one line when ``strict``, else None."""
    name = SHIPPED.get(str(getattr(labelled, "source", "")))
    if name is None:
        return None
    path = SHIPPED_CLASSIFIERS / name
    if not path.is_file():
        raise GanmcError(f"the shipped {labelled.source} classifier {path} is missing: run `make mnist-classifier`")
    net, _ = load_classifier(path)
    size = getattr(net, "size", None)
    if size is not None and labelled.shape[1:] != (size, size):
        if not strict:
            return None
        raise GanmcError(f"the shipped {labelled.source} classifier reads {size}-px images but dataset "
                         f"{labelled.name} has {labelled.shape[1]}-px ones: set dataset.size={size}")
    return path


class ClassifierExtractor(FeatureExtractorBase):
    """torch-fidelity feature extractor around a cached :class:`SmallCNN`: uint8 3xHxW in,
    ``features`` (penultimate) and ``logits`` out. Grey classifiers read channel 0."""

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, features_list)
        if not feature_extractor_weights_path:
            raise GanmcError(f"feature extractor {CLASSIFIER} needs feature_extractor_weights_path")
        self.net, _ = load_classifier(feature_extractor_weights_path)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("features", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"fid": "features", "isc": "logits", "kid": "features", "prc": "features"}[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 16, 16, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = to_float(x)
        if self.net.in_channels == 1:
            x = x[:, :1]
        feats, logits = self.net.features(x)
        out = {"features": feats, "logits": logits}
        return tuple(out[name] for name in self.features_list)


def stacked_forward(net: Classifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A single-channel classifier applied to each channel of float images: the three channels'
    features side by side (n, 3 * feature_dim) and per-channel log-probabilities (n, 3, classes)."""
    n, c = x.shape[:2]
    feats, logits = net.features(x.reshape(n * c, 1, *x.shape[2:]))
    return feats.reshape(n, -1), torch.log_softmax(logits, dim=1).reshape(n, c, -1)


def joint_log_probs(logp: torch.Tensor) -> torch.Tensor:
    """Per-channel log-probabilities (n, 3, K) -> log-probabilities of the K^3 label triples,
    triple (a, b, c) at index a K^2 + b K + c (channels independent given the image)."""
    k = logp.shape[2]
    return (logp[:, 0, :, None, None] + logp[:, 1, None, :, None] + logp[:, 2, None, None, :]).reshape(-1, k ** 3)


class StackedClassifierExtractor(ClassifierExtractor):
    """The single-channel classifier on each channel of stacked images: ``features`` the three
    channels' penultimate features side by side, ``logits`` the log-probabilities of the label
    triples (the mode classes of stacked digits)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats, logp = stacked_forward(self.net, to_float(x))
        out = {"features": feats, "logits": joint_log_probs(logp)}
        return tuple(out[name] for name in self.features_list)


register_extractor(CLASSIFIER, ClassifierExtractor)
register_extractor(CLASSIFIER_STACKED, StackedClassifierExtractor)
