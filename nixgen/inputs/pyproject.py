"""A project's own requirements from ``pyproject.toml``: PEP 621 ``[project]`` dependencies and
optional-dependencies (``--extra``), and PEP 735 ``[dependency-groups]`` (``--group``, with
``{include-group = …}``).

Every value read is checked for its type and syntax (:mod:`nixgen.inputs.tomlshape`): a wrong one is an
InputError naming the file, the key and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from nixgen.errors import InputError
from nixgen.inputs.model import LocalProject, Origin, RequirementSet, UserRequirement
from nixgen.inputs.tomlshape import Key, get, load_toml

__all__ = ["load_toml", "read_pyproject"]

_GroupItem = str | tuple[str, Key]  # a requirement, or an include-group (normalized name, where written)


def _req(text: str, path: Path, where: str) -> UserRequirement:
    try:
        return UserRequirement(Requirement(text), Origin(str(path), 0, text))
    except InvalidRequirement as err:
        raise InputError(f"{where}: {text!r} is not a PEP 508 requirement: {err}", path=str(path)) from None


def _names(key: Key, table: dict[str, Any], what: str) -> dict[str, tuple[str, Key]]:
    """A table's keys as names (PEP 503 normalized) -> (key as written, its Key); two spellings of one name
    are an error."""
    out: dict[str, tuple[str, Key]] = {}
    for written in table:
        name = (key / written).name(written)
        if name in out:
            raise (key / written).error(f"{what} {written!r} and {out[name][0]!r} are the same name",
                                        hint="names are compared normalized (PEP 503); merge the two")
        out[name] = (written, key / written)
    return out


def _group_items(key: Key, value: object) -> list[_GroupItem]:
    """PEP 735: a group is an array of requirement strings and ``{include-group = "name"}`` tables."""
    items: list[_GroupItem] = []
    for i, item in enumerate(key.array(value)):
        at = key / i
        if isinstance(item, str):
            at.requirement(item)
            items.append(item)
        elif isinstance(item, dict) and set(item) == {"include-group"}:
            items.append(((at / "include-group").name(item["include-group"]), at / "include-group"))
        else:
            raise at.wrong(item, "a requirement string or a table {include-group = \"name\"} (PEP 735)")
    return items


def _dependency_groups(key: Key, value: object) -> dict[str, tuple[str, list[_GroupItem]]]:
    """``[dependency-groups]``: normalized name -> (name as written, items)."""
    table = key.table(value)
    return {name: (written, _group_items(at, table[written]))
            for name, (written, at) in _names(key, table, "dependency group").items()}


def _expand_group(groups: dict[str, tuple[str, list[_GroupItem]]], name: str, path: Path) -> list[str]:
    """PEP 735: a group's requirements with ``include-group`` entries expanded in place, each requirement once
    (cycles are errors). Iterative, so a long chain of includes needs no deep recursion."""
    key = str(canonicalize_name(name))
    if key not in groups:
        raise InputError(f"no dependency group {name!r}", path=str(path),
                         hint=f"groups: {', '.join(sorted(w for w, _ in groups.values())) or '(none)'}")
    done: dict[str, list[str]] = {}
    stack: list[tuple[str, int, list[str]]] = [(key, 0, [])]
    while stack:
        group, position, acc = stack[-1]
        items = groups[group][1]
        if position == len(items):
            stack.pop()
            done[group] = list(dict.fromkeys(acc))
            if stack:
                stack[-1][2].extend(done[group])
            continue
        stack[-1] = (group, position + 1, acc)
        item = items[position]
        if isinstance(item, str):
            acc.append(item)
            continue
        target, at = item
        if target in done:
            acc.extend(done[target])
        elif target not in groups:
            raise at.error(f"includes the dependency group {target!r}, which does not exist")
        elif any(target == g for g, _, _ in stack):
            cycle = [g for g, _, _ in stack]
            cycle = cycle[cycle.index(target):]
            raise at.error(f"dependency groups include each other: {' -> '.join((*cycle, target))}")
        else:
            stack.append((target, 0, []))
    return done[key]


def read_pyproject(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> RequirementSet:
    """The requirements of the project in ``path`` (the project itself is not added)."""
    data = load_toml(path, "TOML")
    doc = Key(str(path))
    project = get(data, doc, "project", Key.table)
    texts: list[tuple[str, str]] = []
    optional: dict[str, list[str]] = {}
    dynamic: set[str] = set()
    if project is not None:
        pk = doc / "project"
        dynamic = set(get(project, pk, "dynamic", Key.strings) or [])
        if "dependencies" in dynamic:
            raise InputError("[project] dependencies are dynamic, so they are only known after a build",
                             path=str(path), hint="list them statically, or give nixgen a requirements file")
        texts += [(t, "[project] dependencies") for t in get(project, pk, "dependencies", Key.requirements) or []]
        ok = pk / "optional-dependencies"
        optional_table = get(project, pk, "optional-dependencies", Key.table) or {}
        optional = {name: (ok / written).requirements(optional_table[written])
                    for name, (written, _) in _names(ok, optional_table, "extra").items()}
        for extra in extras:
            if canonicalize_name(extra) not in optional:
                raise InputError(f"no optional-dependencies extra {extra!r}", path=str(path),
                                 hint=f"extras: {', '.join(sorted(optional)) or '(none)'}")
            texts += [(t, f"[project.optional-dependencies] {extra}") for t in optional[canonicalize_name(extra)]]
    elif extras:
        raise InputError("--extra needs a [project] table", path=str(path))
    if groups:
        declared = get(data, doc, "dependency-groups", _dependency_groups) or {}
        for group in groups:
            texts += [(t, f"[dependency-groups] {group}") for t in _expand_group(declared, group, path)]
    if project is None and not groups:
        raise InputError("has no [project] table (PEP 621)", path=str(path),
                         hint="nixgen reads [project] dependencies and [dependency-groups]")
    if project is not None and project.get("name") and project.get("version") and "version" not in dynamic:
        # The project itself goes in the environment, built from its source tree; its own dependencies come
        # in through it, so only the dependency groups stay separate requirements.
        pk = doc / "project"
        name = (pk / "name").name(project["name"])
        version = (pk / "version").version(project["version"])
        extra_part = f"[{','.join(str(canonicalize_name(e)) for e in extras)}]" if extras else ""
        root = UserRequirement(Requirement(f"{name}{extra_part}"), Origin(str(path), 0, str(project["name"])))
        system = get(data, doc, "build-system", Key.table)
        build_requires = None
        if system is not None:
            build_requires = tuple(get(system, doc / "build-system", "requires", Key.requirements) or [])
        local = LocalProject(
            name=name, version=version, directory=str(path.parent),
            dependencies=tuple(t for t, w in texts if w == "[project] dependencies"),
            optional=tuple((k, tuple(v)) for k, v in sorted(optional.items())),
            build_requires=build_requires,
            requires_python=get(project, pk, "requires-python", Key.specifier),
        )
        group_reqs = [_req(t, path, w) for t, w in texts if w.startswith("[dependency-groups]")]
        return RequirementSet(requirements=(root, *group_reqs), sources=(str(path),), local_projects=(local,))
    return RequirementSet(requirements=tuple(_req(t, path, w) for t, w in texts), sources=(str(path),))
