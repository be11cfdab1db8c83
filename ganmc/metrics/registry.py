"""Measuring a sample set: a registry of metrics, each a function registered under the names
it provides.

The metric config names the metrics to run in its list ``metrics`` (e.g. ``[modes, mass_tv,
emd]`` for 2-D data, ``[is, fid]`` for images). A registered function declares the names it
provides (IS and FID share one feature pass, so one function provides both), the kind of data
it measures (``points`` or ``images``; naming a metric of the other kind is an error) and a test
of whether the data set has what it needs (mode metrics: mixtures only). A metric that does not
apply is skipped, with a log line, when a config file lists it (one list serves the data sets of
a sweep) and refused when the command line names it (:func:`check_named_metrics`).
:func:`compute_metrics` runs, in registration order, every function that provides a listed name
and merges their entries into one dict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ganmc.common import default_cache_dir, trim_heap
from ganmc.data import Dataset, ImageDataset
from ganmc.errors import GanmcError
from ganmc.metrics import emd, mode_metrics
from ganmc.metrics.collab import collab_metrics
from ganmc.metrics.emd import EMD_DEFAULT_N, emd_floor, parse_protocol, protocol_key, real_points
from ganmc.metrics.settings import MetricSettings
from ganmc.metrics.target import region_masses, total_variation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricInput:
    """What a metric measures: the samples (detached, on the CPU), the run's settings and the
    names asked of the function (``asked``)."""

    samples: torch.Tensor
    dataset: Dataset
    settings: MetricSettings  # the resolved metric config
    seed: int
    cache_dir: str | Path | None
    device: torch.device | str
    asked: tuple[str, ...] = ()
    extra_protocols: bool = True  # False: the EMD under its main protocol only (``metric.emd_also`` ignored)

    def emd_n(self) -> int:
        """Points per side of the EMD: ``metric.emd_n``, else at most 10,000, and no more than the samples."""
        return min(int(self.settings.emd_n or EMD_DEFAULT_N), len(self.samples))

    def emd_protocols(self) -> list[tuple[str, str, str]]:
        """(cost, real set, record-key suffix) of every EMD protocol asked: ``metric.emd_cost``
        and ``metric.real_set`` (suffix ''), then each other one of ``metric.emd_also`` (once, a
        repeat is said at the config check) that the data set can take (a stratified real set needs
        modes: skipped, with a log line, elsewhere)."""
        cost, real_set = self.settings.emd_cost, self.settings.real_set
        protocols = [(cost, real_set, "")]
        for text in self.settings.emd_also if self.extra_protocols else ():
            extra = parse_protocol(text)
            if extra[1] == "stratified" and not _modes(self.dataset):
                log.info("skipping EMD protocol %s: dataset=%s has no modes to stratify over", text, self.dataset.name)
            elif all(extra != (c, r) for c, r, _ in protocols):
                protocols.append((*extra, protocol_key("", *extra)))
        return protocols


Applies = Callable[[Dataset], bool]
Measure = Callable[[MetricInput], dict[str, Any]]
DATA_KINDS = {"points": "2-D", "images": "image"}


@dataclass(frozen=True)
class Metric:
    names: tuple[str, ...]
    data: str  # "points" or "images"
    applies: Applies
    measure: Measure
    prepare: Measure | None = None  # one-time work (reference statistics), cached, timed apart
    check: Measure | None = None  # the files it reads (weights), checked before any compute
    needs: str = ""  # what ``applies`` asks of the data set, in words (log lines and errors)


METRICS: dict[str, Metric] = {}  # name -> the registered function that provides it


def register_metric(*names: str, data: str = "points", applies: Applies = lambda dataset: True,
                    prepare: Measure | None = None, check: Measure | None = None,
                    needs: str = "") -> Callable[[Measure], Measure]:
    """Register ``fn`` as the metric(s) ``names`` of ``data`` (``points`` or ``images``), run when
    the config lists one of them and ``applies(dataset)`` holds (``needs`` says what it asks, in
    words); ``prepare`` (optional) does its cached one-time work, which :func:`prepare_metrics`
    runs (and a run times) before measuring."""
    if data not in DATA_KINDS or not names:
        raise ValueError(f"register_metric needs names and data in {sorted(DATA_KINDS)}")

    def register(fn: Measure) -> Measure:
        metric = Metric(names, data, applies, fn, prepare, check, needs)
        for name in names:
            if name in METRICS:
                raise ValueError(f"metric {name!r} is registered twice")
            METRICS[name] = metric
        return fn

    return register


def _data_kind(dataset: Dataset) -> str:
    return "images" if isinstance(dataset, ImageDataset) else "points"


def _modes(dataset: Dataset) -> bool:
    return dataset.centres is not None and dataset.std is not None


def _cache(m: MetricInput) -> Path:
    return Path(str(m.cache_dir)).expanduser() if m.cache_dir is not None else default_cache_dir()


def _image_references(m: MetricInput) -> dict[str, Any]:
    """The real images' FID/fd statistics (and the cs/fd classifier), computed once and cached."""
    from ganmc.metrics.images import image_references  # torch-fidelity: imported only for images

    image_references(m.dataset, m.settings, _cache(m), m.device, m.asked)
    return {}


