"""A nixpkgs snapshot: per Python package set, attr → distribution, version and out path; plus interpreters
and the top-level attributes beside them (native libraries and tools).

On disk (a directory, e.g. the embedded ``nixgen/nixpkgs/data/``), all plain sorted text:

- ``snapshot.json``: provenance (:class:`SnapshotMeta`), the interpreters, which set is in which file, counts;
- ``<interpreter>Packages.tsv``, one per package set: ``attr, pypi_name, version, out_hash, store_name``;
- ``<interpreter>Packages.edges.tsv`` (only from ``nix eval``): ``attr, comma-separated attrs``;
- ``native.tsv``: ``attr, out_hash, store_name, provides`` for every top-level attr with an ``out`` output,
  ``provides`` listing what any of its outputs holds: ``include`` (an ``include/`` directory), ``lib``
  (shared objects in ``lib/``), ``pkgconfig`` (a ``lib/pkgconfig/`` or ``share/pkgconfig/`` directory).

Loading reads ``snapshot.json`` only; a package set is read when first asked for, ``native.tsv`` likewise.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from packaging.utils import canonicalize_name

from nixgen.errors import SnapshotError
from nixgen.fsutil import write_atomic

DATA = Path(__file__).parent / "data"
"""The embedded default snapshot."""
FORMAT = 1
META_FILE = "snapshot.json"
NATIVE_FILE = "native.tsv"
EDGES_SUFFIX = ".edges.tsv"
LIBRARY_KINDS = ("include", "lib", "pkgconfig")

_PNAME = re.compile(r"-\d.*$")  # "openssl-3.6.1" -> "openssl"
_SET_FILE = re.compile(r"^python\d+Packages\.tsv$")


@dataclass(frozen=True)
class NixPythonPackage:
    """One attribute of a Python package set and the distribution it installs."""

    attr: str  # inside the package set, e.g. "cartopy"
    pypi_name: str  # PEP 503-normalized name from the .dist-info (or .egg-info) directory
    version: str  # the distribution's version from that directory's name
    out_hash: str  # the store path hash of the "out" output
    store_name: str  # e.g. "python3.13-cartopy-0.25.0"

    @property
    def out_path(self) -> str:
        """The store path of the "out" output."""
        return f"/nix/store/{self.out_hash}-{self.store_name}"


@dataclass(frozen=True)
class NativePackage:
    """A top-level attribute with an ``out`` output (gdal, geos, libsodium, cmake, …)."""

    attr: str
    store_name: str
    out_hash: str
    provides: tuple[str, ...] = ()  # of LIBRARY_KINDS, found in any of the attr's outputs

    @property
    def is_library(self) -> bool:
        """Does some output hold headers, shared objects or pkg-config files?"""
        return bool(self.provides)


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
    glibc_version: str | None  # "2.42", from the glibc store name
    python3: str  # the interpreter attr python3 points to, e.g. "python313"


def _canonical(attr: str, name: str) -> tuple[int, int, str]:
    """Sort key choosing the attr that stands for a distribution: its own name, then shortest, then a-z."""
    return (0 if canonicalize_name(attr) == name else 1, len(attr), attr)


class _Packages(Mapping[str, NixPythonPackage]):
    """attr → package, made from parsed TSV rows when first looked up (loading stays cheap)."""

    __slots__ = ("_made", "_rows")

    def __init__(self, rows: dict[str, list[str]]) -> None:
        self._rows = rows
        self._made: dict[str, NixPythonPackage] = {}

    def __getitem__(self, attr: str) -> NixPythonPackage:
        pkg = self._made.get(attr)
        if pkg is None:
            pkg = self._made[attr] = NixPythonPackage(*self._rows[attr])
        return pkg

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, attr: object) -> bool:
        return attr in self._rows


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """PyPI name → attrs installing it, canonical attr first (see :func:`_canonical`)."""
    groups: dict[str, tuple[str, ...]] = {}
    for attr, name in pairs:
        had = groups.get(name)
        groups[name] = (attr,) if had is None else (*had, attr)
    for name, attrs in groups.items():
        if len(attrs) > 1:
            groups[name] = tuple(sorted(attrs, key=lambda a, n=name: _canonical(a, n)))  # type: ignore[misc]
    return groups


@dataclass(frozen=True)
class PythonSet:
    """One interpreter's package set (``python313Packages``), keyed by attr and by PyPI name."""

    interpreter: str  # "python313"
    packages_attr: str  # "python313Packages"
    python_version: str  # "3.13.12"
    packages: Mapping[str, NixPythonPackage]  # by attr
    _by_name: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    # Exact dependency edges (attr -> attrs it is built with), when the snapshot came from evaluating nixpkgs.
    edges: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, interpreter: str, python_version: str, packages: Mapping[str, NixPythonPackage],
              edges: Mapping[str, tuple[str, ...]] | None = None) -> PythonSet:
        """A set from its packages (any mapping attr → package)."""
        by_name = _group((p.attr, p.pypi_name) for p in packages.values())
        return cls(interpreter, f"{interpreter}Packages", python_version, packages, by_name, dict(edges or {}))

    def by_pypi_name(self, name: str) -> NixPythonPackage | None:
        """The attribute that stands for the distribution ``name`` (any spelling; PEP 503).

        Of several attrs installing it: the one whose name normalizes to it, else the shortest, else a-z.
        """
        found = self._by_name.get(canonicalize_name(name))
        return self.packages[found[0]] if found else None

    def attrs_for(self, name: str) -> list[NixPythonPackage]:
        """Every attribute installing the distribution ``name``, the canonical one first."""
        return [self.packages[a] for a in self._by_name.get(canonicalize_name(name), ())]


