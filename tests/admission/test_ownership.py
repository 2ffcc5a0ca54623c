"""Ownership changes in admission (pure): no write but ReleaseOwnership may
drop or add an owned-by finalizer or change the controller reference, and a
kind without rules is denied."""

from __future__ import annotations

from typing import Any

import pytest

from rdd.admission import AdmissionDeniedError, validate
from rdd.admission.ownership import ownership_change_problems
from rdd.api.meta.v1 import meta_pb2
from rdd.kinds import EVENT, LIMAVM
from rdd.meta.names import owned_finalizer
from rdd.store.review import Review
from tests.admission.reviewing import DictLookup, make_vm

OWNED = owned_finalizer("App")


def owned_vm() -> Any:
    vm = make_vm()
    vm.metadata.finalizers.append(OWNED)
    vm.metadata.owner_references.append(
        meta_pb2.OwnerReference(
            api_version="app.rancherdesktop.io/v1alpha1",
            kind="App",
            name="app",
            uid="u-1",
            controller=True,
            block_owner_deletion=True,
        )
    )
    return vm


def changed(change: Any) -> Any:
    vm = owned_vm()
    change(vm)
    return vm


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda vm: vm.metadata.finalizers.remove(OWNED), "cannot remove finalizer"),
        (
            lambda vm: vm.metadata.finalizers.append(owned_finalizer("LimaVM")),
            "cannot add finalizer",
        ),
        (lambda vm: vm.metadata.owner_references.pop(), "controller ownerReference"),
        (
            lambda vm: setattr(vm.metadata.owner_references[0], "uid", "u-2"),
            "controller ownerReference",
        ),
    ],
)
def test_ownership_changes_are_refused(change: Any, message: str) -> None:
    review = Review("UPDATE", LIMAVM, changed(change), owned_vm(), dry_run=False)
    problems = ownership_change_problems(review)
    assert problems and message in problems[0]


def test_ownership_release_and_other_writes_pass() -> None:
    released = changed(
        lambda vm: (vm.metadata.finalizers.remove(OWNED), vm.metadata.owner_references.pop())
    )
    assert (
        ownership_change_problems(
            Review("UPDATE", LIMAVM, released, owned_vm(), dry_run=False, subresource="ownership")
        )
        == []
    )
    relabelled = changed(lambda vm: vm.metadata.labels.update({"a": "b"}))
    assert ownership_change_problems(Review("UPDATE", LIMAVM, relabelled, owned_vm(), False)) == []
    assert ownership_change_problems(Review("CREATE", LIMAVM, owned_vm(), None, False)) == []


async def test_a_kind_without_rules_is_denied() -> None:
    event = EVENT.new()
    event.metadata.name = "e"
    with pytest.raises(AdmissionDeniedError, match="no admission rules for kind Event"):
        await validate(Review("CREATE", EVENT, event, None, dry_run=False), DictLookup())
