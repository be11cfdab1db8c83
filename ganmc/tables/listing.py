"""``ganmc table records=DIR`` without a report: one line per sampling record, with the settings
that differ between the records (a sweep's parameters) and the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganmc.tables.build import Records
from ganmc.tables.records import recorded_overrides, sampling_records
from ganmc.tables.sweep import row_keys, settings


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))  # counts (modes, n) as integers
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summarise(records: Records, root: Path) -> str:
    """A Markdown table: one row per sampling record with its run keys, the config values that
    differ between the records (a sweep's parameters) and its metrics."""
    rows = sampling_records(records, root)
    shown = {"dataset.name", "gan.name", "seed", "run.sampler"}
    swept = [k for k in row_keys(rows) if k not in shown and not k.endswith(("._target_", "._partial_"))]
    keys: list[str] = []
    for _, r in rows:
        keys += [k for k in r.get("metrics", {}) if k not in keys]
    head = ["record", "sampler", "dataset", "gan", "seed", *swept, *keys]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for path, r in rows:
        run, config = r.get("run", {}), settings(r, recorded_overrides(path))
        cells = [str(path.parent.relative_to(root)), *(_format(run.get(k, "")) for k in ("sampler", "dataset", "gan", "seed"))]
        cells += [_format(config.get(k)) for k in swept]
        cells += [_format(r.get("metrics", {}).get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
