"""Shared table machinery: aggregate records over seeds, write Markdown, CSV and LaTeX.

Paper tables (``ganmc/tables/<name>.py``) choose the records, the grouping and the paper's
values; everything they write goes through :func:`write_table` (atomic, three formats).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganmc.io import write_atomic


@dataclass
class Cell:
    """Mean and sample std of one metric over the records of one group (e.g. seeds)."""

    mean: float
    std: float
    n: int

    def format(self, digits: int = 3) -> str:
        if self.n == 0 or math.isnan(self.mean):
            return "n/a"
        if self.n == 1:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def cell(values: Iterable[float | None]) -> Cell:
    """Mean ± sample std (ddof 1) of the finite values."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return Cell(math.nan, math.nan, 0)
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return Cell(mean, std, len(vals))


def group_records(records: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[Any, list[dict[str, Any]]]:
    """Records grouped by ``key(record)``, in first-seen order; records keyed ``None`` are dropped."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        k = key(record)
        if k is not None:
            groups.setdefault(k, []).append(record)
    return groups


def metric_cell(records: list[dict[str, Any]], metric: str) -> Cell:
    """The :class:`Cell` of ``record['metrics'][metric]`` (or ``stats``) over ``records``."""
    return cell(r.get("metrics", {}).get(metric, r.get("stats", {}).get(metric)) for r in records)


def mean_se(c: Cell) -> str:
    """Mean ± standard error (std / sqrt(n)) of paired differences."""
    if c.n == 0:
        return "–"
    return f"{c.mean:+.4f} ± {c.std / math.sqrt(c.n):.4f}" if c.n > 1 else f"{c.mean:+.4f}"


def paired_delta(group: list[dict[str, Any]], base: list[dict[str, Any]], metric: str,
                 steps: str | None = None) -> Cell:
    """Per-seed difference of ``metric`` (at chain snapshot ``steps`` when given) to the baseline."""
    ref = {r["run"]["seed"]: r["metrics"].get(metric) for r in base}
    diffs = []
    for r in group:
        ours = (r.get("target_metrics", {}).get(steps, {}) if steps else r["metrics"]).get(metric)
        if ours is not None and ref.get(r["run"]["seed"]) is not None:
            diffs.append(ours - ref[r["run"]["seed"]])
    return cell(diffs)


def _markdown(header: list[str], rows: list[list[str]], caption: str) -> str:
    lines = [f"{caption}\n" if caption else "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(line for line in lines if line != "") + "\n"


def _latex(header: list[str], rows: list[list[str]], caption: str) -> str:
    def esc(s: str) -> str:
        for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                     ("#", r"\#"), ("±", r"$\pm$"), ("−", "-")):
            s = s.replace(a, b)
        return s

    spec = "l" + "r" * (len(header) - 1)
    body = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
            " & ".join(esc(h) for h in header) + r" \\", r"\midrule"]
    body += [" & ".join(esc(c) for c in r) + r" \\" for r in rows]
    body += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{esc(caption)}}}", r"\end{table}"]
    return "\n".join(body) + "\n"


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_table(stem: str | Path, header: list[str], rows: list[list[str]], caption: str = "") -> list[Path]:
    """Write ``stem.md``, ``stem.csv`` and ``stem.tex`` atomically; return their paths."""
    stem = Path(stem)
    texts = {".md": _markdown(header, rows, caption), ".csv": _csv(header, rows),
             ".tex": _latex(header, rows, caption)}
    return [write_atomic(stem.with_suffix(ext), lambda tmp, t=text: tmp.write_text(t))
            for ext, text in texts.items()]
