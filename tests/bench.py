"""`make bench`: figures, not assertions (machines here are shared and noisy:
compare the ratios measured in one run).

Two stacks run side by side: the default one on unix sockets, and one in
TCP mode (TLS on every hop, a bearer token on every call).

1. create+get+update round trips per second through the gRPC API, beside the
   same operations straight on etcd from this process; their ratio; and the
   same API rounds over TCP+TLS+token: the cost of auth as a ratio.
2. Watch latency: etcd write -> informer handler, p50/p99.
3. Lifecycle on the sim driver (boot and prepare 0): App create -> LimaVM
   Created, running=true -> App Running=True, delete -> gone (VM stopped and
   VM running), p50/p95 over 15+ rounds, beside one etcd txn round trip;
   then over TCP+TLS+token, with each step's p50 as a ratio to the socket's.
4. High availability, on 3 etcd members and 2 replicas of each service:
   failover (kill -9 the App leader -> the new leader's first reconcile of a
   change made at the kill), p50 and max over 6 rounds (aim < 3 s); and the
   lifecycle figures again, as a ratio to the single-member run: the cost of HA.
5, 6. Concurrency and scale (tests/bench_scale.py): creates at 32 in flight
   against raw etcd; N LimaVMs created and deleted (`--scale N`, 1,000 by default).
7. `rdd ctl get app` wall time (tests/bench_cli.py), beside bare Python and
   `import grpc`.

`--sections 1,5,6` runs only those sections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rdd.errors import NotFoundError, UnavailableError
from rdd.kinds import CONFIGMAP
from rdd.runtime.informer import Informer
from rdd.store.etcdclient import EtcdStore, Write
from rdd.store.rules import prepare_create
from rdd.transport.channels import Credentials
from rdd.transport.pki import Pki
from tests.bench_cli import cli_wall_time
from tests.bench_scale import concurrent_creates, scale
from tests.support.stack import Api, Stack, condition, new_app, set_running

ROUNDS = 15
UNARY_OPS = 60
UNARY_ROUNDS = 7


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"  {name:<38} p50 {statistics.median(ms):7.2f} ms   p95 {percentile(ms, 95):7.2f} ms"
        f"   p99 {percentile(ms, 99):7.2f} ms   (n={len(ms)})"
    )


def configmap(name: str, value: str) -> Any:
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = "bench"
    cm.data["v"] = value
    return cm


async def unary_api(api: Api, ops: int, batch: int) -> float:
    start = time.perf_counter()
    for i in range(ops):
        name = f"api-{batch}-{i}"
        await api.configmaps.create(configmap(name, "1"))
        got = await api.configmaps.get(name, "bench")
        got.data["v"] = "2"
        await api.configmaps.update(got)
    return ops / (time.perf_counter() - start)


async def unary_etcd(store: EtcdStore, ops: int, batch: int) -> float:
    """The same three operations as raw etcd calls (txn create, range, txn CAS)."""
    start = time.perf_counter()
    for i in range(ops):
        name = f"raw-{batch}-{i}"
        created = (
            await store.commit(
                [Write(CONFIGMAP, None, prepare_create(CONFIGMAP, configmap(name, "1"), now="x"))]
            )
        )[0]
        got = await store.get(CONFIGMAP, "bench", name)
        assert got is not None and created is not None
        changed = CONFIGMAP.new()
        changed.CopyFrom(got)
        changed.data["v"] = "2"
        await store.commit([Write(CONFIGMAP, got, changed)])
    return ops / (time.perf_counter() - start)


async def watch_latency(store: EtcdStore, rounds: int) -> list[float]:
    informer = Informer(store, CONFIGMAP, "watch")
    seen: dict[str, float] = {}
    informer.add_handler(
        lambda old, new: new is not None and seen.setdefault(new.metadata.name, time.perf_counter())
    )
    await informer.start()
    latencies = []
    try:
        for i in range(rounds):
            cm = configmap(f"w-{i}", "1")
            cm.metadata.namespace = "watch"
            sent = time.perf_counter()
            await store.commit([Write(CONFIGMAP, None, prepare_create(CONFIGMAP, cm, now="x"))])
            while cm.metadata.name not in seen:
                await asyncio.sleep(0)
            latencies.append(seen[cm.metadata.name] - sent)
            await asyncio.sleep(0.005)
    finally:
        await informer.shutdown()
    return latencies


async def txn_round_trip(store: EtcdStore, rounds: int) -> list[float]:
    times = []
    for i in range(rounds):
        cm = configmap(f"t-{uuid.uuid4().hex[:8]}-{i}", "1")
        start = time.perf_counter()
        await store.commit([Write(CONFIGMAP, None, prepare_create(CONFIGMAP, cm, now="x"))])
        times.append(time.perf_counter() - start)
    return times


async def until(probe: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = time.perf_counter() + timeout
    while not await probe():
        if time.perf_counter() > deadline:
            raise TimeoutError("bench step did not complete")
        await asyncio.sleep(0.002)


async def lifecycle(api: Api, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        k: [] for k in ("create", "start", "delete-stopped", "delete-running")
    }

    async def vm_created() -> bool:
        try:
            vm = await api.limavms.get("rd", "default")
        except NotFoundError:
            return False
        cond = condition(vm, "Created")
        return cond is not None and cond.status == "True"

    async def app_running() -> bool:
        cond = condition(await api.apps.get("app"), "Running")
        return cond is not None and cond.status == "True"

    async def gone() -> bool:
        try:
            await api.apps.get("app")
            return False
        except NotFoundError:
            return not (await api.limavms.list()).items

    for i in range(rounds):
        start = time.perf_counter()
        await api.apps.create(new_app(running=False))
        await until(vm_created)
        results["create"].append(time.perf_counter() - start)
        running = i % 2 == 0
        if running:
            start = time.perf_counter()
            await set_running(api, True)
            await until(app_running)
            results["start"].append(time.perf_counter() - start)
        start = time.perf_counter()
        await api.apps.delete("app")
        await until(gone)
        results["delete-running" if running else "delete-stopped"].append(
            time.perf_counter() - start
        )
    return results


def _stack(home: Path, **env: str) -> Stack:
    return Stack(
        home,
        RDD_SIM_BOOT_SECONDS="0",
        RDD_SIM_PREPARE_SECONDS="0",
        RDD_LOG_LEVEL="WARNING",
        **env,
    )


async def unary(store: EtcdStore, unix: Api, tcp: Api) -> None:
    print("1. unary create+get+update (sequential; raw, socket and TCP batches alternate)")
    raws, apis, tcps, ratios, auth = [], [], [], [], []
    for batch in range(UNARY_ROUNDS):
        raws.append(await unary_etcd(store, UNARY_OPS, batch))
        apis.append(await unary_api(unix, UNARY_OPS, batch))
        tcps.append(await unary_api(tcp, UNARY_OPS, batch))
        ratios.append(raws[-1] / apis[-1])
        auth.append(apis[-1] / tcps[-1])
    print(f"  raw etcd            {statistics.median(raws):8.1f} rounds/s")
    print(
        f"  gRPC API (socket)   {statistics.median(apis):8.1f} rounds/s (3 RPCs, 2 admission reviews)"
    )
    print(f"  gRPC API (TCP+TLS)  {statistics.median(tcps):8.1f} rounds/s (same, with the token)")
    print(
        f"  API cost            {statistics.median(ratios):8.2f}x raw etcd: median of"
        f" {UNARY_ROUNDS} paired batches (min {min(ratios):.2f}, max {max(ratios):.2f};"
        " aim <= 3x)"
    )
    print(
        f"  auth cost           {statistics.median(auth):8.2f}x the socket path: TCP+TLS+token,"
        f" median of {UNARY_ROUNDS} paired batches (min {min(auth):.2f}, max {max(auth):.2f};"
        " aim <= 1.3x)"
    )


FAILOVER_ROUNDS = 6


def _leader_pid(stack: Stack, component: str) -> int:
    for replica in stack.supervisor.status().replicas[component]:
        if replica.leader and replica.pid:
            return replica.pid
    raise RuntimeError(f"no {component} leader")


async def failover(stack: Stack, api: Api, rounds: int) -> list[float]:
    """Seconds from kill -9 of the App leader to the new leader's reconcile
    of a change written right after the kill (its Settled condition's
    observedGeneration reaching the new generation)."""
    await api.apps.create(new_app(running=False))
    times = []
    try:
        for i in range(rounds):
            leader = _leader_pid(stack, "app")
            killed = time.perf_counter()
            os.kill(leader, signal.SIGKILL)
            app = None
            while app is None:  # a write in flight to the killed replica is not retried
                try:
                    app = await set_running(api, i % 2 == 0)
                except UnavailableError:
                    await asyncio.sleep(0.01)

            async def reconciled(generation: int = app.metadata.generation) -> bool:
                cond = condition(await api.apps.get("app"), "Settled")
                return cond is not None and cond.observed_generation >= generation

            await until(reconciled, timeout=30)
            times.append(time.perf_counter() - killed)
            stack.start()  # the killed replica comes back as a follower
    finally:
        await api.apps.delete("app")

        async def gone() -> bool:
            try:
                await api.apps.get("app")
            except NotFoundError:
                return True
            return False

        await until(gone, timeout=30)
    return times


async def high_availability(home: Path, single: dict[str, list[float]]) -> None:
    print("4. high availability: 3 etcd members, 2 replicas of each service")
    stack = _stack(home, RDD_ETCD_MEMBERS="3", RDD_REPLICAS="2")
    stack.start()
    api = Api.connect(stack)
    try:
        times = await failover(stack, api, FAILOVER_ROUNDS)
        print(
            f"  failover (kill -9 App leader -> reconcile)  p50 {statistics.median(times):5.2f} s"
            f"   max {max(times):5.2f} s   (n={len(times)}; aim < 3 s)"
        )
        for name, values in (await lifecycle(api, ROUNDS * 2)).items():
            report(name, values)
            ratio = statistics.median(values) / statistics.median(single[name])
            print(f"  {'':<38} {ratio:.2f}x the single-member run")
    finally:
        await api.close()
        stack.stop()


async def main(sections: set[int], count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rdd-bench-") as home:
        stack = _stack(Path(home) / "unix")
        tls_stack = _stack(Path(home) / "tcp", RDD_LISTEN="tcp")
        stack.start()
        tls_stack.start()
        api, tls_api = Api.connect(stack), Api.connect(tls_stack)
        store = await EtcdStore.connect(stack.address("etcd"))
        client = Pki(tls_stack.home / "pki").load_identity("client")
        tls_store = await EtcdStore.connect(
            tls_stack.address("etcd"),
            credentials=Credentials(ca=client.ca, cert=client.cert, key=client.key),
        )
        try:
            print("rdd benchmark (one run; compare ratios, not absolute numbers)")
            if 1 in sections:
                await unary(store, api, tls_api)
            if 2 in sections:
                print("2. watch latency: etcd write -> informer handler")
                report("watch", await watch_latency(store, 200))
            over_socket: dict[str, list[float]] = {}
            if sections & {3, 4}:
                print("3. lifecycle, sim driver with boot/prepare 0, over the unix sockets")
                report("etcd txn round trip", await txn_round_trip(store, 100))
                over_socket = await lifecycle(api, ROUNDS * 2)
                for name, values in over_socket.items():
                    report(name, values)
                print("   the same over TCP+TLS+token (ratio: p50 against the socket's)")
                report("etcd txn round trip (TLS)", await txn_round_trip(tls_store, 100))
                for name, values in (await lifecycle(tls_api, ROUNDS * 2)).items():
                    report(name, values)
                    ratio = statistics.median(values) / statistics.median(over_socket[name])
                    print(f"  {'':<38} {ratio:.2f}x the socket path")
            if 4 in sections:
                await high_availability(Path(home) / "ha", over_socket)
            if 5 in sections:
                await concurrent_creates(store, api)
            if 6 in sections:
                await scale(stack, api, count)
            if 7 in sections:
                await api.apps.create(new_app(running=False))
                cli_wall_time(stack.env)
        finally:
            await store.close()
            await tls_store.close()
            await api.close()
            await tls_api.close()
            stack.stop()
            tls_stack.stop()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--scale", type=int, default=1000, help="LimaVMs in section 6")
    parser.add_argument("--sections", default="1,2,3,4,5,6,7", help="which sections to run")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    chosen = {int(part) for part in arguments.sections.split(",") if part}
    asyncio.run(main(chosen, arguments.scale))
    sys.exit(0)
