"""JSON merge patch (RFC 7386) and kubectl apply's three-way merge (pure).

`merge_patch` is what `rdd ctl patch --type=merge` and `annotate` apply to an
object's dict. `apply_patch` is what `rdd ctl apply` sends: fields the
manifest sets win, fields it dropped since the last apply (recorded in the
last-applied annotation) are removed, fields others added are kept."""

from __future__ import annotations

import copy
import json
from typing import Any

from rdd.meta.loading import LoadError, load_json

#: kubectl's annotation, so objects applied by either tool carry one record.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

#: Metadata the server owns: never part of what a manifest asks for.
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "selfLink",
)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, null removes a key, anything else
    (lists included) replaces. Returns a new value; inputs are not changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def diff(original: dict[str, Any], modified: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that turns `original` into `modified`."""
    patch: dict[str, Any] = {key: None for key in original if key not in modified}
    for key, value in modified.items():
        old = original.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            sub = diff(old, value)
            if sub:
                patch[key] = sub
        elif key not in original or old != value:
            patch[key] = copy.deepcopy(value)
    return patch


def _only_deletions(patch: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in patch.items():
        if value is None:
            kept[key] = None
        elif isinstance(value, dict):
            sub = _only_deletions(value)
            if sub:
                kept[key] = sub
    return kept


def _without_deletions(patch: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in patch.items():
        if value is None:
            continue
        kept[key] = _without_deletions(value) if isinstance(value, dict) else value
    return kept


def three_way(
    original: dict[str, Any], modified: dict[str, Any], current: dict[str, Any]
) -> dict[str, Any]:
    """kubectl's CreateThreeWayJSONMergePatch: deletions come from what the
    last apply set (`original`) and this one (`modified`) no longer does;
    additions and changes from `current` -> `modified`."""
    deletions = _only_deletions(diff(original, modified))
    changes = _without_deletions(diff(current, modified))
    return merge_patch(deletions, changes) if deletions else changes


def desired(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a manifest asks for: no status, no server-owned metadata, no
    last-applied annotation of its own."""
    wanted = {k: copy.deepcopy(v) for k, v in manifest.items() if k != "status"}
    meta = wanted.get("metadata")
    if isinstance(meta, dict):
        for field in SERVER_METADATA:
            meta.pop(field, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                meta.pop("annotations")
    return wanted


def last_applied_text(wanted: dict[str, Any]) -> str:
    """The annotation's value, as kubectl writes it (sorted, compact, newline)."""
    return json.dumps(wanted, sort_keys=True, separators=(",", ":")) + "\n"


def last_applied(live: dict[str, Any]) -> dict[str, Any]:
    """The configuration recorded by the previous apply ({} when none)."""
    text = live.get("metadata", {}).get("annotations", {}).get(LAST_APPLIED, "")
    try:
        recorded = load_json(text) if text else {}
    except LoadError:
        return {}
    return recorded if isinstance(recorded, dict) else {}


def with_annotation(obj: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return merge_patch(obj, {"metadata": {"annotations": {key: value}}})


def apply_patch(live: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The object `rdd ctl apply` writes over `live` (status left out: the
    update call ignores it). Equal to `live` minus status when nothing changes."""
    wanted = desired(manifest)
    current = {k: v for k, v in live.items() if k != "status"}
    patch = three_way(last_applied(live), wanted, current)
    patched = merge_patch(current, patch)
    return with_annotation(patched, LAST_APPLIED, last_applied_text(wanted))
