"""Git sources: PEP 508 direct references ``name @ git+URL[@ref][#subdirectory=DIR]`` (pip's VCS URL form,
PEP 610's ``vcs_info``) pinned to a commit, with the Nix hash ``fetchgit`` checks.

The real ``git`` fetches into a bare repository under the cache directory, named by the sha256 of the URL
(never a path made of the URL's own text), with the URL given on the command line (no remote is configured,
so credentials in a URL are never written to disk). A full commit id already fetched needs no network, so
``--offline`` works with a cached repository; a branch or tag is fetched again when online (it may have
moved) and, offline, taken as last fetched.

The checkout is what nixpkgs' ``fetchgit`` (and ``builtins.fetchGit``) produce: the commit's tree without
``.git``; its hash is the sha256 of its NAR serialisation (``nix hash path``), computed here in Python so a
lock can be made without Nix. Repositories with submodules are refused (``fetchgit`` would fetch them too).

Metadata comes from the checkout: a static ``[project]`` table (PEP 621), with a version from git
(setuptools-scm's default scheme) when only the version is dynamic and setuptools-scm or hatch-vcs make it;
otherwise the PEP 517 metadata hook in the build box (:mod:`nixgen.pypi.buildmeta`), fed the git version.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nixgen.errors import IndexAccessError, InputError, MetadataError, OfflineMiss
from nixgen.pypi.model import CoreMetadata
from nixgen.pypi.urls import redact_url, strip_userinfo
from nixgen.resolve.model import VcsSource

if TYPE_CHECKING:
    from nixgen.pypi.client import Index

__all__ = ["GitFound", "VcsUrl", "is_vcs_url", "nar_sha256", "parse_vcs_url", "public_url", "resolve_git"]

VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_GIT_SCHEMES = ("https", "http", "ssh", "git", "file")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SAFE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")  # a branch, tag or (short) commit
_GIT_TIMEOUT = 600.0


def is_vcs_url(url: str) -> bool:
    """Whether a direct reference's URL names a version-control system (pip's ``vcs+scheme://``)."""
    return url.startswith(VCS_PREFIXES)


@dataclass(frozen=True)
class VcsUrl:
    """A ``git+`` URL taken apart: what git fetches (credentials included: never shown or stored), the ref
    asked for (None: the default branch) and the project's directory inside the repository."""

    fetch_url: str
    ref: str | None
    subdirectory: str | None

    @property
    def shown(self) -> str:
        return redact_url(self.fetch_url)


def parse_vcs_url(url: str, where: str) -> VcsUrl:
    """pip's VCS URL form ``git+SCHEME://host/path[@ref][#subdirectory=DIR&egg=NAME]`` (PEP 440's direct
    references); InputError for other systems and for refs or subdirectories that are not plain."""
    shown = redact_url(url)
    kind = url.split("+", 1)[0]
    if not url.startswith("git+"):
        raise InputError(f"{where}: {shown} is a {kind} reference; nixgen fetches version-control sources from "
                         "git only", hint="point the requirement at a git repository (git+https://…), or at a "
                                          "wheel or sdist URL")
    rest = url[4:]
    base, _, fragment = rest.partition("#")
    parts = urlsplit(base)
    if parts.scheme not in _GIT_SCHEMES or (parts.scheme != "file" and not parts.netloc) \
            or (parts.hostname or "").startswith("-") or parts.path.startswith("-"):
        raise InputError(f"{where}: {shown} is not a git URL nixgen fetches",
                         hint="write git+https://host/path, git+ssh://…, or git+file:///path")
    ref: str | None = None
    path = parts.path
    if "@" in path:  # as pip splits it: the last '@' of the path starts the revision
        path, _, ref = path.rpartition("@")
        ref = unquote(ref)
        if not ref or not _SAFE_REF.match(ref) or ".." in ref or ref.endswith((".lock", "/")):
            raise InputError(f"{where}: {shown} names the revision {ref[:80]!r}, which is not a plain branch, "
                             "tag or commit name", hint="write @<tag>, @<branch> or @<40-hex commit>")
    subdirectory = None
    for item in filter(None, fragment.split("&")):
        key, _, value = item.partition("=")
        if key == "subdirectory":
            subdirectory = value.strip("/") or None
            if subdirectory is not None and (any(p in ("", ".", "..") for p in subdirectory.split("/"))
                                             or not re.fullmatch(r"[A-Za-z0-9._/+-]{1,200}", subdirectory)):
                raise InputError(f"{where}: #subdirectory={value[:80]!r} is not a plain relative path",
                                 hint="name the project's directory inside the repository, like pkg/sub")
    fetch = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return VcsUrl(fetch_url=fetch, ref=ref, subdirectory=subdirectory)


