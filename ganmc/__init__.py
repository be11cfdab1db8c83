"""ganmc: sample better from a trained GAN with its discriminator, and measure it."""

__version__ = "0.1.0"
