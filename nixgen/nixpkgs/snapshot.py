"""A nixpkgs snapshot: per Python package set, attr → distribution, version and out path; plus interpreters
and the top-level native libraries. Stored as sorted, tab-separated text (reviewable, diffable) with the
provenance in ``snapshot.json``; loaded lazily so that start-up reads only what a run needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from packaging.utils import canonicalize_name

from nixgen.errors import SnapshotError
from nixgen.fsutil import write_atomic

DATA = Path(__file__).parent / "data"
_PNAME = re.compile(r"-\d.*$")  # "openssl-3.6.1" -> "openssl"
META_FILE = "snapshot.json"
NATIVE_FILE = "native.tsv"


@dataclass(frozen=True)
class NixPythonPackage:
    """One attribute of a Python package set and the distribution it installs."""

    attr: str
    pypi_name: str
    version: str
    out_hash: str
    store_name: str


@dataclass(frozen=True)
class NativePackage:
    """A top-level attribute whose output holds libraries or headers (gdal, geos, libsodium, …)."""

    attr: str
    store_name: str
    out_hash: str


@dataclass(frozen=True)
class SnapshotMeta:
    """Where the snapshot came from and which nixpkgs revision generated flakes pin."""

    source: str
    source_sha256: str
    generated_from: str
    nixpkgs_rev: str
    nixpkgs_rev_note: str
    nar_hash: str
    last_modified: int
    system: str
    glibc_version: str | None
    python3: str


def _canonical(attr: str, name: str) -> tuple[int, int, str]:
    """Sort key choosing the attr that stands for a distribution: its own name, then shortest, then a-z."""
    return (0 if canonicalize_name(attr) == name else 1, len(attr), attr)


@dataclass(frozen=True)
class PythonSet:
    """One interpreter's package set (``python313Packages``)."""

    interpreter: str
    packages_attr: str
    python_version: str
    packages: Mapping[str, NixPythonPackage]
    _by_name: Mapping[str, tuple[NixPythonPackage, ...]] = field(default_factory=dict, repr=False)
    # Exact dependency edges (attr -> attrs it is built with), when the snapshot came from evaluating nixpkgs.
    edges: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, interpreter: str, python_version: str, packages: Mapping[str, NixPythonPackage],
              edges: Mapping[str, tuple[str, ...]] | None = None) -> PythonSet:
        groups: dict[str, list[NixPythonPackage]] = {}
        for pkg in packages.values():
            groups.setdefault(pkg.pypi_name, []).append(pkg)
        by_name = {n: tuple(sorted(g, key=lambda p: _canonical(p.attr, n))) for n, g in groups.items()}
        return cls(interpreter, f"{interpreter}Packages", python_version, packages, by_name, dict(edges or {}))

    def by_pypi_name(self, name: str) -> NixPythonPackage | None:
        """The attribute that stands for the distribution ``name`` (any spelling; PEP 503)."""
        found = self._by_name.get(canonicalize_name(name))
        return found[0] if found else None

    def attrs_for(self, name: str) -> list[NixPythonPackage]:
        """Every attribute installing the distribution ``name``, the canonical one first."""
        return list(self._by_name.get(canonicalize_name(name), ()))


