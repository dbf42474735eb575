"""The box around build backends (nixgen.pypi.box, nixgen.pypi.buildmeta): a hostile backend sees no secret,
reaches no network, leaves no file behind; build requirements come hash-checked from the index; the hook runs
once per (sdist sha256, Python minor) across systems and runs.

These machines (developers' and CI's) allow unprivileged user namespaces, so nothing here is skipped for want
of them: ``test_namespaces_work_here`` fails loudly if that ever changes.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import HashMismatch, MetadataError
from nixgen.pypi import Index, box
from nixgen.pypi.buildmeta import choose_interpreter
from nixgen.pypi.model import DistFile
from tests.indexserver import FixtureIndex, IndexServer

SECRET = "nixgen-test-secret-7f3a"
AWS = "AKIA-nixgen-fake-aws-secret"
FILE_SECRET = "nixgen-secret-file-contents"

# Tries everything it should not be able to do, and reports what it saw as requirement names under an extra
# nobody asks for (hex-encoded JSON), so the test can read its observations from the metadata it returns.
HOSTILE = '''
import json, os, socket

CHECKS = json.loads({checks!r})


def observe():
    seen = {{"env": sorted(os.environ), "home": os.environ.get("HOME", "")}}
    seen["secrets"] = [os.environ.get(k) for k in ("NIXGEN_TEST_SECRET", "AWS_SECRET_ACCESS_KEY")]
    try:
        with open(CHECKS["secret_file"]) as handle:
            seen["secret_file"] = handle.read()
    except OSError as err:
        seen["secret_file"] = type(err).__name__
    try:
        socket.create_connection(("127.0.0.1", CHECKS["port"]), timeout=3).close()
        seen["net"] = "connected"
    except OSError as err:
        seen["net"] = type(err).__name__
    seen["wrote"] = []
    for where in (os.environ.get("HOME", "/nonexistent"), "/tmp", CHECKS["real_home"], CHECKS["outside"]):
        try:
            with open(os.path.join(where, CHECKS["marker"]), "w") as handle:
                handle.write("x")
            seen["wrote"].append(where)
        except OSError:
            pass
    import boxhelper, boxdep  # the build requirements, installed without an index
    seen["helpers"] = [boxhelper.__version__, boxdep.__version__]
    return seen


def get_requires_for_build_wheel(config_settings=None):
    return ["boxextra"]


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    import boxextra  # asked for by get_requires_for_build_wheel: fetched in a second round
    seen = observe()
    seen["extra"] = boxextra.__version__
    token = json.dumps(seen).encode().hex()
    path = os.path.join(metadata_directory, "hostile-1.0.dist-info")
    os.makedirs(path)
    with open(os.path.join(path, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\\nName: hostile\\nVersion: 1.0\\n"
                     "Requires-Dist: nixgen-alpha>=1\\n"
                     f"Requires-Dist: seen-{{token}} ; extra == 'observed'\\n")
    return "hostile-1.0.dist-info"
'''

SIMPLE = '''
import os, sys, time

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    extra = ""
    {body}
    path = os.path.join(metadata_directory, "{name}-1.0.dist-info")
    os.makedirs(path)
    with open(os.path.join(path, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\nRequires-Dist: nixgen-alpha>=1\\n"
                     + extra)
    return "{name}-1.0.dist-info"
'''

IN_TREE = '[build-system]\nrequires = {requires}\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def test_namespaces_work_here() -> None:
    """The tests below rely on it; CI runs on this same kind of machine."""
    assert subprocess.run(["unshare", "-rn", "true"]).returncode == 0
    isolation, why = box.probe()
    assert isolation in ("bwrap", "unshare"), why


@pytest.fixture()
def listener() -> Iterator[tuple[int, Callable[[], bool]]]:
    """A TCP listener on 127.0.0.1 and a function telling whether anyone connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def connected() -> bool:
        return bool(select.select([sock], [], [], 0.2)[0])

    yield sock.getsockname()[1], connected
    sock.close()


