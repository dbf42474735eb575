"""The one error hierarchy of nixgen.

Every error a person can cause or fix is a :class:`NixgenError`: it carries a message that says what went
wrong and where, and a hint that says what to do. The CLI prints both and exits with ``exit_code``; any other
exception reaching the CLI is a bug in nixgen.
"""

from __future__ import annotations


class NixgenError(Exception):
    """Base of every error meant for a person rather than a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The text the CLI prints: the message, then the hint on its own line."""
        text = f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class InputError(NixgenError):
    """A requirements, pyproject, lock or override file that nixgen cannot use (names file:line)."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 text: str | None = None, hint: str | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        full = where + message
        if text is not None:
            full += f"\n    {text.strip()}"
        super().__init__(full, hint=hint)
        self.path = path
        self.line = line


class UsageError(NixgenError):
    """Options that contradict each other or name something unknown."""

    exit_code = 2


class IndexAccessError(NixgenError):
    """The package index could not be reached or answered badly after retries (names the URL)."""

    exit_code = 3


class ProjectNotFound(NixgenError):
    """The index has no project of that name."""

    exit_code = 4


class OfflineMiss(NixgenError):
    """``--offline`` was given and something needed is not in the cache."""

    exit_code = 3


class MetadataError(NixgenError):
    """A distribution's metadata is missing, malformed or cannot be had without running its build."""


class HashMismatch(NixgenError):
    """A downloaded artifact or a ``--hash`` pin does not match what the index says."""


class SnapshotError(NixgenError):
    """The nixpkgs snapshot (embedded or imported) is missing or malformed."""


class NixEvalError(NixgenError):
    """Nix is missing or could not evaluate what nixgen generated (quotes Nix's error)."""


class ResolutionError(NixgenError):
    """No set of versions satisfies the requirements; the message explains the conflict in words."""

    exit_code = 5


class OverrideError(NixgenError):
    """Override data that is invalid (names the file and entry)."""

    exit_code = 2


class CheckWouldChange(NixgenError):
    """``--check``: the file on disk is not what nixgen would write now (it was not written)."""

    exit_code = 8


class InfeasibleBuild(NixgenError):
    """A plan builds a package from source that the evidence says cannot build for the target (see
    ``nixgen explain``); ``--allow-infeasible`` writes it anyway. ``python`` is the target's X.Y, ``newer``
    the (name, version) pins the evidence says would work."""

    exit_code = 11
    python: str = ""
    newer: tuple[tuple[str, str], ...] = ()
