"""The default index comes from pip's configuration, else from pypi-simple's constant."""

from __future__ import annotations

import os
from pathlib import Path

import pypi_simple
import pytest

from nixgen.pypi import default_index_url
from nixgen.pypi.config import pip_setting


@pytest.fixture(autouse=True)
def no_pip_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("PIP_INDEX_URL", "PIP_CONFIG_FILE", "PIP_CERT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc-xdg"))


def test_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:1/mirror/simple")
    assert default_index_url() == "http://127.0.0.1:1/mirror/simple/"


def test_pip_conf_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\nindex-url = http://127.0.0.1:2/user/simple/\ncert = /some/ca.pem\n")
    assert default_index_url() == "http://127.0.0.1:2/user/simple/"
    assert pip_setting("cert") == "/some/ca.pem"
    # PIP_CONFIG_FILE is read last; its [install] section overrides its [global] one.
    extra = tmp_path / "extra.conf"
    extra.write_text("[global]\nindex-url = http://127.0.0.1:3/global/\n[install]\nindex-url = http://127.0.0.1:3/i/\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(extra))
    assert default_index_url() == "http://127.0.0.1:3/i/"


def test_no_configuration_means_the_library_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip's way to say "no configuration files"
    assert default_index_url() == pypi_simple.PYPI_SIMPLE_ENDPOINT
