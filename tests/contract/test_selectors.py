"""Label and field selectors through the real services: List returns only
what they select (pages counting selected objects only, one revision across
pages), Watch tells a selecting watcher about objects entering (ADDED) and
leaving (DELETED) the selection, and a bad selector is INVALID_ARGUMENT with
apimachinery's words."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from rdd.errors import InvalidError
from rdd.kinds import CONFIGMAP
from tests.support.stack import Api


def configmap(name: str, namespace: str, **labels: str):
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.metadata.labels.update(labels)
    return cm


@pytest.fixture
async def labelled(api: Api) -> AsyncIterator[str]:
    """Ten ConfigMaps in namespace `sel`: even ones labelled app=rd, odd app=db."""
    namespace = "sel"
    for i in range(10):
        await api.configmaps.create(
            configmap(f"cm{i}", namespace, app="rd" if i % 2 == 0 else "db")
        )
    yield namespace
    for cm in (await api.configmaps.list(namespace)).items:
        await api.configmaps.delete(cm.metadata.name, namespace)


def names(listing) -> list[str]:
    return [o.metadata.name for o in listing.items]


async def test_list_returns_what_the_selectors_select(api: Api, labelled: str):
    rd = await api.configmaps.list(labelled, label_selector="app=rd")
    assert names(rd) == ["cm0", "cm2", "cm4", "cm6", "cm8"]
    not_rd = await api.configmaps.list(labelled, label_selector="app notin (rd)")
    assert names(not_rd) == ["cm1", "cm3", "cm5", "cm7", "cm9"]
    one = await api.configmaps.list(
        labelled, label_selector="app=rd", field_selector="metadata.name!=cm0,metadata.name!=cm2"
    )
    assert names(one) == ["cm4", "cm6", "cm8"]
    everywhere = await api.configmaps.list("", field_selector=f"metadata.namespace={labelled}")
    assert len(everywhere.items) == 10


async def test_pages_count_selected_objects_at_one_revision(api: Api, labelled: str):
    first = await api.configmaps.list(labelled, limit=2, label_selector="app=db")
    assert names(first) == ["cm1", "cm3"]
    token = getattr(first.metadata, "continue")
    assert token
    # Created after the first page: not part of this list.
    await api.configmaps.create(configmap("cm95", labelled, app="db"))
    pages = [names(first)]
    while token:
        page = await api.configmaps.list(
            labelled, limit=2, continue_token=token, label_selector="app=db"
        )
        assert page.metadata.resource_version == first.metadata.resource_version
        pages.append(names(page))
        token = getattr(page.metadata, "continue")
    assert [n for page in pages for n in page] == ["cm1", "cm3", "cm5", "cm7", "cm9"]
    assert all(len(page) <= 2 for page in pages)


@pytest.mark.parametrize(
    ("labels", "fields", "message"),
    [
        (
            "a b",
            "",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("app in rd", "", "unable to parse requirement: found 'rd' expected: '('"),
        ("", "spec.x=1", "field label not supported: spec.x"),
        ("", "type=Normal", "field label not supported: type"),  # events only
        (
            "",
            "metadata.name",
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
        ),
    ],
)
async def test_bad_selectors_are_invalid_argument(api: Api, labels: str, fields: str, message: str):
    with pytest.raises(InvalidError) as caught:
        await api.configmaps.list("default", label_selector=labels, field_selector=fields)
    assert caught.value.message == message

    async def first_event():
        async for event in api.configmaps.watch(
            "default", label_selector=labels, field_selector=fields
        ):
            return event

    with pytest.raises(InvalidError) as watched:
        await asyncio.wait_for(first_event(), 10)
    assert watched.value.message == message


async def test_watch_tells_entering_and_leaving(api: Api):
    namespace = "selwatch"
    listing = await api.configmaps.list(namespace, label_selector="app=rd")
    seen: list[tuple[str, str]] = []

    async def collect() -> None:
        async for event in api.configmaps.watch(
            namespace,
            resource_version=listing.metadata.resource_version,
            label_selector="app=rd",
        ):
            seen.append((event.type, event.object.metadata.name))

    watcher = asyncio.create_task(collect())
    try:
        await api.configmaps.create(configmap("in", namespace, app="rd"))
        outside = await api.configmaps.create(configmap("out", namespace, app="db"))
        outside.metadata.labels["app"] = "rd"  # enters
        entered = await api.configmaps.update(outside)
        entered.metadata.labels["app"] = "db"  # leaves
        await api.configmaps.update(entered)
        await api.configmaps.delete("out", namespace)  # outside: nothing
        await api.configmaps.delete("in", namespace)
        expected = [("ADDED", "in"), ("ADDED", "out"), ("DELETED", "out"), ("DELETED", "in")]
        async with asyncio.timeout(10):
            while len(seen) < len(expected):
                await asyncio.sleep(0.02)
        assert seen == expected
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