class Snapshot:
    """A nixpkgs snapshot on disk; package sets and native attrs are read when first asked for."""

    def __init__(self, directory: Path, meta: SnapshotMeta, interpreters: Mapping[str, str],
                 sets: Mapping[str, str]) -> None:
        self.directory = directory
        self.meta = meta
        self.interpreters = dict(interpreters)
        self._sets = dict(sets)  # interpreter -> TSV file name
        self._loaded: dict[str, PythonSet] = {}
        self._preset_native: dict[str, NativePackage] | None = None
        self._preset_sets: dict[str, PythonSet] = {}

    @classmethod
    def load(cls, directory: Path | None = None) -> Snapshot:
        """The snapshot in ``directory`` (default: the embedded one); loaded once per process."""
        return _load((directory or DATA).resolve())

    @classmethod
    def read(cls, directory: Path) -> Snapshot:
        """The snapshot in ``directory``, read now (not cached)."""
        try:
            data = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            meta = SnapshotMeta(**data["meta"])
            return cls(directory, meta, data["interpreters"], data["sets"])
        except FileNotFoundError:
            raise SnapshotError(f"no nixpkgs snapshot in {directory} (missing {META_FILE})",
                                hint="make one with `nixgen nixpkgs import-nix-index`") from None
        except (ValueError, KeyError, TypeError) as err:
            raise SnapshotError(f"{directory / META_FILE} is malformed: {err}") from None

    def python_set(self, interpreter: str | None = None) -> PythonSet:
        """The package set of ``interpreter`` (default: the one ``python3`` points to); KeyError if none."""
        interpreter = interpreter or self.meta.python3
        if interpreter in self._preset_sets:
            return self._preset_sets[interpreter]
        if interpreter not in self._loaded:
            if interpreter not in self._sets:
                raise KeyError(interpreter)
            path = self.directory / self._sets[interpreter]
            packages: dict[str, NixPythonPackage] = {}
            try:
                with path.open(encoding="utf-8") as handle:
                    for line in handle:
                        attr, name, version, out_hash, store_name = line.rstrip("\n").split("\t")
                        packages[attr] = NixPythonPackage(attr, name, version, out_hash, store_name)
            except (OSError, ValueError) as err:
                raise SnapshotError(f"cannot read {path}: {err}") from None
            edges: dict[str, tuple[str, ...]] = {}
            edge_path = path.with_suffix(".edges.tsv")
            if edge_path.exists():
                for line in edge_path.read_text(encoding="utf-8").splitlines():
                    attr, _, deps = line.partition("\t")
                    edges[attr] = tuple(d for d in deps.split(",") if d)
            self._loaded[interpreter] = PythonSet.build(interpreter, self.interpreters[interpreter], packages, edges)
        return self._loaded[interpreter]

    @cached_property
    def _native(self) -> dict[str, NativePackage]:
        if self._preset_native is not None:
            return self._preset_native
        out: dict[str, NativePackage] = {}
        path = self.directory / NATIVE_FILE
        try:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    attr, out_hash, store_name = line.rstrip("\n").split("\t")
                    out[attr] = NativePackage(attr, store_name, out_hash)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise SnapshotError(f"cannot read {path}: {err}") from None
        return out

    def native(self, attr: str) -> NativePackage | None:
        return self._native.get(attr)

    def has_native(self, attr: str) -> bool:
        return attr in self._native

    def native_attrs(self) -> list[str]:
        return sorted(self._native)

    @cached_property
    def _pnames(self) -> frozenset[str]:
        return frozenset(_PNAME.sub("", n.store_name) for n in self._native.values())

    def knows_toplevel(self, attr: str) -> bool:
        """Is ``attr`` (its first component: ``libpq.pg_config`` → ``libpq``) a top-level nixpkgs package?

        nix-index lists each store path under one attribute only, so an attribute that shares its path with
        another (``openssl``, ``pkg-config``) is recognised by the package name in store names instead.
        """
        if not self._native:
            return True  # a snapshot without top-level data (evaluated Python set only) cannot tell
        head = attr.split(".", 1)[0]
        return head in self._native or head in self._pnames

    # -- writing --------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, meta: SnapshotMeta, interpreters: Mapping[str, str], sets: Mapping[str, PythonSet],
                   native: Mapping[str, NativePackage]) -> Snapshot:
        snap = cls(Path("."), meta, interpreters, {i: f"{s.packages_attr}.tsv" for i, s in sets.items()})
        snap._preset_sets = dict(sets)
        snap._preset_native = dict(native)
        return snap

    def save(self, directory: Path) -> None:
        """Write the snapshot as sorted text; the same content always gives the same bytes."""
        for interpreter in sorted(self._sets):
            pyset = self.python_set(interpreter)
            rows = (f"{p.attr}\t{p.pypi_name}\t{p.version}\t{p.out_hash}\t{p.store_name}\n"
                    for p in sorted(pyset.packages.values(), key=lambda p: p.attr))
            write_atomic(directory / self._sets[interpreter], "".join(rows))
            if pyset.edges:
                edge_rows = "".join(f"{a}\t{','.join(d)}\n" for a, d in sorted(pyset.edges.items()))
                write_atomic((directory / self._sets[interpreter]).with_suffix(".edges.tsv"), edge_rows)
        native = "".join(f"{n.attr}\t{n.out_hash}\t{n.store_name}\n" for n in sorted(
            self._native.values(), key=lambda n: n.attr))
        write_atomic(directory / NATIVE_FILE, native)
        meta = {"meta": asdict(self.meta), "interpreters": dict(sorted(self.interpreters.items())),
                "sets": dict(sorted(self._sets.items()))}
        write_atomic(directory / META_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")


@lru_cache(maxsize=8)
def _load(directory: Path) -> Snapshot:
    return Snapshot.read(directory)
