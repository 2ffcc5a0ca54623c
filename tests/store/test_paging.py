"""Paged Lists against a real etcd: one revision across pages, pages cut by
count and by bytes, expired and forged continue tokens."""

from __future__ import annotations

import base64
import json

import pytest

from rdd.errors import GoneError, InvalidError
from rdd.kinds import CONFIGMAP
from rdd.store import paging
from rdd.store.etcdclient import EtcdStore
from rdd.store.registry import Registry

KIB = 1024


def configmap(name: str, namespace: str = "default", **data: str):
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data.update(data)
    return cm


@pytest.fixture
def registry(store: EtcdStore) -> Registry:
    return Registry(store)


def names(items) -> list[str]:
    return [o.metadata.name for o in items]


async def test_pages_by_limit_are_consistent_at_the_first_pages_revision(registry: Registry):
    for i in range(7):
        await registry.create(CONFIGMAP, configmap(f"cm{i}"))
    first = await registry.list_page(CONFIGMAP, "default", limit=3, max_bytes=10**6)
    assert names(first.items) == ["cm0", "cm1", "cm2"] and first.continue_token
    # Changes after the first page are not seen by the rest of this list.
    await registry.delete(CONFIGMAP, "default", "cm4")
    await registry.create(CONFIGMAP, configmap("cm9"))
    second = await registry.list_page(
        CONFIGMAP, "default", limit=3, continue_token=first.continue_token, max_bytes=10**6
    )
    third = await registry.list_page(
        CONFIGMAP, "default", limit=3, continue_token=second.continue_token, max_bytes=10**6
    )
    assert names(second.items) == ["cm3", "cm4", "cm5"]
    assert names(third.items) == ["cm6"] and third.continue_token == ""
    assert first.revision == second.revision == third.revision
    # A fresh list sees the changes.
    items, _ = await registry.list(CONFIGMAP, "default")
    assert names(items) == ["cm0", "cm1", "cm2", "cm3", "cm5", "cm6", "cm9"]


async def test_a_page_that_ends_exactly_at_the_last_item_has_no_continue(registry: Registry):
    for i in range(4):
        await registry.create(CONFIGMAP, configmap(f"cm{i}"))
    page = await registry.list_page(CONFIGMAP, "default", limit=4, max_bytes=10**6)
    assert len(page.items) == 4 and page.continue_token == ""
    empty = await registry.list_page(CONFIGMAP, "other", limit=4, max_bytes=10**6)
    assert empty.items == [] and empty.continue_token == "" and empty.revision > 0


async def test_pages_are_cut_by_bytes_and_an_oversized_item_still_comes_alone(registry: Registry):
    for i in range(5):
        await registry.create(CONFIGMAP, configmap(f"big{i}", blob="x" * (900 * KIB)))
    budget = 2 * 1024 * KIB
    seen, token, pages = [], "", 0
    while True:
        page = await registry.list_page(CONFIGMAP, "", continue_token=token, max_bytes=budget)
        assert sum(paging.item_cost(o) for o in page.items) <= budget
        seen += names(page.items)
        pages += 1
        token = page.continue_token
        if not token:
            break
    assert seen == [f"big{i}" for i in range(5)] and pages == 3
    # Smaller than one item: one item per page, never zero.
    one = await registry.list_page(CONFIGMAP, "", max_bytes=KIB)
    assert names(one.items) == ["big0"] and one.continue_token


async def test_whole_list_reads_every_page(registry: Registry):
    for i in range(40):  # more than one etcd range batch
        await registry.create(CONFIGMAP, configmap(f"cm{i:02}", namespace=f"ns{i % 3}"))
    items, revision = await registry.list(CONFIGMAP)
    assert len(items) == 40 and revision == await registry.revision()
    assert [(o.metadata.namespace, o.metadata.name) for o in items] == sorted(
        (o.metadata.namespace, o.metadata.name) for o in items
    )


async def test_a_token_whose_revision_was_compacted_is_gone(registry: Registry, store: EtcdStore):
    for i in range(3):
        await registry.create(CONFIGMAP, configmap(f"cm{i}"))
    first = await registry.list_page(CONFIGMAP, "default", limit=1, max_bytes=10**6)
    await registry.create(CONFIGMAP, configmap("later"))
    await store.compact(await registry.revision())
    with pytest.raises(GoneError, match="continue parameter is too old"):
        await registry.list_page(
            CONFIGMAP, "default", limit=1, continue_token=first.continue_token, max_bytes=10**6
        )


def _token(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _token([1, 2]),
        _token({"rv": "5", "start": "a"}),
        _token({"rv": 0, "start": "a"}),
        _token({"rv": 2**64, "start": "a"}),
        _token({"rv": 5, "start": ""}),
        _token({"rv": 5, "start": 7}),
        _token({"rv": 2**62, "start": "default/cm0"}),  # a revision etcd never reached
    ],
)
async def test_a_token_this_store_did_not_issue_is_invalid(registry: Registry, token: str):
    await registry.create(CONFIGMAP, configmap("cm0"))
    with pytest.raises(InvalidError, match="continue parameter is not valid"):
        await registry.list_page(CONFIGMAP, "", continue_token=token, max_bytes=10**6)


async def test_a_negative_limit_is_invalid(registry: Registry):
    with pytest.raises(InvalidError, match="limit: Invalid value: -1"):
        await registry.list_page(CONFIGMAP, "", limit=-1, max_bytes=10**6)


def test_range_batch_follows_the_count_and_the_bytes_left():
    assert paging.range_batch(0, 10**9, 0) == paging.MAX_RANGE_BATCH
    assert paging.range_batch(5, 10**9, 0) == 5
    assert paging.range_batch(0, 3 * 1024 * KIB, 900 * KIB) == 4
    assert paging.range_batch(0, 0, 900 * KIB) == 1


def test_a_token_round_trips_relative_to_its_prefix():
    token = paging.encode_token(
        42, b"/p/registry/configmaps/default/cm1", b"/p/registry/configmaps/"
    )
    continuation = paging.decode_token(token)
    assert continuation == paging.Continuation(revision=42, last_key="default/cm1")
    assert paging.start_key(continuation, b"/q/") == b"/q/default/cm1\0"
