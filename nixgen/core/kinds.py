"""The one vocabulary: every kind nixgen distinguishes, defined once as a ``Literal``.

A kind is compared and stored as its string (``"wheel"``), so locks, JSON reports and templates carry it
as it is; the type checker keeps each use to the values listed here. ``*_VALUES`` tuples list the values for
option parsing and validation (``typing.get_args`` of the alias).
"""

from __future__ import annotations

from typing import Literal, get_args

Provider = Literal["nixpkgs", "wheel", "sdist", "local"]
"""Where a pinned project comes from: nixpkgs as it is, an index wheel, an index sdist, the project itself."""
ForcedProvider = Literal["nixpkgs", "wheel", "sdist"]
"""What ``--provider NAME=…`` may force ("local" is the project itself, never forced)."""

State = Literal["cached", "rebuild", "fetch", "build", "unverified"]
"""A package's predicted fate: binary-cache hit, nixpkgs build with something replaced below it, a wheel
downloaded and patched, an sdist (or a nixpkgs package its system's cache lacks) built, or nothing known
(a nixpkgs package on a system without cache data: never claimed cached)."""

CacheFact = Literal["listed", "absent", "no-data"]
"""Does a system's binary-cache data (its nix-index database) list a nixpkgs attr; "no-data": nothing is
known of that system's cache (darwin)."""

Prefer = Literal["nixpkgs", "latest"]
"""Which valid version to choose: nixpkgs' when it fits, or the newest release."""
Strategy = Literal["min-build", "latest"]
"""Which plan to choose: the one with the least estimated build time, or the newest versions."""

MetadataSource = Literal["pep658", "range", "download", "pkg-info", "pyproject", "egg-info", "build", "direct",
                         "vcs", "none"]
"""Where a candidate's core metadata came from (PEP 658 file, HTTP ranges, the downloaded wheel, an sdist's
PKG-INFO / pyproject.toml / egg-info, its PEP 517 hook, a direct reference, a git checkout, or nowhere:
nixpkgs' own)."""

FoundBy = Literal["search", "unsearched", "replayed", "carried"]
"""How a system's resolution was found: resolvelib's search; without one (every project at the first of its
candidates that all the requirements on it allow, and nothing conflicted); another system's search replayed
(this system answered every question of it the same); another system's versions carried over (a resolution
here, each pin the first candidate its requirements allow). min-build's trades, checked as a resolution,
keep how the resolution they trade from was found."""

DepKind = Literal["run", "build"]
"""A dependency edge: needed at run time, or only to build an sdist (its PEP 518 build system)."""

ReasonKind = Literal["forced", "traded", "nixpkgs", "local", "hashed", "vcs", "newer", "absent"]
"""Why a provider was chosen: ``--provider``; min-build traded a rebuild for a wheel; nixpkgs has a fitting
version; the project itself; a ``--hash`` pin; a git source the user named; the resolution needs another
version than nixpkgs'; nixpkgs does not have the project."""

CacheOutcome = Literal["cached", "missing", "refused", "not checked"]
"""What ``nixgen verify`` found for a package: the binary cache has its out path, lacks it, Nix refused to
evaluate it (broken, unfree, unsupported), or it was not checked."""

RodeoStage = Literal["resolved", "generated", "smoke", "built", "imports ok"]
"""How far a rodeo cell got, in order ("smoke": ``--smoke``'s pre-flight passed, see :mod:`nixgen.smoke`)."""
RodeoStatus = Literal["resolved", "generated", "smoke", "built", "imports ok", "failed"]

SmokeStep = Literal["build", "install", "check", "import"]
"""The steps of the smoke pre-flight (:mod:`nixgen.smoke`), in order: build the plan's sdists with its build
pins, install the runtime pins (and those wheels), ``uv pip check``, import the roots."""
SmokeVerdict = Literal["passed", "failed", "not tried"]
"""What one smoke step found (``not tried``: the host cannot try it, with the reason)."""
SmokeOutcome = Literal["passed", "failed", "incomplete", "not tried"]
"""A whole smoke run of one plan: every step passed; one failed; none failed but something was not tried;
nothing could be tried (another system, no interpreter of the target's minor version)."""

OutputFormat = Literal["flake", "nix", "overlay"]
"""What nixgen writes: a flake; default.nix and shell.nix; or an overlay.nix to apply yourself."""

Verdict = Literal["ok", "risky", "infeasible"]
"""Whether a build from source can work for the target: nothing speaks against it, something does, or the
evidence says it cannot (see :mod:`nixgen.plan.feasibility`)."""

EvidenceKind = Literal["target-wheels", "no-target-wheels", "numpy-distutils", "distutils"]
"""What a feasibility verdict rests on: the release ships wheels for the target interpreter; it ships
interpreter-specific wheels, none for the target (with the release's upload date against the interpreter's,
and the first release that has them); its setup.py imports numpy.distutils (gone in numpy 2.0, and from
numpy 1.26 on Python 3.12+); it imports distutils (gone from Python in 3.12)."""

PROVIDERS: tuple[Provider, ...] = get_args(Provider)
FORCED_PROVIDERS: tuple[ForcedProvider, ...] = get_args(ForcedProvider)
STATES: tuple[State, ...] = get_args(State)
PREFERS: tuple[Prefer, ...] = get_args(Prefer)
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
METADATA_SOURCES: tuple[MetadataSource, ...] = get_args(MetadataSource)
RODEO_STAGES: tuple[RodeoStage, ...] = get_args(RodeoStage)
SMOKE_STEPS: tuple[SmokeStep, ...] = get_args(SmokeStep)
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)


def as_metadata_source(text: str) -> MetadataSource:
    """``text`` as a :data:`MetadataSource` (an unknown spelling is ``"none"``: nothing is claimed for it)."""
    for value in METADATA_SOURCES:
        if value == text:
            return value
    return "none"
