"""The fault suite's round count and seed: printed in pytest's header so a
failing run can be replayed (RDD_FAULT_SEED, RDD_FAULT_ROUNDS)."""

from __future__ import annotations

import os
import random

import pytest

from tests.support.fixtures import make_session, make_stack

__all__ = ["make_session", "make_stack"]  # the stack fixtures, here too

ROUNDS = int(os.environ.get("RDD_FAULT_ROUNDS", "4"))
SEED = int(os.environ.get("RDD_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))


def pytest_report_header(config: pytest.Config) -> str:
    return f"fault suite: RDD_FAULT_SEED={SEED} RDD_FAULT_ROUNDS={ROUNDS}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(f"fault suite: RDD_FAULT_SEED={SEED} RDD_FAULT_ROUNDS={ROUNDS}")
