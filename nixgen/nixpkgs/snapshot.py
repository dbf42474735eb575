"""A nixpkgs snapshot: per Nix system and Python package set, attr → distribution, version and out path; plus
interpreters and the top-level attributes beside them (native libraries and tools).

On disk (a directory, e.g. the embedded ``nixgen/nixpkgs/data/``), all plain sorted text (format 2):

- ``snapshot.json``: the format and the systems the snapshot has data for, each in a subdirectory named after it;
- ``<system>/system.json``: that system's provenance (:class:`SnapshotMeta`: source, its sha256, glibc version,
  the pinned revision), the interpreters, which set is in which file, counts;
- ``<system>/<interpreter>Packages.tsv``, one per package set: ``attr, pypi_name, version, out_hash, store_name``;
- ``<system>/<interpreter>Packages.edges.tsv`` (only from ``nix eval``): ``attr, comma-separated attrs``;
- ``<system>/native.tsv``: ``attr, out_hash, store_name, provides`` for every top-level attr with an ``out``
  output, ``provides`` listing what any of its outputs holds: ``include`` (an ``include/`` directory), ``lib``
  (shared objects in ``lib/``), ``pkgconfig`` (a ``lib/pkgconfig/`` or ``share/pkgconfig/`` directory).

Format 1 (one system: ``snapshot.json`` with the system's data and its files beside it) is still read.
Loading reads ``snapshot.json`` only; a system's ``system.json`` is read when that system is first asked for,
a package set likewise, ``native.tsv`` likewise. All systems of a snapshot pin one nixpkgs revision.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from packaging.utils import canonicalize_name

from nixgen.errors import SnapshotError
from nixgen.fsutil import write_atomic

DATA = Path(__file__).parent / "data"
"""The embedded default snapshot."""
FORMAT = 2
META_FILE = "snapshot.json"
SYSTEM_FILE = "system.json"
DEFAULT_SYSTEM = "x86_64-linux"  # what a format-1 snapshot without a system describes
# The order systems are listed in (the first one a snapshot has is its default); others follow a-z.
SYSTEM_ORDER = ("x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin")
NATIVE_FILE = "native.tsv"
EDGES_SUFFIX = ".edges.tsv"
LIBRARY_KINDS = ("include", "lib", "pkgconfig")

from nixgen.core.kinds import CacheFact  # noqa: E402  (re-exported for importers)

"""What a system's binary-cache data says of a package: listed, absent, or nothing (no data for the system)."""

_PNAME = re.compile(r"-\d")  # a store name's package name ends before its first "-<digit>": "openssl-3.6.1"
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

    @property
    def rows(self) -> dict[str, list[str]]:
        """The parsed TSV rows, by attr (the fields of :class:`NixPythonPackage`)."""
        return self._rows

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


def _group(pairs: Iterable[tuple[str, str]], into: Mapping[str, tuple[str, ...]] | None = None
           ) -> dict[str, tuple[str, ...]]:
    """PyPI name → attrs installing it, canonical attr first (see :func:`_canonical`): of ``pairs``
    (attr, name), added to a copy of ``into`` (groups made so before) when given."""
    groups: dict[str, tuple[str, ...]] = dict(into or {})
    grown: set[str] = set()
    for attr, name in pairs:
        had = groups.get(name)
        if had is None:
            groups[name] = (attr,)
        else:
            groups[name] = (*had, attr)
            grown.add(name)
    for name in grown:
        groups[name] = tuple(sorted(groups[name], key=lambda a, n=name: _canonical(a, n)))  # type: ignore[misc]
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

    def merged(self, base: PythonSet) -> PythonSet:
        """This set plus the attrs of ``base`` it lacks (this one's interpreter version and edges)."""
        if not isinstance(self.packages, _Packages) or not isinstance(base.packages, _Packages):
            packages = dict(self.packages)  # sets made in code: their packages are made already
            packages.update((a, base.packages[a]) for a in base.packages if a not in self.packages)
            return PythonSet.build(self.interpreter, self.python_version, packages, self.edges)
        rows = dict(self.packages.rows)  # read from the snapshot: packages are made as they are looked up
        added = [(a, r) for a, r in base.packages.rows.items() if a not in rows]
        rows.update(added)
        return PythonSet(self.interpreter, self.packages_attr, self.python_version, _Packages(rows),
                         _group(((a, r[1]) for a, r in added), into=self._by_name), self.edges)

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


