"""Bad input files are clear InputErrors naming file, key or line and the expected type; never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nixgen.errors import InputError
from nixgen.inputs.requirements_txt import read_requirements


def chain(tmp_path: Path, depth: int) -> Path:
    """r0.txt includes r1.txt includes ... r{depth}.txt, which holds one requirement."""
    for i in range(depth):
        (tmp_path / f"r{i}.txt").write_text(f"six\n-r r{i + 1}.txt\n", encoding="utf-8")
    (tmp_path / f"r{depth}.txt").write_text("docrep\n", encoding="utf-8")
    return tmp_path / "r0.txt"


# -- requirements files ------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [250, 1000])
def test_a_deep_include_chain_reads_in_order(tmp_path: Path, depth: int) -> None:
    rs = read_requirements(chain(tmp_path, depth))
    assert len(rs.requirements) == depth + 1
    assert [r.origin.path for r in rs.requirements[:2]] == [str(tmp_path / "r0.txt"), str(tmp_path / "r1.txt")]
    assert rs.requirements[-1].requirement.name == "docrep"
    assert len(rs.sources) == depth + 1


def test_a_cycle_at_the_end_of_a_deep_chain_is_named(tmp_path: Path) -> None:
    top = chain(tmp_path, 300)
    (tmp_path / "r300.txt").write_text("-r r0.txt\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert "include cycle" in info.value.message
    assert f"{tmp_path}/r300.txt:1" in info.value.message


def test_an_error_deep_in_a_chain_names_the_deep_file_and_line(tmp_path: Path) -> None:
    top = chain(tmp_path, 500)
    (tmp_path / "r500.txt").write_text("docrep\nsix ==\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert info.value.path == str(tmp_path / "r500.txt")
    assert info.value.line == 2


@pytest.mark.parametrize("count", [3_000, 10_000])
def test_duplicate_lines_parse_in_linear_time(tmp_path: Path, count: int) -> None:
    path = tmp_path / "dup.txt"
    path.write_text("six>=1.0 ; python_version >= '3'\n" * count, encoding="utf-8")
    start = time.monotonic()
    rs = read_requirements(path)
    elapsed = time.monotonic() - start
    assert len(rs.requirements) == count
    assert rs.requirements[-1].origin.line == count
    assert elapsed < 1.0, f"{count} lines took {elapsed:.2f} s"
