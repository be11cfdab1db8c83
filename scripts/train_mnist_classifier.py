"""Train the shipped MNIST mode classifier (``make mnist-classifier``): the Stacked MNIST
metrics apply it to each channel (ganmc.metrics.classifier.MnistCNN, SHIPPED["mnist"]).

Trained once on MNIST's 60,000 training images (from ``ganmc data fetch mnist``, or --root DIR
with the IDX files) on the CPU, seeded: Adam with a one-cycle learning rate, batch norm, random
shifts of up to ``--shift`` px per image; measured on MNIST's 10,000 test images. Writes
``checkpoints/classifiers/mnist-cnn.pt`` (loaded with ``torch.load(weights_only=True)``) and its
record ``mnist-cnn.json`` beside it (test accuracy, steps, seconds, threads), both atomically.

    python scripts/train_mnist_classifier.py [--epochs 3] [--seed 0] [--threads 1] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganmc.data.images import MNIST, ImageDataset, to_float
from ganmc.errors import GanmcError
from ganmc.io import sha256_file, write_atomic
from ganmc.metrics.classifier import SHIPPED, SHIPPED_CLASSIFIERS, MnistCNN


def shift_batch(x: torch.Tensor, shift: int, rng: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random offset of at most ``shift`` px per axis (background
    -1 comes in at the edges)."""
    if shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (shift, shift, shift, shift), value=-1.0)
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n), generator=rng)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]


@torch.no_grad()
def accuracy(net: MnistCNN, data: ImageDataset, batch_size: int = 1000) -> tuple[float, int]:
    """(accuracy, errors) of ``net`` on every labelled image of ``data``."""
    net.eval()
    pred = torch.cat([net(to_float(chunk)).argmax(1) for chunk in data.images.split(batch_size)])
    errors = int((pred != data.labels).sum())
    return 1.0 - errors / len(data), errors


def train(train_set: ImageDataset, args: argparse.Namespace) -> tuple[MnistCNN, dict[str, float]]:
    """One seeded run: ``args.epochs`` passes in random order, batch ``args.batch_size``."""
    torch.manual_seed(args.seed)
    net = MnistCNN(1, 10, args.width, args.feature_dim, train_set.shape[1])
    rng = torch.Generator().manual_seed(args.seed + 1)
    per_epoch = math.ceil(len(train_set) / args.batch_size)
    steps = args.epochs * per_epoch
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    loss = torch.zeros(())
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(train_set), generator=rng)
        for idx in order.split(args.batch_size):
            x = shift_batch(to_float(train_set.images[idx]), args.shift, rng)
            loss = F.cross_entropy(net(x), train_set.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {float(loss.detach()):.4f}", flush=True)
    return net.eval(), {"steps": steps, "epochs": args.epochs, "final_loss": float(loss.detach())}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="folder of MNIST's IDX files (default: the fetched ones)")
    parser.add_argument("--out", type=Path, default=SHIPPED_CLASSIFIERS / SHIPPED["mnist"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--feature-dim", type=int, default=64)
    parser.add_argument("--shift", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        train_set = MNIST("mnist", root=args.root, split="train", size=28, channels=1)
        test_set = MNIST("mnist-test", root=args.root, split="test", size=28, channels=1)
    except GanmcError as exc:
        print(f"train_mnist_classifier: error: {exc}", file=sys.stderr)
        return 1
    settings = {k: v for k, v in vars(args).items() if k not in ("root", "out")}
    start = time.perf_counter()
    net, record = train(train_set, args)
    seconds = time.perf_counter() - start
    test_accuracy, test_errors = accuracy(net, test_set)
    record.update(test_accuracy=test_accuracy, test_errors=test_errors, n_train=len(train_set),
                  n_test=len(test_set), seconds=round(seconds, 1), threads=torch.get_num_threads())
    payload = {"net": "mnist_cnn", "state_dict": net.state_dict(), "record": record, "settings": settings,
               "arch": {"in_channels": 1, "n_classes": 10, "width": args.width, "feature_dim": args.feature_dim,
                        "size": net.size},
               "data_fingerprint": train_set.fingerprint(), "test_fingerprint": test_set.fingerprint()}
    write_atomic(args.out, lambda tmp: torch.save(payload, tmp))
    info = {"file": args.out.name, "sha256": sha256_file(args.out), "bytes": args.out.stat().st_size,
            "record": record, "settings": settings, "arch": payload["arch"],
            "data_fingerprint": payload["data_fingerprint"], "test_fingerprint": payload["test_fingerprint"],
            "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine()}
    write_atomic(args.out.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(info, indent=2) + "\n"))
    print(f"{args.out}: MNIST test accuracy {test_accuracy:.4f} ({test_errors} errors), "
          f"{record['steps']} steps in {seconds:.0f} s on {record['threads']} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
