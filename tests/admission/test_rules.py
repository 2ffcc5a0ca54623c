"""Admission rules over plain objects and a dict-backed Lookup: the dispatcher,
the App and the LimaVM; every rule and message the CLI contract promises."""

from __future__ import annotations

import pytest

from rdd.admission import mutate, validate, webhook_name
from rdd.api.core.v1 import core_pb2
from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.api.meta.v1 import meta_pb2
from rdd.errors import ForbiddenError
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM, Kind
from rdd.meta.names import CLEANUP_FINALIZER, owned_finalizer
from rdd.store.review import Review
from tests.admission.reviewing import (
    TWO_ARCH_TEMPLATE,
    X86_ONLY_TEMPLATE,
    DictLookup,
    admitted,
    create,
    delete,
    denial,
    lookup_with_template,
    make_app,
    make_cm,
    make_vm,
    update,
)

# --- webhook names and the dispatcher ---------------------------------------


@pytest.mark.parametrize(
    ("kind", "phase", "name"),
    [
        (APP, "mutate", "mutate.apps.app.rancherdesktop.io"),
        (APP, "validate", "validate.apps.app.rancherdesktop.io"),
        (LIMAVM, "mutate", "mutate.limavms.lima.rancherdesktop.io"),
        (LIMAVM, "validate", "validate.limavms.lima.rancherdesktop.io"),
        (CONFIGMAP, "validate", "validate.configmaps.lima.rancherdesktop.io"),
        (EVENT, "validate", "validate.events.lima.rancherdesktop.io"),
    ],
)
def test_webhook_names(kind: Kind, phase: str, name: str) -> None:
    assert webhook_name(kind, phase) == name


def test_webhook_name_refuses_unknown_phase() -> None:
    with pytest.raises(ValueError, match="phase"):
        webhook_name(APP, "admit")


async def test_denial_is_forbidden_and_lists_every_problem() -> None:
    review = create(APP, make_app(name="mine", namespace="Not_A_Label"))
    with pytest.raises(ForbiddenError) as caught:
        await validate(review, DictLookup())
    assert "App resource must be named 'app'" in caught.value.message
    assert "; spec.namespace: Invalid value" in caught.value.message


async def test_events_have_no_rules_so_writes_are_denied() -> None:
    """Controllers record Events straight into the store; a review of one
    fails closed, as for any kind without rules."""
    event = core_pb2.Event(metadata=meta_pb2.ObjectMeta(name="rd.1", namespace="default"))
    assert await mutate(create(EVENT, event), DictLookup()) is event
    assert "no admission rules for kind Event" in await denial(create(EVENT, event))
    assert "no admission rules for kind Event" in await denial(delete(EVENT, event))


# --- App ----------------------------------------------------------------------


async def test_app_create_defaults_namespace_and_adds_cleanup_finalizer() -> None:
    written = make_app(namespace="")
    app = await mutate(create(APP, written), DictLookup())
    assert app.spec.namespace == "default"
    assert list(app.metadata.finalizers) == [CLEANUP_FINALIZER]
    assert written.spec.namespace == "" and not written.metadata.finalizers  # a copy


async def test_app_create_keeps_a_given_namespace_and_finalizers() -> None:
    app = await mutate(create(APP, make_app(namespace="rd", finalizers=["x"])), DictLookup())
    assert app.spec.namespace == "rd"
    assert list(app.metadata.finalizers) == ["x", CLEANUP_FINALIZER]


@pytest.mark.parametrize(("stored", "expected"), [("team", "team"), ("", "default")])
async def test_app_update_without_namespace_keeps_the_stored_one(
    stored: str, expected: str
) -> None:
    review = update(APP, make_app(namespace=""), make_app(namespace=stored))
    app = await mutate(review, DictLookup())
    assert app.spec.namespace == expected
    assert not app.metadata.finalizers  # only added on CREATE


@pytest.mark.parametrize("subresource", ["status", "ownership"])
async def test_app_subresource_writes_are_not_mutated(subresource: str) -> None:
    written = make_app(namespace="")
    review = update(APP, written, make_app(), subresource)
    assert await mutate(review, DictLookup()) is written


@pytest.mark.parametrize("name", ["mine", "apps", "app-2"])
async def test_app_must_be_named_app(name: str) -> None:
    message = await denial(create(APP, make_app(name=name)))
    assert message == f"App resource must be named 'app'; got \"{name}\""


