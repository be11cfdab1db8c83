"""The contracts a user's own generator and discriminator must meet before any sampling.

:func:`checked_modules` probes the nets with a small batch from the prior and refuses, in one
line naming the module, the shape or value and what is expected: nets on different devices or
in another dtype than the prior's latents, a G whose output is not a batch of vectors or images
(or not of ``data_shape``), a D whose output is not ``(n,)`` or ``(n, 1)``, and non-finite
outputs. D is wrapped (:class:`ScoreD`) so that every sampler reads a logit (or a WGAN critic)
of shape ``(n,)``; a G without ``forward_to``/``forward_from`` is given them (:class:`LayeredG`).
Class-conditional nets (``num_classes=K``) are probed as ``G(z, y)`` and ``D(x, y)`` with labels
``y`` a LongTensor of class indices in 0..K-1; :class:`Given` holds one label fixed, so that the
samplers run on ``G(., y)`` and ``D(., y)`` as on any unconditional GAN.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganmc.errors import GanmcError, first_line
from ganmc.models.mlp import LayeredNet
from ganmc.models.prior import Prior

# What D returns -> the loss kind ganmc's samplers and fine-tuning read it as (a WGAN critic is
# read as the wgan_gp GANs' critics are; a logit or a probability as a non-saturating D's logit).
D_OUTPUTS = {"logit": "ns", "probability": "ns", "critic": "wgan_gp"}
PROBE = 8  # latents in the probe batch
# A probability is clamped to [EPS, 1 - EPS] before it becomes a logit (|logit| <= ~13.8).
EPS = 1e-6


class ScoreD(nn.Module):
    """The user's D with its output as shape ``(n,)``; a probability becomes its (clamped) logit."""

    def __init__(self, net: nn.Module, d_output: str) -> None:
        super().__init__()
        self.net = net
        self.d_output = d_output

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.net(x) if y is None else self.net(x, y)
        if out.dim() == 2:
            out = out[:, 0]
        if self.d_output == "probability":
            p = out.clamp(EPS, 1 - EPS)
            out = torch.log(p) - torch.log1p(-p)
        return out


class LayeredG(LayeredNet):
    """The user's G as a stack of blocks (an ``nn.Sequential``'s children, else G itself as one
    block), so collaborative sampling can refine its output (or an inner layer) as on ganmc's nets."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(list(net) if isinstance(net, nn.Sequential) else [net])


class Given(nn.Module):
    """A class-conditional net ``net(x, y)`` at one label: every row of ``x`` gets ``label``."""

    def __init__(self, net: nn.Module, label: int) -> None:
        super().__init__()
        self.net = net
        self.label = int(label)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, torch.full((len(x),), self.label, dtype=torch.long, device=x.device))


def _placement(module: nn.Module) -> tuple[torch.device, torch.dtype] | None:
    """The device and floating dtype of ``module``'s tensors; ``None`` without any."""
    tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
    if not tensors:
        return None
    devices = {t.device for t in tensors}
    dtypes = {t.dtype for t in tensors}
    if len(devices) > 1 or len(dtypes) > 1:
        raise GanmcError(f"{_name(module)} has tensors on {sorted(map(str, devices))} in {sorted(map(str, dtypes))}: "
                         "put all of it on one device in one dtype (module.to(device, torch.float32))")
    return devices.pop(), dtypes.pop()


def _name(module: nn.Module) -> str:
    return f"the {type(module).__name__} module"


def _check_placement(generator: nn.Module, discriminator: nn.Module) -> torch.device:
    """G and D on one device, in the prior's dtype (the default float dtype); that device."""
    expected = torch.get_default_dtype()
    found = {"G": _placement(generator), "D": _placement(discriminator)}
    for role, place in found.items():
        if place is not None and place[1] != expected:
            raise GanmcError(f"{role} ({_name(generator if role == 'G' else discriminator)}) holds {place[1]} "
                             f"tensors but the prior draws {expected} latents: convert it ({role}.to({expected}))")
    devices = {role: place[0] for role, place in found.items() if place is not None}
    if len(set(devices.values())) > 1:
        raise GanmcError(f"G is on {devices['G']} but D on {devices['D']}: put both on one device "
                         "(G.to(device), D.to(device))")
    return next(iter(devices.values()), torch.device("cpu"))


