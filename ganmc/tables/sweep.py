"""Summaries of a sweep folder: metrics against the swept parameters, as a table and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganmc.common import NOT_IDENTITY
from ganmc.errors import GanmcError
from ganmc.record_schema import TARGET_SET
from ganmc.tables.build import Records, extra_set, group_records, metric_cell, write_table
from ganmc.tables.figures import curves

_IGNORED = {"seed", *NOT_IDENTITY}  # a sweep's seeds are its repeats, not a swept setting


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"dotted.key": value}`` (lists as tuples)."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: tuple(tree) if isinstance(tree, list) else tree}


def settings(record: dict[str, Any]) -> dict[str, Any]:
    """The record's config as dotted keys, plus ``run.sampler``: the sampler preset's name."""
    return {**flat(record.get("config", {})), "run.sampler": record.get("run", {}).get("sampler")}


def swept_keys(records: list[dict[str, Any]]) -> list[str]:
    """Config keys (dotted) whose value differs between records, seeds and paths excluded. A
    sweep over sampler presets shows as ``run.sampler`` (the presets' names), not as their class
    paths or the fields only some of them have."""
    flats = [settings(r) for r in records]
    keys = sorted(set().union(*flats))
    swept = [k for k in keys if k.split(".")[0] not in _IGNORED and len({repr(f.get(k)) for f in flats}) > 1]
    # a swept group (dataset=a,b) shows as its name only, not as every field that differs
    named = {k.rsplit(".", 1)[0] for k in swept if k.endswith(".name")}
    swept = [k for k in swept if k.endswith(".name") or k.rsplit(".", 1)[0] not in named]
    if "run.sampler" in swept:
        swept = ["run.sampler", *(k for k in swept if k != "run.sampler" and not (
            k.startswith("sampler") and (k.rsplit(".", 1)[-1].startswith("_") or any(k not in f for f in flats))))]
    else:
        swept = [k for k in swept if k != "run.sampler"]
    return swept


def _order(value: str) -> tuple[int, float, str]:
    """Sort key of a repr'd config value: numbers by value, then everything else as text."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def count_or_cell(group: list[dict[str, Any]], metric: str) -> str:
    """A metric's cell; a count (every value an integer, e.g. modes recovered) as an integer when
    the seeds agree, else mean ± std to one decimal."""
    values = [v for r in group if (v := r.get("metrics", {}).get(metric, r.get("stats", {}).get(metric))) is not None]
    c = metric_cell(group, metric)
    if c.n == 0 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return c.format(3)
    return f"{c.mean:.0f}" if c.std == 0 else f"{c.mean:.1f} ± {c.std:.1f}"


def sweep(records: Records, out_dir: Path, name: str = "sweep",
          metrics: tuple[str, ...] = ("hq_percent", "emd")) -> list[Path]:
    """Table of every metric per swept setting (mean ± std over seeds) and metric-vs-parameter plots."""
    recs = [r for _, r in records if r.get("command") == "sample"]
    if not recs:
        raise GanmcError("no sampling records to summarise: check records=DIR")
    keys = swept_keys(recs)
    present = [m for m in metrics if any(m in r.get("metrics", {}) for r in recs)]
    groups = group_records(recs, lambda r: tuple(repr(settings(r).get(k)) for k in keys))
    targets = [m for m in present if any(m in t["metrics"] for t in extra_set(recs, TARGET_SET))]
    header = [*keys, *present, *(f"{m} of exact target (SIR)" for m in targets), "seeds"]
    rows = []
    for setting, group in sorted(groups.items(), key=lambda kv: [_order(v) for v in kv[0]]):
        sir = extra_set(group, TARGET_SET)
        rows.append([*setting, *(count_or_cell(group, m) for m in present),
                     *(count_or_cell(sir, m) for m in targets), str(len(group))])
    written = write_table(out_dir / name, header, rows, f"Sweep over {', '.join(keys) or 'nothing'}")
    numeric = [k for k in keys if all(isinstance(settings(r).get(k), int | float) for r in recs)]
    numeric.sort(key=lambda k: -len({settings(r).get(k) for r in recs}))
    for key in numeric[:1]:  # x axis: the numeric key with the most values
        others = [k for k in keys if k != key]
        for metric in present:
            series = {}
            by_rest = group_records(recs, lambda r, o=tuple(others), m=metric:
                                    ", ".join(f"{k}={settings(r).get(k)}" for k in o) or m)
            for label, rest in by_rest.items():
                by_x = group_records(rest, lambda r, k=key: settings(r)[k])
                xs = sorted(by_x)
                cells = [metric_cell(by_x[x], metric) for x in xs]
                series[label] = ([float(x) for x in xs], [c.mean for c in cells], [c.std for c in cells])
            written.append(curves(series, key, metric, out_dir / f"{name}_{metric}.png",
                                  logx=min(min(s[0]) for s in series.values()) > 0))
    return written
