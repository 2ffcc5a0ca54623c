"""`svc status`: pid, address, health and leadership of every etcd member
and service replica of a stack, from its records and bounded probes."""

from __future__ import annotations

import dataclasses
import socket

from rdd.stack.etcd import is_leader_member, read_value
from rdd.stack.health import SERVING, STOPPED, etcd_health
from rdd.stack.home import StackHome
from rdd.stack.records import COMPONENTS, component_of
from rdd.stack.results import ComponentStatus, StackStatus


def stack_status(stack: StackHome) -> StackStatus:
    """Every member and replica (probes bounded at 1 s)."""
    recorded = stack.layout.recorded()
    replicas = {}
    for component in COMPONENTS:
        names = [n for n in recorded if component_of(n) == component] or [component]
        replicas[component] = [instance_status(stack, name) for name in names]
    _mark_leaders(stack, replicas)
    return StackStatus({c: r[0] for c, r in replicas.items()}, replicas)


def instance_status(stack: StackHome, name: str) -> ComponentStatus:
    record = stack.layout.read_record(name)
    if record is None:
        return ComponentStatus(pid=None, address="", health=STOPPED)
    if not record.managed:
        return ComponentStatus(None, record.address, etcd_health(record.address))
    if not stack.ours(record):
        return ComponentStatus(pid=None, address=record.address, health=STOPPED)
    if component_of(name) == "etcd":
        pki = stack.etcd_probe_pki(record.address)
        health = etcd_health(record.address, pki=pki)
        leader = health == SERVING and is_leader_member(record.address, pki=pki)
        return ComponentStatus(record.pid, record.address, health, leader)
    health = stack.service_health(record.address)
    return ComponentStatus(record.pid, record.address, health, metrics=record.metrics)


def _mark_leaders(stack: StackHome, replicas: dict[str, list[ComponentStatus]]) -> None:
    """Which app and limavm replica runs its controller, from the
    election keys (values `host/pid`)."""
    members = [m for m in replicas["etcd"] if m.health == SERVING]
    if not members:
        return
    endpoint = members[0].address.split(",")[0]
    pki = stack.etcd_probe_pki(endpoint)
    for component in ("app", "limavm"):
        key = f"{stack.etcd_prefix}/leaders/{component}-controller".encode()
        value = read_value(endpoint, key, pki=pki)
        holder = value.decode(errors="replace") if value else ""
        replicas[component] = [
            dataclasses.replace(
                r, leader=bool(r.pid) and holder == f"{socket.gethostname()}/{r.pid}"
            )
            for r in replicas[component]
        ]
