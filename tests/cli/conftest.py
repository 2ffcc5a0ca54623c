"""The CLI contract modules' stack: one real stack per test module, started
with `rdd svc start` and checked to leave nothing behind when stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import run_rdd, stack_env, stop_and_check


@pytest.fixture(scope="module")
def cli_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    short = request.module.__name__.rpartition(".")[2].removeprefix("test_")[:12]
    environment = stack_env(tmp_path_factory.mktemp(short) / "home")
    started = run_rdd("svc", "start", env=environment, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        yield environment
    finally:
        stop_and_check(environment)


@pytest.fixture(scope="module")
def env(cli_stack: dict[str, str]) -> dict[str, str]:
    """The module's stack's environment, for `rdd` commands."""
    return cli_stack
