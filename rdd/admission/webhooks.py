"""The dispatcher: sends each review to its kind's rules and names the webhook
that decided, as Kubernetes' `admission webhook "<name>" denied the request`.

Called by the admission service for every Mutate and Validate request.
Events are never reviewed (controllers record them straight into the
store); a review of a kind without rules, Events included, is denied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rdd.admission import apps, configmaps, limavms
from rdd.admission.lookup import Lookup
from rdd.admission.ownership import ownership_change_problems
from rdd.errors import ForbiddenError
from rdd.kinds import APP, CONFIGMAP, LIMAVM, Kind
from rdd.store.registry import Review

PHASES = ("mutate", "validate")
#: Core-group kinds (ConfigMap, Event) are reviewed by the LimaVM side's rules.
_CORE_WEBHOOK_GROUP = LIMAVM.group


class AdmissionDeniedError(ForbiddenError):
    """A validating webhook refused the write; `webhook` names it."""

    def __init__(self, webhook: str, message: str) -> None:
        super().__init__(message)
        self.webhook = webhook


@dataclass(frozen=True)
class _Rules:
    """One kind's admission: a pure mutation and its validation."""

    mutate: Callable[[Review], Any]
    problems: Callable[[Review, Lookup], Awaitable[list[str]]]


def _pure(
    decide: Callable[[Review], list[str]],
) -> Callable[[Review, Lookup], Awaitable[list[str]]]:
    """Adapts a validation that needs no lookup to the table's async shape."""

    async def problems(review: Review, lookup: Lookup) -> list[str]:
        return decide(review)

    return problems


_RULES: dict[str, _Rules] = {
    APP.kind: _Rules(apps.defaulted_app, _pure(apps.app_problems)),
    LIMAVM.kind: _Rules(limavms.defaulted_limavm, limavms.limavm_problems),
    CONFIGMAP.kind: _Rules(lambda review: review.obj, configmaps.configmap_review_problems),
}


def webhook_name(kind: Kind, phase: str) -> str:
    """`validate.limavms.lima.rancherdesktop.io`, `mutate.apps.app.rancherdesktop.io`,
    `validate.configmaps.lima.rancherdesktop.io`. Pure."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}; got {phase!r}")
    return f"{phase}.{kind.plural}.{kind.group or _CORE_WEBHOOK_GROUP}"


async def mutate(review: Review, lookup: Lookup) -> Any:
    """The object to write instead of `review.obj`: a defaulted copy, or
    `review.obj` itself for kinds, operations and subresources with nothing
    to default."""
    rules = _RULES.get(review.kind.kind)
    return review.obj if rules is None else rules.mutate(review)


async def validate(review: Review, lookup: Lookup) -> None:
    """Returns when the write may happen; raises AdmissionDeniedError (a
    ForbiddenError) with every problem found, joined by "; ". A kind with
    no rules is denied: admission fails closed."""
    rules = _RULES.get(review.kind.kind)
    if rules is None:
        raise AdmissionDeniedError(
            webhook_name(review.kind, "validate"),
            f"no admission rules for kind {review.kind.kind}: writes to it are not accepted",
        )
    problems = ownership_change_problems(review) or await rules.problems(review, lookup)
    if problems:
        raise AdmissionDeniedError(webhook_name(review.kind, "validate"), "; ".join(problems))
