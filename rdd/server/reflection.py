"""gRPC server reflection under both names clients ask for:
`grpc.reflection.v1alpha.ServerReflection` (what grpcio-reflection serves)
and `grpc.reflection.v1.ServerReflection` (what newer grpcurl, grpcui and
Postman try first).

The two protocols are the same messages with the same field numbers in
another package, so the v1 service is the v1alpha servicer registered under
the v1 name; its descriptor (v1alpha's, renamed) is added to the pool so
`grpcurl describe grpc.reflection.v1.ServerReflection` works too.

Comments: protoc's Python output drops the .proto files' comments, so the
build also writes `rdd/api/descriptors.binpb`, a descriptor set made with
`--include_source_info`; the files reflection hands out are taken from it
when it is there, and `grpcurl describe` shows each service's, method's,
message's and field's comment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

V1ALPHA = reflection.SERVICE_NAME
V1 = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def v1_file() -> descriptor_pb2.FileDescriptorProto:
    """v1alpha's reflection.proto with its package renamed to v1 (pure)."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = f".{proto.package}.", ".grpc.reflection.v1."
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name.removeprefix(old)
    for service in proto.service:
        for method in service.method:
            method.input_type = new + method.input_type.removeprefix(old)
            method.output_type = new + method.output_type.removeprefix(old)
    return proto


#: The descriptor set with comments, beside the generated stubs.
DESCRIPTOR_SET = "descriptors.binpb"


def commented_files() -> dict[str, bytes]:
    """{proto file name: its FileDescriptorProto with source info}, from the
    descriptor set the build wrote; empty when there is none."""
    try:
        raw = resources.files("rdd.api").joinpath(DESCRIPTOR_SET).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(raw).file
    return {f.name: f.SerializeToString() for f in files}


class CommentedReflectionServicer(ReflectionServicer):
    """grpcio-reflection's servicer, answering with the commented files."""

    def __init__(
        self, names: Sequence[str], pool: descriptor_pool.DescriptorPool, files: Mapping[str, bytes]
    ) -> None:
        super().__init__(names, pool=pool)
        self._commented = dict(files)

    def _with_comments(self, response: Any) -> Any:
        if response.HasField("file_descriptor_response"):
            found = response.file_descriptor_response.file_descriptor_proto
            for i, raw in enumerate(found):
                name = descriptor_pb2.FileDescriptorProto.FromString(raw).name
                if name in self._commented:
                    found[i] = self._commented[name]
        return response

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        return self._with_comments(super()._file_by_filename(request, filename))

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        return self._with_comments(super()._file_containing_symbol(request, fully_qualified_name))


def _add_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(_V1_FILE)
    except KeyError:
        pool.Add(v1_file())


def enable(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Serve reflection (both versions) of `service_names` and of itself."""
    pool = descriptor_pool.Default()
    _add_v1_descriptor(pool)
    names = [*service_names, V1ALPHA, V1]
    servicer = CommentedReflectionServicer(names, pool, commented_files())
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        tuple(
            grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": handler})
            for name in (V1ALPHA, V1)
        )
    )
