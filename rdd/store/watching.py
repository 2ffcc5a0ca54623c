"""Resumable watches on etcd: a kind's changes after a revision, in order,
surviving etcd restarts; and waiting for one key to go (a leader's)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aetcd
import grpc

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
            try:
                watch = await self._client.watch(
                    prefix,
                    range_end=prefix_end(prefix),
                    start_revision=last_revision if delivered else last_revision + 1,
                    prev_kv=True,
                )
            except aetcd.exceptions.RevisionCompactedError as exc:
                raise GoneError(_gone_message(since, exc.compacted_revision)) from None
            except (TimeoutError, aetcd.exceptions.ClientError, grpc.aio.AioRpcError) as exc:
                log.info("event=watch_retry prefix=%s error=%r", prefix.decode(), exc)
                await asyncio.sleep(backoff.next())
                continue
            try:
                async for raw in watch:
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
            except aetcd.exceptions.RevisionCompactedError as exc:
                raise GoneError(_gone_message(since, exc.compacted_revision)) from None
            except (aetcd.exceptions.ClientError, grpc.aio.AioRpcError) as exc:
                log.info("event=watch_broken prefix=%s error=%r", prefix.decode(), exc)
                await asyncio.sleep(backoff.next())
            finally:
                await _quietly_cancel(watch)

    def _to_event(self, kind: Kind, raw: Any, *, with_prev: bool = False) -> StoreEvent | None:
        revision = int(raw.kv.mod_revision)
        if raw.kind == "DELETE":
            if raw.prev_kv is None:
                return None  # previous value compacted away; a relist will notice
            obj = self._decode(kind, raw.prev_kv)
            obj.metadata.resource_version = str(revision)
            return StoreEvent("DELETED", obj, revision)
        obj = self._decode(kind, raw.kv)
        kind_of_change = "ADDED" if raw.kv.version == 1 else "MODIFIED"
        prev = None
        if with_prev and kind_of_change == "MODIFIED" and raw.prev_kv is not None:
            prev = self._decode(kind, raw.prev_kv)
        return StoreEvent(kind_of_change, obj, revision, prev)

    async def wait_deleted(self, key: bytes, *, timeout: float) -> None:
        """Return once `key` is deleted, or after `timeout` seconds."""
        try:
            watch = await self._client.watch(key)
        except (aetcd.exceptions.ClientError, grpc.aio.AioRpcError) as exc:
            raise UnavailableError(f"etcd: cannot watch {key.decode()}: {exc}") from None

        async def deleted() -> None:
            async for event in watch:
                if event.kind == "DELETE":
                    return

        try:
            # Timing out (or a broken watch) is an answer too: the caller looks again.
            with contextlib.suppress(
                TimeoutError, aetcd.exceptions.ClientError, grpc.aio.AioRpcError
            ):
                await asyncio.wait_for(deleted(), timeout)
        finally:
            await _quietly_cancel(watch)


async def _quietly_cancel(watch: Any) -> None:
    try:
        await watch.cancel()
    except Exception:  # the stream may already be gone; nothing is left to release
        log.debug("event=watch_cancel_failed", exc_info=True)


def _gone_message(since: int, compacted: int) -> str:
    return f"too old resource version: {since} ({compacted})"
