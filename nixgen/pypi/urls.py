"""URLs of package indexes: credentials taken out of them, and URLs made safe to show.

An index URL may carry credentials (``https://user:password@host/simple/``, RFC 3986 userinfo) or a secret
query parameter (``?token=...``). nixgen keeps credentials in memory only: :func:`split_credentials` takes
the userinfo out of an index URL (the HTTP layer sends it to that scheme, host and port), so no URL that
reaches a lock, a flake or a report carries it; :func:`redact_url` masks what is left in messages, the way
pip shows such URLs (password as ``****``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["Origin", "origin", "redact_url", "split_credentials", "strip_userinfo"]

Origin = tuple[str, str, int | None]  # (scheme, host, port) as RFC 6454 compares them, lower-case

MASK = "****"
# Query parameters that hold secrets in the URLs of private indexes and signed downloads (lower-case).
SECRET_PARAMETERS = frozenset({
    "token", "access_token", "auth", "auth_token", "key", "api_key", "apikey", "password", "passwd", "secret",
    "signature", "sig", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
    "x-goog-credential", "client_secret",
})


def _netloc(host: str | None, port: int | None) -> str:
    name = host or ""
    if ":" in name:  # an IPv6 literal
        name = f"[{name}]"
    return f"{name}:{port}" if port is not None else name


def origin(url: str) -> Origin:
    """``(scheme, host, port)`` of ``url``; the port is None when the URL names none."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def strip_userinfo(url: str) -> str:
    """``url`` without its userinfo (``user:password@``); other parts unchanged."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, _netloc(parts.hostname, port), parts.path, parts.query, parts.fragment))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without userinfo, and the ``(user, password)`` it carried (percent-decoded), if any."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    return strip_userinfo(url), (user, password)


def redact_url(url: str) -> str:
    """``url`` as it may be shown: a password becomes ``****`` (``http://user:****@host/``, as pip shows it)
    and so does the value of a secret query parameter (``?token=****``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<a URL nixgen cannot parse>"
    netloc = parts.netloc
    if "@" in netloc:
        user = parts.username or ""
        shown = f"{user}:{MASK}" if parts.password is not None else MASK
        netloc = f"{shown}@{_netloc(parts.hostname, port)}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMETERS for k, _ in pairs):
            query = urlencode([(k, MASK if k.lower() in SECRET_PARAMETERS else v) for k, v in pairs],
                              safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
