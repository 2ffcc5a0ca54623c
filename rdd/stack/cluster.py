"""The stack's etcd as `svc start` brings it up: every member of a local
cluster running on the endpoint it had (unix sockets, or TCP with TLS), or
an external etcd (RDD_ETCD_ENDPOINTS) checked and recorded."""

from __future__ import annotations

import subprocess
import time

from rdd.config import Listen
from rdd.stack.etcd import (
    START_TIMEOUT,
    EtcdListen,
    EtcdNotFoundError,
    as_cluster,
    is_healthy,
    spawn_etcd,
    tcp_listen,
    unix_listen,
    wait_healthy,
)
from rdd.stack.health import SERVING, etcd_health
from rdd.stack.home import STOP_GRACE, StackHome
from rdd.stack.processes import deferred_signals, terminate
from rdd.stack.records import Record, instance_names
from rdd.stack.results import Outcome, StackError
from rdd.stack.wiring import reusable_peer_port, reusable_port, same_transport
from rdd.transport.pki import Pki


def existing_members(stack: StackHome) -> list[str]:
    """The members whose data folder holds a member (the cluster made so far)."""
    return [
        name
        for name in instance_names("etcd", 5)
        if (stack.layout.member_data(name) / "member").is_dir()
    ]


def ensure_etcd(stack: StackHome, listen: Listen, members: int) -> list[Outcome]:
    """Every member of the cluster running (or the external etcd checked).
    A live member is kept even while the cluster has no quorum; the
    missing ones are all spawned before any is waited for, since no
    member is healthy until a majority runs."""
    if stack.external_etcd:
        return [_external(stack)]
    _check_cluster_size(stack, members)
    layout = stack.layout
    names = instance_names("etcd", members)
    records = [layout.read_record(name) for name in names]
    for index, record in enumerate(records):
        if record is not None and (
            not record.managed or not same_transport(record.address, listen)
        ):
            if stack.ours(record):
                assert record.pid is not None
                terminate(record.pid, grace=STOP_GRACE["etcd"])
            records[index] = None
    listens = as_cluster(
        [_etcd_listen(stack, listen, index, record) for index, record in enumerate(records)]
    )
    outcomes: list[Outcome] = []
    waiting: list[tuple[str, subprocess.Popen[bytes], EtcdListen]] = []
    for name, record, member in zip(names, records, listens, strict=True):
        if stack.ours(record):
            assert record is not None
            outcomes.append(Outcome(name, "running", record.pid, record.address))
            continue
        log_path = stack.log_header(name)
        try:
            with deferred_signals():
                process = spawn_etcd(layout.member_data(name), log_path, member)
                layout.write_record(
                    Record(
                        name,
                        pid=process.pid,
                        address=member.endpoint,
                        port=member.port,
                        peer_port=member.peer_port,
                    )
                )
        except (EtcdNotFoundError, OSError) as exc:
            raise _failure(stack, name, exc) from None
        waiting.append((name, process, member))
        outcomes.append(
            Outcome(name, "restarted" if record else "started", process.pid, member.endpoint)
        )
    for name, process, member in waiting:
        try:
            wait_healthy(process, member, layout.log_file(name), probe=member.pki)
        except RuntimeError as exc:
            layout.remove_record(name)
            raise _failure(stack, name, exc) from None
    for outcome in outcomes:
        # A member kept running may still be starting (its starter was
        # interrupted): the services need it to answer.
        if outcome.action == "running" and not _answers_soon(
            outcome.address, stack.etcd_probe_pki(outcome.address)
        ):
            raise _failure(
                stack,
                outcome.component,
                RuntimeError(f"etcd at {outcome.address} does not answer"),
            )
    return outcomes


def _failure(stack: StackHome, name: str, exc: Exception) -> StackError:
    return stack.failure(name, f"etcd did not start: {exc}")


def _check_cluster_size(stack: StackHome, members: int) -> None:
    """A cluster keeps the size it was made with: members are not added
    or removed by a later start with another count."""
    existing = existing_members(stack)
    if existing and len(existing) != members:
        raise StackError(
            f"this stack's etcd was made with {len(existing)} member(s), not {members}: "
            "start it with that count (RDD_ETCD_MEMBERS), or stop it and remove "
            f"{stack.home}/etcd* to make a new one (its data is lost)"
        )


def _external(stack: StackHome) -> Outcome:
    record = stack.layout.read_record("etcd")
    if stack.ours(record):
        assert record is not None and record.pid is not None
        terminate(record.pid, grace=STOP_GRACE["etcd"])
    if etcd_health(stack.external_etcd) != SERVING:
        raise StackError(f"etcd at {stack.external_etcd} (RDD_ETCD_ENDPOINTS) is not healthy")
    stack.layout.write_record(Record("etcd", pid=None, address=stack.external_etcd, managed=False))
    return Outcome("etcd", "external", None, stack.external_etcd)


def _etcd_listen(stack: StackHome, listen: Listen, index: int, record: Record | None) -> EtcdListen:
    if not listen.tcp:
        return unix_listen(stack.layout.run_dir, index)
    return tcp_listen(
        listen.client_host,
        stack.pki,
        client_port=reusable_port(record, listen.client_host),
        peer_port=reusable_peer_port(record),
        index=index,
    )


def _answers_soon(endpoint: str, pki: Pki | None, timeout: float = START_TIMEOUT) -> bool:
    """Whether etcd at `endpoint` reports healthy within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not is_healthy(endpoint, pki=pki):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
