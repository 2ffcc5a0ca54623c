"""`rdd limavm list|create|start|stop|restart|delete|logs|shell`: LimaVMs
for people who run them directly (`rdd limavm edit` is in rdd.cli.editing).

A NAME is found in every namespace unless -n is given (LimaVM names are
unique across namespaces). Writes are read-modify-write retried on Conflict;
waits watch the LimaVM (rdd.cli.waiting), print each condition change, and
fail with a message naming the last state seen when they time out. What a
wait waits for, and the rest of the pure parts, are in rdd.cli.vms."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.cli.arguments import UsageError, parse_duration, parse_output
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.output import name_form, no_resources_message, quoted_form, render, render_table
from rdd.cli.setting import Seen, condition_changes
from rdd.cli.vms import (
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
    shell_invocation,
    timeout_message,
)
from rdd.cli.waiting import State, wait_until
from rdd.clients import ResourceClient
from rdd.errors import ApiError, ConflictError, NotFoundError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.conditions import now_rfc3339
from rdd.meta.finalizers import is_deleting
from rdd.meta.names import RESTART_ANNOTATION, TEMPLATE_KEY
from rdd.meta.serialization import to_dict

CONFLICT_RETRIES = 5

# -- shared -----------------------------------------------------------------------------


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
    conflict: ConflictError | None = None
    for _ in range(CONFLICT_RETRIES):
        if is_deleting(vm):
            raise UsageError(f"{name_form(LIMAVM, vm.metadata.name)} is being deleted")
        updated = _copy(vm)
        if not change(updated):
            return vm, False
        try:
            return await client.update(updated), True
        except ConflictError as exc:
            conflict = exc
            vm = await client.get(vm.metadata.name, vm.metadata.namespace)
    assert conflict is not None
    raise conflict


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
) -> dict[str, Any]:
    """Watch `vm` until `done`, printing each condition change written for
    `generation` or later (those in `seen` are not news)."""
    name, uid = vm.metadata.name, vm.metadata.uid
    last: dict[str, Any] | None = None

    def check(state: State) -> bool:
        nonlocal seen, last
        if state is None or state.get("metadata", {}).get("uid") != uid:
            raise UsageError(f"{name_form(LIMAVM, name)} was deleted while waiting")
        last = state
        lines, seen = condition_changes(state, seen, generation=generation)
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
        cm.metadata.name = input_configmap_name(args.name)  # type: ignore[attr-defined]
        cm.metadata.namespace = namespace  # type: ignore[attr-defined]
        cm.data[TEMPLATE_KEY] = text  # type: ignore[attr-defined]
        made = await cms.create(cm)
        ref_name = made.metadata.name
    vm = LIMAVM.new()
    vm.metadata.name = args.name  # type: ignore[attr-defined]
    vm.metadata.namespace = namespace  # type: ignore[attr-defined]
    vm.spec.template_ref.name = ref_name  # type: ignore[attr-defined]
    vm.spec.template_ref.namespace = namespace  # type: ignore[attr-defined]
    vm.spec.running = args.start  # type: ignore[attr-defined]
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


# -- logs ----------------------------------------------------------------------------------


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
