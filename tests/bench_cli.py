"""`make bench`'s CLI figure (see tests/bench.py).

7. `rdd ctl get app` wall time, median of repeated runs, beside what any
   Python gRPC client pays before its first line of code: `python -c pass`
   and `python -c "import grpc"`. Bytecode caching is on, as for an
   installed rdd (the test environment turns it off).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

RUNS = 11


def _median_ms(argv: Sequence[str], env: Mapping[str, str], runs: int) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm: bytecode, page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def cli_wall_time(stack_env: Mapping[str, str], runs: int = RUNS) -> None:
    env = {k: v for k, v in stack_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PATH"] = os.environ.get("PATH", "")
    rdd = Path(sys.executable).with_name("rdd")
    command = [str(rdd)] if rdd.exists() else [sys.executable, "-m", "rdd"]
    print(f"7. CLI wall time, median of {runs} runs")
    python = _median_ms([sys.executable, "-c", "pass"], env, runs)
    grpc = _median_ms([sys.executable, "-c", "import grpc"], env, runs)
    ours = _median_ms([*command, "ctl", "get", "app"], env, runs)
    print(f"  python -c pass         {python:7.1f} ms")
    print(f"  python -c 'import grpc'{grpc:7.1f} ms")
    print(
        f"  rdd ctl get app        {ours:7.1f} ms ({ours / python:.1f}x bare python, "
        f"{ours / grpc:.1f}x the import-grpc floor; aim < 80 ms)"
    )
