"""LimaVMService: the generic resource methods plus the two that are about
instances: Logs (the host agent's logs, rdd.services.limavm.logs) and Info (the
driver and LIMA_HOME this service runs with, for `rdd limavm shell`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from rdd.services.limavm.logs import stream_logs

from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.drivers import Driver, make_driver
from rdd.errors import ApiError
from rdd.kinds import LIMAVM
from rdd.meta.finalizers import is_deleting
from rdd.retry import Backoff
from rdd.rpc_status import code_for
from rdd.server.auth import Authenticator
from rdd.server.resources import ResourceServicer
from rdd.store.registry import Registry
from rdd.store.review import Companions

log = logging.getLogger("rdd.services.limavm.logs")
#: After the watch failed (compaction, etcd unreachable): first wait before
#: listing again, doubled up to the maximum.
RELIST_DELAY = 0.1
RELIST_DELAY_MAX = 5.0


class LimaVMServicer(ResourceServicer):
    def __init__(
        self,
        registry: Registry,
        *,
        companions: Companions | None,
        driver: str,
        lima_home: Path,
        host_arch: str,
        authenticator: Authenticator | None = None,
    ) -> None:
        super().__init__(
            LIMAVM,
            registry,
            list_message=limavm_pb2.LimaVMList,
            watch_event_message=limavm_pb2.LimaVMWatchEvent,
            companions=companions,
            authenticator=authenticator,
        )
        self._info = limavm_pb2.ServiceInfo(
            driver=driver, lima_home=str(lima_home), host_arch=host_arch
        )
        # The driver answers where an instance's logs are. This one only
        # answers that (every replica serves Logs; only the leader's
        # controller drives VMs), so it is built with nothing to notify.
        self._driver: Driver = make_driver(driver, lima_home, lambda _: None)

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
            vm: Any = await self._registry.get(LIMAVM, namespace, request.name)
        except ApiError as error:
            await context.abort(code_for(error), error.message)
            return
        gone = asyncio.Event()
        watcher: asyncio.Task[None] | None = None
        if request.follow:
            watcher = asyncio.create_task(
                self._watch_until_gone(namespace, request.name, vm.metadata.uid, gone)
            )
        files = self._driver.log_files(request.name)
        try:
            async for batch in stream_logs(
                files.directory, follow=request.follow, gone=gone, sources=files.sources
            ):
                yield limavm_pb2.LogChunk(
                    lines=[limavm_pb2.LogLine(source=source, text=text) for source, text in batch]
                )
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _watch_until_gone(
        self, namespace: str, name: str, uid: str, gone: asyncio.Event
    ) -> None:
        """Set `gone` once the LimaVM `uid` is deleting or deleted, learnt
        from a watch on the namespace's LimaVMs (a list gives the revision to
        watch from; listed again after a compaction or a failed list)."""
        backoff = Backoff(initial=RELIST_DELAY, cap=RELIST_DELAY_MAX)
        while True:
            try:
                vms, revision = await self._registry.list(LIMAVM, namespace)
                vm = next((v for v in vms if v.metadata.name == name), None)
                if vm is None or vm.metadata.uid != uid or is_deleting(vm):
                    break
                events = self._registry.watch(LIMAVM, namespace, revision)
                try:
                    async for event in events:
                        backoff.reset()
                        obj = event.obj
                        if obj.metadata.name == name and (
                            event.type == "DELETED" or obj.metadata.uid != uid or is_deleting(obj)
                        ):
                            gone.set()
                            return
                finally:
                    await _close(events)
                log.info("event=logs_watch_ended name=%s", name)
            except ApiError as error:
                log.info("event=logs_watch_retry name=%s error=%r", name, error.message)
            await asyncio.sleep(backoff.next())
        gone.set()


async def _close(iterator: AsyncIterator[Any]) -> None:
    """End an async generator now (its etcd watch), not when it is collected."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
