"""The one error hierarchy of nixgen.

Every error a person can cause or fix is a :class:`NixgenError`: it carries a message that says what went
wrong and where, and a hint that says what to do. The CLI prints both and exits with ``exit_code``; any other
exception reaching the CLI is a bug in nixgen (exit status 1).

The exit statuses are one table, :data:`EXIT_CODES` (issue 16 owns it; the README's "Exit codes" table and
``nixgen --help`` are made from or checked against it). Each class below takes its ``exit_code`` from it;
a new failure kind gets a new row here, never a reused number.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar, Final


class ExitCode(IntEnum):
    """nixgen's exit statuses, distinct per failure kind (130 is the shell's 128 + SIGINT)."""

    SUCCESS = 0
    INTERNAL = 1
    USAGE = 2
    INPUT = 3
    NETWORK = 4
    OFFLINE_MISS = 5
    NOT_FOUND = 6
    NO_RESOLUTION = 7
    CHECK_WOULD_CHANGE = 8
    PREDICTION_WRONG = 9
    NIX_EVAL = 10
    INFEASIBLE_BUILD = 11
    SMOKE_FAILED = 12
    INTERRUPTED = 130


EXIT_CODES: Final[dict[ExitCode, str]] = {
    ExitCode.SUCCESS: "success: the output is what was asked",
    ExitCode.INTERNAL: "internal error: a bug in nixgen (please report the traceback)",
    ExitCode.USAGE: "usage: unknown or contradictory options or arguments, or a directory nixgen cannot use",
    ExitCode.INPUT: "input: a requirements, pyproject, lock, override, matrix or snapshot file nixgen cannot use",
    ExitCode.NETWORK: "network: the package index or a binary cache is unreachable or answered badly",
    ExitCode.OFFLINE_MISS: "offline miss: --offline, and something needed is not in the cache",
    ExitCode.NOT_FOUND: "not found: the index has no project of that name",
    ExitCode.NO_RESOLUTION: "no resolution: no set of versions satisfies the requirements (or one's dependencies "
                            "are unknown)",
    ExitCode.CHECK_WOULD_CHANGE: "--check: the output would change",
    ExitCode.PREDICTION_WRONG: "verify: a package predicted to come from the binary cache must be built",
    ExitCode.NIX_EVAL: "verify: Nix is missing or could not evaluate the generated flake",
    ExitCode.INFEASIBLE_BUILD: "infeasible build: a package nixgen would build cannot build as planned",
    ExitCode.SMOKE_FAILED: "smoke: the plan's version set failed to install, build, pass `pip check` or import on "
                           "a host CPython",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); what finished is kept",
}


def exit_codes_help() -> str:
    """The table as plain text for ``nixgen --help`` (``\\b`` keeps click from rewrapping it)."""
    width = max(len(str(int(code))) for code in EXIT_CODES)
    rows = [f"  {int(code):>{width}}  {meaning}" for code, meaning in EXIT_CODES.items()]
    return "\b\nExit codes:\n" + "\n".join(rows)


class NixgenError(Exception):
    """Base of every error meant for a person rather than a traceback."""

    exit_code: ClassVar[int] = ExitCode.INTERNAL  # every subclass names its own row of EXIT_CODES

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

    exit_code = ExitCode.INPUT

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

    exit_code = ExitCode.USAGE


class IndexAccessError(NixgenError):
    """The package index could not be reached or answered badly after retries (names the URL)."""

    exit_code = ExitCode.NETWORK


class ProjectNotFound(NixgenError):
    """The index has no project of that name, and the user asked for it (exit 4).

    A project that only a dependency names is not this error: it is a requirement without candidates, the
    resolver backtracks over the dependent, and if nothing else works the run ends with a
    :class:`ResolutionError` (exit 5) whose message says the project is missing from the index.
    """

    exit_code = ExitCode.NOT_FOUND


class OfflineMiss(NixgenError):
    """``--offline`` was given and something needed is not in the cache."""

    exit_code = ExitCode.OFFLINE_MISS


class MetadataError(NixgenError):
    """A distribution's metadata is missing, malformed or cannot be had without running its build."""

    exit_code = ExitCode.NO_RESOLUTION


class HashMismatch(NixgenError):
    """A downloaded artifact or a ``--hash`` pin does not match what the index says."""

    exit_code = ExitCode.NETWORK


class SnapshotError(NixgenError):
    """The nixpkgs snapshot (embedded or imported) is missing or malformed."""

    exit_code = ExitCode.INPUT


class NixEvalError(NixgenError):
    """Nix is missing or could not evaluate what nixgen generated (quotes Nix's error)."""

    exit_code = ExitCode.NIX_EVAL


class ResolutionError(NixgenError):
    """No set of versions satisfies the requirements; the message explains the conflict in words."""

    exit_code = ExitCode.NO_RESOLUTION


class OverrideError(NixgenError):
    """Override data that is invalid (names the file and entry)."""

    exit_code = ExitCode.INPUT


class CheckWouldChange(NixgenError):
    """``--check``: the file on disk differs from what nixgen would write now."""

    exit_code = ExitCode.CHECK_WOULD_CHANGE


class PredictionWrong(NixgenError):
    """``verify``: a package predicted to come from the binary cache would have to be built."""

    exit_code = ExitCode.PREDICTION_WRONG


class InfeasibleBuild(NixgenError):
    """A plan builds a package from source that the evidence says cannot build for the target (see
    ``nixgen explain``); ``--allow-infeasible`` writes it anyway. ``python`` is the target's X.Y, ``newer``
    the (name, version) pins the evidence says would work."""

    exit_code = ExitCode.INFEASIBLE_BUILD
    python: str = ""
    newer: tuple[tuple[str, str], ...] = ()


class SmokeFailed(NixgenError):
    """``nixgen smoke``: the plan's version set failed to install, build, check or import on a host CPython of
    the target's minor version (the steps and their reasons are printed before)."""

    exit_code = ExitCode.SMOKE_FAILED
