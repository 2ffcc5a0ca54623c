"""`rdd ctl apply -f FILE|DIR|-`: create what is missing, update what
differs (kubectl's three-way merge with the last-applied annotation), leave
the rest unchanged, one `kind/name created|configured|unchanged` line each.

All documents are parsed and checked before anything is written. A manifest
that carries metadata.resourceVersion is a compare-and-swap against it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from rdd.cli.arguments import UsageError
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.manifests import Manifest, load_manifests, read_file
from rdd.cli.mergepatch import (
    LAST_APPLIED,
    apply_patch,
    desired,
    last_applied_text,
    with_annotation,
)
from rdd.cli.output import dry_run_suffix, name_form
from rdd.cli.parsing import Words, dry_run_flag, namespace_flags
from rdd.clients import CREATED, UNCHANGED, UPDATED, ResourceClient, create_or_update
from rdd.errors import ApiError, ConflictError, InvalidError
from rdd.meta.loading import LoadError, read_text
from rdd.meta.serialization import from_dict, to_dict
from rdd.retry import CONFLICT_ATTEMPTS

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def read_sources(path: str) -> list[tuple[str, str]]:
    """(text, source name) for `-`, a file, or each manifest file of a folder."""
    if path == "-":
        try:
            return [(read_text(sys.stdin.buffer), "STDIN")]
        except (OSError, LoadError) as exc:
            raise UsageError(f"error reading STDIN: {exc}") from None
    target = Path(path)
    if target.is_dir():
        try:
            files = sorted(p for p in target.iterdir() if p.suffix in _MANIFEST_SUFFIXES)
        except OSError as exc:
            raise UsageError(f"error reading {path}: {exc}") from None
        return [(read_file(p, f"error reading {p}"), str(p)) for p in files]
    if not target.exists():
        raise UsageError(f'the path "{path}" does not exist')
    return [(read_file(target, f"error reading {path}"), path)]


def stale_message(manifest: Manifest) -> str:
    return (
        f"Operation cannot be fulfilled on {manifest.kind.named(manifest.name)}: the object "
        f'does not exist; the manifest\'s resourceVersion "{manifest.resource_version}" is stale'
    )


async def apply_one(client: ResourceClient, manifest: Manifest, *, dry_run: str) -> str:
    """created, configured or unchanged."""
    verb, _ = await apply_result(client, manifest, dry_run=dry_run)
    return verb


class _WouldWrite(Exception):
    """`--dry-run=client`: the write apply would make, instead of making it."""

    def __init__(self, verb: str) -> None:
        super().__init__(verb)
        self.verb = verb


#: kubectl's words for what rdd.clients.create_or_update did.
_VERBS = {CREATED: "created", UPDATED: "configured", UNCHANGED: "unchanged"}


async def apply_result(
    client: ResourceClient, manifest: Manifest, *, dry_run: str
) -> tuple[str, Message | None]:
    """(created|configured|unchanged, the object as the server returned or
    would store it: the live one when unchanged, None on a client dry run).
    A pinned resourceVersion is not read again on Conflict: stale is stale."""
    namespace = manifest.namespace if manifest.kind.namespaced else ""
    pinned = manifest.resource_version

    def build() -> Message:
        if pinned:
            raise ConflictError(stale_message(manifest))
        if dry_run == "client":
            raise _WouldWrite("created")
        wanted = desired(manifest.data)
        return _parse(manifest, with_annotation(wanted, LAST_APPLIED, last_applied_text(wanted)))

    def mutate(live: Any) -> Message | None:
        live_dict = to_dict(live)
        current = {k: v for k, v in live_dict.items() if k != "status"}
        updated = apply_patch(live_dict, manifest.data)
        live_version = live.metadata.resource_version
        if updated == current and (not pinned or pinned == live_version):
            return None
        if dry_run == "client":
            raise _WouldWrite("configured")
        obj: Any = _parse(manifest, updated)
        obj.metadata.resource_version = pinned or live_version
        return obj

    try:
        verb, obj = await create_or_update(
            client,
            manifest.name,
            namespace,
            build=build,
            mutate=mutate,
            dry_run=dry_run == "server",
            attempts=1 if pinned else CONFLICT_ATTEMPTS,
        )
    except _WouldWrite as planned:
        return planned.verb, None
    return _VERBS[verb], obj


def _parse(manifest: Manifest, data: dict[str, object]) -> Message:
    try:
        return from_dict(manifest.kind, data)
    except InvalidError as exc:
        raise UsageError(f'error validating "{manifest.source}": {exc.message}') from None


def read_manifests(args: argparse.Namespace) -> list[Manifest]:
    """Every object of the `-f` files, parsed and checked (`-n` settles
    namespaces the manifests leave open)."""
    namespace = args.namespace if args.namespace_given else None
    manifests: list[Manifest] = []
    for path in args.filename:
        for text, source in read_sources(path):
            manifests.extend(load_manifests(text, source, namespace=namespace))
    return manifests


async def apply(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    manifests = read_manifests(args)
    if not manifests:
        raise UsageError("no objects passed to apply")
    failed = False
    for manifest in manifests:
        try:
            verb = await apply_one(conn.client(manifest.kind), manifest, dry_run=args.dry_run)
        except ApiError as error:
            console.api_error(error)
            failed = True
            continue
        console.line(
            f"{name_form(manifest.kind, manifest.name)} {verb}{dry_run_suffix(args.dry_run)}"
        )
    return 1 if failed else 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument(
        "-f", "--filename", action="append", required=True, help="file, folder or - for stdin"
    )
    namespace_flags(parser)
    dry_run_flag(parser)
    parser.set_defaults(run_async=apply)
