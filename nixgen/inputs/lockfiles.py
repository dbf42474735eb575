"""Other tools' locks: ``uv.lock`` and ``poetry.lock``. Their locked versions are honoured as constraints
(``name==version``; a git source as ``name @ git+URL@COMMIT``) on the project's own requirements, so the same
project resolves to the same pins.

Every value read is checked for its type and syntax (:mod:`nixgen.inputs.tomlshape`): a wrong one is an
InputError naming the file, the key (``package[3].dependencies[0].name``) and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from nixgen.errors import InputError
from nixgen.inputs.model import LocalProject, Origin, RequirementSet, UserRequirement
from nixgen.inputs.pyproject import read_pyproject
from nixgen.inputs.tomlshape import Key, get, load_toml

__all__ = ["read_poetry_lock", "read_uv_lock"]


def _packages(data: dict[str, Any], doc: Key, hint: str) -> list[tuple[Key, dict[str, Any]]]:
    """``[[package]]``: an array of tables, each with its key."""
    packages = data.get("package")
    if packages is None:
        raise doc.error("has no [[package]] tables", hint=hint)
    key = doc / "package"
    return [(key / i, (key / i).table(p)) for i, p in enumerate(key.array(packages))]


def _user_req(text: str, key: Key, origin: Origin) -> UserRequirement:
    try:
        return UserRequirement(Requirement(text), origin)
    except InvalidRequirement as err:
        raise key.error(f"makes the requirement {text!r}, which is not PEP 508: {str(err).splitlines()[0]}") from None


def _uv_dependency(key: Key, value: object, path: Path) -> UserRequirement:
    """One entry of a package's ``dependencies``: ``{ name, extra = [...], marker }``."""
    dep = key.table(value)
    if "name" not in dep:
        raise key.error("a dependency without a name", hint="each dependency is a table with a name key")
    text = (key / "name").name(dep["name"])
    extras = [(key / "extra" / i).name(e) for i, e in enumerate(get(dep, key, "extra", Key.strings) or [])]
    if extras:
        text += f"[{','.join(extras)}]"
    marker = get(dep, key, "marker", Key.marker) or ""
    if marker:
        text += f"; {marker}"
    return _user_req(text, key, Origin(str(path), 0, text))


def _uv_source(key: Key, pkg: dict[str, Any]) -> tuple[str, str] | None:
    """A workspace package's source: (``editable``, ``virtual`` or ``directory``, its path), else None."""
    source = get(pkg, key, "source", Key.table) or {}
    for kind in ("editable", "virtual", "directory"):
        if kind in source:
            return kind, (key / "source" / kind).string(source[kind])
    return None


def _uv_deps(key: Key, value: object, path: Path) -> list[UserRequirement]:
    return [_uv_dependency(key / i, d, path) for i, d in enumerate(key.array(value))]


def _uv_groups(key: Key, table: dict[str, Any] | None, path: Path) -> dict[str, list[UserRequirement]]:
    """``dev-dependencies`` (uv's name for the lock's dependency groups): normalized group -> requirements."""
    return {(key / g).name(g): _uv_deps(key / g, v, path) for g, v in (table or {}).items()}


def _default_groups(pyproject: Path) -> tuple[str, ...] | Literal["all"]:
    """``tool.uv.default-groups`` of the pyproject.toml beside the lock (uv's default: ``["dev"]``)."""
    if not pyproject.is_file():
        return ("dev",)
    data = load_toml(pyproject, "TOML")
    doc = Key(str(pyproject))
    uv = get(get(data, doc, "tool", Key.table) or {}, doc / "tool", "uv", Key.table) or {}
    value = uv.get("default-groups")
    if value is None:
        return ("dev",)
    if value == "all":
        return "all"
    at = doc / "tool" / "uv" / "default-groups"
    return tuple(at.name(g) for g in at.strings(value))


