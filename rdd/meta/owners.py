"""Owner references: who controls an object, and setting that in memory."""

from __future__ import annotations

from typing import Any

from rdd.api.meta.v1 import meta_pb2


def controller_ref(obj: Any) -> meta_pb2.OwnerReference | None:
    """The ownerReference with controller=true, if any."""
    for ref in obj.metadata.owner_references:
        if ref.controller:
            return ref
    return None


def is_controlled_by(obj: Any, owner_uid: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.uid == owner_uid


def set_controller_reference(child: Any, owner: Any) -> None:
    """Make `owner` the controller of `child` (replacing any other controller)."""
    kept = [r for r in child.metadata.owner_references if not r.controller]
    del child.metadata.owner_references[:]
    child.metadata.owner_references.extend(kept)
    child.metadata.owner_references.append(
        meta_pb2.OwnerReference(
            api_version=owner.api_version,
            kind=owner.kind,
            name=owner.metadata.name,
            uid=owner.metadata.uid,
            controller=True,
            block_owner_deletion=True,
        )
    )


def remove_owner_reference(child: Any, owner_uid: str) -> bool:
    """Drop every reference to `owner_uid`; returns whether the child changed."""
    kept = [r for r in child.metadata.owner_references if r.uid != owner_uid]
    if len(kept) == len(child.metadata.owner_references):
        return False
    del child.metadata.owner_references[:]
    child.metadata.owner_references.extend(kept)
    return True


def owner_uids(obj: Any) -> set[str]:
    return {r.uid for r in obj.metadata.owner_references if r.uid}
