"""A run's folder: what the run creates in it, recorded as it creates it, and undone on failure.

Hydra makes a job's folder before the job starts; :class:`NoteFolders` (a Hydra callback) notes
beforehand which folders existed. Hydra itself writes nothing else there (``hydra.output_subdir``
is null; the log file's handler, :class:`RunLog`, keeps records in memory): a run writes into its
folder only once it owns it (:meth:`RunFolder.claim`), after the checks that may refuse it, so a
refused run leaves the folder as it found it. A failed run removes exactly what it created (its
log file, the folders made for it) and puts back what it replaced (an earlier run's log), never
anything chosen by a name pattern. Its ``.hydra/`` files move in with its record (:meth:`RunFolder.staged`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from ganmc.errors import GanmcError, WriteError
from ganmc.io import file_lock, staged_outputs

RUN_LOCK = ".ganmc.lock"  # held in a run folder while a run writes into it (removed after)
HYDRA_DIR = ".hydra"  # the config of the record beside it: config.yaml, hydra.yaml, overrides.yaml
HINT = "choose another run folder (hydra.run.dir=DIR)"

# Folders noted before Hydra made the jobs' folders: whether each existed, and the names a noted
# (sweep) folder held. Filled by :class:`NoteFolders` in the process that runs the jobs.
_EXISTED: dict[str, bool] = {}
_HELD: dict[str, frozenset[str]] = {}


class NoteFolders(Callback):
    """Hydra callback: before Hydra makes the run (or sweep) folder, note which of it and its
    parents exist and, for a sweep folder, the names it holds; a launcher's worker gets the notes
    with the callback and publishes them when its job starts."""

    def __init__(self) -> None:  # one per invocation: the notes of an earlier one (in-process) go
        _EXISTED.clear()
        _HELD.clear()
        self.existed: dict[str, bool] = {}
        self.held: dict[str, frozenset[str]] = {}

    def _note(self, folder: Any, list_names: bool) -> None:
        path = Path(os.path.abspath(str(folder)))
        for p in (path, *path.parents):
            self.existed[str(p)] = p.is_dir()
            if self.existed[str(p)]:
                break
        if list_names and path.is_dir():
            self.held[str(path)] = frozenset(os.listdir(path))
        self.on_job_start()

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._note(config.hydra.run.dir, list_names=False)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._note(config.hydra.sweep.dir, list_names=True)

    def on_job_start(self, *args: Any, **kwargs: Any) -> None:
        _EXISTED.update(self.existed)
        _HELD.update(self.held)


def _existed(path: Path) -> bool:
    """Whether ``path`` existed before Hydra made the job's folder; a folder nobody noted is taken
    to have existed (a run never removes a folder it cannot tell it made)."""
    if str(path) in _EXISTED:
        return _EXISTED[str(path)]
    parent = str(path.parent)
    if parent in _HELD:
        return path.name in _HELD[parent]
    return _EXISTED.get(parent, True)


def made_for_job(path: Path) -> list[Path]:
    """The folders Hydra made for the job in ``path``: it and its new parents, outermost first."""
    made = []
    for p in (path, *path.parents):
        if _existed(p):
            break
        made.append(p)
    return made[::-1]


class RunLog(logging.Handler):
    """The run's log file (``filename``): records wait in memory until the run owns its folder
    (:meth:`RunFolder.claim` hands over the file), then all go to the file as they come."""

    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = Path(os.path.abspath(filename))
        self.pending: list[logging.LogRecord] = []
        self.stream: TextIO | None = None
        self.done = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.done:
            return
        if self.stream is None:
            self.pending.append(record)
            return
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise
            self.handleError(record)

    def start(self, stream: TextIO) -> None:
        """Write the records kept so far to ``stream``, and every later one."""
        self.stream = stream
        pending, self.pending = self.pending, []
        for record in pending:
            self.emit(record)

    def close(self) -> None:
        self.done = True
        self.pending = []
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        super().close()


def _run_logs() -> list[RunLog]:
    return [h for h in logging.getLogger().handlers if isinstance(h, RunLog)]


class RunFolder:
    """A run's folder and what the run created or replaced in it (``with RunFolder(...)``: held
    under the folder's lock; on an error, what the run did to the folder is undone)."""

    def __init__(self, path: Path, made: Sequence[Path] = (), config: dict[str, str] | None = None) -> None:
        self.path = Path(os.path.abspath(path))
        self.made = list(made)  # folders made for the run, outermost first
        self.trees: list[Path] = []  # output folders the run made (removed whole on failure)
        self.config = config or {}  # the files of .hydra/, with the record
        self.logs: list[tuple[Path, int | Path | None]] = []  # the run's log files, and how to undo each
        self._stack = ExitStack()
        self.refusal: str | None = None  # why the run may not use the folder at all

    @classmethod
    def of_job(cls, cfg: DictConfig) -> RunFolder:
        """The folder of the Hydra job running now."""
        hydra = HydraConfig.instance().cfg
        assert hydra is not None
        key = "hydra.sweep.dir" if hydra.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
        path = Path(hydra.hydra.runtime.output_dir)
        folder = cls(path, made_for_job(path), {"config.yaml": OmegaConf.to_yaml(cfg),
                                                 "hydra.yaml": OmegaConf.to_yaml(hydra),
                                                 "overrides.yaml": OmegaConf.to_yaml(hydra.hydra.overrides.task)})
        if not str(OmegaConf.select(hydra, key)).strip():  # Hydra took the working directory
            folder.refusal = f"{key} is empty: name the folder the run writes into ({key}=DIR)"
        return folder

    def __enter__(self) -> RunFolder:
        try:
            if self.refusal:
                raise GanmcError(self.refusal)
            missing = [p for p in (self.path, *self.path.parents) if not p.is_dir()][::-1]
            for p in missing:  # outside Hydra, or the folder vanished: make it, noting it
                p.mkdir()
                self.made.append(p)
            try:
                self._stack.enter_context(file_lock(self.path / RUN_LOCK, wait=False))
            except BlockingIOError:
                raise GanmcError(f"another ganmc run is writing into {self.path}: wait for it to finish "
                                 f"or {HINT}") from None
        except BaseException:
            self._close(failed=True)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self._close(failed=kind is not None)

    def _close(self, failed: bool) -> None:
        """Let go of the folder; after a failure, undo what the run did to it."""
        self._stack.close()  # the lock (and its file) first
        for handler in _run_logs():
            handler.close()  # also one the run never wrote to: its records are dropped
        for path, undo in self.logs:
            if not failed:
                if isinstance(undo, Path):
                    undo.unlink(missing_ok=True)  # the replaced run's log
            elif isinstance(undo, int):
                os.truncate(path, undo)  # what the run appended
            else:
                path.unlink(missing_ok=True)
                if undo is not None:
                    os.replace(undo, path)
        if failed:
            for tree in reversed(self.trees):
                shutil.rmtree(tree, ignore_errors=True)
            for folder in reversed(self.made):
                try:
                    folder.rmdir()  # only when empty: all the run put there is gone
                except OSError:
                    break

    def holds_record(self) -> bool:
        """Whether the folder holds a run's record (a run into it replaces it)."""
        return (self.path / "record.json").is_file()

    def claim(self, fresh_log: bool) -> None:
        """The run owns the folder from now on: open its log file (appending to one there, or
        with ``fresh_log`` putting that aside until the run succeeds) and write the records kept."""
        hydra_dir = self.path / HYDRA_DIR
        if hydra_dir.is_symlink() or (hydra_dir.exists() and not hydra_dir.is_dir()):
            raise GanmcError(f"{hydra_dir} is not a folder of its own (a link or a file): {HINT}")
        for handler in _run_logs():
            stream, undo = self._open_log(handler.filename, fresh_log)
            self.logs.append((handler.filename, undo))
            handler.start(stream)

    def _open_log(self, path: Path, fresh: bool) -> tuple[TextIO, int | Path | None]:
        """Open ``path`` to append, never through a link, and how to undo what the run does to
        it: remove it (None: the run made it), cut it back to its length, or put back the file
        set aside."""
        if path.is_symlink():
            raise GanmcError(f"{path} is a symbolic link: a run writes nothing through a link; {HINT}")
        exists = path.exists()
        if exists and not path.is_file():
            raise WriteError(f"cannot write {path} (not a regular file): {HINT}")
        undo: int | Path | None = None
        if exists and fresh:
            fd, aside = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".previous", dir=path.parent)
            os.close(fd)
            undo = Path(aside)  # a name no one else uses: the run's own file
            os.replace(path, undo)
            exists = False
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | (0 if exists else os.O_CREAT | os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            if isinstance(undo, Path):
                os.replace(undo, path)
            raise WriteError(f"cannot write {path} ({exc.strerror}): {HINT}") from None
        if exists:
            undo = os.fstat(fd).st_size
        return os.fdopen(fd, "a", encoding="utf-8"), undo

    def output_dir(self, name: str) -> Path:
        """``<folder>/name``, for a step that writes files there as it goes; made by this run
        (not there yet), it is removed on failure with all in it."""
        path = self.path / name
        if not os.path.lexists(path):
            self.trees.append(path)
        return path

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """A staging folder whose files (with the run's ``.hydra/`` files) move into the folder
        together when the block completes (:func:`ganmc.io.staged_outputs`)."""
        with staged_outputs(self.path) as stage:
            for name, text in self.config.items():
                (stage / HYDRA_DIR).mkdir(exist_ok=True)
                (stage / HYDRA_DIR / name).write_text(text)
            yield stage

    def save_config(self) -> None:
        """Move the run's ``.hydra/`` files in (a run that wrote its record itself)."""
        with self.staged():
            pass
