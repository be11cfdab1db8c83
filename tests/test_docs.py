"""The docs say what the code does: every relative link of README.md and docs/*.md resolves (to a
file, and an ``#anchor`` to a heading of it), every documented ``ganmc`` command composes as the
CLI composes it and passes the checks made before compute, every ``make`` target and variable
named exists in the Makefile, the README's commands load shipped GANs (none trains), and the
README stays on two screens with its "which sampler when" decision table."""

from __future__ import annotations

import re
import shlex
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate
from omegaconf import DictConfig

from ganmc.checks import check_keys, validate_run
from ganmc.cli import COMMANDS
from ganmc.config import register_configs
from ganmc.data.fetch import SOURCES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250
# Documented `ganmc` lines that are not composed, each with the reason (none at present: a
# placeholder such as DIR or FILE composes as a string; `...` is kept out of `ganmc` lines).
NOT_COMPOSED: dict[str, str] = {}

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SPAN = re.compile(r"`([^`]+)`")  # inline code, which may wrap onto the next line
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _text(page: Path) -> str:
    return _COMMENT.sub("", page.read_text())


def _code_lines(text: str) -> list[str]:
    """The lines of the fenced blocks, backslash continuations joined."""
    lines: list[str] = []
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            lines.append(line.strip())
    return lines


