"""Image tables from records: DDLS Table 3 (CIFAR-10, IS/FID) and the digits analogue
(cs, fd, and FID where measured), one row per (GAN, sampler), mean ± std over seeds, with a
labelled sample grid per GAN (real data, then a row per sampler, the lowest seed) from the runs'
``samples.npy``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmc.grid import save_labelled_rows
from ganmc.tables.build import (
    Records,
    evals_cells,
    extra_set,
    group_records,
    metric_cell,
    rank_in,
    sample_counts,
    sample_records,
    write_table,
)
from ganmc.tables.grids import grid_rows
from ganmc.tables.labels import label
from ganmc.tables.uses import Uses, report

# DDLS Table 3 (CIFAR-10): IS (and FID for SN-GAN), from the DDLS paper.
PAPER_T3: dict[tuple[str, str], dict[str, float]] = {
    ("dcgan32", "generator"): {"is": 2.88}, ("dcgan32", "drs"): {"is": 3.07},
    ("dcgan32", "mhgan"): {"is": 3.38}, ("dcgan32", "ddls"): {"is": 3.68},
    ("wgan_gp_dcgan32", "generator"): {"is": 3.07}, ("wgan_gp_dcgan32", "drs"): {"is": 3.14},
    ("wgan_gp_dcgan32", "mhgan"): {"is": 3.31}, ("wgan_gp_dcgan32", "ddls"): {"is": 3.61},
    ("sngan_resnet32", "generator"): {"is": 8.22, "fid": 21.7},
    ("sngan_resnet32", "ddls"): {"is": 9.05, "fid": 15.76},
    ("sngan_resnet32", "ddls_cal"): {"is": 9.09, "fid": 15.42},
}
ORDER = ["generator", "drs", "drs_cal", "mhgan", "ddls", "ddls_cal", "collab", "collab_reject", "dot", "dgflow",
         "latent_rs"]  # methods


def method(sampler: str) -> str:
    """The method of a sampler preset: ``ddls_digits`` (a size preset) counts as ``ddls``."""
    return sampler.removesuffix("_digits")


def _groups(records: Records, dataset: str) -> dict[tuple[str, str], list[tuple[Path, dict[str, Any]]]]:
    groups = group_records(sample_records(records, dataset), lambda pr: (pr[1]["run"]["gan"], pr[1]["run"]["sampler"]),
                           uniform="image table")
    rank = rank_in(ORDER)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], rank(method(kv[0][1])), kv[0][1])))


def image_table(records: Records, out_dir: Path, stem: str, dataset: str, metrics: list[tuple[str, str, int]],
                paper: dict[tuple[str, str], dict[str, float]], caption: str) -> list[Path]:
    """One row per (GAN, sampler): ``metrics`` = (record key, column title, digits), with the
    paper's value beside ours where ``paper`` has one; evaluations per sample; seeds."""
    header = ["GAN", "method"]
    for key, title, _ in metrics:
        header += [f"{title} (paper)", f"{title} (ours)"] if any(key in v for v in paper.values()) else [title]
    header += ["G evals/sample", "D evals/sample", "seconds/run", "seeds"]
    rows: list[list[str]] = []
    groups = _groups(records, dataset)
    cache: dict[str, torch.Tensor | None] = {}
    grids = {gan: grid_rows({s: g for (gn, s), g in groups.items() if gn == gan}, cache) for gan, _ in groups}
    for (gan, sampler), group in groups.items():
        recs = [r for _, r in group]
        row = [gan, label(sampler)]
        for key, _, digits in metrics:
            ours = metric_cell(recs, key).format(digits)
            if any(key in v for v in paper.values()):
                value = paper.get((gan, method(sampler)), {}).get(key)
                row += ["–" if value is None else f"{value:.{digits}f}", ours]
            else:
                row.append(ours)
        row += [*evals_cells(recs), f"{np.mean([r['timing']['wall_seconds'] for r in recs]):.0f}", str(len(recs))]
        rows.append(row)
    written = write_table(out_dir / stem, header, rows, caption)
    return written + [save_labelled_rows(r, out_dir / f"{stem}_samples" / f"{gan}.png") for gan, r in grids.items() if r]


