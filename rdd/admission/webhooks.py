"""The dispatcher: one rule object per kind in a table, the guards every kind
shares, and the name of the webhook that decided, as Kubernetes'
`admission webhook "<name>" denied the request`.

Called by the admission service for every Review (and the separate Mutate
and Validate requests). Per review, each check runs once:

- DELETE: only the owner deletes an owned object (an owned-by finalizer),
  then the kind's `validate_delete`;
- a subresource write (status, ownership release) is allowed unchanged,
  after the UPDATE guard below; the API server no longer sends these;
- UPDATE: ownership changes only through ReleaseOwnership, then the kind's
  `validate_update`; CREATE: the kind's `validate_create`.

Events are never reviewed (controllers record them straight into the
store); a review of a kind without rules, Events included, is denied.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rdd.admission.apps import AppRules
from rdd.admission.configmaps import ConfigMapRules
from rdd.admission.limavms import LimaVMRules
from rdd.admission.lookup import Lookup
from rdd.admission.ownership import owned_delete_problems, ownership_change_problems
from rdd.admission.reviews import KindRules, written
from rdd.errors import ForbiddenError
from rdd.kinds import APP, CONFIGMAP, LIMAVM, Kind
from rdd.store.review import Review

PHASES = ("mutate", "validate")
#: Core-group kinds (ConfigMap, Event) are reviewed by the LimaVM side's rules.
_CORE_WEBHOOK_GROUP = LIMAVM.group

#: Each kind's admission, by kind name: a new kind adds its rules here.
RULES: dict[str, KindRules] = {
    APP.kind: AppRules(),
    LIMAVM.kind: LimaVMRules(),
    CONFIGMAP.kind: ConfigMapRules(),
}


class AdmissionDeniedError(ForbiddenError):
    """A validating webhook refused the write; `webhook` names it."""

    def __init__(self, webhook: str, message: str) -> None:
        super().__init__(message)
        self.webhook = webhook


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
    rules = RULES.get(review.kind.kind)
    if rules is None or review.obj is None or review.subresource:
        return review.obj
    return rules.default(review.obj, None if review.operation == "CREATE" else review.old)


async def validate(review: Review, lookup: Lookup) -> None:
    """Returns when the write may happen; raises AdmissionDeniedError (a
    ForbiddenError) with every problem found, joined by "; ". A kind with
    no rules is denied: admission fails closed."""
    rules = RULES.get(review.kind.kind)
    if rules is None:
        raise AdmissionDeniedError(
            webhook_name(review.kind, "validate"),
            f"no admission rules for kind {review.kind.kind}: writes to it are not accepted",
        )
    problems = await _problems(rules, review, lookup)
    if problems:
        raise AdmissionDeniedError(webhook_name(review.kind, "validate"), "; ".join(problems))


async def admit(review: Review, lookup: Lookup) -> Any:
    """Mutate, then validate the mutated object itself (no copy or re-parse
    between them): the object to write, or AdmissionDeniedError."""
    mutated = await mutate(review, lookup)
    await validate(dataclasses.replace(review, obj=mutated), lookup)
    return mutated


async def _problems(rules: KindRules, review: Review, lookup: Lookup) -> list[str]:
    if review.operation == "DELETE":
        if review.old is None:
            raise ValueError(f"DELETE review of a {review.kind.kind} carries no old object")
        return owned_delete_problems(review.old) or await rules.validate_delete(review.old, lookup)
    problems = ownership_change_problems(review)
    if problems or review.subresource:
        return problems
    obj = written(review)
    if review.operation == "CREATE":
        return await rules.validate_create(obj, lookup)
    return await rules.validate_update(obj, review.old, lookup)
