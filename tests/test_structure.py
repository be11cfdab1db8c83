"""The package's contracts: a sampler is one module plus one YAML; imports go one way only."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ganmc"
# Lower layers that must never import the layers above them.
LOWER = ("ganmc.models", "ganmc.data", "ganmc.metrics", "ganmc.discriminators")
UPPER = ("ganmc.samplers", "ganmc.run", "ganmc.cli", "ganmc.tables", "ganmc.config")
# Packages that take the config resolved into typed values (ganmc.settings), never a config node.
TYPED = ("ganmc.models", "ganmc.samplers", "ganmc.metrics", "ganmc.discriminators")
MAX_LINES = 310


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every ganmc module -> the ganmc modules it imports (at any depth of its code)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ganmc"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("ganmc"))
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_lower_layers_never_import_samplers_pipeline_or_cli():
    bad = [(mod, dep) for mod, deps in _imports().items() if mod.startswith(LOWER)
           for dep in deps if dep.startswith(UPPER)]
    assert not bad, f"upward imports: {bad}"


def test_models_samplers_metrics_and_discriminators_never_import_omegaconf():
    """The run resolves its config at the top (:mod:`ganmc.settings`): these packages take typed
    values, so none of their modules imports omegaconf (``DictConfig``, ``OmegaConf``, ``MISSING``)."""
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if not _module(path).startswith(TYPED):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad += [f"{_module(path)}: {name}" for name in names if name.split(".")[0] == "omegaconf"]
    assert not bad, f"omegaconf imported below the run: {bad}"


def test_a_sampler_gets_its_settings_as_plain_values(compose_cfg):
    """Lists and nested nodes of the sampler's config reach it as Python lists and dataclasses."""
    from dataclasses import fields

    from omegaconf import Container

    from ganmc.models.gan import GAN
    from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
    from ganmc.models.prior import Prior
    from ganmc.run.sampler import construct_sampler

    gan = GAN(MLPGenerator(2, 2, width=8, depth=2), MLPDiscriminator(2, width=8, depth=2), Prior("normal", 2), "ns")
    cfg = compose_cfg("+sampler=ddls", "sampler.snapshot_steps=[1,2]", "sampler.discriminator.kind=calibrated")
    c = construct_sampler(cfg, gan).cfg
    values = [getattr(c, f.name) for f in fields(c)] + [getattr(c.discriminator, f.name) for f in fields(c.discriminator)]
    assert not [v for v in values if isinstance(v, Container)]
    assert c.snapshot_steps == [1, 2] and type(c.snapshot_steps) is list


def test_no_import_cycle_between_modules():
    graph = _imports()
    # a package's __init__ re-exports its modules: edges into a package's own modules are not cycles
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, f"import cycles: {cycles}"


def test_no_package_module_is_over_about_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_a_copied_sampler_module_and_yaml_make_a_new_sampler(tmp_path):
    """The generator's .py and .yaml copied under a new name, names changed inside: `ganmc sample
    +sampler=mygen` works without touching any other file (in a copy of the package)."""
    pkg = tmp_path / "ganmc"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    source = (PACKAGE / "samplers" / "generator.py").read_text()
    renamed = source.replace("GeneratorSampler", "MyGenSampler").replace('"generator"', '"mygen"') \
        .replace("ganmc.samplers.generator.", "ganmc.samplers.mygen.")
    assert renamed != source
    (pkg / "samplers" / "mygen.py").write_text(renamed)
    yaml = (PACKAGE / "conf" / "sampler" / "generator.yaml").read_text()
    (pkg / "conf" / "sampler" / "mygen.yaml").write_text(yaml.replace("generator", "mygen"))
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "ganmc.cli", "sample", "+sampler=mygen", "n_samples=300", "plot=false",
                           "metric.target=true",
                           f"checkpoint_dirs=[{ROOT / 'checkpoints'}]", f"cache_dir={tmp_path / 'cache'}",
                           f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((run_dir / "record.json").read_text())
    assert record["run"]["sampler"] == "mygen" and record["run"]["method"] == "mygen"
    assert record["config"]["sampler"]["_target_"] == "ganmc.samplers.mygen.MyGenSampler"
    assert record["metrics"]["hq_percent"] > 50 and record["target"]["reliable"]


@pytest.mark.parametrize("preset", sorted(p.stem for p in (PACKAGE / "conf" / "sampler").glob("*.yaml")))
def test_every_sampler_preset_builds_its_registered_class(compose_cfg, preset):
    from hydra.utils import get_class

    from ganmc.samplers import SAMPLERS

    cfg = compose_cfg(f"+sampler={preset}")
    cls = get_class(cfg.sampler._target_)
    assert SAMPLERS[cls.name] is cls
