"""Samplers: one class per method, one interface (:class:`ganmc.samplers.base.Sampler`)."""

from ganmc.samplers.base import SampleBatch, Sampler, SamplingContext
from ganmc.samplers.generator import GeneratorSampler

__all__ = ["GeneratorSampler", "SampleBatch", "Sampler", "SamplingContext"]
