"""`rdd svc logs [COMPONENT] [-f] [--tail=N]`: the log lines of a component
of this RDD_HOME ($RDD_HOME/logs/<component>.log; replicas are `app-1`, ...),
byte for byte as the process wrote them, as `kubectl logs` prints a pod's.

No COMPONENT: every component that has a log, in start order, each line
prefixed `[component] ` (as `kubectl logs --prefix`). `--tail=N`: the last N
lines of each (-1, the default: all), read across the rotated files
(<component>.log.3 ... .log.1 are older lines). `-f` then follows the
current files by polling them every POLL_SECONDS (a file follow needs no
more; a rotation is seen as a new inode or a shrunken file and read from
its start) until Ctrl-C. Only this machine's files are read: no server is
asked, so it works while the stack is down."""

from __future__ import annotations

import argparse
import collections
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rdd.cli.arguments import UsageError
from rdd.cli.console import Console
from rdd.cli.parsing import Words
from rdd.config import Settings
from rdd.stack.records import COMPONENTS, Layout

POLL_SECONDS = 0.2
#: How many rotated files a log keeps at most (rdd.server.logfile keeps 3).
MAX_ROTATED = 9

_COMPONENT = re.compile(rf"^({'|'.join(COMPONENTS)})(?:-(\d+))?$")


def component_order(name: str) -> tuple[int, int]:
    """Start order (etcd, webhook, limavm, app), replicas after their
    service; ValueError for a name that is no component (pure)."""
    match = _COMPONENT.match(name)
    if match is None:
        raise ValueError(name)
    return COMPONENTS.index(match.group(1)), int(match.group(2) or 0)


def check_component(name: str) -> str:
    try:
        component_order(name)
    except ValueError:
        raise UsageError(
            f'unknown component "{name}": use {", ".join(COMPONENTS)} (or a replica such as app-1)'
        ) from None
    return name


def components_with_logs(logs_dir: Path) -> list[str]:
    """The components whose current log exists, in start order."""
    names = []
    for path in logs_dir.glob("*.log"):
        try:
            component_order(path.stem)
        except ValueError:
            continue
        names.append(path.stem)
    return sorted(names, key=component_order)


def log_files(current: Path) -> list[Path]:
    """The rotated files oldest first, then the current one (those that exist)."""
    rotated = [current.with_name(f"{current.name}.{n}") for n in range(MAX_ROTATED, 0, -1)]
    return [p for p in [*rotated, current] if p.exists()]


def read_lines(files: Iterable[Path]) -> Iterator[bytes]:
    """Every line of the files in order, newline kept (a last line without
    one, still being written, comes back as it is)."""
    for path in files:
        try:
            with open(path, "rb") as handle:
                yield from handle
        except FileNotFoundError:
            continue  # rotated away while reading


def last_lines(lines: Iterable[bytes], tail: int) -> list[bytes]:
    """kubectl's --tail (pure): the last `tail` lines, all when negative."""
    if tail < 0:
        return list(lines)
    if tail == 0:
        return []
    return list(collections.deque(lines, maxlen=tail))


@dataclass
class Follower:
    """New lines of one log file as they are written, across rotations."""

    component: str
    path: Path
    handle: BinaryIO | None = None
    inode: int = 0
    partial: bytes = b""

    def _open(self) -> None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except FileNotFoundError:
            self.handle = None
            return
        self.handle, self.inode = handle, os.fstat(handle.fileno()).st_ino

    def poll(self) -> list[bytes]:
        """Complete lines written since the last poll."""
        if self.handle is None:
            self._open()
            if self.handle is None:
                return []
        lines = self._read()
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return lines
        if stat.st_ino != self.inode or stat.st_size < self.handle.tell():
            self.close()  # rotated or truncated: the new file from its start
            self._open()
            lines += self._read()
        return lines

    def _read(self) -> list[bytes]:
        assert self.handle is not None
        data = self.partial + self.handle.read()
        *complete, self.partial = data.split(b"\n")
        return [line + b"\n" for line in complete]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _emit(console: Console, component: str, line: bytes, *, prefixed: bool) -> None:
    text = line.decode("utf-8", errors="replace")
    if not text.endswith("\n"):
        text += "\n"
    console.write(f"[{component}] {text}" if prefixed else text)


def logs(args: argparse.Namespace, console: Console) -> int:
    layout = Layout(Settings.from_env(console.env).home)
    tail = int(args.tail)
    if args.component:
        component = check_component(args.component)
        if not layout.log_file(component).exists():
            raise UsageError(
                f'no log for "{component}" in {layout.logs_dir} (has it run in this RDD_HOME?)'
            )
        components = [component]
    else:
        components = components_with_logs(layout.logs_dir)
        if not components:
            raise UsageError(
                f"no logs in {layout.logs_dir}: the stack has not run in this RDD_HOME "
                "(start it with 'rdd svc start')"
            )
    prefixed = not args.component
    followers: dict[str, Follower] = {}
    for component in components:
        follower = followers[component] = Follower(component, layout.log_file(component))
        # The current file is read through the handle that then follows it,
        # so no line is printed twice or falls between the two.
        rotated = [p for p in log_files(follower.path) if p != follower.path]
        written = [*read_lines(rotated), *follower.poll()]
        if not args.follow and follower.partial:
            written.append(follower.partial)
        for line in last_lines(written, tail):
            _emit(console, component, line, prefixed=prefixed)
    try:
        while args.follow:
            time.sleep(POLL_SECONDS)
            if prefixed:
                for component in components_with_logs(layout.logs_dir):
                    if component not in followers:  # a replica that started meanwhile
                        followers[component] = Follower(component, layout.log_file(component))
            for follower in followers.values():
                for line in follower.poll():
                    _emit(console, follower.component, line, prefixed=prefixed)
    finally:
        for follower in followers.values():
            follower.close()
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    """`rdd svc logs`."""
    parser.add_argument(
        "component", nargs="?", metavar="COMPONENT", help="etcd|webhook|limavm|app|app-1..."
    )
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument(
        "--tail", type=int, default=-1, metavar="N", help="the last N lines of each (-1: all)"
    )
    parser.set_defaults(run=logs)
