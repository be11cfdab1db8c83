"""`make demo`: the generator and a discriminator-driven sampler on one GAN, side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganmc.tables.build import Records, real_samples, sample_counts, write_table
from ganmc.tables.figures import scatter_grid
from ganmc.tables.labels import label
from ganmc.tables.uses import Uses, report


def _value(metrics: dict, key: str, digits: int) -> str:
    value = metrics.get(key)
    return "–" if value is None else f"{value:.{digits}f}"


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


@report("demo", Uses(metrics=("hq_percent", "emd")))
def demo(records: Records, out_dir: Path) -> list[Path]:
    """One row per sampler record (generator first), and data | generator | sampler scatter plots."""
    recs = sorted((pr for pr in records if pr[1].get("command") == "sample"),
                  key=lambda pr: (pr[1]["run"]["sampler"] != "generator", pr[1]["run"]["sampler"]))
    header = ["method", "%HQ", "modes", "EMD", "real-vs-real floor", "mode mass TV", "seconds"]
    rows = [[label(r["run"]["sampler"]), _value(r["metrics"], "hq_percent", 1),
             str(r["metrics"].get("modes_recovered", "–")), _value(r["metrics"], "emd", 4),
             _value(r["metrics"], "emd_floor", 4), _value(r["metrics"], "mass_tv", 3),
             f"{r['timing']['wall_seconds']:.0f}"] for _, r in recs]
    first = recs[0][1] if recs else None
    caption = "" if first is None else (
        f"{first['config']['gan']['name']} on {first['run']['dataset']}, "
        f"{first['run']['train_iterations']:,} training iterations, seed {first['run']['seed']}, "
        f"{sample_counts([first])} samples per method. HQ: within 4 std of a mode; EMD: exact W1 "
        f"between {_count(first['metrics'].get('emd_n'))} of the samples and as many fresh real ones (the "
        "floor: two real draws of that size); mode mass TV: total variation between the samples' mass "
        "per mode and the data's.")
    written = write_table(out_dir / "demo", header, rows, caption)
    panels = [("data", real_samples(recs))]
    panels += [(label(r["run"]["sampler"]), np.load(p.parent / "samples.npy") if (p.parent / "samples.npy").is_file()
                else None) for p, r in recs]
    written.append(scatter_grid([(first["run"]["dataset"] if first else "", panels)], out_dir / "demo.png"))
    return written
