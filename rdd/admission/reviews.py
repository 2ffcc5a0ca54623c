"""What each kind's admission rules look like, and small accessors on a
`Review` they share.

A kind's rules are one object with controller-runtime's Defaulter and
Validator[T] methods: `default`, `validate_create`, `validate_update`,
`validate_delete`. The dispatcher (rdd.admission.webhooks) picks the method
for the operation and runs the guards every kind shares itself (only the
owner deletes or releases an owned object; subresource writes change no
field a rule judges), so a kind's rules say only what is particular to it.
"""

from __future__ import annotations

from typing import Any

from rdd.admission.lookup import Lookup
from rdd.store.review import Review


class KindRules:
    """One kind's admission; the base admits everything as it is."""

    def default(self, obj: Any, old: Any | None) -> Any:
        """The object to write instead of `obj` (old None: a CREATE). Pure;
        returns `obj` itself when there is nothing to default, else a copy."""
        return obj

    async def validate_create(self, obj: Any, lookup: Lookup) -> list[str]:
        """Why creating `obj` (as defaulted) is refused, or nothing."""
        return []

    async def validate_update(self, obj: Any, old: Any, lookup: Lookup) -> list[str]:
        """Why replacing `old` with `obj` (as defaulted) is refused, or nothing."""
        return []

    async def validate_delete(self, old: Any, lookup: Lookup) -> list[str]:
        """Why deleting `old` is refused beyond the ownership guard, or nothing."""
        return []


def written(review: Review) -> Any:
    """The object a CREATE or UPDATE writes; a review without one is a caller's bug."""
    if review.obj is None:
        raise ValueError(f"{review.operation} review of a {review.kind.kind} carries no object")
    return review.obj
