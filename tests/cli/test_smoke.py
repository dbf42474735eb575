"""`nixgen smoke` and `nixgen rodeo --smoke`: the version set installed, built, checked and imported on a host
CPython 3.13 with uv, against the recorded index in tests/fixtures/index-smoke (see its README)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import ExitCode
from nixgen.pypi.buildmeta import find_interpreter
from nixgen.smoke import SCOPE, host_system, smoke
from tests.cli.conftest import EXCLUDE_NEWER
from tests.planhelp import plan, planned

DATA = Path(__file__).parent / "data"
INDEX = Path(__file__).resolve().parents[1] / "fixtures" / "index-smoke"
TARGET = ("--python", "3.13", "--system", "x86_64-linux")
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")

needs_cpython_313 = pytest.mark.skipif(
    find_interpreter("3.13") is None or host_system() != "x86_64-linux" or not Path(UV).is_file(),
    reason="the smoke tests need an x86_64-linux host with CPython 3.13 ($HOME/.pyenv/versions/3.13.* or "
           "python3.13 on PATH) and uv (pip install uv)")


@pytest.fixture()
def smoke_run(make_index_server: Any, tmp_path: Path) -> Any:
    server = make_index_server(INDEX)

    def run(command: str, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nixgen", command, *map(str, args), "--index-url", server.url,
                               "--cache-dir", str(tmp_path / "cache"), "--exclude-newer", EXCLUDE_NEWER],
                              capture_output=True, text=True, timeout=300, env=env)

    return run


def _steps(proc: subprocess.CompletedProcess[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    data = json.loads(proc.stdout)
    assert data["scope"] == SCOPE
    (system,) = data["systems"]
    return system, {s["step"]: s for s in system["steps"]}


@needs_cpython_313
def test_a_wheel_set_passes_from_its_lock(smoke_run: Any, tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    made = smoke_run("lock", DATA / "smoke-web.txt", "-o", lock, "-q", *TARGET)
    assert made.returncode == 0, made.stderr
    proc = smoke_run("smoke", lock, "--json")
    assert proc.returncode == 0, proc.stderr
    system, steps = _steps(proc)
    assert system["outcome"] == "passed" and system["not-tried"] == []
    assert system["interpreter"].startswith("CPython 3.13.")
    assert {s: v["verdict"] for s, v in steps.items()} == {
        "install": "passed", "build": "passed", "check": "passed", "import": "passed"}
    assert "markupsafe 3.0.3" in steps["install"]["items"] and len(steps["install"]["items"]) == 8
    assert steps["import"]["items"] == ["click", "jinja2", "requests"]  # the roots' top_level.txt
    assert SCOPE in proc.stderr and "import (3): ok" in proc.stderr


@needs_cpython_313
def test_an_sdist_is_built_with_the_plans_build_pins_and_imported(smoke_run: Any, tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    proc = smoke_run("smoke", DATA / "smoke-sdist.txt", "--provider", "docopt=sdist", "--json", "--keep", keep,
                     *TARGET)
    assert proc.returncode == 0, proc.stderr
    system, steps = _steps(proc)
    assert system["outcome"] == "passed"
    assert steps["build"] == {"step": "build", "verdict": "passed", "reason": "", "items": ["docopt 0.6.2"]}
    work = keep / "smoke-x86_64-linux"
    built = work / "build-docopt" / "wheel" / "docopt-0.6.2-py2.py3-none-any.whl"
    with zipfile.ZipFile(built) as wheel:
        assert "docopt-0.6.2.dist-info/top_level.txt" in wheel.namelist()
    # The build environment held exactly the plan's build pin, at its version.
    build_site = next((work / "build-docopt" / "venv" / "lib").glob("python3.13/site-packages"))
    assert sorted(p.name for p in build_site.glob("*.dist-info")) == ["setuptools-80.10.1.dist-info"]
    assert steps["install"]["items"] == ["attrs 25.4.0", "docopt 0.6.2"]
    assert steps["import"]["items"] == ["attr", "attrs", "docopt"]


@needs_cpython_313
def test_a_nixpkgs_pin_the_index_has_no_wheel_of_is_built_from_its_sdist_and_said(smoke_run: Any) -> None:
    proc = smoke_run("smoke", DATA / "smoke-sdist.txt", "--json", *TARGET)  # docopt from nixpkgs this time
    assert proc.returncode == 0, proc.stderr
    system, steps = _steps(proc)
    assert system["outcome"] == "passed" and steps["build"]["reason"] == "the plan builds no sdist"
    assert steps["install"]["items"] == ["attrs 25.4.0", "docopt 0.6.2"]
    assert "docopt" in steps["import"]["items"]
    note = ("docopt 0.6.2: nixpkgs builds it and the index has no wheel of it; built here from its sdist with the "
            "newest build requirements (setuptools 84.2.1), not nixpkgs' own")
    assert note in system["notes"] and f"note: {note}" in proc.stderr


@needs_cpython_313
def test_a_release_that_imports_a_removed_module_fails_with_the_reason(smoke_run: Any) -> None:
    proc = smoke_run("smoke", DATA / "smoke-cgi.txt", "--json", *TARGET)
    assert proc.returncode == ExitCode.SMOKE_FAILED, proc.stderr
    system, steps = _steps(proc)
    assert system["outcome"] == "failed"
    assert steps["install"]["verdict"] == "passed" and steps["check"]["verdict"] == "passed"
    assert steps["import"]["verdict"] == "failed"
    assert steps["import"]["reason"].startswith("import webob: ModuleNotFoundError: No module named 'cgi'")
    assert "webob/compat.py" in steps["import"]["reason"]
    assert "import webob: ModuleNotFoundError: No module named 'cgi'" in proc.stderr
    assert "error: the smoke failed on x86_64-linux" in proc.stderr


@needs_cpython_313
def test_no_interpreter_of_the_targets_minor_version_is_not_tried_and_said(smoke_run: Any, tmp_path: Path) -> None:
    empty = tmp_path / "no-pyenv"
    (empty / "versions").mkdir(parents=True)
    path = os.pathsep.join(d for d in ("/usr/bin", "/bin") if shutil.which("python3.13", path=d) is None)
    env = {**os.environ, "PYENV_ROOT": str(empty), "PATH": path}
    proc = smoke_run("smoke", DATA / "smoke-web.txt", "--json", *TARGET, env=env)
    assert proc.returncode == 0, proc.stderr
    system, steps = _steps(proc)
    assert system["outcome"] == "not tried" and system["interpreter"] is None
    assert system["not-tried"] == [f"not tried: no CPython 3.13 on this host (looked in {empty}/versions and for "
                                   "python3.13 on PATH)"]
    assert {v["verdict"] for v in steps.values()} == {"not tried"}
    assert "x86_64-linux (Python 3.13.12): not tried" in proc.stderr
    assert "no CPython 3.13 on this host" in proc.stderr


def test_another_system_than_the_hosts_is_not_tried(tmp_path: Path) -> None:
    other = "aarch64-darwin" if host_system() != "aarch64-darwin" else "x86_64-linux"
    result = smoke(plan(planned("six", "wheel", requested=True), system=other), index=None,  # type: ignore[arg-type]
                   index_urls=(), work=tmp_path, cache_dir=tmp_path)
    assert result.outcome == "not tried"
    assert result.not_tried == (f"not tried: {other} is not the host's system ({host_system()})",)


@needs_cpython_313
def test_rodeo_smoke_stage(smoke_run: Any, tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text('[rodeo]\npythons = ["3.13"]\nsystems = ["x86_64-linux"]\n'
                      '[sets.web]\nrequirements = ["requests", "click", "jinja2"]\n'
                      '[sets.cgi]\nrequirements = ["webob==1.8.7"]\n')
    out = tmp_path / "rodeo.json"
    proc = smoke_run("rodeo", matrix, "--smoke", "--json", out, "--markdown", tmp_path / "rodeo.md", "--html",
                     tmp_path / "rodeo.html")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert "smoke" in data["stages"]
    cells = {c["set"]: c for c in data["cells"]}
    assert cells["web"]["status"] == "smoke" and cells["web"]["smoke"]["outcome"] == "passed"
    assert cells["cgi"]["status"] == "failed" and cells["cgi"]["failed_stage"] == "smoke"
    assert "import: import webob: ModuleNotFoundError: No module named 'cgi'" in cells["cgi"]["error"]
    assert cells["cgi"]["smoke"]["scope"] == SCOPE
    md = (tmp_path / "rodeo.md").read_text()
    assert f"Smoke ({SCOPE}):" in md
    assert "- web py3.13 x86_64-linux: passed (build passed, install passed, check passed, import passed)" in md
    html = (tmp_path / "rodeo.html").read_text()
    assert '<td class="cell smoke' in html and "<li>import: failed<pre>import webob: ModuleNotFoundError" in html


def _synthetic(root: Path, name: str, setup_py: str, more: dict[str, str] | None = None) -> Path:
    """An index with the recorded setuptools 80.10.1 (nixpkgs' version: the plan's build pin) and an sdist
    ``name`` 1.0 whose egg-info lists no dependencies (nixgen's metadata, a best guess) and whose ``setup.py``
    is ``setup_py``."""
    from tests.indexserver import FixtureIndex

    fixture = FixtureIndex(root)
    page = json.loads((INDEX / "simple" / "setuptools" / "index.json").read_text())
    for entry in page["files"]:
        if entry["filename"] != "setuptools-80.10.1-py3-none-any.whl":
            continue  # the page lists every release; this one is nixpkgs' (the plan's build pin)
        data = (INDEX / "files" / entry["filename"]).read_bytes()
        fixture.add_file("setuptools", entry["filename"], data, upload_time=entry["upload-time"],
                         metadata=(INDEX / "files" / f"{entry['filename']}.metadata").read_text())
    pkg_info = f"Metadata-Version: 1.1\nName: {name}\nVersion: 1.0\n"
    fixture.add_sdist(name, "1.0", {
        "PKG-INFO": pkg_info, f"{name}.egg-info/PKG-INFO": pkg_info, f"{name}.egg-info/top_level.txt": f"{name}\n",
        "setup.py": setup_py, f"{name}.py": "VALUE = 1\n", **(more or {})})
    return fixture.write()


@needs_cpython_313
def test_an_sdist_that_fails_to_build_fails_the_build_step_with_the_backends_words(
        make_index_server: Any, tmp_path: Path) -> None:
    setup_py = ("import imp  # gone in Python 3.12\nfrom setuptools import setup\n"
                "setup(name='oldsetup', version='1.0', py_modules=['oldsetup'])\n")
    server = make_index_server(_synthetic(tmp_path / "index", "oldsetup", setup_py))
    req = tmp_path / "requirements.txt"
    req.write_text("oldsetup\n")
    proc = subprocess.run([sys.executable, "-m", "nixgen", "smoke", str(req), "--json", *TARGET, "--index-url",
                           server.url, "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == ExitCode.SMOKE_FAILED, proc.stderr
    _system, steps = _steps(proc)
    assert steps["build"]["verdict"] == "failed"
    reason = steps["build"]["reason"]
    assert reason.startswith("oldsetup 1.0: build_wheel failed (with setuptools 80.10.1):")
    assert reason.endswith("ModuleNotFoundError: No module named 'imp'")
    assert [steps[s]["verdict"] for s in ("install", "check", "import")] == ["not tried"] * 3
    assert steps["install"]["reason"] == "an earlier step failed"
    assert "build (1): FAILED" in proc.stderr


@needs_cpython_313
def test_an_sdist_that_needs_a_native_library_the_host_lacks_is_not_tried_and_named(
        make_index_server: Any, tmp_path: Path) -> None:
    setup_py = ("from setuptools import Extension, setup\n"
                "setup(name='nativeext', version='1.0', py_modules=['nativeext'],\n"
                "      ext_modules=[Extension('_nativeext', ['_nativeext.c'])])\n")
    server = make_index_server(_synthetic(tmp_path / "index", "nativeext", setup_py,
                                          {"_nativeext.c": "#include <nixgen_no_such_library.h>\n"}))
    req = tmp_path / "requirements.txt"
    req.write_text("nativeext\n")
    proc = subprocess.run([sys.executable, "-m", "nixgen", "smoke", str(req), "--json", *TARGET, "--index-url",
                           server.url, "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    system, steps = _steps(proc)
    assert system["outcome"] == "incomplete"
    why = ("nativeext 1.0: not built: it needs a native library the host lacks (fatal error: "
           "nixgen_no_such_library.h: No such file or directory)")
    assert steps["build"] == {"step": "build", "verdict": "not tried", "reason": why, "items": []}
    assert why in system["not-tried"] and f"not tried: {why}" in proc.stderr
    assert steps["install"]["items"] == []


@needs_cpython_313
def test_a_dependency_the_metadata_guess_missed_fails_pip_check(make_index_server: Any, tmp_path: Path) -> None:
    setup_py = ("from setuptools import setup\n"
                "setup(name='guessed', version='1.0', py_modules=['guessed'], install_requires=['colorama>=0.4'])\n")
    server = make_index_server(_synthetic(tmp_path / "index", "guessed", setup_py))
    req = tmp_path / "requirements.txt"
    req.write_text("guessed\n")
    proc = subprocess.run([sys.executable, "-m", "nixgen", "smoke", str(req), "--json", *TARGET, "--index-url",
                           server.url, "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == ExitCode.SMOKE_FAILED, proc.stderr
    _system, steps = _steps(proc)
    assert [steps[s]["verdict"] for s in ("build", "install", "check")] == ["passed", "passed", "failed"]
    assert steps["check"]["reason"] == "The package `guessed` requires `colorama>=0.4`, but it's not installed"


def test_wheels_for_a_newer_glibc_than_the_hosts_are_named_not_installed() -> None:
    from nixgen.smoke import glibc_needed, host_wheel

    assert glibc_needed("manylinux_2_28_x86_64", "x86_64") == (2, 28)
    assert glibc_needed("manylinux2014_x86_64", "x86_64") == (2, 17)
    assert glibc_needed("manylinux1_x86_64", "x86_64") == (2, 5)
    assert glibc_needed("manylinux_2_28_aarch64", "x86_64") is None
    assert glibc_needed("musllinux_1_2_x86_64", "x86_64") is None
    assert glibc_needed("any", "x86_64") is True
    new = "fast-2.0-cp313-cp313-manylinux_2_39_x86_64.whl"
    old = "fast-2.0-cp313-cp313-manylinux2014_x86_64.whl"
    assert host_wheel([new], "2.0", "3.13", "x86_64", (2, 36)).needs == (2, 39)
    assert not host_wheel([new], "2.0", "3.13", "x86_64", (2, 36)).fits
    assert host_wheel([new, old], "2.0", "3.13", "x86_64", (2, 36)).fits
    assert host_wheel([new], "2.0", "3.13", "x86_64", (2, 39)).fits
    # Other interpreters' wheels and other versions do not count; a pure wheel fits any glibc.
    assert host_wheel(["fast-2.0-cp312-cp312-manylinux2014_x86_64.whl", old.replace("2.0", "1.0")], "2.0", "3.13",
                      "x86_64", (2, 36)) == host_wheel([], "2.0", "3.13", "x86_64", (2, 36))
    assert host_wheel(["fast-2.0-py3-none-any.whl"], "2.0", "3.13", "x86_64", None).fits
    assert host_wheel(["fast-2.0-cp313-abi3-manylinux_2_17_x86_64.whl"], "2.0", "3.13", "x86_64", (2, 36)).fits


def test_import_names_come_from_record_when_there_is_no_top_level_txt(tmp_path: Path) -> None:
    from nixgen.smoke import record_modules

    record = tmp_path / "RECORD"
    record.write_text("\n".join([
        "yaml/__init__.py,sha256=x,1", "_yaml/__init__.py,sha256=x,1", "yaml/_yaml.cpython-313-x86_64-linux-gnu.so,,",
        "six.py,sha256=x,1", "_cffi_backend.cpython-313-x86_64-linux-gnu.so,,", "PyYAML-6.0.dist-info/RECORD,,",
        "../../../bin/tool,sha256=x,1", "pkg.data/scripts/x,,", "data/readme.txt,,",
        "__pycache__/six.cpython-313.pyc,,", "google/protobuf/__init__.py,,"]))
    assert record_modules(record) == ["_cffi_backend", "_yaml", "google", "six", "yaml"]


def test_pip_check_lines_where_nixpkgs_differs_from_upstream_metadata_are_notes() -> None:
    from dataclasses import replace

    from nixgen.resolve.model import Relaxation
    from nixgen.smoke import nixpkgs_difference

    made = plan(planned("a", "nixpkgs", ("b",), requested=True), planned("b", "nixpkgs"),
                planned("w", "wheel", ("b",), requested=True))
    made = replace(made, relaxations=(Relaxation("a", "1.0", "b<1", "b", "1.0"),))
    line = "The package `a` requires `b<1`, but `1.0` is installed"
    assert nixpkgs_difference(line, made) == f"{line} (an upstream pin nixpkgs relaxes)"
    # tensorflow's wheel requires libclang; nixpkgs' tensorflow does not (the plan has nixpkgs' edges).
    line = "The package `a` requires `libclang>=13.0.0`, but it's not installed"
    assert nixpkgs_difference(line, made) == f"{line} (nixpkgs' a does not depend on libclang)"
    # A wheel's requirement, or a nixpkgs pin's own edge at the wrong version, is a real failure.
    assert nixpkgs_difference("The package `w` requires `c`, but it's not installed", made) is None
    assert nixpkgs_difference("The package `a` requires `b>=2`, but `1.0` is installed",
                              replace(made, relaxations=())) is None


def test_a_builds_words_for_a_missing_native_library_are_recognised() -> None:
    from nixgen.smoke import missing_native

    assert missing_native("src/x.c:1:10: fatal error: gdal.h: No such file or directory\n") == (
        "fatal error: gdal.h: No such file or directory")
    assert missing_native("/usr/bin/ld: cannot find -lsodium: No such file") == "cannot find -lsodium"
    assert missing_native("Package libxml-2.0 was not found in the pkg-config search path.") == (
        "Package libxml-2.0 was not found in the pkg-config search path")
    assert missing_native("sh: 1: gdal-config: not found") == "gdal-config: not found"
    assert missing_native("ModuleNotFoundError: No module named 'numpy.distutils'") is None
