"""rdd.meta.v1.VersionService, registered in every service process by
rdd.server.process: the build the process runs (rdd.version). Behind the
same interceptors (token, metrics) as every other RPC."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format

from rdd.api.meta.v1 import version_pb2, version_pb2_grpc
from rdd.version import version_info

SERVICE_NAME = version_pb2.DESCRIPTOR.services_by_name["VersionService"].full_name


class VersionServicer(version_pb2_grpc.VersionServiceServicer):
    def __init__(self) -> None:
        self._version = json_format.ParseDict(version_info(), version_pb2.Version())

    async def Get(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return self._version


def register(server: grpc.aio.Server) -> None:
    version_pb2_grpc.add_VersionServiceServicer_to_server(VersionServicer(), server)
