"""`rdd limavm logs` (the host agent's log lines, from the LimaVM service)
and `rdd limavm shell` (limactl shell, lima driver only)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil

from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.cli.arguments import UsageError
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.limavm.common import find_vm
from rdd.cli.limavm.vms import shell_invocation
from rdd.cli.parsing import Words, namespace_flags


async def logs(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    """The host agent's log lines (ha.stderr.log and ha.stdout.log, in time
    order), served by the LimaVM service; -f follows until the LimaVM is gone."""
    client = conn.limavm_client()
    vm = await find_vm(client, args)
    async for line in client.logs(vm.metadata.name, vm.metadata.namespace, follow=args.follow):
        console.line(line.text)
    return 0


# -- shell ---------------------------------------------------------------------------------


async def _shell_target(args: argparse.Namespace, console: Console) -> limavm_pb2.ServiceInfo:
    async with Connection.from_env(console.env) as conn:
        client = conn.limavm_client()
        info = await client.info()
        if info.driver != "lima":
            raise UsageError(f'"rdd limavm shell" is not supported by the {info.driver} driver')
        await find_vm(client, args)
        return info


def shell(args: argparse.Namespace, console: Console) -> int:
    """Replace this process with `limactl shell NAME [CMD...]`, with the
    LIMA_HOME the LimaVM service uses (asked over its Info RPC, so the driver
    and folder are the service's, whatever this shell's environment says)."""
    info = asyncio.run(_shell_target(args, console))
    limactl = shutil.which("limactl", path=console.env.get("PATH"))
    if limactl is None:
        raise UsageError('limactl is not on PATH: "rdd limavm shell" runs "limactl shell"')
    command = list(args.shell_command)
    if command[:1] == ["--"]:
        command = command[1:]
    argv, env = shell_invocation(
        limactl, args.name, command, lima_home=info.lima_home, env=console.env
    )
    with contextlib.suppress(OSError):
        console.out.flush()
        console.err.flush()
    try:
        os.execve(limactl, argv, env)
    except OSError as exc:
        raise UsageError(f"cannot run {limactl}: {exc.strerror or exc}") from None


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    if name == "logs":
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
        namespace_flags(parser)
        parser.set_defaults(run_async=logs)
        return
    namespace_flags(parser)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("shell_command", nargs=argparse.REMAINDER, metavar="CMD")
    parser.set_defaults(run=shell)
