"""What the stack reads from a running etcd besides its API: the count of
calls it has served (make bench reports them per LimaVM)."""

from __future__ import annotations

from pathlib import Path

from rdd.kinds import CONFIGMAP
from rdd.stack.etcd import EtcdProcess, served_requests
from rdd.store.etcdclient import EtcdStore
from rdd.store.registry import Registry
from tests.support.objects import configmap


async def test_served_requests_count_each_call_by_method(etcd: EtcdProcess, store: EtcdStore):
    before = served_requests(etcd.endpoint)
    registry = Registry(store)
    await registry.create(CONFIGMAP, configmap("counted"))
    await store.get(CONFIGMAP, "default", "counted")
    after = served_requests(etcd.endpoint)
    assert after["Txn"] - before.get("Txn", 0) >= 1
    assert after["Range"] - before.get("Range", 0) >= 1


def test_served_requests_of_an_etcd_that_does_not_answer_are_none(tmp_path: Path):
    assert served_requests(f"unix://{tmp_path}/absent.sock") == {}