class SystemSnapshot:
    """One Nix system's part of a snapshot; package sets and native attrs are read from disk when first asked
    for."""

    def __init__(self, directory: Path | None, meta: SnapshotMeta, interpreters: Mapping[str, str],
                 sets: Mapping[str, str]) -> None:
        self.directory = directory
        self.meta = meta
        self.interpreters: Mapping[str, str] = dict(interpreters)  # "python311" -> "3.11.15", …
        self._sets = dict(sets)  # interpreter -> TSV file name
        self._loaded: dict[str, PythonSet] = {}
        self._native_text = ""  # native.tsv as read (what knows_toplevel searches for store names)
        self._native_lines: dict[str, str] | None = None  # its lines by attr, split into fields when used
        self._native_made: dict[str, NativePackage] = {}
        self._pnames: dict[str, bool] = {}  # names asked of knows_toplevel -> found among store names

    @property
    def system(self) -> str:
        """The Nix system this part describes (``x86_64-linux``)."""
        return self.meta.system or DEFAULT_SYSTEM

    @property
    def glibc_version(self) -> str | None:
        """glibc's ``X.Y`` in this system's nixpkgs (``None``: unknown, or not a Linux system)."""
        return self.meta.glibc_version

    @classmethod
    def read(cls, directory: Path, file: str = SYSTEM_FILE) -> SystemSnapshot:
        """The system part in ``directory`` (its ``system.json``; a format-1 directory's ``snapshot.json``)."""
        path = directory / file
        try:
            data = json.loads(path.read_bytes())
            meta = SnapshotMeta(**data["meta"])
            if not meta.system:
                meta = replace(meta, system=DEFAULT_SYSTEM)
            return cls(directory, meta, data["interpreters"], data["sets"])
        except FileNotFoundError:
            raise SnapshotError(f"the nixpkgs snapshot lacks {path}",
                                hint="make it again with `nixgen nixpkgs import-nix-index`") from None
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

    def _native(self) -> dict[str, str]:
        """The lines of ``native.tsv`` by their first field, read once; :meth:`_row` splits one."""
        if self._native_lines is None:
            if self.directory is not None:
                path = self.directory / NATIVE_FILE
                try:
                    self._native_text = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    pass
                except OSError as err:
                    raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None
            self._native_lines = {line.partition("\t")[0]: line for line in self._native_text.splitlines()}
        return self._native_lines

    def _row(self, line: str) -> list[str]:
        """A line of ``native.tsv`` as its fields: attr, out hash, store name and (maybe) what it provides."""
        row = line.split("\t")
        if len(row) not in (3, 4):
            path = self.directory / NATIVE_FILE if self.directory is not None else NATIVE_FILE
            raise SnapshotError(f"{path} is malformed: a line with {len(row)} fields: {line[:80]!r}")
        return row

    def _native_rows(self) -> dict[str, list[str]]:
        return {attr: self._row(line) for attr, line in self._native().items()}

    def native(self, attr: str) -> NativePackage | None:
        """The top-level attribute ``attr`` (its ``out`` path and what its outputs provide), if present."""
        pkg = self._native_made.get(attr)
        if pkg is None:
            line = self._native().get(attr)
            if line is None:
                return None
            row = self._row(line)
            provides = tuple(row[3].split(",")) if len(row) > 3 and row[3] else ()
            pkg = self._native_made[attr] = NativePackage(row[0], row[2], row[1], provides)
        return pkg

    def has_native(self, attr: str) -> bool:
        """Is ``attr`` a top-level attribute with an ``out`` path in the snapshot?"""
        return attr in self._native()

    def native_attrs(self, *, libraries: bool = False) -> list[str]:
        """Top-level attrs, sorted; ``libraries``: only those providing headers, shared objects or .pc files."""
        if libraries:
            return sorted(a for a, r in self._native_rows().items() if len(r) > 3 and r[3])
        return sorted(self._native())

    def knows_toplevel(self, attr: str) -> bool:
        """Is ``attr`` (its first component: ``libpq.pg_config`` → ``libpq``) a top-level nixpkgs package?

        nix-index lists each store path under one attribute only, so an attribute that shares its path with
        another (``openssl``, ``pkg-config``) is recognised by the package name in store names instead.
        """
        lines = self._native()
        if not lines:
            return True  # a snapshot without top-level data (evaluated Python set only) cannot tell
        head = attr.split(".", 1)[0]
        if head in lines:
            return True
        known = self._pnames.get(head)
        if known is None:
            known = self._pnames[head] = self._is_package_name(head)
        return known

    def _is_package_name(self, name: str) -> bool:
        """Is ``name`` the package name of a store name in ``native.tsv`` (``openssl`` of ``openssl-3.6.1``)?

        The file's text is searched for it as a whole third field, alone or followed by ``-<digit>…``.
        """
        if _PNAME.search(name):
            return False  # a package name ends before the first "-<digit>"
        text = self._native_text
        for found in re.finditer("\t" + re.escape(name) + r"(?:-\d[^\t\r\n]*)?(?=[\t\r\n]|\Z)", text):
            start = found.start()
            if text.count("\t", text.rfind("\n", 0, start) + 1, start) == 1:  # the tab before the third field
                return True
        return False

    # -- writing ----------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, meta: SnapshotMeta, interpreters: Mapping[str, str], sets: Mapping[str, PythonSet],
                   native: Mapping[str, NativePackage]) -> SystemSnapshot:
        """An in-memory system part (what an importer builds, before it is saved)."""
        snap = cls(None, meta, interpreters, {i: f"{s.packages_attr}.tsv" for i, s in sets.items()})
        snap._loaded = dict(sets)
        snap._native_lines = {a: "\t".join((a, n.out_hash, n.store_name, ",".join(n.provides)))
                              for a, n in native.items()}
        snap._native_text = "\n".join(snap._native_lines.values())
        return snap

    def load_all(self) -> None:
        """Read every file of this part now (before its directory is written over)."""
        for interpreter in self._sets:
            self.python_set(interpreter)
        self._native_rows()  # every line split: a malformed one fails here, before anything is written

    def save(self, directory: Path) -> dict[str, int]:
        """Write this part into ``directory`` as sorted text, each file atomically; the same content gives the
        same bytes. ``system.json`` is written last, so a reader never sees it name files not there yet.
        Returns the counts it records."""
        self.load_all()
        directory.mkdir(parents=True, exist_ok=True)
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
        native = self._native_rows()
        write_atomic(directory / NATIVE_FILE, "".join(
            "\t".join((a, r[1], r[2], r[3] if len(r) > 3 else "")) + "\n" for a, r in sorted(native.items())))
        counts["native"] = len(native)
        counts["native_libraries"] = sum(1 for r in native.values() if len(r) > 3 and r[3])
        data = {"meta": asdict(self.meta), "interpreters": dict(sorted(self.interpreters.items())),
                "sets": dict(sorted(self._sets.items())), "counts": counts}
        write_atomic(directory / SYSTEM_FILE, _json(data))
        _drop_stale_sets(directory, set(self._sets.values()))
        return counts


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _drop_stale_sets(directory: Path, keep: set[str]) -> None:
    """Remove package-set files (and their edges) in ``directory`` that are not in ``keep``."""
    for stale in directory.iterdir():
        base = stale.name.removesuffix(EDGES_SUFFIX).removesuffix(".tsv") + ".tsv"
        if _SET_FILE.match(base) and base not in keep:
            stale.unlink()


