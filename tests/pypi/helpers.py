"""Small helpers for the index tests: an Index with fast retries pointed at a test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nixgen.pypi import Index
from tests.indexserver import IndexServer


def index_for(server: IndexServer | list[IndexServer], cache: Path, **options: Any) -> Index:
    servers = server if isinstance(server, list) else [server]
    options.setdefault("backoff", 0.01)
    options.setdefault("timeout", 5.0)
    return Index([s.url for s in servers], cache_dir=cache, **options)
