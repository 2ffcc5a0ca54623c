"""Ctrl-C ends a command, always: the first SIGINT cancels the command's
task so its cleanups run (calls cancelled, channels closed); if the process
is still there INTERRUPT_GRACE seconds later (a cleanup stuck in a gRPC
close on a starved machine, say), it exits 130 on the spot, as kubectl does
on any Ctrl-C. Nothing is lost by that: a write in flight is the server's to
finish or refuse as a whole."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Coroutine
from typing import Any

#: Seconds cleanups get after Ctrl-C before the process exits anyway.
INTERRUPT_GRACE = 3.0
INTERRUPTED = 130


def _exit_now() -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(INTERRUPTED)


async def _cancellable(main: Coroutine[Any, Any, int], grace: float) -> int:
    task = asyncio.current_task()
    assert task is not None

    def interrupted() -> None:
        task.cancel()
        timer = threading.Timer(grace, _exit_now)
        timer.daemon = True
        timer.start()

    # Off the main thread (an in-process caller) asyncio's own handling applies.
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, interrupted)
    return await main


def run_interruptible(main: Coroutine[Any, Any, int], *, grace: float = INTERRUPT_GRACE) -> int:
    """asyncio.run(main); 130 once Ctrl-C has cancelled it."""
    try:
        return asyncio.run(_cancellable(main, grace))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return INTERRUPTED
