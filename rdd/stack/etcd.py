"""A local etcd for one stack: data under RDD_HOME, reachable only by its owner.

- Unix mode (the default): client and peer URLs are unix sockets in
  `$RDD_HOME/run/`. etcd 3.4 only takes `unix://NAME:PORT`, relative to its
  working folder, and names the socket file `NAME:PORT`; so etcd runs in
  `run/` and a gRPC client reaches it as `unix:///ABS/run/etcd:2379`.
- TCP mode: `https://HOST:PORT`, server and peer TLS from the stack's pki,
  and `--client-cert-auth`: a client without a certificate from that CA is
  refused."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import http.client
import json
import os
import platform
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rdd.stack.ports import free_port
from rdd.transport.pki import Pki
from rdd.transport.sockets import is_unix_target, socket_path, unix_target

#: etcd's names for its sockets in run/ (files `etcd:2379`, `etcd-peer:2380`;
#: member i of a cluster: `etcd-i:2379`, `etcd-i-peer:2380`).
CLIENT_SOCKET = "etcd:2379"
PEER_SOCKET = "etcd-peer:2380"


def member_instance(index: int) -> str:
    """`etcd`, `etcd-1`, ...: a member's record, socket and data names (pure)."""
    return "etcd" if index == 0 else f"etcd-{index}"


def member_name(index: int) -> str:
    """etcd's --name of a member: `rdd`, `rdd-1`, ... (pure)."""
    return "rdd" if index == 0 else f"rdd-{index}"


def client_socket(index: int) -> str:
    return CLIENT_SOCKET if index == 0 else f"{member_instance(index)}:2379"


def peer_socket(index: int) -> str:
    return PEER_SOCKET if index == 0 else f"{member_instance(index)}-peer:2380"


START_TIMEOUT = 20.0


class EtcdNotFoundError(RuntimeError):
    """No etcd binary on PATH."""


@dataclass(frozen=True)
class EtcdProcess:
    pid: int
    #: The client endpoint: `unix:///abs/run/etcd:2379` or `https://HOST:PORT`.
    endpoint: str
    peer_port: int = 0


@dataclass(frozen=True)
class EtcdListen:
    """Where one etcd listens, and as what clients reach it."""

    client_url: str
    peer_url: str
    #: The client endpoint as the records and the services have it.
    endpoint: str
    #: etcd's working folder (unix mode: the socket URLs are relative to it).
    cwd: Path | None = None
    #: TCP mode: the pki whose `etcd` certificate it serves with.
    pki: Pki | None = None
    #: Which member of the cluster this is (0 for a single etcd).
    index: int = 0
    #: --initial-cluster: every member's name=peer URL ("" for a single etcd).
    initial_cluster: str = ""

    @property
    def sockets(self) -> tuple[str, ...]:
        return (client_socket(self.index), peer_socket(self.index))

    @property
    def port(self) -> int:
        return 0 if self.cwd is not None else int(self.endpoint.rpartition(":")[2])

    @property
    def peer_port(self) -> int:
        return 0 if self.cwd is not None else int(self.peer_url.rpartition(":")[2])


def unix_listen(run_dir: Path, index: int = 0) -> EtcdListen:
    """Client and peer on unix sockets in `run_dir` (pure)."""
    return EtcdListen(
        client_url=f"unix://{client_socket(index)}",
        peer_url=f"unix://{peer_socket(index)}",
        endpoint=unix_target(run_dir / client_socket(index)),
        cwd=run_dir.absolute(),
        index=index,
    )


def tcp_listen(
    host: str, pki: Pki, *, client_port: int = 0, peer_port: int = 0, index: int = 0
) -> EtcdListen:
    """Client on HOST, peer on loopback, both TLS; free ports where none are given."""
    client = f"https://{_url_host(host)}:{client_port or free_port()}"
    return EtcdListen(
        client_url=client,
        peer_url=f"https://127.0.0.1:{peer_port or free_port()}",
        endpoint=client,
        pki=pki,
        index=index,
    )


def as_cluster(members: list[EtcdListen]) -> list[EtcdListen]:
    """The same members, each told the whole cluster (pure)."""
    if len(members) == 1:
        return members
    initial = ",".join(f"{member_name(m.index)}={m.peer_url}" for m in members)
    return [dataclasses.replace(m, initial_cluster=initial) for m in members]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def etcd_binary() -> str:
    binary = shutil.which("etcd")
    if binary is None:
        raise EtcdNotFoundError(
            "etcd is not on PATH: install etcd >= 3.4.23 (Debian: apt-get install etcd-server) "
            "or set RDD_ETCD_ENDPOINTS"
        )
    return binary


