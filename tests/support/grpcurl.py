"""grpcurl, the tool the README shows for talking to a service by hand:
from PATH, else next to the interpreter (the venv's, `make setup`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    """grpcurl without TLS (a unix socket), its output captured."""
    return subprocess.run(
        [GRPCURL, "-plaintext", *args], capture_output=True, text=True, timeout=30
    )
