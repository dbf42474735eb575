"""Check the cache prediction against a binary cache.

Out paths come from evaluating the generated flake with Nix: each planned package's ``outPath`` in
``legacyPackages.<system>.<interpreter>.pkgs`` (nixpkgs with the overlay), so a package that rebuilds
because of an edge nixgen did not know about gets its real, new out path. Without Nix, only the packages
predicted ``cached`` can be checked, by the out paths the snapshot recorded. A Nix binary cache answers
``GET <cache>/<hash part of the out path>.narinfo`` with 200 when it holds the path (the Nix manual's
binary cache HTTP layout).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nixgen.core.kinds import CacheOutcome, State
from nixgen.core.nix import nix_attr, nix_string
from nixgen.errors import IndexAccessError, NixEvalError
from nixgen.nixcmd import flake_command
from nixgen.nixpkgs.snapshot import PythonSet
from nixgen.plan.model import Plan
from nixgen.plan.predict import predict


@dataclass(frozen=True)
class Check:
    """Predicted against actual for one package.

    ``out_path`` is the package's out path with nixgen's overlay; ``nixpkgs_out_path`` the same attribute's
    in nixpkgs as it is (None when nixpkgs lacks it or it was not evaluated). They differ exactly when the
    overlay makes the package rebuild.
    """

    name: str
    predicted: State
    out_path: str | None
    actual: CacheOutcome
    note: str = ""  # why it was not checked or was refused
    nixpkgs_out_path: str | None = None
    snapshot_out_path: str | None = None  # what the snapshot recorded for this attribute

    @property
    def changed(self) -> bool | None:
        """Whether the overlay changes this nixpkgs package's out path (None: unknown or not in nixpkgs)."""
        if self.out_path is None or self.nixpkgs_out_path is None:
            return None
        return self.out_path != self.nixpkgs_out_path

    @property
    def drifted(self) -> bool:
        """Predicted cached and unchanged by the overlay, yet not at the snapshot's out path: the evaluated
        nixpkgs is not the one the snapshot was read from."""
        return (self.predicted == "cached" and not self.changed and self.snapshot_out_path is not None
                and self.out_path != self.snapshot_out_path)

    @property
    def surprise(self) -> bool:
        """Predicted from the cache but it must be built: the costly kind of wrong."""
        return (self.predicted == "cached" and self.actual == "missing") or self.actual == "refused"

    @property
    def agrees(self) -> bool:
        """Whether the prediction got the cost right: from the cache, or built here."""
        if self.actual == "refused":
            return False
        return self.actual == "not checked" or (self.predicted == "cached") == (self.actual == "cached")


def _hash_part(out_path: str) -> str:
    return out_path.removeprefix("/nix/store/").split("-", 1)[0]


def _apply_expression(interpreter: str, system: str, attrs: Sequence[str], ours: frozenset[str]) -> str:
    """A function of the overlaid package set (``legacyPackages.<system>``) to, for each attr, its out path
    there and in nixpkgs as it is (``import pkgs.path``), for ``nix eval --apply``.

    Packages nixpkgs refuses (broken, unfree: a ``throw``) get no out path instead of failing the whole
    evaluation; the packages nixgen's overlay defines (``ours``) are not guarded, so their errors show.
    """
    def out(ps: str, a: str, guard: bool) -> str:
        value = f"{ps}.{nix_attr(a)}.outPath"
        if guard:
            value = f"(let r = builtins.tryEval {value}; in if r.success then r.value else null)"
        return f"(if {ps} ? {nix_attr(a)} then {value} else null)"

    fields = " ".join(f"{nix_string(a)} = [ {out('ps', a, a not in ours)} {out('base', a, True)} ];"
                      for a in attrs)
    return (f"pkgs: let ps = pkgs.{nix_attr(interpreter)}.pkgs; "
            f"base = (import pkgs.path {{ system = {nix_string(system)}; }}).{nix_attr(interpreter)}.pkgs; "
            f"in {{ {fields} }}")


