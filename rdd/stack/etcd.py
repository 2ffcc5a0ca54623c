"""A local etcd for one stack: data under RDD_HOME, loopback ports only."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rdd.stack.ports import free_port, is_listening


class EtcdNotFoundError(RuntimeError):
    """No etcd binary on PATH."""


@dataclass(frozen=True)
class EtcdProcess:
    pid: int
    endpoint: str
    peer_port: int = 0


def etcd_command(data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    """The etcd command line (pure): single member, loopback, small quotas."""
    binary = shutil.which("etcd")
    if binary is None:
        raise EtcdNotFoundError(
            "etcd is not on PATH: install etcd >= 3.4.23 (Debian: apt-get install etcd-server) "
            "or set RDD_ETCD_ENDPOINTS"
        )
    client = f"http://127.0.0.1:{client_port}"
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        binary,
        "--name=rdd",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=rdd={peer}",
        "--initial-cluster-state=new",
        "--auto-compaction-mode=revision",
        "--auto-compaction-retention=10000",
        "--quota-backend-bytes=1073741824",
        "--log-level=warn",
        "--logger=zap",
    ]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def is_healthy(endpoint: str) -> bool:
    """etcd's /health says true: it listens and has a leader."""
    if not is_listening(endpoint):
        return False
    try:
        with _NO_PROXY.open(f"http://{endpoint}/health", timeout=1) as response:
            return bool(json.load(response).get("health") == "true")
    except (OSError, ValueError):
        return False


def start_etcd(
    data_dir: Path,
    log_path: Path,
    *,
    client_port: int | None = None,
    peer_port: int | None = None,
) -> EtcdProcess:
    """Start etcd in the background (own session) and wait until it answers.
    Given ports are reused (a restart keeps the endpoint others were given)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    port = client_port or free_port()
    peer = peer_port or free_port()
    command = etcd_command(data_dir, port, peer)
    env = dict(os.environ)
    if platform.machine() in ("aarch64", "arm64"):
        env.setdefault("ETCD_UNSUPPORTED_ARCH", "arm64")  # etcd 3.4 refuses arm64 otherwise
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    endpoint = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not is_healthy(endpoint):
        if process.poll() is not None:
            raise RuntimeError(f"etcd exited with {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"etcd was not healthy on {endpoint} within 20s; see {log_path}")
        time.sleep(0.05)
    return EtcdProcess(pid=process.pid, endpoint=endpoint, peer_port=peer)