def _sizes(records: Records, dataset: str) -> str:
    return sample_counts((r for _, r in sample_records(records, dataset)), grouped=False)


@report("table3", Uses(("cifar10",), ("is", "fid")))
def table3(records: Records, out_dir: Path) -> list[Path]:
    """DDLS Table 3: IS and FID on CIFAR-10 (torch-fidelity's Inception), 50,000 samples per run."""
    recs = [r for _, r in sample_records(records, "cifar10")]
    refs = sorted({r["metrics"]["fid_ref_n"] for r in recs if "fid_ref_n" in r["metrics"]})
    smoke = any(r.get("config", {}).get("smoke") for r in recs)
    caption = (f"DDLS Table 3, CIFAR-10: Inception score and FID (torch-fidelity, Inception weights of "
               f"2015-12-05, reference: {' / '.join(f'{n:,.0f}' for n in refs) or 'the'} training images), "
               f"n = {_sizes(records, 'cifar10')} samples per run, mean ± std over seeds."
               + (" SMOKE RUN: every sampler at its smallest budget (smoke=true), not a result." if smoke else ""))
    return image_table(records, out_dir, "table3", "cifar10",
                       [("is", "IS", 2), ("is_std", "IS std (splits)", 2), ("fid", "FID", 2)], PAPER_T3, caption)


@report("digits", Uses(("digits",), ("cs", "fd", "fid")))
def digits(records: Records, out_dir: Path, name: str = "digits") -> list[Path]:
    """The Table 3 protocol on scikit-learn's digits: cs and fd (a CNN trained on the digits'
    labels), FID where the run measured it; no paper values exist for this data set."""
    caption = (f"Table 3 protocol on digits (1,797 real 8x8 images, upscaled): classifier score cs (max 10) "
               f"and Frechet distance fd of a small CNN trained on the digit labels, FID (Inception) where "
               f"measured; n = {_sizes(records, 'digits')} samples per run, mean ± std over seeds.")
    written = image_table(records, out_dir, name, "digits",
                          [("cs", "cs", 2), ("fd", "fd", 3), ("fid", "FID", 2)], {}, caption)
    return written + ordering(records, out_dir, f"{name}_order", "digits")


@report("stacked_mnist_fid", Uses(("stacked_mnist",), ("fid",)))
def stacked_mnist_fid(records: Records, out_dir: Path, name: str = "stacked_mnist_fid") -> list[Path]:
    """FID from real Inception weights on real Stacked MNIST, beside the papers' mode count and KL."""
    recs = [r for _, r in sample_records(records, "stacked_mnist")]
    refs = sorted({r["metrics"]["fid_ref_n"] for r in recs if "fid_ref_n" in r["metrics"]})
    weights = sorted({str(r["metrics"].get("inception_weights", "?")) for r in recs})
    sizes = sorted({str(((r.get("config") or {}).get("gan") or {}).get("discriminator", {}).get("d_size")) for r in recs})
    seeds = sorted({r["run"]["seed"] for r in recs})
    caption = (f"FID on Stacked MNIST (real MNIST digits as R, G, B) with the Inception weights of 2015-12-05 "
               f"({', '.join(weights)}), against {' / '.join(f'{n:,.0f}' for n in refs) or '?'} real images; the "
               f"protocol's DCGAN (gan.discriminator.d_size {', '.join(sizes)}), seeds {', '.join(map(str, seeds))}; "
               f"n = {_sizes(records, 'stacked_mnist')} samples per run (FID is biased upward at small n: compare "
               f"rows, not levels); modes and KL to uniform as in stacked_mnist.md; seconds/run: the whole run "
               f"(sampling, Inception and the mode classifier) on one CPU thread; mean ± std over seeds.")
    return image_table(records, out_dir, name, "stacked_mnist", [("fid", "FID", 2), ("stacked_modes_argmax", "modes", 1),
                                                                 ("stacked_kl_uniform", "KL to uniform", 3)], {}, caption)


# What the papers report about the methods' order (best first), for the digits analogue.
PAPER_ORDER = ("DDLS Table 3 (IS, CIFAR-10/CelebA, DCGAN and WGAN): DDLS > MH-GAN > DRS > generator; "
               "collaborative Fig. 6 (IS/FID, DCGAN): collab (refinement + rejection) > MH-GAN, DRS > generator")
