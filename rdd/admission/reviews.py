"""Small accessors on a `Review` shared by the kinds' rules."""

from __future__ import annotations

from typing import Any

from rdd.store.registry import Review


def written(review: Review) -> Any:
    """The object a CREATE or UPDATE writes; a review without one is a caller's bug."""
    if review.obj is None:
        raise ValueError(f"{review.operation} review of a {review.kind.kind} carries no object")
    return review.obj
