"""Property tests for every input reader: random and mutated files give a result or a NixgenError, nothing else.

Each test is bounded (``FUZZ``: a fixed number of examples, derandomized, no example database), so CI runs the
same inputs every time in a few seconds per reader. A failure prints the smallest input hypothesis found.
"""

from __future__ import annotations

import datetime
import json
import math
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from nixgen.errors import NixgenError
from nixgen.inputs.lockfiles import read_poetry_lock, read_uv_lock
from nixgen.inputs.model import RequirementSet
from nixgen.inputs.pyproject import read_pyproject
from nixgen.inputs.requirements_txt import parse_requirements, read_requirements

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(read: Callable[[], RequirementSet]) -> RequirementSet | None:
    """The reader's result, or None for a NixgenError; any other exception fails the test."""
    try:
        rs = read()
    except NixgenError as err:
        assert err.message and "Traceback" not in err.render()
        return None
    check(rs)
    return rs


def check(rs: RequirementSet) -> None:
    """What the rest of nixgen relies on in a successful read."""
    for ur in (*rs.requirements, *rs.constraints):
        assert isinstance(ur.requirement, Requirement)
        Requirement(str(ur.requirement))
        for h in ur.hashes:
            algo, _, digest = h.partition(":")
            assert algo in ("sha256", "sha384", "sha512") and digest == digest.lower()
    for project in rs.local_projects:
        Version(project.version)
        for text in (*project.dependencies, *(t for _, texts in project.optional for t in texts),
                     *(project.build_requires or ())):
            Requirement(text)
        if project.requires_python is not None:
            SpecifierSet(project.requires_python)


# -- requirements files ------------------------------------------------------------------------------
NAMES = st.sampled_from(["six", "docrep", "Click", "a", "x_y.z", "-bad", "", "name[extra]", "p[a,b]", "1", "é"])
SPECS = st.sampled_from(["", "==1.0", ">=1,<2", "~=1.4", "===x", "= 1", "==1.*", ">1 ,", "!=", "@", " (>=1)"])
MARKERS = st.sampled_from(["", "; python_version >= '3.8'", ';sys_platform == "linux"', "; extra == 'x'",
                           "; os_name ==", ";", "; python_version > '3' and (", " ; implementation_name in 'cpython'"])
URLS = st.sampled_from(["https://example.invalid/x-1.0.tar.gz", "file:///tmp/x.whl", "git+https://h/r.git@v1",
                        "./local", "../x.whl", "x.zip", "https://h/x.whl#sha256=" + "a" * 64, "ftp://h/x", "::",
                        "http://u:p@h/x.tar.gz;python_version>'3'"])
HASHES = st.sampled_from(["--hash=sha256:" + "a" * 64, "--hash sha512:" + "F" * 128, "--hash=md5:00",
                          "--hash=sha256:zz", "--hash", "--hash=sha384:" + "0" * 96, "--hash=SHA256:" + "b" * 64])
OPTIONS = st.sampled_from(["-i https://i.invalid/simple", "--index-url=x", "--extra-index-url y", "--pre",
                           "--pre=1", "-e .", "--no-binary :all:", "--find-links d", "-Z", "--in", "--",
                           "-r", "-c", "--requirement=", "--global-option=x", "--use-feature x", "-X", "'unclosed",
                           "--trusted-host h"])
COMMENTS = st.sampled_from(["", " # comment", "#", " #x \\", "\\", " \\", "${HOME}", "${NIXGEN_UNSET_VAR}", "\t"])


@st.composite
def requirement_lines(draw: st.DrawFn, includes: tuple[str, ...] = ()) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        line = draw(NAMES) + draw(SPECS) + draw(MARKERS)
    elif kind == 1:
        line = f"{draw(NAMES)} @ {draw(URLS)}{draw(MARKERS)}"
    elif kind == 2:
        line = " ".join([draw(NAMES) + draw(SPECS), *draw(st.lists(HASHES, max_size=3))])
    elif kind == 3:
        line = draw(OPTIONS)
    elif kind == 4 and includes:
        line = f"{draw(st.sampled_from(['-r', '-c', '--requirement', '-r=', '-c ']))} {draw(st.sampled_from(includes))}"
    else:
        line = draw(st.text(max_size=30))
    return line + draw(COMMENTS)


@FUZZ
@given(st.lists(requirement_lines(), max_size=8))
def test_requirements_text(lines: list[str]) -> None:
    outcome(lambda: parse_requirements("\n".join(lines), path="reqs.txt"))


@FUZZ
@given(st.binary(max_size=200) | st.builds(lambda a, b: a + b, st.sampled_from(
    [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff\x00", b"# -*- coding: latin-1 -*-\n", b"# coding: nope\n",
     b"# coding: utf-16\n", b""]), st.binary(max_size=60)))
def test_requirements_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requirements.txt"
        path.write_bytes(data)
        outcome(lambda: read_requirements(path))


