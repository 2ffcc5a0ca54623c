"""`rdd ctl label KIND NAME k=v... [k-...] [--overwrite]`: set or remove
labels with a merge patch (rdd.cli.patching's compare-and-swap and retry).

kubectl's rules and messages: keys and values are checked as Kubernetes
checks them before anything is sent; changing a label that has another
value needs `--overwrite` (`'k' already has a value (v), and --overwrite is
false`); removing a label the object does not have says `label "k" not
found.`; the result line is `kind/name labeled`, `unlabeled` or `not labeled`."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from rdd.cli.arguments import UsageError, check_writable, one_object
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.output import dry_run_suffix, name_form
from rdd.cli.parsing import Words, dry_run_flag, namespace_flags
from rdd.cli.patching import namespace_for, patch_object
from rdd.meta.names import label_value_error, qualified_name_error


@dataclass(frozen=True)
class LabelChanges:
    """What the command line asks for: labels to set, keys to remove."""

    set: dict[str, str]
    remove: tuple[str, ...]


def split_words(words: list[str]) -> tuple[list[str], list[str]]:
    """(KIND NAME words, label words): labels start at the first `k=v` or `k-`."""
    split = next((i for i, w in enumerate(words) if "=" in w or w.endswith("-")), len(words))
    return words[:split], words[split:]


def parse_labels(specs: list[str]) -> LabelChanges:
    """kubectl's parseLabels (pure): `k=v` sets, `k-` removes; keys and
    values validated as the API server validates them."""
    labels: dict[str, str] = {}
    remove: list[str] = []
    for spec in specs:
        if "=" in spec:
            parts = spec.split("=")
            if len(parts) != 2:
                raise UsageError(f"invalid label spec: {spec}")
            key, value = parts
            key_error = qualified_name_error(key)
            if key_error:
                raise UsageError(f"invalid label spec: {spec}, {key_error}")
            value_error = label_value_error(value)
            if value_error:
                raise UsageError(f'invalid label value: "{spec}": {value_error}')
            labels[key] = value
        elif spec.endswith("-") and len(spec) > 1:
            remove.append(spec[:-1])
        else:
            raise UsageError(f"unknown label spec: {spec}")
    if not labels and not remove:
        raise UsageError("at least one label update is required")
    if any(key in labels for key in remove):
        raise UsageError("can not both modify and remove a label in the same command")
    return LabelChanges(labels, tuple(remove))


def overwrite_refusals(changes: LabelChanges, existing: dict[str, str]) -> list[str]:
    """The keys that already have another value, in kubectl's words (pure)."""
    return [
        f"'{key}' already has a value ({existing[key]}), and --overwrite is false"
        for key, value in changes.set.items()
        if key in existing and existing[key] != value
    ]


def relabeled(changes: LabelChanges, existing: dict[str, str]) -> dict[str, str]:
    """The labels after the changes (pure)."""
    labels = {k: v for k, v in existing.items() if k not in changes.remove}
    labels.update(changes.set)
    return labels


def outcome(before: dict[str, str], after: dict[str, str], *, overwrite: bool) -> str:
    """kubectl's updateDataChangeMsg (pure): `not labeled` when nothing
    changes; `unlabeled` when, without --overwrite, the object got smaller
    (kubectl compares the JSON's length); `labeled` otherwise."""
    if before == after:
        return "not labeled"
    if not overwrite and len(json.dumps(after)) < len(json.dumps(before)):
        return "unlabeled"
    return "labeled"


def label_patch(changes: LabelChanges) -> dict[str, Any]:
    labels: dict[str, str | None] = {key: None for key in changes.remove}
    labels.update(changes.set)
    return {"metadata": {"labels": labels}}


async def label(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    resource, specs = split_words(list(args.args))
    changes = parse_labels(specs)
    kind, name = one_object(resource)
    check_writable(kind)
    client = conn.client(kind)
    live = await client.get(name, namespace_for(client, args.namespace))
    existing = dict(live.metadata.labels)
    if not args.overwrite:
        refusals = overwrite_refusals(changes, existing)
        if refusals:
            raise UsageError(refusals[0] if len(refusals) == 1 else f"[{', '.join(refusals)}]")
    for key in changes.remove:
        if key not in existing:
            console.line(f'label "{key}" not found.')
    after = relabeled(changes, existing)
    if after != existing:
        await patch_object(client, name, args.namespace, label_patch(changes), dry_run=args.dry_run)
    verb = outcome(existing, after, overwrite=args.overwrite)
    console.line(f"{name_form(kind, name)} {verb}{dry_run_suffix(args.dry_run)}")
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("args", nargs="+", metavar="KIND NAME KEY=VALUE|KEY-")
    parser.add_argument("--overwrite", action="store_true", help="replace existing values")
    namespace_flags(parser)
    dry_run_flag(parser)
    parser.set_defaults(run_async=label, rest="args")
