"""Summaries of a sweep folder: metrics against the swept parameters, as a table and a plot.

What a sweep varied is read from the overrides Hydra recorded beside each record
(``.hydra/overrides.yaml``); records without them (older ones, copies) fall back to the config
keys whose resolved values differ. Either way one row never holds runs whose resolved sampler,
metric or protocol settings differ. Generator runs beside a sweep of another sampler are its
baseline: a row of their own and a paired Δ (by seed, same data, GAN and sample size) per row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganmc.common import NOT_IDENTITY, RUN_DIR_EXCLUDE_KEYS
from ganmc.errors import GanmcError
from ganmc.record_schema import TARGET_SET, emd_sizes
from ganmc.tables.build import (
    EMD_PROTOCOLS,
    Records,
    delta_text,
    extra_set,
    group_records,
    metric_cell,
    mixed_settings,
    paired_delta,
    protocol,
    sample_counts,
    write_table,
)
from ganmc.tables.figures import Series, curves
from ganmc.tables.labels import label
from ganmc.tables.records import recorded_overrides
from ganmc.tables.uses import Uses, report

_IGNORED = {"seed", *NOT_IDENTITY}  # a sweep's seeds are its repeats, not a swept setting
# Overrides that are no setting of the method (paths, threads, device); ``experiment`` stays: two
# experiments in one folder are two settings.
_NOT_SETTINGS = (_IGNORED | set(RUN_DIR_EXCLUDE_KEYS)) - {"experiment"}
BASELINE = "generator"  # the sampler preset a sweep's other rows are compared with


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"dotted.key": value}`` (lists as tuples)."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: tuple(tree) if isinstance(tree, list) else tree}


def settings(record: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The record's config as dotted keys, plus ``run.sampler``: the sampler preset's name, and
    the text of any recorded override the config does not hold as a value (a group chosen
    without a name, e.g. ``sampler.discriminator=shaped``)."""
    out = {**flat(record.get("config", {})), "run.sampler": record.get("run", {}).get("sampler")}
    return {**{k: v for k, v in (overrides or {}).items() if k not in out}, **out}


def swept_keys(records: list[dict[str, Any]]) -> list[str]:
    """Config keys (dotted) whose value differs between records, seeds and paths excluded. A
    sweep over sampler presets shows as ``run.sampler`` (the presets' names), not as their class
    paths or the fields only some of them have, unless a field also differs between runs of one
    preset (``+sampler=generator,ddls sampler.step_size=...``: then it is a setting of its own)."""
    flats = [settings(r) for r in records]
    keys = sorted(set().union(*flats))
    swept = [k for k in keys if k.split(".")[0] not in _IGNORED and len({repr(f.get(k)) for f in flats}) > 1]
    # a swept group (dataset=a,b) shows as its name only, not as every field its choice sets
    named = {k.rsplit(".", 1)[0] for k in swept if k.endswith(".name")}
    swept = [k for k in swept if k.endswith(".name") or k.rsplit(".", 1)[0] not in named
             or not _determined(flats, k, f"{k.rsplit('.', 1)[0]}.name")]
    if "run.sampler" in swept:
        swept = ["run.sampler", *(k for k in swept if k != "run.sampler" and not (
            k.startswith("sampler") and (k.rsplit(".", 1)[-1].startswith("_") or any(k not in f for f in flats))
            and _determined(flats, k, "run.sampler")))]
    else:
        swept = [k for k in swept if k != "run.sampler"]
    return swept


def _determined(flats: list[dict[str, Any]], key: str, by: str) -> bool:
    """Whether ``key`` takes one value among the records of each value of ``by``."""
    seen: dict[str, str] = {}
    return all(seen.setdefault(repr(f.get(by)), repr(f.get(key))) == repr(f.get(key)) for f in flats)


def _column(key: str, flats: list[dict[str, Any]]) -> str:
    """The column of an override key: a config group chosen by name shows its name
    (``dataset`` -> ``dataset.name``; ``+sampler`` -> ``run.sampler``, the preset)."""
    if key == "sampler":
        return "run.sampler"
    return f"{key}.name" if any(f"{key}.name" in f for f in flats) else key