def _system_key(system: str) -> tuple[int, str]:
    return (SYSTEM_ORDER.index(system) if system in SYSTEM_ORDER else len(SYSTEM_ORDER), system)


class Snapshot:
    """A nixpkgs snapshot: one :class:`SystemSnapshot` per Nix system it has data for, all of one nixpkgs
    revision. The accessors of a single system (``meta``, ``python_set``, ``native``, …) are the first
    system's (x86_64-linux when present)."""

    def __init__(self, directory: Path | None, parts: Mapping[str, SystemSnapshot | None]) -> None:
        if not parts:
            raise SnapshotError("a nixpkgs snapshot needs data for at least one system")
        self.directory = directory
        self._parts: dict[str, SystemSnapshot | None] = {s: parts[s] for s in sorted(parts, key=_system_key)}
        self._candidates: dict[tuple[str, str], PythonSet | None] = {}

    # -- reading ----------------------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: Path | None = None) -> Snapshot:
        """The snapshot in ``directory`` (default: the embedded one).

        Reads ``snapshot.json`` only; systems, package sets and ``native.tsv`` are read when first asked for.
        The caller keeps the object for the run (see :class:`nixgen.session.Session`): nothing is cached here.
        """
        return cls.read((directory or DATA).resolve())

    def digest(self) -> str:
        """sha256 over ``snapshot.json`` and each system's ``system.json`` (provenance, the source database's
        sha256, the files and their counts): what a lock records to say which snapshot it was made with."""
        import hashlib

        if self.directory is None:
            return ""
        digest = hashlib.sha256()
        files = [self.directory / META_FILE]
        files += [self.directory / s / SYSTEM_FILE for s in self.systems
                  if (self.directory / s / SYSTEM_FILE).is_file()]
        for path in files:
            try:
                digest.update(path.relative_to(self.directory).as_posix().encode() + b"\0" + path.read_bytes())
            except OSError as err:
                raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None
        return digest.hexdigest()

    @classmethod
    def read(cls, directory: Path) -> Snapshot:
        """The snapshot in ``directory``, read now (not cached); format 1 is read as its one system."""
        path = directory / META_FILE
        try:
            data = json.loads(path.read_bytes())
            version = data.get("format", 1)
            if version == 1:
                part = SystemSnapshot.read(directory, META_FILE)
                return cls(directory, {part.system: part})
            if version != FORMAT:
                raise SnapshotError(f"{path} has snapshot format {version}; this nixgen reads 1 and {FORMAT}",
                                    hint="regenerate the snapshot with this nixgen")
            systems = data["systems"]
            if not isinstance(systems, list) or not all(isinstance(s, str) and _SYSTEM.match(s) for s in systems):
                raise ValueError(f"'systems' is not a list of Nix systems: {systems!r}")
            return cls(directory, dict.fromkeys(systems))
        except FileNotFoundError:
            raise SnapshotError(f"no nixpkgs snapshot in {directory} (missing {META_FILE})",
                                hint="make one with `nixgen nixpkgs import-nix-index`") from None
        except OSError as err:
            raise SnapshotError(f"cannot read {path}: {err.strerror or err}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise SnapshotError(f"{path} is malformed: {err}") from None

    @property
    def systems(self) -> list[str]:
        """The Nix systems the snapshot has data for, the default one first."""
        return list(self._parts)

    def for_system(self, system: str) -> SystemSnapshot | None:
        """``system``'s data (read when first asked for); ``None`` where the snapshot has none (darwin)."""
        if system not in self._parts:
            return None
        part = self._parts[system]
        if part is None:
            assert self.directory is not None
            part = self._parts[system] = SystemSnapshot.read(self.directory / system)
            if part.system != system:
                raise SnapshotError(f"{self.directory / system / SYSTEM_FILE} describes {part.system}, not {system}",
                                    hint="regenerate the snapshot with `nixgen nixpkgs import-nix-index`")
        return part

    @property
    def default(self) -> SystemSnapshot:
        """The first system's data."""
        part = self.for_system(self.systems[0])
        assert part is not None
        return part

    def candidate_set(self, system: str, interpreter: str) -> PythonSet | None:
        """The nixpkgs packages to resolve with on ``system``: its own set, plus the attrs of the first
        system's set it lacks (nixpkgs has them there too, at the same revision; its binary cache does not);
        the first system's set where ``system`` has no data. ``None``: no system has this set.
        """
        key = (system, interpreter)
        if key in self._candidates:
            return self._candidates[key]
        part, first = self.for_system(system), self.default
        try:
            base = first.python_set(interpreter)
        except KeyError:
            base = None
        if part is None or part is first:
            found = base
        else:
            try:
                own: PythonSet | None = part.python_set(interpreter)
            except KeyError:
                own = None
            found = own.merged(base) if own is not None and base is not None else own or base
        self._candidates[key] = found
        return found

    def cache_fact(self, system: str, interpreter: str, attr: str) -> CacheFact:
        """Does ``system``'s binary-cache data list ``attr`` of ``interpreter``'s set: ``listed``, ``absent``,
        or ``no-data`` (nothing is known of ``system``'s cache, e.g. darwin).

        An attr outside the set is looked up among the top-level attrs: nixpkgs builds some Python modules
        as the native package itself (gdal's is ``toPythonModule`` of ``pkgs.gdal``).
        """
        part = self.for_system(system)
        if part is None:
            return "no-data"
        listed = part.has_python_set(interpreter) and attr in part.python_set(interpreter).packages
        return "listed" if listed or part.has_native(attr) else "absent"

    # The first system's data, for callers that know one system only.
    @property
    def meta(self) -> SnapshotMeta:
        return self.default.meta

    @meta.setter
    def meta(self, value: SnapshotMeta) -> None:
        self.default.meta = value

    @property
    def interpreters(self) -> Mapping[str, str]:
        return self.default.interpreters

    @property
    def package_sets(self) -> list[str]:
        return self.default.package_sets

    def has_python_set(self, interpreter: str) -> bool:
        return self.default.has_python_set(interpreter)

    def python_set(self, interpreter: str | None = None) -> PythonSet:
        return self.default.python_set(interpreter)

    def native(self, attr: str) -> NativePackage | None:
        return self.default.native(attr)

    def has_native(self, attr: str) -> bool:
        return self.default.has_native(attr)

    def native_attrs(self, *, libraries: bool = False) -> list[str]:
        return self.default.native_attrs(libraries=libraries)

    def knows_toplevel(self, attr: str) -> bool:
        return self.default.knows_toplevel(attr)

    # -- writing ----------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, meta: SnapshotMeta, interpreters: Mapping[str, str], sets: Mapping[str, PythonSet],
                   native: Mapping[str, NativePackage]) -> Snapshot:
        """An in-memory snapshot of one system, ``meta.system`` (what an importer builds, before :meth:`save`)."""
        part = SystemSnapshot.from_parts(meta, interpreters, sets, native)
        return cls(None, {part.system: part})

    def with_system(self, part: SystemSnapshot) -> Snapshot:
        """This snapshot with ``part`` added, or replacing the data of its system.

        All systems pin one nixpkgs revision: a part of another revision is a :class:`SnapshotError`.
        """
        for system in self.systems:
            if system == part.system:
                continue
            other = self.for_system(system)
            assert other is not None
            if (other.meta.nixpkgs_rev, other.meta.nar_hash) != (part.meta.nixpkgs_rev, part.meta.nar_hash):
                raise SnapshotError(
                    f"the snapshot's {system} data pins nixpkgs {other.meta.nixpkgs_rev}, the new {part.system} "
                    f"data {part.meta.nixpkgs_rev}: one snapshot pins one revision",
                    hint="import databases of the same release with the same --rev/--nar-hash, "
                         "or write to another directory")
        parts: dict[str, SystemSnapshot | None] = {s: self.for_system(s) for s in self.systems}
        parts[part.system] = part
        return Snapshot(self.directory, parts)

    def save(self, directory: Path) -> None:
        """Write every system's part into ``directory/<system>/`` and then ``snapshot.json``; sorted text,
        the same content gives the same bytes. Files of a format-1 snapshot there are removed."""
        parts = [self.for_system(s) for s in self.systems]
        for part in parts:
            assert part is not None
            part.load_all()  # read everything before anything in the directory is written over
        directory.mkdir(parents=True, exist_ok=True)
        for part in parts:
            assert part is not None
            part.save(directory / part.system)
            part.directory = directory / part.system
        write_atomic(directory / META_FILE, _json({"format": FORMAT, "systems": self.systems}))
        self.directory = directory
        _drop_stale_sets(directory, set())
        (directory / NATIVE_FILE).unlink(missing_ok=True)