@pytest.fixture()
def hostile_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                listener: tuple[int, Callable[[], bool]]) -> dict[str, Any]:
    """Secrets in the environment and in a file under a HOME of the test's own."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(FILE_SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NIXGEN_TEST_SECRET", SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS)
    monkeypatch.setenv("PIP_INDEX_URL", "http://user:password@127.0.0.1:1/simple/")
    return {"secret_file": str(home / ".aws" / "credentials"), "port": listener[0], "real_home": str(home),
            "outside": str(outside), "marker": f"nixgen-marker-{tmp_path.name}-{os.getpid()}"}


def fixture_index(root: Path, checks: dict[str, Any] | None = None) -> FixtureIndex:
    fixture = FixtureIndex(root)
    fixture.add_wheel("nixgen-alpha", "1.0")
    fixture.add_wheel("boxhelper", "2.0", requires=["boxdep>=1"])
    fixture.add_wheel("boxhelper", "1.0")
    fixture.add_wheel("boxdep", "1.5")
    fixture.add_wheel("boxextra", "3.0")
    if checks is not None:
        fixture.add_sdist("hostile", "1.0", {
            "PKG-INFO": "Metadata-Version: 2.1\nName: hostile\nVersion: 1.0\n",
            "pyproject.toml": IN_TREE.format(requires='["boxhelper>=1.5"]'),
            "backend.py": HOSTILE.format(checks=json.dumps(checks)),
        })
    return fixture


def add_simple(fixture: FixtureIndex, name: str, body: str = "pass") -> None:
    fixture.add_sdist(name, "1.0", {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        "pyproject.toml": IN_TREE.format(requires="[]"),
        "backend.py": SIMPLE.format(name=name, body=body),
    })


def sdist_of(idx: Index, name: str) -> DistFile:
    return next(f for f in idx.project(name).files if f.kind == "sdist")


def observations(requires: tuple[Any, ...]) -> dict[str, Any]:
    token = next(str(r.name) for r in requires if str(r.name).startswith("seen-"))
    seen: dict[str, Any] = json.loads(bytes.fromhex(token[5:]))
    return seen


MECHANISMS = ["unshare", "bwrap"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_hostile_backend_sees_no_secret_and_reaches_nothing(
        mechanism: str, tmp_path: Path, make_index_server: Callable[[Path], IndexServer],
        hostile_env: dict[str, Any], listener: tuple[int, Callable[[], bool]],
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    if mechanism == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (.ci/run installs it); the unshare case still runs")
    monkeypatch.setenv("NIXGEN_BOX", mechanism)
    server = make_index_server(fixture_index(tmp_path / "index", hostile_env).write())
    with Index([server.url], cache_dir=tmp_path / "cache") as idx:
        md = idx.metadata_by_build(sdist_of(idx, "hostile"), python="3.12")
    assert md.source == "build" and "nixgen-alpha>=1" in [str(r) for r in md.requires_dist]
    seen = observations(md.requires_dist)
    assert seen["secrets"] == [None, None]
    assert set(seen["env"]) <= {"PATH", "LANG", "HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PWD"} | {
        k for k in os.environ if k.startswith("LC_")}
    assert seen["secret_file"] in ("FileNotFoundError", "PermissionError")
    assert seen["net"] != "connected" and not listener[1]()
    # It could write only inside the box: its own HOME (in the scratch directory) and its own /tmp.
    assert seen["wrote"] == [seen["home"], "/tmp"]
    marker = hostile_env["marker"]
    assert not list(tmp_path.rglob(marker)) and not (Path("/tmp") / marker).exists()
    assert not Path(seen["home"]).exists()  # the scratch directory is gone
    assert seen["helpers"] == ["2.0", "1.5"] and seen["extra"] == "3.0"
    err = capfd.readouterr().err
    assert (f"running the build backend of hostile-1.0.tar.gz to learn its dependencies (PEP 517 metadata "
            f"hook; Python 3.12; {mechanism}: no network, no home, 300 s, 4 GiB)") in err
    assert SECRET not in err and AWS not in err


def test_build_requirements_are_hash_checked_before_anything_runs(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer],
        hostile_env: dict[str, Any]) -> None:
    fixture = fixture_index(tmp_path / "index", hostile_env)
    fixture.projects["boxdep"][0]["hashes"]["sha256"] = "0" * 64
    server = make_index_server(fixture.write())
    with Index([server.url], cache_dir=tmp_path / "cache") as idx:
        file = sdist_of(idx, "hostile")
        with pytest.raises(HashMismatch):
            idx.metadata_by_build(file, python="3.12")
        assert file.sha256 is not None
        assert idx.cache.built_metadata(file.sha256, "3.12") is None  # not the sdist's fault: not remembered


def test_no_namespaces_means_refusal_unless_allowed(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer], monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    fixture = fixture_index(tmp_path / "index")
    add_simple(fixture, "plain", body="assert 'NIXGEN_TEST_SECRET' not in os.environ")
    server = make_index_server(fixture.write())
    monkeypatch.setenv("NIXGEN_BOX", "none")
    monkeypatch.setenv("NIXGEN_TEST_SECRET", SECRET)
    with Index([server.url], cache_dir=tmp_path / "cache") as idx:
        with pytest.raises(MetadataError, match="cannot box package code") as caught:
            idx.metadata_by_build(sdist_of(idx, "plain"), python="3.12")
        assert "--allow-unboxed-builds" in (caught.value.hint or "")
        assert "--no-build-metadata" in (caught.value.hint or "")
        assert "running the build backend" not in capfd.readouterr().err
    with Index([server.url], cache_dir=tmp_path / "cache") as idx:  # a refusal was not remembered
        md = idx.metadata_by_build(sdist_of(idx, "plain"), python="3.12", allow_unboxed=True)
    assert [str(r) for r in md.requires_dist] == ["nixgen-alpha>=1"]
    assert "NOT boxed: environment allow-list only" in capfd.readouterr().err


def test_timeouts_are_not_remembered_and_failures_are(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer],
        capfd: pytest.CaptureFixture[str]) -> None:
    fixture = fixture_index(tmp_path / "index")
    add_simple(fixture, "slow", body="time.sleep(1.5)")
    add_simple(fixture, "broken", body="raise RuntimeError('this backend is broken')")
    add_simple(fixture, "greedy", body="bytearray(6 << 30)")
    server = make_index_server(fixture.write())

    def index() -> Index:
        return Index([server.url], cache_dir=tmp_path / "cache")

    with index() as idx:
        with pytest.raises(MetadataError, match=r"did not answer prepare_metadata_for_build_wheel within 0\.5 s"):
            idx.metadata_by_build(sdist_of(idx, "slow"), 0.5, python="3.12")
        with pytest.raises(MetadataError, match="RuntimeError: this backend is broken"):
            idx.metadata_by_build(sdist_of(idx, "broken"), python="3.12")
        with pytest.raises(MetadataError, match="MemoryError"):  # RLIMIT_AS, 4 GiB
            idx.metadata_by_build(sdist_of(idx, "greedy"), python="3.12")
    assert capfd.readouterr().err.count("running the build backend") == 3
    with index() as idx:
        md = idx.metadata_by_build(sdist_of(idx, "slow"), 30, python="3.12")
        assert [str(r) for r in md.requires_dist] == ["nixgen-alpha>=1"]
        with pytest.raises(MetadataError, match="RuntimeError: this backend is broken"):
            idx.metadata_by_build(sdist_of(idx, "broken"), python="3.12")
    err = capfd.readouterr().err
    assert err.count("running the build backend") == 1 and "slow-1.0.tar.gz" in err


def test_the_hook_runs_with_the_targets_python_once_per_minor(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer],
        capfd: pytest.CaptureFixture[str]) -> None:
    fixture = fixture_index(tmp_path / "index")
    add_simple(fixture, "which", body="extra = 'Requires-Dist: ran-on-py3%d\\n' % sys.version_info[1]")
    server = make_index_server(fixture.write())
    for minor in ("3.12", "3.13"):
        assert choose_interpreter(minor)[0].minor == minor  # these machines have both
    for _ in range(2):
        with Index([server.url], cache_dir=tmp_path / "cache") as idx:
            for minor in ("3.12", "3.13", "3.12"):
                md = idx.metadata_by_build(sdist_of(idx, "which"), python=minor)
                assert f"ran-on-py{minor.replace('.', '')}" in [str(r) for r in md.requires_dist]
    err = capfd.readouterr().err
    assert err.count("running the build backend") == 2
    assert "Python 3.12;" in err and "Python 3.13;" in err


def test_a_missing_minor_falls_back_to_the_running_python_and_says_so(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer],
        capfd: pytest.CaptureFixture[str]) -> None:
    fixture = fixture_index(tmp_path / "index")
    add_simple(fixture, "plain")
    server = make_index_server(fixture.write())
    with Index([server.url], cache_dir=tmp_path / "cache") as idx:
        idx.metadata_by_build(sdist_of(idx, "plain"), python="3.99")
    running = "{}.{}".format(*sys.version_info[:2])
    err = capfd.readouterr().err
    assert f"the target's Python 3.99 is not on this machine; the build backend of plain-1.0.tar.gz runs " \
           f"with Python {running} instead" in err


def test_output_is_capped_and_the_box_is_left_clean(tmp_path: Path) -> None:
    interp, _ = choose_interpreter(None)
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    script = work / "src" / "flood.py"
    script.write_text("import sys\nsys.stderr.write('x' * 3_000_000)\nprint('done')\n")
    ran = box.run([interp.path, "-S", "-I", str(script)], python=interp.path, work=work, cwd=work / "src",
                  read_only=[Path(interp.prefix)], isolation=box.probe()[0] or "unboxed",
                  limits=box.Limits(output=4096))
    assert ran.returncode == 0 and ran.stdout == "done\n"
    assert len(ran.stderr) < 4200 and "bytes cut" in ran.stderr


def test_a_backend_cannot_make_nixgen_read_a_host_file(tmp_path: Path) -> None:
    base = tmp_path / "metadata"
    (base / "x.dist-info").mkdir(parents=True)
    (tmp_path / "secret").write_text(FILE_SECRET)
    (base / "x.dist-info" / "METADATA").symlink_to(tmp_path / "secret")
    for name in ("x.dist-info/METADATA", "../secret", "/etc/passwd"):
        with pytest.raises(ValueError):
            box.read_inside(base, name)


# -- the command line: once for all systems and across runs; never with --no-build-metadata -------------
def nixgen(tmp_path: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    req = tmp_path / "requirements.txt"
    req.write_text("plain\n")
    return subprocess.run([sys.executable, "-m", "nixgen", str(req), "--index-url", url, "--cache-dir",
                           str(tmp_path / "cache"), "-q", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_cli_runs_the_backend_once_for_all_systems_and_runs(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> None:
    fixture = fixture_index(tmp_path / "index")
    add_simple(fixture, "plain")
    server = make_index_server(fixture.write())
    systems = ("--system", "x86_64-linux", "--system", "aarch64-linux", "--system", "aarch64-darwin")
    forbidden = nixgen(tmp_path, server.url, *systems, "--no-build-metadata")
    assert forbidden.returncode != 0
    assert "--no-build-metadata forbids running its build backend" in forbidden.stderr
    assert "running the build backend" not in forbidden.stderr and "Traceback" not in forbidden.stderr
    runs = [nixgen(tmp_path, server.url, *systems) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        assert "nixgen-alpha" in proc.stdout
    assert [p.stderr.count("running the build backend of plain-1.0.tar.gz") for p in runs] == [1, 0]


def test_cli_refuses_without_namespaces_and_names_the_ways_out(
        tmp_path: Path, make_index_server: Callable[[Path], IndexServer]) -> None:
    fixture = fixture_index(tmp_path / "index")
    add_simple(fixture, "plain")
    server = make_index_server(fixture.write())
    refused = nixgen(tmp_path, server.url, NIXGEN_BOX="none")
    assert refused.returncode == 7 and "Traceback" not in refused.stderr
    assert "cannot box package code" in refused.stderr and "--allow-unboxed-builds" in refused.stderr
    allowed = nixgen(tmp_path, server.url, "--allow-unboxed-builds", NIXGEN_BOX="none")
    assert allowed.returncode == 0, allowed.stderr
    assert "NOT boxed" in allowed.stderr


UNDO = '''
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
undone = [t for t in ("/tmp", "/usr", "/") if libc.umount2(t.encode(), 2) == 0]
if libc.unshare(0x10000000 | 0x00020000) == 0:  # a user and mount namespace of its own: mounts stay locked
    undone += [t for t in ("/tmp", "/usr", "/") if libc.umount2(t.encode(), 2) == 0]
print(json.dumps({"undone": undone, "root": sorted(os.listdir("/"))}))
'''


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_the_code_inside_cannot_undo_the_box(mechanism: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if mechanism == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (.ci/run installs it); the unshare case still runs")
    monkeypatch.setenv("NIXGEN_BOX", mechanism)
    interp, _ = choose_interpreter(None)
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "src" / "undo.py").write_text(UNDO)
    isolation = box.probe()[0]
    assert isolation == mechanism
    ran = box.run([interp.path, "-S", "-I", str(work / "src" / "undo.py")], python=interp.path, work=work,
                  cwd=work / "src", read_only=[Path(interp.prefix)], isolation=isolation, limits=box.Limits())
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["undone"] == []
    assert "home" not in seen["root"] and "work" not in seen["root"] and set(seen["root"]) <= {
        "bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "nix", "tmp", "dev", "proc", "root"}