def _image_files(m: MetricInput) -> dict[str, Any]:
    """The IS/FID weights file (Inception's), found and read safely before any compute."""
    from ganmc.metrics.images import check_image_files

    check_image_files(m.settings, _cache(m), m.asked)
    return {}


@register_metric(*("is", "fid", "cs", "fd"), data="images", prepare=_image_references, check=_image_files)
def _images(m: MetricInput) -> dict[str, Any]:
    """IS/FID/cs/fd of images (reference statistics and the cs/fd classifier cached under ``cache_dir``)."""
    from ganmc.metrics.images import image_metrics  # torch-fidelity: imported only for images

    return image_metrics(m.samples, m.dataset, m.settings, _cache(m), m.device, m.asked)


def _stacked(dataset: Dataset) -> bool:
    return getattr(dataset, "channel_data", None) is not None and getattr(dataset, "weights", None) is not None


def _stacked_check(m: MetricInput) -> dict[str, Any]:
    """Before any compute: the shipped classifier of Stacked MNIST is there and fits (one line if not)."""
    from ganmc.metrics.classifier import shipped_classifier

    shipped_classifier(m.dataset.channel_data)
    return {}


def _stacked_classifier(m: MetricInput) -> dict[str, Any]:
    """The classifier the stacked metrics apply to each channel: shipped, or trained once and cached."""
    from ganmc.metrics.images import classifier_file

    classifier_file(m.dataset, m.settings.classifier, _cache(m), m.device)
    return {}


@register_metric("stacked_modes", "stacked_kl", "stacked_quality", "stacked_modes_argmax", "stacked_kl_uniform",
                 data="images", applies=_stacked, prepare=_stacked_classifier, check=_stacked_check,
                 needs="stacked digits or Stacked MNIST (dataset=stacked_digits or stacked_mnist)")
def _stacked_metrics(m: MetricInput) -> dict[str, Any]:
    """Stacked digits and Stacked MNIST's mode metrics (:mod:`ganmc.metrics.stacked`) of the samples
    and of as many real images (``stacked_real_*``, the floor at this n)."""
    from ganmc.metrics.stacked import stacked_record

    return stacked_record(m.samples, m.dataset, m.settings, m.seed, m.cache_dir, m.device, m.asked)


@register_metric("modes", applies=_modes, needs="a mixture with modes")
def _mode_metrics(m: MetricInput) -> dict[str, Any]:
    """DRS's mode metrics: modes recovered, %HQ, HQ std (mixtures only)."""
    return mode_metrics(m.samples, m.dataset.centres, m.dataset.std, float(m.settings.hq_threshold))


@register_metric("mass_tv", applies=lambda dataset: dataset.region_masses() is not None,
                 needs="data with regions of known mass (a mixture's modes, the swiss roll's turns)")
def _mass_tv(m: MetricInput) -> dict[str, Any]:
    """Mode weights (or mass along the roll) of the samples vs the data's, as total variation."""
    data_masses = m.dataset.region_masses()
    masses = region_masses(m.dataset.regions(m.samples), None, len(data_masses))
    return {"mass_tv": total_variation(masses, data_masses)}


@register_metric("collab", applies=lambda dataset: _modes(dataset) and getattr(dataset, "weights", None) is not None,
                 needs="a mixture with modes and weights")
def _collab(m: MetricInput) -> dict[str, Any]:
    """The collaborative-sampling protocol: % good samples, KL and JS over the modes."""
    return collab_metrics(m.samples, m.dataset.centres, m.dataset.std, m.dataset.weights,
                          float(m.settings.hq_threshold))


@register_metric("emd")
def _emd(m: MetricInput) -> dict[str, Any]:
    """Exact EMD between (at most ``emd_n``) samples and as many fresh real ones, under each
    protocol asked (cost and real-set draw; :meth:`MetricInput.emd_protocols`)."""
    n, protocols = m.emd_n(), m.emd_protocols()
    out: dict[str, Any] = {}
    for cost, real_set, suffix in protocols:
        log.info("solving exact EMD (%s cost, %s real set) between %d samples and %d real ones", cost, real_set, n, n)
        out["emd" + suffix] = emd(m.samples[:n], real_points(m.dataset, n, m.seed, real_set), cost)
        if not suffix:  # the main protocol, said beside its value
            out.update(emd_n=n, emd_cost=cost, emd_real_set=real_set)
    return out


