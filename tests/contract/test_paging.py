"""Paged Lists through the real services and the real CLI: big objects that
together exceed the 4 MiB message limit still list, page by page."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rdd.errors import GoneError, InvalidError
from rdd.kinds import CONFIGMAP
from tests.support.stack import Api, Stack, stack_store

KIB = 1024
BIG = 5


def configmap(name: str, namespace: str, blob: str):
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data["blob"] = blob
    return cm


def rdd(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rdd.cli", *args],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
async def big_configmaps(api: Api):
    """Five ConfigMaps of 900 KB over two namespaces: 4.5 MB in all."""
    made = []
    for i in range(BIG):
        cm = configmap(f"big{i}", f"ns{i % 2}", "x" * (900 * KIB))
        made.append(await api.configmaps.create(cm))
    yield made
    for cm in made:
        await api.configmaps.delete(cm.metadata.name, cm.metadata.namespace)


async def test_list_rpc_pages_stay_under_the_message_limit(api: Api, big_configmaps):
    first = await api.configmaps.list("", limit=0)  # no count limit: the server cuts by bytes
    assert 0 < len(first.items) < BIG and getattr(first.metadata, "continue")
    assert first.ByteSize() < 4 * 1024 * KIB
    assert first.metadata.resource_version == first.resource_version
    whole = await api.configmaps.list()
    assert sorted(o.metadata.name for o in whole.items) == [f"big{i}" for i in range(BIG)]
    assert whole.resource_version == first.resource_version or int(whole.resource_version) > 0


async def test_continue_pages_by_limit_at_one_revision(api: Api, big_configmaps):
    first = await api.configmaps.list("", limit=2)
    await api.configmaps.delete("big4", "ns0")
    try:
        rest = await api.configmaps.list("", continue_token=getattr(first.metadata, "continue"))
        listed = [o.metadata.name for o in [*first.items, *rest.items]]
        while getattr(rest.metadata, "continue"):
            rest = await api.configmaps.list("", continue_token=getattr(rest.metadata, "continue"))
            listed += [o.metadata.name for o in rest.items]
        # Sorted by key (namespace, name); big4, deleted after the first page, is still there.
        assert listed == ["big0", "big2", "big4", "big1", "big3"]
        assert rest.metadata.resource_version == first.metadata.resource_version
    finally:
        await api.configmaps.create(configmap("big4", "ns0", "x"))


async def test_bad_paging_arguments_are_invalid(api: Api):
    with pytest.raises(InvalidError, match="continue parameter is not valid"):
        await api.configmaps.list("", continue_token="garbage")
    with pytest.raises(InvalidError, match="limit: Invalid value: -3"):
        await api.configmaps.list("", limit=-3)


async def test_an_expired_continue_token_is_out_of_range(api: Api, stack: Stack):
    """etcd compacted the list's revision: OUT_OF_RANGE with Kubernetes' message."""
    made = []
    for i in range(3):
        made.append(await api.configmaps.create(configmap(f"small{i}", "default", "x")))
    try:
        first = await api.configmaps.list("default", limit=1)
        made[0].data["blob"] = "changed"
        await api.configmaps.update(made[0])
        async with stack_store(stack) as store:
            await store.compact(await store.revision())
        with pytest.raises(GoneError, match="too old to display a consistent list"):
            await api.configmaps.list(
                "default", limit=1, continue_token=getattr(first.metadata, "continue")
            )
    finally:
        for cm in made:
            await api.configmaps.delete(cm.metadata.name, "default")


async def test_get_all_namespaces_lists_objects_bigger_than_one_message(
    api: Api, stack: Stack, big_configmaps
):
    result = rdd(stack, "ctl", "get", "cm", "-A", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == [f"configmap/big{i}" for i in range(BIG)]
    small_chunks = rdd(stack, "ctl", "get", "cm", "-A", "--chunk-size", "1", "-o", "json")
    assert small_chunks.returncode == 0, small_chunks.stderr
    listed = json.loads(small_chunks.stdout)["items"]
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in listed] == [
        ("ns0", "big0"),
        ("ns0", "big2"),
        ("ns0", "big4"),
        ("ns1", "big1"),
        ("ns1", "big3"),
    ]
    table = rdd(stack, "ctl", "get", "cm", "-n", "ns1", "--chunk-size", "0")
    assert table.returncode == 0 and "big1" in table.stdout and "big3" in table.stdout
    negative = rdd(stack, "ctl", "get", "cm", "--chunk-size", "-1")
    assert negative.returncode != 0 and "--chunk-size" in negative.stderr
    assert "Traceback" not in negative.stderr