_SYSTEM = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+$")


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
MAJORITY = 0.9  # the share of store paths naming the system a database describes (the rest: multilib builds)
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
    - System: the one the package entries name (``origin.system``). A few may name another: x86_64-linux's
      database holds the i686-linux builds it offers (``zsnes``, ``driversi686Linux``), kept as its own; a
      database where no system has :data:`MAJORITY` of the entries is an error.
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
        if sp.system:
            systems[sp.system] += 1
        if not sp.toplevel:
            continue
        attr, out = sp.attr, sp.output == "out"
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
            if glibc_name:  # aarch64-linux's database files glibc's out path under iconv
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
    host = systems.most_common(1)[0][0] if systems else ""
    if systems and systems[host] < MAJORITY * systems.total():
        mixed = ", ".join(f"{s} ({n} store paths)" for s, n in sorted(systems.items()))
        raise SnapshotError(f"the database mixes systems: {mixed}; a snapshot keeps each system's data apart",
                            hint="import one nix-index database per system")
    missing = sorted({*sets, python3} - set(interpreters))
    if missing:
        raise SnapshotError(f"no interpreter version for {', '.join(missing)} in the database")
    meta = SnapshotMeta(
        source=source, source_sha256=source_sha256, generated_from=generated_from, nixpkgs_rev=nixpkgs_rev,
        nixpkgs_rev_note=nixpkgs_rev_note, nar_hash=nar_hash, last_modified=last_modified,
        system=host, glibc_version=max(glibc, key=lambda v: (
            glibc[v], v)) if glibc else None, python3=python3,
    )
    pysets = {i: PythonSet.build(i, interpreters[i], dict(sorted(pk.items()))) for i, pk in sorted(sets.items())}
    natives = {a: NativePackage(a, name, h, tuple(k for k in LIBRARY_KINDS if k in provides.get(a, ())))
               for a, (h, name) in sorted(native.items())}
    return Snapshot.from_parts(meta, dict(sorted(interpreters.items())), pysets, natives)