_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _git_pin(key: Key, pkg: dict[str, Any], name: str) -> str | None:
    """A locked git source as a PEP 508 direct reference at its locked commit, else None: uv's
    ``source = { git = "URL?rev=…&subdirectory=…#COMMIT" }``, Poetry's ``[package.source]`` of ``type = "git"``
    with ``url``, ``resolved_reference`` and ``subdirectory``."""
    source = get(pkg, key, "source", Key.table) or {}
    sk = key / "source"
    if "git" in source:  # uv
        text = (sk / "git").string(source["git"])
        base, _, commit = text.partition("#")
        parts = urlsplit(base)
        query = dict(parse_qsl(parts.query))
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        subdirectory = query.get("subdirectory")
    elif source.get("type") == "git":  # Poetry
        url = (sk / "url").string(source.get("url"))
        commit = (sk / "resolved_reference").string(source.get("resolved_reference"))
        subdirectory = get(source, sk, "subdirectory", Key.string)
    else:
        return None
    if not _COMMIT.match(commit):
        raise sk.error(f"the git source of {name} is not locked to a full commit id ({commit[:60]!r})",
                       hint="lock again with the tool that wrote the lock")
    if not url.startswith("git+"):
        url = "git+" + url
    return f"{name} @ {url}@{commit}" + (f"#subdirectory={subdirectory}" if subdirectory else "")


def _forked_pins(path: Path, packages: list[tuple[Key, dict[str, Any]]], skip: set[str], *,
                 forks: bool = True) -> tuple[UserRequirement, ...]:
    """``name==version`` per locked package (one without a name or version pins nothing); with ``forks`` (uv),
    a name locked at several versions gets one constraint per version under its ``resolution-markers``, so
    each system sees one version."""
    counts: dict[str, int] = {}
    for key, pkg in packages:
        name = get(pkg, key, "name", Key.name) or ""
        counts[name] = counts.get(name, 0) + 1
    out = []
    for i, (key, pkg) in enumerate(packages, start=1):
        name = get(pkg, key, "name", Key.name) or ""
        version = get(pkg, key, "version", Key.version)
        if not name or name in skip:
            continue
        pinned = _git_pin(key, pkg, name)
        if pinned is not None:  # the locked commit, whatever the version its metadata says
            out.append(_user_req(pinned, key, Origin(str(path), i, pinned)))
            continue
        if version is None:
            continue
        text = f"{name}=={version}"
        if forks and counts[name] > 1:
            markers = [(key / "resolution-markers" / j).marker(m)
                       for j, m in enumerate(get(pkg, key, "resolution-markers", Key.strings) or [])]
            if not markers:
                raise key.error(f"{name} is locked at several versions, and {version} has no resolution-markers",
                                hint="lock again with uv")
            text += " ; " + " or ".join(f"({m})" for m in markers)
        out.append(_user_req(text, key, Origin(str(path), i, text)))
    return tuple(out)


