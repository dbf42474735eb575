"""Other tools' locks: ``uv.lock`` and ``poetry.lock``. Their locked versions are honoured as constraints
(``name==version``) on the project's own requirements, so the same project resolves to the same pins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from nixgen.errors import InputError
from nixgen.inputs.model import LocalProject, Origin, RequirementSet, UserRequirement
from nixgen.inputs.pyproject import load_toml, read_pyproject


def _pins(path: Path, packages: list[dict[str, Any]], skip: set[str]) -> tuple[UserRequirement, ...]:
    out = []
    for i, pkg in enumerate(packages, start=1):
        name = str(canonicalize_name(str(pkg.get("name", ""))))
        if not name or name in skip or "version" not in pkg:
            continue
        text = f"{name}=={pkg['version']}"
        out.append(UserRequirement(Requirement(text), Origin(str(path), i, text)))
    return tuple(out)


def read_uv_lock(path: Path) -> RequirementSet:
    """``uv.lock``: the root project's dependencies as requirements, every locked version as a constraint."""
    data = load_toml(path, "a uv lock")
    packages = data.get("package")
    if not isinstance(packages, list):
        raise InputError("has no [[package]] tables; is it a uv.lock?", path=str(path))
    roots = [p for p in packages if isinstance(p.get("source"), dict)
             and ({"editable", "virtual"} & set(p["source"])) and p["source"].get("editable",
                                                                                   p["source"].get("virtual")) == "."]
    if not roots:
        raise InputError("no root project (source = { editable = \".\" } or { virtual = \".\" })", path=str(path))
    root = roots[0]
    reqs = []
    for dep in root.get("dependencies", []):
        text: str = str(canonicalize_name(dep["name"]))
        if dep.get("extra"):
            text += f"[{','.join(dep['extra'])}]"
        if dep.get("marker"):
            text += f"; {dep['marker']}"
        reqs.append(UserRequirement(Requirement(text), Origin(str(path), 0, text)))
    skip = {str(canonicalize_name(r["name"])) for r in roots}
    return RequirementSet(requirements=tuple(reqs), constraints=_pins(path, packages, skip), sources=(str(path),))


def read_poetry_lock(path: Path) -> RequirementSet:
    """``poetry.lock`` with the ``pyproject.toml`` beside it: the project's requirements, locked versions."""
    data = load_toml(path, "a Poetry lock")
    packages = data.get("package")
    if not isinstance(packages, list) or "metadata" not in data:
        raise InputError("has no [[package]] tables and [metadata]; is it a poetry.lock?", path=str(path))
    pyproject = path.with_name("pyproject.toml")
    if not pyproject.exists():
        raise InputError("poetry.lock needs the project's pyproject.toml beside it", path=str(path))
    project = load_toml(pyproject, "TOML")
    local: tuple[LocalProject, ...] = ()
    if "project" in project:
        base = read_pyproject(pyproject)
        reqs, local = base.requirements, base.local_projects
    else:
        deps = project.get("tool", {}).get("poetry", {}).get("dependencies", {})
        reqs = tuple(UserRequirement(Requirement(canonicalize_name(n)), Origin(str(pyproject), 0, n))
                     for n in deps if canonicalize_name(n) != "python")
    return RequirementSet(requirements=reqs, constraints=_pins(path, packages, set()),
                          sources=(str(pyproject), str(path)), local_projects=local)
