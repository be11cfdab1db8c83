"""GAN training: WGAN-GP and non-saturating losses, Adam or SGD, ``n_critic`` D steps.

All randomness (initialisation, data, latents, gradient-penalty mixing) comes from ``seed``,
so training on CPU is bit-reproducible for a seed.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ganmc.common import bar_disable, enum_value
from ganmc.data import Dataset
from ganmc.errors import GanmcError
from ganmc.grid import save_grid
from ganmc.io import write_atomic
from ganmc.models.gan import GAN
from ganmc.models.schemas import TrainConfig
from ganmc.weights import load_weights

log = logging.getLogger(__name__)
RESUME_FORMAT = "ganmc.resume/1"
# A CPU training whose rest is estimated past this many seconds says so in one log line, with how
# to stop and resume it and what is shipped instead; the estimate times the iterations after the
# first (warm-up) one, TIMED_ITERATIONS of them.
NOTICE_SECONDS = 120.0
TIMED_ITERATIONS = 5


def _optimizer(params: Any, kind: str, lr: float, betas: list[float]) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(float(betas[0]), float(betas[1])))
    return torch.optim.SGD(params, lr=lr)


def gradient_penalty(discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
    """WGAN-GP penalty: (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), generator=generator).to(real.device)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def d_loss(gan: GAN, real: torch.Tensor, fake: torch.Tensor, gp_weight: float,
           generator: torch.Generator) -> torch.Tensor:
    """Discriminator loss of the GAN's objective."""
    d_real, d_fake = gan.discriminator(real), gan.discriminator(fake)
    if gan.loss == "wgan_gp":
        gp = gradient_penalty(gan.discriminator, real, fake, generator)
        return d_fake.mean() - d_real.mean() + gp_weight * gp
    if gan.loss == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def g_loss(gan: GAN, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss: critic value (WGAN, hinge) or the non-saturating loss."""
    d_fake = gan.discriminator(fake)
    if gan.loss in ("wgan_gp", "hinge"):
        return -d_fake.mean()
    return F.softplus(-d_fake).mean()


def train_gan(
    gan: GAN,
    dataset: Dataset,
    train_cfg: TrainConfig,
    seed: int,
    progress: bool = True,
    on_snapshot: Callable[[int, dict[str, Any]], None] | None = None,
    grid_dir: Path | None = None,
    resume: Path | None = None,
    resume_every: int = 500,
    alternative: str = "",
) -> dict[str, Any]:
    """Train ``gan`` in place for ``train_cfg.iterations`` generator steps; return a record.

    ``on_snapshot(step, record)`` is called after each step listed in ``train_cfg.snapshots``.
    With ``grid_dir`` and ``train_cfg.grid_every`` > 0, image GANs write a grid of 64 samples
    from fixed latents every ``grid_every`` steps (own random stream: training is unchanged).
    With ``resume``, the whole training state (weights, optimiser moments, random stream, step)
    is written there every ``resume_every`` steps and at the end, and training starts from it
    when it holds an earlier step: an interrupted or longer run continues bit-identically.
    On a CPU, once the first iterations are timed, a rest estimated past :data:`NOTICE_SECONDS`
    is said in one log line (ending with ``alternative``: what is shipped instead).
    """
    device = gan.device
    rng = torch.Generator().manual_seed(seed)
    kind = enum_value(train_cfg.optimizer)
    opt_g = _optimizer(gan.generator.parameters(), kind, train_cfg.lr_g, list(train_cfg.betas))
    opt_d = _optimizer(gan.discriminator.parameters(), kind, train_cfg.lr_d, list(train_cfg.betas))
    batch, snapshots = int(train_cfg.batch_size), set(int(s) for s in train_cfg.snapshots)
    history: list[dict[str, float]] = []
    first, elapsed = 1, 0.0
    if resume is not None:
        state = load_resume_state(resume, gan, opt_g, opt_d, rng, int(train_cfg.iterations))
        if state is not None:
            first, elapsed, history = state["step"] + 1, float(state["wall_seconds"]), list(state["history"])
            log.info("resuming training from step %d (%s)", state["step"], resume)
    log_every = max(1, int(train_cfg.iterations) // 100)
    grid_every = int(train_cfg.grid_every or 0) if grid_dir is not None else 0
    grid_z = gan.prior.sample(64, torch.Generator().manual_seed(seed + 1), device) if grid_every else None
    gan.generator.train()
    gan.discriminator.train()
    start = time.perf_counter() - elapsed
    bar = tqdm(range(first, int(train_cfg.iterations) + 1), desc=f"train {gan.loss}",
               disable=bar_disable(progress), dynamic_ncols=True, initial=first - 1,
               total=int(train_cfg.iterations))
    timed = 0.0
    for step in bar:
        for _ in range(int(train_cfg.n_critic)):
            real = dataset.sample(batch, rng).to(device)
            with torch.no_grad():
                fake = gan.generator(gan.prior.sample(batch, rng, device))
            loss_d = d_loss(gan, real, fake, float(train_cfg.gp_weight), rng)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        fake = gan.generator(gan.prior.sample(batch, rng, device))
        loss_g = g_loss(gan, fake)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step == first:
            timed = time.perf_counter()
        elif step == first + TIMED_ITERATIONS and device.type == "cpu":
            left = int(train_cfg.iterations) - step
            _notice((time.perf_counter() - timed) / TIMED_ITERATIONS, left, resume, resume_every, alternative)
        if bar.disable and progress and step % max(1, int(train_cfg.iterations) // 10) == 0:  # no terminal
            took = time.perf_counter() - start
            log.info("training: iteration %d of %d (%.0f s, ~%.0f s left)", step, int(train_cfg.iterations),
                     took, took / step * (int(train_cfg.iterations) - step))  # resumed: took counts from step 1
        if step % log_every == 0 or step == int(train_cfg.iterations):
            ld, lg = loss_d.item(), loss_g.item()
            if not (math.isfinite(ld) and math.isfinite(lg)):
                raise GanmcError(f"training diverged by step {step} (loss is NaN/inf): lower the learning rates")
            history.append({"step": step, "d_loss": ld, "g_loss": lg})
            bar.set_postfix(d=f"{ld:.3f}", g=f"{lg:.3f}")
        if grid_z is not None and (step % grid_every == 0 or step == int(train_cfg.iterations)):
            write_grid(gan, grid_z, Path(grid_dir) / f"grid_{step:07d}.png")  # type: ignore[arg-type]
        if on_snapshot is not None and step in snapshots:
            on_snapshot(step, _record(history, start, step, device))
        if resume is not None and (step % resume_every == 0 or step == int(train_cfg.iterations)):
            save_resume_state(resume, gan, opt_g, opt_d, rng, step, history, time.perf_counter() - start)
    gan.eval()
    return _record(history, start, int(train_cfg.iterations), device)


def _notice(per_iteration: float, left: int, resume: Path | None, resume_every: int, alternative: str) -> None:
    """The one log line of a CPU training whose ``left`` iterations take over ``NOTICE_SECONDS``."""
    seconds = per_iteration * left
    if seconds <= NOTICE_SECONDS:
        return
    stop = (f"Ctrl-C stops it and the same command resumes from the last state saved (every {resume_every} "
            f"iterations and at the end: {resume})" if resume is not None
            else "Ctrl-C stops it, but no resume state is kept (retrain=true): a rerun starts over")
    took = f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"
    log.info("training on the CPU will take about %s (%d iterations left at %.3g s each, timed over %d); %s%s",
             took, left, per_iteration, TIMED_ITERATIONS, stop, f"; {alternative}" if alternative else "")


def save_resume_state(path: Path, gan: GAN, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                      rng: torch.Generator, step: int, history: list[dict[str, float]],
                      wall_seconds: float) -> None:
    """Write everything training needs to continue after ``step``, atomically."""
    payload = {"format": RESUME_FORMAT, "step": int(step), "wall_seconds": float(wall_seconds),
               "generator": gan.generator.state_dict(), "discriminator": gan.discriminator.state_dict(),
               "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "rng": rng.get_state(),
               "history": [dict(h) for h in history]}
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def load_resume_state(path: Path, gan: GAN, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                      rng: torch.Generator, iterations: int) -> dict[str, Any] | None:
    """Restore a resume state written by :func:`save_resume_state` into the given objects.

    Returns it, or ``None`` (nothing restored) when there is none, it is unreadable, or it is
    past ``iterations`` (a shorter run than the saved one starts afresh).
    """
    if not path.is_file():
        return None
    try:
        state = load_weights(path, "resume state")
        if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
            raise ValueError("not a ganmc resume state")
        if int(state["step"]) > iterations:
            return None
    except Exception as exc:  # noqa: BLE001 - a bad state file only costs a fresh start
        log.warning("ignoring unreadable resume state %s (%s): training from the start", path, exc)
        return None
    initial = (copy.deepcopy(gan.generator.state_dict()), copy.deepcopy(gan.discriminator.state_dict()))
    try:
        gan.generator.load_state_dict(state["generator"])
        gan.discriminator.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        rng.set_state(state["rng"])
    except Exception as exc:  # noqa: BLE001 - a state of another architecture: start afresh
        gan.generator.load_state_dict(initial[0])
        gan.discriminator.load_state_dict(initial[1])
        log.warning("ignoring resume state %s that does not fit (%s): training from the start", path, exc)
        return None
    return state


def write_grid(gan: GAN, z: torch.Tensor, path: Path) -> None:
    """Generate from ``z`` in eval mode (batch-norm statistics untouched), save a PNG grid."""
    was_training = gan.generator.training
    gan.generator.eval()
    with torch.no_grad():
        images = gan.generator(z)
    gan.generator.train(was_training)
    if images.ndim == 4:
        save_grid(images, path)


def _record(history: list[dict[str, float]], start: float, step: int, device: torch.device) -> dict[str, Any]:
    return {"iterations": step, "wall_seconds": time.perf_counter() - start,
            "device": str(device), "history": list(history)}