def same_git_source(a: str, b: str) -> bool:
    """Whether two ``git+`` URLs name the same repository and subdirectory (refs aside)."""
    if not (a.startswith("git+") and b.startswith("git+")):
        return False
    try:
        pa, pb = parse_vcs_url(a, ""), parse_vcs_url(b, "")
    except InputError:
        return False
    return (public_url(pa.fetch_url).removesuffix(".git") == public_url(pb.fetch_url).removesuffix(".git")
            and pa.subdirectory == pb.subdirectory)


def public_url(url: str) -> str:
    """The fetch URL as written to a lock or a flake: no password or token (an https user is a token as
    often as a name, so it goes too); an ssh user such as ``git@`` stays, it is no secret."""
    parts = urlsplit(url)
    if parts.scheme == "ssh" and parts.username and parts.password is None:
        return url
    return strip_userinfo(url)


# -- the NAR hash (what fetchgit's fixed-output hash is) ----------------------------------------------------
def _nar_str(out: BinaryIO, data: bytes) -> None:
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)
    out.write(b"\0" * (-len(data) % 8))


def _nar(out: BinaryIO, path: Path) -> None:
    info = path.lstat()
    _nar_str(out, b"(")
    if stat.S_ISLNK(info.st_mode):
        for piece in (b"type", b"symlink", b"target", os.fsencode(os.readlink(path))):
            _nar_str(out, piece)
    elif stat.S_ISDIR(info.st_mode):
        _nar_str(out, b"type")
        _nar_str(out, b"directory")
        for name in sorted(os.listdir(path), key=os.fsencode):
            for piece in (b"entry", b"(", b"name", os.fsencode(name), b"node"):
                _nar_str(out, piece)
            _nar(out, path / name)
            _nar_str(out, b")")
    elif stat.S_ISREG(info.st_mode):
        _nar_str(out, b"type")
        _nar_str(out, b"regular")
        if info.st_mode & 0o100:
            _nar_str(out, b"executable")
            _nar_str(out, b"")
        _nar_str(out, b"contents")
        size = info.st_size
        out.write(size.to_bytes(8, "little"))
        with path.open("rb") as handle:
            shutil.copyfileobj(handle, out)
        out.write(b"\0" * (-size % 8))
    else:
        raise MetadataError(f"{path} is neither a file, a directory nor a symlink; Nix cannot store it")
    _nar_str(out, b")")


