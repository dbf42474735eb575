"""The user's own project always in the environment, at its real version: dynamic metadata from its PEP 517
hook run in place (setuptools-scm from a git tag, setuptools ``attr:``), ``[tool.poetry]`` projects, and a
missing source tree refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import InputError
from nixgen.inputs.project import poetry_specifier, stable_version
from nixgen.inputs.pyproject import read_pyproject
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex

SCM = """\
[build-system]
requires = ["setuptools>=64", "setuptools-scm>=8"]
build-backend = "setuptools.build_meta"

[project]
name = "scmproj"
dynamic = ["version"]
dependencies = ["nixgen-alpha"]

[project.optional-dependencies]
fast = ["nixgen-beta"]
all = ["scmproj[fast]"]

[tool.setuptools_scm]
"""

ATTR = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "attrproj"
dynamic = ["version", "dependencies"]

[tool.setuptools.dynamic]
version = {attr = "attrproj.__version__"}
dependencies = {file = ["requirements.in"]}
"""

HATCH = """\
[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "hatchproj"
dynamic = ["version"]
dependencies = ["nixgen-alpha"]

[tool.hatch.version]
source = "vcs"
"""

POETRY = """\
[build-system]
requires = ["poetry-core>=1.0"]
build-backend = "poetry.core.masonry.api"

[tool.poetry]
name = "poetryproj"
version = "0.3.1"
description = ""
authors = []

[tool.poetry.dependencies]
python = "^3.11"
nixgen-alpha = "^1.0"
nixgen-beta = { version = "~2.0", optional = true }

[tool.poetry.extras]
beta = ["nixgen-beta"]
"""


def git(cwd: Path, *args: str) -> None:
    proc = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def git_project(root: Path, pyproject: str, package: str, tag: str) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(pyproject)
    (root / package).mkdir()
    (root / package / "__init__.py").write_text('"""A test project."""\n')
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "tag", tag)
    return root


