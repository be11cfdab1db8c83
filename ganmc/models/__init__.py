"""Generator and discriminator families, latent priors and checkpoint I/O."""
