"""Unix socket paths and gRPC targets (pure).

A socket's path must fit in `sockaddr_un.sun_path` (108 bytes on Linux, 104
on macOS and the BSDs, the terminating NUL included): a long RDD_HOME is
reported before anything is started, never as a bind error deep in a child."""

from __future__ import annotations

import sys
from pathlib import Path

#: Longest socket path the platform takes, in bytes, without the NUL.
SUN_PATH_MAX = 107 if sys.platform.startswith("linux") else 103

UNIX_SCHEME = "unix://"


class SocketPathError(ValueError):
    """A socket path the platform cannot bind."""


def unix_target(path: Path) -> str:
    """The gRPC target of a socket: `unix:///abs/path.sock`."""
    return f"{UNIX_SCHEME}{path.absolute()}"


def is_unix_target(target: str) -> bool:
    return target.startswith("unix:")


def socket_path(target: str) -> Path:
    """The file behind `unix:///abs/path` (or `unix:path`)."""
    if target.startswith(UNIX_SCHEME):
        return Path(target.removeprefix(UNIX_SCHEME))
    return Path(target.removeprefix("unix:"))


def socket_path_problem(path: Path) -> str | None:
    """Why `path` cannot be a unix socket here, or None (pure)."""
    size = len(str(path.absolute()).encode())
    if size <= SUN_PATH_MAX:
        return None
    return (
        f"RDD_HOME is too long for unix sockets: {path} is {size} bytes, and the limit "
        f"is {SUN_PATH_MAX}; use a shorter RDD_HOME (or 'rdd svc start --listen=tcp')"
    )


def check_socket_path(path: Path) -> Path:
    """`path`, or SocketPathError saying why it cannot be used."""
    problem = socket_path_problem(path)
    if problem:
        raise SocketPathError(problem)
    return path


def join_targets(targets: list[str]) -> str:
    """Several replicas' targets as one endpoint, comma separated, as the
    records, `svc status` and the client configuration show it (pure)."""
    return ",".join(t for t in targets if t)


def split_targets(endpoint: str) -> list[str]:
    return [t.strip() for t in endpoint.split(",") if t.strip()]
