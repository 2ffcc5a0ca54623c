"""What a create, update, status update or delete turns an object into (pure).

These are the API server's rules: server-managed metadata, generation on
spec change, finalizer-gated deletion, immutable identity. No I/O here; the
registry reads the old object, calls one of these, and commits the result.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from rdd.errors import InvalidError
from rdd.kinds import Kind
from rdd.meta.names import (
    ANNOTATIONS_MAX_BYTES,
    annotations_size,
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    qualified_name_error,
)


def new_uid() -> str:
    return str(uuid.uuid4())


def validate_object(kind: Kind, obj: Any) -> None:
    """Schema rules every object obeys before admission sees it: name,
    namespace, apiVersion/kind, required fields (InvalidError, nothing written)."""
    meta = obj.metadata
    if not meta.name:
        raise InvalidError(f"{kind.kind}: metadata.name: Required value: name is required")
    invalid = f"The {kind.kind} {_quoted(meta.name)} is invalid"
    problem = dns1123_subdomain_error(meta.name)
    if problem:
        raise InvalidError(
            f"{invalid}: metadata.name: Invalid value: {_quoted(meta.name)}: {problem}"
        )
    if kind.namespaced:
        problem = dns1123_label_error(meta.namespace)
        if problem:
            raise InvalidError(
                f"{invalid}: metadata.namespace: Invalid value: {_quoted(meta.namespace)}: "
                f"{problem}"
            )
    elif meta.namespace:
        raise InvalidError(
            f"{invalid}: metadata.namespace: Forbidden: not allowed on a cluster-scoped resource"
        )
    if obj.api_version != kind.api_version or obj.kind != kind.kind:
        raise InvalidError(
            f'{kind.kind} "{meta.name}": apiVersion/kind must be {kind.api_version}/{kind.kind}, '
            f"got {obj.api_version or '<empty>'}/{obj.kind or '<empty>'}"
        )
    problems = metadata_problems(meta) + _required_problems(kind, obj)
    if problems:
        raise InvalidError(f"{invalid}: {', '.join(problems)}")


def metadata_problems(meta: Any) -> list[str]:
    """Kubernetes' ValidateObjectMeta for labels and annotations: keys are
    qualified names, label values valid label values, annotations at most
    256 KiB together. Each problem names its field, as the API server does. Pure."""
    problems = []
    for key, value in sorted(meta.labels.items()):
        problem = qualified_name_error(key)
        if problem:
            problems.append(f"metadata.labels: Invalid value: {_quoted(key)}: {problem}")
        problem = label_value_error(value)
        if problem:
            problems.append(f"metadata.labels: Invalid value: {_quoted(value)}: {problem}")
    for key in sorted(meta.annotations):
        # Kubernetes checks annotation keys lower-cased: upper case is allowed there.
        problem = qualified_name_error(key.lower())
        if problem:
            problems.append(f"metadata.annotations: Invalid value: {_quoted(key)}: {problem}")
    size = annotations_size(meta.annotations)
    if size > ANNOTATIONS_MAX_BYTES:
        problems.append(
            f"metadata.annotations: Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"
        )
    return problems


def _quoted(value: str) -> str:
    """A value in a message the way Go's %q shows it (a newline or NUL visible),
    cut short when long so one bad key cannot make a megabyte message."""
    shown = json.dumps(value[:_SHOWN_MAX], ensure_ascii=False)
    return shown if len(value) <= _SHOWN_MAX else f'{shown[:-1]}..."'


_SHOWN_MAX = 100


def _required_problems(kind: Kind, obj: Any) -> list[str]:
    missing = []
    for proto_path, json_path in kind.required:
        value = obj
        for part in proto_path.split("."):
            value = getattr(value, part)
        if not value:
            missing.append(f"{json_path}: Required value")
    return missing


def prepare_create(kind: Kind, obj: Any, *, now: str) -> Any:
    """A copy with server-managed metadata set: uid (kept when the server
    pre-assigned one), generation 1, creationTimestamp; status cleared."""
    new = kind.message()
    new.CopyFrom(obj)
    meta = new.metadata
    meta.uid = meta.uid or new_uid()
    meta.resource_version = ""
    meta.generation = 1
    meta.creation_timestamp = now
    meta.deletion_timestamp = ""
    if kind.has_status:
        new.ClearField("status")
    return new


def spec_changed(kind: Kind, old: Any, new: Any) -> bool:
    return any(getattr(old, f) != getattr(new, f) for f in kind.spec_fields)


def _check_same_identity(kind: Kind, old: Any, new: Any) -> None:
    for field in ("uid", "name", "namespace"):
        wanted = getattr(new.metadata, field)
        if wanted and wanted != getattr(old.metadata, field):
            raise InvalidError(
                f"{kind.named(old.metadata.name)} is invalid: metadata.{field}: "
                f'Invalid value: "{wanted}": field is immutable'
            )


def _check_finalizers(kind: Kind, old: Any, new: Any) -> None:
    if not old.metadata.deletion_timestamp:
        return
    added = set(new.metadata.finalizers) - set(old.metadata.finalizers)
    if added:
        raise InvalidError(
            f"{kind.named(old.metadata.name)} is invalid: metadata.finalizers: Forbidden: "
            "no new finalizers can be added if the object is being deleted, found new "
            f"finalizers {sorted(added)}"
        )


def check_update(kind: Kind, old: Any, new: Any) -> None:
    """InvalidError when `new` cannot replace `old` at all: a changed identity,
    or finalizers added to a deleting object (checked before admission)."""
    _check_same_identity(kind, old, new)
    _check_finalizers(kind, old, new)


def merge_update(kind: Kind, old: Any, new: Any) -> Any:
    """Update: metadata (less server-managed fields) and spec from `new`,
    status from `old`; generation bumps when spec changed."""
    check_update(kind, old, new)
    merged = kind.message()
    merged.CopyFrom(new)
    server_meta = old.metadata
    meta = merged.metadata
    meta.name = server_meta.name
    meta.namespace = server_meta.namespace
    meta.uid = server_meta.uid
    meta.creation_timestamp = server_meta.creation_timestamp
    meta.deletion_timestamp = server_meta.deletion_timestamp
    meta.resource_version = server_meta.resource_version
    meta.generation = server_meta.generation + (1 if spec_changed(kind, old, new) else 0)
    merged.api_version = kind.api_version
    merged.kind = kind.kind
    if kind.has_status:
        merged.status.CopyFrom(old.status)
    return merged


def merge_status(kind: Kind, old: Any, new: Any) -> Any:
    """UpdateStatus: everything from `old` but status."""
    if not kind.has_status:
        raise InvalidError(f"{kind.resource} has no status")
    _check_same_identity(kind, old, new)
    merged = kind.message()
    merged.CopyFrom(old)
    merged.status.CopyFrom(new.status)
    return merged


def mark_deleting(kind: Kind, old: Any, *, now: str) -> Any:
    """Delete of an object with finalizers: deletionTimestamp set once,
    generation bumped (as Kubernetes does)."""
    marked = kind.message()
    marked.CopyFrom(old)
    if not marked.metadata.deletion_timestamp:
        marked.metadata.deletion_timestamp = now
        marked.metadata.generation += 1
    return marked


def is_gone(obj: Any) -> bool:
    """A deleting object with no finalizers left leaves the store in this write."""
    return bool(obj.metadata.deletion_timestamp) and not obj.metadata.finalizers