class _Hasher:
    """A file-like sink that only hashes what is written."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def nar_sha256(path: Path) -> str:
    """The SRI sha256 of ``path``'s NAR serialisation (Nix's ``nix hash path``; a fixed-output derivation's
    ``outputHashMode = "recursive"`` hash)."""
    sink = _Hasher()
    _nar_str(sink, b"nix-archive-1")  # type: ignore[arg-type]
    _nar(sink, path)  # type: ignore[arg-type]
    return "sha256-" + base64.b64encode(sink.digest.digest()).decode()


# -- git ------------------------------------------------------------------------------------------------
def _git(args: list[str], *, where: str, secret: str = "", cwd: Path | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise MetadataError(f"{where}: fetching a git source needs the git command, which is not on PATH",
                            hint="install git, or point the requirement at a wheel or sdist URL")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    try:
        proc = subprocess.run([git, "-c", "protocol.file.allow=always", *args], cwd=cwd, capture_output=True,
                              text=True, timeout=_GIT_TIMEOUT, env=env, errors="replace")
    except subprocess.TimeoutExpired:
        raise IndexAccessError(f"{where}: git did not finish in {_GIT_TIMEOUT:g} s") from None
    if check and proc.returncode != 0:
        raise IndexAccessError(f"{where}: git failed: {_tail(proc.stderr, secret)}",
                               hint="check the URL and that the repository is reachable")
    return proc


def _tail(text: str, secret: str) -> str:
    lines = " ".join(text.strip().splitlines()[-3:]) or "no message"
    if secret:
        lines = lines.replace(secret, redact_url(secret))
    return re.sub(r"://[^/\s@]*:[^/\s@]*@", "://****@", lines)[:600]


def _repository(cache_root: Path, fetch_url: str) -> Path:
    key = hashlib.sha256(strip_userinfo(fetch_url).encode()).hexdigest()[:32]
    return cache_root / "git" / key


def _rev(repo: Path, name: str, where: str) -> str | None:
    proc = _git(["--git-dir", str(repo), "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], where=where,
                check=False)
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and _COMMIT.match(out) else None


def _resolve_ref(repo: Path, ref: str | None, where: str) -> str | None:
    if ref is None:
        return _rev(repo, "refs/nixgen/HEAD", where)
    if _COMMIT.match(ref):
        return _rev(repo, ref, where)
    for name in (f"refs/tags/{ref}", f"refs/heads/{ref}"):
        found = _rev(repo, name, where)
        if found is not None:
            return found
    if re.fullmatch(r"[0-9a-f]{7,39}", ref):
        return _rev(repo, ref, where)
    return None


def _fetch(repo: Path, url: VcsUrl, where: str) -> None:
    if not (repo / "HEAD").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(["init", "--quiet", "--bare", str(repo)], where=where)
    _git(["--git-dir", str(repo), "fetch", "--quiet", "--prune", "--no-tags", "--", url.fetch_url,
          "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+HEAD:refs/nixgen/HEAD"],
         where=where, secret=url.fetch_url)
    if url.ref is not None and _resolve_ref(repo, url.ref, where) is None and re.fullmatch(r"[0-9a-f]{7,40}",
                                                                                           url.ref):
        # A commit on no branch (a pull request's): servers that allow it hand it out by id.
        _git(["--git-dir", str(repo), "fetch", "--quiet", "--", url.fetch_url, url.ref], where=where,
             secret=url.fetch_url, check=False)


def _commit(repo: Path, url: VcsUrl, offline: bool, where: str) -> str:
    known = repo / "HEAD"
    if url.ref is not None and _COMMIT.match(url.ref) and known.exists():
        found = _rev(repo, url.ref, where)
        if found is not None:
            return found
    if offline:
        if known.exists():
            found = _resolve_ref(repo, url.ref, where)
            if found is not None:
                return found
        raise OfflineMiss(f"{where}: {url.shown}" + (f"@{url.ref}" if url.ref else "") +
                          f" is not in the git cache {repo.parent}",
                          hint="run nixgen once without --offline to fetch it")
    _fetch(repo, url, where)
    found = _resolve_ref(repo, url.ref, where)
    if found is None:
        raise InputError(f"{where}: {url.shown} has no branch, tag or commit {url.ref!r}",
                         hint="check the name after '@' (git ls-remote URL lists the branches and tags)")
    return found


def _checkout(repo: Path, commit: str, dest: Path, where: str) -> None:
    """The commit's tree at ``dest``, without ``.git`` (what fetchgit leaves)."""
    _git(["clone", "--quiet", "--shared", "--no-checkout", str(repo), str(dest)], where=where)
    _git(["-C", str(dest), "-c", "advice.detachedHead=false", "-c", "core.autocrlf=false", "checkout", "--quiet",
          commit], where=where)
    shutil.rmtree(dest / ".git")


