"""A project's own requirements from ``pyproject.toml``: PEP 621 ``[project]`` dependencies and
optional-dependencies (``--extra``), and PEP 735 ``[dependency-groups]`` (``--group``, with
``{include-group = …}``)."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from nixgen.errors import InputError
from nixgen.inputs.model import LocalProject, Origin, RequirementSet, UserRequirement


def load_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"cannot read it as {what}: {err}", path=str(path)) from None


def _req(text: str, path: Path, where: str) -> UserRequirement:
    try:
        return UserRequirement(Requirement(text), Origin(str(path), 0, text))
    except InvalidRequirement as err:
        raise InputError(f"{where}: {text!r} is not a PEP 508 requirement: {err}", path=str(path)) from None


def _group(groups: dict[str, Any], name: str, path: Path, seen: tuple[str, ...]) -> list[str]:
    """PEP 735: a group's requirements with ``include-group`` entries expanded (cycles are errors)."""
    norm = {canonicalize_name(k): v for k, v in groups.items()}
    key = canonicalize_name(name)
    if key not in norm:
        raise InputError(f"no dependency group {name!r}", path=str(path),
                         hint=f"groups: {', '.join(sorted(groups)) or '(none)'}")
    if key in seen:
        raise InputError(f"dependency groups include each other: {' -> '.join((*seen, key))}", path=str(path))
    out: list[str] = []
    for item in norm[key]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and "include-group" in item:
            out += _group(groups, item["include-group"], path, (*seen, key))
        else:
            raise InputError(f"dependency group {name!r} has an entry that is neither a requirement nor "
                             f"an include-group: {item!r}", path=str(path))
    return out


def read_pyproject(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> RequirementSet:
    """The requirements of the project in ``path`` (the project itself is not added)."""
    data = load_toml(path, "TOML")
    project = data.get("project")
    texts: list[tuple[str, str]] = []
    if project is not None:
        if "dependencies" in project.get("dynamic", []):
            raise InputError("[project] dependencies are dynamic, so they are only known after a build",
                             path=str(path), hint="list them statically, or give nixgen a requirements file")
        texts += [(t, "[project] dependencies") for t in project.get("dependencies", [])]
        optional = {canonicalize_name(k): v for k, v in project.get("optional-dependencies", {}).items()}
        for extra in extras:
            if canonicalize_name(extra) not in optional:
                raise InputError(f"no optional-dependencies extra {extra!r}", path=str(path),
                                 hint=f"extras: {', '.join(sorted(optional)) or '(none)'}")
            texts += [(t, f"[project.optional-dependencies] {extra}") for t in optional[canonicalize_name(extra)]]
    elif extras:
        raise InputError("--extra needs a [project] table", path=str(path))
    for group in groups:
        texts += [(t, f"[dependency-groups] {group}") for t in _group(data.get("dependency-groups", {}), group,
                                                                       path, ())]
    if project is None and not groups:
        raise InputError("has no [project] table (PEP 621)", path=str(path),
                         hint="nixgen reads [project] dependencies and [dependency-groups]")
    dynamic = set(project.get("dynamic", [])) if project is not None else set()
    if project is not None and project.get("name") and project.get("version") and "version" not in dynamic:
        # The project itself goes in the environment, built from its source tree; its own dependencies come
        # in through it, so only the dependency groups stay separate requirements.
        name = str(project["name"])
        extra_part = f"[{','.join(extras)}]" if extras else ""
        root = UserRequirement(Requirement(f"{name}{extra_part}"), Origin(str(path), 0, name))
        system = data.get("build-system")
        local = LocalProject(
            name=str(canonicalize_name(name)), version=str(project["version"]), directory=str(path.parent),
            dependencies=tuple(project.get("dependencies", [])),
            optional=tuple((str(canonicalize_name(k)), tuple(v))
                           for k, v in sorted(project.get("optional-dependencies", {}).items())),
            build_requires=tuple(system.get("requires", [])) if isinstance(system, dict) else None,
            requires_python=project.get("requires-python"),
        )
        group_reqs = [_req(t, path, w) for t, w in texts if w.startswith("[dependency-groups]")]
        return RequirementSet(requirements=(root, *group_reqs), sources=(str(path),), local_projects=(local,))
    return RequirementSet(requirements=tuple(_req(t, path, w) for t, w in texts), sources=(str(path),))
