"""List pages the way Kubernetes' API server cuts them (pure).

A paged List is read at one etcd revision: the first page pins it, and the
continue token carries it with the last key returned, so every later page
reads the same snapshot (etcd keeps it until it is compacted; then the token
has expired and the caller must start over). The token is opaque to clients:
base64 of a small JSON document, as Kubernetes' own.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from rdd.errors import GoneError, InvalidError

#: etcd revisions are int64.
_MAX_REVISION = 2**63 - 1
#: A repeated message field costs a tag byte and a length varint beyond the item.
_ITEM_FRAMING_BYTES = 6
#: Keys fetched per etcd range: objects are at most 1 MiB, so one etcd reply
#: stays far below the store client's receive limit whatever their size.
MAX_RANGE_BATCH = 32

EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


@dataclass(frozen=True)
class Page:
    """Items in key order, the revision they were read at, and the token for
    the next page ("" when this is the last)."""

    items: list[Any]
    revision: int
    continue_token: str


@dataclass(frozen=True)
class Continuation:
    """Where a continued List resumes: its revision and the last key it returned,
    relative to the list's prefix (so whatever a token says, the read stays
    inside the prefix of the kind and namespace asked for)."""

    revision: int
    last_key: str


def encode_token(revision: int, last_key: bytes, prefix: bytes) -> str:
    document = {"rv": revision, "start": last_key[len(prefix) :].decode()}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str) -> Continuation:
    """The token's revision and last key; InvalidError for anything this
    server did not hand out (never a traceback, never a read elsewhere)."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (UnicodeError, ValueError, binascii.Error):
        raise _invalid("not a continue token this server issued") from None
    if not isinstance(document, dict):
        raise _invalid("not a continue token this server issued")
    revision, last_key = document.get("rv"), document.get("start")
    if type(revision) is not int or not 0 < revision <= _MAX_REVISION:
        raise _invalid("its revision is not a positive 64-bit number")
    if not isinstance(last_key, str) or not last_key:
        raise _invalid("its key is not valid")
    return Continuation(revision=revision, last_key=last_key)


def start_key(continuation: Continuation, prefix: bytes) -> bytes:
    """The first key after the token's last one (etcd ranges are inclusive)."""
    return prefix + continuation.last_key.encode() + b"\0"


def item_cost(obj: Any) -> int:
    """What one item adds to a List reply on the wire."""
    return int(obj.ByteSize()) + _ITEM_FRAMING_BYTES


def range_batch(limit_left: int, bytes_left: int, largest_seen: int) -> int:
    """How many keys to ask etcd for next: no more than the page still takes
    by count (`limit_left`, 0: unbounded), nor than its byte budget would take
    of items as large as the largest seen so far (so a page of big objects
    does not fetch dozens it must throw away), and never more than
    MAX_RANGE_BATCH. At least one: a page always makes progress."""
    batch = MAX_RANGE_BATCH
    if limit_left:
        batch = min(batch, limit_left)
    if largest_seen:
        batch = min(batch, bytes_left // largest_seen + 1)
    return max(1, batch)


def continued_read_error(error: GoneError, revision: int) -> Exception:
    """etcd refused to read a continued List at its token's revision: compacted
    away (the token expired, as Kubernetes' 410 Gone), or a revision etcd never
    reached (a forged token)."""
    if "future" in error.message:
        return _invalid(f"its revision {revision} is newer than the store's")
    return GoneError(EXPIRED_MESSAGE)


def _invalid(why: str) -> InvalidError:
    return InvalidError(f"continue: Invalid value: the continue parameter is not valid: {why}")
