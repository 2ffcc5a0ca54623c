"""`rdd set running=true|false`, `rdd start`, `rdd stop`: create the App if
it is missing, set spec.running, then (by default) watch the App until its
Settled condition is True for the generation written, printing each
condition change as it happens.

Exit status 3 when admission denies the write (mapped in rdd.cli.main)."""

from __future__ import annotations

import argparse
from typing import Any

from rdd.api.app.v1alpha1 import app_pb2
from rdd.api.meta.v1 import meta_pb2
from rdd.cli.arguments import UsageError, parse_bool, parse_dry_run, parse_duration
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.output import dry_run_suffix, name_form, plural_form
from rdd.cli.parsing import Words, typed, wait_flags
from rdd.cli.waiting import State, wait_until
from rdd.clients import CREATED, UNCHANGED, UPDATED, ResourceClient, create_or_update
from rdd.kinds import APP
from rdd.meta.conditions import ConditionType, describe
from rdd.meta.names import APP_NAME

SETTLED = ConditionType.SETTLED

Seen = dict[str, tuple[str, str, str]]


def parse_assignment(text: str) -> bool:
    """`running=true|false` -> the wanted spec.running (pure)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise UsageError(f'expected KEY=VALUE, got "{text}" (e.g. running=true)')
    if key != "running":
        raise UsageError(f'unknown setting "{key}": only running=true|false can be set')
    return parse_bool(value)


def condition_changes(
    state: dict[str, Any], seen: Seen, *, generation: int, awaited: str = SETTLED
) -> tuple[list[str], Seen]:
    """Lines for the conditions that changed since `seen`, counting only those
    written for `generation` or later (pure); the condition the command
    waits for (`awaited`: Settled, the summary, for the App) comes last, also
    when one status write changed several. Returns the new `seen`."""
    lines = []
    now = dict(seen)
    conditions = state.get("status", {}).get("conditions", [])
    for cond in sorted(conditions, key=lambda c: c.get("type") == awaited):
        if int(cond.get("observedGeneration") or 0) < generation:
            continue
        key = (
            str(cond.get("status", "")),
            str(cond.get("reason", "")),
            str(cond.get("message", "")),
        )
        if now.get(cond["type"]) == key:
            continue
        now[cond["type"]] = key
        lines.append(
            describe(
                meta_pb2.Condition(type=cond["type"], status=key[0], reason=key[1], message=key[2])
            )
        )
    return lines, now


def is_settled(state: dict[str, Any], *, generation: int) -> bool:
    """Settled=True written for `generation` or later (pure)."""
    for cond in state.get("status", {}).get("conditions", []):
        if cond.get("type") == SETTLED:
            return (
                cond.get("status") == "True"
                and int(cond.get("observedGeneration") or 0) >= generation
            )
    return False


#: `rdd set`'s words for what rdd.clients.create_or_update did.
_VERBS = {CREATED: "created", UPDATED: "patched", UNCHANGED: "unchanged"}


async def write_running(client: ResourceClient, running: bool, *, dry_run: bool) -> tuple[Any, str]:
    """(the App as written, created|patched|unchanged)."""

    def build() -> app_pb2.App:
        app = APP.new()
        app.metadata.name = APP_NAME
        app.spec.running = running
        return app

    def mutate(live: Any) -> Any:
        if live.metadata.deletion_timestamp:
            raise UsageError(
                f"{name_form(APP, APP_NAME)} is being deleted; run this again once it is gone"
            )
        if live.spec.running == running:
            return None
        live.spec.running = running
        return live

    verb, written = await create_or_update(
        client, APP_NAME, "", build=build, mutate=mutate, dry_run=dry_run
    )
    return written, _VERBS[verb]


async def wait_settled(
    client: ResourceClient, *, generation: int, timeout: float | None, console: Console
) -> None:
    seen: Seen = {}

    def settled(state: State) -> bool:
        nonlocal seen
        if state is None:
            raise UsageError(f"{name_form(APP, APP_NAME)} was deleted while waiting")
        lines, seen = condition_changes(state, seen, generation=generation)
        for line in lines:
            console.line(line)
        return is_settled(state, generation=generation)

    try:
        await wait_until(client, APP_NAME, "", settled, timeout=timeout)
    except TimeoutError:
        raise UsageError(
            f"timed out waiting for the condition on {plural_form(APP, APP_NAME)}"
        ) from None


async def set_running(
    conn: Connection, args: argparse.Namespace, console: Console, *, running: bool
) -> int:
    timeout = parse_duration(args.timeout) or None
    client = conn.client(APP)
    dry_run = "server" if args.dry_run else "none"
    written, verb = await write_running(client, running, dry_run=bool(args.dry_run))
    verb = "patched (no change)" if verb == "unchanged" else verb
    console.line(f"{name_form(APP, APP_NAME)} {verb}{dry_run_suffix(dry_run)}")
    if args.dry_run or not args.wait:
        return 0
    await wait_settled(
        client, generation=written.metadata.generation, timeout=timeout, console=console
    )
    return 0


async def set_command(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    return await set_running(conn, args, console, running=parse_assignment(args.assignment))


async def start(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    return await set_running(conn, args, console, running=True)


async def stop(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    return await set_running(conn, args, console, running=False)


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    """`rdd set running=...`, `rdd start`, `rdd stop`."""
    if name == "set":
        parser.add_argument("assignment", metavar="running=true|false")
    parser.add_argument(
        "--dry-run",
        nargs="?",
        const=True,
        default=False,
        type=typed(lambda text: parse_dry_run(text) != "none"),
        metavar="server",
        help="run admission, persist nothing",
    )
    wait_flags(parser, timeout="10m", what="the App is Settled")
    commands = {"set": set_command, "start": start, "stop": stop}
    parser.set_defaults(run_async=commands[name], forbidden_exit=3)
