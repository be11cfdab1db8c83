"""ganmc: sample better from a trained GAN with its discriminator, and measure it.

The Python API (:mod:`ganmc.api`, imported on first use)::

    gan = ganmc.GAN.from_modules(G, D, latent_dim=2, prior="normal", d_output="logit")
    out = ganmc.sample(gan, "ddls", n=5000, seed=0)      # any preset of ganmc/conf/sampler/
    ganmc.measure(out.samples, dataset="gaussians25", metrics=["modes", "emd"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names, all from ganmc.api: imported lazily, so `import ganmc` stays light.
__all__ = ["GAN", "SampleBatch", "TensorData", "load_gan", "measure", "presets", "sample"]

if TYPE_CHECKING:
    from ganmc.api import GAN, SampleBatch, TensorData, load_gan, measure, presets, sample


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ganmc import api

        return getattr(api, name)
    raise AttributeError(f"module 'ganmc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(["__version__", *__all__])