class Snapshot:
    """A nixpkgs snapshot; package sets and native attrs are read from disk when first asked for."""

    def __init__(self, directory: Path | None, meta: SnapshotMeta, interpreters: Mapping[str, str],
                 sets: Mapping[str, str]) -> None:
        self.directory = directory
        self.meta = meta
        self.interpreters: Mapping[str, str] = dict(interpreters)  # "python311" -> "3.11.15", …
        self._sets = dict(sets)  # interpreter -> TSV file name
        self._loaded: dict[str, PythonSet] = {}
        self._native_rows: dict[str, list[str]] | None = None
        self._native_made: dict[str, NativePackage] = {}
        self._pnames: frozenset[str] | None = None

    # -- reading ----------------------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: Path | None = None) -> Snapshot:
        """The snapshot in ``directory`` (default: the embedded one).

        Reads ``snapshot.json`` only; package sets and ``native.tsv`` are read when first asked for. The
        caller keeps the object for the run (see :class:`nixgen.session.Session`): nothing is cached here.
        """
        return cls.read((directory or DATA).resolve())

    def digest(self) -> str:
        """sha256 of ``snapshot.json`` (provenance, the source database's sha256, the files and their counts):
        what a lock records to say which snapshot it was made with."""
        import hashlib

        if self.directory is None:
            return ""
        try:
            return hashlib.sha256((self.directory / META_FILE).read_bytes()).hexdigest()
        except OSError as err:
            raise SnapshotError(f"cannot read {self.directory / META_FILE}: {err.strerror or err}") from None

    @classmethod
    def read(cls, directory: Path) -> Snapshot:
        """The snapshot in ``directory``, read now (not cached)."""
        path = directory / META_FILE
        try:
            data = json.loads(path.read_bytes())
            if data.get("format", FORMAT) != FORMAT:
                raise SnapshotError(f"{path} has snapshot format {data['format']}; this nixgen reads {FORMAT}",
                                    hint="regenerate the snapshot with this nixgen")
            meta = SnapshotMeta(**data["meta"])
            return cls(directory, meta, data["interpreters"], data["sets"])
        except FileNotFoundError:
            raise SnapshotError(f"no nixpkgs snapshot in {directory} (missing {META_FILE})",
                                hint="make one with `nixgen nixpkgs import-nix-index`") from None
        except OSError as err:
            raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise SnapshotError(f"{path} is malformed: {err}") from None

    @property
    def package_sets(self) -> list[str]:
        """The interpreters that have a package set in the snapshot (``python313``, …)."""
        return sorted(self._sets)

    def has_python_set(self, interpreter: str) -> bool:
        return interpreter in self._sets

    def python_set(self, interpreter: str | None = None) -> PythonSet:
        """The package set of ``interpreter`` (default: the one ``python3`` points to); KeyError if none."""
        interpreter = interpreter or self.meta.python3
        pyset = self._loaded.get(interpreter)
        if pyset is None:
            if interpreter not in self._sets or self.directory is None:
                raise KeyError(interpreter)
            pyset = self._loaded[interpreter] = self._read_set(interpreter, self.directory / self._sets[interpreter])
        return pyset

    def _read_set(self, interpreter: str, path: Path) -> PythonSet:
        rows: dict[str, list[str]] = {}
        try:
            text = path.read_text(encoding="utf-8")
            for line in text.splitlines():
                row = line.split("\t")
                if len(row) != 5:
                    raise ValueError(f"line {len(rows) + 1} has {len(row)} fields, not 5")
                rows[row[0]] = row
            edges: dict[str, tuple[str, ...]] = {}
            edge_path = path.with_suffix(EDGES_SUFFIX)
            if edge_path.exists():
                for line in edge_path.read_text(encoding="utf-8").splitlines():
                    attr, _, deps = line.partition("\t")
                    edges[attr] = tuple(d for d in deps.split(",") if d)
        except OSError as err:
            raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None
        except ValueError as err:
            raise SnapshotError(f"{path} is malformed: {err}") from None
        by_name = _group((attr, row[1]) for attr, row in rows.items())
        return PythonSet(interpreter, f"{interpreter}Packages", self.interpreters.get(interpreter, ""),
                         _Packages(rows), by_name, edges)

    def _native(self) -> dict[str, list[str]]:
        if self._native_rows is None:
            self._native_rows = {}
            if self.directory is not None:
                path = self.directory / NATIVE_FILE
                try:
                    text = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    text = ""
                except OSError as err:
                    raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None
                for line in text.splitlines():
                    row = line.split("\t")
                    if len(row) not in (3, 4):
                        raise SnapshotError(f"{path} is malformed: a line with {len(row)} fields: {line[:80]!r}")
                    self._native_rows[row[0]] = row
        return self._native_rows

    def native(self, attr: str) -> NativePackage | None:
        """The top-level attribute ``attr`` (its ``out`` path and what its outputs provide), if present."""
        pkg = self._native_made.get(attr)
        if pkg is None:
            row = self._native().get(attr)
            if row is None:
                return None
            provides = tuple(row[3].split(",")) if len(row) > 3 and row[3] else ()
            pkg = self._native_made[attr] = NativePackage(row[0], row[2], row[1], provides)
        return pkg

    def has_native(self, attr: str) -> bool:
        """Is ``attr`` a top-level attribute with an ``out`` path in the snapshot?"""
        return attr in self._native()

    def native_attrs(self, *, libraries: bool = False) -> list[str]:
        """Top-level attrs, sorted; ``libraries``: only those providing headers, shared objects or .pc files."""
        rows = self._native()
        if libraries:
            return sorted(a for a, r in rows.items() if len(r) > 3 and r[3])
        return sorted(rows)

    def knows_toplevel(self, attr: str) -> bool:
        """Is ``attr`` (its first component: ``libpq.pg_config`` → ``libpq``) a top-level nixpkgs package?

        nix-index lists each store path under one attribute only, so an attribute that shares its path with
        another (``openssl``, ``pkg-config``) is recognised by the package name in store names instead.
        """
        rows = self._native()
        if not rows:
            return True  # a snapshot without top-level data (evaluated Python set only) cannot tell
        head = attr.split(".", 1)[0]
        if head in rows:
            return True
        if self._pnames is None:
            self._pnames = frozenset(_PNAME.sub("", r[2]) for r in rows.values())
        return head in self._pnames

    # -- writing ----------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, meta: SnapshotMeta, interpreters: Mapping[str, str], sets: Mapping[str, PythonSet],
                   native: Mapping[str, NativePackage]) -> Snapshot:
        """An in-memory snapshot (what an importer builds, before :meth:`save`)."""
        snap = cls(None, meta, interpreters, {i: f"{s.packages_attr}.tsv" for i, s in sets.items()})
        snap._loaded = dict(sets)
        snap._native_rows = {a: [a, n.out_hash, n.store_name, ",".join(n.provides)] for a, n in native.items()}
        return snap

    def save(self, directory: Path) -> None:
        """Write the snapshot as sorted text, each file atomically; the same content gives the same bytes.

        ``snapshot.json`` is written last, so a reader never sees it name files that are not there yet.
        """
        counts: dict[str, int] = {}
        for interpreter in sorted(self._sets):
            pyset = self.python_set(interpreter)
            name = self._sets[interpreter]
            rows = (f"{p.attr}\t{p.pypi_name}\t{p.version}\t{p.out_hash}\t{p.store_name}\n"
                    for p in (pyset.packages[a] for a in sorted(pyset.packages)))
            write_atomic(directory / name, "".join(rows))
            edge_path = (directory / name).with_suffix(EDGES_SUFFIX)
            if pyset.edges:
                write_atomic(edge_path, "".join(f"{a}\t{','.join(d)}\n" for a, d in sorted(pyset.edges.items())))
            elif edge_path.exists():
                edge_path.unlink()
            counts[pyset.packages_attr] = len(pyset.packages)
        native = self._native()
        write_atomic(directory / NATIVE_FILE, "".join(
            "\t".join((a, r[1], r[2], r[3] if len(r) > 3 else "")) + "\n" for a, r in sorted(native.items())))
        counts["native"] = len(native)
        counts["native_libraries"] = sum(1 for r in native.values() if len(r) > 3 and r[3])
        data = {"format": FORMAT, "meta": asdict(self.meta), "interpreters": dict(sorted(self.interpreters.items())),
                "sets": dict(sorted(self._sets.items())), "counts": counts}
        write_atomic(directory / META_FILE, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        # Package sets an earlier snapshot in this directory had and this one has not.
        keep = set(self._sets.values())
        for stale in directory.iterdir():
            base = stale.name.removesuffix(EDGES_SUFFIX).removesuffix(".tsv") + ".tsv"
            if _SET_FILE.match(base) and base not in keep:
                stale.unlink()


# -- building from a nix-index database ------------------------------------------------------------------

class IndexedStorePath(Protocol):
    """What :func:`build_snapshot` needs of a store path (``nixgen.nixpkgs.nixindex.StorePath`` has it)."""

    @property
    def attr(self) -> str: ...
    @property
    def output(self) -> str: ...
    @property
    def toplevel(self) -> bool: ...
    @property
    def hash(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def system(self) -> str: ...
    def paths(self) -> list[bytes]: ...


_SET_ATTR = re.compile(r"^(python(\d)(\d+))Packages\.([^.]+)$")  # python313Packages.numpy
_INTERPRETER_ATTR = re.compile(r"^python(\d)(\d+)$")  # python313 (not python3, python313FreeThreading)
_INTERPRETER_NAME = re.compile(r"^python(\d)-((\d)\.(\d+)\.\d+\w*)$")  # python3-3.13.12, python3-3.15.0a7
_MINIMAL_NAME = re.compile(r"^python(\d)-minimal-((\d)\.(\d+)\.\d+\w*)$")  # python3-minimal-3.13.12
_GLIBC_NAME = re.compile(r"^glibc-(\d+\.\d+)(?:[.-]\d+)*$")  # glibc-2.42-51
_INFO_DIR = re.compile(rb"^/lib/python(\d+\.\d+)/site-packages/([^/]+)\.(dist-info|egg-info)$")
_SHARED_OBJECT = re.compile(rb"\n/lib(?:64)?/[^/\n]+\.so(?:\.[^/\n]*)?\n")
_STORE_VERSION = re.compile(r"-(\d[^-]*)")
_NOT_NATIVE = re.compile(r"^python\d*$")  # the interpreters: known through `interpreters`


def _info_dist(stem: str, kind: bytes) -> tuple[str, str]:
    """(name, version) from a ``.dist-info`` (``name-version``; PEP 376/427) or ``.egg-info`` directory stem
    (``name-version-pyX.Y``, ``name-version`` or ``name``); version ``""`` when the name has none."""
    if kind == b"dist-info":
        name, _, version = stem.rpartition("-")
        return (name, version) if name else (stem, "")
    parts = stem.split("-")
    return parts[0], parts[1] if len(parts) > 1 and not parts[1].startswith("py") else ""


def _store_version(store_name: str) -> str:
    """The version in a store name: ``python3.13-pyside6-6.10.0`` → ``6.10.0`` (first ``-<digit>`` part on)."""
    rest = re.sub(r"^python\d+\.\d+-", "", store_name)
    match = _STORE_VERSION.search(rest)
    return rest[match.start() + 1:] if match else ""


def _store_pname(store_name: str) -> str:
    rest = re.sub(r"^python\d+\.\d+-", "", store_name)
    match = _STORE_VERSION.search(rest)
    return rest[:match.start()] if match else rest


def python_distribution(attr: str, store_name: str, python: str,
                        paths: Iterable[bytes]) -> tuple[str, str] | None:
    """The distribution (PEP 503 name, version) an attr's ``out`` path installs for Python ``python`` ("3.13").

    It is named by a ``lib/pythonX.Y/site-packages/<name>-<version>.dist-info`` (or ``.egg-info``) entry. Of
    several: the one named like the attr, else like the store name's package name, else the shortest name.
    """
    found: dict[str, str] = {}
    for path in paths:
        match = _INFO_DIR.match(path)
        if match and match.group(1).decode() == python:
            name, version = _info_dist(match.group(2).decode("utf-8", "replace"), match.group(3))
            if name:
                found.setdefault(canonicalize_name(name), version)
    if not found:
        return None
    own, pname = canonicalize_name(attr), canonicalize_name(_store_pname(store_name))
    name = min(found, key=lambda n: (n != own, n != pname, len(n), n))
    return name, found[name] or _store_version(store_name)


def library_kinds(paths: Iterable[bytes]) -> set[str]:
    """Which of :data:`LIBRARY_KINDS` a store path provides, from its file paths: ``include`` for an
    ``/include``, ``lib`` for a shared object directly in ``/lib`` (or ``/lib64``), ``pkgconfig`` for a
    ``/lib/pkgconfig`` or ``/share/pkgconfig``."""
    text = b"\n" + b"\n".join(paths) + b"\n"  # one buffer: substring searches instead of a loop per path
    kinds: set[str] = set()
    if b"\n/include\n" in text:
        kinds.add("include")
    if _SHARED_OBJECT.search(text):
        kinds.add("lib")
    if b"\n/lib/pkgconfig\n" in text or b"\n/share/pkgconfig\n" in text:
        kinds.add("pkgconfig")
    return kinds


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def build_snapshot(entries: Iterable[IndexedStorePath], *, source: str, source_sha256: str, generated_from: str,
                   nixpkgs_rev: str, nixpkgs_rev_note: str, nar_hash: str, last_modified: int,
                   python3: str | None = None, progress: Callable[[int], None] | None = None) -> Snapshot:
    """A snapshot from the store paths of a nix-index database (in memory; :meth:`Snapshot.save` writes it).

    - Package sets: every ``pythonXYPackages.<attr>`` with a top-level ``out`` path that installs a
      distribution (:func:`python_distribution`).
    - Interpreters: the version in the store name of each ``pythonXY`` attr's ``out`` path.
    - ``python3``: given; else the ``pythonXY`` that the ``python3`` attr's out path is (same hash, else same
      version); else the version of ``python3Minimal`` (nixpkgs builds it from python3's sources); else the
      largest package set. nix-index files each store path under one attr only, so ``python3`` (and the
      ``pythonXY`` it is) may be missing, listed under another attr.
    - Native: every top-level attr (no dot) with a top-level ``out`` path, and what any of its outputs
      provides (:func:`library_kinds`).
    """
    sets: dict[str, dict[str, NixPythonPackage]] = {}
    interpreters: dict[str, str] = {}  # python313 -> 3.13.12, from the attrs' own store paths
    interpreter_hashes: dict[str, str] = {}
    python3_path: tuple[str, str] | None = None  # (hash, version) of the python3 attr
    minimal: str | None = None
    seen_versions: dict[str, Counter[str]] = {}  # "3.13" -> versions in python3-3.13.x store names
    glibc: Counter[str] = Counter()
    systems: Counter[str] = Counter()
    native: dict[str, tuple[str, str]] = {}  # attr -> (out hash, store name)
    provides: dict[str, set[str]] = {}
    for count, sp in enumerate(entries):
        if progress is not None and count % 10000 == 0:
            progress(count)
        if not sp.toplevel:
            continue
        attr, out = sp.attr, sp.output == "out"
        if sp.system:
            systems[sp.system] += 1
        match = _SET_ATTR.match(attr)
        if match:
            if out:
                python = f"{match.group(2)}.{match.group(3)}"
                dist = python_distribution(match.group(4), sp.name, python, sp.paths())
                if dist is not None:
                    sets.setdefault(match.group(1), {})[match.group(4)] = NixPythonPackage(
                        match.group(4), dist[0], dist[1], sp.hash, sp.name)
            continue
        name = _INTERPRETER_NAME.match(sp.name) if out else None
        if name:  # an interpreter's out path, whatever attr nix-index filed it under
            seen_versions.setdefault(f"{name.group(3)}.{name.group(4)}", Counter())[name.group(2)] += 1
        if "." in attr:
            continue
        if out:
            if name and _INTERPRETER_ATTR.match(attr):
                interpreters[attr], interpreter_hashes[attr] = name.group(2), sp.hash
            elif name and attr == f"python{name.group(1)}":
                python3_path = (sp.hash, name.group(2))
            elif attr == "python3Minimal" and (small := _MINIMAL_NAME.match(sp.name)):
                minimal = small.group(2)
            glibc_name = _GLIBC_NAME.match(sp.name)
            if glibc_name and attr.startswith("glibc"):
                glibc[glibc_name.group(1)] += 3 if attr == "glibc" else 1
            if not _NOT_NATIVE.match(attr):
                native[attr] = (sp.hash, sp.name)
        kinds = library_kinds(sp.paths())
        if kinds:
            provides.setdefault(attr, set()).update(kinds)

    # python3, and the interpreter it is when nix-index filed that interpreter under another attr.
    if python3 is None and python3_path is not None:
        python3 = next((i for i, h in interpreter_hashes.items() if h == python3_path[0]), None)
        if python3 is None:
            python3 = "python" + _minor(python3_path[1]).replace(".", "")
            interpreters.setdefault(python3, python3_path[1])
    if python3 is None and minimal is not None:
        python3 = "python" + _minor(minimal).replace(".", "")
        interpreters.setdefault(python3, minimal)
    if python3 is None and sets:
        python3 = max(sets, key=lambda i: (len(sets[i]), i))
    if python3 is None:
        raise SnapshotError("the database has no pythonXYPackages attributes and no python3: not a nixpkgs index?")
    # A set (or python3) whose interpreter attr is missing: the one version its store names show, if one.
    for interpreter in {*sets, python3} - set(interpreters):
        minor = re.sub(r"^python(\d)(\d+)$", r"\1.\2", interpreter)
        versions = seen_versions.get(minor, Counter())
        if len(versions) == 1:
            interpreters[interpreter] = next(iter(versions))
    missing = sorted({*sets, python3} - set(interpreters))
    if missing:
        raise SnapshotError(f"no interpreter version for {', '.join(missing)} in the database")
    meta = SnapshotMeta(
        source=source, source_sha256=source_sha256, generated_from=generated_from, nixpkgs_rev=nixpkgs_rev,
        nixpkgs_rev_note=nixpkgs_rev_note, nar_hash=nar_hash, last_modified=last_modified,
        system=systems.most_common(1)[0][0] if systems else "", glibc_version=max(glibc, key=lambda v: (
            glibc[v], v)) if glibc else None, python3=python3,
    )
    pysets = {i: PythonSet.build(i, interpreters[i], dict(sorted(pk.items()))) for i, pk in sorted(sets.items())}
    natives = {a: NativePackage(a, name, h, tuple(k for k in LIBRARY_KINDS if k in provides.get(a, ())))
               for a, (h, name) in sorted(native.items())}
    return Snapshot.from_parts(meta, dict(sorted(interpreters.items())), pysets, natives)