@pytest.mark.parametrize("namespace", ["Default", "a_b", "-x", "x" * 64, "a.b"])
async def test_app_namespace_must_be_a_dns_label(namespace: str) -> None:
    message = await denial(create(APP, make_app(namespace=namespace)))
    assert message.startswith(f'spec.namespace: Invalid value: "{namespace}"')


async def test_app_namespace_is_required_when_mutation_was_skipped() -> None:
    assert await denial(create(APP, make_app(namespace=""))) == "spec.namespace: Required value"


async def test_app_namespace_is_immutable() -> None:
    message = await denial(update(APP, make_app(namespace="other"), make_app()))
    assert message == 'spec.namespace is immutable: was "default", got "other"'


@pytest.mark.parametrize(
    "review",
    [
        create(APP, make_app()),
        create(APP, make_app(namespace="rd-vms")),
        update(APP, make_app(), make_app()),
        update(APP, make_app(namespace="other"), make_app(), "status"),
        delete(APP, make_app(finalizers=[CLEANUP_FINALIZER])),
    ],
)
async def test_app_writes_that_are_allowed(review: Review) -> None:
    await admitted(review)


# --- LimaVM -------------------------------------------------------------------


async def test_limavm_create_adds_cleanup_finalizer_and_defaults_template_namespace() -> None:
    written = make_vm(namespace="team", ref_namespace="")
    vm = await mutate(create(LIMAVM, written), DictLookup())
    assert vm.spec.template_ref.namespace == "team"
    assert list(vm.metadata.finalizers) == [CLEANUP_FINALIZER]
    assert written.spec.template_ref.namespace == "" and not written.metadata.finalizers


async def test_limavm_create_keeps_an_explicit_template_namespace() -> None:
    vm = await mutate(create(LIMAVM, make_vm(ref_namespace="templates")), DictLookup())
    assert vm.spec.template_ref.namespace == "templates"


async def test_limavm_update_without_template_namespace_keeps_the_stored_one() -> None:
    stored = make_vm(ref_namespace="templates", finalizers=[CLEANUP_FINALIZER])
    written = make_vm(ref_namespace="")
    vm = await mutate(update(LIMAVM, written, stored), DictLookup())
    assert vm.spec.template_ref.namespace == "templates"
    assert not vm.metadata.finalizers
    await admitted(update(LIMAVM, vm, stored))


@pytest.mark.parametrize("subresource", ["status", "ownership"])
async def test_limavm_subresource_writes_are_not_mutated(subresource: str) -> None:
    written = make_vm(ref_namespace="")
    assert await mutate(update(LIMAVM, written, make_vm(), subresource), DictLookup()) is written


async def test_limavm_create_with_a_valid_template_is_allowed() -> None:
    await admitted(create(LIMAVM, make_vm()), lookup_with_template())


async def test_limavm_template_name_is_required() -> None:
    message = await denial(create(LIMAVM, make_vm(ref="")), lookup_with_template())
    assert message == "spec.templateRef.name: Required value"


async def test_limavm_template_configmap_must_exist() -> None:
    message = await denial(create(LIMAVM, make_vm(ref="missing")), lookup_with_template())
    assert message == 'spec.templateRef: ConfigMap "missing" in namespace "default" not found'


async def test_limavm_template_configmap_is_looked_up_in_the_ref_namespace() -> None:
    lookup = lookup_with_template()  # holds default/rd only
    message = await denial(create(LIMAVM, make_vm(ref_namespace="other")), lookup)
    assert 'ConfigMap "rd" in namespace "other" not found' in message


async def test_limavm_template_configmap_must_have_a_template_entry() -> None:
    lookup = DictLookup()
    lookup.add(CONFIGMAP, make_cm(data={"lima.yaml": TWO_ARCH_TEMPLATE}))
    message = await denial(create(LIMAVM, make_vm()), lookup)
    assert message == (
        'spec.templateRef: ConfigMap "rd" in namespace "default" must have a "template" data entry'
    )


async def test_limavm_template_must_be_valid() -> None:
    lookup = lookup_with_template("images: [{location: x, arch: amd64}]\n")
    message = await denial(create(LIMAVM, make_vm()), lookup)
    assert message.startswith(
        'spec.templateRef: ConfigMap "rd" in namespace "default" has an invalid template: '
    )
    assert (
        'images[0].arch: must be one of [x86_64 aarch64 armv7l ppc64le riscv64 s390x]; got "amd64"'
        in message
    )


