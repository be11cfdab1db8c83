"""Find and read run records (``record.json``) under a folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ganmc.errors import GanmcError

log = logging.getLogger(__name__)


def find_records(root: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable ``record.json`` below ``root``, sorted by path; unreadable ones are skipped."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GanmcError(f"records folder {root} does not exist: pass records=DIR (a Hydra output folder)")
    found = []
    for path in sorted(root.rglob("record.json")):
        try:
            found.append((path, json.loads(path.read_text())))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping unreadable record %s (%s)", path, exc)
    return found


def summarise(records: list[tuple[Path, dict[str, Any]]], root: Path) -> str:
    """A Markdown table: one row per sampling record with its run keys and metrics."""
    rows = [(p, r) for p, r in records if r.get("command") == "sample"]
    if not rows:
        return f"no sampling records under {root}"
    keys: list[str] = []
    for _, r in rows:
        keys += [k for k in r.get("metrics", {}) if k not in keys]
    head = ["record", "sampler", "dataset", "gan", "seed"] + keys
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for path, r in rows:
        run = r.get("run", {})
        cells = [str(path.parent.relative_to(root)), *(str(run.get(k, "")) for k in ("sampler", "dataset", "gan", "seed"))]
        for k in keys:
            v = r.get("metrics", {}).get(k)
            cells.append(f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
