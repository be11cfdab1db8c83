"""Find and read run records (``record.json``) under a folder; list them as a table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ganmc.errors import GanmcError
from ganmc.record_schema import SAMPLE_REQUIRED, SHAPE
from ganmc.tables.build import Records

_SCALAR = (int, float, str, bool, type(None))


def check_record(path: Path, record: Any) -> None:
    """Refuse a record of the wrong structure (valid JSON, but not what ganmc writes), naming the file."""
    def bad(what: str) -> GanmcError:
        return GanmcError(f"record {path} is not a ganmc record ({what}): move it out of the records folder")

    if not isinstance(record, dict):
        raise bad(f"a JSON {type(record).__name__}, not an object")
    for key, kind in SHAPE.items():
        if key in record and not isinstance(record[key], kind):
            raise bad(f"'{key}' is a {type(record[key]).__name__}")
    if record.get("command") == "sample":
        for key in SAMPLE_REQUIRED:
            if key not in record:
                raise bad(f"a sampling record without '{key}'")
        odd = [k for k, v in record["metrics"].items() if not isinstance(v, _SCALAR)]
        if odd:
            raise bad(f"metric '{odd[0]}' is not a number")
        for name, metrics in record.get("target_metrics", {}).items():
            if not isinstance(metrics, dict):
                raise bad(f"target_metrics '{name}' is not an object")


def find_records(root: str | Path) -> Records:
    """Every ``record.json`` below ``root``, sorted by path; an unreadable or truncated one, or one of
    the wrong structure, is refused (a table must not silently miss a run), and hidden folders (a
    run's staged outputs) are passed over."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GanmcError(f"records folder {root} does not exist: pass records=DIR (a Hydra output folder)")
    found = []
    for path in sorted(root.rglob("record.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts[:-1]):
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GanmcError(f"record {path} cannot be read ({exc}): rerun its job (delete the file first) "
                             "or move it out of the records folder") from None
        check_record(path, record)
        record["_path"] = str(path)  # for errors that must name the file (never written back)
        found.append((path, record))
    return found


def recorded_overrides(path: Path) -> dict[str, str] | None:
    """The command-line overrides of the job that wrote the record at ``path`` (Hydra's
    ``.hydra/overrides.yaml`` beside it) as ``{dotted key: value}`` ('+sampler=ddls' ->
    ``{"sampler": "ddls"}``, a deletion as '~'); None for a record without one (older records, copies)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    file = Path(path).parent / ".hydra" / "overrides.yaml"
    if not file.is_file():
        return None
    try:
        lines = yaml.safe_load(file.read_text())
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ValueError("not a list of KEY=VALUE lines")
        parsed = OverridesParser.create().parse_overrides(lines)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, OverrideParseException) as exc:
        reason = " ".join(str(exc).split())
        raise GanmcError(f"overrides {file} cannot be read ({reason}): restore it from the run or delete "
                         "it (the record's config is then compared instead)") from None
    return {o.key_or_group.replace("/", "."): "~" if o.is_delete() else o.get_value_element_as_str()
            for o in parsed}


def sampling_records(records: Records, root: Path) -> Records:
    """The records of ``ganmc sample`` runs; none is an error (a table of nothing would overwrite
    the previous one with empty cells)."""
    rows = [(p, r) for p, r in records if r.get("command") == "sample"]
    if not rows:
        found = f" ({len(records)} of other commands)" if records else ""
        raise GanmcError(f"no sampling records under {root}{found}: pass records=DIR, a folder of ganmc sample runs")
    return rows


@dataclass(frozen=True)
class RunTime:
    """What a table's runs cost, from their records: minutes summed over the runs, minutes from the
    first start to the last finish (None unless every record carries both), threads per run."""

    summed: float
    runs: int
    elapsed: float | None
    threads: str  # '1', '1/2' (several), '' (not recorded)


def run_time(records: Iterable[dict[str, Any]]) -> RunTime:
    """The runs' :class:`RunTime` (runs may overlap, so elapsed may be shorter than summed)."""
    recs = list(records)
    timings = [r.get("timing", {}) for r in recs]
    elapsed = None
    if timings and all("started_at" in t and "finished_at" in t for t in timings):
        elapsed = (max(t["finished_at"] for t in timings) - min(t["started_at"] for t in timings)) / 60
    threads = sorted({r.get("provenance", {}).get("cpu_threads") for r in recs} - {None})
    return RunTime(sum(t.get("wall_seconds", 0.0) for t in timings) / 60, len(recs), elapsed,
                   "/".join(map(str, threads)))