def _prose(text: str) -> str:
    """The text outside fenced blocks and inline code (where links live)."""
    return _SPAN.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor, repeats numbered as GitHub numbers them (``name-1``, ...)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", _text(page))):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file or anchor does not exist."""
    bad: list[str] = []
    for target in _LINK.findall(_prose(_text(page))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not checked here
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists():
            bad.append(f"{target} (no file {where})")
        elif anchor and (where.suffix != ".md" or anchor not in anchors(where)):
            bad.append(f"{target} (no heading #{anchor} in {where.name})")
    return bad


def commands(text: str, program: str) -> list[list[str]]:
    """Each ``program ...`` command of the fenced blocks (``&&`` chains split), as argv."""
    found: list[list[str]] = []
    for line in _code_lines(text):
        if not line.startswith(program + " "):
            continue
        argv: list[str] = []
        for token in [*shlex.split(line, comments=True), "&&"]:
            if token != "&&":
                argv.append(token)
                continue
            if argv and argv[0] == program:
                found.append(argv)
            argv = []
    return found


def make_mentions(text: str) -> list[list[str]]:
    """The words after each ``make`` in code (fenced lines without their comments, inline code)."""
    pieces = [*(re.split(r"(?:^|\s)#", line)[0] for line in _code_lines(text)), *(" ".join(s.split()) for s in _SPAN.findall(_FENCE.sub("", text)))]
    found: list[list[str]] = []
    for piece in pieces:
        for match in re.finditer(r"(?:^|(?<=[\s(]))make\s+([^#;&|)]*)", piece):
            words = [w for w in match.group(1).split() if w != "..."]
            if words:
                found.append(words)
    return found


def makefile_targets() -> tuple[set[str], str]:
    """The Makefile's targets (rules and .PHONY) and its whole text (for variable names)."""
    text = (ROOT / "Makefile").read_text()
    joined = text.replace("\\\n", " ")
    targets: set[str] = set()
    for line in joined.splitlines():
        rule = re.match(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*?)\s*:(?![=:])", line)
        if rule:
            targets.update(rule.group(1).split())
    targets.discard(".PHONY")
    return targets, text


def _sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """Jobs of a sweep that together take every value of every swept key (job i takes value
    i mod count of each), built as Hydra's basic sweeper builds its job list: the later of two
    overrides of one key wins, a non-swept override is in every job."""
    per_key: OrderedDict[str, list[str]] = OrderedDict()
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_sweep_override():
            per_key[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
        else:
            per_key[key] = [f"{key}={override.get_value_element_as_str()}"]
    width = max((len(v) for v in per_key.values()), default=1)
    return [[values[i % len(values)] for values in per_key.values()] for i in range(width)]


Compose = Callable[..., DictConfig]
_COMPOSED: dict[str, list[tuple[str, DictConfig]]] = {}  # argv -> its jobs, composed once per session


@pytest.fixture(scope="module")
def compose_docs() -> Iterator[Compose]:
    """Compose a config the way the CLI does (conftest's ``compose_cfg``, initialised once for
    the module's many commands); ``hydra=True`` keeps the ``hydra`` node (sweeper params)."""
    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        yield lambda *overrides, config="sample", hydra=False: compose(
            config, overrides=list(overrides), return_hydra_config=hydra)


def composed_jobs(argv: list[str], compose: Compose) -> list[tuple[str, DictConfig]]:
    """(command, config) of the jobs ``argv`` would run, composed as ``ganmc.cli.main`` composes
    them (a report name after ``table``, ``-m`` sweeps with the experiment's own sweep params)
    and checked as each command checks its config before any compute."""
    key = " ".join(argv)
    if key not in _COMPOSED:
        _COMPOSED[key] = _compose_jobs(argv, compose)
    return _COMPOSED[key]


def _compose_jobs(argv: list[str], compose: Compose) -> list[tuple[str, DictConfig]]:
    command, rest = argv[1], argv[2:]
    if command == "data":
        assert rest[:1] == ["fetch"] and rest[1] in SOURCES, f"no such data set: {argv}"
        return []
    assert command in COMMANDS, f"unknown command {command}"
    if "--help" in rest or "-h" in rest:
        return []
    if command == "table" and rest and "=" not in rest[0] and not rest[0].startswith("-"):
        rest = [f"report={rest[0]}", *rest[1:]]
    overrides: list[str] = []
    skip = False
    for token in rest:
        if skip:
            skip = False
        elif token == "--cfg":
            skip = True
        elif token not in ("-m", "--multirun"):
            assert "=" in token, f"not an override: {token!r}"
            overrides.append(token)
    base = compose(*_sweep_jobs(overrides)[0], config=command, hydra=True)  # for the experiment's sweep
    params = base.hydra.sweeper.get("params") or {}
    swept = [f"{k}={v}" for k, v in params.items()]
    jobs: list[tuple[str, DictConfig]] = []
    for job in _sweep_jobs([*swept, *overrides]):
        cfg = compose(*job, config=command)
        if command == "table":
            check_keys(cfg)
            if cfg.report is not None:
                instantiate(cfg.report)
        else:
            validate_run(cfg)
        jobs.append((command, cfg))
    return jobs


def _documented(program: str) -> list[tuple[str, list[str]]]:
    return [(page.relative_to(ROOT).as_posix(), argv) for page in PAGES for argv in commands(_text(page), program)]


def _id(item: tuple[str, list[str]]) -> str:
    return f"{item[0]}:{' '.join(item[1])[:90]}"


DOCUMENTED = [item for item in _documented("ganmc") if " ".join(item[1]) not in NOT_COMPOSED]


def test_docs_pages_exist_and_are_found():
    names = {p.name for p in PAGES}
    assert {"README.md", "usage.md", "samplers.md", "metrics.md", "datasets.md", "reproducing.md",
            "own-gan.md", "cluster.md", "extending.md"} <= names
    assert len(DOCUMENTED) > 30, "the docs' ganmc commands were not found"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert not broken_links(page), f"{page.name}: broken links {broken_links(page)}"


@pytest.mark.parametrize("item", DOCUMENTED, ids=_id)
def test_every_documented_command_composes(item, compose_docs):
    _, argv = item
    composed_jobs(argv, compose_docs)


def test_skipped_commands_are_still_documented():
    every = {" ".join(argv) for _, argv in _documented("ganmc")}
    assert set(NOT_COMPOSED) <= every, f"stale NOT_COMPOSED entries: {set(NOT_COMPOSED) - every}"


def test_every_make_target_and_variable_exists():
    targets, makefile = makefile_targets()
    assert {"test", "demo", "reproduce-table1", "data"} <= targets
    bad: list[str] = []
    for page in PAGES:
        for words in make_mentions(_text(page)):
            for word in words:
                name = word.partition("=")[0]
                if "=" in word and not re.search(rf"\b{re.escape(name)}\b", makefile):
                    bad.append(f"{page.name}: make variable {name}")
                elif "=" not in word and word not in targets:
                    bad.append(f"{page.name}: make target {word}")
    assert not bad, bad


def test_readme_commands_load_shipped_gans(compose_docs):
    """A README example trains nothing: its GAN is a shipped checkpoint (or a given file)."""
    from ganmc.models.checkpoint import cache_path
    from ganmc.settings import checkpoint_spec

    shipped = {p.name for p in (ROOT / "checkpoints").glob("*.pt")}
    trains: list[str] = []
    for argv in commands(_text(README), "ganmc"):
        for command, cfg in composed_jobs(argv, compose_docs):
            if command in ("train", "sample", "shape") and not (cfg.gan.checkpoint or cfg.gan.get("factory")):
                name = cache_path(checkpoint_spec(cfg)).name
                if name not in shipped:
                    trains.append(f"{' '.join(argv)} -> {name}")
    assert not trains, f"README commands that would train a GAN: {trains}"


def test_readme_fits_two_screens_with_the_decision_table():
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    section = re.search(r"^## Which sampler when\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README has no '## Which sampler when' section"
    rows = [r for r in section.group(1).splitlines() if r.startswith("|")]
    header, rule, body = rows[0], rows[1], rows[2:]
    assert "sampler" in header.lower() and "evidence" in header.lower() and set(rule) <= set("|-: ")
    assert len(body) >= 4
    for row in body:  # each recommendation names its preset and links the table it rests on
        assert re.search(r"`[a-z_]+`", row) and "](results/" in row, row


# The test's own parsers, on cases where the answer is known.
def test_slug_and_parsers_on_known_cases(tmp_path):
    assert slug("Table 3 (CIFAR-10, IS and FID) on a GPU") == "table-3-cifar-10-is-and-fid-on-a-gpu"
    assert slug("`ganmc table`: lists and tables") == "ganmc-table-lists-and-tables"
    page = tmp_path / "a.md"
    page.write_text("# Top\n## Two words\n## Two words\n[ok](#two-words-1) [bad](#nope) [gone](b.md)\n"
                    "```\n[in code](nowhere.md)\nganmc sample seed=1 && ganmc table records=x  # note\n```\n")
    assert anchors(page) == {"top", "two-words", "two-words-1"}
    assert broken_links(page) == ["#nope (no heading #nope in a.md)", f"b.md (no file {tmp_path / 'b.md'})"]
    assert commands(page.read_text(), "ganmc") == [["ganmc", "sample", "seed=1"], ["ganmc", "table", "records=x"]]
    assert make_mentions("run `make\ndata` then\n```\nmake reproduce-table3 ... N=64  # small (make it)\n```\n") == \
        [["reproduce-table3", "N=64"], ["data"]]
    assert _sweep_jobs(["a=1,2,3", "b=x", "c=4,5", "a=7,8"]) == [["a=7", "b=x", "c=4"], ["a=8", "b=x", "c=5"]]


@pytest.mark.parametrize("argv, error", [
    ("ganmc sample n_sample=5", "n_sample"),                         # a misspelled key
    ("ganmc sample +n_sample=5", "unknown config key n_sample"),      # ... added with +
    ("ganmc sample -m +sampler=ddls,dddls", "dddls"),                 # a misspelled preset in a sweep
    ("ganmc sample +sampler=ddls sampler.step_sise=0.1", "step_sise"),
    ("ganmc table tabel1 records=x", "tabel1"),                       # a report that does not exist
    ("ganmc sample seed=-1", "seed must be non-negative"),           # a value checked before compute
])
def test_a_wrong_command_fails_to_compose(argv, error, compose_docs):
    with pytest.raises(Exception, match=error):
        composed_jobs(shlex.split(argv), compose_docs)