def _run(module: nn.Module, role: str, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """``module(x)`` (``module(x, y)`` with labels) in the probe; its failure as one line naming
    the module and the input shape."""
    try:
        out = module(x) if y is None else module(x, y)
    except Exception as exc:  # the user's code: any error, said in one line
        inputs = f"shape {tuple(x.shape)}" + ("" if y is None else f" with labels y of shape {tuple(y.shape)}")
        raise GanmcError(f"{role} ({_name(module)}) failed on a probe batch of {inputs}: {first_line(exc)}") from None
    if not isinstance(out, torch.Tensor):
        raise GanmcError(f"{role} ({_name(module)}) returned {type(out).__name__}, not a tensor")
    if out.dim() == 0 or out.shape[0] != len(x):
        raise GanmcError(f"{role} ({_name(module)}) returned shape {tuple(out.shape)} for {len(x)} inputs: "
                         f"expected one row per input ({len(x)}, ...)")
    if not bool(torch.isfinite(out).all()):
        raise GanmcError(f"{role} ({_name(module)}) returned NaN/inf on a probe batch of shape {tuple(x.shape)}: "
                         "check its weights and inputs")
    return out


def check_output_shape(shape: Sequence[int], data_shape: int | Sequence[int] | None) -> None:
    """G's output per sample (``shape``) is a vector or an image (C, H, W), and ``data_shape``
    when given (an int: a vector of that size)."""
    shape = tuple(int(v) for v in shape)
    if len(shape) not in (1, 3):
        raise GanmcError(f"G returned samples of shape {shape}: expected a vector (dim,) or an image (C, H, W)")
    if data_shape is None:
        return
    want = (int(data_shape),) if isinstance(data_shape, int) else tuple(int(v) for v in data_shape)
    if shape != want:
        raise GanmcError(f"G returned samples of shape {shape} but the data are of shape {want}: "
                         "G's output must match the data")


def check_num_classes(num_classes: object, key: str = "num_classes") -> int | None:
    """``num_classes`` as an int >= 1, or ``None`` (an unconditional GAN)."""
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise GanmcError(f"{key}={num_classes!r}: expected the number of classes of a class-conditional GAN "
                         "(an int >= 1), or none for an unconditional one")
    return num_classes


def checked_modules(generator: nn.Module, discriminator: nn.Module, latent_dim: int, prior: str = "normal",
                    d_output: str = "logit", data_shape: int | Sequence[int] | None = None,
                    num_classes: int | None = None) -> tuple[nn.Module, nn.Module, Prior, str]:
    """The user's G, D (wrapped: :class:`ScoreD`), their prior and loss kind, once the probe
    passes. The nets are put in eval mode (the probe updates no batch-norm statistics). A
    class-conditional G is returned as it is (:class:`Given` fixes its label for the samplers)."""
    check_num_classes(num_classes)
    if d_output not in D_OUTPUTS:
        raise GanmcError(f"d_output={d_output!r}: expected one of {', '.join(D_OUTPUTS)}")
    if prior not in ("normal", "uniform"):
        raise GanmcError(f"prior={prior!r}: expected normal or uniform")
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise GanmcError(f"latent_dim={latent_dim!r}: expected a positive int")
    for role, module in (("G", generator), ("D", discriminator)):
        if not isinstance(module, nn.Module):
            raise GanmcError(f"{role} is a {type(module).__name__}: expected a torch.nn.Module")
    device = _check_placement(generator, discriminator)
    latent = Prior(prior, latent_dim)
    generator.eval()
    discriminator.eval()
    with torch.no_grad():
        z = latent.sample(PROBE, torch.Generator().manual_seed(0), device)
        # labels spread over 0..K-1, the first and the last included
        y = None if num_classes is None else torch.arange(PROBE, device=device) * (num_classes - 1) // (PROBE - 1)
        x = _run(generator, "G", z, y)
        check_output_shape(x.shape[1:], data_shape)
        score = _run(discriminator, "D", x, y)
    if score.dim() > 2 or (score.dim() == 2 and score.shape[1] != 1):
        raise GanmcError(f"D ({_name(discriminator)}) returned shape {tuple(score.shape)} for {len(x)} samples: "
                         f"expected one score per sample, ({len(x)},) or ({len(x)}, 1)")
    outside = score[(score < 0) | (score > 1)] if d_output == "probability" else score[:0]
    if len(outside):
        raise GanmcError(f"D ({_name(discriminator)}) returned values outside [0, 1] (e.g. {float(outside[0]):.3g}) "
                         "with d_output='probability': use d_output='logit' for a logit, 'critic' for a WGAN critic")
    layered = hasattr(generator, "forward_to") and hasattr(generator, "forward_from")
    g = generator if layered or num_classes is not None else LayeredG(generator).eval()
    return g, ScoreD(discriminator, d_output).eval(), latent, D_OUTPUTS[d_output]
