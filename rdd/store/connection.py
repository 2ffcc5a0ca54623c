"""One etcd client and the calls every part of the store makes through it:
a unary KV call with its errors mapped to domain errors, the current
revision, decoding a stored object, compaction.

`EtcdConnection` is the base the store's parts build on (rdd.store.etcdclient
for objects, rdd.store.watching for watches, rdd.store.fencing for leader
terms); nothing outside rdd.store uses it by this name.
"""

from __future__ import annotations

from typing import Any, Self

import aetcd
import grpc
from aetcd import rpc

from rdd.errors import GoneError, InvalidError, UnavailableError
from rdd.kinds import Kind
from rdd.store.keys import KeyLayout
from rdd.transport.channels import NO_CREDENTIALS, Credentials, open_channel


class _Client(aetcd.Client):
    """aetcd's client on a channel from rdd.transport (unix socket, or TLS
    with a client certificate), which aetcd itself cannot open."""

    def __init__(self, target: str, credentials: Credentials, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._target = target
        self._credentials = credentials

    async def connect(self) -> None:
        if self._connected.is_set():
            return
        # Replies may hold many objects; the transport's limits apply otherwise.
        self.channel = open_channel(
            self._target,
            self._credentials,
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        self.kvstub = rpc.KVStub(self.channel)
        self.clusterstub = rpc.ClusterStub(self.channel)
        self.leasestub = rpc.LeaseStub(self.channel)
        self.maintenancestub = rpc.MaintenanceStub(self.channel)
        self.watchstub = rpc.WatchStub(self.channel)  # rdd.store.watching: a stream per watch
        self._connected.set()


class EtcdConnection:
    """An etcd client, its key layout and its call timeout."""

    def __init__(self, client: aetcd.Client, layout: KeyLayout, timeout: float) -> None:
        self._client = client
        self._layout = layout
        self._timeout = timeout

    @classmethod
    async def connect(
        cls,
        endpoints: str,
        *,
        prefix: str = "/rdd",
        timeout: float = 5.0,
        credentials: Credentials = NO_CREDENTIALS,
    ) -> Self:
        """`endpoints` is etcd's comma list (`unix:///path`, `https://HOST:PORT`,
        `http://HOST:PORT`): one client over all of them, which moves to
        another member when one is down. UnavailableError when none answers."""
        client = _Client(endpoints, credentials, timeout=timeout)
        store = cls(client, KeyLayout(prefix), timeout)
        try:
            await store.revision()
        except UnavailableError as exc:
            await client.close()
            raise UnavailableError(f"etcd is unreachable at {endpoints}: {exc}") from None
        return store

    async def close(self) -> None:
        await self._client.close()

    @property
    def layout(self) -> KeyLayout:
        return self._layout

    async def _call(self, method: str, request: Any) -> Any:
        """One KV call (Range, Txn, Compact)."""
        await self._client.connect()
        stub = self._client.kvstub
        try:
            return await getattr(stub, method)(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc) from None

    async def _lease_call(self, method: str, request: Any) -> Any:
        """One Lease call (LeaseGrant, LeaseRevoke)."""
        await self._client.connect()
        try:
            return await getattr(self._client.leasestub, method)(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc) from None

    async def revision(self) -> int:
        """The store's current revision (a cheap read of an absent key)."""
        response = await self._call(
            "Range", rpc.RangeRequest(key=self._layout.prefix.encode() + b"/~", count_only=True)
        )
        return int(response.header.revision)

    def _decode(self, kind: Kind, kv: Any) -> Any:
        obj = kind.message()
        obj.ParseFromString(kv.value)
        obj.metadata.resource_version = str(kv.mod_revision)
        return obj

    async def compact(self, revision: int) -> None:
        """Compact history up to `revision` (tests and maintenance)."""
        await self._call("Compact", rpc.CompactionRequest(revision=revision, physical=True))


def store_error(exc: grpc.aio.AioRpcError) -> Exception:
    """The domain error a failed etcd call stands for."""
    code = exc.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT and "too large" in (exc.details() or ""):
        return InvalidError(f"etcd refused the request: {exc.details()}")
    if code == grpc.StatusCode.OUT_OF_RANGE:
        return GoneError(exc.details() or "revision compacted")
    return UnavailableError(f"etcd: {code.name}: {exc.details()}")
