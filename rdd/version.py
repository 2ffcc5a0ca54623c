"""Which build of rdd this process runs, shaped like Kubernetes' version.Info
(`major`, `minor`, `gitVersion`, plus `pythonVersion` and `platform`).

The release comes from the installed package's metadata, or rdd.__version__
when rdd runs from a source tree that was never installed. Read by `rdd
version` (the client's) and by every service's VersionService (the server's)."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from typing import Any

import rdd


def release() -> str:
    """`0.1.0`: the installed distribution's version, else rdd.__version__."""
    try:
        return importlib.metadata.version("rdd")
    except importlib.metadata.PackageNotFoundError:
        return rdd.__version__


def _machine() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def version_info(version: str | None = None) -> dict[str, Any]:
    """This process's build as version.Info's JSON fields (pure but for the
    facts of the running interpreter)."""
    version = version or release()
    parts = version.split(".")
    return {
        "major": parts[0],
        "minor": parts[1] if len(parts) > 1 else "",
        "gitVersion": f"v{version}",
        "pythonVersion": platform.python_version(),
        "platform": f"{sys.platform}/{_machine()}",
    }
