"""A LimaVM's host agent logs for the Logs RPC: the files the driver names
(Driver.log_files: `ha.stderr.log`, logrus lines, and `ha.stdout.log`, JSON
events), merged in time order, optionally followed.

Following waits on directory changes (inotify through
rdd.drivers.watching.DirWatch), never a busy loop or a poll. Each start
recreates the files, so a replaced or truncated file is read again from its
beginning. The stream survives the instance directory being rebuilt (a
template change) and ends once the LimaVM is gone or being deleted (the
caller's `gone` event, set from a watch on the LimaVM) and its instance
directory is removed, or when the client cancels.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rdd.drivers.base import LOG_SOURCES
from rdd.drivers.watching import DirWatch

#: How many of a file's first bytes tell a rewritten file from the one read before.
HEAD_BYTES = 128
#: Bytes read from one file in one go; a bigger backlog is read in several.
READ_BYTES = 256 * 1024
#: A line longer than this is cut (an unterminated one is sent as it is).
MAX_LINE_BYTES = 64 * 1024
#: Roughly how many bytes of lines one streamed batch carries.
BATCH_BYTES = 256 * 1024
#: Sorts before every real time: lines before the first timestamped one.
EPOCH = datetime.min.replace(tzinfo=UTC)

Line = tuple[str, str]  # (source, text)

_TEXT_TIME = re.compile(r'(?:^|\s)time="([^"]+)"')


def line_time(text: str) -> datetime | None:
    """The `time` of a logrus JSON line or host agent event, or of a logrus
    text line (`time="..." level=info msg=...`); None when it has none (pure)."""
    stamp: object = None
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            stamp = entry.get("time")
    else:
        match = _TEXT_TIME.search(text)
        stamp = match.group(1) if match else None
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def merge_by_time(batches: Sequence[tuple[str, Sequence[str], datetime]]) -> list[Line]:
    """Lines of several files in time order (pure). Each batch is (source,
    lines, time of the file's last line before these). A line without a time
    keeps its place after the line before it; each file's own order is kept."""
    keyed: list[list[tuple[datetime, int, int, str, str]]] = []
    for rank, (source, lines, since) in enumerate(batches):
        current = since
        keys = []
        for index, text in enumerate(lines):
            current = line_time(text) or current
            keys.append((current, rank, index, source, text))
        keyed.append(keys)
    return [(source, text) for _, _, _, source, text in heapq.merge(*keyed)]


def in_batches(lines: Iterable[Line], *, limit: int = BATCH_BYTES) -> Iterable[list[Line]]:
    """Consecutive groups of about `limit` bytes each (pure)."""
    batch: list[Line] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line[1]) + 32
        if size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_LINE_BYTES:
        raw = raw[:MAX_LINE_BYTES] + b" [line cut]"
    return raw.decode(errors="replace").removesuffix("\r")


@dataclass
class LogFile:
    """How far one log file has been read."""

    path: Path
    source: str
    offset: int = 0
    inode: int | None = None
    #: The file's first bytes: a file truncated and rewritten in place (as
    #: each start does) begins differently, so it is read again from the start.
    head: bytes = b""
    partial: bytes = b""
    #: The time of the last line read (for lines that carry none).
    last_time: datetime = EPOCH

    def read(self, *, final: bool) -> tuple[list[str], bool]:
        """(complete lines added since the last read, whether more is waiting).
        A file that was replaced or truncated is read from its start.
        `final`: also the unterminated last line, once the end is reached."""
        data = b""
        more = False
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if (
                    stat.st_ino != self.inode
                    or stat.st_size < self.offset
                    or handle.read(len(self.head)) != self.head
                ):
                    self.inode, self.offset, self.head, self.partial = stat.st_ino, 0, b"", b""
                handle.seek(self.offset)
                data = handle.read(READ_BYTES)
                if len(self.head) < HEAD_BYTES:
                    self.head = (self.head + data)[:HEAD_BYTES]
                self.offset += len(data)
                more = self.offset < stat.st_size
        except (FileNotFoundError, NotADirectoryError):
            pass
        pieces = (self.partial + data).split(b"\n")
        self.partial = pieces.pop()
        if self.partial and ((final and not more) or len(self.partial) > MAX_LINE_BYTES):
            pieces.append(self.partial)
            self.partial = b""
        return [_decode(piece) for piece in pieces], more


@dataclass
class LogReader:
    """The log files of one instance directory, read incrementally."""

    inst_dir: Path
    sources: Sequence[str] = LOG_SOURCES
    files: list[LogFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.files:
            self.files = [LogFile(self.inst_dir / source, source) for source in self.sources]

    def read(self, *, final: bool) -> tuple[list[Line], bool]:
        """(new lines of every file merged in time order, whether more is waiting)."""
        batches = []
        more = False
        for log_file in self.files:
            lines, pending = log_file.read(final=final)
            batches.append((log_file.source, lines, log_file.last_time))
            for text in lines:
                log_file.last_time = line_time(text) or log_file.last_time
            more = more or pending
        return merge_by_time(batches), more

    def drain(self, *, final: bool) -> Iterable[list[Line]]:
        """Everything there is now, in batches."""
        while True:
            lines, more = self.read(final=final)
            yield from in_batches(lines)
            if not more:
                return


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


async def _first_of(*waits: Awaitable[object]) -> None:
    """Return once any of `waits` has finished; the others are cancelled."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _wait_for_dir(inst_dir: Path, gone: asyncio.Event) -> bool:
    """Wait until the instance directory exists: False when the LimaVM went away first."""
    with DirWatch(inst_dir.parent) as watch:
        while not inst_dir.is_dir():
            if gone.is_set():
                return False
            await _first_of(watch.changed(), gone.wait())
    return True


async def stream_logs(
    inst_dir: Path,
    *,
    follow: bool,
    gone: asyncio.Event,
    sources: Sequence[str] = LOG_SOURCES,
) -> AsyncIterator[list[Line]]:
    """Batches of (source, text) of the `sources` files in `inst_dir` (what
    Driver.log_files says): everything logged so far, then (`follow`) new
    lines as they are written, until the instance directory is missing once
    `gone` is set (the LimaVM is deleting or deleted)."""
    reader = LogReader(inst_dir, sources)
    if not follow:
        for batch in reader.drain(final=True):
            yield batch
        return
    while True:
        if not inst_dir.is_dir() and not await _wait_for_dir(inst_dir, gone):
            return
        with DirWatch(inst_dir) as watch:
            inode = _inode(inst_dir)
            while True:
                for batch in reader.drain(final=False):
                    yield batch
                if inode is None or _inode(inst_dir) != inode:
                    break  # removed (deleted, or rebuilt for a new template)
                await watch.changed()
        for batch in reader.drain(final=True):
            yield batch
        reader = LogReader(inst_dir, sources)  # a rebuilt instance's files start afresh
