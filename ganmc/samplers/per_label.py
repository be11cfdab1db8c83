"""Sampling a class-conditional GAN: the configured sampler once per label.

Each sample's label comes from the label spec (:mod:`ganmc.data.classes`: ``"uniform"`` by
default). The samples of one label are drawn by the configured sampler on the GAN at that label
(:meth:`GAN.given <ganmc.models.gan.GAN.given>`: G(., y) and D(., y)), prepared on that class's
real data (:class:`ganmc.data.classes.ClassData`): the label is held fixed along a chain (DDLS,
collaborative refinement, DOT) and over a chain's or a rejection loop's proposals (MH-GAN, DRS).
Each label's sampler keeps its own one-time state, fitted to its class (DRS's largest logit,
MH-GAN's score calibration, the median stopping threshold, DOT's K, a calibrated or shaped D),
and is prepared when its label is first sampled. The samples come back in the order of their
labels, with the labels. An unconditional GAN never comes here: its path is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from ganmc.data.classes import ClassData, draw_labels, parse_labels
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import SampleBatch, Sampler, SamplingContext


class PerLabel(Sampler):
    """The sampler ``make(gan.given(label))`` for each label of a class-conditional ``gan``;
    ``labels``: the label spec (``sampler_labels``)."""

    exact_target = False  # one target per label: the run estimates none

    def __init__(self, make: Callable[[GAN], Sampler], gan: GAN, labels: Any = None) -> None:
        # Sampler.__init__ is not called: the per-label samplers build and check their own configs
        if gan.num_classes is None:
            raise ValueError("PerLabel samples a class-conditional GAN")
        self.gan, self.make = gan, make
        self.spec = parse_labels(labels, gan.num_classes, None, "sampler_labels")
        first = make(gan.given(0))  # built now: its settings are checked before any compute
        self.samplers: dict[int, Sampler] = {0: first}
        self.name, self.cfg = first.name, first.cfg  # type: ignore[misc]
        self.eval_batch = first.eval_batch
        self.prep_stats: dict[str, Any] = {}
        self.ctx: SamplingContext | None = None
        self.prepared: set[int] = set()

    def prepare(self, ctx: SamplingContext) -> None:
        """Keep ``ctx``: each label's sampler is prepared on its class's data when first sampled."""
        self.ctx = ctx

    def at(self, label: int) -> Sampler:
        """The sampler at ``label``, prepared (its preparation's stats under ``label_K``)."""
        if self.ctx is None:
            raise GanmcError(f"sampler {self.name}: prepare it before sampling")
        if label not in self.samplers:
            self.samplers[label] = self.make(self.gan.given(label))
        sampler = self.samplers[label]
        if label not in self.prepared:
            sampler.prepare(replace(self.ctx, dataset=ClassData(self.ctx.dataset, label)))
            if sampler.prep_stats:
                self.prep_stats[f"label_{label}"] = sampler.prep_stats
            self.prepared.add(label)
        return sampler

    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        return self.sample(n, generator)

    def sample(self, n: int, generator: torch.Generator, batch_size: int | None = None,
               progress: bool = False, store: Callable[[torch.Tensor], torch.Tensor] | None = None) -> SampleBatch:
        """``n`` samples: their labels drawn first (with ``generator``), then each label's samples
        by its sampler, in increasing label order; returned in the labels' order, with them."""
        assert self.gan.num_classes is not None and self.spec is not None
        dataset = self.ctx.dataset if self.ctx is not None else None
        labels = draw_labels(self.spec, n, self.gan.num_classes, dataset, generator)
        groups = [(int(k), (labels == k).nonzero().flatten()) for k in labels.unique()]
        parts = [self.at(k).sample(len(rows), generator, batch_size, progress, store) for k, rows in groups]
        order = torch.cat([rows for _, rows in groups])
        batch = SampleBatch.concat(parts).take(torch.argsort(order))
        batch.labels = labels
        return batch