def etcd_command(binary: str, data_dir: Path, listen: EtcdListen) -> list[str]:
    """The etcd command line (pure): single member, small quotas."""
    name = member_name(listen.index)
    command = [
        binary,
        f"--name={name}",
        f"--data-dir={data_dir.absolute()}",
        f"--listen-client-urls={listen.client_url}",
        f"--advertise-client-urls={listen.client_url}",
        f"--listen-peer-urls={listen.peer_url}",
        f"--initial-advertise-peer-urls={listen.peer_url}",
        f"--initial-cluster={listen.initial_cluster or f'{name}={listen.peer_url}'}",
        "--initial-cluster-state=new",
        f"--initial-cluster-token=rdd-{data_dir.absolute().parent.name}",
        "--auto-compaction-mode=revision",
        "--auto-compaction-retention=10000",
        "--quota-backend-bytes=1073741824",
        "--log-level=warn",
        "--logger=zap",
    ]
    if listen.pki is not None:
        pki = listen.pki
        cert, key, ca = pki.cert_file("etcd"), pki.key_file("etcd"), pki.ca_file
        command += [
            f"--cert-file={cert}",
            f"--key-file={key}",
            "--client-cert-auth",
            f"--trusted-ca-file={ca}",
            f"--peer-cert-file={cert}",
            f"--peer-key-file={key}",
            "--peer-client-cert-auth",
            f"--peer-trusted-ca-file={ca}",
        ]
    return command


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _connection(endpoint: str, pki: Pki | None, timeout: float) -> http.client.HTTPConnection:
    if is_unix_target(endpoint):
        return _UnixHTTPConnection(socket_path(endpoint), timeout)
    if endpoint.startswith("https://"):
        context = ssl.create_default_context(cafile=str(pki.ca_file) if pki else None)
        if pki is not None:
            context.load_cert_chain(pki.cert_file("client"), pki.key_file("client"))
        host = endpoint.removeprefix("https://").rstrip("/")
        return http.client.HTTPSConnection(host, timeout=timeout, context=context)
    host = endpoint.removeprefix("http://").rstrip("/")
    return http.client.HTTPConnection(host, timeout=timeout)


def is_healthy(endpoint: str, *, pki: Pki | None = None, timeout: float = 1.0) -> bool:
    """etcd's /health says true: it listens and has a leader. `pki`: the
    client certificate a TCP-mode etcd requires."""
    body = _http(endpoint, "GET", "/health", pki, timeout=timeout)
    try:
        return body is not None and json.loads(body).get("health") == "true"
    except (ValueError, AttributeError):
        return False


def _http(
    endpoint: str,
    method: str,
    path: str,
    pki: Pki | None,
    *,
    body: str | None = None,
    timeout: float = 1.0,
) -> bytes | None:
    """One request to etcd's HTTP side (health, metrics, JSON gateway): the
    reply's body, or None when etcd does not answer."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection = _connection(endpoint, pki, timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            return connection.getresponse().read()
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ssl.SSLError):
        return None


def spawn_etcd(data_dir: Path, log_path: Path, listen: EtcdListen) -> subprocess.Popen[bytes]:
    """Start etcd in the background (own session, private umask) and return
    at once; the caller records it before waiting (wait_healthy). No other
    etcd may be using `listen` (its stale sockets are removed)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    command = etcd_command(etcd_binary(), data_dir, listen)
    if listen.cwd is not None:
        # etcd binds its sockets without removing what a killed etcd left.
        for name in listen.sockets:
            with contextlib.suppress(FileNotFoundError):
                (listen.cwd / name).unlink()
    env = dict(os.environ)
    if platform.machine() in ("aarch64", "arm64"):
        env.setdefault("ETCD_UNSUPPORTED_ARCH", "arm64")  # etcd 3.4 refuses arm64 otherwise
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=listen.cwd,
            umask=0o077,
        )


def wait_healthy(
    process: subprocess.Popen[bytes],
    listen: EtcdListen,
    log_path: Path,
    *,
    probe: Pki | None,
    timeout: float = START_TIMEOUT,
) -> None:
    """Return once etcd answers; RuntimeError when it exits or stays silent
    (then it is killed)."""
    deadline = time.monotonic() + timeout
    while not is_healthy(listen.endpoint, pki=probe):
        if process.poll() is not None:
            raise RuntimeError(f"etcd exited with {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                f"etcd was not healthy at {listen.endpoint} within {timeout:g}s; see {log_path}"
            )
        time.sleep(0.05)
    if listen.cwd is not None:
        for name in listen.sockets:
            os.chmod(listen.cwd / name, 0o600)


def start_etcd(data_dir: Path, log_path: Path, listen: EtcdListen) -> EtcdProcess:
    """Start etcd and wait until it answers (tests; the supervisor records
    the process between spawn_etcd and wait_healthy)."""
    process = spawn_etcd(data_dir, log_path, listen)
    wait_healthy(process, listen, log_path, probe=listen.pki)
    return EtcdProcess(pid=process.pid, endpoint=listen.endpoint, peer_port=listen.peer_port)


def served_requests(endpoint: str, *, pki: Pki | None = None) -> dict[str, float]:
    """How many gRPC calls etcd has served since it started, by method
    (`Txn`, `Range`, `Watch`, ...), from its Prometheus /metrics; empty when
    it does not answer. Counted, so comparable across machines (make bench)."""
    from prometheus_client.parser import text_string_to_metric_families  # only make bench asks

    text = _http(endpoint, "GET", "/metrics", pki, timeout=5.0)
    if text is None:
        return {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == "grpc_server_started_total":
                method = sample.labels.get("grpc_method", "")
                counts[method] = counts.get(method, 0.0) + sample.value
    return counts


def _post(endpoint: str, path: str, body: dict[str, str], pki: Pki | None) -> dict | None:
    """A call to etcd's JSON gateway (`/v3/...`), None when it does not answer."""
    text = _http(endpoint, "POST", path, pki, body=json.dumps(body))
    try:
        reply = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


def is_leader_member(endpoint: str, *, pki: Pki | None = None) -> bool:
    """Whether the member at `endpoint` is its cluster's raft leader."""
    reply = _post(endpoint, "/v3/maintenance/status", {}, pki)
    if reply is None:
        return False
    member = (reply.get("header") or {}).get("member_id")
    return member is not None and member == reply.get("leader")


def read_value(endpoint: str, key: bytes, *, pki: Pki | None = None) -> bytes | None:
    """The value of `key`, None when it is absent or etcd does not answer."""
    reply = _post(endpoint, "/v3/kv/range", {"key": base64.b64encode(key).decode()}, pki)
    kvs = (reply or {}).get("kvs") or []
    return base64.b64decode(kvs[0].get("value", "")) if kvs else None
