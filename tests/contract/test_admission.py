"""Admission and bad input through the real services: the right status code,
a message a person understands, and nothing written."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from rdd.api.core.v1 import core_pb2, core_pb2_grpc
from rdd.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from rdd.kinds import APP, CONFIGMAP, LIMAVM
from rdd.meta.names import TEMPLATE_LABEL
from rdd.templates.default import DEFAULT_TEMPLATE
from tests.support.fixtures import Session
from tests.support.stack import Api, Stack, new_app
from tests.support.waiting import eventually

X86_ONLY = """\
images:
- location: https://example.invalid/x86.img
  arch: x86_64
"""


def configmap(name: str, namespace: str = "default", **data: str):
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data.update(data)
    return cm


def limavm(name: str, namespace: str = "default", template: str = "tpl"):
    vm = LIMAVM.new()
    vm.metadata.name = name
    vm.metadata.namespace = namespace
    vm.spec.template_ref.name = template
    return vm


async def update_retrying(api: Api, name: str, change) -> None:
    """Read-modify-write a LimaVM; its controller writes status meanwhile."""
    while True:
        vm = await api.limavms.get(name, "default")
        change(vm)
        try:
            await api.limavms.update(vm)
            return
        except ConflictError:
            continue


async def delete_vm(api: Api, name: str, namespace: str = "default") -> None:
    await api.limavms.delete(name, namespace)


async def test_app_must_be_named_app(api: Api):
    app = APP.new()
    app.metadata.name = "other"
    with pytest.raises(ForbiddenError, match="App resource must be named 'app'") as denied:
        await api.apps.create(app)
    assert 'admission webhook "' in denied.value.message
    assert (await api.apps.list()).items == []


async def test_limavm_rules(api: Api):
    await api.configmaps.create(configmap("tpl", template=DEFAULT_TEMPLATE))
    await api.configmaps.create(configmap("x86", template=X86_ONLY))
    await api.configmaps.create(configmap("empty", other="x"))
    try:
        with pytest.raises(ForbiddenError, match='must have a "template" data entry'):
            await api.limavms.create(limavm("vm-a", template="empty"))
        with pytest.raises(ForbiddenError, match="not found|does not exist"):
            await api.limavms.create(limavm("vm-a", template="missing"))
        await api.limavms.create(limavm("vm-a"))
        with pytest.raises(ForbiddenError, match="templateRef is immutable"):
            await update_retrying(
                api, "vm-a", lambda vm: setattr(vm.spec.template_ref, "name", "x86")
            )
        await api.configmaps.create(configmap("tpl", "ns2", template=DEFAULT_TEMPLATE))
        with pytest.raises(
            (ForbiddenError, AlreadyExistsError), match="is already used in namespace"
        ):
            await api.limavms.create(limavm("vm-a", "ns2"))
        await api.configmaps.delete("tpl", "ns2")
        await delete_vm(api, "vm-a")
    finally:
        for name in ("tpl", "x86", "empty"):
            await api.configmaps.delete(name, "default")


async def test_template_without_an_image_for_the_host_arch_is_denied(
    make_session: Callable[..., Session],
):
    api = make_session(RDD_HOST_ARCH="aarch64").api
    await api.configmaps.create(configmap("x86", template=X86_ONLY))
    with pytest.raises(ForbiddenError, match="no image for arch"):
        await api.limavms.create(limavm("vm-b", template="x86"))
    assert (await api.limavms.list()).items == []
    assert (await api.configmaps.list()).items[0].metadata.name == "x86"
    await api.configmaps.delete("x86", "default")


async def test_labelled_template_configmaps_are_validated(api: Api):
    bad = configmap("bad-template", template="images: []\ncpus: 0\n")
    bad.metadata.labels[TEMPLATE_LABEL] = "true"
    with pytest.raises(ForbiddenError, match="images"):
        await api.configmaps.create(bad)
    missing = configmap("no-template", other="x")
    missing.metadata.labels[TEMPLATE_LABEL] = "true"
    with pytest.raises(ForbiddenError, match='must have a "template" data entry'):
        await api.configmaps.create(missing)
    assert (await api.configmaps.list()).items == []


@pytest.mark.parametrize("name", ["Bad_Name", "-lead", "a" * 254])
async def test_invalid_names_are_invalid_argument(api: Api, name: str):
    with pytest.raises(InvalidError, match="metadata.name"):
        await api.configmaps.create(configmap(name))
    assert (await api.configmaps.list()).items == []


async def test_missing_object_and_wrong_kind_are_invalid(stack: Stack, api: Api):
    async with stack.channel("limavm") as channel:
        stub = core_pb2_grpc.ConfigMapServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.Create(core_pb2.ConfigMapWriteRequest(), timeout=5)
        assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        wrong = configmap("wrong")
        wrong.kind = "Secret"
        with pytest.raises(grpc.aio.AioRpcError) as wrong_kind:
            await stub.Create(core_pb2.ConfigMapWriteRequest(object=wrong), timeout=5)
        assert wrong_kind.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "apiVersion/kind" in (wrong_kind.value.details() or "")
    assert (await api.configmaps.list()).items == []


async def test_oversized_message_is_refused_and_nothing_written(stack: Stack, api: Api):
    async with stack.channel("limavm") as channel:
        stub = core_pb2_grpc.ConfigMapServiceStub(channel)
        huge = configmap("huge", blob="x" * (2 * 1024 * 1024))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Create(core_pb2.ConfigMapWriteRequest(object=huge), timeout=5)
        assert refused.value.code() in (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    with pytest.raises(NotFoundError):
        await api.configmaps.get("huge", "default")


async def test_stale_resource_version_is_aborted(api: Api):
    first = await api.configmaps.create(configmap("cas", x="1"))
    second = configmap("cas", x="2")
    await api.configmaps.update(second)
    first.data["x"] = "3"
    with pytest.raises(Exception) as conflict:
        await api.configmaps.update(first)
    assert conflict.value.reason == "Conflict"  # type: ignore[attr-defined]
    await api.configmaps.delete("cas", "default")


async def test_dry_run_persists_nothing(api: Api):
    await api.apps.create(new_app(), dry_run=True)
    await api.configmaps.create(configmap("dry"), dry_run=True)
    assert (await api.apps.list()).items == []
    assert (await api.configmaps.list()).items == []


async def test_admission_down_means_unavailable_and_nothing_written(
    make_stack: Callable[..., Stack],
):
    stack = make_stack()
    api = Api.connect(stack)
    try:
        stack.kill("webhook")
        with pytest.raises(UnavailableError, match="admission"):
            await api.configmaps.create(configmap("while-down"))
        with pytest.raises(UnavailableError):
            await api.apps.create(new_app())
        stack.start()
        assert (await api.configmaps.list()).items == []
        assert (await api.apps.list()).items == []
    finally:
        await api.close()


async def test_large_objects_can_be_updated_and_deleted_not_just_created(api: Api):
    """A ~700 KB template: the admission review of an update carries it twice."""
    padding = "# " + "x" * 78 + "\n"
    big_template = DEFAULT_TEMPLATE + padding * 9000
    await api.configmaps.create(configmap("big-src", template=big_template))
    vm = await api.limavms.create(limavm("big-vm", template="big-src"))
    await api.configmaps.delete("big-src", "default")
    await update_retrying(api, "big-vm", lambda v: v.metadata.labels.update({"size": "big"}))
    await api.limavms.delete("big-vm", "default")

    async def gone():
        try:
            await api.limavms.get("big-vm", "default")
        except NotFoundError:
            return True
        return False

    await eventually(gone, timeout=20, message=f"{vm.metadata.name} was never deleted")
