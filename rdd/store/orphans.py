"""Which name claims and owner-index entries have lost their object (pure).

Both are keys the store writes in the same transaction as the object they
describe, so via the API they never outlive it. If the object's key vanishes
some other way (an outside writer, a restore, a bug), the leftovers would
block the name ("already used in namespace") or point at nothing forever.
The collector finds them here and removes each with a compare-and-delete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdd.kinds import ALL_KINDS, Kind
from rdd.store.keys import KeyLayout


@dataclass(frozen=True)
class StoredKey:
    """One key as read: its mod_revision, and its value (empty when keys-only)."""

    key: bytes
    mod_revision: int
    value: bytes = b""


@dataclass(frozen=True)
class Orphan:
    """An entry (claim or index) whose object key does not exist. Removing it
    is safe only while the object is still absent and the entry unchanged."""

    key: bytes
    mod_revision: int
    object_key: bytes


def _kind(plural: str) -> Kind | None:
    return next((k for k in ALL_KINDS if k.plural == plural), None)


def claim_object_key(layout: KeyLayout, claim: StoredKey) -> bytes | None:
    """`<prefix>/names/<plural>/<name>` holding the namespace -> the object's key."""
    plural, _, name = claim.key.decode(errors="replace").rpartition("/")
    kind = _kind(plural.rpartition("/")[2])
    if kind is None or not name:
        return None
    return layout.object_key(kind, claim.value.decode(errors="replace"), name)


def index_object_key(layout: KeyLayout, entry: StoredKey) -> bytes | None:
    """`<prefix>/owners/<uid>/<plural>/<ns>/<name>` -> the owned object's key."""
    parts = entry.key.decode(errors="replace").split("/")
    if len(parts) < 3:
        return None
    plural, namespace, name = parts[-3:]
    kind = _kind(plural)
    if kind is None or not name:
        return None
    return layout.object_key(kind, namespace, name)


def find_orphans(
    layout: KeyLayout,
    claims: Iterable[StoredKey],
    index: Iterable[StoredKey],
    objects: set[bytes],
) -> list[Orphan]:
    """Claims and index entries whose object is not in `objects` (all read at
    one revision). Entries whose key this layout cannot read are left alone:
    nothing is removed on a guess."""
    found = []
    for entry, object_key in [
        *((c, claim_object_key(layout, c)) for c in claims),
        *((e, index_object_key(layout, e)) for e in index),
    ]:
        if object_key is not None and object_key not in objects:
            found.append(Orphan(entry.key, entry.mod_revision, object_key))
    return found
