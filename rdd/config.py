"""Settings every process reads from its environment, in one place.

Each field says which variable sets it; CLI.md lists them for users."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def default_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rdd"


@dataclass(frozen=True)
class Settings:
    #: RDD_HOME: state folder (endpoints, pids, logs, etcd data).
    home: Path
    #: RDD_LIMA_HOME: Lima instances folder; default $RDD_HOME/lima.
    lima_home: Path
    #: RDD_ETCD_ENDPOINTS: etcd to use (comma list); unset means `svc start` runs one.
    etcd_endpoints: str
    #: RDD_ETCD_PREFIX: key prefix, so stacks can share one etcd.
    etcd_prefix: str
    #: RDD_WEBHOOK_ADDRESS: admission service, for the services that write.
    webhook_address: str
    #: RDD_LIMAVM_ADDRESS: LimaVM service, for the App service.
    limavm_address: str
    #: RDD_RPC_TIMEOUT: deadline in seconds on every internal unary RPC.
    rpc_timeout: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("RDD_HOME") or default_home(env)).expanduser()
        return cls(
            home=home,
            lima_home=Path(env.get("RDD_LIMA_HOME") or home / "lima").expanduser(),
            etcd_endpoints=env.get("RDD_ETCD_ENDPOINTS", ""),
            etcd_prefix=env.get("RDD_ETCD_PREFIX", "/rdd"),
            webhook_address=env.get("RDD_WEBHOOK_ADDRESS", ""),
            limavm_address=env.get("RDD_LIMAVM_ADDRESS", ""),
            rpc_timeout=float(env.get("RDD_RPC_TIMEOUT", "10")),
        )
