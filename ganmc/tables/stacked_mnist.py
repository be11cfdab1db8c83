"""The Stacked MNIST table (experiment=stacked_mnist): per D size of the protocol's DCGAN and
training length, one row per sampler with the papers' mode count and KL to uniform, their paired Δ
vs the generator and n, the real data's row and the published DCGAN rows beside ours; ganmc's KL to
the data's mode weights, confident modes, quality, their Δs and cost in the variants table;
diagnostics and sample grids (:func:`ganmc.tables.stacked.stacked_table`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganmc.record_schema import n_samples
from ganmc.tables.build import Records, cell, evals_cells, sample_counts
from ganmc.tables.stacked import (
    DIAGNOSTICS_TEXT,
    OTHERS,
    Gan,
    Layout,
    Metric,
    Recs,
    Row,
    iterations,
    seeds_text,
    smoke_text,
    span_minutes,
    stacked_table,
)
from ganmc.tables.uses import Uses, report

PROTOCOL_GAN = "dcgan_stacked_mnist"
D_SIZES = {"quarter": "D = 1/4 G", "half": "D = 1/2 G"}  # gan.discriminator.d_size -> the papers' name
PAPER_ITERATIONS = 500_000  # the published protocol's training length
PAPER_N = 25_600  # ... and its samples per evaluation
METRICS: list[Metric] = [("stacked_modes_argmax", "modes", 1, True), ("stacked_kl_uniform", "KL to uniform", 3, False),
                         ("stacked_kl", "KL to data", 3, False), ("stacked_modes", "confident modes", 1, True),
                         ("stacked_quality", "quality", 3, True)]


@dataclass(frozen=True)
class Published:
    """A published DCGAN result on Stacked MNIST: modes and KL to uniform as (value, ±), over ``trials``."""

    source: str
    modes: tuple[float, float]
    kl: tuple[float, float]
    trials: str


METZ = "Metz et al. 2017, Unrolled GAN"
LIN = "Lin et al. 2018, PacGAN Table 3"
PUBLISHED: dict[str, list[Published]] = {  # by D size; published numbers, not results of this project
    "quarter": [Published(METZ, (30.6, 20.7), (5.99, 0.42), "–"), Published(LIN, (78.5, 17.6), (5.21, 0.19), "50")],
    "half": [Published(METZ, (628.0, 140.9), (2.58, 0.75), "–"), Published(LIN, (487.7, 34.6), (2.24, 0.15), "50")],
}
PUBLISHED_TEXT = (f"Published rows: the protocol's DCGAN as reported by {METZ} (± as published) and as "
                  f"re-run by {LIN} (50 trials, ± standard error), {PAPER_N:,} samples after "
                  f"{PAPER_ITERATIONS:,} training iterations: published numbers, not results of this project.")


def d_size(record: dict[str, Any]) -> str | None:
    """``gan.discriminator.d_size`` of the record's config (None when it has none)."""
    gan = (record.get("config") or {}).get("gan") or {}
    return (gan.get("discriminator") or {}).get("d_size")


def gan_of(record: dict[str, Any]) -> Gan:
    """The record's GAN as the tables show it: 'D = 1/4 G' for the protocol's DCGAN (quarter before half)."""
    gan, size = record["run"]["gan"], d_size(record)
    if size is None:
        return Gan((gan, len(D_SIZES), ""), gan, gan)
    text = D_SIZES.get(size, f"D size {size}")
    rank = list(D_SIZES).index(size) if size in D_SIZES else len(D_SIZES)
    return Gan((gan, rank, str(size)), f"{gan}-{size}", text if gan == PROTOCOL_GAN else f"{gan}, {text}")


def published(gan: Gan) -> list[Published]:
    """The published rows of a GAN (the protocol's DCGAN at a D size the papers report)."""
    return next((PUBLISHED[size] for size, text in D_SIZES.items() if gan.label == text), [])


def pm(value: tuple[float, float], digits: int) -> str:
    return f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"


def _published_rows(gan: Gan) -> list[Row]:
    """The published rows in the main table's shape: modes, KL to uniform, no Δ, the papers' n."""
    return [[gan.label, str(PAPER_ITERATIONS), f"DCGAN, {p.source}: published", pm(p.modes, 1), pm(p.kl, 2), "–",
             "–", f"{PAPER_N:,} × {p.trials}"] for p in published(gan)]


