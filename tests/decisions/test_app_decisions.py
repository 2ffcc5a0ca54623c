"""App controller decisions over plain data: mirroring and Settled."""

from __future__ import annotations

import pytest
from rdd.services.app.decisions import mirrored_conditions, settled_condition

from rdd.api.meta.v1 import meta_pb2
from rdd.kinds import APP, CONFIGMAP, LIMAVM


def app(running: bool, generation: int = 3):
    obj = APP.new()
    obj.metadata.name = "app"
    obj.metadata.generation = generation
    obj.spec.running = running
    return obj


def vm(
    running: bool,
    created=("True", "Created"),
    run=("True", "Started"),
    template_rv="7",
    restart_needed=False,
):
    obj = LIMAVM.new()
    obj.metadata.name = "rd"
    obj.metadata.generation = 2
    obj.spec.running = running
    for type_, (status, reason) in (("Created", created), ("Running", run)):
        obj.status.conditions.append(
            meta_pb2.Condition(
                type=type_,
                status=status,
                reason=reason,
                message=reason,
                observed_generation=2,
                last_transition_time="2026-11-25T00:00:00.000000Z",
            )
        )
    obj.status.observed_template_resource_version = template_rv
    obj.status.restart_needed = restart_needed
    return obj


def template(rv="7"):
    obj = CONFIGMAP.new()
    obj.metadata.name = "rd-template"
    obj.metadata.resource_version = rv
    return obj


def test_mirrored_conditions_keep_everything_but_observed_generation():
    source = vm(True)
    mirrored = mirrored_conditions(source, generation=9)
    assert [c.type for c in mirrored] == ["Created", "Running"]
    assert all(c.observed_generation == 9 for c in mirrored)
    assert mirrored[1].last_transition_time == source.status.conditions[1].last_transition_time
    assert mirrored_conditions(None, generation=9) == []


@pytest.mark.parametrize(
    ("the_app", "the_vm", "the_template", "expected"),
    [
        (app(True), None, None, ("False", "WaitingForLimaVM")),
        (app(True), vm(False), template(), ("False", "Starting")),
        (app(True), vm(True), template(), ("True", "Settled")),
        (app(True), vm(True, run=("False", "Starting")), template(), ("False", "Starting")),
        (app(False), vm(False, run=("False", "Stopped")), template(), ("True", "Settled")),
        (app(False), vm(False), template(), ("False", "Stopping")),
        (app(True), vm(True), template("8"), ("False", "ApplyingTemplate")),
        (app(True), vm(True, restart_needed=True), template(), ("False", "ApplyingTemplate")),
        (
            app(True),
            vm(True, created=("False", "CreateFailed")),
            template(),
            ("False", "CreateFailed"),
        ),
        (app(True), vm(True, run=("False", "StartFailed")), template(), ("False", "StartFailed")),
    ],
)
def test_settled_condition(the_app, the_vm, the_template, expected):
    status, reason, _ = settled_condition(the_app, the_vm, the_template)
    assert (status, reason) == expected
