"""The limactl stand-in (tests/standin/limactl): where it is and the knobs
a test may set (docs/limactl-standin.md); each test starts with none set."""

from __future__ import annotations

from pathlib import Path

STANDIN = Path(__file__).resolve().parent.parent / "standin"
STANDIN_KNOBS = (
    "CREATE_SECONDS",
    "FAIL_DOWNLOAD",
    "FAIL_DIGEST",
    "IGNORE_SIGINT",
    "SHUTDOWN_SECONDS",
    "EXIT_SECONDS",
    "DRIVER_DELAY_SECONDS",
    "ROOT",
    "VERSION",
)
