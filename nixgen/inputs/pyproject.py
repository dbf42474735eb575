"""A project's own requirements from ``pyproject.toml``: PEP 621 ``[project]`` dependencies and
optional-dependencies (``--extra``), and PEP 735 ``[dependency-groups]`` (``--group``, with
``{include-group = …}``).

Every value read is checked for its type and syntax (:mod:`nixgen.inputs.tomlshape`): a wrong one is an
InputError naming the file, the key and what was expected.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from nixgen.errors import InputError
from nixgen.inputs.model import LocalProject, Origin, RequirementSet, UserRequirement
from nixgen.inputs.project import built_metadata, check_source_tree, poetry_specifier, stable_version, vcs_versioned
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


def _build_requires(data: dict[str, Any], doc: Key) -> tuple[str, ...] | None:
    system = get(data, doc, "build-system", Key.table)
    if system is None:
        return None
    return tuple(get(system, doc / "build-system", "requires", Key.requirements) or [])


def _root(name: str, extras: Sequence[str], path: Path, written: str) -> UserRequirement:
    extra_part = f"[{','.join(str(canonicalize_name(e)) for e in extras)}]" if extras else ""
    return UserRequirement(Requirement(f"{name}{extra_part}"), Origin(str(path), 0, written))


def _check_extras(extras: Sequence[str], known: Sequence[str], path: Path, what: str) -> None:
    for extra in extras:
        if canonicalize_name(extra) not in known:
            raise InputError(f"no {what} extra {extra!r}", path=str(path),
                             hint=f"extras: {', '.join(sorted(known)) or '(none)'}")


def _group_requirements(data: dict[str, Any], doc: Key, groups: Sequence[str], path: Path) -> list[UserRequirement]:
    if not groups:
        return []
    declared = get(data, doc, "dependency-groups", _dependency_groups) or {}
    return [_req(t, path, f"[dependency-groups] {group}")
            for group in groups for t in _expand_group(declared, group, path)]


def _built_project(data: dict[str, Any], doc: Key, path: Path, extras: Sequence[str],
                   groups: Sequence[str]) -> RequirementSet:
    """A ``[project]`` with dynamic metadata: name, version and dependencies from its PEP 517 metadata hook."""
    directory = path.parent
    check_source_tree(directory, str((doc / "project" / "name").name(data["project"].get("name", directory.name))))
    requires = _build_requires(data, doc)
    meta = built_metadata(directory, requires)
    version, note = stable_version(meta.version, str(path))
    if note:
        sys.stderr.write(f"nixgen: note: {note}\n")
    _check_extras(extras, meta.provides_extra, path, "optional-dependencies")
    local = LocalProject(name=meta.name, version=version, directory=str(directory), dependencies=(),
                         optional=tuple((e, ()) for e in sorted(meta.provides_extra)), build_requires=requires,
                         requires_python=meta.requires_python, requires_dist=meta.requires_dist,
                         version_from_vcs=vcs_versioned(data))
    root = _root(meta.name, extras, path, meta.name)
    return RequirementSet(requirements=(root, *_group_requirements(data, doc, groups, path)),
                          sources=(str(path),), local_projects=(local,))


def _poetry_requirement(key: Key, name: str, value: object) -> tuple[str, bool]:
    """One ``[tool.poetry.dependencies]`` entry as PEP 508 text, and whether it is optional."""
    table: dict[str, Any] = {"version": value} if isinstance(value, str) else key.table(value)
    for source in ("path", "url", "file"):
        if source in table:
            raise key.error(f"is a {source} dependency, which nixgen does not read from [tool.poetry] yet",
                            hint="list it in a requirements file, or use the poetry.lock")
    if "git" in table:  # Poetry's git dependency: a PEP 508 direct reference at its branch, tag or rev
        url = (key / "git").string(table["git"])
        refs = [r for r in ("rev", "tag", "branch") if r in table]
        ref = (key / refs[0]).string(table[refs[0]]) if refs else None
        sub = (key / "subdirectory").string(table["subdirectory"]) if "subdirectory" in table else None
        specifier = (" @ " + ("" if url.startswith("git+") else "git+") + url + (f"@{ref}" if ref else "")
                     + (f"#subdirectory={sub}" if sub else ""))
    else:
        constraint = (key / "version").string(table["version"]) if "version" in table else "*"
        try:
            specifier = poetry_specifier(constraint)
        except ValueError:
            raise (key / "version").error(
                f"{constraint!r} is not a Poetry constraint nixgen can express in PEP 440",
                hint="`||` (either of two ranges) has no PEP 508 spelling") from None
    extras = (key / "extras").strings(table["extras"]) if "extras" in table else []
    markers = [f"({(key / 'markers').marker(table['markers'])})"] if "markers" in table else []
    if "python" in table:
        try:
            markers.append(" and ".join(f'python_version {s.operator} "{s.version}"' for s in
                                        SpecifierSet(poetry_specifier((key / "python").string(table["python"])))))
        except ValueError:
            raise (key / "python").error("is not a Poetry constraint nixgen can express in PEP 440") from None
    text = name + (f"[{','.join(extras)}]" if extras else "") + specifier
    marker = " and ".join(m for m in markers if m)
    if marker:
        text += f" ; {marker}"
    key.requirement(text)
    optional = table.get("optional", False)
    if not isinstance(optional, bool):
        raise (key / "optional").wrong(optional, "a boolean")
    return text, optional


def _poetry_groups(poetry: dict[str, Any], pk: Key) -> dict[str, tuple[bool, list[str]]]:
    """Poetry's dependency groups: normalized name -> (``optional``, requirements); the legacy
    ``[tool.poetry.dev-dependencies]`` is the group ``dev``."""
    out: dict[str, tuple[bool, list[str]]] = {}
    legacy = get(poetry, pk, "dev-dependencies", Key.table)
    if legacy is not None:
        out["dev"] = (False, [_poetry_requirement(pk / "dev-dependencies" / n, n, v)[0] for n, v in legacy.items()])
    gk = pk / "group"
    for written, value in (get(poetry, pk, "group", Key.table) or {}).items():
        table = (gk / written).table(value)
        optional = table.get("optional", False)
        if not isinstance(optional, bool):
            raise (gk / written / "optional").wrong(optional, "a boolean")
        dk = gk / written / "dependencies"
        deps = get(table, gk / written, "dependencies", Key.table) or {}
        texts = [_poetry_requirement(dk / n, n, v)[0] for n, v in deps.items() if n != "python"]
        name = (gk / written).name(written)
        out[name] = (optional, out.get(name, (False, []))[1] + texts)
    return out


def _poetry_selection(declared: dict[str, tuple[bool, list[str]]], groups: Sequence[str], with_: Sequence[str],
                      without: Sequence[str], only: Sequence[str], path: Path) -> tuple[bool, list[str]]:
    """Poetry's ``install`` group options: every non-optional group by default, ``--with`` (and nixgen's
    ``--group``) adds, ``--without`` removes, ``--only`` is exactly those (``main`` being the project).
    Returns whether the project itself is in, and the selected groups' requirements."""
    def norm(names: Sequence[str]) -> list[str]:
        out = [str(canonicalize_name(n)) for n in names]
        for n, written in zip(out, names, strict=True):
            if n != "main" and n not in declared:
                raise InputError(f"no Poetry dependency group {written!r}", path=str(path),
                                 hint=f"groups: {', '.join(sorted(declared)) or '(none)'}")
        return out
    wanted = norm([*with_, *(g for g in groups if str(canonicalize_name(g)) in declared)])
    if only:
        chosen = set(norm(only))
    else:
        chosen = {g for g, (optional, _) in declared.items() if not optional} | set(wanted) | {"main"}
    chosen -= set(norm(without))
    return "main" in chosen, [t for g in sorted(chosen - {"main"}) for t in declared[g][1]]