FILES = ("requirements.txt", "a.txt", "sub/b.txt", "sub/deep/c.txt", "missing.txt", "sub", "../outside.txt")
INCLUDE_TARGETS = ("a.txt", "sub/b.txt", "b.txt", "deep/c.txt", "../a.txt", "../requirements.txt", "missing.txt",
                   "sub", "sub/", "file:///nonexistent/x.txt", "https://h/r.txt", "./a.txt", "sub/../a.txt", "")


@FUZZ
@given(st.dictionaries(st.sampled_from(FILES[:4]), st.lists(requirement_lines(INCLUDE_TARGETS), max_size=5),
                       min_size=1),
       st.booleans())
def test_requirements_file_trees(files: dict[str, list[str]], symlink_loop: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        (root / "sub" / "deep").mkdir(parents=True)
        for name, lines in files.items():
            (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        if symlink_loop:
            (root / "missing.txt").symlink_to(root / "missing.txt")
        top = root / "requirements.txt"
        if not top.exists():
            top.write_text("-r a.txt\n", encoding="utf-8")
        rs = outcome(lambda: read_requirements(top))
        if rs is not None:
            for ur in (*rs.requirements, *rs.constraints):
                assert ur.origin.path in rs.sources and ur.origin.line >= 1


# -- TOML documents ----------------------------------------------------------------------------------
def toml_value(value: object) -> str:
    """A value as a TOML inline value (strings through JSON, which TOML's basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):  # JSON would write characters beyond the BMP as surrogate pairs, which TOML refuses
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_doc(doc: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in doc.items())


KEYS = st.sampled_from(["name", "version", "dependencies", "optional-dependencies", "dynamic", "requires",
                        "requires-python", "include-group", "dev", "test", "Test", "a b", "extra", "marker",
                        "source", "editable", "virtual", "package", "python", "", "x"])
REQ_TEXTS = st.sampled_from(["six", "six>=1", "docrep[x]; python_version > '3'", "bad req!", "", "a @ https://h/a",
                             "setuptools>=61", "wheel", "Six==1.17.0", "x ; os_name ==", "python"])
SCALARS = (st.booleans() | st.integers() | st.floats() | REQ_TEXTS | st.text(max_size=10)
           | st.dates() | st.datetimes() | st.times())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=12)
STRINGS = st.lists(REQ_TEXTS, max_size=4)


def shaped(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape (nine times in ten), sometimes any TOML value."""
    return st.integers(0, 9).flatmap(lambda i: VALUES if i == 5 else valid)


PROJECT = st.fixed_dictionaries({}, optional={
    "name": shaped(st.sampled_from(["demo", "Demo.Pkg", "", "bad name"])),
    "version": shaped(st.sampled_from(["1.0", "2!1.0.post1", "one", ""])),
    "dynamic": shaped(st.lists(st.sampled_from(["version", "dependencies", "readme"]), max_size=2)),
    "dependencies": shaped(STRINGS),
    "optional-dependencies": shaped(st.dictionaries(KEYS, shaped(STRINGS), max_size=3)),
    "requires-python": shaped(st.sampled_from([">=3.10", "3.10+", "", "~=3.11"])),
})
GROUP_ITEM = st.one_of(REQ_TEXTS, st.fixed_dictionaries({"include-group": shaped(KEYS)}))
PYPROJECT = st.fixed_dictionaries({"project": shaped(PROJECT)}, optional={
    "build-system": shaped(st.fixed_dictionaries({}, optional={"requires": shaped(STRINGS),
                                                               "build-backend": VALUES})),
    "dependency-groups": shaped(st.dictionaries(KEYS, shaped(st.lists(GROUP_ITEM, max_size=4)), max_size=4)),
    "tool": shaped(st.fixed_dictionaries({}, optional={"poetry": shaped(st.fixed_dictionaries({}, optional={
        "dependencies": shaped(st.dictionaries(KEYS | REQ_TEXTS, VALUES, max_size=4))}))})),
})
SELECTED = st.integers(0, 3).flatmap(lambda i: st.lists(KEYS, max_size=2).map(tuple) if i == 0 else st.just(()))


def mutate_text(text: str, data: st.DataObject) -> str:
    """A few character-level edits: a cut, a repeat, or a stray character."""
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(text)))
        edit = data.draw(st.integers(0, 2))
        if edit == 0:
            text = text[:at] + text[at + data.draw(st.integers(1, 5)):]
        elif edit == 1:
            text = text[:at] + text[at:at + 8] + text[at:]
        else:
            text = text[:at] + data.draw(st.sampled_from(['"', "[", "]", "=", "\n", "{", ",", "#", "\\"])) + text[at:]
    return text


