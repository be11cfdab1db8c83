"""The sweeper's config node, ``hydra/sweeper=ganmc`` (no ``from __future__ import annotations``
here: Hydra's plugin scan runs this module outside ``sys.modules``, where a dataclass cannot
resolve string annotations)."""

from dataclasses import dataclass
from typing import Dict, Optional  # noqa: UP035 (see below)

from hydra.core.config_store import ConfigStore


@dataclass
class GanmcSweeperConf:
    _target_: str = "hydra_plugins.ganmc_sweeper.ganmc_sweeper.GanmcSweeper"
    max_batch_size: Optional[int] = None  # noqa: UP045 (OmegaConf reads typing.Optional)
    params: Optional[Dict[str, str]] = None  # noqa: UP006, UP045


ConfigStore.instance().store(group="hydra/sweeper", name="ganmc", node=GanmcSweeperConf, provider="ganmc")
