"""The header of generated files: the canonical command that makes them again, and what was relaxed, traded
or could not be generated. Derived from the lock alone (never from argv, ``-o`` or ``--check``), so the same
lock always renders the same bytes."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from nixgen.emit import words
from nixgen.lock.model import Lock, LockOptions
from nixgen.resolve.target import SYSTEMS


def _path(path: str, base: Path) -> str:
    rel = os.path.relpath(path, base)
    return path if rel.startswith("../../") else rel


def command(lock_: Lock, *, lock: bool = False) -> str:
    """``nixgen [lock] SOURCE [options]`` that makes this lock again, paths relative to the first source's
    directory (run it there)."""
    options: LockOptions = lock_.options
    base = _base(lock_)
    words_: list[str] = ["nixgen"] + (["lock"] if lock else [])
    if options.sources:
        words_.append(_path(options.sources[0], base))
    for url in options.index_urls[:1]:
        words_ += ["--index-url", url]
    for url in options.index_urls[1:]:
        words_ += ["--extra-index-url", url]
    if options.python:
        words_ += ["--python", options.python]
    for system in options.systems if tuple(options.systems) != tuple(SYSTEMS) else ():
        words_ += ["--system", system]
    if options.prefer != "nixpkgs":
        words_ += ["--prefer", options.prefer]
    if options.strategy != "min-build":
        words_ += ["--strategy", options.strategy]
    for name, provider in options.providers:
        words_ += ["--provider", f"{name}={provider}"]
    for extra in options.extras:
        words_ += ["--extra", extra]
    for group in options.groups:
        words_ += ["--group", group]
    words_ += [flag for flag, on in (("--all-extras", options.all_extras), ("--all-groups", options.all_groups),
                                     ("--no-dev", options.no_dev)) if on]
    for flag, names in (("--with", options.with_groups), ("--without", options.without_groups),
                        ("--only", options.only_groups)):
        for name in names:
            words_ += [flag, name]
    if options.exclude_newer is not None:
        words_ += ["--exclude-newer", options.exclude_newer.isoformat()]
    if options.snapshot:
        words_ += ["--snapshot", _path(options.snapshot, base)]
    if options.no_relax:
        words_.append("--no-relax")
    if options.full_search:
        words_.append("--full-search")
    if options.image_cmd:
        words_ += ["--image-cmd", shlex.join(options.image_cmd)]
    if options.tests:
        words_.append("--tests")
    if not options.build_metadata:
        words_.append("--no-build-metadata")
    for f in lock_.overrides.files:
        words_ += ["--overrides", _path(f.path, base)]
    return shlex.join(words_)


def _base(lock: Lock) -> Path:
    return Path(lock.options.sources[0]).parent if lock.options.sources else Path.cwd()


def header_lines(lock: Lock) -> list[str]:
    """The comment lines at the top of a flake for ``lock``."""
    lines = [f"made with: {command(lock)}"]
    if lock.options.python == "auto":
        lines.append(f"--python auto chose {'.'.join(lock.plan.python_version.split('.')[:2])}")
    relaxations = dict.fromkeys(words.relaxation(rel) for p in lock.plans for rel in p.relaxations)
    lines += [f"relaxed (as nixpkgs has it): {rel}" for rel in relaxations]
    many = len(lock.plans) > 1
    lines += [words.trade(t) + (f" ({t.system})" if many else "") for t in lock.trades]
    lines += [words.alternative(a) + (f" ({a.system})" if many else "") for a in lock.alternatives]
    lines += [f"not generated for {f.system}: {' '.join(f.why.split())}" for f in lock.failures]
    lines += [f"note: {p.system}: {note}" for p in lock.plans if (note := SYSTEMS[p.system].deprecation)]
    return lines
