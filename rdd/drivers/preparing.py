"""Preparations in progress in this process: one task per instance name.

The sim and lima drivers run `prepare` as a task so that a caller that gives
up (or several callers at once) never leaves a half-made instance: the task
keeps going, `status` says Preparing, `delete` cancels it, and it cleans up
after itself when it fails or is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from rdd.drivers.base import DriverError, Notify

log = logging.getLogger(__name__)


class Preparations:
    def __init__(self, notify: Notify) -> None:
        self._notify = notify
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._errors: dict[str, str] = {}

    def is_running(self, name: str) -> bool:
        return name in self._tasks

    def last_error(self, name: str) -> str:
        """Why the last preparation of `name` failed ("" when it did not)."""
        return self._errors.get(name, "")

    def begin(self, name: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Start `work` for `name` unless a preparation of it is running; return
        that task. `is_running(name)` holds from now until it ends."""
        task = self._tasks.get(name)
        if task is None:
            self._errors.pop(name, None)
            task = asyncio.create_task(self._guarded(name, work), name=f"prepare-{name}")
            # Mark a failure as seen even when every caller has gone away.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._tasks[name] = task
        return task

    async def run(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` for `name`, or join the preparation already running."""
        task = self.begin(name, work)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and not (current and current.cancelling()):
                # Cancelled by delete() or shutdown(), not by our caller.
                raise DriverError(f"preparation of {name!r} was cancelled") from None
            raise

    async def _guarded(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
            self._errors.pop(name, None)
        except DriverError as err:
            self._errors[name] = err.message
            log.warning("event=prepare_failed name=%s error=%r", name, err.message)
            raise
        except asyncio.CancelledError:
            log.info("event=prepare_cancelled name=%s", name)
            raise
        except Exception as err:
            message = f"preparing instance {name!r} failed: {err}"
            self._errors[name] = message
            log.exception("event=prepare_failed name=%s", name)
            raise DriverError(message) from err
        finally:
            self._tasks.pop(name, None)
            self._notify(name)

    async def cancel(self, name: str) -> None:
        """Cancel the preparation of `name`, wait until it has cleaned up, and
        forget why an earlier one failed (the instance is being deleted)."""
        self._errors.pop(name, None)
        task = self._tasks.get(name)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def cancel_all(self) -> None:
        for name in list(self._tasks):
            await self.cancel(name)
