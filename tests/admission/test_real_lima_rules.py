"""Admission rules that follow from real Lima (issue 8): templates `limactl
create` would rewrite (`base:`, `file:`) are refused with how to embed them,
and a template edit may not shrink the disk of an existing instance."""

from __future__ import annotations

import pytest

from rdd.api.meta.v1 import meta_pb2
from rdd.kinds import CONFIGMAP, LIMAVM
from tests.admission.reviewing import (
    TWO_ARCH_TEMPLATE,
    DictLookup,
    admitted,
    create,
    denial,
    lookup_with_template,
    make_cm,
    make_vm,
    update,
)

EMBED = "limactl template copy --embed TEMPLATE FILE"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("base: template://docker\n", "`base`"),
        ("base: [template://default, ./mine.yaml]\n", "`base`"),
        ("provision:\n- mode: system\n  file: setup.sh\n", "`provision[0].file`"),
        (
            "provision:\n- mode: user\n  script: echo\n- mode: system\n  file: {url: a.sh}\n",
            "`provision[1].file`",
        ),
        ("probes:\n- file: probe.sh\n", "`probes[0].file`"),
    ],
)
async def test_a_template_limactl_would_embed_is_refused_saying_how(extra: str, field: str) -> None:
    template = TWO_ARCH_TEMPLATE + extra
    written = make_cm("mine", data={"template": template}, template_label=True)
    message = await denial(create(CONFIGMAP, written))
    assert message.startswith('ConfigMap "mine" has an invalid template: field ')
    assert field in message and EMBED in message
    lookup = lookup_with_template(template)
    vm_message = await denial(create(LIMAVM, make_vm()), lookup)
    assert EMBED in vm_message and field in vm_message
    assert lookup.lima_asked == [], "refused before limactl is asked"


async def test_embedded_provision_scripts_are_admitted() -> None:
    template = TWO_ARCH_TEMPLATE + "provision:\n- mode: system\n  script: echo hi\n"
    await admitted(create(LIMAVM, make_vm()), lookup_with_template(template))


def created_vm(status: str) -> object:
    vm = make_vm("rd", arch="x86_64", uid="uid-1")
    vm.status.conditions.append(meta_pb2.Condition(type="Created", status=status))
    return vm


def edit(old_disk: str, new_disk: str) -> tuple[object, object]:
    def cm(disk: str) -> object:
        line = f"disk: {disk}\n" if disk else ""
        return make_cm(
            "rd-template",
            data={"template": TWO_ARCH_TEMPLATE + line},
            template_label=True,
            controller="LimaVM",
        )

    return cm(new_disk), cm(old_disk)


@pytest.mark.parametrize(
    ("old_disk", "new_disk", "shown"),
    [
        ("100GiB", "50GiB", "from 100GiB to 50GiB"),
        ("", "20G", "from 100GiB to 20GiB"),  # unset: Lima's 100GiB
        ("1TiB", "", "from 1TiB to 100GiB"),
    ],
)
async def test_a_template_edit_that_shrinks_an_existing_disk_is_refused(
    old_disk: str, new_disk: str, shown: str
) -> None:
    lookup = DictLookup()
    lookup.add(LIMAVM, created_vm("True"))
    written, old = edit(old_disk, new_disk)
    message = await denial(update(CONFIGMAP, written, old), lookup)
    assert message == (
        f'ConfigMap "rd-template": field `disk`: disk shrinking is not supported ({shown}): '
        'Lima can only grow an instance\'s disk (LimaVM "rd" has its instance)'
    )
    assert lookup.lima_asked == []


@pytest.mark.parametrize(
    ("created", "old_disk", "new_disk"),
    [
        ("True", "50GiB", "100GiB"),  # growing is fine
        ("True", "100GiB", ""),  # the same size
        ("Unknown", "100GiB", "10GiB"),  # no instance yet
        ("False", "100GiB", "10GiB"),  # its preparation failed: nothing to shrink
    ],
)
async def test_template_edits_that_do_not_shrink_an_existing_disk_are_admitted(
    created: str, old_disk: str, new_disk: str
) -> None:
    lookup = DictLookup()
    lookup.add(LIMAVM, created_vm(created))
    written, old = edit(old_disk, new_disk)
    await admitted(update(CONFIGMAP, written, old), lookup)