def _poetry_project(data: dict[str, Any], doc: Key, path: Path, extras: Sequence[str],
                    groups: Sequence[str], with_: Sequence[str] = (), without: Sequence[str] = (),
                    only: Sequence[str] = ()) -> RequirementSet:
    """A ``[tool.poetry]`` project (no ``[project]``): name, version and dependencies as Poetry writes them,
    its constraints (``^``, ``~``) turned into PEP 440 and its ``python`` into Requires-Python; its groups
    chosen as ``poetry install`` does."""
    pk = doc / "tool" / "poetry"
    poetry = data["tool"]["poetry"]
    declared = _poetry_groups(poetry, pk)
    main, group_texts = _poetry_selection(declared, groups, with_, without, only, path)
    pep735 = [g for g in groups if str(canonicalize_name(g)) not in declared]
    group_reqs = [*(_req(t, path, "[tool.poetry.group]") for t in group_texts),
                  *_group_requirements(data, doc, pep735, path)]
    name = get(poetry, pk, "name", Key.name)
    version = get(poetry, pk, "version", Key.version)
    package_mode = poetry.get("package-mode", True) is not False and name is not None and version is not None
    deps = get(poetry, pk, "dependencies", Key.table) or {}
    dk = pk / "dependencies"
    required: list[str] = []
    optional: dict[str, str] = {}
    requires_python = None
    for written, value in deps.items():
        dep = (dk / written).name(written)
        if dep == "python":
            try:
                requires_python = poetry_specifier((dk / written).string(value)) or None
            except ValueError:
                raise (dk / written).error("is not a Poetry constraint nixgen can express in PEP 440") from None
            continue
        text, is_optional = _poetry_requirement(dk / written, written, value)
        if is_optional:
            optional[dep] = text
        else:
            required.append(text)
    ek = pk / "extras"
    extra_table = get(poetry, pk, "extras", Key.table) or {}
    named: dict[str, tuple[str, ...]] = {}
    for extra, (written, _) in _names(ek, extra_table, "extra").items():
        members = [(ek / written).name(m) for m in (ek / written).strings(extra_table[written])]
        for member in members:
            if member not in optional:
                raise (ek / written).error(f"names {member!r}, which is not an optional dependency",
                                           hint="mark it `optional = true` in [tool.poetry.dependencies]")
        named[extra] = tuple(optional[m] for m in members)
    _check_extras(extras, list(named), path, "[tool.poetry.extras]")
    if not main:
        return RequirementSet(requirements=tuple(group_reqs), sources=(str(path),))
    if not package_mode or name is None or version is None:
        # `package-mode = false` (or no name/version): only the dependencies, as Poetry installs them.
        texts = [*required, *(t for e in extras for t in named[str(canonicalize_name(e))])]
        return RequirementSet(requirements=(*(_req(t, path, "[tool.poetry.dependencies]") for t in texts),
                                            *group_reqs), sources=(str(path),))
    check_source_tree(path.parent, name)
    local = LocalProject(name=name, version=version, directory=str(path.parent), dependencies=tuple(required),
                         optional=tuple(sorted(named.items())), build_requires=_build_requires(data, doc),
                         requires_python=requires_python, version_from_vcs=vcs_versioned(data))
    return RequirementSet(requirements=(_root(name, extras, path, name), *group_reqs),
                          sources=(str(path),), local_projects=(local,))


