"""Metadata that only a build can tell: the PEP 517 ``prepare_metadata_for_build_wheel`` hook, run by the
`build` package in an isolated, temporary environment, in a separate process with a timeout.

This runs the package's own build backend (its code), which is why the caller logs it and
``--no-build-metadata`` forbids it.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from nixgen.errors import MetadataError
from nixgen.pypi.metadata import parse_metadata
from nixgen.pypi.model import CoreMetadata

_HOOK = """
import sys
from build.util import project_wheel_metadata
meta = project_wheel_metadata(sys.argv[1], isolated=True)
sys.stdout.write(meta.as_string() if hasattr(meta, "as_string") else str(meta))
"""


def _unpack(sdist: Path, dest: Path) -> Path:
    """Extract an sdist (tar or zip) safely and return its top directory."""
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as archive:
            for name in archive.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise MetadataError(f"{sdist.name} has an unsafe path {name!r}")
            archive.extractall(dest)
    else:
        with tarfile.open(sdist) as archive:
            archive.extractall(dest, filter="data")
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else dest


def metadata_from_build(sdist: Path, *, index_urls: list[str], timeout: float = 300.0) -> CoreMetadata:
    """Run the sdist's metadata hook in an isolated environment; its build requirements come from
    ``index_urls`` (the same indexes nixgen resolves against)."""
    import os

    sys.stderr.write(f"nixgen: running the build backend of {sdist.name} to learn its dependencies "
                     f"(PEP 517 metadata hook, isolated, {timeout:g} s at most)\n")
    with tempfile.TemporaryDirectory(prefix="nixgen-metadata-") as tmp:
        source = _unpack(sdist, Path(tmp))
        env = dict(os.environ)
        if index_urls:
            env["PIP_INDEX_URL"] = index_urls[0]
            env["PIP_EXTRA_INDEX_URL"] = " ".join(index_urls[1:])
        try:
            proc = subprocess.run([sys.executable, "-c", _HOOK, str(source)], capture_output=True, text=True,
                                  timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise MetadataError(f"{sdist.name}: its build backend did not produce metadata within {timeout:g} s",
                                hint="pick a version with a wheel (--provider NAME=wheel) or add its "
                                     "dependencies with --overrides") from None
        if proc.returncode != 0:
            tail = " ".join(proc.stderr.strip().splitlines()[-3:])
            raise MetadataError(f"{sdist.name}: its build backend failed to produce metadata: {tail}",
                                hint="pick a version with a wheel (--provider NAME=wheel) or add its "
                                     "dependencies with --overrides")
        return parse_metadata(proc.stdout, source="build", trusted=True, where=sdist.name)
