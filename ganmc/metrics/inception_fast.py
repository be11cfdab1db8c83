"""A faster forward pass of torch-fidelity's ``inception-v3-compat`` network, built from the loaded
extractor (any weights file torch-fidelity accepts, the FID-only converted one included).

Why: IS/FID of 50,000 samples on a CPU is mostly this network. The pass keeps torch-fidelity's
input handling exactly (uint8 -> float, its TF1-compatible bilinear resize to 299, ``(x - 128) / 128``)
and the same layers, but (1) folds every batch norm into its conv's weight and bias (computed in
float64, stored in the extractor's internal dtype), (2) runs in channels_last memory format,
(3) merges the 1x1 convs that read the same block input into one conv and (4) moves each
``avg_pool -> 1x1 conv`` branch behind its conv (both are affine per pixel and the pool with
``count_include_pad=False`` is a convex combination, so they commute), so it pools fewer channels
and joins the merged conv; the resize does the same float ops with fewer gathers. Features agree
with the stock forward to float32 rounding (max |difference| ~2e-5 on the 2048-d features, with
random weights and with the real FID weights; ``tests/test_inception_fast.py``), so the
reference-statistics cache key carries the pass's name; ``scripts/bench_inception.py`` measures
the speed (about 1.7-2.4x the stock forward on one CPU thread). On CUDA the same module runs on
the device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from ganmc.errors import GanmcError
from ganmc.metrics.inception import build_inception, inception_shapes

FEATURES = ("64", "192", "768", "2048", "logits_unbiased", "logits")  # torch-fidelity's, in depth order
CL = torch.channels_last


def resize_like_tensorflow1x(x: torch.Tensor, size: int) -> torch.Tensor:
    """torch-fidelity's ``interpolate_bilinear_2d_like_tensorflow1x(x, (size, size),
    align_corners=False)``, bit for bit, with less work: the same grid and the same float ops
    per output pixel, but the horizontal pass runs once per input row (then rows are gathered)
    instead of once per output row, and 2 gathers of the full output instead of 8."""

    def grid(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # torch-fidelity's lines
        g = torch.arange(0, size, 1, dtype=x.dtype, device=x.device)
        g = g * torch.tensor(n_in / size, dtype=torch.float32)
        lo = g.long()
        return lo, (lo + 1).clamp_max(n_in - 1), g - lo.float()

    x_lo, x_hi, dx = grid(x.shape[3])
    y_lo, y_hi, dy = grid(x.shape[2])
    left = x[:, :, :, x_lo]
    rows = left + (x[:, :, :, x_hi] - left) * dx.view(1, 1, 1, size)  # N x C x H x size
    top = rows[:, :, y_lo]
    return top + (rows[:, :, y_hi] - top) * dy.view(1, 1, size, 1)


class FoldedConv(nn.Module):
    """Conv + batch norm (folded into the conv's weight and bias) + optional ReLU."""

    def __init__(self, blocks: list[nn.Module], dtype: torch.dtype, relu: bool = True) -> None:
        super().__init__()
        conv = blocks[0].conv
        weights, biases = [], []
        for block in blocks:  # several 1x1 convs on the same input: stacked output channels
            w, bn = block.conv.weight.detach().double(), block.bn
            scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
            weights.append(w * scale.view(-1, 1, 1, 1))
            biases.append(bn.bias.detach().double() - bn.running_mean.detach().double() * scale)
        self.weight = nn.Parameter(torch.cat(weights).to(dtype).contiguous(memory_format=CL), requires_grad=False)
        self.bias = nn.Parameter(torch.cat(biases).to(dtype), requires_grad=False)
        self.stride, self.padding, self.relu = conv.stride, conv.padding, relu
        self.sizes = [int(b.conv.out_channels) for b in blocks]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        return F.relu_(y) if self.relu else y


def _heads(conv: FoldedConv, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The merged 1x1 convs of a block: ReLU'd outputs of all but the last, which is the pool
    branch's conv and is average-pooled before its ReLU (pool and conv commute)."""
    y = conv(x)
    pool = F.relu_(F.avg_pool2d(y[:, -conv.sizes[-1]:], 3, 1, 1, count_include_pad=False))
    return list(F.relu_(y).split(conv.sizes, 1)[:-1]), pool


class BlockA(nn.Module):
    """InceptionA (Mixed_5b-d): 1x1, 5x5 and double-3x3 branches, average-pool branch."""

    def __init__(self, m: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.heads = FoldedConv([m.branch1x1, m.branch5x5_1, m.branch3x3dbl_1, m.branch_pool], dtype, relu=False)
        self.b5 = FoldedConv([m.branch5x5_2], dtype)
        self.b3a, self.b3b = FoldedConv([m.branch3x3dbl_2], dtype), FoldedConv([m.branch3x3dbl_3], dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (b1, b5, b3), pool = _heads(self.heads, x)
        return torch.cat([b1, self.b5(b5), self.b3b(self.b3a(b3)), pool], 1)


class BlockB(nn.Module):
    """InceptionB (Mixed_6a): strided 3x3, double 3x3 and max-pool branches."""

    def __init__(self, m: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.b3 = FoldedConv([m.branch3x3], dtype)
        self.d1, self.d2, self.d3 = (FoldedConv([c], dtype) for c in
                                     (m.branch3x3dbl_1, m.branch3x3dbl_2, m.branch3x3dbl_3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b3(x), self.d3(self.d2(self.d1(x))), F.max_pool2d(x, 3, 2)], 1)


class BlockC(nn.Module):
    """InceptionC (Mixed_6b-e): 1x1, 7x7 and double-7x7 factorised branches, average-pool branch."""

    def __init__(self, m: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.heads = FoldedConv([m.branch1x1, m.branch7x7_1, m.branch7x7dbl_1, m.branch_pool], dtype, relu=False)
        self.s = nn.Sequential(*(FoldedConv([c], dtype) for c in (m.branch7x7_2, m.branch7x7_3)))
        self.d = nn.Sequential(*(FoldedConv([getattr(m, f"branch7x7dbl_{i}")], dtype) for i in range(2, 6)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (b1, b7, bd), pool = _heads(self.heads, x)
        return torch.cat([b1, self.s(b7), self.d(bd), pool], 1)


class BlockD(nn.Module):
    """InceptionD (Mixed_7a): 3x3 and 7x7x3 branches (strided), max-pool branch."""

    def __init__(self, m: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.heads = FoldedConv([m.branch3x3_1, m.branch7x7x3_1], dtype)
        self.b3 = FoldedConv([m.branch3x3_2], dtype)
        self.b7 = nn.Sequential(*(FoldedConv([getattr(m, f"branch7x7x3_{i}")], dtype) for i in range(2, 5)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3, b7 = self.heads(x).split(self.heads.sizes, 1)
        return torch.cat([self.b3(b3), self.b7(b7), F.max_pool2d(x, 3, 2)], 1)


class BlockE(nn.Module):
    """InceptionE (Mixed_7b average pool, Mixed_7c max pool, as in the TF graph)."""

    def __init__(self, m: nn.Module, dtype: torch.dtype, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        heads = [m.branch1x1, m.branch3x3_1, m.branch3x3dbl_1] + ([] if max_pool else [m.branch_pool])
        self.heads = FoldedConv(heads, dtype, relu=False)
        self.pool_conv = FoldedConv([m.branch_pool], dtype) if max_pool else None
        self.a2a, self.a2b = FoldedConv([m.branch3x3_2a], dtype), FoldedConv([m.branch3x3_2b], dtype)
        self.d2 = FoldedConv([m.branch3x3dbl_2], dtype)
        self.d3a, self.d3b = FoldedConv([m.branch3x3dbl_3a], dtype), FoldedConv([m.branch3x3dbl_3b], dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_conv is not None:  # max pool: does not commute with the conv
            b1, b3, bd = self.heads(x).relu_().split(self.heads.sizes, 1)
            pool = self.pool_conv(F.max_pool2d(x, 3, 1, 1))
        else:
            (b1, b3, bd), pool = _heads(self.heads, x)
        d = self.d2(bd)
        return torch.cat([b1, self.a2a(b3), self.a2b(b3), self.d3a(d), self.d3b(d), pool], 1)


class FastInception(nn.Module):
    """torch-fidelity's Inception forward, faster; outputs ``features_list`` as a tuple (float32)."""

    INPUT_IMAGE_SIZE = FeatureExtractorInceptionV3.INPUT_IMAGE_SIZE

    def __init__(self, stock: FeatureExtractorInceptionV3, features_list: list[str] | None = None) -> None:
        super().__init__()
        self.features_list = list(features_list or stock.features_list)
        unknown = [f for f in self.features_list if f not in FEATURES]
        if unknown or not self.features_list:
            raise GanmcError(f"Inception features must be among {', '.join(FEATURES)}, got {self.features_list}")
        self.dtype = stock.feature_extractor_internal_dtype
        dt = self.dtype
        self.stem1 = nn.Sequential(*(FoldedConv([getattr(stock, n)], dt)
                                     for n in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")))
        self.stem2 = nn.Sequential(*(FoldedConv([getattr(stock, n)], dt) for n in ("Conv2d_3b_1x1", "Conv2d_4a_3x3")))
        self.mixed5 = nn.Sequential(*(BlockA(getattr(stock, f"Mixed_5{c}"), dt) for c in "bcd"))
        self.mixed6 = nn.Sequential(BlockB(stock.Mixed_6a, dt), *(BlockC(getattr(stock, f"Mixed_6{c}"), dt)
                                                                   for c in "bcde"))
        self.mixed7 = nn.Sequential(BlockD(stock.Mixed_7a, dt), BlockE(stock.Mixed_7b, dt, max_pool=False),
                                    BlockE(stock.Mixed_7c, dt, max_pool=True))
        self.fc_weight = nn.Parameter(stock.fc.weight.detach().to(dt).clone(), requires_grad=False)
        self.fc_bias = nn.Parameter(stock.fc.bias.detach().to(dt).clone(), requires_grad=False)
        self.depth = max(FEATURES.index(f) for f in self.features_list)
        self.to(stock.fc.weight.device)
        self.eval()

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """torch-fidelity's input handling, exactly: uint8 N x 3 x H x W -> normalised 299 x 299."""
        if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 3:
            raise GanmcError(f"Inception expects uint8 N x 3 x H x W images, got {x.dtype} {tuple(x.shape)}")
        x = resize_like_tensorflow1x(x.to(self.dtype), self.INPUT_IMAGE_SIZE)
        return ((x - 128) / 128).contiguous(memory_format=CL)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with torch.inference_mode():
            out: dict[str, torch.Tensor] = {}
            stages = (lambda h: F.max_pool2d(self.stem1(h), 3, 2),
                      lambda h: F.max_pool2d(self.stem2(h), 3, 2),
                      lambda h: self.mixed6(self.mixed5(h)),
                      lambda h: self.mixed7(h))
            h = self.prepare(x)
            for i, stage in enumerate(stages[:self.depth + 1]):
                h = stage(h)
                if FEATURES[i] in self.features_list or i == 3:  # the logits need "2048"
                    out[FEATURES[i]] = h.mean((2, 3))
            if self.depth >= FEATURES.index("logits_unbiased"):
                out["logits_unbiased"] = out["2048"].mm(self.fc_weight.T)
                out["logits"] = out["logits_unbiased"] + self.fc_bias.unsqueeze(0)
            return tuple(out[f].to(torch.float32) for f in self.features_list)


def random_inception(path: str, seed: int = 0) -> FeatureExtractorInceptionV3:
    """torch-fidelity's Inception with random weights saved to ``path`` (tests and benchmarks:
    no real weights offline). Convs get He-scaled weights and batch norms random statistics
    near 1, so activations stay finite and non-trivial through all 94 layers."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in inception_shapes().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros(shape, dtype=torch.long)
        elif len(shape) == 4:  # conv
            state[key] = torch.randn(shape, generator=gen) * (2.0 / math.prod(shape[1:])) ** 0.5
        elif key.endswith(("running_var", "bn.weight")):
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        elif key == "fc.weight":
            state[key] = torch.randn(shape, generator=gen) / shape[1] ** 0.5
        else:  # bn bias and running mean, fc bias
            state[key] = 0.1 * torch.randn(shape, generator=gen)
    torch.save(state, path)
    return build_inception(path, ["2048", "logits_unbiased"])
