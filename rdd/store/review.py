"""A write as admission sees it, and the hooks a write path calls: the
admission hook itself, and the companions created with a parent.

Their own module so admission, its client and the servicers name a review
without importing the write paths (rdd.store.registry)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rdd.kinds import Kind


@dataclass(frozen=True)
class Review:
    """One write as admission sees it."""

    operation: str  # CREATE, UPDATE or DELETE
    kind: Kind
    obj: Any | None
    old: Any | None
    dry_run: bool
    subresource: str = ""


#: Mutate then validate; returns the object to write, raises ForbiddenError.
Admit = Callable[[Review], Awaitable[Any]]
#: (kind, object) pairs: what companions are built from, and what they are.
KindObjects = list[tuple[Kind, Any]]


class Companions(Protocol):
    """Objects created in the same transaction as a new parent (a LimaVM's
    template), copied from others (the ConfigMap its templateRef names).

    They are admitted with their parent: `read` runs before the parent's
    review, which judges the same sources, and the create commits only
    while those are unchanged (a compare in its transaction). So what is
    copied is what was judged, and no second review repeats the checks."""

    async def read(self, parent: Any, *, fresh: bool) -> KindObjects:
        """The sources: as cached (a guess the create's compare proves) or,
        `fresh`, as stored now. One that is missing is left out (the parent's
        review names it, and `build` refuses to go without it)."""
        ...

    def build(self, parent: Any, sources: KindObjects) -> KindObjects:
        """The companions of `parent` as it is created (uid set). Pure."""
        ...
