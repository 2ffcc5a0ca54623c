"""Finalizer list edits on an object's metadata (in memory only)."""

from __future__ import annotations

from typing import Any


def has_finalizer(obj: Any, finalizer: str) -> bool:
    return finalizer in obj.metadata.finalizers


def add_finalizer(obj: Any, finalizer: str) -> bool:
    """Append once; returns whether the object changed."""
    if finalizer in obj.metadata.finalizers:
        return False
    obj.metadata.finalizers.append(finalizer)
    return True


def remove_finalizer(obj: Any, finalizer: str) -> bool:
    """Remove every occurrence; returns whether the object changed."""
    kept = [f for f in obj.metadata.finalizers if f != finalizer]
    if len(kept) == len(obj.metadata.finalizers):
        return False
    del obj.metadata.finalizers[:]
    obj.metadata.finalizers.extend(kept)
    return True


def is_deleting(obj: Any) -> bool:
    return bool(obj.metadata.deletion_timestamp)
