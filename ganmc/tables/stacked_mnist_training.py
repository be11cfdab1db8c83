"""The Stacked MNIST training-length table: the generator alone of the protocol's DCGAN at several
training lengths (gan.train.iterations) x seeds x D size, its modes (the papers' argmax count) and
KL to uniform, mean ± standard error over seeds, the published DCGAN rows after ours, and a plot of
modes and KL against iterations (one line per D size), to show whether the count has settled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganmc.tables.build import (
    Records,
    group_records,
    mean_se,
    metric_cell,
    sample_counts,
    sample_records,
    write_table,
)
from ganmc.tables.figures import Marks, Series, errorbar_panels
from ganmc.tables.stacked import iterations, seeds_text, smoke_text
from ganmc.tables.stacked_mnist import (
    PAPER_ITERATIONS,
    PAPER_N,
    PUBLISHED_TEXT,
    gan_of,
    n_text,
    pm,
    published,
)
from ganmc.tables.uses import Uses, report

METRICS = [("stacked_modes_argmax", "modes", 1, True), ("stacked_kl_uniform", "KL to uniform", 3, False)]


def _generator(record: dict[str, Any]) -> bool:
    return record.get("run", {}).get("sampler") == "generator"


@report("stacked_mnist_training", lambda a: Uses((a["dataset"],), tuple(k for k, _, _, _ in METRICS), _generator,
                                                 "of the generator alone (sampler generator)"))
def stacked_mnist_training(records: Records, out_dir: Path, name: str = "stacked_mnist_training",
                           dataset: str = "stacked_mnist") -> list[Path]:
    """Modes and KL to uniform of the generator against training length per D size: table and PNG."""
    recs = [r for _, r in sample_records(records, dataset) if _generator(r)]
    groups = group_records(recs, lambda r: (gan_of(r), iterations(r)), uniform="stacked MNIST training-length table")
    groups = dict(sorted(groups.items()))
    header = ["D size", "iterations", "source"]
    header += [f"{title} ({'higher' if higher else 'lower'} better)" for _, title, _, higher in METRICS]
    header += [f"real data {title}" for _, title, _, _ in METRICS] + ["n", "seeds"]
    rows: list[list[str]] = []
    lines: dict[str, Series] = {key: {} for key, _, _, _ in METRICS}
    for gan in dict.fromkeys(g for g, _ in groups):
        for (g, its), group in groups.items():
            if g != gan:
                continue
            cells = [metric_cell(group, key) for key, _, _, _ in METRICS]
            real = [metric_cell(group, key.replace("stacked_", "stacked_real_")) for key, _, _, _ in METRICS]
            rows.append([gan.label, str(its), "ours: generator alone",
                         *(mean_se(c, d, signed=False) for c, (_, _, d, _) in zip(cells, METRICS)),
                         *(mean_se(c, d, signed=False) for c, (_, _, d, _) in zip(real, METRICS)),
                         sample_counts(group), str(len(group))])
            for c, (key, _, _, _) in zip(cells, METRICS):
                x, mean, err = lines[key].setdefault(gan.label, ([], [], []))
                x.append(float(its))
                mean.append(c.mean)
                err.append(c.std / c.n ** 0.5 if c.n > 1 else 0.0)
        for p in published(gan):
            rows.append([gan.label, str(PAPER_ITERATIONS), f"DCGAN, {p.source}: published", pm(p.modes, 1),
                         pm(p.kl, 2), "–", "–", f"{PAPER_N:,}", p.trials])
    marks: dict[str, Marks] = {key: {} for key, _, _, _ in METRICS}
    for gan in dict.fromkeys(g for g, _ in groups):
        for i, p in enumerate(published(gan)):
            x = PAPER_ITERATIONS * (1.15 if i else 1 / 1.15)  # side by side on the log axis
            marks["stacked_modes_argmax"][f"{gan.label}, {p.source}"] = (gan.label, x, *p.modes)
            marks["stacked_kl_uniform"][f"{gan.label}, {p.source}"] = (gan.label, x, *p.kl)
    its = sorted({i for _, i in groups})
    caption = (f"Stacked MNIST, the protocol's DCGAN (D = 1/4 G or 1/2 G) sampled alone (no sampler) against "
               f"its training length ({', '.join(f'{i:,}' for i in its)} iterations; the papers train "
               f"{PAPER_ITERATIONS:,}): modes (distinct argmax mode triples of the MNIST CNN applied per channel, the "
               f"papers' count) and KL(generated mode histogram ‖ 1/1,000 each), mean ± standard error over seeds "
               f"(seeds {seeds_text(recs)}, one GAN trained per seed); {n_text(recs)}. "
               f"Real data: the same metrics of as many real images. {PUBLISHED_TEXT} The plot "
               f"({name}.png) draws ours against iterations (error bars: ± SE) and the published values at "
               f"{PAPER_ITERATIONS:,}." + smoke_text(recs))
    written = write_table(out_dir / name, header, rows, caption)
    panels = [(f"{title} ({'higher' if higher else 'lower'} better)", lines[key], marks[key])
              for key, title, _, higher in METRICS]
    written.append(errorbar_panels(panels, "GAN training iterations", out_dir / f"{name}.png", logx=True))
    return written

