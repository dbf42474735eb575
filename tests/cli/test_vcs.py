"""Git sources (``name @ git+URL@ref#subdirectory=DIR``) from a real git repository in a temp directory:
pinned by commit and NAR hash in the lock (PEP 751 ``[packages.vcs]``) and the flake (``fetchgit``), the
flake evaluated against the fixture nixpkgs (whose fetchgit checks the hash against ``builtins.fetchGit``)."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nixgen.errors import InputError
from nixgen.pypi.vcs import nar_sha256, parse_vcs_url, public_url
from tests.cli.conftest import nixgen
from tests.indexserver import FixtureIndex
from tests.projecteval import eval_project_flake

STATIC = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
dependencies = ["nixgen-alpha"]

[project.optional-dependencies]
more = ["nixgen-beta"]
"""

HATCH_VCS = """\
[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "scmgit"
dynamic = ["version"]
dependencies = ["nixgen-alpha"]

[tool.hatch.version]
source = "vcs"
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def repository(root: Path, files: dict[str, str], tag: str | None = "v1.0") -> tuple[Path, str]:
    """A git repository holding ``files``, committed (and tagged); returns it and the commit."""
    root.mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    if tag:
        git(root, "tag", tag)
    return root, git(root, "rev-parse", "HEAD")


def project_files(name: str = "gitproj", version: str = "1.0", prefix: str = "") -> dict[str, str]:
    return {f"{prefix}pyproject.toml": STATIC.format(name=name, version=version),
            f"{prefix}{name}/__init__.py": "X = 1\n", f"{prefix}run.sh": "#!/bin/sh\n"}


@pytest.fixture()
def server(tmp_path: Path, make_index_server: Any) -> Any:
    fixture = FixtureIndex(tmp_path / "index")
    fixture.add_wheel("nixgen-alpha", "1.0")
    fixture.add_wheel("nixgen-beta", "2.0")
    fixture.add_wheel("gitproj", "9.9")  # on the index too: the git source must win
    return make_index_server(fixture.write())


def run(tmp_path: Path, server: Any, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return nixgen(*args, "--index-url", server.url, "--cache-dir", tmp_path / "cache", "--system", "x86_64-linux")


def lock(tmp_path: Path, server: Any, requirement: str, *extra: str) -> tuple[dict[str, Any], Path]:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(requirement + "\n")
    out = tmp_path / "pylock.toml"
    proc = run(tmp_path, server, "lock", reqs, "-o", out, "-q", *extra)
    assert proc.returncode == 0, proc.stderr
    return {p["name"]: p for p in tomllib.loads(out.read_text())["packages"]}, out


def summary(flake_dir: Path, tmp_path: Path) -> dict[str, Any]:
    return {p["pname"]: p for p in eval_project_flake(flake_dir, "packages.x86_64-linux.default.summary", tmp_path)}


def test_nar_hash_is_what_nix_computes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "d" / "e").mkdir(parents=True)
    (tree / "a").write_text("hello\n")
    (tree / "empty").write_text("")
    (tree / "d" / "run").write_text("#!/bin/sh\n" * 100)
    (tree / "d" / "run").chmod(0o755)
    (tree / "d" / "link").symlink_to("../a")
    (tree / "B").write_bytes(bytes(range(256)) * 3)
    proc = subprocess.run(["nix", "--extra-experimental-features", "nix-command", "hash", "path", str(tree)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert nar_sha256(tree) == proc.stdout.strip()


@pytest.mark.parametrize(("url", "fetch", "ref", "sub"), [
    ("git+https://example.invalid/org/repo.git", "https://example.invalid/org/repo.git", None, None),
    ("git+https://example.invalid/org/repo@v1.2#subdirectory=pkg/sub&egg=x", "https://example.invalid/org/repo",
     "v1.2", "pkg/sub"),
    ("git+ssh://git@example.invalid/org/repo@main", "ssh://git@example.invalid/org/repo", "main", None),
    ("git+file:///srv/repo@" + "a" * 40, "file:///srv/repo", "a" * 40, None),
])
def test_vcs_urls_are_taken_apart_as_pip_does(url: str, fetch: str, ref: str | None, sub: str | None) -> None:
    parsed = parse_vcs_url(url, "here")
    assert (parsed.fetch_url, parsed.ref, parsed.subdirectory) == (fetch, ref, sub)


@pytest.mark.parametrize(("url", "message"), [
    ("hg+https://example.invalid/repo", "git only"),
    ("svn+https://example.invalid/repo", "git only"),
    ("git+https://example.invalid/repo@-upload-pack=evil", "not a plain branch"),
    ("git+https://example.invalid/repo@a..b", "not a plain branch"),
    ("git+https://example.invalid/repo#subdirectory=../etc", "not a plain relative path"),
    ("git+ftp://example.invalid/repo", "not a git URL"),
    ("git+ssh://-oProxyCommand=evil/repo", "not a git URL"),
])
def test_odd_vcs_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_vcs_url(url, "here")


def test_public_urls_carry_no_secret() -> None:
    assert public_url("https://user:tok@example.invalid/r") == "https://example.invalid/r"
    assert public_url("https://tok@example.invalid/r") == "https://example.invalid/r"
    assert public_url("ssh://git@example.invalid/r") == "ssh://git@example.invalid/r"


def test_a_tag_is_pinned_by_commit_and_hash_and_evaluates(tmp_path: Path, server: Any) -> None:
    repo, commit = repository(tmp_path / "repo", project_files())
    url = f"git+file://{repo}@v1.0"
    packages, lock_path = lock(tmp_path, server, f"gitproj[more] @ {url}")
    entry = packages["gitproj"]
    assert entry["version"] == "1.0"
    assert entry["vcs"] == {"type": "git", "url": f"file://{repo}", "requested-revision": "v1.0",
                            "commit-id": commit}
    checkout = tmp_path / "checkout"
    shutil.copytree(repo, checkout, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    nix = subprocess.run(["nix", "--extra-experimental-features", "nix-command", "hash", "path", str(checkout)],
                         capture_output=True, text=True, timeout=60)
    assert entry["tool"]["nixgen"]["vcs-hash"] == nix.stdout.strip()
    assert entry["tool"]["nixgen"]["reason"] == "vcs"
    assert packages["nixgen-beta"]["version"] == "2.0"  # the extra, from the checkout's metadata

    flake_dir = tmp_path / "out"
    flake_dir.mkdir()
    proc = run(tmp_path, server, lock_path, "-o", flake_dir / "flake.nix")
    assert proc.returncode == 0, proc.stderr
    text = (flake_dir / "flake.nix").read_text()
    assert f'rev = "{commit}";' in text and "final.fetchgit" in text
    assert f"from git file://{repo}@{commit[:9]}" in text
    built = summary(flake_dir, tmp_path)
    assert built["gitproj"]["version"] == "1.0" and built["gitproj"]["rev"] == commit
    assert sorted(built["gitproj"]["dependencies"]) == ["nixgen-alpha", "nixgen-beta"]

    explained = nixgen("explain", "gitproj", lock_path, "--offline", "--system", "x86_64-linux")
    assert explained.returncode == 0, explained.stderr
    assert f"provider: sdist (from git file://{repo}@{commit[:9]}, built from its checkout)" in explained.stdout
    assert "built from its git checkout" in explained.stdout

    # Rendering from the lock needs nothing else: the repository and the cache may be gone.
    shutil.rmtree(tmp_path / "cache")
    shutil.move(repo, tmp_path / "moved")
    again = nixgen(lock_path, "-o", tmp_path / "again.nix", "--offline")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.nix").read_text() == text


def test_direct_generation_equals_the_lock_and_works_offline_from_the_cache(tmp_path: Path, server: Any) -> None:
    repo, commit = repository(tmp_path / "repo", project_files())
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"gitproj @ git+file://{repo}\n")  # no ref: the default branch
    first = run(tmp_path, server, reqs, "-o", tmp_path / "flake.nix")
    assert first.returncode == 0, first.stderr
    assert f'rev = "{commit}";' in (tmp_path / "flake.nix").read_text()
    offline = run(tmp_path, server, reqs, "-o", tmp_path / "offline.nix", "--offline")
    assert offline.returncode == 0, offline.stderr
    assert (tmp_path / "offline.nix").read_text() == (tmp_path / "flake.nix").read_text()
    assert f"the default branch is taken as last fetched (commit {commit[:9]})" in offline.stderr
    cold = nixgen(reqs, "--index-url", server.url, "--cache-dir", tmp_path / "cold", "--offline",
                  "-o", tmp_path / "cold.nix")
    assert cold.returncode == 5, cold.stderr
    assert "is not in the git cache" in cold.stderr and "Traceback" not in cold.stderr


def test_a_branch_moves_and_a_commit_stays(tmp_path: Path, server: Any) -> None:
    repo, first = repository(tmp_path / "repo", project_files())
    (repo / "gitproj" / "__init__.py").write_text("X = 2\n")
    git(repo, "commit", "-q", "-am", "second")
    second = git(repo, "rev-parse", "HEAD")
    assert lock(tmp_path, server, f"gitproj @ git+file://{repo}@main")[0]["gitproj"]["vcs"]["commit-id"] == second
    pinned = lock(tmp_path, server, f"gitproj @ git+file://{repo}@{first}")[0]["gitproj"]["vcs"]
    assert pinned["commit-id"] == first and pinned["requested-revision"] == first
    assert lock(tmp_path, server, f"gitproj @ git+file://{repo}@v1.0")[0]["gitproj"]["vcs"]["commit-id"] == first


def test_a_subdirectory_is_the_source_root(tmp_path: Path, server: Any) -> None:
    repo, commit = repository(tmp_path / "mono", {"README": "mono\n", **project_files(prefix="python/")})
    packages, lock_path = lock(tmp_path, server, f"gitproj @ git+file://{repo}@v1.0#subdirectory=python")
    assert packages["gitproj"]["vcs"]["subdirectory"] == "python"
    flake_dir = tmp_path / "out"
    flake_dir.mkdir()
    proc = run(tmp_path, server, lock_path, "-o", flake_dir / "flake.nix")
    assert proc.returncode == 0, proc.stderr
    assert 'sourceRoot = "source/python";' in (flake_dir / "flake.nix").read_text()
    built = summary(flake_dir, tmp_path)
    assert built["gitproj"]["sourceRoot"] == "source/python" and built["gitproj"]["rev"] == commit
    (tmp_path / "requirements.txt").write_text(f"gitproj @ git+file://{repo}@v1.0#subdirectory=nowhere\n")
    missing = run(tmp_path, server, "lock", tmp_path / "requirements.txt", "-q")
    assert missing.returncode == 3 and "no Python project at nowhere" in missing.stderr


def test_a_bad_ref_is_a_clear_error(tmp_path: Path, server: Any) -> None:
    repo, _ = repository(tmp_path / "repo", project_files())
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"gitproj @ git+file://{repo}@v9.9\n")
    proc = run(tmp_path, server, "lock", reqs, "-q")
    assert proc.returncode == 3, proc.stderr
    assert "has no branch, tag or commit 'v9.9'" in proc.stderr and "Traceback" not in proc.stderr
    reqs.write_text(f"gitproj @ hg+file://{repo}\n")
    proc = run(tmp_path, server, "lock", reqs, "-q")
    assert proc.returncode == 3 and "git only" in proc.stderr and "Traceback" not in proc.stderr
    reqs.write_text(f"other @ git+file://{repo}@v1.0\n")
    proc = run(tmp_path, server, "lock", reqs, "-q")
    assert proc.returncode == 7 and "holds gitproj, not other" in proc.stderr


def test_a_version_from_git_is_given_to_the_build(tmp_path: Path, server: Any) -> None:
    repo, _ = repository(tmp_path / "repo", {"pyproject.toml": HATCH_VCS, "scmgit/__init__.py": ""}, tag="2.0.0")
    packages, _ = lock(tmp_path, server, f"scmgit @ git+file://{repo}@2.0.0")
    assert packages["scmgit"]["version"] == "2.0.0"
    (repo / "scmgit" / "__init__.py").write_text("X = 1\n")
    git(repo, "commit", "-q", "-am", "after the tag")
    head = git(repo, "rev-parse", "HEAD")
    flake_dir = tmp_path / "out"
    flake_dir.mkdir()
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"scmgit @ git+file://{repo}@main\n")
    proc = run(tmp_path, server, reqs, "-o", flake_dir / "flake.nix")
    assert proc.returncode == 0, proc.stderr
    version = f"2.0.1.dev1+g{head[:7]}"
    text = (flake_dir / "flake.nix").read_text()
    assert f'version = "{version}";' in text and f'SETUPTOOLS_SCM_PRETEND_VERSION = "{version}";' in text
    built = summary(flake_dir, tmp_path)
    assert built["scmgit"]["env"]["SETUPTOOLS_SCM_PRETEND_VERSION"] == version


@pytest.fixture()
def http_repo(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The repository served over git's dumb HTTP protocol: its URL (no userinfo) and the commit."""
    repo, commit = repository(tmp_path / "served" / "repo", project_files())
    git(repo, "update-server-info")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "served"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}/repo/.git", commit
    httpd.shutdown()