def scm_version(repo: Path, commit: str, where: str) -> str:
    """The version setuptools-scm's default scheme (hatch-vcs uses it too) gives a clean checkout of
    ``commit``: the tag's version at a tag, else the tag's version with its last number bumped,
    ``.devN+gSHORT`` (N commits after the newest tag; ``v1.2`` → ``1.3.dev2+g1a2b3c4``), and
    ``0.1.devN+gSHORT`` without any tag."""
    described = _git(["--git-dir", str(repo), "describe", "--tags", "--long", "--match", "*[0-9]*", commit],
                     where=where, check=False)
    short = commit[:7]
    match = re.fullmatch(r"(.+)-(\d+)-g[0-9a-f]+", described.stdout.strip())
    if described.returncode != 0 or match is None:
        count = _git(["--git-dir", str(repo), "rev-list", "--count", commit], where=where).stdout.strip()
        return f"0.1.dev{int(count or '0')}+g{short}"
    tag, distance = match.group(1), int(match.group(2))
    try:
        version = Version(re.sub(r"^[^0-9]*", "", tag))
    except InvalidVersion:
        raise MetadataError(f"{where}: the git tag {tag!r} is not a PEP 440 version",
                            hint="tag releases as 1.2.3 or v1.2.3") from None
    if distance == 0:
        return str(version)
    release = list(version.release)
    release[-1] += 1  # setuptools-scm's guess-next-dev: the tag's last number, plus one
    return ".".join(map(str, release)) + f".dev{distance}+g{short}"


# -- metadata of the checkout ---------------------------------------------------------------------------
def _vcs_versioned(data: dict[str, Any]) -> bool:
    from nixgen.inputs.project import vcs_versioned

    return vcs_versioned(data)


def _static(data: dict[str, Any], version: str | None, where: str) -> CoreMetadata | None:
    """PEP 621 ``[project]`` as core metadata, when nothing but (a git-made) version is dynamic."""
    project = data.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        return None
    dynamic = set(project.get("dynamic") or ())
    if dynamic - {"version"} or (dynamic and version is None):
        return None
    own = project.get("version") if not dynamic else version
    if not isinstance(own, str):
        return None
    try:
        reqs = [Requirement(t) for t in project.get("dependencies") or ()]
        extras = project.get("optional-dependencies") or {}
        for extra, texts in extras.items():
            for text in texts:
                req = Requirement(text)
                marker = f"({req.marker}) and extra == '{extra}'" if req.marker else f"extra == '{extra}'"
                req.marker = None
                reqs.append(Requirement(f"{req} ; {marker}"))
    except (InvalidRequirement, TypeError, AttributeError) as err:
        raise MetadataError(f"{where}: its pyproject.toml [project] cannot be read: {err}") from None
    return CoreMetadata(name=project["name"], version=own, parsed=tuple(reqs),
                        requires_python=project.get("requires-python"),
                        provides_extra=tuple(str(canonicalize_name(e)) for e in extras), source="vcs",
                        trusted=True)


def _tarball(tree: Path, stem: str, dest: Path) -> Path:
    """The checkout as an sdist-shaped tarball for the build box (``name-commit/...``)."""
    path = dest / f"{stem}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(tree, arcname=stem)
    return path


def _built(index: Index, tree: Path, name: str, commit: str, version: str | None, python: str | None,
           allow_unboxed: bool, where: str) -> CoreMetadata:
    from nixgen.pypi import box
    from nixgen.pypi.buildmeta import choose_interpreter, fetcher, metadata_from_build
    from nixgen.pypi.metadata import parse_metadata

    isolation, why = box.probe()
    if isolation is None:
        if not allow_unboxed:
            raise MetadataError(f"{where}: only its build backend knows its metadata, and this machine cannot "
                                f"box package code ({why})",
                                hint="allow unprivileged user namespaces or install bubblewrap, or pass "
                                     "--allow-unboxed-builds")
        isolation = "unboxed"
    interp, _ = choose_interpreter(python)
    env = {"SETUPTOOLS_SCM_PRETEND_VERSION": version} if version is not None else {}
    with tempfile.TemporaryDirectory(prefix="nixgen-git-") as tmp:
        sdist = _tarball(tree, re.sub(r"[^A-Za-z0-9._]", "_", name) + f"-{commit[:9]}", Path(tmp))
        raw = metadata_from_build(sdist, fetch=fetcher(index, where), python=interp, isolation=isolation,
                                  env=env)
    md = parse_metadata(raw, source="build", trusted=True, where=where)
    return CoreMetadata(md.name, md.version, md.requires_dist, md.requires_python, md.provides_extra, "vcs", True)


