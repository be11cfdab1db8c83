"""Checks made before any compute (and on the samples before they are measured).

Each failure is one :class:`GanmcError` line: a value a schema cannot check (sizes, device,
ranges), a key added with ``+`` that no schema knows, sampler options without a sampler, a
sampler setting its constructor refuses, a GAN whose nets do not take the data's form, a metric
named on the command line that does not apply to the data, a sample set larger than the memory
or disk that must hold it, a folder that cannot be written, samples of absurd magnitude.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganmc.common import enum_value
from ganmc.errors import GanmcError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
# Samples beyond this magnitude mean a diverged sampler (data sets here live within |x| < 100).
MAX_ABS_SAMPLE = 1e6
# Config nodes typed only once a group option is chosen, and what choosing one means.
_GROUPS = {"sampler": "add +sampler=NAME before its options (ganmc sample --help lists them)",
           "shape": "shape.* options are for `ganmc shape`"}
# Most torch CPU threads a run may ask for (``threads=``): far above any useful count, far
# below the counts that crash torch's thread pool (threads=100000 ended in a segfault).
MAX_THREADS = 1024


def _positive(cfg: DictConfig, keys: list[str]) -> None:
    for key in keys:
        node, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, node) if node else cfg
        value = parent[leaf]
        if value is None or value <= 0:
            raise GanmcError(f"{key} must be positive, got {value}")


def unknown_keys(node: Any, prefix: str = "") -> list[str]:
    """Dotted keys of typed config nodes that their schema lacks (``+key=value`` adds a key even
    to a struct config, so composition alone does not catch ``+n_sample=500``)."""
    if not isinstance(node, DictConfig) or node._is_none() or node._is_missing():
        return []
    schema = OmegaConf.get_type(node)
    fields = {f.name for f in dataclasses.fields(schema)} if dataclasses.is_dataclass(schema) else None
    found: list[str] = []
    for key in node.keys():
        if fields is not None and key not in fields:
            found.append(f"{prefix}{key}")
            continue
        try:
            child = node._get_node(key)
        except OmegaConfBaseException:
            continue
        found += unknown_keys(child, f"{prefix}{key}.")
    return found


def check_keys(cfg: DictConfig) -> None:
    """Refuse keys no schema knows and group options given without choosing the group."""
    unknown = unknown_keys(cfg)
    if unknown:
        raise GanmcError(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
                         "check the spelling ('ganmc COMMAND --help' shows the config)")
    for group, hint in _GROUPS.items():
        node = cfg.get(group)
        if isinstance(node, DictConfig) and not dataclasses.is_dataclass(OmegaConf.get_type(node)):
            given = ", ".join(f"{group}.{k}" for k in node.keys())
            raise GanmcError(f"{given} given but no {group} is chosen: {hint}")


def non_finite(node: Any, prefix: str = "") -> list[str]:
    """``KEY=VALUE`` of every float in the config that is NaN or infinite (a schema takes
    ``nan`` and ``inf`` as floats, and ``nan`` slips through every ``<=``/``>`` range check)."""
    if isinstance(node, DictConfig):
        items = [(f"{prefix}{k}", node._get_node(k)) for k in node.keys()]
    elif isinstance(node, ListConfig):
        items = [(f"{prefix}[{i}]", node._get_node(i)) for i in range(len(node))]
    else:
        return []
    found: list[str] = []
    for key, child in items:
        if isinstance(child, DictConfig | ListConfig):
            found += non_finite(child, f"{key}." if isinstance(child, DictConfig) else key)
            continue
        try:
            value = child._value() if child is not None else None
        except OmegaConfBaseException:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            found.append(f"{key}={value}")
    return found


def check_budget(cfg: DictConfig) -> None:
    """Refuse a run whose sampler (the generator alone when none is chosen) asks for more than
    ``max_evals`` G and D evaluations, with the estimate, before anything is computed (an absurd
    ``n_steps`` or ``n_samples`` would otherwise run for days)."""
    node = cfg.get("sampler")
    if cfg.get("smoke") or (node is not None and "_target_" not in node):
        return
    from hydra.utils import get_class

    from ganmc.samplers import GeneratorSampler

    config = None if node is None else OmegaConf.to_object(node)  # the sampler's Config dataclass
    per = (GeneratorSampler if node is None else get_class(str(node._target_))).evals_per_sample(config)
    total = per * int(cfg.n_samples)
    if total > float(cfg.max_evals):
        raise GanmcError(f"this run asks for about {total:.3g} G and D evaluations ({per:.3g} per sample x "
                         f"{int(cfg.n_samples)} samples), over max_evals={float(cfg.max_evals):.3g}: lower the "
                         "sampler's budget or n_samples, or raise max_evals to run it anyway")


def validate_run(cfg: DictConfig) -> None:
    """Check what a schema cannot: no unknown keys, finite numbers, sizes positive, device known,
    snapshots in range."""
    check_keys(cfg)
    bad = non_finite(cfg)
    if bad:
        raise GanmcError(f"{', '.join(bad)}: every number in the config must be finite (not nan or inf)")
    _positive(
        cfg,
        [
            "n_samples",
            "batch_size",
            "gan.latent_dim",
            "gan.train.iterations",
            "gan.train.batch_size",
            "gan.train.n_critic",
            "gan.train.lr_g",
            "gan.train.lr_d",
            "max_evals",
        ],
    )
    if cfg.get("eval_batch") is not None and cfg.eval_batch <= 0:
        raise GanmcError(f"eval_batch must be positive or null, got {cfg.eval_batch}")
    if cfg.get("threads") is not None and not 1 <= cfg.threads <= MAX_THREADS:
        raise GanmcError(f"threads must be positive and at most {MAX_THREADS} (or null: automatic), got {cfg.threads}")
    check_budget(cfg)
    if "hq_threshold" in cfg.metric:
        _positive(cfg, ["metric.hq_threshold"])
    if "classifier" in cfg.metric:
        _positive(cfg, ["metric.batch_size", "metric.isc_splits", "metric.classifier.width",
                        "metric.classifier.steps", "metric.classifier.lr", "metric.classifier.batch_size"])
        if cfg.metric.n_ref is not None and cfg.metric.n_ref <= 0:
            raise GanmcError(f"metric.n_ref must be positive or null, got {cfg.metric.n_ref}")
        if "is" in cfg.metric.metrics and cfg.n_samples < cfg.metric.isc_splits:
            raise GanmcError(f"IS over metric.isc_splits={cfg.metric.isc_splits} splits needs n_samples >= "
                             f"{cfg.metric.isc_splits}, got {cfg.n_samples}: raise n_samples or lower isc_splits")
    for part in ("generator", "discriminator"):
        net = cfg.gan[part]
        _positive(cfg, [f"gan.{part}.{k}" for k in ("width", "depth", "base_width", "channels") if k in net])
    from ganmc.models.own import check_own_config
    from ganmc.settings import gan_config, plain_value

    check_own_config(gan_config(cfg), plain_value(cfg.get("sampler_labels")), int(cfg.n_samples))
    if cfg.gan.train.get("grid_every", 0) < 0:
        raise GanmcError(f"gan.train.grid_every must be >= 0, got {cfg.gan.train.grid_every}")
    if cfg.metric.sir_factor < 0 or cfg.metric.sir_max_pool < 0:
        raise GanmcError("metric.sir_factor and metric.sir_max_pool must be >= 0")
    if cfg.metric.target and cfg.metric.sir_factor < 1:
        raise GanmcError("metric.target=true needs metric.sir_factor >= 1 (its pool is sir_factor * n proposals), "
                         f"got {cfg.metric.sir_factor}: metric.target=false turns the estimate off")
    extra = set(cfg.metric.get("target_metrics") or []) - set(cfg.metric.metrics)
    if extra:
        raise GanmcError(f"metric.target_metrics names {sorted(extra)}, not in metric.metrics {list(cfg.metric.metrics)}")
    check_emd(cfg)
    if cfg.seed < 0:
        raise GanmcError(f"seed must be non-negative, got {cfg.seed}")
    device = str(cfg.device)
    if device != "auto" and device != "cpu" and not device.startswith("cuda"):
        raise GanmcError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got '{device}'")
    bad = [s for s in cfg.gan.train.snapshots if not 0 < s <= cfg.gan.train.iterations]
    if bad:
        raise GanmcError(f"gan.train.snapshots {bad} must lie in 1..gan.train.iterations")


def check_emd(cfg: DictConfig) -> None:
    """``metric.emd_n`` positive (above ``n_samples``: the EMD uses every sample, said in a
    warning); each of ``metric.emd_also`` a protocol, each measured once (a repeat, or the main
    protocol, is said in a log line and solved once)."""
    metric, n = cfg.metric, int(cfg.n_samples)
    if metric.get("emd_n") is not None and metric.emd_n <= 0:
        raise GanmcError(f"metric.emd_n must be positive, got {metric.emd_n}")
    emd_asked = {"emd", "emd_floor"} & {str(name) for name in metric.get("metrics") or []}
    if emd_asked and metric.get("emd_n") is not None and metric.emd_n > n:
        log.warning("metric.emd_n=%d is more than n_samples=%d: the EMD uses all %d samples per side",
                    metric.emd_n, n, n)
    if not metric.get("emd_also"):
        return
    from ganmc.metrics.emd import parse_protocol  # (POT: imported only when needed)

    main = (enum_value(metric.emd_cost), enum_value(metric.get("real_set", "iid")))
    seen: set[tuple[str, str]] = set()
    for text in metric.emd_also:
        protocol = parse_protocol(text)
        if protocol == main:
            log.info("metric.emd_also: %s is the main protocol (metric.emd_cost, metric.real_set): "
                     "measured once, as emd", text)
        elif protocol in seen:
            log.info("metric.emd_also lists %s more than once: measured once", text)
        seen.add(protocol)


def check_sampler(cfg: DictConfig, dataset: Any) -> None:
    """Construct the configured sampler on an untrained stand-in of the GAN (its nets are only
    initialised: cheap), so the sampler's own range checks fail before training, not after."""
    if cfg.get("sampler") is None:
        return
    from ganmc.models.gan import build_gan, data_shape
    from ganmc.run.sampler import construct_sampler
    from ganmc.settings import gan_config

    construct_sampler(cfg, build_gan(gan_config(cfg), data_shape(dataset), int(cfg.seed)))


