"""Stack fixtures: one shared real stack (sim driver), separate stacks
with their own environment, per-test clients, and a check that every test
leaves nothing behind. A conftest imports the ones its tests use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from rdd.errors import NotFoundError
from tests.support.stack import Api, Stack
from tests.support.waiting import eventually


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    shared = Stack(tmp_path_factory.mktemp("stack"))
    shared.start()
    yield shared
    shared.stop()
    assert shared.vm_processes() == [], "svc stop left VM processes running"


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """A separate stack with its own environment (host arch, delays...)."""
    made: list[Stack] = []

    def make(**env: str) -> Stack:
        new = Stack(tmp_path / f"stack{len(made)}", **env)
        made.append(new)
        new.start()
        return new

    yield make
    for each in made:
        each.stop()
        assert each.vm_processes() == [], "svc stop left VM processes running"


async def assert_clean(api: Api, stack: Stack) -> None:
    """Delete the App if a test left one, then insist nothing is left behind."""
    with contextlib.suppress(NotFoundError):
        await api.apps.delete("app")

    async def nothing_left() -> bool:
        apps = (await api.apps.list()).items
        vms = (await api.limavms.list()).items
        cms = (await api.configmaps.list()).items
        return not apps and not vms and not cms

    await eventually(nothing_left, timeout=20, message="objects left behind")
    await eventually(lambda: stack.instance_dirs() == [], timeout=10, message="instance dirs left")
    await eventually(lambda: stack.vm_processes() == [], timeout=10, message="VM processes left")


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    client = Api.connect(stack)
    try:
        yield client
        await assert_clean(client, stack)
    finally:
        await client.close()


class Session:
    """A separate stack and clients connected to it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.api = Api.connect(stack)

    async def restart(self) -> None:
        """`svc start` again (brings back what was killed) and reconnect."""
        self.stack.start()
        await self.api.close()
        self.api = Api.connect(self.stack)


@pytest.fixture
async def make_session(
    make_stack: Callable[..., Stack],
) -> AsyncIterator[Callable[..., Session]]:
    """Like make_stack, with clients; checks nothing is left behind after."""
    sessions: list[Session] = []

    def make(**env: str) -> Session:
        sessions.append(Session(make_stack(**env)))
        return sessions[-1]

    yield make
    for session in sessions:
        try:
            await assert_clean(session.api, session.stack)
        finally:
            await session.api.close()
