"""Resolution over nixpkgs and the index for one target (resolvelib)."""

from nixgen.resolve.model import Artifact, Pin, Relaxation, Resolution
from nixgen.resolve.resolver import ResolveOptions, resolve
from nixgen.resolve.target import SYSTEMS, Target

__all__ = ["SYSTEMS", "Artifact", "Pin", "Relaxation", "Resolution", "ResolveOptions", "Target", "resolve"]
