"""Writes to etcd behind the API's back (as an outside writer or a bad
restore could): for tests of what the stack does about them."""

from __future__ import annotations

import aetcd


async def delete_keys(endpoint: str, *keys: bytes) -> None:
    """Remove these keys directly, with a plain etcd client."""
    host, _, port = endpoint.removeprefix("http://").rpartition(":")
    async with aetcd.Client(host=host or "127.0.0.1", port=int(port)) as client:
        for key in keys:
            await client.delete(key)


async def put_key(endpoint: str, key: bytes, value: bytes) -> None:
    host, _, port = endpoint.removeprefix("http://").rpartition(":")
    async with aetcd.Client(host=host or "127.0.0.1", port=int(port)) as client:
        await client.put(key, value)
