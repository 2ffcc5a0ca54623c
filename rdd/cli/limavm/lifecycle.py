"""`rdd limavm list|create|start|stop|restart|delete`: LimaVMs for people
who run them directly.

A NAME is found in every namespace unless -n is given (LimaVM names are
unique across namespaces). Writes are read-modify-write retried on Conflict;
waits watch the LimaVM and print each condition change (rdd.cli.limavm.common).
What a wait waits for, and the rest of the pure parts, are in
rdd.cli.limavm.vms."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from rdd.cli.arguments import UsageError, parse_duration, parse_output
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.limavm.common import find_vm, named_flags, update_vm, wait_for
from rdd.cli.limavm.vms import (
    TEMPLATE_HELP,
    input_configmap_name,
    is_created,
    is_down,
    is_restarted,
    is_running_as_wanted,
    list_rows,
    managing_app,
    parse_template_source,
    read_template_file,
    seen_conditions,
    timeout_message,
)
from rdd.cli.output import name_form, no_resources_message, quoted_form
from rdd.cli.parsing import Words, namespace_flags, wait_flags
from rdd.cli.printing import render, render_table
from rdd.cli.waiting import State, wait_until
from rdd.clients import ResourceClient
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.conditions import ConditionType, now_rfc3339
from rdd.meta.names import RESTART_ANNOTATION, TEMPLATE_KEY
from rdd.meta.serialization import to_dict

# -- list ----------------------------------------------------------------------------------


async def list_vms(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    fmt = parse_output(args.output)
    namespace = args.namespace if args.namespace_given else ""
    listing = await conn.client(LIMAVM).list(namespace)
    objects = sorted(
        (to_dict(vm) for vm in listing.items),
        key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
    )
    if not objects:
        console.warn(no_resources_message(LIMAVM, namespace))
        return 0
    now = datetime.now(UTC)
    if fmt.kind in ("table", "wide"):
        console.write(render_table(list_rows(objects, now=now)))
    else:
        console.write(render(LIMAVM, objects, fmt, single=False, now=now))
    return 0


# -- create --------------------------------------------------------------------------------


async def _remove_input(cms: ResourceClient, made: Any, console: Console) -> None:
    meta = made.metadata
    try:
        await cms.delete(meta.name, meta.namespace, uid=meta.uid)
    except NotFoundError:
        pass
    except ApiError as error:
        console.warn(f"warning: {name_form(CONFIGMAP, meta.name)} was left behind: {error.message}")


async def create(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    parse_duration(args.timeout)
    source = parse_template_source(args.template, exists=os.path.exists)
    text = read_template_file(source.path, stdin=sys.stdin.buffer) if source.path else ""
    vms, cms = conn.client(LIMAVM), conn.client(CONFIGMAP)
    namespace = args.namespace
    made = None
    ref_name = source.configmap
    if source.path:
        cm = CONFIGMAP.new()
        cm.metadata.name = input_configmap_name(args.name)
        cm.metadata.namespace = namespace
        cm.data[TEMPLATE_KEY] = text
        made = await cms.create(cm)
        ref_name = made.metadata.name
    vm = LIMAVM.new()
    vm.metadata.name = args.name
    vm.metadata.namespace = namespace
    vm.spec.template_ref.name = ref_name
    vm.spec.template_ref.namespace = namespace
    vm.spec.running = args.start
    try:
        created = await vms.create(vm)
    finally:
        # Created or not, the LimaVM no longer needs it: on success it holds
        # its own copy (NAME-template, written in the same transaction).
        if made is not None:
            await _remove_input(cms, made, console)
    console.line(f"{name_form(LIMAVM, args.name)} created")
    if not args.wait:
        return 0
    generation = created.metadata.generation
    await wait_for(
        vms,
        created,
        lambda state: is_created(state, running=args.start, generation=generation),
        goal="created and running" if args.start else "created",
        timeout=args.timeout,
        console=console,
        seen={},
        generation=generation,
        awaited=ConditionType.RUNNING if args.start else ConditionType.CREATED,
    )
    return 0


# -- start / stop / restart ----------------------------------------------------------------


async def set_running(
    conn: Connection, args: argparse.Namespace, console: Console, *, running: bool
) -> int:
    parse_duration(args.timeout)
    client = conn.client(LIMAVM)
    vm = await find_vm(client, args)
    app = managing_app(to_dict(vm))
    if app is not None:
        verb = "start" if running else "stop"
        raise UsageError(
            f'{name_form(LIMAVM, args.name)} is managed by App "{app}": use "rdd {verb}" instead'
        )

    def change(updated: Any) -> bool:
        if updated.spec.running == running:
            return False
        updated.spec.running = running
        return True

    written, changed = await update_vm(client, vm, change)
    console.line(
        f"{name_form(LIMAVM, args.name)} {'patched' if changed else 'patched (no change)'}"
    )
    if not args.wait:
        return 0
    generation = written.metadata.generation
    await wait_for(
        client,
        written,
        lambda state: is_running_as_wanted(state, running=running, generation=generation),
        goal="running" if running else "stopped",
        timeout=args.timeout,
        console=console,
        seen=seen_conditions(to_dict(written)),
        generation=generation,
    )
    return 0


async def start(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    return await set_running(conn, args, console, running=True)


async def stop(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    return await set_running(conn, args, console, running=False)


async def restart(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    parse_duration(args.timeout)
    client = conn.client(LIMAVM)
    vm = await find_vm(client, args)
    if not vm.spec.running:
        raise UsageError(
            f"{name_form(LIMAVM, args.name)} is not running (spec.running is false): "
            f'start it with "rdd limavm start {args.name}"'
        )

    def change(updated: Any) -> bool:
        if RESTART_ANNOTATION in updated.metadata.annotations:
            return False  # already requested: wait for that one
        updated.metadata.annotations[RESTART_ANNOTATION] = now_rfc3339()
        return True

    written, _ = await update_vm(client, vm, change)
    console.line(f"{name_form(LIMAVM, args.name)} restart requested")
    if not args.wait:
        return 0
    state = to_dict(written)
    went_down = is_down(state)
    restarts_before = written.status.restart_count

    def restarted(state: dict[str, Any]) -> bool:
        nonlocal went_down
        went_down = went_down or is_down(state)
        return is_restarted(state, restarts_before=restarts_before, went_down=went_down)

    await wait_for(
        client,
        written,
        restarted,
        goal="restarted",
        timeout=args.timeout,
        console=console,
        seen=seen_conditions(state),
        generation=written.metadata.generation,
    )
    return 0


# -- delete --------------------------------------------------------------------------------


async def delete(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    """Admission refuses a LimaVM owned by the App: its Forbidden error is printed."""
    parse_duration(args.timeout)
    client = conn.client(LIMAVM)
    vm = await find_vm(client, args)
    name, uid = vm.metadata.name, vm.metadata.uid
    deleted = await client.delete(name, vm.metadata.namespace, uid=uid)
    console.line(f"{quoted_form(LIMAVM, name)} deleted")
    if not args.wait:
        return 0
    shown: tuple[str, ...] = ()
    last: dict[str, Any] | None = None

    def gone(state: State) -> bool:
        nonlocal shown, last
        if state is None or state.get("metadata", {}).get("uid") != uid:
            return True
        last = state
        finalizers = tuple(state.get("metadata", {}).get("finalizers", []))
        if finalizers and finalizers != shown:
            console.line(f"waiting for finalizers: {', '.join(finalizers)}")
        shown = finalizers
        return False

    if not deleted.metadata.finalizers:
        return 0
    try:
        await wait_until(
            client, name, vm.metadata.namespace, gone, timeout=parse_duration(args.timeout) or None
        )
    except TimeoutError:
        raise UsageError(timeout_message(name, "deleted", last, args.timeout)) from None
    return 0


#: What each waiting verb waits for (its --wait help).
UNTIL = {
    "start": "it is Running",
    "stop": "it is Stopped",
    "restart": "it is Running again",
    "delete": "it is gone",
}


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    if name == "list":
        namespace_flags(parser)
        parser.add_argument("-o", "--output", help="json|yaml|name (default: a table)")
        parser.set_defaults(run_async=list_vms)
    elif name == "create":
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("template", metavar="TEMPLATE", help=TEMPLATE_HELP)
        parser.add_argument("--start", action="store_true", help="create it running")
        namespace_flags(parser)
        wait_flags(parser, timeout="10m", what="it is created (and running, with --start)")
        parser.set_defaults(run_async=create)
    else:
        named_flags(parser, until=UNTIL[name])
        commands = {"start": start, "stop": stop, "restart": restart, "delete": delete}
        parser.set_defaults(run_async=commands[name])
