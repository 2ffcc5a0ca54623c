"""`rdd ctl diff -f FILE|FOLDER|-`: what `rdd ctl apply` would change, as a
unified diff of each object's YAML, live against merged, where merged is
what the server returns for the apply run as a server-side dry run (so
admission's changes, defaults and generation bumps show, as in kubectl).

kubectl's output and exit codes: per changed object a `diff -u -N
LIVE/<name> MERGED/<name>` header and the unified diff (an object that does
not exist yet diffs against nothing); exit 0 when nothing differs, 1 when
something does, 2 on any error (kubectl: >1)."""

from __future__ import annotations

import argparse
import difflib
from typing import Any

from google.protobuf.message import Message

from rdd.cli.applying import apply_result, read_manifests
from rdd.cli.arguments import UsageError
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.manifests import Manifest
from rdd.cli.output import to_yaml
from rdd.cli.parsing import Words, namespace_flags
from rdd.errors import NotFoundError
from rdd.meta.serialization import to_dict

#: kubectl's exit status for "the diff could not be made".
ERROR_EXIT = 2


def object_name(manifest: Manifest) -> str:
    """kubectl's file name for an object: `[group.]version.Kind.namespace.name`."""
    kind = manifest.kind
    group = f"{kind.group}." if kind.group else ""
    return f"{group}{kind.version}.{kind.kind}.{manifest.namespace}.{manifest.name}"


def shown(obj: dict[str, Any] | None) -> str:
    """The YAML an object is compared as; nothing for an absent object (pure)."""
    if obj is None:
        return ""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return to_yaml(obj)


def unified(name: str, live: str, merged: str) -> str:
    """`diff -u -N LIVE/name MERGED/name` of two texts, "" when equal (pure)."""
    if live == merged:
        return ""
    lines = difflib.unified_diff(
        live.splitlines(keepends=True),
        merged.splitlines(keepends=True),
        fromfile=f"LIVE/{name}",
        tofile=f"MERGED/{name}",
    )
    body = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return f"diff -u -N LIVE/{name} MERGED/{name}\n{body}"


async def _live(conn: Connection, manifest: Manifest) -> Message | None:
    namespace = manifest.namespace if manifest.kind.namespaced else ""
    try:
        return await conn.client(manifest.kind).get(manifest.name, namespace)
    except NotFoundError:
        return None


async def diff(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    manifests = read_manifests(args)
    if not manifests:
        raise UsageError("no objects passed to diff", exit_code=ERROR_EXIT)
    differs = False
    for manifest in manifests:
        live = await _live(conn, manifest)
        _, merged = await apply_result(conn.client(manifest.kind), manifest, dry_run="server")
        text = unified(
            object_name(manifest),
            shown(to_dict(live) if live is not None else None),
            shown(to_dict(merged) if merged is not None else None),
        )
        if text:
            differs = True
            console.write(text)
    return 1 if differs else 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument(
        "-f", "--filename", action="append", required=True, help="file, folder or - for stdin"
    )
    namespace_flags(parser)
    parser.set_defaults(run_async=diff, error_exit=ERROR_EXIT)
