"""Admission rules for ConfigMaps, and what the installed Lima says about
templates (through the Lookup); every rule and message the CLI contract promises."""

from __future__ import annotations

from typing import Any

import pytest

from rdd.admission import mutate
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.names import TEMPLATE_LABEL, owned_finalizer
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
    make_cm,
    make_vm,
    update,
)

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
