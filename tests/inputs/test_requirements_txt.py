"""pip's requirements file format as nixgen reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixgen.errors import InputError
from nixgen.inputs.requirements_txt import parse_requirements, read_requirements


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_comments_continuations_markers_extras_and_hashes(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", (
        "# a comment\n"
        "\n"
        "numpy>=2 ; python_version >= '3.10'  # trailing comment\n"
        "requests[socks, security] \\\n"
        "    ==2.32.5 \\\n"
        "    --hash=sha256:ABCDEF0123 --hash sha256:00ff\n"
        "docrep @ https://example.invalid/docrep-0.3.2.tar.gz\n"
    ))
    rs = read_requirements(req)
    names = [r.requirement.name for r in rs.requirements]
    assert names == ["numpy", "requests", "docrep"]
    numpy, requests, docrep = rs.requirements
    assert str(numpy.requirement.marker) == 'python_version >= "3.10"'
    assert numpy.origin.line == 3
    assert requests.origin.line == 4
    assert str(requests.origin) == f"{req}:4"
    assert requests.requirement.extras == {"socks", "security"}
    assert str(requests.requirement.specifier) == "==2.32.5"
    assert requests.hashes == ("sha256:abcdef0123", "sha256:00ff")
    assert docrep.requirement.url == "https://example.invalid/docrep-0.3.2.tar.gz"
    assert rs.sources == (str(req),)


def test_includes_are_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "more.txt", "-c ../constraints/c.txt\nsix\n")
    write(tmp_path / "constraints" / "c.txt", "six<2\n")
    top = write(tmp_path / "r.txt", "-r sub/more.txt\n--index-url https://example.invalid/simple/\n"
                                    "--extra-index-url=https://example.invalid/extra/\n--pre\n")
    rs = read_requirements(top)
    assert [r.requirement.name for r in rs.requirements] == ["six"]
    assert [str(c.requirement) for c in rs.constraints] == ["six<2"]
    assert rs.index_url == "https://example.invalid/simple/"
    assert rs.extra_index_urls == ("https://example.invalid/extra/",)
    assert rs.pre is True
    assert len(rs.sources) == 3


def test_environment_variables_are_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIXGEN_TEST_VERSION", "1.17.0")
    rs = parse_requirements("six==${NIXGEN_TEST_VERSION}\n")
    assert str(rs.requirements[0].requirement.specifier) == "==1.17.0"


def test_include_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "-r b.txt\n")
    write(tmp_path / "b.txt", "-r a.txt\n")
    with pytest.raises(InputError, match="include cycle"):
        read_requirements(tmp_path / "a.txt")


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    top = write(tmp_path / "r.txt", "six\n-r nope.txt\n")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert f"{top}:2: no such file" in info.value.message


@pytest.mark.parametrize("line,option", [
    ("-e ./local", "-e"), ("--find-links /tmp", "--find-links"), ("--no-binary :all:", "--no-binary"),
    ("--trusted-host example.invalid", "--trusted-host"), ("--frobnicate", "--frobnicate"),
])
def test_unsupported_options_are_errors_at_file_and_line(line: str, option: str) -> None:
    with pytest.raises(InputError) as info:
        parse_requirements(f"six\n{line}\n", path="reqs.txt")
    assert info.value.message.startswith("reqs.txt:2: ")
    assert option in info.value.message


def test_per_line_options_other_than_hash_are_errors() -> None:
    with pytest.raises(InputError, match=r"reqs.txt:1: the option --global-option is not supported"):
        parse_requirements("six --global-option=x\n", path="reqs.txt")


def test_malformed_requirement_names_line_and_text() -> None:
    with pytest.raises(InputError) as info:
        parse_requirements("six\nnumpy >>= 1\n", path="reqs.txt")
    assert info.value.message.startswith("reqs.txt:2: not a valid PEP 508 requirement")
    assert "numpy >>= 1" in info.value.message


def test_bare_paths_and_urls_ask_for_a_name() -> None:
    with pytest.raises(InputError, match="a bare path or URL is not a requirement") as info:
        parse_requirements("./pkg\n")
    assert "write `name @ url`" in (info.value.hint or "")


def test_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_requirements(tmp_path / "absent.txt")
    with pytest.raises(InputError, match="is a directory"):
        read_requirements(tmp_path)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_requirements(bad)