def row_keys(records: Records) -> list[str]:
    """The columns that tell a sweep's runs apart: the recorded overrides whose values differ
    between the records (seeds, paths and threads left out; a setting a swept group's choice
    fixes shows as the group only), when every record has its overrides; else :func:`swept_keys`."""
    overrides = [recorded_overrides(path) for path, _ in records]
    if not records or any(o is None for o in overrides):
        return swept_keys([r for _, r in records])
    found = [o for o in overrides if o is not None]
    flats = [settings(r, o) for (_, r), o in zip(records, found)]
    keys = sorted({k for o in found for k in o if k.split(".")[0] not in _NOT_SETTINGS})
    varied = [k for k in keys if len({o.get(k) for o in found}) > 1]
    shown = [k for k in varied if not any(k.startswith(f"{g}.") and _determined(found, k, g) for g in varied)]
    return sorted(dict.fromkeys(_column(k, flats) for k in shown), key=lambda c: (c != "run.sampler", c))


def _order(value: str) -> tuple[int, float, str]:
    """Sort key of a repr'd config value: numbers by value, then everything else as text."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _digits(metric: str) -> int:
    """Decimals of a metric's cells: EMDs (~0.01-0.1, differences ~1e-3) get 4."""
    return 4 if metric.startswith("emd") else 3


def count_or_cell(group: list[dict[str, Any]], metric: str) -> str:
    """A metric's cell; a count (every value an integer, e.g. modes recovered) as an integer when
    the seeds agree, else mean ± std to one decimal."""
    values = [v for r in group if (v := r.get("metrics", {}).get(metric, r.get("stats", {}).get(metric))) is not None]
    c = metric_cell(group, metric)
    if c.n == 0 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return c.format(_digits(metric))
    return f"{c.mean:.0f}" if c.std == 0 else f"{c.mean:.1f} ± {c.std:.1f}"


def _context(record: dict[str, Any]) -> str:
    """What a paired Δ needs equal (data, GAN, sample size, metric protocol), as text."""
    return json.dumps(protocol(record), sort_keys=True, default=str)


def _uniform(groups: dict[Any, list[dict[str, Any]]]) -> None:
    """Refuse a row whose runs differ in a metric setting (sampler and protocol: group_records)."""
    for key, group in groups.items():
        mixed = mixed_settings(group, lambda r: r.get("config", {}).get("metric"))
        if mixed:
            raise GanmcError(f"sweep: the records of row {key} differ in {', '.join(f'metric.{m}' for m in mixed)} "
                             f"({', '.join(sorted({r.get('_path', '?') for r in group}))}): no recorded override "
                             "tells them apart; rerun the stale ones (or move them out of the records folder)")


def _split(records: Records) -> tuple[Records, Records]:
    """(the sweep's runs, its baseline): the generator runs of the data, GAN and sample size of
    runs of another sampler; other generator runs stay rows of their own."""
    rest = [(p, r) for p, r in records if r.get("run", {}).get("sampler") != BASELINE]
    contexts = {_context(r) for _, r in rest}
    base = [(p, r) for p, r in records if r.get("run", {}).get("sampler") == BASELINE and _context(r) in contexts]
    chosen = {id(r) for _, r in base}
    return [(p, r) for p, r in records if id(r) not in chosen], base


