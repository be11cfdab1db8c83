"""pytorch-gan-collections' SN-GAN for 32x32 images, copied from its ``source/models/sngan.py``
(``ResGenerator32``, ``ResDiscriminator32``) with the few steps of its hinge-loss training loop
that make a ``model.pt`` in its layout: the stand-in checkpoint of ``table3_standins.py``.
Independent of ganmc's own SN-GAN on purpose (the adapter must map their names onto ours)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init
from torch.nn.utils.spectral_norm import spectral_norm


# --- SN-GAN: pytorch-gan-collections' source/models/sngan.py (ResGenerator32, ResDiscriminator32)
class ResGenBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1),
            nn.BatchNorm2d(out_channels), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1))
        self.shortcut = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0))
        _init(self.residual, math.sqrt(2), sn=False)
        _init(self.shortcut, 1.0, sn=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


def _init(seq: nn.Module, gain: float, sn: bool) -> None:
    """Their blocks' initialize(): xavier_uniform_(gain), zero bias, then spectral_norm (D)."""
    for m in seq.modules():
        if isinstance(m, nn.Conv2d):
            init.xavier_uniform_(m.weight, gain)
            init.zeros_(m.bias)
            if sn:
                spectral_norm(m)


class ResGenerator32(nn.Module):
    def __init__(self, z_dim: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.linear = nn.Linear(z_dim, 4 * 4 * 256)
        self.blocks = nn.Sequential(ResGenBlock(256, 256), ResGenBlock(256, 256), ResGenBlock(256, 256))
        self.output = nn.Sequential(nn.BatchNorm2d(256), nn.ReLU(True), nn.Conv2d(256, 3, 3, stride=1, padding=1),
                                    nn.Tanh())
        init.xavier_uniform_(self.linear.weight)
        init.zeros_(self.linear.bias)
        _init(self.output, 1.0, sn=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = self.linear(z)
        z = z.view(-1, 256, 4, 4)
        return self.output(self.blocks(z))


class OptimizedResDisblock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(in_channels, out_channels, 1, 1, 0))
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1), nn.AvgPool2d(2))
        _init(self.residual, math.sqrt(2), sn=True)
        _init(self.shortcut, 1.0, sn=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class ResDisBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, down: bool = False) -> None:
        super().__init__()
        shortcut: list[nn.Module] = []
        if in_channels != out_channels or down:
            shortcut.append(nn.Conv2d(in_channels, out_channels, 1, 1, 0))
        if down:
            shortcut.append(nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(*shortcut)
        residual: list[nn.Module] = [nn.ReLU(), nn.Conv2d(in_channels, out_channels, 3, 1, 1),
                                     nn.ReLU(), nn.Conv2d(out_channels, out_channels, 3, 1, 1)]
        if down:
            residual.append(nn.AvgPool2d(2))
        self.residual = nn.Sequential(*residual)
        _init(self.residual, math.sqrt(2), sn=True)
        _init(self.shortcut, 1.0, sn=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class ResDiscriminator32(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(OptimizedResDisblock(3, 128), ResDisBlock(128, 128, down=True),
                                   ResDisBlock(128, 128), ResDisBlock(128, 128), nn.ReLU())
        self.linear = nn.Linear(128, 1, bias=False)
        init.xavier_uniform_(self.linear.weight)
        spectral_norm(self.linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.model(x).sum(dim=[2, 3])
        return self.linear(x)


def sngan_checkpoint(real: torch.Tensor, steps: int, batch: int, n_dis: int, seed: int) -> dict[str, object]:
    """Their train(): hinge loss, Adam(2e-4, betas (0, 0.9)), LambdaLR(1 - step / total), ``steps``
    steps of ``n_dis`` D updates and one G update (2 x batch); ``real`` in [-1, 1]."""
    torch.manual_seed(seed)
    net_G, net_D = ResGenerator32(128), ResDiscriminator32()
    optim_G = torch.optim.Adam(net_G.parameters(), lr=2e-4, betas=(0.0, 0.9))
    optim_D = torch.optim.Adam(net_D.parameters(), lr=2e-4, betas=(0.0, 0.9))
    total = 100000
    sched_G = torch.optim.lr_scheduler.LambdaLR(optim_G, lambda step: 1 - step / total)
    sched_D = torch.optim.lr_scheduler.LambdaLR(optim_D, lambda step: 1 - step / total)
    for _ in range(steps):
        for _ in range(n_dis):
            with torch.no_grad():
                fake = net_G(torch.randn(batch, 128)).detach()
            x = real[torch.randint(len(real), (batch,))]
            x = x + torch.rand_like(x) / 128
            loss = F.relu(1 - net_D(x)).mean() + F.relu(1 + net_D(fake)).mean()
            optim_D.zero_grad()
            loss.backward()
            optim_D.step()
        loss = -net_D(net_G(torch.randn(batch * 2, 128))).mean()
        optim_G.zero_grad()
        loss.backward()
        optim_G.step()
        sched_G.step()
        sched_D.step()
    return {"net_G": net_G.state_dict(), "net_D": net_D.state_dict(), "optim_G": optim_G.state_dict(),
            "optim_D": optim_D.state_dict(), "sched_G": sched_G.state_dict(), "sched_D": sched_D.state_dict()}
