"""Train the cs/fd classifiers of the digits data sets and ship them (``make classifiers``).

The cs, fd and stacked-digits metrics classify samples with a small CNN trained on the data set's
labels (``ganmc.metrics.classifier.obtain_classifier``). Trained on first use, it differs across
machines and thread counts; shipped in ``checkpoints/classifiers/`` under its cache name (data
fingerprint and settings), it is the one every machine uses. This trains the one of each data
set the tables use (scikit-learn's digits at 32 px: digits, collab Figs 9-11; at 16 px: the
channels of stacked digits) with its experiment's settings, on one thread, and copies it there.

    python scripts/ship_classifiers.py [--out checkpoints/classifiers]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_module

from ganmc.config import register_configs
from ganmc.io import write_atomic
from ganmc.metrics.classifier import SHIPPED_CLASSIFIERS, load_classifier
from ganmc.metrics.images import classifier_file
from ganmc.run.gans import build_dataset
from ganmc.settings import metric_settings

EXPERIMENTS = ("digits", "stacked_digits")  # digits at 32 px (digits, collab Figs 9-11); stacked digits' channels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_CLASSIFIERS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    register_configs()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache, initialize_config_module(config_module="ganmc.conf",
                                                                           version_base=None):
        for name in EXPERIMENTS:
            cfg = compose("sample", overrides=[f"experiment={name}"])
            made = classifier_file(build_dataset(cfg), metric_settings(cfg.metric).classifier, cache)  # as the cs/fd/stacked metrics do
            if made.parent == args.out.resolve() or (args.out / made.name).is_file():
                print(f"{args.out / made.name}: shipped already")
                continue
            write_atomic(args.out / made.name, lambda tmp, src=made: shutil.copyfile(src, tmp))
            record = load_classifier(args.out / made.name)[1]["record"]
            print(f"{args.out / made.name}: {name}, hold-out accuracy {record['holdout_accuracy']:.4f}")


if __name__ == "__main__":
    main()
