"""Resumable watches on etcd: a kind's changes after a revision, in order,
surviving etcd restarts; and waiting for one key to go (a leader's).

Each watch has its own gRPC stream (streams share the client's one HTTP/2
connection). aetcd's watcher multiplexes every watch on one stream and pairs
a create request with the next "created" reply; after a create times out
(etcd coming back up), the late reply is handed to the next watch, which is
then silently bound to another key range. A stream per watch cannot mix
them up, and a broken or stalled one is re-opened on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from aetcd import rpc

from rdd.errors import GoneError, UnavailableError
from rdd.kinds import Kind
from rdd.retry import Backoff
from rdd.store.connection import EtcdConnection
from rdd.store.keys import prefix_end

log = logging.getLogger(__name__)

#: Delays between attempts to re-open a broken watch.
_RETRY_INITIAL_SECONDS = 0.05
_RETRY_CAP_SECONDS = 1.0


@dataclass(frozen=True)
class StoreEvent:
    """ADDED, MODIFIED or DELETED, with the object as of `revision`."""

    type: str
    obj: Any
    revision: int
    #: The object before this change (MODIFIED only, and only when the watch
    #: was asked `with_prev`): a selecting watch tells entering from leaving.
    prev: Any | None = None


class _Broken(Exception):
    """A watch stream ended or was refused: open it again."""


class Watching(EtcdConnection):
    """watch() and wait_deleted(), on the store's connection."""

    async def watch(
        self, kind: Kind, namespace: str, since: int, *, with_prev: bool = False
    ) -> AsyncIterator[StoreEvent]:
        """Changes after revision `since`, in order, surviving etcd restarts
        (resumes from the last revision seen, skipping what was delivered).
        Raises GoneError when `since` has been compacted away."""
        prefix = self._layout.list_prefix(kind, namespace)
        last_revision = since
        delivered: set[bytes] = set()  # keys already delivered at last_revision
        backoff = Backoff(_RETRY_INITIAL_SECONDS, _RETRY_CAP_SECONDS)
        while True:
            create = rpc.WatchCreateRequest(
                key=prefix,
                range_end=prefix_end(prefix),
                start_revision=last_revision if delivered else last_revision + 1,
                prev_kv=True,
            )
            try:
                async for raw in self._events(create, since):
                    backoff.reset()
                    event = self._to_event(kind, raw, with_prev=with_prev)
                    if event is None:
                        continue
                    if event.revision == last_revision and raw.kv.key in delivered:
                        continue
                    if event.revision != last_revision:
                        last_revision = event.revision
                        delivered = set()
                    delivered.add(raw.kv.key)
                    yield event
            except _Broken as exc:
                log.info("event=watch_broken prefix=%s error=%s", prefix.decode(), exc)
                await asyncio.sleep(backoff.next())

    async def _events(self, create: rpc.WatchCreateRequest, since: int) -> AsyncIterator[Any]:
        """The events of one watch on its own stream, until it breaks
        (_Broken) or its start was compacted away (GoneError)."""
        await self._client.connect()
        call = self._client.watchstub.Watch(metadata=self._client.metadata)
        try:
            try:
                await call.write(rpc.WatchRequest(create_request=create))
                async with asyncio.timeout(self._timeout):
                    created = await call.read()
                while True:
                    response = created if created is not None else await call.read()
                    created = None
                    if response is grpc.aio.EOF:  # type: ignore[attr-defined]  # grpc-stubs lacks it
                        raise _Broken("etcd ended the stream")
                    if response.compact_revision:
                        raise GoneError(_gone_message(since, response.compact_revision))
                    if response.canceled:
                        raise _Broken(f"etcd cancelled the watch: {response.cancel_reason}")
                    for event in response.events:
                        yield event
            except TimeoutError:
                raise _Broken("etcd did not confirm the watch in time") from None
            except grpc.aio.AioRpcError as exc:
                raise _Broken(f"{exc.code().name}: {exc.details()}") from None
        finally:
            call.cancel()

    def _to_event(self, kind: Kind, raw: Any, *, with_prev: bool = False) -> StoreEvent | None:
        revision = int(raw.kv.mod_revision)
        has_prev = raw.HasField("prev_kv")
        if raw.type == rpc.Event.DELETE:
            if not has_prev:
                return None  # previous value compacted away; a relist will notice
            obj = self._decode(kind, raw.prev_kv)
            obj.metadata.resource_version = str(revision)
            return StoreEvent("DELETED", obj, revision)
        obj = self._decode(kind, raw.kv)
        kind_of_change = "ADDED" if raw.kv.version == 1 else "MODIFIED"
        prev = None
        if with_prev and kind_of_change == "MODIFIED" and has_prev:
            prev = self._decode(kind, raw.prev_kv)
        return StoreEvent(kind_of_change, obj, revision, prev)

    async def wait_deleted(self, key: bytes, *, timeout: float) -> None:
        """Return once `key` is absent, or after `timeout` seconds. Timing
        out or a broken watch is an answer too: the caller looks again.

        The watch starts right after a read that found the key, so a delete
        that came before the watch opened (just after a lost campaign, say)
        is in its history instead of missed."""

        async def deleted() -> None:
            found = await self._call("Range", rpc.RangeRequest(key=key, keys_only=True))
            if not found.kvs:
                return
            since = int(found.header.revision)
            watch = rpc.WatchCreateRequest(key=key, start_revision=since + 1)
            async for event in self._events(watch, since):
                if event.type == rpc.Event.DELETE:
                    return

        with contextlib.suppress(TimeoutError, _Broken, GoneError, UnavailableError):
            async with asyncio.timeout(timeout):
                await deleted()


def _gone_message(since: int, compacted: int) -> str:
    return f"too old resource version: {since} ({compacted})"
