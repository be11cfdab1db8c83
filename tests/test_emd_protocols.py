"""EMD protocols: the cost (W1 or W2²) and how the real set is drawn (iid or stratified), checked
against an independent exact OT (an optimal assignment: with n points a side and uniform
weights, exact OT is a permutation), in the metric and through ``ganmc sample``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import TINY
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ganmc.data.synthetic import GaussianGrid, GaussianRing, SwissRoll, draw_real, stratified_counts
from ganmc.errors import GanmcError
from ganmc.metrics.emd import parse_protocol, real_points
from ganmc.metrics.registry import compute_metrics
from ganmc.metrics.settings import MetricSettings


def _assignment_ot(x: np.ndarray, y: np.ndarray, squared: bool) -> float:
    """Exact OT between two sets of n points with uniform weights, by the Hungarian method."""
    cost = cdist(x, y, "sqeuclidean" if squared else "euclidean")
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def _cfg(emd_also: list[str] | None = None, **metric) -> MetricSettings:
    return MetricSettings(metrics=("emd", "emd_floor"), emd_also=tuple(emd_also or ()), **metric)


def test_stratified_real_set_has_each_modes_share_exactly():
    grid = GaussianGrid("gaussians25")
    x = draw_real(grid, 1000, torch.Generator().manual_seed(0), "stratified")
    assert torch.bincount(grid.regions(x), minlength=25).tolist() == [40] * 25
    iid = draw_real(grid, 1000, torch.Generator().manual_seed(0), "iid")
    assert torch.bincount(grid.regions(iid), minlength=25).tolist() != [40] * 25  # multinomial counts
    ring = GaussianRing("imbal8")  # 45 %, 45 %, then 10 % over six modes
    counts = torch.bincount(ring.regions(draw_real(ring, 1000, torch.Generator().manual_seed(1), "stratified")))
    assert counts.tolist() == stratified_counts(ring.weights, 1000).tolist() and counts[:2].tolist() == [450, 450]


def test_stratified_is_refused_without_modes():
    with pytest.raises(GanmcError, match="real_set=iid"):
        draw_real(SwissRoll("swissroll"), 10, torch.Generator(), "stratified")
    for bad in ("sqeuclidean", "manhattan/iid", "euclidean/stratifed"):
        with pytest.raises(GanmcError, match="COST/REAL_SET"):
            parse_protocol(bad)


@pytest.mark.parametrize("cost,real_set", [("sqeuclidean", "stratified"), ("euclidean", "iid"),
                                           ("sqeuclidean", "iid")])
def test_emd_metric_agrees_with_an_optimal_assignment(cost, real_set, tmp_path):
    grid = GaussianGrid("gaussians25")
    samples = grid.sample(250, torch.Generator().manual_seed(5)) * 1.1  # a slightly wrong "GAN"
    m = compute_metrics(samples, grid, _cfg(emd_cost=cost, real_set=real_set), seed=2, cache_dir=tmp_path)
    real = real_points(grid, 250, 2, real_set).numpy().astype(np.float64)
    assert m["emd_cost"] == cost and m["emd_real_set"] == real_set and m["emd_n"] == 250
    expected = _assignment_ot(samples.numpy().astype(np.float64), real, cost == "sqeuclidean")
    assert m["emd"] == pytest.approx(expected, rel=1e-9)
    other = draw_real(grid, 250, torch.Generator().manual_seed(_floor_seed(2)), real_set).numpy().astype(np.float64)
    assert m["emd_floor"] == pytest.approx(_assignment_ot(other, real, cost == "sqeuclidean"), rel=1e-9)


def _floor_seed(seed: int) -> int:
    from ganmc.io import derive_seed

    return derive_seed(seed, "emd-floor")


def test_extra_protocols_are_recorded_beside_the_main_one(tmp_path):
    grid = GaussianGrid("gaussians25")
    samples = grid.sample(200, torch.Generator().manual_seed(5))
    also = ["sqeuclidean/iid", "sqeuclidean/stratified", "euclidean/iid"]  # the last is the main one
    m = compute_metrics(samples, grid, _cfg(emd_also=also), seed=0, cache_dir=tmp_path)
    alone = compute_metrics(samples, grid, _cfg(emd_cost="sqeuclidean", real_set="stratified"), seed=0,
                            cache_dir=tmp_path)
    assert m["emd[sqeuclidean/stratified]"] == alone["emd"]
    assert m["emd_floor[sqeuclidean/stratified]"] == alone["emd_floor"]
    assert {"emd", "emd[sqeuclidean/iid]", "emd_floor[sqeuclidean/iid]"} <= set(m)
    assert "emd[euclidean/iid]" not in m  # the main protocol is not solved twice
    roll = compute_metrics(SwissRoll("swissroll").sample(200, torch.Generator()), SwissRoll("swissroll"),
                           _cfg(emd_also=also), seed=0, cache_dir=tmp_path)
    assert "emd[sqeuclidean/iid]" in roll and "emd[sqeuclidean/stratified]" not in roll  # skipped: no modes


def test_cli_records_w2_against_a_stratified_real_set(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "metric.emd_cost=sqeuclidean", "metric.real_set=stratified",
                           "metric.metrics=[emd]", f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    metrics, seed = record["metrics"], record["run"]["seed"]
    assert metrics["emd_cost"] == "sqeuclidean" and metrics["emd_real_set"] == "stratified"
    samples = np.load(out / "samples.npy").astype(np.float64)
    real = real_points(GaussianGrid("gaussians25"), len(samples), seed, "stratified").numpy().astype(np.float64)
    assert metrics["emd"] == pytest.approx(_assignment_ot(samples, real, squared=True), rel=1e-9)


def test_cli_refuses_a_stratified_swiss_roll_and_bad_protocols(run_cli, tmp_path):
    for bad, match in ((["dataset=swissroll", "metric.real_set=stratified"], "has none: use metric.real_set=iid"),
                       (["metric.emd_also=[sqeuclidean]"], "COST/REAL_SET")):
        out = tmp_path / bad[0].split("=")[0]
        code, _, err = run_cli("sample", *TINY, *bad, f"hydra.run.dir={out}")
        assert code != 0 and match in err, err
        assert not (out / "record.json").exists()
