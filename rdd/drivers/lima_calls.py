"""limactl as asyncio subprocesses, for the lima driver (rdd.drivers.lima).

Every call runs with LIMA_HOME=<lima_home> in the environment the driver was
given, so nothing blocks the event loop; a call that outlives its budget is
killed and reaped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rdd.drivers import watching
from rdd.drivers.base import DriverError
from rdd.drivers.lima_folders import mirror_sentinel
from rdd.drivers.limactl import Result, parse_list_output

log = logging.getLogger("rdd.drivers.lima")

#: Budget for quick limactl calls (list, delete, stop -f).
CALL_TIMEOUT_SECONDS = 60.0
#: Budget for `limactl create` (it downloads the image).
CREATE_TIMEOUT_SECONDS = 30 * 60.0


class Limactl:
    def __init__(self, lima_home: Path, limactl: str, env: Mapping[str, str] | None) -> None:
        self.home = lima_home
        self.program = limactl
        self._base_env = env

    def env(self) -> dict[str, str]:
        """The environment of every limactl call: the one given, else this
        process's at call time, with LIMA_HOME set."""
        env = dict(os.environ if self._base_env is None else self._base_env)
        env["LIMA_HOME"] = str(self.home)
        return env

    async def spawn(
        self, args: Sequence[str], *, stdin: bool = False, detach: bool = False
    ) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                self.program,
                *args,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.env(),
                start_new_session=detach,
            )
        except OSError as err:
            raise DriverError(f"cannot run {self.program}: {err}") from err

    async def run(
        self, args: Sequence[str], *, timeout: float = CALL_TIMEOUT_SECONDS, stdin: str = ""
    ) -> Result:
        """Run one limactl call to completion; a call that outlives `timeout` is killed."""
        proc = await self.spawn(args, stdin=bool(stdin))
        try:
            async with asyncio.timeout(timeout):
                out, err = await proc.communicate(stdin.encode() or None)
        except BaseException:
            await kill(proc)
            raise
        result = Result(
            proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
        )
        log.debug("event=limactl args=%s code=%s", " ".join(args), result.code)
        return result

    async def list_one(self, name: str) -> tuple[Result, dict[str, Any] | None]:
        """`limactl list --json NAME`: the call's result and NAME's listing, if any."""
        result = await self.run(["list", "--json", "--tty=false", name])
        listing = parse_list_output(result.stdout, name) if result.code == 0 else None
        return result, listing

    async def create(self, name: str, template_yaml: str, arch: str) -> Result:
        """`limactl create` from stdin, mirroring the sentinel into the new directory."""
        inst = self.home / name
        with watching.DirWatch(self.home) as watch:
            args = ["create", "--tty=false", f"--name={name}", f"--arch={arch}", "-"]
            run = asyncio.create_task(
                self.run(args, timeout=CREATE_TIMEOUT_SECONDS, stdin=template_yaml)
            )
            try:
                while not run.done():
                    mirror_sentinel(inst)
                    changed = asyncio.create_task(watch.changed())
                    try:
                        await asyncio.wait({run, changed}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        changed.cancel()
                        await asyncio.gather(changed, return_exceptions=True)
            except BaseException:
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                raise
            return run.result()

    async def stop_forcibly(self, name: str) -> None:
        """`limactl stop -f`. Up to v2.1.4 it ends by inspecting every instance
        and exits 1 on one it cannot read (pkg/networks/reconcile): what counts
        is that `list` says Stopped afterwards."""
        result = await self.run(["stop", "-f", "--tty=false", name])
        if result.code == 0:
            return
        if await self.is_stopped(name):
            log.warning("event=vm_stop_forced_with_error name=%s error=%r", name, result.error)
            return
        raise DriverError(f"limactl stop -f {name} failed: {result.error}")

    async def is_stopped(self, name: str) -> bool:
        _, listing = await self.list_one(name)
        return listing is not None and listing.get("status") == "Stopped"


async def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL a limactl call we gave up on, and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5):
            await proc.wait()


def list_hint(result: Result) -> str:
    """What to do when Lima v2.x cannot print an instance: its `list --json`
    reads each instance's line with a 64 KiB limit (cmd/limactl/list.go)."""
    if "token too long" not in result.error:
        return ""
    return (
        " (Lima v2.x cannot list an instance whose JSON, lima.yaml included, is 64 KiB or "
        "more: make the template smaller, e.g. its provision scripts)"
    )
