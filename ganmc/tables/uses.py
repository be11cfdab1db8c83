"""What records each report can use, declared beside it with :func:`report`, and the one check
every report runs before it writes anything: a report name that is not a plain file stem, or no
usable record among the records, is refused in one line that says what the report takes and
what the records hold (a table of nothing would replace the previous one with empty cells)."""

from __future__ import annotations

import functools
import inspect
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ganmc.errors import GanmcError

F = TypeVar("F", bound=Callable[..., Any])
_STEM = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Uses:
    """The sampling records a report can use: on one of ``datasets`` (empty: any), measuring at
    least one of ``metrics`` (in ``metrics`` or ``stats``; empty: any), and passing ``test``
    (described by ``needs``) when given."""

    datasets: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    test: Callable[[dict[str, Any]], bool] | None = None
    needs: str = ""

    def accepts(self, record: dict[str, Any]) -> bool:
        if record.get("command") != "sample":
            return False
        if self.datasets and record.get("run", {}).get("dataset") not in self.datasets:
            return False
        if self.metrics and not any(_measured(record, m) for m in self.metrics):
            return False
        return self.test is None or bool(self.test(record))

    def describe(self) -> str:
        parts = ["sampling runs"]
        if self.datasets:
            parts.append(f"on {_either(self.datasets)}")
        if self.metrics:
            parts.append(f"measuring {_either(self.metrics)}")
        if self.needs:
            parts.append(self.needs)
        return " ".join(parts)


Spec = Uses | Callable[[dict[str, Any]], Uses]  # a Uses, or one made from the report's arguments


def _measured(record: dict[str, Any], metric: str) -> bool:
    return any((record.get(part) or {}).get(metric) is not None for part in ("metrics", "stats"))


def _either(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def found(records: list[dict[str, Any]]) -> str:
    """What the sampling records hold, in a few words: '6 runs on gaussians25 (emd, hq_percent, ...)'."""
    runs = [r for r in records if r.get("command") == "sample"]
    if not runs:
        return f"no sampling runs ({len(records)} records of other commands)"
    sets = Counter(str(r.get("run", {}).get("dataset", "?")) for r in runs)
    names = sorted({k for r in runs for part in ("metrics", "stats") for k in (r.get(part) or {})})
    shown = ", ".join(names[:8]) + (f", +{len(names) - 8} more" if len(names) > 8 else "")
    where = next(iter(sets)) if len(sets) == 1 else ", ".join(f"{d} ({n})" for d, n in sets.items())
    return f"{len(runs)} sampling run(s) on {where} measuring {shown or 'nothing'}"


def check_stem(name: str) -> None:
    """A report's file stem must be a plain name: its files are written as ``out_dir/NAME.*``."""
    if not _STEM.fullmatch(str(name)):
        raise GanmcError(f"report name {name!r} is not a plain file stem (letters, digits, '_' and '-'): "
                         "the report writes out_dir/NAME.md, .csv, ...; pass report.name=NAME and choose "
                         "the folder with out_dir=DIR")


def check_usable(title: str, records: list[tuple[Any, dict[str, Any]]], uses: Uses) -> None:
    """Refuse (one line) when none of ``records`` is one the report can use."""
    recs = [r for _, r in records]
    if not any(uses.accepts(r) for r in recs):
        raise GanmcError(f"{title}: no usable records: it takes {uses.describe()}; found {found(recs)}. "
                         "Pass records=DIR, the folder of that report's runs (nothing was written)")


def report(title: str, spec: Spec) -> Callable[[F], F]:
    """Declare what records the report ``title`` can use; every call then checks its name (a
    ``name`` argument) and its records before the report writes anything."""
    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            given = bound.arguments
            if "name" in given:
                check_stem(given["name"])
            uses = spec if isinstance(spec, Uses) else spec(given)
            check_usable(str(given.get("name", title)), list(given["records"]), uses)
            return fn(*args, **kwargs)

        checked.uses = spec  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return wrap
