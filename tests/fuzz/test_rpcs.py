"""Every RPC of every service, driven with random bytes and random well-typed
requests against a real stack (etcd, the three services, the sim driver).

Fails on any INTERNAL or UNKNOWN status (or a unary call that hangs), any
service that restarted (its pid changed), any stored object that the schema
rules or admission refuse, and any traceback in a service log.

Seeded and bounded: `make test` runs RDD_FUZZ_EXAMPLES (default 120)
examples; `make test-fuzz` runs many more. RDD_FUZZ_SEED picks another walk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from rdd import admission
from rdd.errors import ForbiddenError, InvalidError
from rdd.kinds import ALL_KINDS, APP, CONFIGMAP, EVENT, LIMAVM, Kind
from rdd.store import rules
from rdd.store.review import Review
from tests.fuzz.strategies import (
    RPCS,
    SERVED_BY,
    Rpc,
    messages,
    near_valid_requests,
    raw_requests,
)
from tests.support.stack import Api, Stack

EXAMPLES = int(os.environ.get("RDD_FUZZ_EXAMPLES", "120"))
SEED = int(os.environ.get("RDD_FUZZ_SEED", "20240609"))
#: A unary call answers within this; a stream is read this long, then dropped.
UNARY_TIMEOUT = 15.0
STREAM_SECONDS = 0.3
BAD_CODES = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE)


def channel_to(stack: Stack, component: str) -> grpc.aio.Channel:
    """The one place this suite makes a channel: switch transports here."""
    return stack.channel(component)


@dataclass
class Rig:
    """One event loop and a channel per component, shared by all examples."""

    stack: Stack
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def channel(self, component: str) -> grpc.aio.Channel:
        """Made on first use, inside the loop (an aio channel belongs to one)."""
        if component not in self.channels:
            self.channels[component] = channel_to(self.stack, component)
        return self.channels[component]

    async def call(self, rpc: Rpc, data: bytes) -> grpc.StatusCode:
        """Send `data` as the request of `rpc`; the status code it ends with."""
        channel = self.channel(rpc.component)
        try:
            if not rpc.streaming:
                send = channel.unary_unary(
                    rpc.path, request_serializer=None, response_deserializer=None
                )
                await send(data, timeout=UNARY_TIMEOUT)
                return grpc.StatusCode.OK
            stream = channel.unary_stream(
                rpc.path, request_serializer=None, response_deserializer=None
            )
            call = stream(data)
            # A stream that stays open and silent is fine; only its status matters.
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(call.read(), STREAM_SECONDS)
            finally:
                call.cancel()
            code = await call.code()
            return grpc.StatusCode.OK if code == grpc.StatusCode.CANCELLED else code
        except grpc.aio.AioRpcError as error:
            if error.code() in BAD_CODES or (
                error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and not rpc.streaming
            ):
                raise AssertionError(
                    f"{rpc.path} with {data[:120]!r}: {error.code().name}: {error.details()}"
                ) from None
            return error.code()

    def close(self) -> None:
        for channel in self.channels.values():
            self.run(channel.close(None))
        self.loop.close()


def _requests_for(rpc: Rpc) -> st.SearchStrategy[tuple[Rpc, bytes]]:
    typed = messages(rpc.request_class()).map(lambda m: m.SerializeToString())
    near_valid = near_valid_requests(rpc.method)
    choices = [raw_requests(), typed] + ([near_valid, near_valid] if near_valid is not None else [])
    return st.tuples(st.just(rpc), st.one_of(*choices))


def requests() -> st.SearchStrategy[tuple[Rpc, bytes]]:
    """(rpc, request bytes): random bytes, a random well-typed message, or for
    writes and reviews (most often) a near-valid object."""
    return st.sampled_from(RPCS).flatmap(_requests_for)


def test_every_rpc_survives_hostile_requests(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    pids = {name: stack.pid(name) for name in SERVED_BY}
    log_sizes = {name: len(stack.log(name)) for name in SERVED_BY}
    rig = Rig(stack)
    codes: dict[str, set[str]] = {}

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests())
    def one(request: tuple[Rpc, bytes]) -> None:
        rpc, data = request
        code = rig.run(rig.call(rpc, data))
        codes.setdefault(rpc.path, set()).add(code.name)

    try:
        one()
        stored_problems = rig.run(_refused_yet_stored(stack))
    finally:
        rig.close()
    assert {name: stack.pid(name) for name in SERVED_BY} == pids, "a service restarted"
    for name in SERVED_BY:
        written = stack.log(name)[log_sizes[name] :]
        assert "Traceback" not in written, f"a traceback in the {name} log:\n{written[-3000:]}"
    assert stored_problems == []
    assert len(codes) >= len(RPCS) // 2, f"the walk reached few methods: {sorted(codes)}"


@dataclass
class _Stored:
    """A Lookup over what the stack holds (admission's view, read once)."""

    objects: dict[tuple[str, str, str], Any]
    host_arch: str = "x86_64"

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        return self.objects.get((kind.kind, namespace, name))

    async def claimed_namespace(self, kind: Kind, name: str) -> str | None:
        return None

    async def lima_problems(self, template: str) -> list[str]:
        return []


async def _refused_yet_stored(stack: Stack) -> list[str]:
    """Stored objects the schema rules refuse, or admission refuses: a create
    for Apps and ConfigMaps, a no-change update for LimaVMs (whose create
    needed a ConfigMap that may be gone since)."""
    api = Api.connect(stack)
    try:
        clients = {APP: api.apps, LIMAVM: api.limavms, CONFIGMAP: api.configmaps, EVENT: api.events}
        stored = {kind: list((await clients[kind].list()).items) for kind in ALL_KINDS}
    finally:
        await api.close()
    lookup = _Stored(
        {
            (k.kind, o.metadata.namespace, o.metadata.name): o
            for k, items in stored.items()
            for o in items
        }
    )
    problems = []
    for kind, items in stored.items():
        for obj in items:
            where = f"{kind.kind} {obj.metadata.namespace}/{obj.metadata.name!r}"
            try:
                rules.validate_object(kind, obj)
                if kind is EVENT:
                    continue
                if kind is LIMAVM:
                    review = Review("UPDATE", kind, obj, obj, False)
                else:
                    review = Review("CREATE", kind, obj, None, False)
                await admission.validate(review, lookup)
            except (InvalidError, ForbiddenError) as refused:
                problems.append(f"{where}: {refused.message}")
    return problems
