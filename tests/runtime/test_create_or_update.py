"""rdd.clients.create_or_update on plain data: the decision ladder and its
retries (the real API path is covered by apply and `rdd set` contract tests)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rdd.clients import CREATED, UNCHANGED, UPDATED, create_or_update
from rdd.errors import AlreadyExistsError, ConflictError, NameTakenError, NotFoundError


class Objects:
    """A dict of name -> value with the client's create/get/update shape;
    `races` makes the next writes fail as if someone wrote first."""

    def __init__(self, **objects: int) -> None:
        self.objects = dict(objects)
        self.races = 0
        self.writes = 0

    async def get(self, name: str, namespace: str = "") -> int:
        if name not in self.objects:
            raise NotFoundError(name)
        return self.objects[name]

    async def create(self, obj: tuple[str, int], *, dry_run: bool = False) -> int:
        name, value = obj
        if self.races:
            self.races -= 1
            self.objects[name] = 0
            raise AlreadyExistsError(name)
        self.writes += 1
        self.objects[name] = value
        return value

    async def update(self, obj: tuple[str, int], *, dry_run: bool = False) -> int:
        name, value = obj
        if self.races:
            self.races -= 1
            raise ConflictError(name)
        self.writes += 1
        self.objects[name] = value
        return value


def write(client: Objects, name: str, value: int) -> tuple[str, Any]:
    return asyncio.run(
        create_or_update(
            client,  # type: ignore[arg-type]
            name,
            "",
            build=lambda: (name, value),
            mutate=lambda live: None if live == value else (name, value),
        )
    )


def test_creates_what_is_missing() -> None:
    client = Objects()
    assert write(client, "a", 1) == (CREATED, 1)


def test_updates_what_differs_and_leaves_what_matches() -> None:
    client = Objects(a=1)
    assert write(client, "a", 2) == (UPDATED, 2)
    assert write(client, "a", 2) == (UNCHANGED, 2)
    assert client.writes == 1


def test_created_meanwhile_is_updated_instead() -> None:
    client = Objects()
    client.races = 1
    assert write(client, "a", 3) == (UPDATED, 3)


def test_conflicts_read_again() -> None:
    client = Objects(a=1)
    client.races = 2
    assert write(client, "a", 5) == (UPDATED, 5)


def test_a_name_taken_elsewhere_is_the_answer_at_once() -> None:
    class Taken(Objects):
        async def create(self, obj: tuple[str, int], *, dry_run: bool = False) -> int:
            self.writes += 1
            raise NameTakenError("held in another namespace")

    client = Taken()
    with pytest.raises(NameTakenError):
        write(client, "a", 1)
    assert client.writes == 1


def test_the_first_read_can_come_from_a_cache() -> None:
    client = Objects(a=1)
    reads: list[str] = []

    async def cached() -> int:
        reads.append("cache")
        return 2  # what an informer holds

    verb, value = asyncio.run(
        create_or_update(
            client,  # type: ignore[arg-type]
            "a",
            "",
            read=cached,
            build=lambda: ("a", 2),
            mutate=lambda live: None if live == 2 else ("a", 2),
        )
    )
    assert (verb, value, reads, client.writes) == (UNCHANGED, 2, ["cache"], 0)
