"""`rdd ctl patch` (`--type=merge`, RFC 7386, or `--type=json`, RFC 6902;
the patch from `-p` or `--patch-file`, JSON or YAML as kubectl reads it)
and `rdd ctl annotate`: read the object, patch its dict, write it back with
the resourceVersion read (a compare-and-swap), and on Conflict read again
and retry. A patch that sets metadata.resourceVersion is not retried: stale
is stale. A patch that does not parse or apply is an error before anything
is written."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdd.cli.arguments import UsageError, check_writable, one_object, parse_annotations
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.jsonpatching import apply_json_patch
from rdd.cli.mergepatch import merge_patch
from rdd.cli.output import dry_run_suffix, name_form
from rdd.cli.parsing import Words, dry_run_flag, namespace_flags
from rdd.clients import ResourceClient
from rdd.errors import ConflictError, InvalidError
from rdd.meta.loading import LoadError, load_yaml
from rdd.meta.serialization import from_dict, to_dict
from rdd.retry import retry_on_conflict

PATCH_TYPES = ("json", "merge")

#: Turns the object's dict (status included) into the patched dict.
Transform = Callable[[dict[str, Any]], dict[str, Any]]


def parse_patch(text: str, patch_type: str = "merge") -> Any:
    """The patch as kubectl reads it (pure): YAML or JSON, bounded by the safe
    loader (size, nesting, aliases); a merge patch is an object, a JSON patch
    a list of operations (checked when applied)."""
    try:
        patch = load_yaml(text)
    except LoadError as exc:
        raise UsageError(f'unable to parse "{_shown(text)}": {exc}') from None
    if patch_type == "merge" and not isinstance(patch, dict):
        raise UsageError(f'unable to parse "{_shown(text)}": a merge patch must be a JSON object')
    return patch


def _shown(text: str) -> str:
    """The patch as echoed in an error: a long one cut short."""
    return text if len(text) <= 200 else f"{text[:200]}..."


def read_patch(args: argparse.Namespace) -> str:
    """The patch text from `-p` or `--patch-file` (exactly one of them)."""
    if args.patch is not None and args.patch_file is not None:
        raise UsageError("both patch and patch-file cannot be specified")
    if args.patch_file is not None:
        try:
            return Path(args.patch_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"unable to read patch file: {exc}") from None
    if not args.patch:
        raise UsageError("must specify patch or patch-file containing the operations to apply")
    return str(args.patch)


def namespace_for(client: ResourceClient, namespace: str) -> str:
    return namespace if client.kind.namespaced else ""


def merge_transform(patch: dict[str, Any]) -> Transform:
    """A merge patch; status is left alone (the status subresource owns it)."""

    def transform(document: dict[str, Any]) -> dict[str, Any]:
        return merge_patch(document, {k: v for k, v in patch.items() if k != "status"})

    return transform


def json_transform(patch: Any) -> Transform:
    def transform(document: dict[str, Any]) -> dict[str, Any]:
        return apply_json_patch(document, patch)

    return transform


async def patch_object(
    client: ResourceClient, name: str, namespace: str, patch: dict[str, Any], *, dry_run: str
) -> bool:
    """Merge `patch` into the object; False when it changed nothing (no write)."""
    return await transform_object(client, name, namespace, merge_transform(patch), dry_run=dry_run)


class _Stale(Exception):
    """A Conflict on the resourceVersion the patch itself sets: not retried."""

    def __init__(self, error: ConflictError) -> None:
        super().__init__(error.message)
        self.error = error


async def transform_object(
    client: ResourceClient, name: str, namespace: str, transform: Transform, *, dry_run: str
) -> bool:
    """Write `transform(object)` over the object; False when that changes
    nothing but status (no write: the update would ignore status anyway)."""

    async def attempt() -> bool:
        live = await client.get(name, namespace_for(client, namespace))
        document = to_dict(live)
        current = {k: v for k, v in document.items() if k != "status"}
        patched = {k: v for k, v in transform(document).items() if k != "status"}
        live_version = live.metadata.resource_version
        wanted = str(patched.get("metadata", {}).get("resourceVersion") or "")
        pinned = wanted if wanted != live_version else ""
        if patched == current and not pinned:
            return False
        if dry_run == "client":
            return True
        try:
            obj = from_dict(client.kind, patched)
        except InvalidError as exc:
            raise UsageError(exc.message) from None
        obj.metadata.resource_version = pinned or live_version
        try:
            await client.update(obj, dry_run=dry_run == "server")
        except ConflictError as exc:
            if pinned:
                raise _Stale(exc) from None
            raise
        return True

    try:
        return await retry_on_conflict(attempt)
    except _Stale as stale:
        raise stale.error from None


async def patch(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, name = one_object(args.resource)
    check_writable(kind)
    if args.type not in PATCH_TYPES:
        raise UsageError(f'--type must be one of [{" ".join(PATCH_TYPES)}], not "{args.type}"')
    body = parse_patch(read_patch(args), args.type)
    transform = json_transform(body) if args.type == "json" else merge_transform(body)
    changed = await transform_object(
        conn.client(kind), name, args.namespace, transform, dry_run=args.dry_run
    )
    verb = "patched" if changed else "patched (no change)"
    console.line(f"{name_form(kind, name)} {verb}{dry_run_suffix(args.dry_run)}")
    return 0


def annotation_patch(
    changes: dict[str, str | None], existing: dict[str, str], *, overwrite: bool
) -> dict[str, Any]:
    """The merge patch for `annotate` (pure); without --overwrite a key that
    already has a different value is an error, as in kubectl."""
    if not overwrite:
        taken = [
            f"'{key}' already has a value ({existing[key]})"
            for key, value in changes.items()
            if value is not None and key in existing and existing[key] != value
        ]
        if taken:
            raise UsageError(
                "--overwrite is false but found the following declared annotation(s): "
                + "; ".join(taken)
            )
    return {"metadata": {"annotations": dict(changes)}}


async def annotate(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    words = list(args.args)
    split = next((i for i, w in enumerate(words) if "=" in w or w.endswith("-")), len(words))
    kind, name = one_object(words[:split])
    check_writable(kind)
    changes = parse_annotations(words[split:])
    client = conn.client(kind)
    live = await client.get(name, namespace_for(client, args.namespace))
    existing = dict(live.metadata.annotations)
    body = annotation_patch(changes, existing, overwrite=args.overwrite)
    await patch_object(client, name, args.namespace, body, dry_run=args.dry_run)
    console.line(f"{name_form(kind, name)} annotated{dry_run_suffix(args.dry_run)}")
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    """`patch` and `annotate`."""
    if name == "annotate":
        parser.add_argument("args", nargs="+", metavar="KIND NAME KEY=VALUE|KEY-")
        parser.add_argument("--overwrite", action="store_true", help="replace existing values")
        namespace_flags(parser)
        dry_run_flag(parser)
        parser.set_defaults(run_async=annotate, rest="args")
        return
    parser.add_argument("resource", nargs="+", metavar="KIND NAME")
    parser.add_argument(
        "--type", default="merge", help="merge (RFC 7386, the default) or json (RFC 6902)"
    )
    parser.add_argument(
        "-p", "--patch", help="the patch: a JSON (or YAML) object, or list for json"
    )
    parser.add_argument("--patch-file", metavar="FILE", help="read the patch from FILE")
    namespace_flags(parser)
    dry_run_flag(parser)
    parser.set_defaults(run_async=patch, rest="resource")
