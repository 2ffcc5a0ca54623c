"""The etcd watchdog against a real etcd of its own, frozen and thawed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from rdd.server.dependency import DependencyWatchdog, should_serve
from rdd.stack.etcd import start_etcd, unix_listen
from rdd.store.etcdclient import EtcdStore
from tests.support.waiting import eventually


def test_one_missed_probe_is_not_an_outage():
    assert should_serve(0.0) and should_serve(2.9)
    assert not should_serve(3.5)
    assert should_serve(1.0, grace=1.0) and not should_serve(1.1, grace=1.0)


async def test_not_serving_while_etcd_is_frozen_serving_once_it_answers(tmp_path: Path):
    etcd = start_etcd(tmp_path / "data", tmp_path / "etcd.log", unix_listen(tmp_path))
    store = await EtcdStore.connect(etcd.endpoint)
    told: list[bool] = []

    async def set_serving(serving: bool) -> None:
        told.append(serving)

    watchdog = DependencyWatchdog(
        "etcd", store.revision, set_serving, interval=0.1, timeout=0.3, grace=0.5
    )
    await watchdog.start()
    try:
        await asyncio.sleep(0.8)  # healthy probes: nothing to say
        assert told == []
        os.kill(etcd.pid, signal.SIGSTOP)
        await eventually(lambda: told == [False], timeout=5, message="never NOT_SERVING")
        os.kill(etcd.pid, signal.SIGCONT)
        await eventually(lambda: told == [False, True], timeout=5, message="never SERVING again")
    finally:
        os.kill(etcd.pid, signal.SIGCONT)
        await watchdog.shutdown()
        await store.close()
        os.kill(etcd.pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(etcd.pid, 0)
