"""The guards every owned object shares: only its owner may delete it, and
only its owner may release it.

Called by the dispatcher: on every DELETE, and on every
UPDATE. The owner first drops the owned-by finalizer through
ReleaseOwnership, then deletes; anyone else is told whom to delete instead.
"""

from __future__ import annotations

from typing import Any

from rdd.meta.names import OWNED_FINALIZER_PREFIX
from rdd.meta.owners import controller_ref
from rdd.store.review import Review


def owned_delete_problems(old: Any) -> list[str]:
    """Why deleting `old` is refused (it carries an owned-by-<Kind> finalizer),
    or nothing. Pure."""
    for finalizer in old.metadata.finalizers:
        if finalizer.startswith(OWNED_FINALIZER_PREFIX):
            owner = finalizer.removeprefix(OWNED_FINALIZER_PREFIX)
            return [
                f'cannot delete "{old.metadata.name}": owned by {owner}; '
                f"delete the {owner} resource instead"
            ]
    return []


def _controller_key(obj: Any) -> tuple[str, str, str, str, bool] | None:
    ref = controller_ref(obj)
    if ref is None:
        return None
    return (ref.api_version, ref.kind, ref.name, ref.uid, ref.block_owner_deletion)


def _owned_finalizers(obj: Any) -> set[str]:
    return {f for f in obj.metadata.finalizers if f.startswith(OWNED_FINALIZER_PREFIX)}


def ownership_change_problems(review: Review) -> list[str]:
    """Why an update is refused for changing who owns the object, or nothing
    (pure). Ownership is set when the owner creates the child and released
    only by the owner's service through ReleaseOwnership (the "ownership"
    subresource): no other write may drop or add an owned-by finalizer or
    change the controller ownerReference, or anyone could free the child of
    its owner and delete it."""
    if review.operation != "UPDATE" or review.subresource == "ownership":
        return []
    if review.obj is None or review.old is None:
        return []
    name = review.old.metadata.name
    problems = []
    old, new = _owned_finalizers(review.old), _owned_finalizers(review.obj)
    for finalizer in sorted(old - new):
        problems.append(
            f'cannot remove finalizer "{finalizer}" from "{name}": only its owner releases '
            "it (ReleaseOwnership); delete the owner instead"
        )
    for finalizer in sorted(new - old):
        problems.append(
            f'cannot add finalizer "{finalizer}" to "{name}": ownership is set by the owner '
            "when it creates the object"
        )
    if _controller_key(review.old) != _controller_key(review.obj):
        problems.append(
            f'cannot change the controller ownerReference of "{name}": ownership is set by '
            "the owner at creation and released only by it (ReleaseOwnership)"
        )
    return problems