HIGHER_IS_BETTER = {"cs": True, "fd": False, "fid": False, "is": True}


def ordering(records: Records, out_dir: Path, stem: str, dataset: str) -> list[Path]:
    """Per GAN and metric, our methods ranked best first by the mean over seeds, beside the
    order the papers report; a method within one std of the next is marked with ≈."""
    by_gan: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (gan, sampler), group in _groups(records, dataset).items():
        by_gan.setdefault(gan, {})[sampler] = [r for _, r in group]
    rows, single = [], False
    for gan, methods in by_gan.items():
        for metric, higher in HIGHER_IS_BETTER.items():
            cells = {m: metric_cell(recs, metric) for m, recs in methods.items()}
            cells = {m: c for m, c in cells.items() if c.n and not np.isnan(c.mean)}
            if not cells:
                continue
            single = single or any(c.n == 1 for c in cells.values())
            ranked = sorted(cells, key=lambda m: -cells[m].mean if higher else cells[m].mean)
            text = label(ranked[0])
            for prev, cur in zip(ranked, ranked[1:]):
                spread = [c.std for c in (cells[prev], cells[cur]) if c.n > 1 and not np.isnan(c.std)]
                close = abs(cells[prev].mean - cells[cur].mean) <= max(spread, default=0.0)
                text += (" ≈ " if close else " > ") + label(cur)
            rows.append([gan, metric + (" (higher better)" if higher else " (lower better)"), text])
    caption = (f"Order of the methods on {dataset}, best first, by the mean over seeds (≈: within one std"
               f"{'; one seed: no spread, so close values may be in noise order' if single else ''}). "
               f"Papers: {PAPER_ORDER}.")
    return write_table(out_dir / stem, ["GAN", "metric", "ours (best first)"], rows, caption)


def _snapshots(record: dict[str, Any]) -> bool:
    """Whether a run measured its chain along the way (``sampler.snapshot_every > 0``)."""
    return any(k.startswith("step_") for k in record.get("target_metrics", {}))


@report("ddls_steps", Uses(test=_snapshots, needs="with chain snapshots (sampler.snapshot_every > 0)"))
def ddls_steps(records: Records, out_dir: Path) -> list[Path]:
    """Metric against Langevin step, from DDLS runs with ``sampler.snapshot_every > 0``: one
    curve per (data set, GAN, sampler) for every metric the snapshots carry, mean ± std over seeds."""
    from ganmc.tables.figures import curves

    recs = [r for _, r in records if r.get("command") == "sample" and _snapshots(r)]
    groups = group_records(recs, lambda r: (r["run"]["dataset"], r["run"]["gan"], r["run"]["sampler"]))
    names = [m for m in ("cs", "fd", "fid", "is", "hq_percent", "emd")
             if any(m in v for r in recs for v in r["target_metrics"].values())]
    written: list[Path] = []
    rows = []
    for metric in names:
        series = {}
        for (dataset, gan, sampler), group in groups.items():
            steps = sorted({k for r in group for k in r["target_metrics"] if k.startswith("step_")})
            cells = [metric_cell(extra_set(group, k), metric) for k in steps]
            xs = [float(k.removeprefix("step_")) for k in steps]
            series[f"{gan} {sampler} ({dataset})"] = (xs, [c.mean for c in cells], [c.std for c in cells])
            rows.append([metric, dataset, gan, sampler, *(f"{int(x)}: {c.format(3)}" for x, c in zip(xs, cells))])
        written.append(curves(series, "Langevin step", metric, out_dir / f"ddls_steps_{metric}.png"))
    width = max((len(r) for r in rows), default=4)
    header = ["metric", "dataset", "GAN", "sampler", *[f"snapshot {i}" for i in range(width - 4)]]
    rows = [r + [""] * (width - len(r)) for r in rows]
    caption = "Metrics of the DDLS chains against Langevin step (step 0: the generator's samples), mean ± std over seeds."
    return write_table(out_dir / "ddls_steps", header, rows, caption) + written
