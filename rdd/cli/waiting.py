"""Waiting on an object through the Watch RPC: list once (state and store
revision), then watch from that revision; relist only when the watch breaks
or its revision was compacted. Never a polling loop.

Used by `rdd ctl wait`, `rdd ctl delete --wait` and `rdd set`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

from rdd.clients import ResourceClient
from rdd.errors import GoneError, NotFoundError, UnavailableError
from rdd.meta.serialization import to_dict
from rdd.retry import Backoff

State = dict[str, Any] | None


async def observe(client: ResourceClient, name: str, namespace: str) -> AsyncGenerator[State, None]:
    """The object now, then after every change: its dict, or None while it
    does not exist. Runs until the caller stops iterating (use aclosing)."""
    backoff = Backoff(initial=0.1, cap=2.0)
    listed = False
    while True:
        try:
            listing = await client.list(namespace)
            listed = True
            current = next((o for o in listing.items if o.metadata.name == name), None)
            yield None if current is None else to_dict(current)
            events = cast(
                AsyncGenerator[Any, None],
                client.watch(namespace, resource_version=listing.resource_version, name=name),
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    backoff.reset()
                    yield None if event.type == "DELETED" else to_dict(event.object)
        except GoneError:
            continue  # the revision was compacted away: relist, watch again
        except UnavailableError:
            if not listed:
                raise
            # The service went away mid-watch (restart): relist once it is back.
            await asyncio.sleep(backoff.next())


async def wait_until(
    client: ResourceClient,
    name: str,
    namespace: str,
    predicate: Callable[[State], bool],
    *,
    timeout: float | None,
    must_exist: bool = False,
) -> State:
    """The first state that meets `predicate`. TimeoutError after `timeout`
    seconds (None: no limit; 0: look once, as kubectl does). `must_exist`:
    NotFoundError when the object is not there to begin with."""
    async with asyncio.timeout(timeout or None):
        states = observe(client, name, namespace)
        async with contextlib.aclosing(states):
            first = True
            async for state in states:
                if first and must_exist and state is None:
                    raise NotFoundError(f"{client.kind.named(name)} not found")
                first = False
                if predicate(state):
                    return state
                if timeout == 0:
                    raise TimeoutError
    raise AssertionError("observe() ended")  # it never does: it relists
