"""Hydra configs shipped with ganmc (``conf/`` at the repository root links here)."""
