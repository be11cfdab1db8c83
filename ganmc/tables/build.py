"""Shared table machinery: aggregate records over seeds, write Markdown, CSV and LaTeX.

Paper tables (``ganmc/tables/<name>.py``) choose the records, the grouping and the paper's
values; everything they write goes through :func:`write_table` (atomic, three formats).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganmc.errors import GanmcError
from ganmc.io import write_atomic
from ganmc.record_schema import OLD_TARGET_SET, TARGET_SET, sample_sizes

Records = list[tuple[Path, dict[str, Any]]]  # (path of record.json, record), as find_records gives


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


def group_records(records: Iterable[Any], key: Callable[[Any], Any], uniform: str | None = None) -> dict[Any, list[Any]]:
    """Records (or ``(path, record)`` pairs) grouped by ``key(record)``, in first-seen order; records
    keyed ``None`` are dropped. ``uniform`` (the table's name): each group is one row of seeds, so
    its records must share one sampler config (a stale record left by an older setting fails here)."""
    groups: dict[Any, list[Any]] = {}
    for record in records:
        k = key(record)
        if k is not None:
            groups.setdefault(k, []).append(record)
    if uniform is not None:
        for k, group in groups.items():
            recs = [r[1] if isinstance(r, tuple) else r for r in group]
            mixed = [f"sampler.{m}" for m in mixed_settings(recs)] + mixed_settings(recs, protocol)
            if mixed:
                raise GanmcError(f"{uniform}: the records of row {k} differ in {', '.join(mixed)} "
                                 f"({', '.join(sorted({r.get('_path', '?') for r in recs}))}): rerun the stale "
                                 "ones (or move them out of the records folder)")
    return groups


# What makes two runs comparable besides the sampler: the sample size, the data, the GAN (not
# where its checkpoint lies) and how the metrics are measured.
PROTOCOL = ("n_samples", "dataset", "gan", "metric.emd_n", "metric.emd_cost", "metric.real_set",
            "metric.hq_threshold", "metric.n_ref", "metric.isc_splits")
# EMD protocols (cost, real set) in the order tables show them, and their column labels.
EMD_PROTOCOLS = {("euclidean", "iid"): "W1", ("sqeuclidean", "iid"): "W2²",
                 ("sqeuclidean", "stratified"): "W2², stratified real", ("euclidean", "stratified"): "W1, stratified real"}


def protocol(record: dict[str, Any]) -> dict[str, Any] | None:
    """The record's protocol settings (:data:`PROTOCOL`); ``None`` for a record without a config."""
    config = record.get("config")
    if not isinstance(config, dict):
        return None
    out = {}
    for key in PROTOCOL:
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = {k: v for k, v in node.items() if k not in ("checkpoint", "root")}
        out[key] = node
    return out


def mixed_settings(group: list[dict[str, Any]],
                   part: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda r: r.get("config", {}).get("sampler"),
                   ) -> list[str]:
    """The settings of ``part`` of the records' configs (default: the sampler's) that differ between
    them (records without one are skipped)."""
    configs = [c for c in (part(r) for r in group) if isinstance(c, dict)]
    keys = set().union(*configs) if configs else set()
    return sorted(k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1)


def sample_records(records: Records, dataset: str) -> Records:
    """The sampling records of ``dataset``."""
    return [(p, r) for p, r in records if r.get("command") == "sample" and r["run"]["dataset"] == dataset]


def rank_in(order: Iterable[str]) -> Callable[[str], int]:
    """A name's position in ``order`` (names not in it come after all of them), to sort rows by."""
    rank = {name: i for i, name in enumerate(order)}
    return lambda name: rank.get(name, len(rank))


def sample_counts(records: Iterable[dict[str, Any]], grouped: bool = True) -> str:
    """The records' sample counts as a caption says them: '10,000' (grouped) or '10000'; '?' if unknown."""
    return ", ".join(f"{n:,}" if grouped else str(n) for n in sample_sizes(records)) or "?"


def metric_cell(records: list[dict[str, Any]], metric: str) -> Cell:
    """The :class:`Cell` of ``record['metrics'][metric]`` (or ``stats``) over ``records``."""
    return cell(r.get("metrics", {}).get(metric, r.get("stats", {}).get(metric)) for r in records)


def emd_view(group: list[dict[str, Any]], cost: str, real_set: str) -> list[dict[str, Any]]:
    """The records with ``emd`` and ``emd_floor`` (also in their target and snapshot metrics) read
    under the protocol (cost, real set): their main one, or the extra ``emd[cost/real_set]``;
    absent (``None``) where a record did not measure it."""
    view = []
    for r in group:
        metrics = r.get("metrics", {})
        main = (metrics.get("emd_cost", "euclidean"), metrics.get("emd_real_set", "iid")) == (cost, real_set)

        def pick(values: dict[str, Any], main: bool = main) -> dict[str, Any]:
            return {**values, **{name: values.get(name if main else f"{name}[{cost}/{real_set}]")
                                 for name in ("emd", "emd_floor")}}

        view.append({**r, "metrics": pick(metrics),
                     "target_metrics": {k: pick(v) for k, v in (r.get("target_metrics") or {}).items()}})
    return view


def emd_protocols(records: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """The EMD protocols (cost, real set) some record measured, in :data:`EMD_PROTOCOLS` order."""
    recs = list(records)
    return [p for p in EMD_PROTOCOLS if any(emd_view([r], *p)[0]["metrics"]["emd"] is not None for r in recs)]


def extra_set(group: Iterable[dict[str, Any]], name: str | None) -> list[dict[str, Any]]:
    """Each record's metrics of its extra sample set ``name`` (``target_metrics[name]``:
    :data:`TARGET_SET`, the exact target, read from its older key in older records, or a chain
    snapshot 'step_NNNN'), as records for :func:`metric_cell`; the records themselves when
    ``name`` is None."""
    def sets(r: dict[str, Any]) -> dict[str, Any]:
        found = r.get("target_metrics", {})
        return {TARGET_SET: found[OLD_TARGET_SET], **found} if OLD_TARGET_SET in found and r.get("target") else found

    return [{"metrics": sets(r).get(name, {})} if name else r for r in group]


def target_cell(group: list[dict[str, Any]], key: str) -> Cell:
    """The :class:`Cell` of the exact-target diagnostic ``record['target'][key]`` (SIR records)."""
    return cell((r.get("target") or {}).get(key) for r in group)


def target_reliability(group: list[dict[str, Any]]) -> str:
    """'k/n': for how many of the group's runs the SIR estimate of the target was reliable
    (weights' ESS ≥ n), and the smallest ESS; '–' when no run estimated a target."""
    targets = [r["target"] for r in group if r.get("target")]
    if not targets:
        return "–"
    ok = sum(bool(t["reliable"]) for t in targets)
    return f"{ok}/{len(targets)} (min ESS {min(t['ess'] for t in targets):,.0f})"


def sir_text(group: list[dict[str, Any]], metric: str, digits: int) -> str:
    """The exact target's ``metric`` (SIR estimate) over the group, marked † when the estimate was
    unreliable (weights' ESS below n) for any run; '–' when no run estimated it."""
    c = metric_cell(extra_set(group, TARGET_SET), metric)
    if c.n == 0:
        return "–"
    unreliable = any(not r["target"]["reliable"] for r in group if r.get("target"))
    return c.format(digits) + (" †" if unreliable else "")


def evals_cells(group: list[dict[str, Any]]) -> list[str]:
    """Mean G and D evaluations per sample over the group's runs."""
    evals = [r["timing"]["evals_per_sample"] for r in group]
    return [f"{np.mean([e['G'] for e in evals]):.1f}", f"{np.mean([e['D'] for e in evals]):.1f}"]


def real_samples(recs: Records) -> np.ndarray | None:
    """Real samples for a figure: drawn afresh from the first record's data set config, seed 0."""
    if not recs:
        return None
    import torch
    from hydra.utils import instantiate

    dataset = instantiate(recs[0][1]["config"]["dataset"])
    return dataset.sample(5000, torch.Generator().manual_seed(0)).numpy()


def mean_se(c: Cell, digits: int = 4, signed: bool = True) -> str:
    """Mean ± standard error (std / sqrt(n)): of paired differences (``signed``), or of a metric."""
    if c.n == 0:
        return "–"
    mean = f"{c.mean:{'+' if signed else ''}.{digits}f}"
    return f"{mean} ± {c.std / math.sqrt(c.n):.{digits}f}" if c.n > 1 else mean


def delta_text(c: Cell, digits: int = 3) -> str:
    """Mean ± SE of paired differences, starred when |mean| > 2 SE (resolved)."""
    if c.n < 2:
        return "–" if c.n == 0 else f"{c.mean:+.{digits}f}"
    se = c.std / math.sqrt(c.n)
    return f"{c.mean:+.{digits}f} ± {se:.{digits}f}" + (" *" if abs(c.mean) > 2 * se else "")


def paired_delta(group: list[dict[str, Any]], base: list[dict[str, Any]], metric: str,
                 steps: str | None = None) -> Cell:
    """Per-seed difference of ``metric`` (at chain snapshot ``steps`` when given) to the baseline;
    a pair whose runs differ in protocol (sample size, data, GAN, metric settings) is refused."""
    by_seed = {r["run"]["seed"]: r for r in base}
    ref = {seed: r["metrics"].get(metric) for seed, r in by_seed.items()}
    diffs = []
    for r in group:
        other = by_seed.get(r["run"]["seed"])
        mixed = mixed_settings([r, other], protocol) if other is not None else []
        if mixed:
            raise GanmcError(f"paired difference of {metric}: {r.get('_path', r['run'])} and its baseline "
                             f"{other.get('_path', other['run'])} differ in {', '.join(mixed)}: rerun one of them "
                             "with the other's settings")
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


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write one CSV file atomically (a table's per-run values); return its path."""
    return write_atomic(path, lambda tmp: tmp.write_text(_csv(header, rows)))


Table = tuple[list[str], list[list[str]], str]  # (header, rows, caption)


def write_table(stem: str | Path, header: list[str], rows: list[list[str]], caption: str = "",
                variants: Table | None = None) -> list[Path]:
    """Write ``stem.md``, ``stem.csv`` and ``stem.tex`` atomically; return their paths. ``variants``:
    a second table (a paper table's protocol variants and extra columns), written as
    ``stem_variants.*`` and shown below the first in ``stem.md``."""
    stem = Path(stem)
    md = _markdown(header, rows, caption) + ("\n" + _markdown(*variants) if variants else "")
    texts = {".md": md, ".csv": _csv(header, rows), ".tex": _latex(header, rows, caption)}
    written = [write_atomic(stem.with_suffix(ext), lambda tmp, t=text: tmp.write_text(t))
               for ext, text in texts.items()]
    return written + (write_table(stem.with_name(f"{stem.name}_variants"), *variants) if variants else [])
