"""Checkpoint files: one file per trained GAN, hash-keyed cache, atomic writes, safe loads.

A checkpoint holds the G and D state dicts, the config that built them (JSON), the training
step, a fingerprint of the training data and the training record. It is read by ganmc's one
loader (:func:`ganmc.weights.load_weights`: ``weights_only=True``), so a file can never run code,
and its nets' keys and shapes are checked before they load.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganmc.common import MISSING, plain
from ganmc.errors import CheckpointError
from ganmc.io import sha256_json, write_atomic
from ganmc.models.gan import GAN, build_gan
from ganmc.models.schemas import GanConfig
from ganmc.weights import load_weights, state_mismatch

FORMAT = "ganmc.checkpoint/1"
# Fields of the gan config that do not change the trained weights.
_KEY_EXCLUDE = {"name", "checkpoint", "checkpoint_format", "d_output", "factory", "num_classes"}
_TRAIN_KEY_EXCLUDE = {"snapshots", "grid_every"}
# The gan config keys that set the nets' architecture: compared with a loaded checkpoint's.
_ARCH_KEYS = ("generator", "discriminator", "latent_dim", "prior", "loss")


@dataclass(frozen=True)
class CheckpointSpec:
    """What names and keys a run's trained GAN, resolved from the run config by the run
    (:func:`ganmc.settings.checkpoint_spec`): the ``gan`` config, the data set's resolved config
    (plain values, as the key hashes it), the seed, the cache folder and the folders of shipped
    checkpoints (``checkpoint_dirs``, as given)."""

    gan: GanConfig
    dataset: dict[str, Any]
    seed: int
    cache_dir: Path
    checkpoint_dirs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``<dataset>-<gan>``: how checkpoint file names start."""
        return f"{self.dataset['name']}-{self.gan.name}"


def training_identity(spec: CheckpointSpec) -> dict[str, Any]:
    """What determines a trained GAN's weights: dataset, architecture, schedule, seed."""
    gan = {k: v for k, v in plain(spec.gan).items() if k not in _KEY_EXCLUDE}
    gan["train"] = {k: v for k, v in gan["train"].items() if k not in _TRAIN_KEY_EXCLUDE}
    for part in ("generator", "discriminator"):
        net = gan.get(part)
        if isinstance(net, dict):
            later = _later_defaults(net)
            gan[part] = {k: v for k, v in net.items() if k not in later or v != later[k]}
    return {"dataset": plain(spec.dataset), "gan": gan, "seed": int(spec.seed)}


def _later_defaults(net: dict[str, Any]) -> dict[str, Any]:
    """Net keys added after checkpoints were shipped, with their defaults: left out of the
    identity at those values, so earlier caches and shipped files keep their keys (MLP ``norm:
    none`` and leaky-ReLU ``slope: 0.01``; the DCGAN D's ``slope: 0.2``)."""
    if "base_width" in net:
        return {"slope": 0.2}
    return {"norm": "none", **({"slope": 0.01} if "depth" in net else {})}


def cache_path(spec: CheckpointSpec, iterations: int | None = None) -> Path:
    """Cache file of the GAN ``spec`` describes (or of its snapshot after ``iterations``)."""
    identity = training_identity(spec)
    if iterations is not None:
        identity["gan"]["train"]["iterations"] = int(iterations)
    key = sha256_json(identity)[:16]
    name = f"{spec.name}-it{identity['gan']['train']['iterations']}-s{spec.seed}-{key}.pt"
    return spec.cache_dir / "checkpoints" / name


def resume_path(spec: CheckpointSpec) -> Path:
    """Where training of ``spec``'s GAN keeps its resume state: keyed by everything that sets the
    weights except the length, so a longer run of the same GAN continues from a shorter one."""
    identity = training_identity(spec)
    del identity["gan"]["train"]["iterations"]
    key = sha256_json(identity)[:16]
    return spec.cache_dir / "resume" / f"{spec.name}-s{spec.seed}-{key}.pt"