def evaluate_out_paths(flake_text: str, plan: Plan, *, nixpkgs: str | None = None,
                       timeout: float = 900.0) -> dict[str, tuple[str | None, str | None]]:
    """For every planned package (by attr): its out path in the flake and in the flake's nixpkgs without
    the overlay, evaluated with ``nix eval``.

    ``nixpkgs`` (a flake reference) replaces the flake's pinned nixpkgs input. Packages built from a local
    source tree are left out: the flake is evaluated from a temporary directory that does not hold them.
    """
    nix = flake_command()
    if nix is None:
        raise NixEvalError("Nix is not on PATH", hint="install Nix, or pass --no-eval")
    attrs = [p.attr for p in plan.packages if p.provider != "local"]
    with tempfile.TemporaryDirectory(prefix="nixgen-verify-") as tmp:
        (Path(tmp) / "flake.nix").write_text(flake_text, encoding="utf-8")
        command = [*nix, "eval", "--json", "--no-write-lock-file"]
        if nixpkgs is not None:
            command += ["--override-input", "nixpkgs", nixpkgs]
        command += [f"path:{tmp}#legacyPackages.{plan.system}",
                    "--apply", _apply_expression(plan.interpreter, plan.system, attrs,
                                                 frozenset(p.attr for p in plan.overrides))]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NixEvalError(f"nix eval of the generated flake took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        first = next((i for i, line in enumerate(lines) if line.startswith("error:")), 0)
        tail = "\n".join(lines[first:first + 12])
        raise NixEvalError(f"nix could not evaluate the generated flake for {plan.system}:\n{tail}",
                           hint="--nixpkgs FLAKEREF evaluates against another nixpkgs (a local checkout: "
                                "path:/src/nixpkgs); --no-eval checks the snapshot's out paths instead")
    data = json.loads(proc.stdout)
    return {a: (v[0] if isinstance(v[0], str) else None, v[1] if isinstance(v[1], str) else None)
            for a, v in data.items()}


def snapshot_out_paths(plan: Plan, pyset: PythonSet | None) -> dict[str, tuple[str | None, str | None]]:
    """Out paths the snapshot records, for the packages nixgen takes from nixpkgs unchanged."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for p in plan.packages:
        pkg = pyset.packages.get(p.attr) if pyset is not None and p.provider == "nixpkgs" else None
        if pkg is not None:
            out[p.attr] = (pkg.out_path, None)
    return out


def ask_cache(out_paths: Sequence[str], substituter: str, timeout: float = 10.0) -> dict[str, bool]:
    """Whether the binary cache at ``substituter`` has each out path (its narinfo answers 200)."""
    import requests

    base = substituter.rstrip("/")
    session = requests.Session()

    def one(path: str) -> tuple[str, bool]:
        url = f"{base}/{_hash_part(path)}.narinfo"
        try:
            response = session.get(url, timeout=timeout)
        except requests.RequestException as err:
            raise IndexAccessError(f"cannot reach the binary cache at {url}: {err}",
                                   hint="check --substituter and the network") from None
        if response.status_code not in (200, 404, 403):
            raise IndexAccessError(f"the binary cache answered {response.status_code} for {url}",
                                   hint="check --substituter")
        return path, response.status_code == 200

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = dict(pool.map(one, sorted(set(out_paths))))
    session.close()
    return answers


def compare(plan: Plan, out_paths: Mapping[str, tuple[str | None, str | None]], in_cache: Mapping[str, bool],
            pyset: PythonSet | None = None) -> list[Check]:
    """Predicted against actual for every planned package (pure)."""
    checks = []
    for status in predict(plan).statuses:
        path, nixpkgs_path = out_paths.get(status.attr, (None, None))
        if path is None:
            if status.attr in out_paths:  # evaluated, and nixpkgs refused it (broken, unfree, unsupported)
                checks.append(Check(status.name, status.state, None, "refused",
                                    "nixpkgs refuses to evaluate it: broken, unfree or unsupported on this system"))
                continue
            local = any(p.attr == status.attr and p.provider == "local" for p in plan.packages)
            checks.append(Check(status.name, status.state, None, "not checked",
                                "built from your source tree" if local else "not evaluated"))
            continue
        known = pyset.packages.get(status.attr) if pyset is not None else None
        checks.append(Check(status.name, status.state, path, "cached" if in_cache.get(path) else "missing",
                            nixpkgs_out_path=nixpkgs_path,
                            snapshot_out_path=known.out_path if known else None))
    return checks


def render_checks(checks: Sequence[Check], method: str) -> str:
    """The table ``nixgen verify`` prints, one line per package and a total."""
    lines = []
    for c in checks:
        mark = "ok  " if c.agrees else "DIFF" if c.surprise else "BETTER"
        if c.actual == "refused":
            lines.append(f"{mark} {c.name}: predicted {c.predicted}, but {c.note}")
            continue
        line = f"{mark} {c.name}: predicted {c.predicted}, binary cache: {c.actual}"
        if c.out_path and not c.agrees:
            line += f" ({c.out_path})"
        if c.predicted == "cached" and c.changed:
            line += " — nixgen's overlay changes its out path" + (": it rebuilds" if c.surprise else "")
        elif c.surprise:
            line += " — it must be built"
        elif c.predicted == "rebuild" and c.changed is False:
            line += " — its out path is nixpkgs' own: the overlay does not change it"
        if c.note and c.actual == "not checked":
            line += f" ({c.note})"
        lines.append(line)
    checked = [c for c in checks if c.actual not in ("not checked", "refused")]
    surprises = [c for c in checks if c.surprise]
    better = [c for c in checks if not c.agrees and not c.surprise]
    lines.append(f"{len(checked)} checked ({method}), {len(surprises) + len(better)} differ from the prediction"
                 + (f": {len(better)} cheaper than predicted" if better else ""))
    drifted = [c for c in checks if c.drifted]
    if drifted:
        lines.append(f"note: {len(drifted)} package(s) predicted cached evaluate to out paths other than the "
                     "snapshot's: the evaluated nixpkgs is not the one the snapshot was read from")
    if any(c.surprise and c.changed for c in checks):
        lines.append("note: the overlay rebuilds a package predicted cached through an input nixgen does not know "
                     "of; `nixgen nixpkgs import-nixpkgs` makes a snapshot with nixpkgs' real edges")
    if any(c.surprise and not c.changed for c in checks):
        lines.append("note: the binary cache lacks a package as nixpkgs itself builds it (not built there yet, or "
                     "another nixpkgs revision than the snapshot's)")
    return "\n".join(lines)
