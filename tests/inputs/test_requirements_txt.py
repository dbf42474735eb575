"""pip's requirements file format as nixgen reads it: every rule, and every refusal at file:line."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from nixgen.errors import InputError
from nixgen.inputs.model import Origin
from nixgen.inputs.requirements_txt import parse_requirements, read_requirements

DATA = Path(__file__).parent / "data"
SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str, path: str = "reqs.txt") -> InputError:
    with pytest.raises(InputError) as info:
        parse_requirements(text, path=path)
    return info.value


def specs(text: str) -> list[tuple[str, int]]:
    return [(str(r.requirement), r.origin.line) for r in parse_requirements(text).requirements]


# -- lines, comments, continuations ----------------------------------------------------------------------
def test_pip_compile_file_with_continuations_comments_and_hashes() -> None:
    path = DATA / "hashed.txt"
    rs = read_requirements(path)
    certifi, idna = rs.requirements
    assert str(certifi.requirement) == "certifi==2025.8.3"
    assert certifi.origin == Origin(str(path), 4, "certifi==2025.8.3     --hash=sha256:e564105f78ded564e3ae7c923924"
                                    "435e1daa7463faeab5bb932bc53ffae63407     --hash=sha256:F6C12493CFB1B06BA2FF3"
                                    "28595AF9350C65D6644968E5D3A2FFD78699AF217A5")
    assert certifi.hashes == ("sha256:e564105f78ded564e3ae7c923924435e1daa7463faeab5bb932bc53ffae63407",
                              "sha256:f6c12493cfb1b06ba2ff328595af9350c65d6644968e5d3a2ffd78699af217a5")
    assert str(idna.requirement) == 'idna==3.10; python_version >= "3.9"'
    assert idna.origin.line == 8
    assert idna.hashes == ("sha256:12f65c9b470abda6dc35cf8e63cc574b1c52b11df2c86030af0ac09b01b13ea9",)
    assert str(idna.origin) == f"{path}:8"
    assert rs.constraints == ()
    assert rs.sources == (str(path),)


def test_comments_need_a_blank_before_the_hash() -> None:
    text = (
        "# whole-line comment\n"
        "   # indented comment\n"
        "six  # trailing comment\n"
        "docrep @ https://example.invalid/docrep-0.3.2.tar.gz#sha256=" + SHA_A + "\n"
        "\n"
        "   \n"
        "idna\t# after a tab\n"
    )
    assert specs(text) == [("six", 3), (f"docrep @ https://example.invalid/docrep-0.3.2.tar.gz#sha256={SHA_A}", 4),
                           ("idna", 7)]


def test_continuation_lines_join_and_keep_the_first_line_number() -> None:
    text = "numpy\\\n>=2,\\\n<3\nsix \\\n  ==1.17.0\nidna \\\n"
    assert specs(text) == [("numpy<3,>=2", 1), ("six==1.17.0", 4), ("idna", 6)]


def test_a_comment_line_ends_a_continuation() -> None:
    # pip: a comment line is never continued and is not joined as text either.
    assert specs("six \\\n  # why six\nidna\n") == [("six", 1), ("idna", 3)]
    assert specs("six\n# note \\\nidna\n") == [("six", 1), ("idna", 3)]


def test_a_trailing_comment_ending_in_backslash_swallows_the_next_line_as_pip_does() -> None:
    assert specs("six  # see below \\\nidna\ncertifi\n") == [("six", 1), ("certifi", 3)]


def test_blanks_after_a_backslash_do_not_continue_the_line() -> None:
    err = error_of("six \\ \n==1.17.0\n")
    assert err.message.startswith("reqs.txt:1: not a valid PEP 508 requirement: ")
    assert "blanks after a \\ stop it from continuing the line" in (err.hint or "")


def test_crlf_and_other_line_breaks_count_as_pip_counts_them() -> None:
    assert specs("six\r\nidna \\\r\n  >=3\r\ncertifi\r\n") == [("six", 1), ("idna>=3", 2), ("certifi", 4)]


# -- environment variables --------------------------------------------------------------------------------
def test_environment_variables_are_expanded_in_requirements_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIXGEN_T_VERSION", "1.17.0")
    monkeypatch.setenv("NIXGEN_T_TOKEN", "s3cret")
    rs = parse_requirements("six==${NIXGEN_T_VERSION}\n"
                            "--extra-index-url https://u:${NIXGEN_T_TOKEN}@example.invalid/simple/\n")
    (six,) = rs.requirements
    assert str(six.requirement) == "six==1.17.0"
    assert six.origin.text == "six==${NIXGEN_T_VERSION}"  # as written: no secrets in messages
    assert rs.extra_index_urls == ("https://u:s3cret@example.invalid/simple/",)


def test_only_braced_upper_case_names_expand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIXGEN_T_URL", "https://example.invalid/i/")
    monkeypatch.setenv("nixgen_t_lower", "https://example.invalid/lower/")
    rs = parse_requirements("--extra-index-url ${NIXGEN_T_URL}\n--extra-index-url $NIXGEN_T_URL\n"
                            "--extra-index-url ${nixgen_t_lower}\n")
    assert rs.extra_index_urls == ("https://example.invalid/i/", "$NIXGEN_T_URL", "${nixgen_t_lower}")


def test_unset_and_empty_variables_stay_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIXGEN_T_UNSET", raising=False)
    monkeypatch.setenv("NIXGEN_T_EMPTY", "")
    rs = parse_requirements("--index-url https://example.invalid/${NIXGEN_T_EMPTY}/\n")
    assert rs.index_url == "https://example.invalid/${NIXGEN_T_EMPTY}/"
    err = error_of("six==${NIXGEN_T_UNSET}\n")
    assert err.message.startswith("reqs.txt:1: not a valid PEP 508 requirement")
    assert err.hint == ("${NIXGEN_T_UNSET} is left as written because the environment variable NIXGEN_T_UNSET "
                        "is unset or empty")


# -- includes --------------------------------------------------------------------------------------------
def test_nested_includes_are_relative_to_each_including_file() -> None:
    top = DATA / "nested" / "requirements.txt"
    rs = read_requirements(top)
    got = [(str(r.requirement), r.origin.path, r.origin.line) for r in rs.requirements]
    nested = str(DATA / "nested")
    assert got == [
        ('requests[socks]>=2.31; python_version >= "3.11"', f"{nested}/common/base.txt", 1),
        ("pytest>=8", f"{nested}/sub/dev.txt", 3),
        ("idna", f"{nested}/common/also.txt", 1),  # -r inside a constraints file: requirements, as in pip
        ("six", str(top), 5),
    ]
    assert [(str(c.requirement), str(c.origin)) for c in rs.constraints] == [
        ("six==1.17.0", f"{nested}/constraints/pins.txt:1")]
    assert rs.index_url == "https://example.invalid/simple/"
    assert rs.extra_index_urls == ("https://example.invalid/extra/",)
    assert rs.sources == (str(top), f"{nested}/sub/dev.txt", f"{nested}/common/base.txt",
                          f"{nested}/constraints/pins.txt", f"{nested}/common/also.txt")


@pytest.mark.parametrize("line", ["-r more.txt", "-rmore.txt", "--requirement more.txt",
                                  "--requirement=more.txt", "--requirem=more.txt", "-r 'more.txt'"])
def test_requirement_include_spellings(tmp_path: Path, line: str) -> None:
    write(tmp_path / "more.txt", "idna\n")
    top = write(tmp_path / "r.txt", f"six\n{line}\n")
    rs = read_requirements(top)
    assert [str(r.requirement) for r in rs.requirements] == ["six", "idna"]
    assert rs.sources == (str(top), str(tmp_path / "more.txt"))


@pytest.mark.parametrize("line", ["-c c.txt", "-cc.txt", "--constraint c.txt", "--constraint=c.txt"])
def test_constraint_include_spellings(tmp_path: Path, line: str) -> None:
    write(tmp_path / "c.txt", "six<2\n")
    rs = read_requirements(write(tmp_path / "r.txt", f"six\n{line}\n"))
    assert [str(r.requirement) for r in rs.requirements] == ["six"]
    assert [str(c.requirement) for c in rs.constraints] == ["six<2"]


def test_include_by_file_url(tmp_path: Path) -> None:
    write(tmp_path / "deep" / "c.txt", "six<2\n-r sibling.txt\n")
    write(tmp_path / "deep" / "sibling.txt", "idna\n")
    top = write(tmp_path / "r.txt", f"-c {(tmp_path / 'deep' / 'c.txt').as_uri()}\n")
    rs = read_requirements(top)
    assert [str(c.requirement) for c in rs.constraints] == ["six<2"]
    assert [str(r.requirement) for r in rs.requirements] == ["idna"]


def test_include_by_http_url_is_an_error() -> None:
    err = error_of("six\n-r https://example.invalid/reqs.txt\n")
    assert err.message.startswith(
        "reqs.txt:2: -r (--requirement) https://example.invalid/reqs.txt: including a file by URL is not supported")
    assert err.hint == "download the file and include it by its path"


def test_include_cycle_names_the_chain_at_the_closing_line() -> None:
    cycle = DATA / "cycle"
    with pytest.raises(InputError) as info:
        read_requirements(cycle / "a.txt")
    assert info.value.path == f"{cycle}/c.txt"
    assert info.value.line == 2
    assert info.value.message.startswith(
        f"{cycle}/c.txt:2: include cycle: {cycle}/a.txt -> {cycle}/b.txt -> {cycle}/c.txt -> {cycle}/a.txt\n")


def test_a_file_including_itself(tmp_path: Path) -> None:
    top = write(tmp_path / "r.txt", "six\n-r ./r.txt\n")
    with pytest.raises(InputError, match=rf"^{tmp_path}/r.txt:2: include cycle: {tmp_path}/r.txt -> "
                                         rf"{tmp_path}/r.txt\n"):
        read_requirements(top)


def test_the_same_file_twice_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path / "common.txt", "six\n")
    write(tmp_path / "a.txt", "-r common.txt\n")
    top = write(tmp_path / "r.txt", "-r a.txt\n-r common.txt\n")
    rs = read_requirements(top)
    assert [str(r.origin) for r in rs.requirements] == [f"{tmp_path}/common.txt:1", f"{tmp_path}/common.txt:1"]
    assert rs.sources == (str(top), f"{tmp_path}/a.txt", f"{tmp_path}/common.txt")


def test_missing_include_is_an_error_at_the_including_line(tmp_path: Path) -> None:
    top = write(tmp_path / "r.txt", "six\n-r sub/nope.txt\n")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert info.value.message == f"{top}:2: no such file: {tmp_path}/sub/nope.txt\n    -r sub/nope.txt"
    assert info.value.hint == "-r and -c paths are relative to the directory of the file that names them"


def test_short_option_with_equals_reads_the_equals_as_pip_does(tmp_path: Path) -> None:
    write(tmp_path / "more.txt", "idna\n")
    top = write(tmp_path / "r.txt", "-r=more.txt\n")
    with pytest.raises(InputError) as info:
        read_requirements(top)
    assert info.value.message.startswith(f"{top}:1: no such file: {tmp_path}/=more.txt")
    assert "pip reads `-r=more.txt` as the file '=more.txt'; write `-r more.txt`" in (info.value.hint or "")


def test_unreadable_included_file_names_it_at_the_including_line(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "dir.txt").mkdir()
    top = write(tmp_path / "r.txt", "-r bad.txt\n")
    with pytest.raises(InputError, match=rf"^{tmp_path}/r.txt:1: {tmp_path}/bad.txt is not UTF-8 text "
                                         r"\(invalid continuation byte at byte 3\)"):
        read_requirements(top)
    write(top, "six\n-c dir.txt\n")
    with pytest.raises(InputError, match=rf"^{tmp_path}/r.txt:2: {tmp_path}/dir.txt is a directory"):
        read_requirements(top)


def test_parse_requirements_resolves_includes_against_base_or_the_path(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "more.txt", "idna\n")
    rs = parse_requirements("-r sub/more.txt\n", path="given.txt", base=tmp_path)
    assert [str(r.origin) for r in rs.requirements] == [f"{tmp_path}/sub/more.txt:1"]
    assert rs.sources == (f"{tmp_path}/sub/more.txt",)
    rs = parse_requirements("-r more.txt\n", path=str(tmp_path / "sub" / "virtual.txt"))
    assert [str(r.origin) for r in rs.requirements] == [f"{tmp_path}/sub/more.txt:1"]


# -- the top-level file -----------------------------------------------------------------------------------
def test_top_level_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_requirements(tmp_path / "absent.txt")
    assert (info.value.message, info.value.hint) == (f"{tmp_path}/absent.txt: no such file", "check the path")
    with pytest.raises(InputError) as info:
        read_requirements(tmp_path)
    assert info.value.message == f"{tmp_path}: is a directory, not a requirements file"
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"six\ncaf\xe9\n")
    with pytest.raises(InputError) as info:
        read_requirements(bad)
    assert info.value.message == f"{bad}: is not UTF-8 text (invalid continuation byte at byte 7)"
    assert "save the file as UTF-8" in (info.value.hint or "")


def test_encodings_pip_recognizes(tmp_path: Path) -> None:
    bom8 = tmp_path / "bom8.txt"
    bom8.write_bytes(codecs.BOM_UTF8 + b"six\n")
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(codecs.BOM_UTF16_LE + "idna\n".encode("utf-16-le"))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"# -*- coding: latin-1 -*-\nsix ; platform_release == 'caf\xe9'\n")
    assert [str(r.requirement) for r in read_requirements(bom8).requirements] == ["six"]
    assert [str(r.requirement) for r in read_requirements(utf16).requirements] == ["idna"]
    assert [str(r.requirement) for r in read_requirements(latin1).requirements] == [
        'six; platform_release == "caf\u00e9"']
    unknown = tmp_path / "unknown.txt"
    unknown.write_bytes(b"# coding: no-such-codec\nsix\n")
    with pytest.raises(InputError, match=r"unknown.txt: declares an unknown encoding 'no-such-codec'$"):
        read_requirements(unknown)


# -- global options ---------------------------------------------------------------------------------------
def test_index_options_last_index_url_wins_and_pre() -> None:
    rs = parse_requirements(
        "-i https://example.invalid/first/\n"
        "--index-url=https://example.invalid/second/\n"
        "--pypi-url https://example.invalid/third/\n"
        "--extra-index-url https://example.invalid/e1/ --pre\n"
        "--extra-index-url=https://example.invalid/e2/\n"
        "--extra-index-url https://example.invalid/e1/\n"
    )
    assert rs.index_url == "https://example.invalid/third/"
    assert rs.extra_index_urls == ("https://example.invalid/e1/", "https://example.invalid/e2/")
    assert rs.pre is True
    assert rs.requirements == ()


def test_defaults_without_options() -> None:
    rs = parse_requirements("six\n")
    assert (rs.index_url, rs.extra_index_urls, rs.pre, rs.constraints, rs.sources) == (None, (), False, (), ())


def test_long_options_may_be_abbreviated_as_optparse_allows() -> None:
    rs = parse_requirements("--index=https://example.invalid/i/\n--extra https://example.invalid/e/\n")
    assert (rs.index_url, rs.extra_index_urls) == ("https://example.invalid/i/", ("https://example.invalid/e/",))
    err = error_of("--pr\n")
    assert err.message == "reqs.txt:1: ambiguous option --pr (--pre, --prefer-binary)\n    --pr"


def test_index_url_on_the_same_line_as_extra_is_fine_but_after_it_is_an_error() -> None:
    rs = parse_requirements("--extra-index-url https://example.invalid/e/ -i https://example.invalid/i/\n")
    assert (rs.index_url, rs.extra_index_urls) == ("https://example.invalid/i/", ("https://example.invalid/e/",))
    err = error_of("--extra-index-url https://example.invalid/e/\nsix\n-i https://example.invalid/i/\n")
    assert err.message.startswith("reqs.txt:3: -i (--index-url) after --extra-index-url")
    assert err.hint == ("pip drops the extra index URLs given before an --index-url line; "
                        "put --index-url before every --extra-index-url")


@pytest.mark.parametrize("line,option,hint", [
    ("-e ./local", "-e (--editable)", "editable installs are not supported"),
    ("--editable=git+https://example.invalid/x.git", "--editable", "`-e git+URL#egg=name`"),
    ("-f https://example.invalid/links/", "-f (--find-links)", "--extra-index-url"),
    ("--find-links=/tmp/wheels", "--find-links", "`name @ URL`"),
    ("--no-index", "--no-index", "choose it with --index-url"),
    ("--no-binary :all:", "--no-binary", "`nixgen --provider NAME=sdist`"),
    ("--only-binary=:all:", "--only-binary", "`nixgen --provider NAME=wheel`"),
    ("--prefer-binary", "--prefer-binary", "delete the line"),
    ("--require-hashes", "--require-hashes", "pins every file it uses by hash"),
    ("--no-require-hashes", "--no-require-hashes", "delete the line"),
    ("--all-releases :all:", "--all-releases", "use --pre"),
    ("--only-final :all:", "--only-final", "delete the line"),
    ("--trusted-host example.invalid", "--trusted-host", "https URL"),
    ("--use-feature=fast-deps", "--use-feature", "feature flags"),
    ("-C key=value", "-C (--config-settings)", "overrides file (--overrides)"),
    ("-Z", "-Z", "pip no longer accepts it either"),
    ("--always-unzip", "--always-unzip", "pip no longer accepts it either"),
    ("--global-option=--no-user-cfg", "--global-option", "pip removed it in 25.3"),
    ("--install-option=--prefix=/x", "--install-option", "pip removed it in 23.1"),
])
def test_options_nixgen_does_not_support_are_errors_at_file_and_line(line: str, option: str, hint: str) -> None:
    err = error_of(f"six\n\n{line}\n")
    assert err.message == f"reqs.txt:3: the option {option} is not supported\n    {line}"
    assert (err.path, err.line) == ("reqs.txt", 3)
    assert hint in (err.hint or "")


@pytest.mark.parametrize("line,option", [("--frobnicate", "--frobnicate"), ("--frob=1", "--frob"),
                                         ("-x foo", "-x")])
def test_unknown_options_are_errors(line: str, option: str) -> None:
    err = error_of(f"six\n{line}\n")
    assert err.message == f"reqs.txt:2: unknown option {option}\n    {line}"
    assert "pip does not accept it in a requirements file either" in (err.hint or "")


@pytest.mark.parametrize("text,message", [
    ("--index-url\n", "reqs.txt:1: the option --index-url needs a value"),
    ("--index-url=\n", "reqs.txt:1: the option --index-url needs a value"),
    ("-r\n", "reqs.txt:1: the option -r needs a value"),
    ("--pre=yes\n", "reqs.txt:1: the option --pre takes no value"),
    ("--pre six\n", "reqs.txt:1: unexpected 'six' after the options"),
    ("--pre --\n", "reqs.txt:1: unexpected '--' after the options"),
    ("-r a.txt --pre\n", "reqs.txt:1: -r (--requirement) shares its line with other options"),
    ("-r a.txt -c b.txt\n", "reqs.txt:1: -r (--requirement) shares its line with other options"),
    ("--hash=sha256:" + SHA_A + "\n", "reqs.txt:1: --hash without a requirement"),
    ("-r 'a.txt\n", "reqs.txt:1: cannot split the options (No closing quotation)"),
])
def test_option_lines_pip_would_misread_or_silently_drop(text: str, message: str) -> None:
    assert error_of(text).message.startswith(message + "\n")


# -- per-requirement options ------------------------------------------------------------------------------
def test_hash_spellings_normalization_and_duplicates() -> None:
    rs = parse_requirements(f"six==1.17.0 --hash sha256:{SHA_B.upper()} --hash=sha256:{SHA_A} "
                            f"--hash='sha512:{'b' * 128}' --hash=sha256:{SHA_A}\n")
    assert rs.requirements[0].hashes == (f"sha256:{SHA_B}", f"sha256:{SHA_A}", f"sha512:{'b' * 128}")
    assert str(rs.requirements[0].requirement) == "six==1.17.0"


def test_hash_after_a_marker() -> None:
    (req,) = parse_requirements(f'six ; python_version >= "3.8" --hash=sha384:{"c" * 96}\n').requirements
    assert str(req.requirement) == 'six; python_version >= "3.8"'
    assert req.hashes == (f"sha384:{'c' * 96}",)


@pytest.mark.parametrize("value,message", [
    ("sha256", "--hash 'sha256' is not algorithm:hex"),
    ("md5:" + "a" * 32, "--hash 'md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': pip allows only sha256, sha384, sha512"),
    ("SHA256:" + SHA_A, f"--hash 'SHA256:{SHA_A}': pip allows only sha256, sha384, sha512"),
    ("sha256:abc", "--hash 'sha256:abc': a sha256 digest is 64 hex digits"),
    ("sha256:" + "g" * 64, f"--hash 'sha256:{'g' * 64}': a sha256 digest is 64 hex digits"),
])
def test_bad_hashes(value: str, message: str) -> None:
    assert error_of(f"six\nidna --hash={value}\n").message.startswith(f"reqs.txt:2: {message}\n")


@pytest.mark.parametrize("line,message,hint", [
    ("six --global-option=x", "the option --global-option is not supported", "pip removed it in 25.3"),
    ("six --config-settings=a=b", "the option --config-settings is not supported", "overrides"),
    ("six -C a=b", "the option -C (--config-settings) is not supported", "overrides"),
    ("six -i https://example.invalid/i/", "the option -i (--index-url) cannot follow a requirement",
     "only --hash may follow a requirement (pip ignores --index-url there)"),
    ("six --pre", "the option --pre cannot follow a requirement", "put it on a line of its own"),
    ("six -r other.txt", "the option -r (--requirement) cannot follow a requirement", "only --hash"),
    ("six -e ./x", "the option -e (--editable) is not supported", "editable installs"),
    (f"six --hash=sha256:{SHA_A} idna", "unexpected 'idna' after the options of a requirement", "pip ignores it"),
])
def test_per_requirement_options_other_than_hash_are_errors(line: str, message: str, hint: str) -> None:
    err = error_of(f"# header\n{line}\n")
    assert err.message == f"reqs.txt:2: {message}\n    {line}"
    assert hint in (err.hint or "")


# -- requirement lines ------------------------------------------------------------------------------------
def test_pep_508_names_extras_specifiers_markers_and_direct_references() -> None:
    rs = parse_requirements(
        "Requests[Socks, security] >=2.31, <3 ; python_version < '3.12' and sys_platform != 'win32'\n"
        "zope.interface~=7.0\n"
        "docrep @ https://example.invalid/docrep-0.3.2.tar.gz\n"
        "pkg[x] @ https://example.invalid/pkg-1.0-py3-none-any.whl ; python_version >= '3.11'\n"
        "local @ file:///srv/wheels/local-1.0-py3-none-any.whl\n"
        "six;\n"
    )
    reqs = [r.requirement for r in rs.requirements]
    assert [r.name for r in reqs] == ["Requests", "zope.interface", "docrep", "pkg", "local", "six"]
    assert reqs[0].extras == {"socks", "security"} or reqs[0].extras == {"Socks", "security"}
    assert str(reqs[0].specifier) == "<3,>=2.31"
    assert str(reqs[0].marker) == 'python_version < "3.12" and sys_platform != "win32"'
    assert reqs[0].url is None
    assert str(reqs[1].specifier) == "~=7.0"
    assert reqs[2].url == "https://example.invalid/docrep-0.3.2.tar.gz"
    assert reqs[2].marker is None
    assert (reqs[3].url, reqs[3].extras, str(reqs[3].marker)) == (
        "https://example.invalid/pkg-1.0-py3-none-any.whl", {"x"}, 'python_version >= "3.11"')
    assert reqs[4].url == "file:///srv/wheels/local-1.0-py3-none-any.whl"
    assert (reqs[5].marker, str(reqs[5].specifier)) == (None, "")  # pip reads `name;` as no marker


@pytest.mark.parametrize("marker", ["; python_version >= '3.11'", ";python_version >= '3.11'"])
def test_a_marker_after_a_url_needs_a_space_before_the_semicolon(marker: str) -> None:
    err = error_of(f"pkg @ https://example.invalid/pkg-1.0.tar.gz{marker}\n")
    assert err.message.startswith(
        "reqs.txt:1: no space between the URL https://example.invalid/pkg-1.0.tar.gz and the ';' of its marker\n")
    assert err.hint == ("PEP 508 needs a space between a URL and the ';' of its marker: `name @ URL ; marker`")


def test_the_same_project_twice_is_kept_in_order() -> None:
    assert specs("six>=1\nidna\nsix<2 ; python_version >= '3'\n") == [
        ("six>=1", 1), ("idna", 2), ('six<2; python_version >= "3"', 3)]


@pytest.mark.parametrize("line,hint", [
    ("./pkg", "local projects are not supported yet"),
    ("../pkg[extra]", "`name @ file:///absolute/path/to/file`"),
    ("/abs/pkg ; python_version > '3'", "local projects are not supported yet"),
    ("subdir/pkg", "local projects are not supported yet"),
    ("pkg-1.0-py3-none-any.whl", "local projects are not supported yet"),
    ("pkg-1.0.tar.gz", "local projects are not supported yet"),
])
def test_local_paths_without_a_name_are_refused(line: str, hint: str) -> None:
    err = error_of(f"{line}\n")
    assert err.message == f"reqs.txt:1: a local path is not a requirement nixgen reads\n    {line}"
    assert hint in (err.hint or "")


@pytest.mark.parametrize("line,hint", [
    ("https://example.invalid/pkg-1.0.tar.gz", "write `name @ https://example.invalid/pkg-1.0.tar.gz`"),
    ("https://example.invalid/pkg-1.0.tar.gz#egg=pkg", "write `pkg @ https://example.invalid/pkg-1.0.tar.gz`"),
    ("git+https://example.invalid/pkg.git@v1", "write `name @ git+https://example.invalid/pkg.git@v1`"),
    ("file:///srv/pkg-1.0.tar.gz", "local projects are not supported yet"),
])
def test_urls_without_a_name_are_refused(line: str, hint: str) -> None:
    err = error_of(f"{line}\n")
    assert err.message == f"reqs.txt:1: a URL without a project name is not a requirement nixgen reads\n    {line}"
    assert hint in (err.hint or "")


@pytest.mark.parametrize("line,expected", [
    ("git+https://example.invalid/r.git@v1#egg=pkg", "pkg @ git+https://example.invalid/r.git@v1"),
    ("git+https://example.invalid/r@v1#subdirectory=py&egg=pkg[x] ; python_version > '3'",
     'pkg[x] @ git+https://example.invalid/r@v1#subdirectory=py ; python_version > "3"'),
    ("-e git+file:///srv/r#egg=pkg", "pkg @ git+file:///srv/r"),
    ("--editable=git+https://example.invalid/r@main#egg=pkg", "pkg @ git+https://example.invalid/r@main"),
])
def test_git_urls_naming_their_project_are_direct_references(line: str, expected: str) -> None:
    (req,) = parse_requirements(f"{line}\n", path="reqs.txt").requirements
    assert str(req.requirement) == expected and req.origin.line == 1


def test_a_direct_reference_must_be_a_url() -> None:
    err = error_of("pkg @ ./dist/pkg-1.0.tar.gz\n")
    assert err.message == "reqs.txt:1: './dist/pkg-1.0.tar.gz' is not a URL\n    pkg @ ./dist/pkg-1.0.tar.gz"
    assert "local projects are not supported yet" in (err.hint or "")


@pytest.mark.parametrize("line,reason,hint", [
    ("numpy >>= 1", "Expected semicolon (after name with no version specifier) or end", None),
    ("six = 1.0", "Expected semicolon (after name with no version specifier) or end",
     "= is not a version operator; did you mean ==?"),
    ("six[ ==1", "Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras", None),
    ("six ; python_version >> '3'", "Expected a marker variable or quoted string", None),
])
def test_malformed_lines_name_file_line_text_and_reason(line: str, reason: str, hint: str | None) -> None:
    err = error_of(f"idna\n{line}  # comment\n")
    assert err.message == f"reqs.txt:2: not a valid PEP 508 requirement: {reason}\n    {line}  # comment"
    assert err.hint == hint


# -- constraints ------------------------------------------------------------------------------------------
def test_constraints_keep_hashes_markers_and_urls_but_not_extras(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", f"six==1.17.0 --hash=sha256:{SHA_A}\nidna<4 ; python_version >= '3.9'\n"
                              "pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl\n")
    rs = read_requirements(write(tmp_path / "r.txt", "-c c.txt\nsix\n"))
    assert [(str(c.requirement), c.hashes) for c in rs.constraints] == [
        ("six==1.17.0", (f"sha256:{SHA_A}",)), ('idna<4; python_version >= "3.9"', ()),
        ("pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl", ())]
    write(tmp_path / "c.txt", "six\nrequests[socks]<3\n")
    with pytest.raises(InputError) as info:
        read_requirements(tmp_path / "r.txt")
    assert info.value.message == (f"{tmp_path}/c.txt:2: Constraints cannot have extras (pip refuses them too)"
                                  "\n    requests[socks]<3")
    assert info.value.hint == "write the constraint without [socks]"


# -- agreement with pip itself ----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_agrees_with_pip_on_what_both_accept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the installed pip's parser is importable, it must read the same requirements, lines and hashes."""
    req_file = pytest.importorskip("pip._internal.req.req_file")
    session_mod = pytest.importorskip("pip._internal.network.session")
    monkeypatch.setenv("NIXGEN_T_PIN", "3.10")
    write(tmp_path / "sub" / "c.txt", "idna<4\n# c\n-r ../more.txt\n")
    write(tmp_path / "more.txt", "certifi \\\n  >=2024 \\\n  # trailing\n")
    top = write(tmp_path / "r.txt", (
        "# header\n"
        "six==1.17.0 \\\n"
        f"    --hash=sha256:{SHA_A} \\\n"
        f"    --hash sha256:{SHA_B}\n"
        "   # via x\n"
        "requests[socks] >=2.31 ; python_version >= '3.9'  # why\n"
        "idna==${NIXGEN_T_PIN}\n"
        "-c sub/c.txt\n"
        "pkg @ https://example.invalid/pkg-1.0.tar.gz#sha256=" + SHA_A + "\n"
        "six  # again \\\n"
        "swallowed\n"
        "zope.interface\\\n"
    ))
    theirs = []
    for parsed in req_file.parse_requirements(str(top), session=session_mod.PipSession()):
        hashes = tuple(f"{algo}:{d.lower()}" for algo, ds in (parsed.options or {}).get("hashes", {}).items()
                       for d in ds)
        source = parsed.comes_from.split(" ", 1)[1]  # "-r FILE (line N)"
        path, _, line = source.rpartition(" (line ")
        theirs.append((parsed.constraint, os.path.normpath(path), int(line.rstrip(")")),
                       parsed.requirement.strip(), sorted(hashes)))
    rs = read_requirements(top)
    ours = [(constraint, os.path.normpath(os.path.abspath(u.origin.path)), u.origin.line, None, sorted(u.hashes))
            for constraint, group in ((False, rs.requirements), (True, rs.constraints)) for u in group]
    assert sorted((c, p, n, h) for c, p, n, _, h in theirs) == sorted((c, p, n, h) for c, p, n, _, h in ours)
    from packaging.requirements import Requirement
    by_place = {(p, n): str(Requirement(text)) for _, p, n, text, _ in theirs}
    for group in (rs.requirements, rs.constraints):
        for u in group:
            assert by_place[(os.path.normpath(os.path.abspath(u.origin.path)), u.origin.line)] == str(u.requirement)