def probe_writable(folder: str | Path, key: str) -> Path:
    """Create ``folder`` if needed and write (and remove) a file in it, so a folder that cannot
    take the results fails before any training; ``key`` names the setting that moves it."""
    path = Path(str(folder)).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise GanmcError(f"{key}={path} cannot be written ({exc.strerror or exc}): "
                         f"set {key}= to a writable folder") from None
    return path


def check_magnitude(samples: torch.Tensor, what: str) -> None:
    """Refuse non-finite samples or samples beyond :data:`MAX_ABS_SAMPLE` (a diverged sampler
    whose numbers would otherwise enter a record as if it had succeeded)."""
    if samples.numel() == 0:
        return
    peak = float(samples.detach().abs().max())
    if peak != peak or peak > MAX_ABS_SAMPLE:  # NaN compares unequal to itself
        size = "NaN/inf" if peak != peak or peak == float("inf") else f"|x| up to {peak:.3g}"
        raise GanmcError(f"{what} produced samples with {size} (the limit is {MAX_ABS_SAMPLE:.0e}): "
                         "it diverged, lower its step size or learning rate")


def check_gan_fits(cfg: DictConfig, dataset: Any) -> None:
    """The GAN's nets take the data's form: vector nets (``out_dim``: MLPs) 2-D points, image
    nets (``out_shape``: DCGAN, SN-GAN) images, as :func:`ganmc.models.gan.build_gan` builds them.
    Nets of your own (``gan.factory``, TorchScript) are checked by their contracts instead."""
    from hydra.utils import get_class

    if cfg.gan.get("factory") or (cfg.gan.get("checkpoint")
                                  and enum_value(cfg.gan.get("checkpoint_format")) == "torchscript"):
        return

    from ganmc.models.gan import data_shape

    images = not isinstance(data_shape(dataset), int)
    holds, other, example = ("images", "2-D points", "dcgan32") if images else ("2-D points", "images", "wgan_gp_mlp")
    wanted = {"generator": "out_shape", "discriminator": "in_shape"} if images else \
        {"generator": "out_dim", "discriminator": "in_dim"}
    for part, argument in wanted.items():
        target = str(cfg.gan[part].get("_target_", ""))
        try:
            params = inspect.signature(get_class(target)).parameters
        except Exception:  # noqa: BLE001 - an unknown target fails, with its own message, when built
            continue
        if argument not in params:
            raise GanmcError(f"gan={cfg.gan.name} is a GAN for {other} ({target.rsplit('.', 1)[-1]}) but dataset="
                             f"{dataset.name} holds {holds}: choose a GAN for {holds} (e.g. gan={example})")


