"""The stack's etcd, reached directly, behind the API's back: for tests that
compact history or make keys vanish as an outside writer could."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from rdd.config import Settings
from rdd.store.etcdclient import EtcdStore
from tests.contract.stack import Stack


@contextlib.asynccontextmanager
async def stack_store(stack: Stack) -> AsyncIterator[EtcdStore]:
    settings = Settings.from_env(stack.env)
    store = await EtcdStore.connect(stack.address("etcd"), prefix=settings.etcd_prefix)
    try:
        yield store
    finally:
        await store.close()
