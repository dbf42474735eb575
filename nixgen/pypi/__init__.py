"""The package index: PEP 691/503 project pages, PEP 658 metadata, HTTP range reads, a SQLite cache."""

from nixgen.pypi.client import Index
from nixgen.pypi.config import default_index_url
from nixgen.pypi.model import CoreMetadata, DistFile, ProjectFiles

__all__ = ["CoreMetadata", "DistFile", "Index", "ProjectFiles", "default_index_url"]
