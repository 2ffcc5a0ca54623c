"""Ctrl-C ends a command, even one whose cleanup hangs (rdd.cli.interrupt)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

SCRIPT = """
import asyncio, sys
from rdd.cli.interrupt import run_interruptible

async def command():
    print("ready", flush=True)
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        if sys.argv[1] == "stubborn":
            await asyncio.sleep(60)  # a cleanup that never ends
        raise
    return 0

sys.exit(run_interruptible(command(), grace=0.5))
"""


@pytest.mark.parametrize("cleanup", ["prompt", "stubborn"])
def test_ctrl_c_exits_130(cleanup: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, cleanup], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=30)
    assert child.returncode == 130
    if cleanup == "stubborn":
        assert time.monotonic() - started < 30  # not the 60 s the cleanup wanted
