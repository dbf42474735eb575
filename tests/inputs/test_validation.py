"""Bad input files are clear InputErrors naming file, key or line and the expected type; never a traceback."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from nixgen.errors import InputError
from nixgen.inputs.lockfiles import read_poetry_lock, read_uv_lock
from nixgen.inputs.pyproject import read_pyproject
from nixgen.inputs.requirements_txt import parse_requirements, read_requirements


def chain(tmp_path: Path, depth: int) -> Path:
    """r0.txt includes r1.txt includes ... r{depth}.txt, which holds one requirement."""
    for i in range(depth):
        (tmp_path / f"r{i}.txt").write_text(f"six\n-r r{i + 1}.txt\n", encoding="utf-8")
    (tmp_path / f"r{depth}.txt").write_text("docrep\n", encoding="utf-8")
    return tmp_path / "r0.txt"


# -- requirements files ------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [250, 1000])
def test_a_deep_include_chain_reads_in_order(tmp_path: Path, depth: int) -> None:
    rs = read_requirements(chain(tmp_path, depth))
    assert len(rs.requirements) == depth + 1
    assert [r.origin.path for r in rs.requirements[:2]] == [str(tmp_path / "r0.txt"), str(tmp_path / "r1.txt")]
    assert rs.requirements[-1].requirement.name == "docrep"
    assert len(rs.sources) == depth + 1


def test_a_cycle_at_the_end_of_a_deep_chain_is_named(tmp_path: Path) -> None:
    top = chain(tmp_path, 300)
    (tmp_path / "r300.txt").write_text("-r r0.txt\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert "include cycle" in info.value.message
    assert f"{tmp_path}/r300.txt:1" in info.value.message


def test_an_error_deep_in_a_chain_names_the_deep_file_and_line(tmp_path: Path) -> None:
    top = chain(tmp_path, 500)
    (tmp_path / "r500.txt").write_text("docrep\nsix ==\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert info.value.path == str(tmp_path / "r500.txt")
    assert info.value.line == 2


@pytest.mark.parametrize("count", [3_000, 10_000])
def test_duplicate_lines_parse_in_linear_time(tmp_path: Path, count: int) -> None:
    path = tmp_path / "dup.txt"
    path.write_text("six>=1.0 ; python_version >= '3'\n" * count, encoding="utf-8")
    start = time.process_time()
    rs = read_requirements(path)
    elapsed = time.process_time() - start
    assert len(rs.requirements) == count
    assert rs.requirements[-1].origin.line == count
    assert elapsed < 1.0, f"{count} lines took {elapsed:.2f} s of CPU"



@pytest.mark.parametrize("line", [
    "six" + " " * 100_000 + "x",  # a long run of blanks without a comment
    "six" + " \t" * 50_000 + "# comment",
    "six==1 --hash=sha256:" + "a" * 64 + " " * 100_000,
    "[" * 100_000,  # what looks like extras, never closed
    "six[" + "a," * 20_000 + "b]",
])
def test_long_lines_read_in_linear_time(line: str) -> None:
    start = time.process_time()
    with contextlib.suppress(InputError):
        parse_requirements(line + "\n")
    elapsed = time.process_time() - start
    assert elapsed < 1.0, f"a {len(line)}-character line took {elapsed:.1f} s of CPU"

# -- pyproject.toml ----------------------------------------------------------------------------------
def pyproject_error(tmp_path: Path, text: str, *, extras: tuple[str, ...] = (),
                    groups: tuple[str, ...] = ()) -> InputError:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_pyproject(path, extras, groups)
    assert info.value.path == str(path)
    assert info.value.message.startswith(f"{path}: ")
    return info.value


P = '[project]\nname = "demo"\nversion = "1.0"\n'


@pytest.mark.parametrize(("text", "where", "expected"), [
    ('project = "x"\n', "project", "expected a table, got a string ('x')"),
    (P + 'dependencies = "x"\n', "project.dependencies", "expected an array, got a string ('x')"),
    (P + "dependencies = [1]\n", "project.dependencies[0]", "expected a string, got an integer (1)"),
    (P + 'dependencies = ["ok", "not a req!"]\n', "project.dependencies[1]", "is not a PEP 508 requirement"),
    (P + "optional-dependencies = []\n", "project.optional-dependencies", "expected a table, got an array"),
    (P + 'optional-dependencies = {a = "x"}\n', "project.optional-dependencies.a", "expected an array"),
    (P + 'optional-dependencies = {a = [true]}\n', "project.optional-dependencies.a[0]", "got a boolean"),
    (P + 'optional-dependencies = {"a b" = []}\n', 'project.optional-dependencies."a b"', "not a valid name"),
    (P + 'optional-dependencies = {A = [], a = []}\n', "project.optional-dependencies.a", "the same name"),
    (P + 'dynamic = "version"\n', "project.dynamic", "expected an array"),
    ('[project]\nname = 3\nversion = "1.0"\n', "project.name", "expected a string, got an integer (3)"),
    ('[project]\nname = "demo"\nversion = "one"\n', "project.version", "is not a PEP 440 version"),
    ('[project]\nname = "demo"\nversion = 1.0\n', "project.version", "expected a string, got a float"),
    (P + "requires-python = 3\n", "project.requires-python", "expected a string"),
    (P + 'requires-python = "3.10+"\n', "project.requires-python", "not a PEP 440 version specifier"),
    (P + '[build-system]\nrequires = "setuptools"\n', "build-system.requires", "expected an array, got a string"),
    (P + "[build-system]\nrequires = [[]]\n", "build-system.requires[0]", "expected a string, got an array"),
    ('build-system = 1\n' + P, "build-system", "expected a table, got an integer"),
])
def test_pyproject_wrong_types_name_the_key_and_the_type(tmp_path: Path, text: str, where: str,
                                                         expected: str) -> None:
    err = pyproject_error(tmp_path, text)
    assert f": {where}: " in err.message
    assert expected in err.message


@pytest.mark.parametrize(("text", "where", "expected"), [
    ('dependency-groups = ["x"]\n', "dependency-groups", "expected a table, got an array"),
    ('[dependency-groups]\ndev = "pytest"\n', "dependency-groups.dev", "expected an array, got a string"),
    ("[dependency-groups]\ndev = [1]\n", "dependency-groups.dev[0]", "a requirement string or a table"),
    ('[dependency-groups]\ndev = [{include = "x"}]\n', "dependency-groups.dev[0]", "include-group"),
    ("[dependency-groups]\ndev = [{include-group = 1}]\n", "dependency-groups.dev[0].include-group",
     "expected a string"),
    ('[dependency-groups]\ndev = [{include-group = "nope"}]\n', "dependency-groups.dev[0].include-group",
     "does not exist"),
    ('[dependency-groups]\ndev = [{include-group = "Dev"}]\n', "dependency-groups.dev[0].include-group",
     "include each other: dev -> dev"),
    ('[dependency-groups]\ndev = ["bad req!"]\n', "dependency-groups.dev[0]", "not a PEP 508 requirement"),
])
def test_dependency_groups_wrong_types(tmp_path: Path, text: str, where: str, expected: str) -> None:
    err = pyproject_error(tmp_path, text, groups=("dev",))
    assert f": {where}: " in err.message
    assert expected in err.message


def test_a_long_include_group_chain_expands_each_requirement_once(tmp_path: Path) -> None:
    lines = ["[dependency-groups]"]
    for i in range(2000):  # each group includes the next one twice: 2**2000 entries if expanded naively
        lines.append(f'g{i} = ["pkg{i % 7}", {{include-group = "g{i + 1}"}}, {{include-group = "g{i + 1}"}}]')
    lines.append('g2000 = ["last"]')
    path = tmp_path / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rs = read_pyproject(path, groups=("g0",))
    assert [r.requirement.name for r in rs.requirements] == [f"pkg{i}" for i in range(7)] + ["last"]


# -- uv.lock and poetry.lock -------------------------------------------------------------------------
ROOT = '[[package]]\nname = "demo"\nversion = "1.0"\nsource = { editable = "." }\n'


def lock_error(tmp_path: Path, name: str, text: str) -> InputError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.poetry.dependencies]\npython = "^3.11"\nsix = "*"\n')
    with pytest.raises(InputError) as info:
        (read_uv_lock if name == "uv.lock" else read_poetry_lock)(path)
    assert info.value.message.startswith(f"{path}: ")
    return info.value


@pytest.mark.parametrize(("text", "where", "expected"), [
    ('package = "x"\n', "package", "expected an array, got a string"),
    ("package = [1]\n", "package[0]", "expected a table, got an integer"),
    ('[[package]]\nname = "demo"\nsource = "."\n', "package[0].source", "expected a table"),
    ('[[package]]\nname = "demo"\nsource = { editable = 1 }\n', "package[0].source.editable", "expected a string"),
    (ROOT + 'dependencies = "x"\n', "package[0].dependencies", "expected an array, got a string"),
    (ROOT + 'dependencies = ["six"]\n', "package[0].dependencies[0]", "expected a table, got a string"),
    (ROOT + "dependencies = [{ marker = \"python_version > '3'\" }]\n", "package[0].dependencies[0]",
     "a dependency without a name"),
    (ROOT + "dependencies = [{ name = 5 }]\n", "package[0].dependencies[0].name", "expected a string"),
    (ROOT + 'dependencies = [{ name = "six", marker = "python_version >" }]\n',
     "package[0].dependencies[0].marker", "is not a PEP 508 marker"),
    (ROOT + 'dependencies = [{ name = "six", marker = 3 }]\n', "package[0].dependencies[0].marker",
     "expected a string"),
    (ROOT + 'dependencies = [{ name = "six", extra = "a" }]\n', "package[0].dependencies[0].extra",
     "expected an array"),
    (ROOT + '[[package]]\nname = "six"\nversion = "one point oh"\n', "package[1].version",
     "is not a PEP 440 version"),
    (ROOT + '[[package]]\nname = "six"\nversion = 1\n', "package[1].version", "expected a string"),
    (ROOT + '[[package]]\nname = ["six"]\nversion = "1.0"\n', "package[1].name", "expected a string"),
    ('[[package]]\nsource = { virtual = "." }\n', "package[0]", "the root project has no name"),
])
def test_uv_lock_wrong_types(tmp_path: Path, text: str, where: str, expected: str) -> None:
    err = lock_error(tmp_path, "uv.lock", text)
    assert f": {where}: " in err.message
    assert expected in err.message


@pytest.mark.parametrize(("text", "where", "expected"), [
    ('package = "x"\n[metadata]\n', "package", "expected an array"),
    ('metadata = 1\n[[package]]\nname = "six"\nversion = "1.0"\n', "metadata", "expected a table"),
    ('[[package]]\nname = "six"\nversion = "x.y"\n[metadata]\n', "package[0].version", "not a PEP 440 version"),
    ('[[package]]\nname = 1\nversion = "1"\n[metadata]\n', "package[0].name", "expected a string"),
])
def test_poetry_lock_wrong_types(tmp_path: Path, text: str, where: str, expected: str) -> None:
    err = lock_error(tmp_path, "poetry.lock", text)
    assert f": {where}: " in err.message
    assert expected in err.message


@pytest.mark.parametrize(("pyproject", "where", "expected"), [
    ('tool = "poetry"\n', "tool", "expected a table"),
    ("[tool]\npoetry = []\n", "tool.poetry", "expected a table"),
    ('[tool.poetry]\ndependencies = ["six"]\n', "tool.poetry.dependencies", "expected a table, got an array"),
    ('[tool.poetry.dependencies]\n"six six" = "*"\n', 'tool.poetry.dependencies."six six"', "not a valid name"),
])
def test_poetry_pyproject_wrong_types(tmp_path: Path, pyproject: str, where: str, expected: str) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    lock = tmp_path / "poetry.lock"
    lock.write_text('[[package]]\nname = "six"\nversion = "1.0"\n[metadata]\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_poetry_lock(lock)
    assert info.value.path == str(tmp_path / "pyproject.toml")
    assert f": {where}: " in info.value.message and expected in info.value.message


def test_a_valid_uv_lock_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    path.write_text(ROOT + "dependencies = [{ name = \"Six\", extra = [\"A\"], marker = \"python_version > '3'\" }]\n"
                    '[[package]]\nname = "six"\nversion = "1.17.0"\n', encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n'
                                             "dependencies = [\"six[a] ; python_version > '3'\"]\n")
    (tmp_path / "demo.py").write_text("")
    rs = read_uv_lock(path)
    assert [str(r.requirement) for r in rs.requirements] == ["demo"]  # the root project, built from its tree
    assert [p.dependencies for p in rs.local_projects] == [("six[a] ; python_version > '3'",)]
    assert [str(r.requirement) for r in rs.constraints] == ["six==1.17.0"]


def test_the_cli_exits_3_without_a_traceback(tmp_path: Path) -> None:
    from tests.cli.conftest import nixgen

    path = tmp_path / "pyproject.toml"
    path.write_text(P + '[build-system]\nrequires = "setuptools"\n', encoding="utf-8")
    proc = nixgen("lock", path)
    assert proc.returncode == InputError.exit_code == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "build-system.requires: expected an array, got a string ('setuptools')" in proc.stderr


def test_an_endless_include_or_lock_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("six\n-r /dev/zero\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_requirements(req)
    assert info.value.line == 2 and "/dev/zero is larger than 64 MiB" in info.value.message
    lock = tmp_path / "uv.lock"
    lock.symlink_to("/dev/zero")
    with pytest.raises(InputError) as info:
        read_uv_lock(lock)
    assert info.value.message == f"{lock}: is larger than 64 MiB; it is not a uv lock"
