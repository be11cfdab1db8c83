"""Row labels of sampler presets and methods in every table: one map; a name not in it (a new
sampler) is shown as itself."""

from __future__ import annotations

LABELS = {
    "generator": "generator only",
    "drs": "DRS (raw D)",
    "drs_cal": "DRS (calibrated D)",
    "drs_digits": "DRS",
    "dot": "DOT",
    "ddls_unit": "DDLS (raw D, T = 1)",
    "ddls_cal": "DDLS (calibrated D)",
    "ddls": "DDLS (raw D, cold chain)",
    "ddls_digits": "DDLS",
    "ddls_cold_digits": "DDLS (cold chain)",
    "ddls_cal_digits": "DDLS (calibrated D)",
    "dot_digits": "DOT",
    "collab_reject_digits": "refinement + rejection",
    "mhgan": "MH-GAN",
    "mhgan_digits": "MH-GAN",
    "collab": "refinement (collab)",
    "collab_digits": "refinement (collab)",
    "collab+reject": "refinement + rejection",
    "collab_reject": "refinement + rejection",
    "dgflow": "DGflow (authors' step η 0.1)",
    "dgflow_2d": "DGflow (2-D step η 0.001)",
    "dgflow_digits": "DGflow",
    "latent_rs": "latent RS",
    "latent_rs_digits": "latent RS",
}


def label(name: str) -> str:
    """The row label of a sampler preset or method (``study/NAME``: NAME measured along the chain)."""
    base = name.split("/")[-1]
    return LABELS.get(base, base)
