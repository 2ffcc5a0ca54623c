"""The delete guard every owned object shares: only its owner may delete it.

Called by each kind's rules on DELETE. The owner first drops the owned-by
finalizer through ReleaseOwnership, then deletes; anyone else is told whom
to delete instead.
"""

from __future__ import annotations

from typing import Any

from rdd.meta.names import OWNED_FINALIZER_PREFIX


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
