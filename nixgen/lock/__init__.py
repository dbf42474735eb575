"""The lock: the cut between resolving and rendering. Its model, and PEP 751 pylock.toml read and written
from one schema."""

from nixgen.lock.model import (
    Alternative,
    Lock,
    LockOptions,
    NixpkgsPin,
    OverrideFile,
    OverridesRef,
    SnapshotRef,
    SystemFailure,
    Trade,
)

__all__ = ["Alternative", "Lock", "LockOptions", "NixpkgsPin", "OverrideFile", "OverridesRef", "SnapshotRef",
           "SystemFailure", "Trade"]