def test_credentials_never_reach_the_lock_the_flake_or_stderr(tmp_path: Path, server: Any,
                                                              http_repo: tuple[str, str]) -> None:
    where, commit = http_repo
    secret = "s3cr3t-token"
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"gitproj @ git+http://user:{secret}@{where}@v1.0\n")
    out = tmp_path / "pylock.toml"
    proc = run(tmp_path, server, "lock", reqs, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stderr and secret not in proc.stdout and secret not in out.read_text()
    vcs = {p["name"]: p for p in tomllib.loads(out.read_text())["packages"]}["gitproj"]["vcs"]
    assert vcs["url"] == f"http://{where}" and vcs["commit-id"] == commit
    flake = run(tmp_path, server, out, "-o", tmp_path / "flake.nix")
    assert flake.returncode == 0 and secret not in (tmp_path / "flake.nix").read_text()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    # A repository that is not there: the error names the URL without the secret.
    reqs.write_text(f"gitproj @ git+http://user:{secret}@{where}/nothing@v1.0\n")
    bad = run(tmp_path, server, "lock", reqs, "-q")
    assert bad.returncode == 4, bad.stderr
    assert secret not in bad.stderr and "Traceback" not in bad.stderr and "git failed" in bad.stderr


UV_APP = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["gitproj"]

[tool.uv.sources]
gitproj = {{ git = "file://{repo}", tag = "v1.0" }}

[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
"""


def test_a_uv_lock_git_source_keeps_its_locked_commit(tmp_path: Path, server: Any) -> None:
    repo, commit = repository(tmp_path / "repo", project_files())
    app = tmp_path / "app"
    (app / "app").mkdir(parents=True)
    (app / "app" / "__init__.py").write_text("")
    (app / "pyproject.toml").write_text(UV_APP.format(repo=repo))
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    proc = subprocess.run([uv, "lock", "--default-index", server.url, "--cache-dir", str(tmp_path / "uvcache"),
                           "--directory", str(app)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"#{commit}" in (app / "uv.lock").read_text()
    # The tag moves after locking: the lock's commit is what nixgen pins, not the tag's new one.
    (repo / "gitproj" / "__init__.py").write_text("X = 2\n")
    git(repo, "commit", "-q", "-am", "second")
    git(repo, "tag", "-f", "v1.0")
    out = tmp_path / "pylock.toml"
    done = run(tmp_path, server, "lock", app / "uv.lock", "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    packages = {p["name"]: p for p in tomllib.loads(out.read_text())["packages"]}
    assert packages["gitproj"]["vcs"]["commit-id"] == commit
    assert "directory" in packages["app"]  # the root project, from its tree


POETRY_APP = """\
[build-system]
requires = ["poetry-core>=1.0"]
build-backend = "poetry.core.masonry.api"

[tool.poetry]
name = "papp"
version = "0.1.0"
description = ""
authors = []

[tool.poetry.dependencies]
python = "^3.11"
gitproj = {{ git = "file://{repo}", branch = "main", subdirectory = "python" }}
"""

POETRY_LOCK = """\
[[package]]
name = "gitproj"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = []

[package.dependencies]
nixgen-alpha = "*"

[package.source]
type = "git"
url = "file://{repo}"
reference = "main"
resolved_reference = "{commit}"
subdirectory = "python"

[[package]]
name = "nixgen-alpha"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "0"
"""


def test_a_poetry_git_dependency_uses_the_locked_resolved_reference(tmp_path: Path, server: Any) -> None:
    repo, commit = repository(tmp_path / "mono", project_files(prefix="python/"))
    (repo / "python" / "gitproj" / "__init__.py").write_text("X = 2\n")
    git(repo, "commit", "-q", "-am", "second")  # main moved on after the lock
    app = tmp_path / "papp"
    (app / "papp").mkdir(parents=True)
    (app / "papp" / "__init__.py").write_text("")
    (app / "pyproject.toml").write_text(POETRY_APP.format(repo=repo))
    (app / "poetry.lock").write_text(POETRY_LOCK.format(repo=repo, commit=commit))
    out = tmp_path / "pylock.toml"
    done = run(tmp_path, server, "lock", app / "poetry.lock", "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    vcs = {p["name"]: p for p in tomllib.loads(out.read_text())["packages"]}["gitproj"]["vcs"]
    assert vcs["commit-id"] == commit and vcs["subdirectory"] == "python"
    # Without the lock, the pyproject's branch is followed to its newest commit.
    alone = run(tmp_path, server, "lock", app / "pyproject.toml", "-o", out, "-q")
    assert alone.returncode == 0, alone.stderr
    vcs = {p["name"]: p for p in tomllib.loads(out.read_text())["packages"]}["gitproj"]["vcs"]
    assert vcs["commit-id"] == git(repo, "rev-parse", "HEAD") and vcs["requested-revision"] == "main"


def test_a_hash_pin_says_why_nixpkgs_is_not_used(tmp_path: Path, make_index_server: Any) -> None:
    import json

    fixture = FixtureIndex(tmp_path / "hindex")
    sha256 = fixture.add_wheel("idna", "3.9")["hashes"]["sha256"]  # nixpkgs has idna, at its own version
    fixture.add_wheel("certifi", "2025.8.3")
    served = make_index_server(fixture.write())
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"idna==3.9 --hash=sha256:{sha256}\ncertifi\n")
    report = run(tmp_path, served, "report", reqs, "--json")
    assert report.returncode == 0, report.stderr
    packages = {p["name"]: p for p in json.loads(report.stdout)["systems"][0]["packages"]}
    assert packages["idna"]["reason"] == "hashed" and packages["idna"]["provider"] == "wheel"
    assert packages["idna"]["reason-text"].startswith("pinned by hash (nixpkgs' ")
    assert packages["certifi"]["reason"] == "nixpkgs"  # not hashed: nixpkgs' own
    flake = run(tmp_path, served, reqs, "-o", tmp_path / "flake.nix")
    assert flake.returncode == 0, flake.stderr
    assert "# idna 3.9 (wheel): pinned by hash (nixpkgs' " in (tmp_path / "flake.nix").read_text()


BACKEND = '''
import os

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    version = os.environ.get("SETUPTOOLS_SCM_PRETEND_VERSION", "0")
    path = os.path.join(metadata_directory, f"dyngit-{version}.dist-info")
    os.makedirs(path)
    with open(os.path.join(path, "METADATA"), "w") as handle:
        handle.write(f"Metadata-Version: 2.1\\nName: dyngit\\nVersion: {version}\\n"
                     "Requires-Dist: nixgen-beta\\n")
    return f"dyngit-{version}.dist-info"
'''

DYNAMIC = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "dyngit"
dynamic = ["version", "dependencies"]

[tool.setuptools_scm]
"""


def test_dynamic_metadata_comes_from_the_boxed_backend_with_the_git_version(tmp_path: Path, server: Any) -> None:
    repo, _ = repository(tmp_path / "repo", {"pyproject.toml": DYNAMIC, "backend.py": BACKEND}, tag="v3.1")
    packages, _ = lock(tmp_path, server, f"dyngit @ git+file://{repo}@v3.1")
    assert packages["dyngit"]["version"] == "3.1"  # what the backend made of the pretend version
    assert packages["dyngit"]["tool"]["nixgen"]["pin"]["metadata-source"] == "vcs"
    assert packages["dyngit"]["tool"]["nixgen"]["pin"]["version-from-vcs"] is True
    assert set(packages) == {"dyngit", "nixgen-beta"}


def test_versions_between_tags_follow_setuptools_scm(tmp_path: Path) -> None:
    from nixgen.pypi.vcs import scm_version

    repo, first = repository(tmp_path / "repo", {"a": "1"}, tag="v1.2")
    assert scm_version(repo / ".git", first, "here") == "1.2"
    for n in (2, 3):
        (repo / "a").write_text(str(n))
        git(repo, "commit", "-q", "-am", str(n))
    head = git(repo, "rev-parse", "HEAD")
    assert scm_version(repo / ".git", head, "here") == f"1.3.dev2+g{head[:7]}"
    untagged, commit = repository(tmp_path / "untagged", {"a": "1"}, tag=None)
    assert scm_version(untagged / ".git", commit, "here") == f"0.1.dev1+g{commit[:7]}"


def test_a_lock_whose_git_source_lost_its_hash_is_refused(tmp_path: Path, server: Any) -> None:
    repo, _ = repository(tmp_path / "repo", project_files())
    _, lock_path = lock(tmp_path, server, f"gitproj @ git+file://{repo}@v1.0")
    text = lock_path.read_text()
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("vcs-hash = ")]
    assert len(lines) == len(text.splitlines()) - 1
    lock_path.write_text("".join(lines))
    proc = nixgen(lock_path, "-o", tmp_path / "flake.nix")
    assert proc.returncode == 3 and "the git source has no vcs-hash" in proc.stderr
    lock_path.write_text(text.replace('type = "git"', 'type = "hg"'))
    proc = nixgen(lock_path, "-o", tmp_path / "flake.nix")
    assert proc.returncode == 3 and "nixgen reads git sources" in proc.stderr and "Traceback" not in proc.stderr


def test_submodules_are_refused_with_a_way_out(tmp_path: Path, server: Any) -> None:
    files = {**project_files(), ".gitmodules": '[submodule "vendor"]\n\tpath = vendor\n\turl = ../other\n'}
    repo, _ = repository(tmp_path / "repo", files)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"gitproj @ git+file://{repo}@v1.0\n")
    proc = run(tmp_path, server, "lock", reqs, "-q")
    assert proc.returncode == 7 and "git submodules" in proc.stderr and "Traceback" not in proc.stderr
