"""nix_path: every path written into a Nix file is valid Nix path syntax and names the right directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nixgen.core.paths import nix_path

# Path components: the special ones, plain names, and names with characters Nix path literals cannot hold.
_PLAIN = st.text(st.sampled_from("abcXYZ019._+-"), min_size=1, max_size=6)
_ODD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=6)
_COMPONENT = st.one_of(st.just(".."), st.just("."), _PLAIN, _ODD).filter(lambda c: c not in ("",))
_RELATIVE = st.lists(_COMPONENT, min_size=0, max_size=5)


def _evaluate(base: Path, expressions: list[str]) -> list[str]:
    """``toString`` of each expression, evaluated by Nix in a file in ``base`` (one process for all)."""
    nix = shutil.which("nix-instantiate")
    assert nix, "nix-instantiate is required (Debian package nix-bin)"
    source = base / "paths.nix"
    source.write_text("map toString [\n" + "".join(f"  ({e})\n" for e in expressions) + "]\n", encoding="utf-8")
    parsed = subprocess.run([nix, "--parse", str(source)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr + source.read_text()
    proc = subprocess.run([nix, "--eval", "--strict", "--json", str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + source.read_text()
    return list(json.loads(proc.stdout))


def test_the_usual_paths() -> None:
    base = Path("/srv/flake")
    assert nix_path(base, base) == "./."
    assert nix_path(base / "sub", base) == "./sub"
    assert nix_path(base / "sub" / "pkg-1.0+x", base) == "./sub/pkg-1.0+x"
    assert nix_path(base.parent, base) == "../."  # ".." alone does not parse
    assert nix_path(base.parent.parent, base) == "../.."
    assert nix_path(base.parent / "x", base) == "../x"
    assert nix_path(base / "a b", base) == './. + "/a b"'
    assert nix_path(base.parent / "a b", base) == './. + "/../a b"'
    assert nix_path(base / "${x}" / 'q"', base) == './. + "/\\${x}/q\\""'


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_RELATIVE, min_size=1, max_size=40))
def test_every_path_parses_and_names_its_target(tmp_path: Path, relatives: list[list[str]]) -> None:
    base = (tmp_path / "flake dir").resolve()
    base.mkdir(exist_ok=True)
    targets = [base.joinpath(*parts) for parts in relatives]
    expressions = [nix_path(t, base) for t in targets]
    assert _evaluate(base, expressions) == [os.path.normpath(t) for t in targets]
