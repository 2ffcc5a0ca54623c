"""Shared fixtures: a real etcd per test session, and leak checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest

from rdd.stack.etcd import EtcdProcess, start_etcd, unix_listen
from rdd.store.etcdclient import EtcdStore
from tests.support.objects import unique_prefix


@pytest.fixture(scope="session")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    """A real etcd on a unix socket, for the whole session."""
    home = tmp_path_factory.mktemp("etcd")
    process = start_etcd(home / "data", home / "etcd.log", unix_listen(home))
    yield process
    os.kill(process.pid, signal.SIGTERM)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(process.pid, 0)


@pytest.fixture
async def store(etcd: EtcdProcess) -> AsyncIterator[EtcdStore]:
    """An EtcdStore under a key prefix no other test uses."""
    store = await EtcdStore.connect(etcd.endpoint, prefix=unique_prefix())
    yield store
    await store.close()


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running behind it."""
    before = set(asyncio.all_tasks())
    yield
    await asyncio.sleep(0)
    left = [
        t
        for t in asyncio.all_tasks() - before - {asyncio.current_task()}
        if not t.done() and not any(lib in repr(t) for lib in ("aetcd", "grpc"))
    ]
    for task in left:
        task.cancel()
    assert not left, f"test left tasks running: {left}"
