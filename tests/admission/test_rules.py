"""Admission rules over plain objects and a dict-backed Lookup: every rule and
every message the CLI contract promises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rdd.admission import AdmissionDeniedError, Lookup, mutate, validate, webhook_name
from rdd.api.app.v1alpha1 import app_pb2
from rdd.api.core.v1 import core_pb2
from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.api.meta.v1 import meta_pb2
from rdd.errors import ForbiddenError
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM, Kind
from rdd.meta.names import CLEANUP_FINALIZER, TEMPLATE_LABEL, owned_finalizer
from rdd.store.registry import Review

TWO_ARCH_TEMPLATE = """\
images:
- location: https://example.com/x86_64.iso
  arch: x86_64
- location: https://example.com/aarch64.iso
  arch: aarch64
"""
X86_ONLY_TEMPLATE = "images: [{location: https://example.com/x86_64.iso, arch: x86_64}]\n"


@dataclass
class DictLookup:
    """A Lookup over a dict of objects keyed by (kind, namespace, name)."""

    objects: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    host_arch: str = "x86_64"
    #: What "limactl validate" says of every template; the templates it was asked about.
    lima_says: list[str] = field(default_factory=list)
    lima_asked: list[str] = field(default_factory=list)

    def add(self, kind: Kind, obj: Any) -> None:
        self.objects[(kind.kind, obj.metadata.namespace, obj.metadata.name)] = obj

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        return self.objects.get((kind.kind, namespace, name))

    async def claimed_namespace(self, kind: Kind, name: str) -> str | None:
        for kind_name, namespace, stored in self.objects:
            if kind_name == kind.kind and stored == name:
                return namespace
        return None

    async def lima_problems(self, template: str) -> list[str]:
        self.lima_asked.append(template)
        return list(self.lima_says)


def make_app(name: str = "app", namespace: str = "default", **meta: Any) -> app_pb2.App:
    return app_pb2.App(
        api_version=APP.api_version,
        kind=APP.kind,
        metadata=meta_pb2.ObjectMeta(name=name, **meta),
        spec=app_pb2.AppSpec(namespace=namespace),
    )


def make_vm(
    name: str = "rd",
    namespace: str = "default",
    *,
    ref: str = "rd",
    ref_namespace: str = "default",
    arch: str = "",
    **meta: Any,
) -> limavm_pb2.LimaVM:
    return limavm_pb2.LimaVM(
        api_version=LIMAVM.api_version,
        kind=LIMAVM.kind,
        metadata=meta_pb2.ObjectMeta(name=name, namespace=namespace, **meta),
        spec=limavm_pb2.LimaVMSpec(
            template_ref=limavm_pb2.TemplateRef(name=ref, namespace=ref_namespace)
        ),
        status=limavm_pb2.LimaVMStatus(arch=arch),
    )


def make_cm(
    name: str = "rd",
    namespace: str = "default",
    *,
    data: dict[str, str] | None = None,
    template_label: bool = False,
    controller: str = "",
    **meta: Any,
) -> core_pb2.ConfigMap:
    labels = {TEMPLATE_LABEL: "true"} if template_label else {}
    owners = (
        [meta_pb2.OwnerReference(kind=controller, name="rd", uid="uid-1", controller=True)]
        if controller
        else []
    )
    return core_pb2.ConfigMap(
        api_version=CONFIGMAP.api_version,
        kind=CONFIGMAP.kind,
        metadata=meta_pb2.ObjectMeta(
            name=name, namespace=namespace, labels=labels, owner_references=owners, **meta
        ),
        data={"template": TWO_ARCH_TEMPLATE} if data is None else data,
    )


def create(kind: Kind, obj: Any) -> Review:
    return Review("CREATE", kind, obj, None, False)


def update(kind: Kind, obj: Any, old: Any, subresource: str = "") -> Review:
    return Review("UPDATE", kind, obj, old, False, subresource)


def delete(kind: Kind, old: Any) -> Review:
    return Review("DELETE", kind, None, old, False)


async def denial(review: Review, lookup: Lookup | None = None) -> str:
    """The message validate refuses `review` with."""
    with pytest.raises(AdmissionDeniedError) as caught:
        await validate(review, lookup or DictLookup())
    assert caught.value.webhook == webhook_name(review.kind, "validate")
    return caught.value.message


async def admitted(review: Review, lookup: Lookup | None = None) -> None:
    await validate(review, lookup or DictLookup())


def lookup_with_template(template: str = TWO_ARCH_TEMPLATE, **kwargs: Any) -> DictLookup:
    lookup = DictLookup(**kwargs)
    lookup.add(CONFIGMAP, make_cm(data={"template": template}))
    return lookup


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


# --- ConfigMap ----------------------------------------------------------------


async def test_configmap_mutation_changes_nothing() -> None:
    written = make_cm()
    assert await mutate(create(CONFIGMAP, written), DictLookup()) is written


async def test_configmap_owned_by_the_limavm_is_deleted_only_through_it() -> None:
    owned = make_cm(
        "rd-template",
        template_label=True,
        controller="LimaVM",
        finalizers=[owned_finalizer("LimaVM")],
    )
    message = await denial(delete(CONFIGMAP, owned))
    assert message == (
        'cannot delete "rd-template": owned by LimaVM; delete the LimaVM resource instead'
    )


@pytest.mark.parametrize(
    "old",
    [
        make_cm(),
        make_cm(data={}),
        make_cm("rd-template", template_label=True, controller="LimaVM"),  # released
        make_cm(finalizers=["example.com/other"]),
    ],
)
async def test_configmap_without_an_owned_finalizer_may_be_deleted(old: Any) -> None:
    await admitted(delete(CONFIGMAP, old))


async def test_template_configmap_must_have_a_template_entry() -> None:
    written = make_cm("rd-template", data={"other": "x"}, template_label=True)
    message = await denial(create(CONFIGMAP, written))
    assert message == 'ConfigMap "rd-template" must have a "template" data entry'


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("images: [{location: x, arch: amd64}]", "images[0].arch: must be one of"),
        ("cpus: 2\n", "images: must be set"),
        ("images: [\n", "template is not valid YAML: line 2"),
        (f"{TWO_ARCH_TEMPLATE}memory: 4Gi\n", 'memory: invalid size "4Gi"'),
    ],
)
async def test_template_configmap_must_hold_a_valid_template(template: str, problem: str) -> None:
    written = make_cm("rd-template", data={"template": template}, template_label=True)
    message = await denial(create(CONFIGMAP, written))
    assert message.startswith('ConfigMap "rd-template" has an invalid template: ')
    assert problem in message


async def test_template_configmap_changed_to_an_invalid_template_is_refused() -> None:
    old = make_cm("rd-template", template_label=True, controller="LimaVM")
    written = make_cm(
        "rd-template", data={"template": "cpus: 2"}, template_label=True, controller="LimaVM"
    )
    assert "images: must be set" in await denial(update(CONFIGMAP, written, old))


@pytest.mark.parametrize(
    "review",
    [
        # Any arch is fine here: the VM's arch is checked when a LimaVM is created.
        create(CONFIGMAP, make_cm(data={"template": X86_ONLY_TEMPLATE}, template_label=True)),
        # Unlabelled ConfigMaps hold anything.
        create(CONFIGMAP, make_cm(data={"template": "not: [valid"})),
        create(CONFIGMAP, make_cm(data={})),
        # An unchanged template is not checked again: metadata-only writes pass.
        update(
            CONFIGMAP,
            make_cm(data={"template": "cpus: 2"}, template_label=True),
            make_cm(data={"template": "cpus: 2"}, template_label=True, finalizers=["x"]),
        ),
        # Ownership release and status writes skip the checks.
        update(
            CONFIGMAP,
            make_cm(data={}, template_label=True),
            make_cm(template_label=True, controller="LimaVM"),
            "ownership",
        ),
        # Without a controller the label may go.
        update(CONFIGMAP, make_cm(), make_cm(template_label=True)),
    ],
)
async def test_configmap_writes_that_are_allowed(review: Review) -> None:
    await admitted(review)


async def test_template_label_stays_while_controlled() -> None:
    old = make_cm("rd-template", template_label=True, controller="LimaVM")
    written = make_cm("rd-template", controller="LimaVM")
    message = await denial(update(CONFIGMAP, written, old))
    assert message == (
        f'metadata.labels: cannot remove {TEMPLATE_LABEL}="true" from ConfigMap '
        '"rd-template" while it is controlled by LimaVM "rd"'
    )


# --- what the installed Lima says (limactl validate, through the Lookup) -------

LIMA_SAYS = ["field `ssh.localPort` must not be 22", "field `cpus` must be set"]


async def test_template_configmap_lima_rejects_is_refused_with_limas_message() -> None:
    lookup = DictLookup(lima_says=LIMA_SAYS)
    written = make_cm("rd-template", template_label=True)
    message = await denial(create(CONFIGMAP, written), lookup)
    assert message == (
        'ConfigMap "rd-template" has an invalid template (limactl validate): '
        "field `ssh.localPort` must not be 22; field `cpus` must be set"
    )
    assert lookup.lima_asked == [TWO_ARCH_TEMPLATE]


async def test_limavm_whose_template_lima_rejects_is_refused_with_limas_message() -> None:
    lookup = lookup_with_template(lima_says=LIMA_SAYS[:1])
    message = await denial(create(LIMAVM, make_vm()), lookup)
    assert message == (
        'spec.templateRef: ConfigMap "rd" in namespace "default" has an invalid template '
        "(limactl validate): field `ssh.localPort` must not be 22"
    )


@pytest.mark.parametrize(
    "review",
    [
        # Our own checks refuse it first: one message per problem, no limactl call.
        create(CONFIGMAP, make_cm(data={"template": "cpus: 2"}, template_label=True)),
        create(LIMAVM, make_vm(ref="missing")),
    ],
)
async def test_lima_is_not_asked_about_a_template_we_refuse(review: Review) -> None:
    lookup = lookup_with_template(lima_says=LIMA_SAYS)
    assert "(limactl validate)" not in await denial(review, lookup)
    assert lookup.lima_asked == []


@pytest.mark.parametrize(
    "review",
    [
        create(CONFIGMAP, make_cm(data={"template": "not: [valid"})),  # unlabelled
        update(
            CONFIGMAP,
            make_cm(template_label=True),
            make_cm(template_label=True, finalizers=["x"]),
        ),  # template unchanged
        update(LIMAVM, make_vm(generation=2), make_vm()),  # only a LimaVM create checks it
        delete(CONFIGMAP, make_cm(template_label=True)),
    ],
)
async def test_lima_is_asked_only_about_new_or_changed_templates(review: Review) -> None:
    lookup = lookup_with_template(lima_says=LIMA_SAYS)
    await admitted(review, lookup)
    assert lookup.lima_asked == []


async def test_templates_lima_accepts_are_admitted() -> None:
    lookup = lookup_with_template()
    await admitted(create(LIMAVM, make_vm()), lookup)
    await admitted(create(CONFIGMAP, make_cm("rd-template", template_label=True)), lookup)
    assert lookup.lima_asked == [TWO_ARCH_TEMPLATE, TWO_ARCH_TEMPLATE]


@pytest.mark.parametrize(
    ("vm_arch", "host_arch", "denied"),
    [
        ("aarch64", "x86_64", True),  # the VM was built for aarch64
        ("", "aarch64", True),  # not built yet: the host's arch
        ("x86_64", "aarch64", False),
    ],
)
async def test_edited_template_must_keep_an_image_for_its_vms_arch(
    vm_arch: str, host_arch: str, denied: bool
) -> None:
    lookup = DictLookup(host_arch=host_arch)
    vm = make_vm("rd", arch=vm_arch, uid="uid-1")
    lookup.add(LIMAVM, vm)
    old = make_cm("rd-template", template_label=True, controller="LimaVM")
    edited = make_cm(
        "rd-template",
        data={"template": X86_ONLY_TEMPLATE},
        template_label=True,
        controller="LimaVM",
    )
    review = update(CONFIGMAP, edited, old)
    if denied:
        assert "no image for arch" in await denial(review, lookup)
    else:
        await admitted(review, lookup)
