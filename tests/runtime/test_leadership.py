"""Leader election on a real etcd: one leader at a time, a follower takes
over when the leader steps down or its lease is gone, and a write fenced by
an ended term is refused in its transaction."""

from __future__ import annotations

import asyncio

import pytest

from rdd.kinds import CONFIGMAP
from rdd.runtime.leadership import Elected, term_is_over
from rdd.store.etcdclient import EtcdStore, Fence, FencedError, Write
from rdd.store.rules import prepare_create
from tests.support.waiting import eventually


class Recorder:
    def __init__(self, log: list[str], name: str, fence: Fence) -> None:
        self.log, self.name, self.fence = log, name, fence

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def shutdown(self) -> None:
        self.log.append(f"stop {self.name}")


def elected(store: EtcdStore, log: list[str], who: str) -> Elected:
    return Elected(store, "ctl", lambda fence: Recorder(log, who, fence), identity=who)


def configmap(name: str) -> object:
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = "default"
    return prepare_create(CONFIGMAP, cm, now="x")


@pytest.mark.parametrize(
    ("ttl_left", "since", "over"),
    [(2, 0.5, False), (0, 0.1, True), (None, 1.0, False), (None, 1.5, True)],
)
def test_term_is_over(ttl_left: int | None, since: float, over: bool) -> None:
    assert term_is_over(ttl_left=ttl_left, since_renewal=since, ttl=2, margin=0.5) is over


async def test_one_leader_and_a_quick_takeover(store: EtcdStore) -> None:
    log: list[str] = []
    a, b = elected(store, log, "a"), elected(store, log, "b")
    await a.start()
    await eventually(lambda: a.leading, timeout=5, message="a never led")
    await b.start()
    await asyncio.sleep(1.2)  # several renewals: b must stay a follower
    assert not b.leading and log == ["start a"]
    assert (await store.leader("ctl"))[0] == "a"
    await a.shutdown()  # steps down and resigns: b's watch sees the key go
    await eventually(lambda: b.leading, timeout=2, message="b never took over")
    assert log == ["start a", "stop a", "start b"]
    await b.shutdown()


async def test_an_ended_term_cannot_write(store: EtcdStore) -> None:
    lease = await store.grant_lease(2)
    fence = await store.campaign("ctl", "old", lease)
    assert fence is not None
    await store.commit([Write(CONFIGMAP, None, configmap("while-leading"))], fence=fence)
    await store.revoke_lease(lease)  # the lease is gone, as after a long pause
    other = await store.campaign("ctl", "new", await store.grant_lease(2))
    assert other is not None and other.revision != fence.revision
    with pytest.raises(FencedError, match="not the leader any more"):
        await store.commit([Write(CONFIGMAP, None, configmap("after-the-term"))], fence=fence)
    assert await store.get(CONFIGMAP, "default", "after-the-term") is None
    await store.commit([Write(CONFIGMAP, None, configmap("by-the-new-one"))], fence=other)


async def test_a_lost_lease_stops_the_component(store: EtcdStore) -> None:
    log: list[str] = []
    a = elected(store, log, "a")
    await a.start()
    await eventually(lambda: a.leading, timeout=5, message="a never led")
    holder = await store.leader("ctl")
    assert holder is not None
    # Someone (an operator, a compaction of leases) removes the lease behind its back.
    response = await store._call(
        "Range", __import__("aetcd").rpc.RangeRequest(key=store.leader_key("ctl"))
    )
    await store.revoke_lease(int(response.kvs[0].lease))
    await eventually(lambda: "stop a" in log, timeout=3, message="a kept leading")
    await a.shutdown()