@report("sweep", lambda given: Uses(metrics=tuple(given["metrics"])))
def sweep(records: Records, out_dir: Path, name: str = "sweep",
          metrics: tuple[str, ...] = ("hq_percent", "emd")) -> list[Path]:
    """Table of every metric per swept setting (mean ± std over seeds) and metric-vs-parameter
    plots; with generator runs, a baseline row and a paired Δ vs the generator (± SE) per metric."""
    pairs, base_pairs = _split([(p, r) for p, r in records if r.get("command") == "sample"])
    keys = row_keys(pairs)
    found = {id(r): settings(r, recorded_overrides(p)) for p, r in pairs + base_pairs}
    recs = [r for _, r in pairs]
    present = [m for m in metrics if any(m in r.get("metrics", {}) for r in recs)]
    groups = group_records(recs, lambda r: tuple(repr(found[id(r)].get(k)) for k in keys), uniform="sweep")
    _uniform(groups)
    bases = group_records((r for _, r in base_pairs), _context, uniform="sweep baseline")
    every = recs + [r for _, r in base_pairs]
    targets = [m for m in present if any(m in t["metrics"] for t in extra_set(every, TARGET_SET))]
    header = [*keys, *present, *(f"{m} of exact target (SIR)" for m in targets)]
    if bases:
        header = ["method", *header, *(f"Δ {m} vs generator (± SE)" for m in present)]
    header.append("seeds")
    rows = []
    base_cells = {c: ["'generator'" if k == "run.sampler" else "–" if k.startswith("sampler.")
                      else repr(found[id(g[0])].get(k)) for k in keys] for c, g in bases.items()}
    for context in sorted(bases, key=lambda c: [_order(v) for v in base_cells[c]]):
        group, sir = bases[context], extra_set(bases[context], TARGET_SET)
        rows.append(["generator (baseline)", *base_cells[context], *(count_or_cell(group, m) for m in present),
                     *(count_or_cell(sir, m) for m in targets), *(["–"] * len(present)), str(len(group))])
    for setting, group in sorted(groups.items(), key=lambda kv: [_order(v) for v in kv[0]]):
        sir = extra_set(group, TARGET_SET)
        row = [*setting, *(count_or_cell(group, m) for m in present), *(count_or_cell(sir, m) for m in targets)]
        if bases:
            base = bases.get(_context(group[0]), [])
            row = [label(str(group[0]["run"].get("sampler"))), *row,
                   *(delta_text(paired_delta(group, base, m), _digits(m)) if base else "–" for m in present)]
        rows.append([*row, str(len(group))])
    written = write_table(out_dir / name, header, rows, _caption(keys, every, bool(bases)))
    numeric = [k for k in keys if all(isinstance(found[id(r)].get(k), int | float) for r in recs)]
    numeric.sort(key=lambda k: -len({found[id(r)].get(k) for r in recs}))
    for key in numeric[:1]:  # x axis: the numeric key with the most values
        others = [k for k in keys if k != key]
        for metric in present:
            series: Series = {}
            base_series: Series = {}
            by_rest = group_records(recs, lambda r, o=tuple(others), m=metric:
                                    ", ".join(f"{k}={found[id(r)].get(k)}" for k in o) or m)
            for rest_label, rest in by_rest.items():
                by_x = group_records(rest, lambda r, k=key: found[id(r)][k])
                xs = sorted(by_x)
                cells = [metric_cell(by_x[x], metric) for x in xs]
                series[rest_label] = ([float(x) for x in xs], [c.mean for c in cells], [c.std for c in cells])
                base = [metric_cell(bases.get(_context(by_x[x][0]), []), metric) for x in xs]
                if any(c.n for c in base):  # the generator at each x (its data, GAN and n)
                    base_series[rest_label] = ([float(x) for x in xs], [c.mean for c in base], [c.std for c in base])
            same = len({repr(s) for s in base_series.values()}) == 1
            series.update({"generator" if same else f"generator ({k})": s for k, s in base_series.items()})
            written.append(curves(series, key, metric, out_dir / f"{name}_{metric}.png",
                                  logx=min(min(s[0]) for s in series.values()) > 0))
    return written


def _caption(keys: list[str], records: list[dict[str, Any]], baseline: bool) -> str:
    """'Sweep over KEYS', the sampler, data, GAN, n, seeds and EMD protocol the rows share, and
    what ± means (std over seeds; SE of the paired Δ where a generator baseline is there)."""
    run = [r.get("run", {}) for r in records]

    def values(key: str) -> str:
        return ", ".join(str(v) for v in sorted({x.get(key) for x in run} - {None}, key=lambda v: _order(str(v)))) or "?"

    its = sorted({x.get("train_iterations") for x in run} - {None})
    gans = values("gan") + (f" ({', '.join(f'{i:,}' for i in its)} training iterations)" if its else "")
    seeds = {x.get("seed") for x in run} - {None}
    emd_n = emd_sizes(records)
    protocols = sorted({(m.get("emd_cost", "euclidean"), m.get("emd_real_set", "iid"))
                        for m in (r.get("metrics", {}) for r in records) if m.get("emd_n")})
    emd = (f" EMD: exact, {' and '.join(EMD_PROTOCOLS.get(p, '/'.join(p)) for p in protocols)}, n = "
           f"{', '.join(f'{n:,}' for n in emd_n)} per side." if emd_n else "")
    spread = "one seed: no spread" if len(seeds) == 1 else "cells: mean ± std over seeds"
    of_sampler = "" if "run.sampler" in keys else f" of sampler {values('sampler')}"
    caption = (f"Sweep over {', '.join(keys) or 'nothing'}{of_sampler}: data set "
               f"{values('dataset')}, GAN {gans}, n = {sample_counts(records)} samples per run, seeds "
               f"{values('seed')} ({spread}).{emd}")
    if not baseline:
        return caption + " No generator baseline among the records: no Δ column."
    return (caption + " Δ vs generator: the generator runs of the same data set, GAN and sample size "
            "(baseline row), paired by seed, mean ± standard error (SE), * beyond 2 SE")
