"""Other tools' locks: ``uv.lock`` and ``poetry.lock``. Their locked versions are honoured as constraints
(``name==version``) on the project's own requirements, so the same project resolves to the same pins.

Every value read is checked for its type and syntax (:mod:`nixgen.inputs.tomlshape`): a wrong one is an
InputError naming the file, the key (``package[3].dependencies[0].name``) and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

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


def _pins(path: Path, packages: list[tuple[Key, dict[str, Any]]], skip: set[str]) -> tuple[UserRequirement, ...]:
    """``name==version`` for each locked package (a package without a name or version pins nothing)."""
    out = []
    for i, (key, pkg) in enumerate(packages, start=1):
        name = get(pkg, key, "name", Key.name) or ""
        version = get(pkg, key, "version", Key.version)
        if not name or name in skip or version is None:
            continue
        text = f"{name}=={version}"
        out.append(_user_req(text, key, Origin(str(path), i, text)))
    return tuple(out)


def _is_root(key: Key, pkg: dict[str, Any]) -> bool:
    """uv's root project: ``source = { editable = "." }`` or ``{ virtual = "." }``."""
    source = get(pkg, key, "source", Key.table) or {}
    for kind in ("editable", "virtual"):
        if kind in source:
            return (key / "source" / kind).string(source[kind]) == "."
    return False


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


def read_uv_lock(path: Path) -> RequirementSet:
    """``uv.lock``: the root project's dependencies as requirements, every locked version as a constraint."""
    data = load_toml(path, "a uv lock")
    packages = _packages(data, Key(str(path)), "is it a uv.lock?")
    roots = [(key, p) for key, p in packages if _is_root(key, p)]
    if not roots:
        raise InputError("no root project (source = { editable = \".\" } or { virtual = \".\" })", path=str(path))
    key, root = roots[0]
    reqs = [_uv_dependency(k, dep, path) for k, dep in
            ((key / "dependencies" / i, d) for i, d in enumerate(get(root, key, "dependencies", Key.array) or []))]
    skip = set()
    for k, r in roots:
        if "name" not in r:
            raise k.error("the root project has no name")
        skip.add((k / "name").name(r["name"]))
    return RequirementSet(requirements=tuple(reqs), constraints=_pins(path, packages, skip), sources=(str(path),))


def _poetry_dependencies(pyproject: Path, project: dict[str, Any]) -> tuple[UserRequirement, ...]:
    """``[tool.poetry.dependencies]``: the names (python aside); the versions come from the lock."""
    doc = Key(str(pyproject))
    tool = get(project, doc, "tool", Key.table) or {}
    poetry = get(tool, doc / "tool", "poetry", Key.table) or {}
    deps = get(poetry, doc / "tool" / "poetry", "dependencies", Key.table) or {}
    key = doc / "tool" / "poetry" / "dependencies"
    names = [((key / n).name(n), n) for n in deps]
    return tuple(UserRequirement(Requirement(name), Origin(str(pyproject), 0, written))
                 for name, written in names if name != "python")


def read_poetry_lock(path: Path) -> RequirementSet:
    """``poetry.lock`` with the ``pyproject.toml`` beside it: the project's requirements, locked versions."""
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
    project = load_toml(pyproject, "TOML")
    local: tuple[LocalProject, ...] = ()
    if "project" in project:
        base = read_pyproject(pyproject)
        reqs, local = base.requirements, base.local_projects
    else:
        reqs = _poetry_dependencies(pyproject, project)
    return RequirementSet(requirements=reqs, constraints=_pins(path, packages, set()),
                          sources=(str(pyproject), str(path)), local_projects=local)
