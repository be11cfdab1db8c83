"""Run records: ``record.json`` with metrics, resolved config, provenance and timing."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from ganmc.common import NOT_IDENTITY

_PACKAGES = ["ganmc", "torch", "torchvision", "numpy", "hydra-core", "omegaconf", "pot",
             "torch-fidelity", "scikit-learn"]


def git_commit() -> dict[str, Any] | None:
    """Commit of the ganmc source tree (and whether it has uncommitted changes), if in git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty.strip())}


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a result depends on."""
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_info(device: torch.device) -> dict[str, Any]:
    """The device a run used, with the GPU's name or the CPU thread count."""
    info: dict[str, Any] = {"device": str(device), "platform": platform.platform(),
                            "python": platform.python_version()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        info["cpu_threads"] = torch.get_num_threads()
    return info


def provenance(device: torch.device, checkpoint: str | None, checkpoint_sha256: str | None) -> dict[str, Any]:
    """Everything needed to tell where a number came from."""
    return {
        "git": git_commit(),
        "checkpoint": checkpoint,
        "checkpoint_sha256": checkpoint_sha256,
        "packages": package_versions(),
        **device_info(device),
    }


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as a record stores it (enums as their values)."""
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert isinstance(config, dict)
    return config  # type: ignore[return-value]


def same_run_record(record_path: Path, cfg: DictConfig) -> dict[str, Any] | None:
    """The record at ``record_path`` when it holds a finished run of the same resolved config, else None."""
    try:
        record = json.loads(record_path.read_text())
        old = record["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    new = resolved_config(cfg)
    same = {k: v for k, v in old.items() if k not in NOT_IDENTITY} == \
        {k: v for k, v in new.items() if k not in NOT_IDENTITY}
    return record if same else None


def sampler_choice(sampler: Any) -> str:
    """The sampler's config name (``+sampler=NAME``; presets differ from the class name)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        choice = HydraConfig.get().runtime.choices.get("sampler")
    except ValueError:  # not under Hydra
        choice = None
    return str(choice) if choice else sampler.name
