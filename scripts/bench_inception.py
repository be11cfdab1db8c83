"""Inception feature pass on the CPU: torch-fidelity's stock forward (float32, and float64 as
ganmc ran it before) against ganmc's fast pass (:mod:`ganmc.metrics.inception_fast`).

Times the three on the same uint8 images (CIFAR-10-sized 32x32 by default, optionally 299x299)
at each thread count, and prints images/s, the ratio fast/stock measured in the same run, the
largest feature differences (2048-d pool features and unbiased logits) and the load average.
Random weights (torch-fidelity's keys and shapes) unless ``--weights PATH`` names a weights file
torch-fidelity accepts. Prints only.

    .venv/bin/python scripts/bench_inception.py --images 16 --threads 1 2 --sizes 32 299
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from ganmc.metrics.inception_fast import FastInception, random_inception

LAYERS = ["2048", "logits_unbiased"]


def load(path: str, dtype: str = "float32") -> FeatureExtractorInceptionV3:
    """torch-fidelity's extractor from the weights file ``path``, computing in ``dtype``."""
    return FeatureExtractorInceptionV3("inception-v3-compat", LAYERS, feature_extractor_weights_path=path,
                                       feature_extractor_internal_dtype=dtype)


def timed(net: torch.nn.Module, images: torch.Tensor, batch: int) -> tuple[float, list[torch.Tensor]]:
    """Seconds for all ``images`` in batches of ``batch`` (after a 1-image warm-up), and the features."""
    with torch.inference_mode():
        net(images[:1])
        start = time.perf_counter()
        outs = [net(chunk) for chunk in images.split(batch)]
    seconds = time.perf_counter() - start
    return seconds, [torch.cat([o[i] for o in outs]).double() for i in range(len(LAYERS))]


def load_line() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def bench(weights: str | None, n: int, sizes: list[int], threads: list[int], batch: int,
          float64: bool = True, exact64: bool = False) -> list[dict[str, float | int | str]]:
    """Print one table per input size: each pass at each thread count; return its rows."""
    rows: list[dict[str, float | int | str]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = weights or str(Path(folder) / "random-inception.pth")
        if weights is None:
            random_inception(path)
        stock32 = load(path)
        stock64 = load(path, "float64") if float64 else None
        exact = None
        if exact64:  # a true float64 forward: the accuracy yardstick for both float32 passes
            exact = load(path).double()
            exact.feature_extractor_internal_dtype = torch.float64
        fast = FastInception(stock32, LAYERS)
    print(f"weights: {weights or 'random (torch-fidelity shapes)'}; {n} images, batch {batch}; "
          f"{os.cpu_count()} CPUs; torch {torch.__version__}")
    if stock64 is not None and stock64.fc.weight.dtype != torch.float64:
        print(f"note: torch-fidelity maps feature_extractor_internal_dtype='float64' to "
              f"{stock64.fc.weight.dtype} (helpers.text_to_dtype): 'stock float64' is ganmc's old setting, "
              "which computed in float32")
    for size in sizes:
        images = torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(size),
                               dtype=torch.uint8)
        print(f"\ninputs {size}x{size} uint8 -> 299; {load_line()}")
        print(f"{'threads':>7}  {'pass':<14} {'img/s':>7} {'seconds':>8}  {'fast/this':>9}  "
              f"{'max|d 2048|':>11}  {'max|d logits|':>13}")
        for t in threads:
            torch.set_num_threads(t)
            passes = {"stock float32": stock32, "stock float64": stock64, "exact float64": exact, "fast": fast}
            results = {name: timed(net, images, batch) for name, net in passes.items() if net is not None}
            ref = results["stock float32"][1]
            for name, (seconds, feats) in results.items():
                ratio = seconds / results["fast"][0]
                d = [float((f - r).abs().max()) for f, r in zip(feats, ref)]
                print(f"{t:>7}  {name:<14} {n / seconds:7.2f} {seconds:8.2f}  {ratio:8.2f}x  "
                      f"{d[0]:11.2e}  {d[1]:13.2e}")
                rows.append({"size": size, "threads": t, "pass": name, "images_per_s": n / seconds,
                             "fast_over_this": ratio, "max_diff_2048": d[0], "max_diff_logits": d[1],
                             "load": os.getloadavg()[0]})
            for name in results:
                if name != "fast":
                    print(f"ratio fast/{name}, {t} thread(s), {size} px: "
                          f"{results[name][0] / results['fast'][0]:.2f}x")
            if "exact float64" in results:  # both float32 passes against the float64 forward
                for name in ("stock float32", "fast"):
                    d = [float((f - r).abs().max()) for f, r in zip(results[name][1], results["exact float64"][1])]
                    print(f"max|{name} - exact float64|: 2048 {d[0]:.2e}, logits_unbiased {d[1]:.2e}")
            print(load_line())
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--sizes", type=int, nargs="+", default=[32], help="input sizes (e.g. 32 299)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--weights", default=None, help="a torch-fidelity Inception weights file (default: random)")
    p.add_argument("--no-float64", dest="float64", action="store_false",
                   help="skip the pass with ganmc's old feature_extractor_internal_dtype='float64'")
    p.add_argument("--exact64", action="store_true", help="add a true float64 forward (slow): accuracy yardstick")
    a = p.parse_args(argv)
    bench(a.weights, a.images, a.sizes, a.threads, a.batch, a.float64, a.exact64)


if __name__ == "__main__":
    main()
