"""LimaVMService: the generic resource methods plus the two that are about
instances: Logs (the host agent's logs, services.limavm.logs) and Info (the
driver and LIMA_HOME this service runs with, for `rdd limavm shell`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.drivers.base import instance_dir
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import LIMAVM
from rdd.meta.finalizers import is_deleting
from rdd.server.resources import ResourceServicer
from rdd.status import code_for
from rdd.store.registry import Companions, Registry
from services.limavm.logs import stream_logs


class LimaVMServicer(ResourceServicer):
    def __init__(
        self,
        registry: Registry,
        *,
        companions: Companions | None,
        driver: str,
        lima_home: Path,
        host_arch: str,
    ) -> None:
        super().__init__(
            LIMAVM,
            registry,
            list_message=limavm_pb2.LimaVMList,
            watch_event_message=limavm_pb2.LimaVMWatchEvent,
            companions=companions,
        )
        self._info = limavm_pb2.ServiceInfo(
            driver=driver, lima_home=str(lima_home), host_arch=host_arch
        )
        self._lima_home = lima_home

    async def Info(
        self, request: limavm_pb2.InfoRequest, context: grpc.aio.ServicerContext
    ) -> limavm_pb2.ServiceInfo:
        return self._info

    async def Logs(
        self, request: limavm_pb2.LogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[limavm_pb2.LogChunk]:
        """NOT_FOUND when the LimaVM does not exist; otherwise the logs (none
        while the instance is not built yet), followed on request."""
        namespace = request.namespace or "default"
        try:
            await self._registry.get(LIMAVM, namespace, request.name)
        except ApiError as error:
            await context.abort(code_for(error), error.message)
            return

        async def still_wanted() -> bool:
            try:
                vm: Any = await self._registry.get(LIMAVM, namespace, request.name)
            except NotFoundError:
                return False
            return not is_deleting(vm)

        inst_dir = instance_dir(self._lima_home, request.name)
        batches = stream_logs(inst_dir, follow=request.follow, still_wanted=still_wanted)
        try:
            async for batch in batches:
                yield limavm_pb2.LogChunk(
                    lines=[limavm_pb2.LogLine(source=source, text=text) for source, text in batch]
                )
        except ApiError as error:  # the store went away while following
            await context.abort(code_for(error), error.message)
