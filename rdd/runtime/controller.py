"""The controller loop: workers take keys from the queue, call reconcile,
and one function (`_settle`) decides what the outcome means.

Reconcile returns an Outcome (Done or RequeueAfter) or raises: a
TemporaryError (or any transient ApiError) retries with backoff; a
PermanentError is logged and dropped until the next change. Nothing is
swallowed: every failure is logged with the object key and retried.

Each reconcile is counted and timed under controller-runtime's metric names
(rdd.runtime.metrics), its result label chosen by `result_of`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from rdd.runtime import metrics
from rdd.runtime.queue import ShutDownError, WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """Converged (or waiting for a watch event)."""


@dataclass(frozen=True)
class RequeueAfter:
    """Look again after this many seconds (a timed deadline, not polling)."""

    seconds: float


Outcome = Done | RequeueAfter
DONE = Done()


class TemporaryError(Exception):
    """Retry, after `delay` seconds if given, else with the key's backoff."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """Retrying cannot help until the object changes."""


Reconcile = Callable[[Any], Awaitable[Outcome]]


def result_of(outcome: Outcome | BaseException) -> str:
    """controller-runtime's `result` label for a reconcile's outcome (pure):
    any exception is an error, even one retried after a set delay."""
    if isinstance(outcome, BaseException):
        return metrics.ERROR
    return metrics.REQUEUE_AFTER if isinstance(outcome, RequeueAfter) else metrics.SUCCESS


class Controller:
    def __init__(self, name: str, reconcile: Reconcile, *, workers: int = 2) -> None:
        self.name = name
        self.queue = WorkQueue(name)
        for result in (metrics.SUCCESS, metrics.ERROR, metrics.REQUEUE, metrics.REQUEUE_AFTER):
            metrics.RECONCILE_TOTAL.labels(name, result)  # at 0, as controller-runtime does
        metrics.RECONCILE_ERRORS.labels(name)
        self._reconcile = reconcile
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    def enqueue(self, key: Hashable) -> None:
        self.queue.add(key)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._work(), name=f"{self.name}-worker-{i}")
            for i in range(self._workers)
        ]

    async def shutdown(self) -> None:
        await self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDownError:
                return
            began = time.monotonic()
            try:
                outcome: Outcome | BaseException = await self._reconcile(key)
            except asyncio.CancelledError:
                self.queue.done(key)
                raise
            except Exception as exc:
                outcome = exc
            self._measure(outcome, time.monotonic() - began)
            self._settle(key, outcome)
            self.queue.done(key)

    def _measure(self, outcome: Outcome | BaseException, seconds: float) -> None:
        result = result_of(outcome)
        metrics.RECONCILE_TOTAL.labels(self.name, result).inc()
        metrics.RECONCILE_TIME.labels(self.name).observe(seconds)
        if result == metrics.ERROR:
            metrics.RECONCILE_ERRORS.labels(self.name).inc()

    def _settle(self, key: Hashable, outcome: Outcome | BaseException) -> None:
        """The one place a reconcile's result is interpreted."""
        match outcome:
            case Done():
                self.queue.forget(key)
            case RequeueAfter(seconds=seconds):
                self.queue.forget(key)
                self.queue.add_after(key, seconds)
            case TemporaryError(delay=float() | int() as delay):
                log.info(
                    "event=reconcile_retry controller=%s key=%s delay=%.3f error=%s",
                    self.name,
                    key,
                    delay,
                    outcome,
                )
                self.queue.add_after(key, delay)
            case PermanentError():
                log.error(
                    "event=reconcile_failed controller=%s key=%s error=%s", self.name, key, outcome
                )
                self.queue.forget(key)
            case _:
                delay = self.queue.add_rate_limited(key)
                log.warning(
                    "event=reconcile_error controller=%s key=%s retry_in=%.3f error=%r",
                    self.name,
                    key,
                    delay,
                    outcome,
                )
