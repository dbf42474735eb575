"""What a run reads once, at the CLI edge, and passes on explicitly: the nixpkgs snapshot and the override data,
with the references a lock records for them. Nothing here is cached between sessions."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nixgen.errors import OverrideError
from nixgen.lock.model import OverrideFile, OverridesRef, SnapshotRef
from nixgen.nixpkgs.snapshot import DATA, Snapshot
from nixgen.overrides import Overrides, data_directory, load_overrides


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise OverrideError(f"no such overrides file: {path}") from None
    except OSError as err:
        raise OverrideError(f"cannot read the overrides file {path}: {err.strerror or err}") from None


def curated_digest(directory: Path | None = None) -> str:
    """sha256 over the curated override files (names and contents, sorted): their version in a lock."""
    digest = hashlib.sha256()
    for path in sorted((directory or data_directory()).glob("*.toml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Session:
    """The snapshot and override data of one run, read once."""

    snapshot: Snapshot
    overrides: Overrides
    snapshot_ref: SnapshotRef
    overrides_ref: OverridesRef

    @classmethod
    def load(cls, snapshot_dir: Path | None = None, override_files: Sequence[Path] = ()) -> Session:
        """Read the snapshot (default: the embedded one) and validate the override data against it."""
        snapshot = Snapshot.load(snapshot_dir)
        files = tuple(Path(os.path.abspath(p)) for p in override_files)
        overrides = load_overrides(snapshot.knows_toplevel, files)
        meta = snapshot.meta
        embedded = snapshot.directory is not None and snapshot.directory == DATA.resolve()
        ref = SnapshotRef(digest=snapshot.digest(), generated_from=meta.generated_from, source=meta.source,
                          source_sha256=meta.source_sha256,
                          location=None if embedded or snapshot.directory is None else str(snapshot.directory))
        overrides_ref = OverridesRef(files=tuple(OverrideFile(str(p), _sha256(p)) for p in files),
                                     curated=curated_digest())
        return cls(snapshot, overrides, ref, overrides_ref)


def override_changes(ref: OverridesRef) -> list[tuple[OverrideFile, str]]:
    """Recorded user override files that are missing or changed now: (file, "missing" | "changed")."""
    out: list[tuple[OverrideFile, str]] = []
    for f in ref.files:
        path = Path(f.path)
        if not path.is_file():
            out.append((f, "missing"))
            continue
        try:
            now = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            out.append((f, "missing"))
            continue
        if now != f.sha256:
            out.append((f, "changed"))
    return out