def save_checkpoint(
    path: str | Path,
    gan: GAN,
    spec: CheckpointSpec,
    step: int,
    data_fingerprint: str,
    record: dict[str, Any],
    parent: str | None = None,
) -> Path:
    """Write the checkpoint atomically (temporary file, then rename), keyed by ``spec``'s identity."""
    identity = training_identity(spec)
    identity["gan"]["train"]["iterations"] = int(step)
    payload = {
        "format": FORMAT,
        "generator": {k: v.detach().cpu() for k, v in gan.generator.state_dict().items()},
        "discriminator": {k: v.detach().cpu() for k, v in gan.discriminator.state_dict().items()},
        "config": json.dumps(identity, sort_keys=True),
        "step": int(step),
        "data_fingerprint": data_fingerprint,
        "record": json.dumps(record, default=str),
        "parent": parent or "",
    }
    return write_atomic(path, lambda tmp: torch.save(payload, tmp))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint file's structure; one clear error when it is not one."""
    payload = load_weights(path, "checkpoint", CheckpointError)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a ganmc checkpoint (format {FORMAT!r} expected)")
    for key in ("generator", "discriminator", "config", "step"):
        if key not in payload:
            raise CheckpointError(f"checkpoint {path} lacks '{key}'")
    return payload


def load_gan(path: str | Path, gan_cfg: GanConfig, data_dim: int | Sequence[int],
             seed: int) -> tuple[GAN, dict[str, Any]]:
    """Build the configured architecture (initialised from ``seed``) and load the checkpoint's weights into it."""
    payload = read_checkpoint(path)
    problem = architecture_mismatch(payload, gan_cfg)
    if problem:
        raise CheckpointError(f"checkpoint {path} does not match the configured architecture: {problem}")
    gan = build_gan(gan_cfg, data_dim, int(seed))
    for part in ("generator", "discriminator"):
        load_net(getattr(gan, part), payload[part], path, part, f" gan={gan_cfg.name}")
    return gan, payload


def load_net(net: torch.nn.Module, state: Any, path: str | Path, part: str, arch: str = "") -> None:
    """Load a checkpoint's ``part`` (its ``state``) into ``net`` once its keys and shapes fit;
    one line naming the file when they do not (``arch``: the configured architecture, said)."""
    problem = state_mismatch(state, net.state_dict())
    if problem:
        raise CheckpointError(f"checkpoint {path}: its {part} does not match the configured architecture{arch} "
                              f"({problem})")
    net.load_state_dict(state, strict=True)


def _arch_values(gan_cfg: GanConfig) -> dict[str, Any]:
    """The run's architecture keys, flat (``generator.slope``), ``_target_`` first per net."""
    gan = plain(gan_cfg)
    flat: dict[str, Any] = {}
    for key in _ARCH_KEYS:
        value = gan.get(key)
        if isinstance(value, dict):
            for sub in sorted(value, key=lambda k: (k != "_target_", k)):
                flat[f"{key}.{sub}"] = value[sub]
        else:
            flat[key] = value
    return flat


def _schema_default(gan_cfg: GanConfig, key: str) -> Any:
    """The schema default of the run's net key ``part.name`` (None when it has none)."""
    part, _, name = key.partition(".")
    net = getattr(gan_cfg, part) if name else None
    if not dataclasses.is_dataclass(net):
        return None
    for f in dataclasses.fields(net):
        if f.name == name and f.default is not dataclasses.MISSING:
            return None if f.default == MISSING else getattr(f.default, "value", f.default)
    return None


def architecture_mismatch(payload: dict[str, Any], gan_cfg: GanConfig) -> str | None:
    """How the architecture the checkpoint was trained with differs from ``gan_cfg``'s, in one
    phrase naming the first differing key and both values; None when they agree (or when the
    file stores no config). A key an older checkpoint lacks counts as its schema default."""
    try:
        stored = json.loads(payload.get("config") or "{}").get("gan")
    except (TypeError, ValueError, AttributeError):
        stored = None
    if not isinstance(stored, dict):
        return None
    run = _arch_values(gan_cfg)
    keys = list(run)
    for key in _ARCH_KEYS:
        value = stored.get(key)
        if isinstance(value, dict):
            keys += [f"{key}.{sub}" for sub in sorted(value) if f"{key}.{sub}" not in run]
    for key in keys:
        part, _, name = key.partition(".")
        node = stored.get(part)
        if name:
            if not isinstance(node, dict):
                continue
            then = node[name] if name in node else _schema_default(gan_cfg, key)
            if name not in node and then is None:
                continue  # not stored and no schema default: nothing to compare
        elif part in stored:
            then = node
        else:
            continue
        now = run.get(key)
        if then != now:
            return (f"it was trained with gan.{key}={then}, this run has "
                    f"{'no gan.' + key if key not in run else now}: set gan.{key}={then}")
    return None