@FUZZ
@given(PYPROJECT, SELECTED, SELECTED, st.data())
def test_pyproject(doc: dict[str, Any], extras: tuple[str, ...], groups: tuple[str, ...],
                   data: st.DataObject) -> None:
    text = toml_doc(doc)
    if data.draw(st.integers(0, 4)) == 0:
        text = mutate_text(text, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pyproject.toml"
        path.write_text(text, encoding="utf-8")
        outcome(lambda: read_pyproject(path, extras, groups))


VALID_PYPROJECT = """\
[project]
name = "demo"
version = "1.0"
requires-python = ">=3.10"
dependencies = ["six>=1", "docrep; python_version > '3'"]
[project.optional-dependencies]
test = ["pytest"]
[build-system]
requires = ["setuptools>=61"]
[dependency-groups]
dev = ["ruff", {include-group = "lint"}]
lint = ["mypy"]
"""


def mutate_doc(doc: Any, data: st.DataObject) -> Any:
    """A copy of ``doc`` with one value somewhere inside it replaced by any TOML value, or deleted."""
    if not isinstance(doc, dict | list) or not doc or data.draw(st.integers(0, 3)) == 0:
        return data.draw(VALUES)
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = data.draw(st.sampled_from(keys))
    copy: Any = dict(doc) if isinstance(doc, dict) else list(doc)
    if data.draw(st.integers(0, 5)) == 0:
        del copy[key]
    else:
        copy[key] = mutate_doc(doc[key], data)
    return copy


@FUZZ
@given(st.data())
def test_pyproject_mutated_valid_document(data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        text = mutate_text(VALID_PYPROJECT, data)
    else:
        doc = tomllib.loads(VALID_PYPROJECT)
        for _ in range(data.draw(st.integers(1, 3))):
            doc = mutate_doc(doc, data)
        text = toml_doc(doc) if isinstance(doc, dict) else f"x = {toml_value(doc)}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pyproject.toml"
        path.write_text(text, encoding="utf-8")
        outcome(lambda: read_pyproject(path, data.draw(st.sampled_from([(), ("test",)])),
                                       data.draw(st.sampled_from([(), ("dev",), ("lint", "dev")]))))


UV_DEPENDENCY = st.fixed_dictionaries({}, optional={
    "name": shaped(st.sampled_from(["six", "Docrep", "", "bad name"])),
    "extra": shaped(st.lists(st.sampled_from(["a", "B", "bad extra"]), max_size=2)),
    "marker": shaped(st.sampled_from(["python_version > '3'", "sys_platform == 'linux'", "os_name ==", ""])),
})
SOURCE = st.sampled_from([{"editable": "."}, {"virtual": "."}, {"registry": "https://h/simple"}, {"editable": 1},
                          {"virtual": "sub"}, {}])
UV_PACKAGE = st.fixed_dictionaries({}, optional={
    "name": shaped(st.sampled_from(["demo", "six", "docrep", "", "bad name"])),
    "version": shaped(st.sampled_from(["1.0", "1.17.0", "x.y", ""])),
    "source": shaped(SOURCE),
    "dependencies": shaped(st.lists(shaped(UV_DEPENDENCY), max_size=3)),
})
UV_LOCK = st.fixed_dictionaries({"version": st.just(1), "package": shaped(st.lists(shaped(UV_PACKAGE), max_size=4))},
                                optional={"requires-python": VALUES})


@FUZZ
@given(UV_LOCK, st.data())
def test_uv_lock(doc: dict[str, Any], data: st.DataObject) -> None:
    packages = doc.get("package")
    if isinstance(packages, list) and data.draw(st.integers(0, 3)) != 2:  # most real locks have a root
        packages.insert(0, {"name": "demo", "version": "1.0", "source": {"editable": "."},
                            "dependencies": data.draw(st.lists(UV_DEPENDENCY, max_size=3))})
    text = toml_doc(doc)
    if data.draw(st.integers(0, 4)) == 0:
        text = mutate_text(text, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "uv.lock"
        path.write_text(text, encoding="utf-8")
        outcome(lambda: read_uv_lock(path))


POETRY_LOCK = st.fixed_dictionaries({
    "package": shaped(st.lists(shaped(st.fixed_dictionaries({}, optional={
        "name": shaped(st.sampled_from(["six", "Docrep", "", "bad name"])),
        "version": shaped(st.sampled_from(["1.0", "x.y", ""])),
        "optional": VALUES,
    })), max_size=4)),
    "metadata": shaped(st.fixed_dictionaries({"lock-version": st.just("2.0")})),
})


@FUZZ
@given(POETRY_LOCK, PYPROJECT, st.data())
def test_poetry_lock(lock: dict[str, Any], pyproject: dict[str, Any], data: st.DataObject) -> None:
    lock_text, project_text = toml_doc(lock), toml_doc(pyproject)
    if data.draw(st.integers(0, 4)) == 0:
        lock_text = mutate_text(lock_text, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "poetry.lock"
        path.write_text(lock_text, encoding="utf-8")
        if data.draw(st.integers(0, 9)):
            (Path(tmp) / "pyproject.toml").write_text(project_text, encoding="utf-8")
        outcome(lambda: read_poetry_lock(path))