def _ms_per_sample(recs: Recs) -> str:
    """Mean milliseconds of the sampling phase per sample."""
    c = cell(1e3 * r["timing"]["sample_seconds"] / n for r in recs
             if (n := n_samples(r)) and r.get("timing", {}).get("sample_seconds") is not None)
    return "n/a" if c.n == 0 else f"{c.mean:#.3g}"


def _cost(recs: Recs) -> list[str]:
    return [*evals_cells(recs), _ms_per_sample(recs), str(len(recs))]


def n_text(recs: Recs) -> str:
    """The caption's n: one size for every row, or the sizes and where each row's is."""
    sizes = sample_counts(recs)
    counts = {n_samples(r) for r in recs}
    if len(counts) == 1:
        return f"n = {sizes} samples per run" + (" (the protocol's)" if counts == {PAPER_N} else
                                                 f" (the protocol's is {PAPER_N:,})")
    return (f"n differs between rows ({sizes} samples per run; column n × seeds gives each row's n and "
            f"its number of seeds; the protocol's is {PAPER_N:,})")


def _accuracy(recs: Recs) -> str:
    """The mode classifier's held-out accuracy (one value, or each one when runs used several)."""
    values = sorted({r["metrics"]["classifier_accuracy"] for r in recs if "classifier_accuracy" in r["metrics"]})
    return ", ".join(f"{v:.4f}" for v in values) or "?"


def _caption(recs: Recs, variants: bool) -> str:
    """The Stacked MNIST captions: the setting (data, GAN, n, seeds, what ± is), then the columns of
    the main table (the papers' modes and KL to uniform, the published rows) or of the variants."""
    its = sorted({iterations(r) for r in recs})
    gans = sorted({r["run"]["gan"] for r in recs})
    span, summed = span_minutes(recs)
    threshold = sorted({r["metrics"].get("stacked_threshold") for r in recs} - {None})
    setting = (f"Stacked MNIST{OTHERS if variants else ''} (three MNIST digits as R, G, B: 1,000 modes; the Unrolled "
               f"GAN / PacGAN protocol). "
               f"GAN: {', '.join(gans)} (the protocol's DCGAN; D = 1/4 G or 1/2 G: gan.discriminator.d_size), "
               f"trained {', '.join(f'{i:,}' for i in its)} iterations, where the papers train {PAPER_ITERATIONS:,}: "
               f"a deviation, so our rows are shorter-trained GANs than the published ones. {n_text(recs)}; "
               f"seeds {seeds_text(recs)} (one GAN trained per seed); our cells: mean ± std over seeds. "
               f"Δ: paired difference to the generator by seed, ± standard error, * beyond 2 SE. Real data row: the "
               f"same metrics of as many real images. ")
    if variants:
        return (setting + f"KL to data: KL(generated mode histogram ‖ the data's own mode weights); confident "
                f"modes: modes with a sample whose three channels all get top probability "
                f"≥ {', '.join(map(str, threshold)) or '?'} from the MNIST CNN; quality: share of such confident "
                f"samples. Cost: G and D evaluations per sample, milliseconds per sample of the sampling phase "
                f"(not loading or metrics)." + smoke_text(recs))
    return (setting + f"Modes: distinct argmax mode triples of an MNIST CNN (held-out accuracy {_accuracy(recs)}) "
            f"applied per channel, the papers' count; KL to uniform: KL(generated mode histogram ‖ 1/1,000 each), "
            f"the papers' KL. KL to data, confident modes, quality and cost: the variants table. {PUBLISHED_TEXT} "
            f"Sweep wall time {span:.1f} min ({summed:.1f} min summed over {len(recs)} runs)." + smoke_text(recs))


MNIST = Layout(
    title="stacked MNIST table", gan_column="D size", metrics=METRICS, gan_of=gan_of,
    cost_header=["G evals/sample", "D evals/sample", "ms/sample", "seeds"], cost_cells=_cost,
    caption=_caption, published=_published_rows,
    diagnostics_caption="Sampler diagnostics on Stacked MNIST, mean ± std over seeds: " + DIAGNOSTICS_TEXT)


@report("stacked_mnist", lambda a: Uses((a["dataset"],), tuple(k for k, _, _, _ in METRICS)))
def stacked_mnist(records: Records, out_dir: Path, name: str = "stacked_mnist",
                  dataset: str = "stacked_mnist") -> list[Path]:
    """The Stacked MNIST table, its diagnostics table and one sample grid per (D size, length)."""
    return stacked_table(records, out_dir, name, dataset, MNIST)
