"""What the commands are made of: obtaining data and GAN (:mod:`.gans`), the sampler
(:mod:`.sampler`), measuring (:mod:`.measure`, a metric registry), the run's files
(:mod:`.outputs`), ``ganmc train`` / ``ganmc sample`` themselves (:mod:`.commands`) and
``ganmc shape`` (:mod:`.shape`)."""

from ganmc.io import derive_seed
from ganmc.metrics.registry import compute_metrics, register_metric
from ganmc.run.commands import run_sample, run_train
from ganmc.run.gans import build_dataset, gan_lock, obtain_gan, resolve_device
from ganmc.run.sampler import build_sampler, construct_sampler

__all__ = ["build_dataset", "build_sampler", "compute_metrics", "construct_sampler", "derive_seed", "gan_lock",
           "obtain_gan", "register_metric", "resolve_device", "run_sample", "run_train"]
