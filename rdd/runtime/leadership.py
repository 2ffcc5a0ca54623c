"""Leader election through an etcd lease (etcd's concurrency recipe), so that
of M replicas of a service exactly one runs its controller at a time.

A replica grants itself a lease (TTL 2 s, renewed every 0.5 s) and creates
`<prefix>/leaders/<name>` on it if nobody holds it; the key's create revision
is its term (a Fence). While it leads, it runs the component `make(fence)`
built, whose writes carry the fence: the commit compares the key's create
revision, so once the term ends (lease expired, key gone) no write of the
old leader can land, even one already on its way after a long pause — a lock
alone does not give that. Followers watch the key and campaign the moment it
goes. A renewal that fails, or that cannot be made in time, ends the term at
once: the component is shut down before the lease could have expired.

Used by the App and LimaVM service mains around their controllers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Protocol

from rdd.errors import ApiError
from rdd.retry import Backoff
from rdd.store.etcdclient import EtcdStore, Fence

log = logging.getLogger(__name__)

LEASE_TTL_SECONDS = 2
RENEW_EVERY_SECONDS = 0.5


class Component(Protocol):
    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...


def replica_identity() -> str:
    """What a leader writes in its key: host and pid (`svc status` reads it)."""
    return f"{socket.gethostname()}/{os.getpid()}"


def term_is_over(*, ttl_left: int | None, since_renewal: float, ttl: float, margin: float) -> bool:
    """Whether a leader must stop now (pure): its lease expired (ttl_left 0),
    or it has not renewed for so long that the lease may expire before the
    next renewal could land (`margin`)."""
    if ttl_left == 0:
        return True
    return since_renewal >= ttl - margin


class Elected:
    """Runs a component only while this process leads `name`."""

    def __init__(
        self,
        store: EtcdStore,
        name: str,
        make: Callable[[Fence], Component],
        *,
        identity: str | None = None,
        ttl: int = LEASE_TTL_SECONDS,
        renew_every: float = RENEW_EVERY_SECONDS,
    ) -> None:
        self._store = store
        self.name = name
        self._make = make
        self._identity = identity or replica_identity()
        self._ttl = ttl
        self._renew_every = renew_every
        self._task: asyncio.Task[None] | None = None
        #: The current term while leading, else None.
        self.fence: Fence | None = None

    @property
    def leading(self) -> bool:
        return self.fence is not None

    async def start(self) -> None:
        """One campaign now: when nobody leads (a first start, or after the
        leader resigned) this replica's component has started when start
        returns, as a single replica's did; else it returns as a follower,
        which serves its API while it waits."""
        first: tuple[int, Fence | None] | None = None
        try:
            lease = await self._store.grant_lease(self._ttl)
            first = (lease, await self._store.campaign(self.name, self._identity, lease))
        except ApiError as exc:
            log.warning("event=election_retry election=%s error=%s", self.name, exc.message)
        ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.get_running_loop().create_task(
            self._run(first, ready), name=f"election-{self.name}"
        )
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            self._task.result()  # raises why it ended

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(
        self, first: tuple[int, Fence | None] | None, ready: asyncio.Future[None]
    ) -> None:
        backoff = Backoff(initial=0.1, cap=self._ttl)
        while True:
            try:
                await self._term(first, ready)
                first = None
                backoff.reset()
            except ApiError as exc:
                log.warning("event=election_retry election=%s error=%s", self.name, exc.message)
                await asyncio.sleep(backoff.next())
            except Exception:
                if not ready.done():
                    raise  # the first term could not start: the service fails to start
                log.exception("event=term_failed election=%s", self.name)
                await asyncio.sleep(backoff.next())

    async def _term(
        self, first: tuple[int, Fence | None] | None, ready: asyncio.Future[None]
    ) -> None:
        """One lease: campaign until leading (or the lease is gone), lead,
        step down. `first`: the lease and outcome of start's campaign."""
        lease, fence = (
            first if first is not None else (await self._store.grant_lease(self._ttl), None)
        )
        try:
            if fence is None:
                if not ready.done():
                    ready.set_result(None)  # a follower: start is over
                fence = await self._campaign(lease)
            if fence is None:
                return
            component = self._make(fence)
            self.fence = fence
            log.info("event=elected election=%s term=%d", self.name, fence.revision)
            try:
                await component.start()
                if not ready.done():
                    ready.set_result(None)
                await self._hold(lease)
            finally:
                self.fence = None
                log.info("event=stepped_down election=%s term=%d", self.name, fence.revision)
                await asyncio.shield(component.shutdown())
                with contextlib.suppress(ApiError):
                    await self._store.resign(fence)
        finally:
            with contextlib.suppress(ApiError):
                await self._store.revoke_lease(lease)

    async def _campaign(self, lease: int) -> Fence | None:
        """The term once this replica leads; None when its lease ran out."""
        while True:
            fence = await self._store.campaign(self.name, self._identity, lease)
            if fence is not None:
                return fence
            await self._store.wait_deleted(
                self._store.leader_key(self.name), timeout=self._renew_every
            )
            if await self._store.keep_alive(lease) == 0:
                return None

    async def _hold(self, lease: int) -> None:
        """Renew the lease until the term is over."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self._renew_every)
            ttl_left: int | None
            try:
                async with asyncio.timeout(self._renew_every):
                    ttl_left = await self._store.keep_alive(lease)
            except (ApiError, TimeoutError):
                ttl_left = None
            now = time.monotonic()
            if ttl_left:
                renewed = now
                continue
            if term_is_over(
                ttl_left=ttl_left,
                since_renewal=now - renewed,
                ttl=self._ttl,
                margin=self._renew_every,
            ):
                log.warning("event=lease_lost election=%s", self.name)
                return
