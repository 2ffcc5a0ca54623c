"""The sim driver's host agent: one real process per running simulated VM.

Started by rdd.drivers.sim as
`python -m rdd.drivers.sim_hostagent --pidfile DIR/ha.pid --socket DIR/ha.sock
--boot-seconds N NAME`, in its own session, with stdout on `ha.stdout.log` and
stderr on `ha.stderr.log`, like `limactl hostagent`. It writes "<pid>\\n" to
the pid file, Lima's JSON events on stdout (sshLocalPort, then running after
the boot delay, then exiting), logrus-JSON lines on stderr, answers
`GET /v1/info` on the socket, and exits cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rdd.drivers import hostagent_events

#: Marks our processes in /proc/PID/cmdline (the driver checks it before signalling).
MODULE = "rdd.drivers.sim_hostagent"


def emit(status: dict[str, Any]) -> None:
    print(hostagent_events.format_event(status, datetime.now(UTC)), flush=True)


def log(level: str, msg: str, **fields: Any) -> None:
    line = hostagent_events.format_logrus_json(level, msg, datetime.now(UTC), **fields)
    print(line, file=sys.stderr, flush=True)


def free_port() -> int:
    """A free loopback port to report as sshLocalPort (nothing listens there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_pidfile(path: Path) -> None:
    """Write "<pid>\\n" atomically, refusing to overwrite (Lima: "pidfile ... already exists")."""
    if path.exists():
        raise FileExistsError(f"pidfile {str(path)!r} already exists")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, path)


def remove_own_pidfile(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()


async def serve_info(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    """A minimal HTTP/1.1 answer to `GET /v1/info` (Lima's host agent API)."""
    try:
        async with asyncio.timeout(5):
            request = await reader.readuntil(b"\r\n\r\n")
        path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
        if path == b"/v1/info":
            status, body = "200 OK", json.dumps({"sshLocalPort": port}).encode()
        else:
            status, body = "404 Not Found", b"404 page not found\n"
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        pass
    finally:
        writer.close()


async def run(name: str, pidfile: Path, sock: Path, boot_seconds: float) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    received: list[str] = []

    def on_signal(signum: int) -> None:
        received.append(signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    write_pidfile(pidfile)
    port = free_port()
    server: asyncio.AbstractServer | None = None
    try:
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        try:
            server = await asyncio.start_unix_server(
                lambda r, w: serve_info(r, w, port), path=str(sock)
            )
        except OSError as err:
            log("warning", f"cannot listen on {str(sock)!r}: {err}")
        log("info", f"Starting the simulated VM {name!r} (boot takes {boot_seconds}s)")
        emit({"sshLocalPort": port})
        try:
            async with asyncio.timeout(boot_seconds):
                await stopping.wait()
        except TimeoutError:
            emit({"running": True, "sshLocalPort": port})
            log("info", "READY")
            await stopping.wait()
        log("info", f"Received {received[0]}, shutting down the host agent")
        emit({"exiting": True, "sshLocalPort": port})
    finally:
        if server is not None:
            server.close()
        with contextlib.suppress(OSError):
            sock.unlink()
        remove_own_pidfile(pidfile)
    log("info", "Shut down the simulated VM")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MODULE)
    parser.add_argument("--pidfile", required=True, type=Path)
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--boot-seconds", type=float, default=2.0)
    parser.add_argument("name")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args.name, args.pidfile, args.socket, args.boot_seconds))
    except FileExistsError as err:
        log("fatal", str(err))
        return 1


if __name__ == "__main__":
    sys.exit(main())
