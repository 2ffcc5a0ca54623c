"""What releasing and deleting do to one object (pure): the owned-by
finalizer and controller reference dropped, for the controller only; a
delete that removes an object no finalizer holds, or marks it deleting."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rdd.errors import ForbiddenError
from rdd.kinds import Kind
from rdd.meta.conditions import now_rfc3339
from rdd.meta.finalizers import remove_finalizer
from rdd.meta.names import owned_finalizer
from rdd.meta.owners import controller_ref, remove_owner_reference
from rdd.store import rules


def released(kind: Kind, old: Any, owner_uid: str, released_by: Collection[str]) -> Any | None:
    """`old` without the owned-by finalizer and controller reference of
    `owner_uid` (None when it has no controller); refused for anyone else."""
    ref = controller_ref(old)
    if ref is None:
        return None
    name = old.metadata.name
    if ref.kind not in released_by:
        raise ForbiddenError(
            f'cannot release "{name}": it is owned by {ref.kind} "{ref.name}", and '
            f"only the {ref.kind} controller's service may release it"
        )
    if ref.uid != owner_uid:
        raise ForbiddenError(
            f'cannot release "{name}": it is controlled by {ref.kind} "{ref.name}" '
            f"(uid {ref.uid}), not by uid {owner_uid}"
        )
    freed = kind.message()
    freed.CopyFrom(old)
    remove_finalizer(freed, owned_finalizer(ref.kind))
    remove_owner_reference(freed, owner_uid)
    return freed


def deleted(kind: Kind, old: Any) -> Any:
    """`old` deleted: gone when no finalizer holds it, else marked deleting."""
    if not old.metadata.finalizers:
        gone = kind.message()
        gone.CopyFrom(old)
        gone.metadata.deletion_timestamp = gone.metadata.deletion_timestamp or now_rfc3339()
        return gone
    return rules.mark_deleting(kind, old, now=now_rfc3339())
