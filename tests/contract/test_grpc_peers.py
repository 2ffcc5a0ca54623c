"""A real gRPC peer (grpcurl) against each service: reflection lists the
services and grpc.health.v1.Health, and health is SERVING."""

from __future__ import annotations

import json

import pytest

from rdd.transport.sockets import socket_path
from tests.support.grpcurl import grpcurl
from tests.support.stack import Stack

EXPECTED = {
    "webhook": {"rdd.admission.v1.AdmissionService"},
    "limavm": {
        "rdd.lima.v1alpha1.LimaVMService",
        "rdd.core.v1.ConfigMapService",
        "rdd.core.v1.EventService",
    },
    "app": {"rdd.app.v1alpha1.AppService"},
}


def over_socket(stack: Stack, component: str) -> list[str]:
    """grpcurl's arguments for one service's unix socket, as the README gives them."""
    return ["-unix", str(socket_path(stack.address(component)))]


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_grpcurl_lists_services_and_health(stack: Stack, component: str):
    address = over_socket(stack, component)
    listed = grpcurl(*address, "list")
    assert listed.returncode == 0, listed.stderr
    services = set(listed.stdout.split())
    assert EXPECTED[component] | {"grpc.health.v1.Health"} <= services
    assert {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= (
        services
    )

    health = grpcurl(*address, "grpc.health.v1.Health/Check")
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["status"] == "SERVING"


def test_grpcurl_error_is_a_status_code_not_a_crash(stack: Stack):
    missing = grpcurl(
        "-d",
        '{"name": "nope", "namespace": "default"}',
        *over_socket(stack, "limavm"),
        "rdd.lima.v1alpha1.LimaVMService/Get",
    )
    assert missing.returncode != 0
    assert (
        "NotFound" in missing.stderr
        and 'limavms.lima.rancherdesktop.io "nope" not found' in missing.stderr
    )

    invalid = grpcurl(
        "-d",
        '{"object": {"apiVersion": "lima.rancherdesktop.io/v1alpha1", "kind": "LimaVM",'
        ' "metadata": {"name": "Bad_Name"}, "spec": {"templateRef": {"name": "rd"}}}}',
        *over_socket(stack, "limavm"),
        "rdd.lima.v1alpha1.LimaVMService/Create",
    )
    assert invalid.returncode != 0
    assert "InvalidArgument" in invalid.stderr and "metadata.name" in invalid.stderr


@pytest.mark.parametrize(
    "review",
    [
        '{"operation": "CREATE", "kind": "App"}',
        '{"operation": "DELETE", "kind": "LimaVM"}',
        '{"operation": "PATCH", "kind": "LimaVM"}',
        '{"operation": "CREATE", "kind": "Secret", "object": "{}"}',
        '{"operation": "CREATE", "kind": "App", "object": "not json"}',
    ],
)
def test_malformed_admission_reviews_are_invalid_argument(stack: Stack, review: str):
    answer = grpcurl(
        "-d", review, *over_socket(stack, "webhook"), "rdd.admission.v1.AdmissionService/Review"
    )
    assert answer.returncode != 0
    assert "InvalidArgument" in answer.stderr, answer.stderr


def test_grpcurl_describe_shows_the_proto_comments(stack: Stack):
    """The comments of the .proto files reach clients through reflection."""
    service = grpcurl(*over_socket(stack, "limavm"), "describe", "rdd.lima.v1alpha1.LimaVMService")
    assert service.returncode == 0, service.stderr
    assert "// LimaVMs (namespaced)" in service.stdout
    assert "// The LimaVM of this name" in service.stdout
    message = grpcurl(*over_socket(stack, "app"), "describe", "rdd.meta.v1.ListRequest")
    assert message.returncode == 0, message.stderr
    assert "// Empty: all namespaces." in message.stdout


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_under_both_names(stack: Stack, version: str):
    """What newer clients ask first (v1) and what older ones ask (v1alpha)."""
    from grpc_reflection.v1alpha import reflection_pb2

    async with stack.channel("app") as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol=f"grpc.reflection.{version}.ServerReflection"
            ),
        ]
        answers = [answer async for answer in call(iter(requests))]
    listed = {s.name for s in answers[0].list_services_response.service}
    assert "rdd.app.v1alpha1.AppService" in listed
    (found,) = answers[1].file_descriptor_response.file_descriptor_proto
    assert f"grpc.reflection.{version}".encode() in found
