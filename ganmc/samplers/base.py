"""The sampler interface and registry.

A sampler is one module under ``ganmc/samplers/`` holding its config dataclass (the defaults,
written once) and its class, registered with :func:`register_sampler`; one YAML under
``conf/sampler/`` picks the schema (``/schema/sampler@_here_: NAME``). ``Sampler(gan,
**hparams)`` builds the config from the keyword arguments, ``prepare(ctx)`` does the one-time
work (the derived D it names, then its own ``setup``), ``sample(n, generator)`` draws.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, ClassVar, TypeVar

import torch
from tqdm import tqdm

from ganmc.common import MISSING, bar_disable, enum_value, trim_heap
from ganmc.context import SamplingContext
from ganmc.discriminators import DerivedD, calibrated, derive
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN

__all__ = ["DKind", "DiscriminatorConfig", "SAMPLERS", "SampleBatch", "Sampler", "SamplerConfig", "SamplingContext",
           "device_generator", "register_sampler"]


@dataclass
class SampleBatch:
    """Output samples with their latents, statistics and cost.

    ``g_evals`` and ``d_evals`` count network evaluations (forward passes; a backward pass
    counts as one more) summed over the batch; divide by ``len`` for per-sample cost.
    ``extra`` holds further sample sets the run should also measure, such as DDLS's
    chain snapshots (``step_NNNN``); the run adds its exact-target estimate under ``@target``.
    ``labels``: each sample's class on a class-conditional GAN (``None`` on an unconditional one).
    """

    samples: torch.Tensor
    latents: torch.Tensor | None = None
    stats: dict[str, float] = field(default_factory=dict)
    g_evals: float = 0.0
    d_evals: float = 0.0
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    def take(self, index: torch.Tensor) -> SampleBatch:
        """The rows ``index`` of the samples, latents, labels and extra sets (stats and cost kept)."""
        def rows(t: torch.Tensor) -> torch.Tensor:
            return t[index.to(t.device)]

        return SampleBatch(rows(self.samples), None if self.latents is None else rows(self.latents), self.stats,
                           self.g_evals, self.d_evals, {k: rows(v) for k, v in self.extra.items()},
                           None if self.labels is None else rows(self.labels))

    @staticmethod
    def concat(parts: list[SampleBatch]) -> SampleBatch:
        """Join batches; statistics are averaged weighted by batch size."""
        sizes = [len(p) for p in parts]
        total = sum(sizes)
        keys = set().union(*(p.stats for p in parts))
        stats = {k: sum(p.stats.get(k, 0.0) * s for p, s in zip(parts, sizes)) / total for k in keys}
        latents = labels = None
        if all(p.latents is not None for p in parts):
            latents = torch.cat([p.latents for p in parts])  # type: ignore[misc]
        if all(p.labels is not None for p in parts):
            labels = torch.cat([p.labels for p in parts])  # type: ignore[misc]
        extra_keys = set().union(*(p.extra for p in parts))
        return SampleBatch(
            samples=torch.cat([p.samples for p in parts]),
            latents=latents,
            stats=stats,
            g_evals=sum(p.g_evals for p in parts),
            d_evals=sum(p.d_evals for p in parts),
            extra={k: torch.cat([p.extra[k] for p in parts if k in p.extra]) for k in extra_keys},
            labels=labels,
        )


def device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator:
    """``generator`` itself on CPU; on another device, a generator there seeded from it, so noise
    is drawn where the chains live (no host-to-device copy per step) and stays reproducible."""
    if device.type == "cpu":
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)


class DKind(Enum):
    """The D a sampler runs on."""

    raw = "raw"                # the GAN's own D
    calibrated = "calibrated"  # fine-tuned as a logistic classifier of real vs generator samples
    shaped = "shaped"          # shaped on real vs refined samples (collaborative sampling, Algorithm 2)


@dataclass
class DiscriminatorConfig:
    """The ``sampler.discriminator`` node: which D (``kind``) and, for a derived one, its
    fine-tuning schedule (Adam ``steps``, ``lr``, ``batch``; ``steps: 0`` is the raw D). Derived
    Ds are cached (:mod:`ganmc.discriminators`)."""

    kind: DKind = DKind.raw
    steps: int = 1500
    lr: float = 1e-3
    batch: int = 512


@dataclass
class SamplerConfig:
    """Base of every sampler's config node: Hydra builds ``partial(cls, **fields)``, ``build_sampler``
    passes the GAN."""

    _target_: str = MISSING
    _partial_: bool = True
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)


def discriminator_config(given: Any, default: DiscriminatorConfig) -> DiscriminatorConfig:
    """``given`` (a dataclass or a dict) over ``default``, with its kind as :class:`DKind`."""
    if isinstance(given, DiscriminatorConfig):
        out = given
    else:
        values = dict(given or {})
        unknown = set(values) - {f.name for f in fields(DiscriminatorConfig)}
        if unknown:
            raise GanmcError(f"sampler.discriminator has no key {sorted(unknown)[0]!r} (kind, steps, lr, batch)")
        out = replace(default, **values)
    try:
        kind = DKind(enum_value(out.kind))
    except ValueError:
        raise GanmcError(f"sampler.discriminator.kind must be one of {[k.value for k in DKind]}, "
                         f"got {out.kind!r}") from None
    check_ranges(out, {"steps": ">= 0", "lr": "> 0", "batch": ">= 1"}, "sampler.discriminator", "sampler.discriminator")
    return replace(out, kind=kind, steps=int(out.steps), lr=float(out.lr), batch=int(out.batch))


_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _holds(value: Any, rule: str) -> bool:
    """Whether ``value`` meets ``rule``: ``'OP BOUND'`` (``'>= 0'``) or ``'in (LO, HI]'`` (brackets
    as in maths: ``(`` excludes the bound, ``[`` includes it)."""
    if rule.startswith("in "):
        lo, hi = (float(b) for b in rule[4:-1].split(","))
        above = value > lo if rule[3] == "(" else value >= lo
        return bool(above and (value < hi if rule[-1] == ")" else value <= hi))
    op, bound = rule.split()
    return bool(_OPS[op](value, float(bound)))


def check_ranges(cfg: Any, rules: dict[str, str], prefix: str, who: str) -> None:
    """Refuse the first field of ``cfg`` that breaks its rule in ``rules`` (``{"n_steps": ">= 0"}``;
    ``None``, an unset optional, passes): one line naming the key, its value and what ``who`` needs."""
    for key, rule in rules.items():
        value = getattr(cfg, key)
        if value is not None and not _holds(value, rule):
            raise GanmcError(f"{prefix}.{key}={value}: {who} needs {key} {rule}")


class Sampler(ABC):
    """Base class. Subclasses set ``name`` and ``Config`` and implement :meth:`sample_batch`;
    ``derivations`` lists the D kinds the sampler can run on. The nets are put in eval mode."""

    name: ClassVar[str] = "sampler"
    Config: ClassVar[type[SamplerConfig]] = SamplerConfig
    derivations: ClassVar[tuple[DKind, ...]] = (DKind.raw, DKind.calibrated)
    # The sampler's smallest budget (``smoke=true``: rehearsals and smoke tests), merged over its
    # config; a ``discriminator`` entry merges into that node.
    smoke: ClassVar[dict[str, Any]] = {}
    # The range of each numeric setting (``{"n_steps": ">= 0", "step_decay": "in (0, 1]"}``),
    # checked when the sampler is built: a value outside is refused, naming the key and the value.
    ranges: ClassVar[dict[str, str]] = {}
    # Whether the run estimates the sampler's exact target (:mod:`ganmc.samplers.target`) when
    # it has target weights; a class-conditional GAN's samplers have one target per label: none.
    exact_target: ClassVar[bool] = True

    @classmethod
    def evals_per_sample(cls, config: Any) -> float:
        """Roughly how many G and D evaluations one output costs under ``config`` (an instance of
        the sampler's ``Config``; a run's budget check, before any compute; the record counts the
        real ones)."""
        return 2.0

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        self.gan = gan.eval()
        self.eval_batch: int | None = None  # inputs per bulk forward pass (None: the sampler's own sizes)
        self.prep_stats: dict[str, Any] = {}
        try:
            self.cfg: Any = self.Config(**hparams)
        except TypeError as exc:
            raise GanmcError(f"sampler {self.name}: {exc}") from None
        check_ranges(self.cfg, self.ranges, "sampler", self.name)
        self.cfg.discriminator = discriminator_config(self.cfg.discriminator, self.Config().discriminator)
        if self.cfg.discriminator.kind not in self.derivations:
            kinds = " or ".join(k.value for k in self.derivations)
            raise GanmcError(f"sampler {self.name} runs on a D of kind {kinds} (sampler.discriminator.kind), "
                             f"not {self.cfg.discriminator.kind.value!r}")

    def derived_d(self, ctx: SamplingContext) -> DerivedD | None:
        """The derived D this sampler runs on instead of the GAN's own, from ``sampler.discriminator``."""
        d: DiscriminatorConfig = self.cfg.discriminator
        if d.kind is DKind.raw or d.steps == 0:
            return None
        if d.kind is DKind.calibrated:
            return calibrated(d.steps, d.lr, d.batch)
        return self.shaping(ctx, d.steps, d.lr, d.batch)

    def shaping(self, ctx: SamplingContext, steps: int, lr: float, batch_size: int) -> DerivedD:
        """The shaped D's derivation (samplers that list ``DKind.shaped`` in ``derivations``)."""
        raise GanmcError(f"sampler {self.name} cannot shape its D")

    def setup(self, ctx: SamplingContext) -> None:
        """The sampler's own one-time work before its D is derived (default: nothing)."""
        return None

    def prepare(self, ctx: SamplingContext) -> None:
        """Work done once before sampling: :meth:`setup`, then the D of :meth:`derived_d`."""
        self.setup(ctx)
        spec = self.derived_d(ctx)
        if spec is not None:
            self.gan, path, _ = derive(self.gan, ctx, spec)
            self.prep_stats["discriminator_checkpoint"] = str(path)

    def propose(self, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``m`` generator proposals as (latent state, output): z from the prior and G(z)."""
        z = self.gan.prior.sample(m, generator, self.gan.device)
        return z, self.gan.generator(z)

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """log w of proposals (``propose``'s state and output) when the sampler aims at the exact
        target ``p_g * w`` (:mod:`ganmc.samplers.target` estimates it); ``None``: no such target."""
        return None

    def batched(self, fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        """``fn(inputs)`` computed in chunks of at most ``eval_batch`` rows (one call when unset),
        so a bulk pass over many images (DRS's pilot, MH-GAN's calibration) holds one chunk's
        activations at a time."""
        size = self.eval_batch or len(inputs)
        if len(inputs) <= size:
            return fn(inputs)
        return torch.cat([fn(part) for part in inputs.split(size)])

    @abstractmethod
    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        """Produce exactly ``n`` output samples."""

    def sample(self, n: int, generator: torch.Generator, batch_size: int | None = None,
               progress: bool = False, store: Callable[[torch.Tensor], torch.Tensor] | None = None) -> SampleBatch:
        """Produce ``n`` samples in batches of ``batch_size``; fail on non-finite output. ``store``
        maps each batch's samples (and extra sets) to the form kept until the end (images: uint8
        on the CPU), so memory grows by the kept samples only."""
        batch_size = batch_size or n
        parts: list[SampleBatch] = []
        done = 0
        with tqdm(total=n, desc=f"sample {self.name}", unit="sample",
                  disable=bar_disable(progress), dynamic_ncols=True) as bar:
            while done < n:
                m = min(batch_size, n - done)
                part = self.sample_batch(m, generator)
                if not all(bool(torch.isfinite(x).all()) for x in (part.samples, *part.extra.values())):
                    raise GanmcError(f"sampler {self.name} produced NaN/inf samples: lower its step size")
                if store is not None:
                    part.samples = store(part.samples)
                    part.extra = {k: store(v) for k, v in part.extra.items()}
                parts.append(part)
                trim_heap()  # the batch's temporaries are freed: memory grows by the kept samples only
                done += m
                bar.update(m)
        return SampleBatch.concat(parts)


SAMPLERS: dict[str, type[Sampler]] = {}
S = TypeVar("S", bound=type[Sampler])


def register_sampler(cls: S) -> S:
    """Class decorator: the sampler becomes ``+sampler=`` choosable through its ``Config``
    (stored in Hydra's ConfigStore as ``schema/sampler/<name>``)."""
    if cls.Config is SamplerConfig:
        raise TypeError(f"sampler {cls.__name__} needs its own Config dataclass")
    SAMPLERS[cls.name] = cls
    return cls
