"""Issue 24, a run deletes only what it created, recorded as it creates it: a refused or failed
run leaves a folder as it found it, and a run writes nothing through a link or outside its folder."""

from __future__ import annotations

import fcntl
import re
from pathlib import Path

from conftest import TINY

FAST = [*TINY, "metric.metrics=[modes]"]
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\]\[")


def error_line(err: str) -> str:
    """The one line on stderr that is not a log line (log lines may come before it)."""
    errors = [ln for ln in err.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
    assert len(errors) == 1, f"expected one error line on stderr, got:\n{err}"
    return errors[0]


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``: a file's bytes, a folder as None, a link as its target."""
    return {str(p.relative_to(folder)): (str(p.readlink()).encode() if p.is_symlink() else
                                         None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def test_a_failed_run_removes_only_what_it_created(run_cli, tmp_path):
    """A folder holding the user's own files (``*.log`` among them): a refused run, and a run that
    fails after it wrote its log, leave those files and the folder; a folder the user made stays."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "important.log").write_text("the user's\n")
    (out / "train.log").write_text("also the user's\n")
    before = contents(out)
    code, _, err = run_cli("sample", *FAST, "n_samples=0", f"hydra.run.dir={out}")
    assert code == 1 and "n_samples must be positive" in error_line(err)
    assert contents(out) == before
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00garbage")
    code, _, err = run_cli("sample", *FAST, f"gan.checkpoint={corrupt}", f"hydra.run.dir={out}")
    assert code == 1 and "corrupt" in error_line(err)
    assert contents(out) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("sample", *FAST, "n_samples=0", f"hydra.run.dir={empty}")[0] == 1
    assert empty.is_dir() and contents(empty) == {}
    made = tmp_path / "new" / "run"  # folders the run made go with it
    assert run_cli("sample", *FAST, "n_samples=0", f"hydra.run.dir={made}")[0] == 1
    assert not (tmp_path / "new").exists()


def test_a_refused_run_leaves_the_folder_byte_identical(run_cli, tmp_path):
    """A folder holding another config's record, or one another run is writing: the refused run
    rewrites none of ``.hydra/config.yaml``, ``overrides.yaml``, ``hydra.yaml`` or the log."""
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *FAST, "seed=0", f"hydra.run.dir={out}")
    assert code == 0, err
    assert {"config.yaml", "overrides.yaml", "hydra.yaml"} <= {p.name for p in (out / ".hydra").iterdir()}
    before = contents(out)
    code, _, err = run_cli("sample", *FAST, "seed=1", f"hydra.run.dir={out}")
    assert code == 1 and "holds the record of another config" in error_line(err)
    assert contents(out) == before
    with open(out / ".ganmc.lock", "ab") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        locked = contents(out)
        code, _, err = run_cli("sample", *FAST, "seed=1", f"hydra.run.dir={out}")
        assert code == 1 and "another ganmc run is writing into" in error_line(err)
        assert contents(out) == locked
    assert "seed: 0" in (out / ".hydra" / "config.yaml").read_text()


def test_overwrite_starts_a_fresh_log(run_cli, tmp_path):
    """``overwrite=true`` replaces the record, its ``.hydra/`` and its log: the log holds the new
    run only. A replacing run that fails puts the old log back."""
    out = tmp_path / "run"
    assert run_cli("sample", *FAST, "seed=0", f"hydra.run.dir={out}")[0] == 0
    code, _, err = run_cli("sample", *FAST, "seed=1", "overwrite=true", f"hydra.run.dir={out}")
    assert code == 0, err
    log = (out / "sample.log").read_text()
    assert log.count("sampling 300 with generator") == 1 and log.count("metrics:") == 1, log
    assert "seed: 1" in (out / ".hydra" / "config.yaml").read_text()
    assert "overwrite=true" in (out / ".hydra" / "overrides.yaml").read_text()
    assert sorted(p.name for p in out.iterdir()) == [".hydra", "record.json", "sample.log", "samples.npy"]
    replaced = contents(out)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00garbage")
    code, _, _ = run_cli("sample", *FAST, "seed=2", "overwrite=true", f"gan.checkpoint={corrupt}",
                         f"hydra.run.dir={out}")
    assert code == 1 and contents(out) == replaced


def test_an_empty_run_folder_is_refused(run_cli, tmp_path, monkeypatch):
    """``hydra.run.dir=`` (empty) would put the record and ``.hydra/`` in the working directory."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("sample", *FAST, "hydra.run.dir=")
    assert code == 1 and "hydra.run.dir is empty" in error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_log_file_linked_elsewhere_is_refused(run_cli, tmp_path):
    """A ``sample.log`` that is a symbolic link to a file outside the run folder: one line, and
    nothing is written through it (nor any record beside it)."""
    out, outside = tmp_path / "run", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("not the run's\n")
    (out / "sample.log").symlink_to(outside)
    code, _, err = run_cli("sample", *FAST, f"hydra.run.dir={out}")
    assert code == 1 and "sample.log is a symbolic link" in error_line(err)
    assert outside.read_text() == "not the run's\n"
    assert sorted(p.name for p in out.iterdir()) == ["sample.log"]


def test_an_unwritable_out_dir_is_named_in_the_hint(run_cli, tmp_path):
    """``ganmc table NAME out_dir=DIR`` where DIR cannot be made: the hint names ``out_dir``,
    the setting that moves the tables, not the run folder."""
    records = tmp_path / "records"
    assert run_cli("sample", *FAST, f"hydra.run.dir={records / 'a'}")[0] == 0
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, _, err = run_cli("table", "table1", f"records={records}", f"out_dir={blocker / 'tables'}")
    line = error_line(err)
    assert code == 1 and "out_dir=" in line and "hydra.run.dir" not in line, line