def read_uv_lock(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = (), *, all_extras: bool = False,
                 all_groups: bool = False, no_dev: bool = False) -> RequirementSet:
    """``uv.lock`` as ``uv sync`` reads it: the root project (built from its tree; a virtual root: every
    workspace member) with the extras asked for, the default groups (``dev`` and ``tool.uv.default-groups``,
    less ``dev`` with ``--no-dev``) and those asked for; every workspace member built from its path; every
    other locked version a constraint (per marker in a forked lock)."""
    data = load_toml(path, "a uv lock")
    doc = Key(str(path))
    packages = _packages(data, doc, "is it a uv.lock?")
    members: dict[str, tuple[Key, dict[str, Any], str, str]] = {}
    for key, pkg in packages:
        source = _uv_source(key, pkg)
        if source is not None:
            if "name" not in pkg:
                raise key.error("the root project has no name" if source[1] == "."
                                else "a workspace package has no name")
            members[(key / "name").name(pkg["name"])] = (key, pkg, *source)
        deps = get(pkg, key, "dependencies", Key.array)
        if deps is not None:
            _uv_deps(key / "dependencies", deps, path)  # checked even where not needed: a damaged lock is refused
    constraints = _forked_pins(path, packages, set(members))
    roots = [m for m in members.values() if m[3] == "."]
    manifest = get(data, doc, "manifest", Key.table) or {}
    if not roots and not get(manifest, doc / "manifest", "members", Key.strings):
        raise InputError("no root project (source = { editable = \".\" } or { virtual = \".\" }) and no "
                         "[manifest] members", path=str(path), hint="is it a uv.lock made by uv?")
    # Every package's extras and groups are read (and checked) before anything is selected.
    optional: dict[str, dict[str, list[UserRequirement]]] = {}
    for name, (key, pkg, _, _) in members.items():
        table = get(pkg, key, "optional-dependencies", Key.table) or {}
        ok = key / "optional-dependencies"
        optional[name] = {(ok / e).name(e): _uv_deps(ok / e, v, path) for e, v in table.items()}
    if roots:
        key, root, kind, _ = roots[0]
        root_name = (key / "name").name(root["name"])
        declared = _uv_groups(key / "dev-dependencies", get(root, key, "dev-dependencies", Key.table), path)
        targets = [root_name] if kind != "virtual" else []
        if kind == "virtual":
            deps = get(root, key, "dependencies", Key.array)
            base = _uv_deps(key / "dependencies", deps, path) if deps is not None else []
        else:
            base = []
    else:  # a virtual workspace root without [project]: uv syncs every member
        mk = doc / "manifest"
        declared = _uv_groups(mk / "dependency-groups", get(manifest, mk, "dependency-groups", Key.table), path)
        targets = sorted(n for n, m in members.items() if m[2] != "virtual")
        base = []
    known_extras = sorted({e for n in targets for e in optional.get(n, {})})
    for extra in extras:
        if canonicalize_name(extra) not in known_extras:
            raise InputError(f"no optional-dependencies extra {extra!r} in the lock", path=str(path),
                             hint=f"extras: {', '.join(known_extras) or '(none)'}")
    wanted_extras = set(known_extras) if all_extras else {str(canonicalize_name(e)) for e in extras}
    for group in groups:
        if canonicalize_name(group) not in declared:
            raise InputError(f"no dependency group {group!r} in the lock", path=str(path),
                             hint=f"groups: {', '.join(sorted(declared)) or '(none)'}")
    defaults = _default_groups(path.with_name("pyproject.toml"))
    chosen = set(declared) if all_groups or defaults == "all" else {g for g in defaults if g in declared}
    if no_dev:
        chosen.discard("dev")
    chosen |= {str(canonicalize_name(g)) for g in groups}
    reqs: list[UserRequirement] = list(base)
    for name in targets:
        mine = sorted(wanted_extras & set(optional.get(name, {})))
        text = name + (f"[{','.join(mine)}]" if mine else "")
        reqs.append(UserRequirement(Requirement(text), Origin(str(path), 0, text)))
    for group in sorted(chosen):
        reqs += declared[group]
    local: list[LocalProject] = []
    for name, (key, _, kind, rel) in sorted(members.items()):
        if kind == "virtual":
            continue
        pyproject = (path.parent / rel).resolve() / "pyproject.toml"
        if not pyproject.is_file():
            raise key.error(f"the workspace package {name} is at {rel}, which has no pyproject.toml",
                            hint="run nixgen where the lock's workspace is checked out")
        found = read_pyproject(pyproject).local_projects
        if not found or found[0].name != name:
            raise key.error(f"{pyproject} is not the project {name} the lock names")
        local += found
    return RequirementSet(requirements=tuple(reqs), constraints=constraints,
                          sources=(str(path),), local_projects=tuple(local))


def read_poetry_lock(path: Path, extras: Sequence[str] = (), groups: Sequence[str] = (), *,
                     with_groups: Sequence[str] = (), without_groups: Sequence[str] = (),
                     only_groups: Sequence[str] = ()) -> RequirementSet:
    """``poetry.lock`` with the ``pyproject.toml`` beside it: the project as ``poetry install`` takes it (its
    optional dependencies only through the extras asked for, its groups by Poetry's options), locked
    versions as constraints."""
    data = load_toml(path, "a Poetry lock")
    doc = Key(str(path))
    hint = "is it a poetry.lock?"
    packages = _packages(data, doc, hint)
    if "metadata" not in data:
        raise doc.error("has no [metadata] table", hint=hint)
    (doc / "metadata").table(data["metadata"])
    pyproject = path.with_name("pyproject.toml")
    if not pyproject.exists():
        raise InputError("poetry.lock needs the project's pyproject.toml beside it", path=str(path))
    base = read_pyproject(pyproject, extras, groups, with_groups=with_groups, without_groups=without_groups,
                          only_groups=only_groups)
    local = {p.name for p in base.local_projects}
    return RequirementSet(requirements=base.requirements, constraints=_forked_pins(path, packages, local, forks=False),
                          sources=(str(pyproject), str(path)), local_projects=base.local_projects)