def named_on_command_line(key: str) -> bool:
    """Whether this job's command line (its Hydra task overrides) sets ``key`` itself, as opposed
    to a config file or experiment setting it."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return False
    return any(str(text).lstrip("+~").partition("=")[0] == key for text in HydraConfig.get().overrides.task)


def preflight(cfg: DictConfig, run_dir: Path, dataset: Any) -> None:
    """What can fail before compute, checked before it: the GAN fits the data, the metrics named
    on the command line apply to it, the samples fit in memory and on disk, the sampler's
    settings (on a stand-in GAN), and that the run folder and the cache take files."""
    from ganmc.metrics.registry import check_named_metrics
    from ganmc.resources import check_sample_size

    check_gan_fits(cfg, dataset)
    if named_on_command_line("metric.metrics"):
        check_named_metrics(dataset, [enum_value(name) for name in cfg.metric.metrics])
    check_sample_size(int(cfg.n_samples), dataset, run_dir)
    check_sampler(cfg, dataset)
    if enum_value(cfg.metric.get("real_set", "iid")) == "stratified" and getattr(dataset, "centres", None) is None:
        raise GanmcError(f"metric.real_set=stratified needs a mixture with modes, and dataset={dataset.name} "
                         "has none: use metric.real_set=iid")
    probe_writable(run_dir, "hydra.run.dir")
    probe_writable(cfg.cache_dir, "cache_dir")
