"""Nix escaping: every value reaches Nix as written."""

import json
import shutil
import subprocess

import pytest

from nixgen.core.nix import nix_attr, nix_string, sri_sha256

NIX = shutil.which("nix-instantiate")


@pytest.mark.parametrize("value", ['plain', 'quote " here', "back\\slash", "${interp}", "$ dollar",
                                   "line\nbreak", "tab\there", "''", "unicode ✓"])
def test_nix_string_round_trips_through_nix(value: str) -> None:
    assert NIX, "nix-instantiate is required (Debian package nix-bin)"
    out = subprocess.run([NIX, "--eval", "--strict", "--json", "-E", nix_string(value)],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == value


def test_attr_names_are_quoted_only_when_needed() -> None:
    assert nix_attr("numpy") == "numpy"
    assert nix_attr("typing-extensions") == "typing-extensions"
    assert nix_attr("3to2") == '"3to2"'
    assert nix_attr("with") == '"with"'
    assert nix_attr("zope.interface") == '"zope.interface"'


def test_sri_hash() -> None:
    hexdigest = "ed8a17e201abd829ef8da78a0b6f4d51fb99a4cbd0554adbed3309297f964314"
    assert sri_sha256(hexdigest) == "sha256-7YoX4gGr2CnvjaeKC29NUfuZpMvQVUrb7TMJKX+WQxQ="
