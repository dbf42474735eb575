"""Credentials never leave memory: an index behind HTTP basic auth, reached with the credentials in the URL,
works, and no file URL, message or exception text carries the password (issue 11, item 3)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from nixgen.errors import IndexAccessError, NixgenError, ProjectNotFound, UsageError
from nixgen.pypi import Index
from nixgen.pypi.urls import redact_url, split_credentials, strip_userinfo
from tests.indexserver import FixtureIndex, IndexServer

Make = Callable[[Path], IndexServer]
SECRET = "s3cr3t-pa55"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:pw@host/simple/", "https://user:****@host/simple/"),
    ("https://token@host:8443/simple/", "https://****@host:8443/simple/"),
    ("https://user:@host/", "https://user:****@host/"),
    ("http://host/simple/?token=abc&x=1", "http://host/simple/?token=****&x=1"),
    ("http://host/f.whl?X-Amz-Signature=abc&access_token=t&key=k", "http://host/f.whl?X-Amz-Signature=****&"
                                                                   "access_token=****&key=****"),
    ("http://[::1]:3141/simple/", "http://[::1]:3141/simple/"),
    ("http://u:p@[::1]:3141/simple/", "http://u:****@[::1]:3141/simple/"),
    ("http://host/plain/", "http://host/plain/"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_split_credentials() -> None:
    assert split_credentials("https://us%40er:p%3Aw@host:1/simple/") == ("https://host:1/simple/", ("us@er", "p:w"))
    assert split_credentials("https://host/simple/") == ("https://host/simple/", None)
    assert strip_userinfo("http://a:b@h/x#frag") == "http://h/x#frag"


@pytest.fixture()
def private(tmp_path: Path, make_index_server: Make) -> IndexServer:
    idx = FixtureIndex(tmp_path / "index")
    idx.add_wheel("private-pkg", "1.0", requires=["dep"])
    idx.add_wheel("private-pkg", "2.0", pep658=False)
    server = make_index_server(idx.write())
    server.auth = ("user", SECRET)
    return server


def authed(server: IndexServer) -> str:
    return server.url.replace("http://", f"http://user:{SECRET}@")


def test_an_index_behind_basic_auth_works_and_no_url_carries_the_password(private: IndexServer,
                                                                          tmp_path: Path) -> None:
    fetched: list[str] = []
    with Index([authed(private)], cache_dir=tmp_path / "cache", backoff=0.01,
               on_fetch=lambda url, _n: fetched.append(url)) as index:
        assert SECRET not in "".join(index.urls)
        files = index.project("private-pkg").files
        assert [f.filename for f in files] == ["private_pkg-1.0-py3-none-any.whl",
                                               "private_pkg-2.0-py3-none-any.whl"]
        one, two = files
        assert [str(r) for r in index.metadata(one).requires_dist] == ["dep"]  # .metadata, authenticated
        assert index.metadata(two).source == "range"  # range requests, authenticated
        index.artifact(two)  # a download, authenticated
    for file in files:
        assert file.url.startswith(private.base) and SECRET not in file.url and "@" not in file.url
    assert fetched and not [u for u in fetched if SECRET in u]
    assert private.count() > 0 and all(r.status != 401 for r in private.requests)


def test_without_credentials_the_index_says_so(private: IndexServer, tmp_path: Path) -> None:
    with Index([private.url], cache_dir=tmp_path / "cache") as index, pytest.raises(IndexAccessError) as err:
        index.project("private-pkg")
    assert "401" in err.value.message and err.value.hint and "credentials" in err.value.hint


def _texts(err: BaseException) -> str:
    """Everything an exception could show: its message, hint, and the whole formatted chain."""
    parts = ["".join(traceback.format_exception(err))]
    if isinstance(err, NixgenError):
        parts += [err.render()]
    return "\n".join(parts)


def test_errors_do_not_carry_the_password(private: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    errors: list[BaseException] = []
    with Index([authed(private)], cache_dir=cache, retries=2, backoff=0.01) as index:
        with pytest.raises(ProjectNotFound) as missing:
            index.project("nothing-here")
        errors.append(missing.value)
        private.fail(10, 500)
        with pytest.raises(IndexAccessError) as broken:
            index.project("private-pkg")
        errors.append(broken.value)
    private.reset()
    with Index([authed(private)], cache_dir=cache, retries=2, backoff=0.01) as index:
        private.fail(10, 404, path=".metadata")
        private.fail(10, 403, path=".whl")
        (_, two) = index.project("private-pkg").files
        with pytest.raises(IndexAccessError) as refused:
            index.metadata(two)
        errors.append(refused.value)
    with pytest.raises(UsageError) as usage:
        Index([f"ftp://user:{SECRET}@host/simple/"], cache_dir=cache)
    errors.append(usage.value)
    unreachable = Index([f"http://user:{SECRET}@127.0.0.1:9/simple/?token={SECRET}"], cache_dir=cache, retries=1,
                        timeout=1.0)
    with unreachable, pytest.raises(IndexAccessError) as down:
        unreachable.project("x")
    errors.append(down.value)
    for err in errors:
        text = _texts(err)
        assert SECRET not in text, text
    assert "user:****@" in _texts(usage.value)
    assert "127.0.0.1:9" in down.value.message


def test_a_direct_reference_with_credentials(private: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{private.base}/files/private_pkg-1.0-py3-none-any.whl".replace("http://", f"http://user:{SECRET}@")
    with Index([authed(private)], cache_dir=cache) as index:
        file, md = index.direct("private-pkg", url)
    assert [str(r) for r in md.requires_dist] == ["dep"]
    assert file.url == f"{private.base}/files/private_pkg-1.0-py3-none-any.whl"
    for stored in cache.rglob("*"):  # neither the database nor any file name holds the password
        assert SECRET not in stored.name
        if stored.is_file():
            assert SECRET.encode() not in stored.read_bytes()


def test_credentials_from_pip_configuration(private: IndexServer, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", authed(private))
    with Index(None, cache_dir=tmp_path / "cache") as index:
        assert index.urls == (private.url,)
        files = index.project("private-pkg").files
        assert [str(r) for r in index.metadata(files[0]).requires_dist] == ["dep"]
    assert all(SECRET not in f.url for f in files)
