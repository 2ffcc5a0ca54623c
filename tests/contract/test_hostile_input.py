"""Hostile requests through the real services (issue 9's findings): each is a
clear refusal with the right status code, nothing written, one log line at
most and no traceback, and the service keeps answering promptly."""

from __future__ import annotations

import json
import re
import time

import grpc
import pytest

from rdd.api.admission.v1 import admission_pb2, admission_pb2_grpc
from rdd.api.core.v1 import core_pb2_grpc
from rdd.api.meta.v1 import meta_pb2
from rdd.errors import ForbiddenError, InvalidError
from rdd.kinds import CONFIGMAP
from rdd.meta.names import TEMPLATE_LABEL
from tests.support.objects import billion_laughs
from tests.support.stack import Api, Stack

#: One unary method of each service, with the component serving it.
METHODS = [
    ("app", "/rdd.app.v1alpha1.AppService/Create"),
    ("limavm", "/rdd.lima.v1alpha1.LimaVMService/Get"),
    ("limavm", "/rdd.core.v1.ConfigMapService/Update"),
    ("limavm", "/rdd.core.v1.EventService/List"),
    ("webhook", "/rdd.admission.v1.AdmissionService/Review"),
]


def channel_to(stack: Stack, component: str) -> grpc.aio.Channel:
    """The one place this module makes a channel of its own."""
    return stack.channel(component)


def configmap(name: str, namespace: str = "default", **data: str):  # type: ignore[no-untyped-def]
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data.update(data)
    return cm


@pytest.mark.parametrize(("component", "method"), METHODS)
async def test_undecodable_bytes_are_invalid_argument_with_one_log_line(
    stack: Stack, component: str, method: str
) -> None:
    before = len(stack.log(component))
    async with channel_to(stack, component) as channel:
        send = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        for _ in range(3):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await send(b"\xff\xff\xff", timeout=5)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "not a valid message for this method" in (refused.value.details() or "")
    written = stack.log(component)[before:]
    assert "Traceback" not in written
    assert written.count('"msg": "undecodable_request"') == 3
    assert len([line for line in written.splitlines() if method in line]) == 3


async def test_a_name_with_a_trailing_newline_is_not_stored_beside_the_name(api: Api) -> None:
    await api.configmaps.create(configmap("nl"))
    try:
        with pytest.raises(InvalidError, match=r'metadata.name: Invalid value: "nl\\n"'):
            await api.configmaps.create(configmap("nl\n"))
        with pytest.raises(InvalidError, match=r'metadata.namespace: Invalid value: "nl\\n"'):
            await api.configmaps.create(configmap("other", namespace="nl\n"))
        names = [cm.metadata.name for cm in (await api.configmaps.list()).items]
        assert names == ["nl"]
    finally:
        await api.configmaps.delete("nl", "default")


@pytest.mark.parametrize("key", ["", " ", "\x00", "a b", "ok\n"])
async def test_label_keys_kubernetes_rejects_are_refused(api: Api, key: str) -> None:
    cm = configmap("labelled")
    cm.metadata.labels[key] = "v"
    with pytest.raises(
        InvalidError, match=re.escape(f"metadata.labels: Invalid value: {json.dumps(key)}")
    ):
        await api.configmaps.create(cm)
    assert (await api.configmaps.list()).items == []


async def test_annotations_are_at_most_256_kib(api: Api) -> None:
    cm = configmap("annotated")
    cm.metadata.annotations["a"] = "x" * (256 * 1024)
    with pytest.raises(InvalidError, match="metadata.annotations: Too long"):
        await api.configmaps.create(cm)
    assert (await api.configmaps.list()).items == []


async def test_deep_json_in_an_admission_review_is_invalid_argument(stack: Stack) -> None:
    deep = '{"metadata":' * 1000 + "{}" + "}" * 1000
    async with channel_to(stack, "webhook") as channel:
        stub = admission_pb2_grpc.AdmissionServiceStub(channel)
        request = admission_pb2.AdmissionRequest(operation="CREATE", kind="ConfigMap", object=deep)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Review(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nested too deeply" in (refused.value.details() or "")
    assert "Traceback" not in stack.log("webhook")


@pytest.mark.parametrize("version", [str(2**64), str(2**63), "9" * 100, "-1", "1e3", "\u0661"])
async def test_a_watch_resource_version_out_of_range_is_invalid_argument(
    api: Api, version: str
) -> None:
    stub = core_pb2_grpc.ConfigMapServiceStub(api.channels[1])
    call = stub.Watch(meta_pb2.WatchRequest(resource_version=version), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "resourceVersion: Invalid value" in (refused.value.details() or "")


async def test_a_template_nested_1000_deep_is_denied_not_internal(api: Api) -> None:
    cm = configmap("deep", template="images: " + "[" * 1000 + "]" * 1000 + "\n")
    cm.metadata.labels[TEMPLATE_LABEL] = "true"
    with pytest.raises(ForbiddenError, match="nested too deeply"):
        await api.configmaps.create(cm)
    assert (await api.configmaps.list()).items == []


async def test_an_alias_bomb_template_is_denied_at_once(api: Api, stack: Stack) -> None:
    text = "images: [{location: https://example.invalid/x.img}]\n" + billion_laughs(10)
    assert len(text) < 1300
    cm = configmap("lol", template=text)
    cm.metadata.labels[TEMPLATE_LABEL] = "true"
    pid = stack.pid("limavm")
    started = time.monotonic()
    with pytest.raises(ForbiddenError, match="excessive aliasing"):
        await api.configmaps.create(cm)
    assert time.monotonic() - started < 2
    assert (await api.configmaps.list()).items == []
    assert stack.pid("limavm") == pid


async def test_duplicate_keys_in_a_template_are_denied(api: Api) -> None:
    text = "images: [{location: https://example.invalid/x.img}]\ncpus: 2\ncpus: 4\n"
    cm = configmap("dup", template=text)
    cm.metadata.labels[TEMPLATE_LABEL] = "true"
    with pytest.raises(
        ForbiddenError, match='line 3.*mapping key "cpus" already defined at line 2'
    ):
        await api.configmaps.create(cm)
