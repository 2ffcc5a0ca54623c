"""`rdd ctl patch --type=merge` and `rdd ctl annotate`: read the object,
apply a JSON merge patch to its dict, write it back with the resourceVersion
read (a compare-and-swap), and on Conflict read again and retry. A patch
that carries its own metadata.resourceVersion is not retried: stale is stale."""

from __future__ import annotations

import argparse
from typing import Any

from rdd.cli.arguments import UsageError, check_writable, one_object, parse_annotations
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.mergepatch import merge_patch
from rdd.cli.output import dry_run_suffix, name_form
from rdd.clients import ResourceClient
from rdd.errors import ConflictError, InvalidError
from rdd.meta.loading import LoadError, load_json
from rdd.meta.serialization import from_dict, to_dict

CONFLICT_RETRIES = 5


def parse_patch(text: str) -> dict[str, Any]:
    """The -p argument: a JSON object, nested no deeper than the loader allows (pure)."""
    try:
        patch = load_json(text)
    except LoadError as exc:
        raise UsageError(f'unable to parse "{_shown(text)}": {exc}') from None
    if not isinstance(patch, dict):
        raise UsageError(f'unable to parse "{_shown(text)}": a merge patch must be a JSON object')
    return patch


def _shown(text: str) -> str:
    """The patch as echoed in an error: a long one cut short."""
    return text if len(text) <= 200 else f"{text[:200]}..."


def namespace_for(client: ResourceClient, namespace: str) -> str:
    return namespace if client.kind.namespaced else ""


async def patch_object(
    client: ResourceClient, name: str, namespace: str, patch: dict[str, Any], *, dry_run: str
) -> bool:
    """Merge `patch` into the object; False when it changed nothing (no write)."""
    pinned = str(patch.get("metadata", {}).get("resourceVersion") or "")
    conflict: ConflictError | None = None
    for _ in range(CONFLICT_RETRIES):
        live = await client.get(name, namespace_for(client, namespace))
        current = {k: v for k, v in to_dict(live).items() if k != "status"}
        patched = merge_patch(current, {k: v for k, v in patch.items() if k != "status"})
        if patched == current and (not pinned or pinned == live.metadata.resource_version):
            return False
        if dry_run == "client":
            return True
        try:
            obj = from_dict(client.kind, patched)
        except InvalidError as exc:
            raise UsageError(exc.message) from None
        obj.metadata.resource_version = pinned or live.metadata.resource_version  # type: ignore[attr-defined]
        try:
            await client.update(obj, dry_run=dry_run == "server")
        except ConflictError as exc:
            if pinned:
                raise
            conflict = exc
            continue
        return True
    assert conflict is not None
    raise conflict


async def patch(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, name = one_object(args.resource)
    check_writable(kind)
    if args.type != "merge":
        raise UsageError(f'--type "{args.type}" is not supported: use --type=merge')
    body = parse_patch(args.patch)
    changed = await patch_object(
        conn.client(kind), name, args.namespace, body, dry_run=args.dry_run
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
    existing = dict(live.metadata.annotations)  # type: ignore[attr-defined]
    body = annotation_patch(changes, existing, overwrite=args.overwrite)
    await patch_object(client, name, args.namespace, body, dry_run=args.dry_run)
    console.line(f"{name_form(kind, name)} annotated{dry_run_suffix(args.dry_run)}")
    return 0
