"""The stack's three services as `svc start` brings them up: one replica
kept when it is ours, SERVING and wired to the current addresses, else
(re)spawned in its own session, recorded in the same signal-free moment,
and waited for until it has published its address and answers SERVING."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping

from rdd.config import Listen, metrics_enabled
from rdd.stack.health import NOT_SERVING, SERVING
from rdd.stack.home import STOP_GRACE, StackHome
from rdd.stack.processes import deferred_signals, terminate
from rdd.stack.records import Record, component_of
from rdd.stack.results import Outcome
from rdd.stack.wiring import (
    WIRING_VARIABLES,
    client_address,
    is_current,
    reusable_port,
    same_transport,
    tcp_address,
    wiring_for,
)
from rdd.transport.sockets import is_unix_target, unix_target

#: Seconds a running service answering NOT_SERVING gets to serve again before
#: `start` replaces it: its etcd probe runs every second and reconnects
#: within one more (rdd.server.dependency, rdd.transport.channels).
RECOVERY_TIMEOUT = 10.0


def ensure_service(
    stack: StackHome, name: str, endpoints: Mapping[str, str], listen: Listen, *, timeout: float
) -> Outcome:
    """One service replica (`app`, `app-1`, ...) running and SERVING."""
    component = component_of(name)
    wiring = wiring_for(component, endpoints)
    if metrics_enabled(stack.env):
        wiring["RDD_METRICS"] = "1"
    layout = stack.layout
    record = layout.read_record(name)
    action = "started" if record is None else "restarted"
    if stack.ours(record):
        assert record is not None and record.pid is not None
        healthy = same_transport(record.address, listen) and serves_soon(stack, record.address)
        if is_current(record, wiring=wiring, healthy=healthy):
            return Outcome(name, "running", record.pid, record.address)
        terminate(record.pid, grace=STOP_GRACE[component])
    port = 0
    if listen.tcp and record is not None and not is_unix_target(record.address):
        port = reusable_port(record, listen.client_host)
    layout.remove_record(name)
    target = (
        unix_target(layout.socket_file(name)) if not listen.tcp else tcp_address(listen.host, port)
    )
    with deferred_signals():
        process = _spawn(stack, name, listen=target, wiring=wiring)
        layout.write_record(Record(name, pid=process.pid, port=port, wiring=wiring))
    address = _wait_serving(stack, name, process, listen, timeout=timeout)
    layout.write_record(
        Record(
            name,
            pid=process.pid,
            address=address,
            port=0 if is_unix_target(address) else int(address.rpartition(":")[2]),
            wiring=wiring,
            metrics=layout.published_metrics(name),
        )
    )
    return Outcome(name, action, process.pid, address)


def serves_soon(stack: StackHome, address: str, timeout: float = RECOVERY_TIMEOUT) -> bool:
    """Whether the service at `address` is SERVING, given `timeout`
    seconds when it answers NOT_SERVING: that is a live service waiting
    for its etcd (just restarted, say), which a restart would not help."""
    deadline = time.monotonic() + timeout
    while (health := stack.service_health(address)) == NOT_SERVING:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return health == SERVING


def _spawn(
    stack: StackHome, name: str, *, listen: str, wiring: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    # An empty RDD_* variable means unset, to the services as to this check.
    env = {
        k: v
        for k, v in stack.env.items()
        if k not in WIRING_VARIABLES and (v.strip() or not k.startswith("RDD_"))
    }
    env.update(wiring)
    env["RDD_HOME"] = str(stack.home)
    env["RDD_LIMA_HOME"] = str(stack.lima_home)
    env["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable,
        "-m",
        f"rdd.services.{component_of(name)}",
        "--listen",
        listen,
        "--address-file",
        str(stack.layout.address_file(name)),
        "--log-file",
        str(stack.layout.log_file(name)),
    ]
    log_path = stack.log_header(name)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=stack.home,
            umask=0o077,
        )


def _wait_serving(
    stack: StackHome, name: str, process: subprocess.Popen[bytes], listen: Listen, *, timeout: float
) -> str:
    """The service's address once it has published it and health says
    SERVING. Supervising a child that reports through a file: looked at
    on a short interval, bounded by `timeout`."""
    layout = stack.layout
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            layout.remove_record(name)
            raise stack.failure(name, f"{name} exited with status {code} before SERVING")
        published = layout.read_published(name)
        if published is not None and published[1] == process.pid:
            address = client_address(published[0], listen)
            if stack.service_health(address) == SERVING:
                return address
        if time.monotonic() > deadline:
            terminate(process.pid, grace=STOP_GRACE[component_of(name)])
            layout.remove_record(name)
            raise stack.failure(name, f"{name} did not report SERVING within {timeout:g}s")
        time.sleep(0.05)
