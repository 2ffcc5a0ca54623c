"""`make bench`'s concurrency and scale figures (see tests/bench.py).

5. creates at 32 in flight: ConfigMaps through the API (admitted) beside
   raw etcd creates from this process; their ratio (aim <= 3x).
6. scale, on the sim driver: N LimaVMs (stopped) created at 32 in flight ->
   every one Created (aim < 5 s per 1,000), then deleted -> objects and
   instance folders gone (aim < 5 s per 1,000); each service's RSS after;
   and the etcd calls each LimaVM cost, counted by etcd (the same on any
   machine, where the times are not).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.names import TEMPLATE_LABEL
from rdd.stack.etcd import served_requests
from rdd.store.etcdclient import EtcdStore, Write
from rdd.store.rules import prepare_create
from rdd.templates.default import DEFAULT_TEMPLATE
from tests.support.stack import Api, Stack, condition

IN_FLIGHT = 32
#: Creates per batch; raw and API batches alternate, the ratio is their median.
CONCURRENT_CREATES = 300
CONCURRENT_ROUNDS = 3


async def in_flight(count: int, make: Callable[[int], Awaitable[Any]]) -> float:
    """Seconds to run make(0..count-1) with IN_FLIGHT calls at a time."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await make(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return time.perf_counter() - start


def _configmap(name: str, namespace: str) -> Any:
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data["v"] = "1"
    return cm


async def concurrent_creates(store: EtcdStore, api: Api) -> None:
    print(
        f"5. creates at {IN_FLIGHT} in flight ({CONCURRENT_ROUNDS} paired batches of"
        f" {CONCURRENT_CREATES}; raw and API batches alternate)"
    )
    raws, apis, ratios = [], [], []
    for batch in range(CONCURRENT_ROUNDS):

        async def raw(i: int, batch: int = batch) -> None:
            cm = prepare_create(CONFIGMAP, _configmap(f"c-{batch}-{i}", "raw32"), now="x")
            await store.commit([Write(CONFIGMAP, None, cm)])

        async def through_api(i: int, batch: int = batch) -> None:
            await api.configmaps.create(_configmap(f"c-{batch}-{i}", "api32"))

        raws.append(CONCURRENT_CREATES / await in_flight(CONCURRENT_CREATES, raw))
        apis.append(CONCURRENT_CREATES / await in_flight(CONCURRENT_CREATES, through_api))
        ratios.append(raws[-1] / apis[-1])
    print(f"  raw etcd creates    {statistics.median(raws):8.1f} /s")
    print(f"  API creates         {statistics.median(apis):8.1f} /s (each admitted)")
    print(
        f"  API cost            {statistics.median(ratios):8.2f}x raw etcd: median of"
        f" {CONCURRENT_ROUNDS} paired batches (min {min(ratios):.2f}, max {max(ratios):.2f};"
        " aim <= 3x)"
    )


async def _until(probe: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not await probe():
        if time.perf_counter() > deadline:
            raise TimeoutError("bench step did not complete")
        await asyncio.sleep(0.05)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def scale(stack: Stack, api: Api, count: int) -> None:
    print(f"6. scale: {count} LimaVMs (sim driver, stopped) at {IN_FLIGHT} in flight")
    namespace = "scale"
    template = _configmap("scale-template", namespace)
    template.data.clear()
    template.data["template"] = DEFAULT_TEMPLATE
    template.metadata.labels[TEMPLATE_LABEL] = "true"
    await api.configmaps.create(template)

    async def create(i: int) -> None:
        vm = LIMAVM.new()
        vm.metadata.name = f"vm{i}"
        vm.metadata.namespace = namespace
        vm.spec.template_ref.name = "scale-template"
        await api.limavms.create(vm)

    async def vms() -> list[Any]:
        return list((await api.limavms.list(namespace)).items)

    progress = {"created": 0}

    async def all_created() -> bool:
        items = await vms()
        progress["created"] = sum(
            1 for vm in items if (c := condition(vm, "Created")) is not None and c.status == "True"
        )
        return progress["created"] == count

    calls = served_requests(stack.address("etcd"))
    start = time.perf_counter()
    await in_flight(count, create)
    sent = time.perf_counter() - start
    try:
        await _until(all_created, timeout=max(60, count / 10))
    except TimeoutError:
        print(
            f"  only {progress['created']} of {count} Created after {time.perf_counter() - start:.0f} s"
        )
        raise
    created = time.perf_counter() - start
    per_k = created * 1000 / count
    print(
        f"  create -> all Created   {created:7.2f} s ({sent:.2f} s to send; {per_k:.2f} s per 1,000; aim < 5)"
    )
    before_create, calls = calls, served_requests(stack.address("etcd"))
    created_calls = _per_vm(before_create, calls, count)
    rss = {name: rss_mb(stack.pid(name)) for name in ("app", "limavm", "webhook")}
    shown = ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items())
    print(f"  RSS with {count} VMs      {shown} (aim < 150 MB each)")

    async def delete(i: int) -> None:
        await api.limavms.delete(f"vm{i}", namespace)

    async def all_gone() -> bool:
        return not await vms() and not [d for d in stack.instance_dirs() if d.startswith("vm")]

    start = time.perf_counter()
    await in_flight(count, delete)
    await _until(all_gone, timeout=max(60, count / 10))
    gone = time.perf_counter() - start
    per_k = gone * 1000 / count
    print(f"  delete -> all gone      {gone:7.2f} s ({per_k:.2f} s per 1,000; aim < 5)")
    print(
        f"  etcd calls per LimaVM   create {created_calls};"
        f" delete {_per_vm(calls, served_requests(stack.address('etcd')), count)}"
        " (the waits' Lists included)"
    )


def _per_vm(before: dict[str, float], after: dict[str, float], count: int) -> str:
    """etcd's Txn and Range calls between two counts, per LimaVM (pure)."""
    return " + ".join(
        f"{(after.get(method, 0) - before.get(method, 0)) / count:.2f} {method}"
        for method in ("Txn", "Range")
    )
