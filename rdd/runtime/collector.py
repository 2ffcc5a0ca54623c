"""A level-based collector of leftover name claims and owner-index entries.

Every few seconds it reads, at one revision, which claims and index entries
have lost their object (rdd.store.orphans) and removes each with a
compare-and-delete, so a name can never stay blocked by an object that is
gone. Runs as a Component of the LimaVM service (which owns LimaVM names);
it sweeps the whole key prefix, so one instance covers every kind."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from rdd.errors import ApiError
from rdd.store.etcdclient import EtcdStore

log = logging.getLogger(__name__)

COLLECT_INTERVAL_SECONDS = 5.0


class Collector:
    def __init__(self, store: EtcdStore, *, interval: float = COLLECT_INTERVAL_SECONDS) -> None:
        self._store = store
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="collector")

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def collect(self) -> int:
        """One sweep; how many entries it removed."""
        removed = 0
        for orphan in await self._store.orphans():
            if await self._store.remove_orphan(orphan):
                removed += 1
                log.warning(
                    "event=orphan_removed key=%s object=%s",
                    orphan.key.decode(errors="replace"),
                    orphan.object_key.decode(errors="replace"),
                )
        return removed

    async def _run(self) -> None:
        while True:
            try:
                await self.collect()
            except ApiError as error:  # etcd away: the next sweep tries again
                log.info("event=collect_failed error=%s", error.message)
            await asyncio.sleep(self._interval)
