"""Samplers: one module per method, one interface (:class:`ganmc.samplers.base.Sampler`).

Importing this package imports every module in it, so each ``@register_sampler`` class is in
:data:`SAMPLERS` (and its config in Hydra's ConfigStore, :func:`ganmc.config.register_configs`):
a new sampler is a new module here plus its YAML under ``conf/sampler/``.
"""

import importlib
import pkgutil

from ganmc.samplers.base import SAMPLERS, SampleBatch, Sampler, SamplingContext, register_sampler
from ganmc.samplers.generator import GeneratorSampler

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SAMPLERS", "GeneratorSampler", "SampleBatch", "Sampler", "SamplingContext", "register_sampler"]
