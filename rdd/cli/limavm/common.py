"""What the `rdd limavm` commands share: finding a LimaVM by name in any
namespace, a read-modify-write retried on Conflict, and waiting on it while
printing each condition change (failing with a message that names the last
state seen)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rdd.cli.arguments import UsageError, parse_duration
from rdd.cli.console import Console
from rdd.cli.limavm.vms import timeout_message
from rdd.cli.output import name_form
from rdd.cli.parsing import namespace_flags, wait_flags
from rdd.cli.setting import Seen, condition_changes
from rdd.cli.waiting import State, wait_until
from rdd.clients import ResourceClient
from rdd.errors import NotFoundError
from rdd.kinds import LIMAVM
from rdd.meta.conditions import ConditionType
from rdd.meta.finalizers import is_deleting
from rdd.retry import retry_on_conflict


def named_flags(parser: argparse.ArgumentParser, *, until: str | None = None) -> None:
    """NAME and -n; with `until`, --wait/--timeout (default 10m) for it."""
    parser.add_argument("name", metavar="NAME")
    namespace_flags(parser)
    if until is not None:
        wait_flags(parser, timeout="10m", what=f"{until}; 0 for no time limit")


async def find_vm(client: ResourceClient, args: argparse.Namespace) -> Any:
    """The LimaVM args.name: in -n's namespace when given, else in whichever
    namespace holds it."""
    if args.namespace_given:
        return await client.get(args.name, args.namespace)
    for vm in (await client.list("")).items:
        if vm.metadata.name == args.name:
            return vm
    raise NotFoundError(f"{LIMAVM.named(args.name)} not found")


def _copy(vm: Any) -> Any:
    copied = LIMAVM.new()
    copied.CopyFrom(vm)
    return copied


async def update_vm(
    client: ResourceClient, vm: Any, change: Callable[[Any], bool]
) -> tuple[Any, bool]:
    """Apply `change` (False: nothing to write) and write it, reading again
    and retrying on Conflict. Returns the object as written (or as last
    read) and whether it was written."""
    read = [vm]  # the first attempt writes over what the caller read

    async def attempt() -> tuple[Any, bool]:
        current = read.pop() if read else await client.get(vm.metadata.name, vm.metadata.namespace)
        if is_deleting(current):
            raise UsageError(f"{name_form(LIMAVM, current.metadata.name)} is being deleted")
        updated = _copy(current)
        if not change(updated):
            return current, False
        return await client.update(updated), True

    return await retry_on_conflict(attempt)


async def wait_for(
    client: ResourceClient,
    vm: Any,
    done: Callable[[dict[str, Any]], bool],
    *,
    goal: str,
    timeout: str,
    console: Console,
    seen: Seen,
    generation: int,
    awaited: str = ConditionType.RUNNING,
) -> dict[str, Any]:
    """Watch `vm` until `done`, printing each condition change written for
    `generation` or later (those in `seen` are not news); the `awaited`
    condition is printed after the others."""
    name, uid = vm.metadata.name, vm.metadata.uid
    last: dict[str, Any] | None = None

    def check(state: State) -> bool:
        nonlocal seen, last
        if state is None or state.get("metadata", {}).get("uid") != uid:
            raise UsageError(f"{name_form(LIMAVM, name)} was deleted while waiting")
        last = state
        lines, seen = condition_changes(state, seen, generation=generation, awaited=awaited)
        for line in lines:
            console.line(line)
        return done(state)

    try:
        found = await wait_until(
            client, name, vm.metadata.namespace, check, timeout=parse_duration(timeout) or None
        )
    except TimeoutError:
        raise UsageError(timeout_message(name, goal, last, timeout)) from None
    assert found is not None
    return found