@register_metric("emd_floor")
def _emd_floor(m: MetricInput) -> dict[str, Any]:
    """EMD between two real sets of the EMD's size, drawn alike: the floor sampling noise alone
    gives, under each protocol asked."""
    return {"emd_floor" + suffix: emd_floor(m.dataset, m.emd_n(), m.seed, cost, real_set, m.cache_dir)
            for cost, real_set, suffix in m.emd_protocols()}


def check_metric(dataset: Dataset, settings: MetricSettings) -> list[str]:
    """The metric config's ``metrics`` list, checked against the registry and the kind of data:
    fail before anything is computed."""
    asked = list(settings.metrics)
    kind = _data_kind(dataset)
    for name in asked:
        if name not in METRICS:
            raise GanmcError(f"metric.metrics: unknown metric {name!r} (registered: {', '.join(METRICS)})")
        if METRICS[name].data != kind:
            holds, fix = ("images", "image") if kind == "images" else ("2-D points", "synthetic")
            known = ", ".join(n for n, m in METRICS.items() if m.data == kind)
            hint = (f"list metrics for {holds} in metric.metrics ({known})" if settings.name == fix
                    else f"set metric={fix}")
            raise GanmcError(f"metric {name!r} is for {DATA_KINDS[METRICS[name].data]} data but dataset="
                             f"{dataset.name} holds {holds}: {hint}")
    return asked


def check_named_metrics(dataset: Dataset, names: list[str]) -> None:
    """Metrics the user named on the command line must apply to the data set: one that does not
    is an error naming it, the data set and the metrics that apply (a config file's list may
    name metrics for only some of the data sets it serves: those are skipped, with a log line)."""
    kind = _data_kind(dataset)
    for name in names:
        metric = METRICS.get(name)
        if metric is not None and metric.data == kind and not metric.applies(dataset):
            fits = ", ".join(n for n, m in METRICS.items() if m.data == kind and m.applies(dataset))
            raise GanmcError(f"metric {name!r} does not apply to dataset={dataset.name}: it needs {metric.needs}; "
                             f"the metrics for dataset={dataset.name} are {fits}")


_SKIP_LOGGED: set[tuple[str, ...]] = set()  # skipped metrics are logged once per data set


def _wanted(dataset: Dataset, settings: MetricSettings) -> list[tuple[Metric, tuple[str, ...]]]:
    """Each registered function that provides a listed name (once, in registration order), with
    the names asked of it."""
    asked = check_metric(dataset, settings)
    pairs = [(metric, tuple(name for name in metric.names if name in asked))
             for metric in dict.fromkeys(METRICS.values())]
    for metric, wanted in pairs:
        if wanted and not metric.applies(dataset) and (dataset.name, *wanted) not in _SKIP_LOGGED:
            _SKIP_LOGGED.add((dataset.name, *wanted))
            log.info("skipping metric %s: it does not apply to dataset=%s (it needs %s)", ", ".join(wanted),
                     dataset.name, metric.needs)
    return [(metric, wanted) for metric, wanted in pairs if wanted and metric.applies(dataset)]


def check_metric_files(dataset: Dataset, settings: MetricSettings, cache_dir: str | Path | None = None) -> None:
    """The files the listed metrics read (Inception weights), checked before any compute: one line if not."""
    given = MetricInput(torch.empty(0), dataset, settings, 0, cache_dir, "cpu")
    for metric, wanted in _wanted(dataset, settings):
        if metric.check is not None:
            metric.check(replace(given, asked=wanted))


def prepare_metrics(dataset: Dataset, settings: MetricSettings, cache_dir: str | Path | None = None,
                    device: torch.device | str = "cpu") -> None:
    """The listed metrics' one-time work (reference statistics), cached: a run times it apart."""
    given = MetricInput(torch.empty(0), dataset, settings, 0, cache_dir, device)
    for metric, wanted in _wanted(dataset, settings):
        if metric.prepare is not None:
            metric.prepare(replace(given, asked=wanted))


def compute_metrics(samples: torch.Tensor, dataset: Dataset, settings: MetricSettings,
                    seed: int, cache_dir: str | Path | None = None,
                    device: torch.device | str = "cpu", extra_protocols: bool = True) -> dict[str, Any]:
    """Every metric the settings' ``metrics`` list names and the data set supports (the EMD under
    ``metric.emd_also`` too unless ``extra_protocols`` is False: a run's extra sample sets)."""
    given = MetricInput(samples.detach().cpu(), dataset, settings, seed, cache_dir, device,
                        extra_protocols=extra_protocols)
    metrics: dict[str, Any] = {}
    for metric, wanted in _wanted(dataset, settings):
        metrics.update(metric.measure(replace(given, asked=wanted)))
        trim_heap()  # its temporaries (chunked distances, solver buffers) go back to the system
    return metrics
