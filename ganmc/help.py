"""``ganmc COMMAND --help``: the command's usage, its config groups and one line per key, read
from the schemas' descriptions (:func:`ganmc.config.opt`) and the YAML files, without composing
a config or importing torch, so it answers at once."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ganmc.common import MISSING
from ganmc.config import ImageMetricConfig, MetricConfig, RunConfig, ShapingConfig, TableConfig

CONF = Path(__file__).resolve().parent / "conf"
# The config groups each command's overrides choose from (GROUP=OPTION), and its usage beyond them.
GROUPS = {"table": ["report"]}
RUN_GROUPS = ["dataset", "gan", "metric", "sampler", "experiment"]
USAGE = {"sample": " [+sampler=NAME] [-m KEY=A,B ...]", "train": " [-m KEY=A,B ...]", "shape": " [sampler=NAME]"}
# The metric schemas (``schema/metric``), whose keys ``ganmc sample --help`` describes one by one.
METRIC_SCHEMAS = {"synthetic": MetricConfig, "image": ImageMetricConfig}


def _options(group: str) -> list[str]:
    """The options of a config group: its YAML files, nested ones as ``sub/NAME``."""
    folder = CONF / group
    return sorted(str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.yaml"))


def _default(f: dataclasses.Field[Any]) -> str:
    """A field's default as a command line would give it ('' when it has none)."""
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return ""
    if (isinstance(value, str) and value == MISSING) or dataclasses.is_dataclass(value):
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _defaults(path: Path) -> list[Any]:
    """The defaults list of a YAML config file: names and one-key mappings."""
    found = OmegaConf.to_container(OmegaConf.load(path).get("defaults", []))
    return found if isinstance(found, list) else []


def _choices(config: str) -> dict[str, str]:
    """The group options a config's defaults list chooses (``dataset: gaussians25``), following
    the config files it names (``run``)."""
    out: dict[str, str] = {}
    for entry in _defaults(CONF / f"{config}.yaml"):
        if isinstance(entry, str) and (CONF / f"{entry}.yaml").is_file():
            out.update(_choices(entry))
        elif isinstance(entry, dict):
            out.update({str(k): str(v) for k, v in entry.items() if v is not None and (CONF / str(k)).is_dir()})
    return out


def keys(schema: type, prefix: str = "", choices: dict[str, str] | None = None) -> list[str]:
    """One line per field of ``schema``: its key, its description, its default in brackets (for a
    config group, the option ``choices`` names)."""
    fields = dataclasses.fields(schema)
    width = max(len(prefix + f.name) for f in fields) + 2
    lines = []
    for f in fields:
        default = (choices or {}).get(f.name) or _default(f)
        lines.append(f"  {prefix + f.name:<{width}}{f.metadata.get('help', '')}" + (f" [{default}]" if default else ""))
    return lines


def _built_on(schema: str) -> list[str]:
    """The metric options (``metric=NAME``) whose YAML starts from metric schema ``schema``."""
    return [option for option in _options("metric") for entry in _defaults(CONF / "metric" / f"{option}.yaml")
            if isinstance(entry, dict) and any(str(k).startswith("/schema/metric") and v == schema
                                               for k, v in entry.items())]


def command_help(command: str) -> str:
    """The ``--help`` text of ``ganmc COMMAND``."""
    header = OmegaConf.load(CONF / f"{command}.yaml").hydra.help.header
    name = " [NAME]" if command == "table" else ""
    lines = [header, "", f"usage: ganmc {command}{name} [KEY=VALUE ...]{USAGE.get(command, '')} [--cfg job] [--hydra-help]",
             "", "Config groups (GROUP=OPTION):"]
    lines += [f"  {group + ':':<12} {', '.join(_options(group))}" for group in GROUPS.get(command, RUN_GROUPS)]
    lines += ["", "Keys (KEY=VALUE; default in brackets):"]
    lines += keys(TableConfig if command == "table" else RunConfig, choices=_choices(command))
    if command == "sample":
        for kind, schema in METRIC_SCHEMAS.items():
            lines += ["", f"metric.* (metric={', '.join(_built_on(kind))}):", *keys(schema, "metric.")]
    if command == "shape":
        lines += ["", "shape.*:", *keys(ShapingConfig, "shape.")]
    sampler = " (with +sampler=NAME: the sampler's keys)" if command == "sample" else ""
    lines += ["", f"'ganmc {command}{name} [KEY=VALUE ...] --cfg job' prints the composed config{sampler}; "
              "'--hydra-help' Hydra's own options."]
    return "\n".join(lines)
