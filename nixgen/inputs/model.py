"""What every input format produces: the user's requirements with where each came from."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import Requirement


@dataclass(frozen=True)
class Origin:
    """Where a requirement was written: file, first physical line, and the logical line's text.

    ``text`` is the logical line as written (continuations joined, ``${VAR}`` not expanded, so no secret
    from the environment ends up in a message); ``str()`` is ``path:line``.
    """

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class UserRequirement:
    """A PEP 508 requirement from the user, with its origin and any ``--hash`` pins.

    Hashes are ``"algo:hex"`` with a lower-case digest (algo one of pip's sha256, sha384, sha512), in the
    order written, each once.
    """

    requirement: Requirement
    origin: Origin
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalProject:
    """The project of a pyproject.toml, built from its own source tree (PEP 621 + PEP 518 data)."""

    name: str
    version: str
    directory: str
    dependencies: tuple[str, ...]
    optional: tuple[tuple[str, tuple[str, ...]], ...] = ()
    build_requires: tuple[str, ...] | None = None
    requires_python: str | None = None
    requires_dist: tuple[str, ...] | None = None  # from its PEP 517 metadata hook, when metadata is dynamic
    version_from_vcs: bool = False  # setuptools-scm / hatch-vcs: the build needs the version given to it


@dataclass(frozen=True)
class RequirementSet:
    """Requirements and constraints, plus the index options the files set.

    Entries keep file order (includes in place); the same project may appear more than once, as pip allows.
    ``index_url`` is the last ``--index-url`` given, ``extra_index_urls`` each ``--extra-index-url`` once in
    order, ``sources`` each file read once in the order first read.
    """

    requirements: tuple[UserRequirement, ...]
    constraints: tuple[UserRequirement, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    pre: bool = False
    sources: tuple[str, ...] = ()
    local_projects: tuple[LocalProject, ...] = ()