@pytest.mark.parametrize(
    ("template", "host_arch", "vm_arch", "missing"),
    [
        (X86_ONLY_TEMPLATE, "aarch64", "", "aarch64"),
        # A new VM is built for the host: a status.arch sent on create means nothing.
        (X86_ONLY_TEMPLATE, "aarch64", "x86_64", "aarch64"),
        ("images: [{location: a.iso, arch: aarch64}]", "x86_64", "", "x86_64"),
    ],
)
async def test_limavm_template_needs_an_image_for_the_vm_arch(
    template: str, host_arch: str, vm_arch: str, missing: str
) -> None:
    lookup = lookup_with_template(template, host_arch=host_arch)
    message = await denial(create(LIMAVM, make_vm(arch=vm_arch)), lookup)
    assert f'no image for arch "{missing}"' in message


@pytest.mark.parametrize(
    ("template", "host_arch", "vm_arch"),
    [
        (TWO_ARCH_TEMPLATE, "aarch64", ""),
        (X86_ONLY_TEMPLATE, "x86_64", "aarch64"),
        ("images: [{location: any.iso}]", "aarch64", ""),
    ],
)
async def test_limavm_template_with_an_image_for_the_vm_arch_is_allowed(
    template: str, host_arch: str, vm_arch: str
) -> None:
    lookup = lookup_with_template(template, host_arch=host_arch)
    await admitted(create(LIMAVM, make_vm(arch=vm_arch)), lookup)


async def test_limavm_name_taken_in_another_namespace_is_refused() -> None:
    lookup = lookup_with_template()
    lookup.add(LIMAVM, make_vm(namespace="other"))
    message = await denial(create(LIMAVM, make_vm()), lookup)
    assert message == (
        'limavms.lima.rancherdesktop.io "rd" is already used in namespace "other": '
        "LimaVM names must be unique across namespaces"
    )
    assert "is already used in namespace" in message


async def test_limavm_name_in_its_own_namespace_is_left_to_the_store() -> None:
    # Same namespace: the store's create answers AlreadyExists, not admission.
    lookup = lookup_with_template()
    lookup.add(LIMAVM, make_vm())
    await admitted(create(LIMAVM, make_vm()), lookup)


@pytest.mark.parametrize("name", ["a--b", "a..b", "vm.yaml", "vm.yml", "x" * 77])
async def test_limavm_name_must_be_a_lima_instance_name(name: str) -> None:
    message = await denial(create(LIMAVM, make_vm(name=name)), lookup_with_template())
    assert message.startswith(f'metadata.name: "{name}" cannot name a Lima instance')


@pytest.mark.parametrize(
    "written",
    [make_vm(ref="other"), make_vm(ref_namespace="other"), make_vm(ref="")],
)
async def test_limavm_template_ref_is_immutable(written: limavm_pb2.LimaVM) -> None:
    message = await denial(update(LIMAVM, written, make_vm()))
    assert 'spec.templateRef is immutable: was "default/rd", got' in message
    assert "templateRef is immutable" in message


async def test_limavm_update_does_not_need_the_input_configmap_any_more() -> None:
    # The App deletes the input ConfigMap once the VM has its own copy.
    stored = make_vm()
    written = make_vm()
    written.spec.running = True
    await admitted(update(LIMAVM, written, stored), DictLookup(host_arch="aarch64"))


@pytest.mark.parametrize("subresource", ["status", "ownership"])
async def test_limavm_subresource_writes_skip_spec_checks(subresource: str) -> None:
    written = make_vm(ref="")
    await admitted(update(LIMAVM, written, make_vm(), subresource))


async def test_limavm_owned_by_the_app_is_deleted_only_through_the_app() -> None:
    owned = make_vm(finalizers=[CLEANUP_FINALIZER, owned_finalizer("App")])
    message = await denial(delete(LIMAVM, owned))
    assert message == 'cannot delete "rd": owned by App; delete the App resource instead'


async def test_limavm_without_an_owner_may_be_deleted() -> None:
    await admitted(delete(LIMAVM, make_vm(finalizers=[CLEANUP_FINALIZER])))