def read_pyproject(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = (), *,
                   with_groups: Sequence[str] = (), without_groups: Sequence[str] = (),
                   only_groups: Sequence[str] = ()) -> RequirementSet:
    """The requirements of the project in ``path``: the project itself (built from its source tree) when it
    has a name and version, static or dynamic (PEP 621), else its listed requirements."""
    data = load_toml(path, "TOML")
    doc = Key(str(path))
    project = get(data, doc, "project", Key.table)
    if project is not None:
        dynamic = set(get(project, doc / "project", "dynamic", Key.strings) or [])
        if dynamic & {"version", "dependencies", "optional-dependencies"}:
            return _built_project(data, doc, path, extras, groups)
    else:
        tool = get(data, doc, "tool", Key.table) or {}
        if get(tool, doc / "tool", "poetry", Key.table) is not None:
            return _poetry_project(data, doc, path, extras, groups, with_groups, without_groups, only_groups)
    if with_groups or without_groups or only_groups:
        raise InputError("--with, --without and --only choose [tool.poetry] groups, and there is no [tool.poetry]",
                         path=str(path), hint="use --group for PEP 735 [dependency-groups]")
    texts: list[tuple[str, str]] = []
    optional: dict[str, list[str]] = {}
    if project is not None:
        pk = doc / "project"
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
    if project is not None and project.get("name") and project.get("version"):
        # The project itself goes in the environment, built from its source tree; its own dependencies come
        # in through it, so only the dependency groups stay separate requirements.
        pk = doc / "project"
        name = (pk / "name").name(project["name"])
        version = (pk / "version").version(project["version"])
        root = _root(name, extras, path, str(project["name"]))
        build_requires = _build_requires(data, doc)
        requires_python = get(project, pk, "requires-python", Key.specifier)
        check_source_tree(path.parent, name)
        local = LocalProject(
            name=name, version=version, directory=str(path.parent),
            dependencies=tuple(t for t, w in texts if w == "[project] dependencies"),
            optional=tuple((k, tuple(v)) for k, v in sorted(optional.items())),
            build_requires=build_requires,
            requires_python=requires_python,
            version_from_vcs=vcs_versioned(data),
        )
        group_reqs = [_req(t, path, w) for t, w in texts if w.startswith("[dependency-groups]")]
        return RequirementSet(requirements=(root, *group_reqs), sources=(str(path),), local_projects=(local,))
    return RequirementSet(requirements=tuple(_req(t, path, w) for t, w in texts), sources=(str(path),))
