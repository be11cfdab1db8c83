"""A sweep that lost a job does not end in success: after every batch (also after an error of
the launcher, or Ctrl-C while waiting for a cluster), the jobs without a ``record.json`` in their
run folder are named, and the sweep fails. Schedulers without accounting (SLURM without
``sacct``) cannot tell a cancelled job from one still running; the record can."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from omegaconf import DictConfig, open_dict

from ganmc.errors import GanmcError, SweepIncomplete


def job_folder(sweep_config: DictConfig, index: int) -> Path:
    """The run folder job ``index`` of a sweep writes into (``hydra.sweep.dir/subdir``), resolved
    as the launcher resolves it (``hydra.job.num`` set, the job's own config as Hydra's)."""
    with open_dict(sweep_config):
        sweep_config.hydra.job.num = index
        sweep_config.hydra.job.id = f"job_id_for_{index}"
    hydra_config = HydraConfig.instance()
    saved = hydra_config.cfg
    hydra_config.set_config(sweep_config)
    try:
        return Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)
    finally:
        hydra_config.cfg = saved


def describe(overrides: Sequence[str], common: set[str]) -> str:
    """A job by the overrides that tell it from the sweep's other jobs."""
    own = [o for o in overrides if o not in common]
    return " ".join(own) if own else "(no overrides)"


class GanmcSweeper(BasicSweeper):
    """Hydra's basic sweeper (the same jobs, batches and ``hydra.sweeper.params``), plus the
    check that every job of the sweep wrote its record."""

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.hydra_context is not None
        if not str(self.config.hydra.sweep.dir).strip():  # Hydra would write into the current folder
            raise GanmcError("hydra.sweep.dir is empty: give the sweep a folder of its own (hydra.sweep.dir=DIR)")
        # The same job list as BasicSweeper.sweep builds (it is rebuilt there; parsing is cheap).
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        batches = self.split_arguments(parser.parse_overrides([*self._parse_config(), *arguments]),
                                       self.max_batch_size)
        jobs = [list(job) for batch in batches for job in batch]
        common = set.intersection(*(set(j) for j in jobs)) if len(jobs) > 1 else set()
        try:
            returns = super().sweep(arguments)
        except KeyboardInterrupt:
            missing = self._without_record(jobs, common)
            if missing:
                print(f"ganmc: interrupted: {missing}", file=sys.stderr)
            raise
        except Exception as exc:
            missing = self._without_record(jobs, common)
            if missing:
                said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise SweepIncomplete(f"{missing} (the launcher said: {said})") from exc
            raise
        missing = self._without_record(jobs, common, returns)
        if missing:
            raise SweepIncomplete(missing)
        return returns

    def _without_record(self, jobs: list[list[str]], common: set[str],
                        returns: list[Sequence[JobReturn]] | None = None) -> str:
        """One line naming the jobs whose run folder holds no record.json ('' when none)."""
        assert self.config is not None and self.hydra_context is not None
        errors: dict[int, str] = {}
        folders: dict[int, Path] = {}  # a returned job's folder, as its own config resolved it
        for i, ret in enumerate(r for batch in returns or [] for r in batch):
            value = getattr(ret, "_return_value", None)
            if isinstance(value, str) and value:
                errors[i] = value  # a ganmc job returns its one-line error instead of raising
            output_dir = getattr(getattr(getattr(ret, "hydra_cfg", None), "hydra", None), "runtime", None)
            if output_dir is not None and output_dir.get("output_dir"):
                folders[i] = Path(str(output_dir.output_dir))
        lost = []
        for index, overrides in enumerate(jobs):
            folder = folders.get(index)
            if folder is None:  # no return (the launcher failed, Ctrl-C): resolve it as Hydra would
                config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                folder = job_folder(config, index)
            if not (folder / "record.json").is_file():
                why = f": {errors[index]}" if index in errors else ""
                lost.append(f"#{index} {describe(overrides, common)} ({folder}){why}")
        if not lost:
            return ""
        fix = "fix what is named, then " if errors else ""
        return (f"{len(lost)} of {len(jobs)} sweep jobs ended without a record: {'; '.join(lost)}; "
                f"{fix}run the same command again to finish them (finished jobs are skipped)")
