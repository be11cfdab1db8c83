"""MLP generator and discriminator for 2-D data (the DRS/DOT/DDLS and collaborative setups).

Hidden blocks are Linear -> [norm] -> activation; ``norm`` is ``none`` (default), ``batch``
(BatchNorm1d, as in the collaborative-sampling authors' toy generator) or ``layer`` (LayerNorm);
``slope`` is the negative slope of ``leaky_relu`` (default 0.01, torch's).
A plain :class:`MLPDiscriminator` also offers its input gradient written out
(:meth:`MLPDiscriminator.input_vjp`, the hook collaborative refinement uses in output space).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganmc.common import enum_value
from ganmc.errors import GanmcError

# x -> (D(x), vjp): vjp(g [n]) is the gradient w.r.t. x [n, dim] of sum_i g_i * D(x)_i.
InputVJP = Callable[[torch.Tensor], tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


def _activation(name: object, slope: float = 0.01) -> nn.Module:
    key = enum_value(name)
    if key not in _ACTIVATIONS:
        raise ValueError(f"unknown activation '{key}'")
    return nn.LeakyReLU(slope) if key == "leaky_relu" else _ACTIVATIONS[key]()


def _norm(kind: object, width: int) -> list[nn.Module]:
    key = enum_value(kind)
    if key == "none":
        return []
    if key == "batch":
        return [nn.BatchNorm1d(width)]
    if key == "layer":
        return [nn.LayerNorm(width)]
    raise GanmcError(f"unknown MLP norm '{key}': use none, batch or layer")


def _blocks(in_dim: int, out_dim: int, width: int, depth: int, activation: object,
            norm: object = "none", slope: float = 0.01) -> nn.ModuleList:
    """``depth`` hidden (Linear, norm, activation) blocks, then one Linear head, as separate blocks."""
    blocks = []
    dim = in_dim
    for _ in range(depth):
        blocks.append(nn.Sequential(nn.Linear(dim, width), *_norm(norm, width), _activation(activation, slope)))
        dim = width
    blocks.append(nn.Sequential(nn.Linear(dim, out_dim)))
    return nn.ModuleList(blocks)


class LayeredNet(nn.Module):
    """A stack of blocks whose intermediate activations can be read and resumed.

    Layer ``0`` is the input, layer ``len(blocks)`` the output: ``forward_to(x, l)`` returns the
    activation after ``l`` blocks, ``forward_from(h, l)`` runs the rest. Collaborative sampling
    refines activations at a chosen layer through these two calls.
    """

    blocks: nn.ModuleList

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    def forward_to(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        for block in self.blocks[:layer]:
            x = block(x)
        return x

    def forward_from(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        for block in self.blocks[layer:]:
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0)


class MLPGenerator(LayeredNet):
    """G: R^latent_dim -> R^out_dim."""

    def __init__(self, latent_dim: int, out_dim: int, width: int = 256, depth: int = 3,
                 activation: object = "relu", norm: object = "none", slope: float = 0.01) -> None:
        super().__init__()
        self.blocks = _blocks(latent_dim, out_dim, width, depth, activation, norm, slope)


class MLPDiscriminator(LayeredNet):
    """D: R^in_dim -> R, returning the logit (non-saturating loss) or critic value (WGAN)."""

    def __init__(self, in_dim: int, width: int = 512, depth: int = 3,
                 activation: object = "relu", norm: object = "none", slope: float = 0.01) -> None:
        super().__init__()
        self.blocks = _blocks(in_dim, 1, width, depth, activation, norm, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0).squeeze(-1)

    def _plan(self) -> list[tuple[torch.Tensor, torch.Tensor | None, float]] | None:
        """``[(W, b, negative slope), ...]`` when this D is plain, else ``None``.

        Plain means: hidden blocks of exactly (Linear, ReLU or LeakyReLU), then one Linear to a
        single logit, this class's own ``forward`` and no hooks or parametrizations (spectral norm
        and the like change the weights at call time). The head's slope entry is unused.
        """
        if type(self).forward is not MLPDiscriminator.forward or self._forward_hooks or self._forward_pre_hooks:
            return None
        plan: list[tuple[torch.Tensor, torch.Tensor | None, float]] = []
        for i, block in enumerate(self.blocks):
            mods = list(block) if isinstance(block, nn.Sequential) else [block]
            if not mods or type(mods[0]) is not nn.Linear:
                return None
            if any(m._forward_hooks or m._forward_pre_hooks or hasattr(m, "parametrizations") for m in (block, *mods)):
                return None
            linear = mods[0]
            if i == len(self.blocks) - 1:
                if len(mods) != 1 or linear.out_features != 1:
                    return None
                plan.append((linear.weight, linear.bias, 0.0))
                continue
            if len(mods) != 2 or type(mods[1]) not in (nn.ReLU, nn.LeakyReLU):
                return None
            slope = float(mods[1].negative_slope) if isinstance(mods[1], nn.LeakyReLU) else 0.0
            if slope < 0:
                return None
            plan.append((linear.weight, linear.bias, slope))
        return plan or None

    def input_vjp(self) -> InputVJP | None:
        """``x -> (D(x), vjp)`` with the input gradient written out, or ``None`` unless plain.

        It runs the operations autograd runs for ``D(x)`` and its gradient w.r.t. ``x`` (addmm
        per layer; going back mm with W and the ReLU mask per layer), without building a graph or
        touching D's parameters, so the results are the same bits. Built on the current weights.
        """
        plan = self._plan()
        if plan is None:
            return None
        layers = [(w.detach(), w.detach().t(), None if b is None else b.detach(), slope) for w, b, slope in plan]

        @torch.no_grad()
        def forward(x: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
            acts = []
            a = x
            for _, wt, b, slope in layers[:-1]:
                a = a.mm(wt) if b is None else torch.addmm(b, a, wt)
                if slope == 0.0:
                    a.relu_()
                else:
                    F.leaky_relu(a, slope, inplace=True)
                acts.append(a)
            _, wt, b, _ = layers[-1]
            d = (a.mm(wt) if b is None else torch.addmm(b, a, wt)).squeeze(-1)

            @torch.no_grad()
            def vjp(gd: torch.Tensor) -> torch.Tensor:
                g = gd.unsqueeze(1).mm(layers[-1][0])
                for (w, _, _, slope), act in zip(reversed(layers[:-1]), reversed(acts)):
                    if slope == 0.0:
                        g = torch.ops.aten.threshold_backward(g, act, 0.0)
                    else:
                        g = torch.ops.aten.leaky_relu_backward(g, act, slope, True)
                    g = g.mm(w)
                return g

            return d, vjp

        return forward