@dataclass(frozen=True)
class GitFound:
    """A git source pinned, with its metadata, PEP 518 build system and whether its version comes from git."""

    source: VcsSource
    metadata: CoreMetadata
    build_requires: tuple[str, ...] | None
    version_from_vcs: bool

    def to_json(self) -> dict[str, Any]:
        s = self.source
        return {"url": s.url, "requested": s.requested_revision, "commit": s.commit_id, "sub": s.subdirectory,
                "hash": s.nar_hash, "metadata": self.metadata.to_json(),
                "build_requires": list(self.build_requires) if self.build_requires is not None else None,
                "scm": self.version_from_vcs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GitFound:
        return cls(VcsSource(data["url"], data["commit"], data["hash"], data["requested"], data["sub"]),
                   CoreMetadata.from_json(data["metadata"]),
                   tuple(data["build_requires"]) if data["build_requires"] is not None else None, data["scm"])


def resolve_git(index: Index, name: str, url: str, *, python: str | None = None,
                allow_unboxed: bool = False, build_metadata: bool = True) -> GitFound:
    """``name @ git+URL``: the commit, the checkout's NAR hash and its metadata (remembered per commit and
    subdirectory in the metadata cache, so a commit is checked out once)."""
    where = f"{name} @ {redact_url(url)}"
    parsed = parse_vcs_url(url, where)
    repo = _repository(index.cache.root.parent, parsed.fetch_url)
    commit = _commit(repo, parsed, index.offline, where)
    if index.offline and (parsed.ref is None or not _COMMIT.match(parsed.ref)):
        index.notes.append(f"{where}: --offline, so {parsed.ref or 'the default branch'} is taken as last fetched "
                           f"(commit {commit[:9]})")
    key = f"git:{commit}:{parsed.subdirectory or ''}:{python or ''}"
    cached = index.cache.metadata(key)
    if cached is not None:
        try:
            found = GitFound.from_json(json.loads(cached))
            return GitFound(VcsSource(public_url(parsed.fetch_url), commit, found.source.nar_hash, parsed.ref,
                                      parsed.subdirectory), found.metadata, found.build_requires,
                            found.version_from_vcs)
        except (ValueError, KeyError, TypeError):
            pass
    with tempfile.TemporaryDirectory(prefix="nixgen-checkout-") as tmp:
        tree = Path(tmp) / "source"
        _checkout(repo, commit, tree, where)
        if (tree / ".gitmodules").exists():
            raise MetadataError(f"{where}: the repository has git submodules, which nixgen does not fetch yet",
                                hint="point the requirement at a wheel or sdist of the project")
        nar_hash = nar_sha256(tree)
        project = tree / parsed.subdirectory if parsed.subdirectory else tree
        if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
            raise InputError(f"{where}: commit {commit[:12]} has no Python project at "
                             f"{parsed.subdirectory or 'its top'} (no pyproject.toml or setup.py)",
                             hint="add #subdirectory=DIR naming the project's directory")
        data: dict[str, Any] = {}
        if (project / "pyproject.toml").is_file():
            try:
                data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
                raise MetadataError(f"{where}: its pyproject.toml is not valid TOML: {err}") from None
        scm = _vcs_versioned(data)
        version = scm_version(repo, commit, where) if scm else None
        md = _static(data, version, where)
        if md is None:
            if not build_metadata:
                raise MetadataError(f"{where}: its metadata is dynamic; --no-build-metadata forbids running its "
                                    "build backend", hint="allow the build, or use a wheel or sdist URL")
            md = _built(index, project, name, commit, version, python, allow_unboxed, where)
        system = data.get("build-system") if isinstance(data.get("build-system"), dict) else None
        requires = tuple(str(r) for r in system.get("requires", ())) if system is not None else None
    found = GitFound(VcsSource(public_url(parsed.fetch_url), commit, nar_hash, parsed.ref, parsed.subdirectory),
                     md, requires, scm)
    index.cache.put_metadata(key, json.dumps(found.to_json()))
    return found
