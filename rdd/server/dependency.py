"""Health follows the dependency: a Component that probes etcd every second
and turns the service NOT_SERVING once etcd has been unreachable for a few
seconds, SERVING again at the first probe that answers.

A service whose store is gone cannot serve a single resource call, so saying
SERVING would send clients (and `rdd svc status`) the wrong way. A short
grace keeps an etcd restart or a slow moment from flapping health; each
change of state is one log line naming the dependency and why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from rdd.errors import ApiError
from rdd.store.etcdclient import EtcdStore

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 1.0
#: Unreachable for longer than this: NOT_SERVING.
GRACE_SECONDS = 3.0

Probe = Callable[[], Awaitable[object]]
SetServing = Callable[[bool], Awaitable[None]]


def should_serve(seconds_since_answer: float, grace: float = GRACE_SECONDS) -> bool:
    """Serving while the dependency answered within `grace` seconds: one
    missed probe (an etcd restart, a leader election) is not an outage."""
    return seconds_since_answer <= grace


class DependencyWatchdog:
    """Probes one dependency; tells the process whether to serve."""

    def __init__(
        self,
        name: str,
        probe: Probe,
        set_serving: SetServing,
        *,
        interval: float = PROBE_INTERVAL_SECONDS,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self._name = name
        self._probe = probe
        self._set_serving = set_serving
        self._interval = interval
        self._timeout = timeout
        self._grace = grace
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"watchdog-{self._name}"
        )

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _answers(self) -> str | None:
        """None when the dependency answered in time, else why not."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._probe()
        except TimeoutError:
            return f"no answer within {self._timeout:g}s"
        except ApiError as error:
            return error.message
        return None

    async def _run(self) -> None:
        last_answer = time.monotonic()
        serving = True
        while True:
            problem = await self._answers()
            now = time.monotonic()
            if problem is None:
                last_answer = now
            wanted = should_serve(now - last_answer, self._grace)
            if wanted != serving:
                serving = wanted
                if serving:
                    log.warning("event=dependency_up dependency=%s serving=true", self._name)
                else:
                    log.error(
                        "event=dependency_down dependency=%s serving=false unreachable_for=%.1fs "
                        "error=%r",
                        self._name,
                        now - last_answer,
                        problem,
                    )
                await self._set_serving(serving)
            await asyncio.sleep(self._interval)


def watch_store(store: EtcdStore, set_serving: SetServing) -> DependencyWatchdog:
    """The watchdog each service runs on its etcd store: the probe is the
    store's revision, the cheapest read etcd answers."""
    return DependencyWatchdog("etcd", store.revision, set_serving)