@pytest.fixture()
def server(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0")
    fixture.add_wheel("nixgen-beta", "2.0")
    fixture.add_wheel("nixgen-beta", "3.0")
    # The project is on the index too: a self-referencing extra must not fetch it from there.
    for name in ("scmproj", "attrproj", "hatchproj", "poetryproj"):
        fixture.add_wheel(name, "9.9")
    return make_index_server(fixture.write())


def generate(path: Path, server: Any, tmp_path: Path, *args: str) -> tuple[str, str]:
    out = path.parent / "flake.nix"
    proc = nixgen(path, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-o", out, *args)
    assert proc.returncode == 0, proc.stderr
    return out.read_text(), proc.stderr


def lock_packages(path: Path, server: Any, tmp_path: Path, *args: str) -> dict[str, dict[str, Any]]:
    proc = nixgen("lock", path, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "-q", *args)
    assert proc.returncode == 0, proc.stderr
    return {p["name"]: p for p in tomllib.loads(proc.stdout)["packages"]}


def summary(flake_dir: Path, tmp_path: Path) -> dict[str, Any]:
    from tests.projecteval import eval_project_flake

    return {p["pname"]: p for p in eval_project_flake(flake_dir, "packages.x86_64-linux.default.summary", tmp_path)}


def test_setuptools_scm_version_from_the_git_tag(tmp_path: Path, server: Any) -> None:
    root = git_project(tmp_path / "scmproj", SCM, "scmproj", "v1.4.2")
    text, stderr = generate(root / "pyproject.toml", server, tmp_path, "--extra", "all")
    assert "prepare_metadata_for_build_wheel in place" in stderr
    assert 'version = "1.4.2";' in text
    built = summary(root, tmp_path)
    assert built["scmproj"]["origin"] == "nixgen" and built["scmproj"]["version"] == "1.4.2"
    # `all` = `scmproj[fast]`: the project's own extra, from the working tree, not the index's 9.9.
    assert sorted(built["scmproj"]["dependencies"]) == ["nixgen-alpha", "nixgen-beta"]
    packages = lock_packages(root / "pyproject.toml", server, tmp_path, "--extra", "all")
    assert packages["scmproj"]["version"] == "1.4.2" and packages["scmproj"]["directory"] == {"path": str(root)}
    assert packages["nixgen-beta"]["version"] == "3.0"


def test_a_dirty_tree_drops_the_local_version_part(tmp_path: Path, server: Any) -> None:
    root = git_project(tmp_path / "scmproj", SCM, "scmproj", "v1.4.2")
    (root / "scmproj" / "__init__.py").write_text("X = 1\n")  # uncommitted: setuptools-scm says +g….d<date>
    text, stderr = generate(root / "pyproject.toml", server, tmp_path)
    assert "uncommitted changes" in stderr and "recorded as 1.4.3.dev0" in stderr
    assert 'version = "1.4.3.dev0";' in text


def test_hatch_vcs_version(tmp_path: Path, server: Any) -> None:
    root = git_project(tmp_path / "hatchproj", HATCH, "hatchproj", "2.0.0")
    text, _ = generate(root / "pyproject.toml", server, tmp_path)
    assert 'version = "2.0.0";' in text
    assert summary(root, tmp_path)["hatchproj"]["version"] == "2.0.0"


def test_attr_version_and_file_dependencies(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "attrproj"
    (root / "attrproj").mkdir(parents=True)
    (root / "pyproject.toml").write_text(ATTR)
    (root / "attrproj" / "__init__.py").write_text('__version__ = "0.7.1"\n')
    (root / "requirements.in").write_text("nixgen-beta<3\n")
    text, _ = generate(root / "pyproject.toml", server, tmp_path)
    assert 'version = "0.7.1";' in text
    built = summary(root, tmp_path)
    assert built["attrproj"]["version"] == "0.7.1" and built["attrproj"]["dependencies"] == ["nixgen-beta"]
    assert built["nixgen-beta"]["version"] == "2.0"
    assert "SETUPTOOLS_SCM_PRETEND_VERSION" not in built["attrproj"]["env"]  # not a VCS version


def test_poetry_project(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "poetryproj"
    (root / "poetryproj").mkdir(parents=True)
    (root / "poetryproj" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(POETRY)
    reqs = read_pyproject(root / "pyproject.toml")
    (local,) = reqs.local_projects
    assert (local.name, local.version, local.requires_python) == ("poetryproj", "0.3.1", ">=3.11,<4")
    assert local.dependencies == ("nixgen-alpha>=1.0,<2",)
    assert local.optional == (("beta", ("nixgen-beta>=2.0,<2.1",)),)
    assert lock_packages(root / "pyproject.toml", server, tmp_path).keys() == {"poetryproj", "nixgen-alpha"}
    with_beta = lock_packages(root / "pyproject.toml", server, tmp_path, "--extra", "beta")
    assert with_beta["nixgen-beta"]["version"] == "2.0"
    bad = nixgen("lock", root / "pyproject.toml", "--extra", "nope", "--index-url", server.url, "-q")
    assert bad.returncode == 3 and "no [tool.poetry.extras] extra 'nope'" in bad.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("^1.2", ">=1.2,<2"), ("^1.2.3", ">=1.2.3,<2"), ("^0.2.3", ">=0.2.3,<0.3"), ("^0.0.3", ">=0.0.3,<0.0.4"),
    ("^0", ">=0,<1"), ("~1.2", ">=1.2,<1.3"), ("~1.2.3", ">=1.2.3,<1.3"), ("~1", ">=1,<2"), ("*", ""),
    ("1.2", "==1.2"), (">=1.0,<2", ">=1.0,<2"), (">=1.0 <2", ">=1.0,<2"), ("~=1.4", "~=1.4"),
])
def test_poetry_constraints_as_pep440(text: str, expected: str) -> None:
    assert poetry_specifier(text) == expected


def test_poetry_or_constraint_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "p").mkdir(parents=True)
    (root / "p" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(POETRY.replace('"^1.0"', '"^1.0 || ^2.0"'))
    with pytest.raises(InputError, match=r"nixgen-alpha.version: .*is not a Poetry constraint"):
        read_pyproject(root / "pyproject.toml")


def test_version_local_parts() -> None:
    assert stable_version("1.0.1.dev3+g1a2b3c4", "x") == ("1.0.1.dev3+g1a2b3c4", None)
    version, note = stable_version("1.0.1.dev3+g1a2b3c4.d20261202", "x")
    assert version == "1.0.1.dev3" and note is not None and "uncommitted" in note


def test_a_missing_source_tree_is_an_input_error(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "empty"\nversion = "1.0"\n')
    proc = nixgen(root / "pyproject.toml", "--index-url", server.url, "--cache-dir", tmp_path / "cache")
    assert proc.returncode == 3
    assert "has no source beside its pyproject.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_a_failing_backend_is_an_input_error(tmp_path: Path, server: Any) -> None:
    root = tmp_path / "scmproj"
    (root / "scmproj").mkdir(parents=True)
    (root / "scmproj" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(SCM)  # not a git checkout, no pretend version: setuptools-scm fails
    proc = subprocess.run([*nixgen_cmd(), root / "pyproject.toml", "--index-url", server.url],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 3, proc.stderr
    assert "its build backend could not say what the project is" in proc.stderr
    assert "Traceback" not in proc.stderr


def nixgen_cmd() -> list[str]:
    import sys

    assert shutil.which("git")
    return [sys.executable, "-m", "nixgen"]


def test_a_vcs_version_is_given_to_the_nix_build(tmp_path: Path, server: Any) -> None:
    """The flake's source has no .git: setuptools-scm and hatch-vcs get the version from the environment."""
    from nixgen.inputs.detect import read_input
    from nixgen.lock.pylock import read_pylock, write_pylock
    from nixgen.pipeline import Options, lock
    from nixgen.session import Session

    root = git_project(tmp_path / "scmproj", SCM, "scmproj", "v1.4.2")
    made = lock(read_input(root / "pyproject.toml"), Session.load(),
                Options(index_urls=(server.url,), cache_dir=tmp_path / "cache", systems=("x86_64-linux",)))
    pkg = made.plans[0].package("scmproj")
    assert pkg is not None and pkg.pin.version_from_vcs
    assert ("SETUPTOOLS_SCM_PRETEND_VERSION", "1.4.2") in pkg.recipe.env
    alpha = made.plans[0].package("nixgen-alpha")
    assert alpha is not None and not alpha.pin.version_from_vcs
    path = root / "pylock.toml"
    path.write_text(write_pylock(made, root))
    back = read_pylock(path)
    assert back == made  # version_from_vcs and the recipe's env round-trip through the lock
    back_pkg = back.plans[0].package("scmproj")
    assert back_pkg is not None and back_pkg.pin.version_from_vcs and back_pkg.recipe.env == pkg.recipe.env
    text, _ = generate(root / "pyproject.toml", server, tmp_path)
    assert 'SETUPTOOLS_SCM_PRETEND_VERSION = "1.4.2";' in text
    built = summary(root, tmp_path)
    assert built["scmproj"]["env"] == {"SETUPTOOLS_SCM_PRETEND_VERSION": "1.4.2"}
    assert built["nixgen-alpha"]["env"] == {}


def test_hatch_vcs_gets_the_pretend_version_too(tmp_path: Path, server: Any) -> None:
    root = git_project(tmp_path / "hatchproj", HATCH, "hatchproj", "2.0.0")
    generate(root / "pyproject.toml", server, tmp_path)
    assert summary(root, tmp_path)["hatchproj"]["env"] == {"SETUPTOOLS_SCM_PRETEND_VERSION": "2.0.0"}


def test_the_hook_runs_in_place_only_when_the_build_requirements_are_here(tmp_path: Path, server: Any) -> None:
    """A build requirement nixgen's environment lacks means build's isolated environment (pip), said on stderr."""
    from nixgen.inputs.project import _installed

    assert _installed("setuptools>=40") and _installed("setuptools-scm")
    assert not _installed("setuptools<1") and not _installed("nixgen-no-such-backend")
    assert _installed("nixgen-no-such-backend ; python_version < '3'")  # not for this Python: nothing to install
    root = tmp_path / "iso"
    (root / "iso").mkdir(parents=True)
    (root / "iso" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text('[build-system]\nrequires = ["nixgen-no-such-backend"]\n'
                                         'build-backend = "nixgen_no_such_backend"\n'
                                         '[project]\nname = "iso"\ndynamic = ["version"]\n')
    env = {**os.environ, "PIP_INDEX_URL": server.url, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run([*nixgen_cmd(), root / "pyproject.toml", "--index-url", server.url], env=env,
                          capture_output=True, text=True, timeout=300)
    assert "in an isolated environment (pip installs its build requirements)" in proc.stderr
    assert proc.returncode == 3 and "its build backend could not say what the project is" in proc.stderr
    assert "Traceback" not in proc.stderr
