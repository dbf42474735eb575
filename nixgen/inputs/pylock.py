"""Reading a nixgen-written PEP 751 ``pylock.toml`` back into a locked resolution."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.pylock import Pylock, PylockValidationError

from nixgen.emit.flake import NixpkgsPin
from nixgen.errors import InputError
from nixgen.resolve.model import Artifact, Pin, Relaxation, Resolution

if TYPE_CHECKING:
    from nixgen.pipeline import Locked


def _pin(name: str, version: str, tool: dict[str, Any], artifact: Artifact | None) -> Pin:
    return Pin(
        name=name, version=version, provider=tool["provider"], attr=tool["attr"], artifact=artifact,
        dependencies=tuple(tool["dependencies"]), build_requires=tuple(tool["build-requires"]),
        extras=tuple(tool["extras"]), requested=bool(tool["requested"]), runtime=bool(tool["runtime"]),
        metadata_source=tool["metadata-source"], native_code=bool(tool["native-code"]),
        nixpkgs_version=tool.get("nixpkgs-version"), replaces=bool(tool.get("replaces", False)),
    )


def read_pylock(path: Path) -> Locked:
    """Parse and validate (PEP 751) a lock nixgen wrote; other tools' locks need ``[tool.nixgen]``."""
    from nixgen.pipeline import Locked

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        lock = Pylock.from_dict(data)
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the lock: {err}", path=str(path)) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", path=str(path)) from None
    except PylockValidationError as err:
        raise InputError(f"not a valid PEP 751 lock: {err}", path=str(path)) from None
    top = (lock.tool or {}).get("nixgen")
    if not isinstance(top, dict):
        raise InputError("this lock has no [tool.nixgen] table, so it was not written by nixgen",
                         path=str(path), hint="run `nixgen lock` on the requirements to make one")
    try:
        targets = top["targets"]
        all_systems = [t["system"] for t in targets]
        pins: dict[str, list[Pin]] = {s: [] for s in all_systems}
        for pkg in lock.packages:
            tool = (pkg.tool or {})["nixgen"]
            art = None
            if pkg.wheels:
                w = pkg.wheels[0]
                art = Artifact(w.name or "", w.url or "", w.hashes["sha256"], w.size)
            elif pkg.sdist is not None:
                art = Artifact(pkg.sdist.name or "", pkg.sdist.url or "", pkg.sdist.hashes["sha256"], pkg.sdist.size)
            for system in tool.get("systems", all_systems):
                entry = _pin(pkg.name, str(pkg.version), tool, art)
                if pkg.directory is not None:
                    entry = replace(entry, source_path=pkg.directory.path)
                pins[system].append(entry)
        for extra in top.get("nixpkgs-only", []):
            for system in extra.get("systems", all_systems):
                pins[system].append(_pin(extra["name"], extra["version"], extra, None))
        resolutions = tuple(
            Resolution(
                interpreter=t["interpreter"], python_version=t["python-version"], system=t["system"],
                roots=tuple(t["roots"]), pins=tuple(sorted(pins[t["system"]], key=lambda p: p.name)),
                relaxations=tuple(Relaxation(r["parent"], r["parent-version"], r["requirement"], r["child"],
                                             r["child-version"]) for r in t.get("relaxations", [])),
                notes=tuple(t.get("notes", [])),
            )
            for t in targets
        )
        pin = top["nixpkgs"]
        exclude = top.get("exclude-newer")
        return Locked(
            resolutions=resolutions,
            nixpkgs=NixpkgsPin(rev=pin["rev"], nar_hash=pin["nar-hash"] or None, note=pin["note"],
                               url=pin.get("url")),
            sources=tuple(top["sources"]),
            exclude_newer=datetime.fromisoformat(exclude) if exclude else None,
            forced=frozenset(top.get("forced", [])),
            tests=bool(top.get("tests", False)),
            traded=frozenset(top.get("traded", [])),
            strategy_notes=tuple(top.get("strategy-notes", [])),
            override_files=tuple(top.get("override-files", [])),
            failures=tuple((f["system"], f["why"]) for f in top.get("failures", [])),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"the [tool.nixgen] data is incomplete or malformed ({err!r})", path=str(path),
                         hint="write the lock again with `nixgen lock`") from None
