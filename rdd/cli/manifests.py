"""Manifests for `rdd ctl apply` (pure): multi-document YAML (or JSON) split
into objects, `List` documents expanded, kinds resolved and checked
client-side, namespaces settled the way kubectl settles them."""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdd.cli.arguments import UsageError, check_writable
from rdd.errors import InvalidError
from rdd.kinds import Kind, UnknownKindError, kind_for
from rdd.meta.loading import LoadError, load_yaml_documents, read_text
from rdd.meta.names import DEFAULT_NAMESPACE
from rdd.meta.serialization import from_dict


@dataclass(frozen=True)
class Manifest:
    """One object to apply: its kind and its document (namespace settled)."""

    kind: Kind
    data: dict[str, Any]
    source: str

    @property
    def name(self) -> str:
        return str(self.data.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.data.get("metadata", {}).get("namespace", ""))

    @property
    def resource_version(self) -> str:
        return str(self.data.get("metadata", {}).get("resourceVersion") or "")


def _plain(value: Any) -> Any:
    """YAML timestamps stay strings, as they are in JSON; keys become strings.
    (The loader has bounded the nesting and refused self-containing aliases.)"""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return stamp.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def read_file(path: Path, error_prefix: str) -> str:
    """A file's text within the loader's size limit; unreadable, too large or
    not UTF-8 is the UsageError `<error_prefix>: <why>`."""
    try:
        with path.open("rb") as stream:
            return read_text(stream)
    except OSError as exc:
        raise UsageError(f"{error_prefix}: {exc.strerror or exc}") from None
    except LoadError as exc:
        raise UsageError(f"{error_prefix}: {exc}") from None


def split_documents(text: str, source: str) -> list[dict[str, Any]]:
    """The objects in a YAML stream; empty documents skipped, `kind: List`
    expanded. Anything unparsable is `error parsing SOURCE: ...`."""
    try:
        documents = [_plain(document) for document in load_yaml_documents(text)]
    except LoadError as exc:
        raise UsageError(f"error parsing {source}: yaml: {exc}") from None
    objects: list[dict[str, Any]] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            raise UsageError(
                f"error parsing {source}: expected an object with apiVersion, kind and "
                f"metadata, got {type(document).__name__}"
            )
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            for item in document["items"]:
                if not isinstance(item, dict):
                    raise UsageError(f"error parsing {source}: a List item is not an object")
                objects.append(item)
        else:
            objects.append(document)
    return objects


def to_manifest(document: dict[str, Any], source: str, *, namespace: str | None) -> Manifest:
    """Check one object client-side: a known kind, fields of the right
    types, and a namespace that agrees with `-n` (None: not given)."""
    data = copy.deepcopy(document)
    meta = data.get("metadata")
    if meta is None:
        meta = data["metadata"] = {}
    if not isinstance(meta, dict):
        raise UsageError(f'error validating "{source}": metadata must be an object')
    try:
        kind = kind_for(str(data.get("apiVersion") or ""), str(data.get("kind") or ""))
    except UnknownKindError as exc:
        raise UsageError(
            f'resource mapping not found for name: "{meta.get("name", "")}" namespace: '
            f'"{meta.get("namespace", "")}" from "{source}": {exc}'
        ) from None
    check_writable(kind)
    if kind.namespaced:
        ns = str(meta.get("namespace") or "")
        if ns and namespace and ns != namespace:
            raise UsageError(
                f'the namespace from the provided object "{ns}" does not match the namespace '
                f"\"{namespace}\". You must pass '--namespace={ns}' to perform this operation."
            )
        meta["namespace"] = ns or namespace or DEFAULT_NAMESPACE
    else:
        meta.pop("namespace", None)
    try:
        from_dict(kind, data)
    except InvalidError as exc:
        raise UsageError(f'error validating "{source}": {exc.message}') from None
    return Manifest(kind=kind, data=data, source=source)


def load_manifests(text: str, source: str, *, namespace: str | None) -> list[Manifest]:
    return [to_manifest(d, source, namespace=namespace) for d in split_documents(text, source)]
