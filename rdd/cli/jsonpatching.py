"""JSON Patch (RFC 6902) for `rdd ctl patch --type=json` (pure), applied
with the `jsonpatch` library one operation at a time, so a failure names
the operation and its path in the words kubectl users know from
Kubernetes' own JSON patch library (`jsonpatch replace operation does not
apply: doc is missing path: /spec/x`)."""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from rdd.cli.arguments import UsageError

OPS = ("add", "remove", "replace", "move", "copy", "test")
EXAMPLE = '[{"op": "replace", "path": "/spec/running", "value": true}]'


def check_operations(patch: Any) -> list[dict[str, Any]]:
    """The operations of a parsed patch, each with a known `op` and a
    well-formed `path` (and `from` for move and copy)."""
    if not isinstance(patch, list):
        raise UsageError(f"a JSON patch must be a list of operations, e.g. {EXAMPLE}")
    for index, operation in enumerate(patch):
        if not isinstance(operation, dict):
            raise UsageError(f"invalid JSON patch operation {index}: not an object")
        op = operation.get("op")
        if op not in OPS:
            raise UsageError(
                f'invalid JSON patch operation {index}: unknown op "{op}": use '
                f"{', '.join(OPS[:-1])} or {OPS[-1]}"
            )
        pointers = ("path", "from") if op in ("move", "copy") else ("path",)
        for member in pointers:
            if not isinstance(operation.get(member), str):
                raise UsageError(f"invalid JSON patch operation {index}: {op} needs a {member!r}")
            try:
                jsonpointer.JsonPointer(operation[member])
            except jsonpointer.JsonPointerException as exc:
                raise UsageError(
                    f'invalid JSON patch operation {index}: {member} "{operation[member]}": {exc}'
                ) from None
        if op in ("add", "replace", "test") and "value" not in operation:
            raise UsageError(f"invalid JSON patch operation {index}: {op} needs a 'value'")
    return patch


def apply_json_patch(document: dict[str, Any], patch: Any) -> dict[str, Any]:
    """`document` with every operation applied, in order (a new dict); the
    first that does not apply is a UsageError, and nothing is changed."""
    result: Any = document
    for operation in check_operations(patch):
        result = _apply_one(result, operation)
    if not isinstance(result, dict):
        raise UsageError("the JSON patch replaced the object with something that is not one")
    return result


def _apply_one(document: Any, operation: dict[str, Any]) -> Any:
    op, path = operation["op"], operation["path"]
    missing = f"jsonpatch {op} operation does not apply: doc is missing path: {path}"
    if op in ("move", "copy"):
        source = operation["from"]
        if jsonpointer.resolve_pointer(document, source, default=_ABSENT) is _ABSENT:
            raise UsageError(
                f"jsonpatch {op} operation does not apply: doc is missing from path: {source}"
            )
    try:
        return jsonpatch.JsonPatch([operation]).apply(document, in_place=False)
    except jsonpatch.JsonPatchTestFailed:
        raise UsageError(f"testing value {path} failed: test failed") from None
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
        if isinstance(exc, jsonpatch.JsonPatchConflict) and not isinstance(
            exc, jsonpatch.JsonPatchPathNotFound
        ):
            raise UsageError(f"jsonpatch {op} operation does not apply: {exc}: {path}") from None
        raise UsageError(missing) from None
    except jsonpatch.JsonPatchException as exc:
        raise UsageError(f"invalid JSON patch operation: {exc}") from None


_ABSENT = object()
