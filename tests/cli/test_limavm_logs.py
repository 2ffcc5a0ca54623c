"""The Logs RPC's reading and following of a host agent's logs
(rdd.services.limavm.logs), on real files: time order across the two files,
partial lines, files rewritten by a new start, and following that ends
only when the LimaVM is gone."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rdd.services.limavm.logs import (
    EPOCH,
    LogFile,
    in_batches,
    line_time,
    merge_by_time,
    stream_logs,
)
from rdd.services.limavm.servicer import LimaVMServicer

from rdd.kinds import LIMAVM
from rdd.store.etcdclient import EtcdStore
from rdd.store.registry import Registry
from tests.support.waiting import eventually

STDERR, STDOUT = "ha.stderr.log", "ha.stdout.log"


def logrus(second: int, msg: str) -> str:
    return f'{{"level":"info","msg":"{msg}","time":"2026-01-02T03:04:{second:02d}.5Z"}}'


def event(second: int, status: str) -> str:
    return f'{{"time":"2026-01-02T03:04:{second:02d}.123456789Z","status":{status}}}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (logrus(5, "hi"), datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        (event(6, "{}"), datetime(2026, 1, 2, 3, 4, 6, 123456, tzinfo=UTC)),
        (
            'time="2026-01-02T03:04:07+01:00" level=info msg="text format"',
            datetime(2026, 1, 2, 2, 4, 7, tzinfo=UTC),
        ),
        ("panic: something", None),
        ('{"msg": "no time"}', None),
        ('{"time": "yesterday"}', None),
        ("{not json", None),
    ],
)
def test_line_time(text: str, expected: datetime | None) -> None:
    assert line_time(text) == expected


def test_merge_by_time_keeps_each_files_order() -> None:
    stderr = [logrus(1, "starting"), "  a continuation line", logrus(3, "ready")]
    stdout = [event(2, '{"sshLocalPort":1}'), event(3, '{"running":true}')]
    merged = merge_by_time([(STDERR, stderr, EPOCH), (STDOUT, stdout, EPOCH)])
    assert merged == [
        (STDERR, stderr[0]),
        (STDERR, stderr[1]),  # no time: stays right after the line before it
        (STDOUT, stdout[0]),
        (STDOUT, stdout[1]),  # 03.123 before 03.5
        (STDERR, stderr[2]),
    ]


def test_in_batches() -> None:
    lines = [(STDERR, "x" * 100) for _ in range(10)]
    batches = list(in_batches(lines, limit=300))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [line for batch in batches for line in batch] == lines
    assert list(in_batches([])) == []


def test_log_file_reads_complete_lines_and_rereads_a_rewritten_file(tmp_path: Path) -> None:
    path = tmp_path / STDERR
    log = LogFile(path, STDERR)
    assert log.read(final=False) == ([], False)  # not there yet
    path.write_text("one\ntw")
    assert log.read(final=False) == (["one"], False)
    with path.open("a") as handle:
        handle.write("o\nthree\n")
    assert log.read(final=False) == (["two", "three"], False)
    assert log.read(final=False) == ([], False)
    # A new start truncates and rewrites in place, even to a longer file.
    path.write_text("after restart, a longer first line than before\nsecond\n")
    assert log.read(final=False) == (
        ["after restart, a longer first line than before", "second"],
        False,
    )
    with path.open("a") as handle:
        handle.write("unterminated")
    assert log.read(final=True) == (["unterminated"], False)


def test_log_file_reads_a_big_backlog_in_parts(tmp_path: Path) -> None:
    path = tmp_path / STDOUT
    path.write_text("".join(f"line {i:06d}\n" for i in range(40000)))  # ~480 KiB
    for final in (False, True):
        log = LogFile(path, STDOUT)
        lines, more = log.read(final=final)
        assert more and 0 < len(lines) < 40000
        while more:
            rest, more = log.read(final=final)
            lines += rest
        # a read that ends mid-line keeps the piece for the next one
        assert lines == [f"line {i:06d}" for i in range(40000)]


async def collect(stream: AsyncIterator[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    return [line async for batch in stream for line in batch]


async def test_stream_without_follow(tmp_path: Path) -> None:
    inst = tmp_path / "vm1"
    inst.mkdir()
    (inst / STDERR).write_text(logrus(1, "starting") + "\n" + logrus(3, "READY") + "\n")
    (inst / STDOUT).write_text(event(2, '{"running":true}') + "\n")
    lines = await collect(stream_logs(inst, follow=False, gone=asyncio.Event()))
    assert [text for _, text in lines] == [
        logrus(1, "starting"),
        event(2, '{"running":true}'),
        logrus(3, "READY"),
    ]
    missing = await collect(stream_logs(tmp_path / "absent", follow=False, gone=asyncio.Event()))
    assert missing == []


async def test_follow_survives_a_rebuild_and_ends_when_the_vm_is_gone(tmp_path: Path) -> None:
    inst = tmp_path / "vm1"
    inst.mkdir()
    (inst / STDERR).write_text(logrus(1, "first") + "\n")
    gone = asyncio.Event()
    seen: list[str] = []

    async def follow() -> None:
        async for batch in stream_logs(inst, follow=True, gone=gone):
            seen.extend(text for _, text in batch)

    task = asyncio.create_task(follow())
    try:
        await eventually(lambda: seen == [logrus(1, "first")], timeout=5)
        with (inst / STDERR).open("a") as handle:
            handle.write(logrus(2, "second") + "\n" + "partial")
        await eventually(lambda: seen[-1:] == [logrus(2, "second")], timeout=5)
        # The instance is rebuilt (a template change): the new files are read from the start.
        shutil.rmtree(inst)
        await eventually(lambda: seen[-1:] == ["partial"], timeout=5)
        inst.mkdir()
        (inst / STDOUT).write_text(event(9, '{"running":true}') + "\n")
        await eventually(lambda: seen[-1:] == [event(9, '{"running":true}')], timeout=5)
        assert not task.done()
        gone.set()  # deleting: the stream goes on while the instance directory is there
        (inst / STDOUT).write_text(event(10, '{"exiting":true}') + "\n")
        await eventually(lambda: seen[-1:] == [event(10, '{"exiting":true}')], timeout=5)
        assert not task.done()
        shutil.rmtree(inst)
        await asyncio.wait_for(task, timeout=5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_follow_waits_for_the_instance_directory(tmp_path: Path) -> None:
    inst = tmp_path / "vm1"
    seen: list[str] = []

    async def follow() -> None:
        async for batch in stream_logs(inst, follow=True, gone=asyncio.Event()):
            seen.extend(text for _, text in batch)

    task = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.1)
        inst.mkdir()
        (inst / STDERR).write_text(logrus(1, "booting") + "\n")
        await eventually(lambda: seen == [logrus(1, "booting")], timeout=5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_follower_waiting_for_the_directory_ends_when_the_vm_goes(tmp_path: Path) -> None:
    """Woken by the event, not by a timer: no directory ever appears."""
    gone = asyncio.Event()
    task = asyncio.create_task(collect(stream_logs(tmp_path / "vm1", follow=True, gone=gone)))
    try:
        await asyncio.sleep(0.1)
        assert not task.done()
        gone.set()
        assert await asyncio.wait_for(task, timeout=0.5) == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_following_a_vm_that_is_already_gone_ends_at_once(tmp_path: Path) -> None:
    gone = asyncio.Event()
    gone.set()
    lines = await asyncio.wait_for(
        collect(stream_logs(tmp_path / "vm1", follow=True, gone=gone)), timeout=0.5
    )
    assert lines == []


class CountingRegistry(Registry):
    """Counts reads, to show that waiting for a deletion asks nothing again."""

    reads = 0

    async def get(self, kind, namespace, name):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().get(kind, namespace, name)

    async def list(self, kind, namespace=""):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().list(kind, namespace)


def limavm(name: str, *, finalizers: tuple[str, ...] = ()) -> object:
    vm = LIMAVM.new()
    vm.metadata.name = name  # type: ignore[attr-defined]
    vm.metadata.namespace = "default"  # type: ignore[attr-defined]
    vm.metadata.finalizers.extend(finalizers)  # type: ignore[attr-defined]
    vm.spec.template_ref.name = "t"  # type: ignore[attr-defined]
    return vm


@pytest.mark.parametrize("finalizers", [(), ("test/hold",)], ids=["deleted", "deleting"])
async def test_followers_learn_of_a_deletion_from_a_watch(
    store: EtcdStore, tmp_path: Path, finalizers: tuple[str, ...]
) -> None:
    writer, registry = Registry(store), CountingRegistry(store)
    created = await writer.create(LIMAVM, limavm("watched", finalizers=finalizers))
    await writer.create(LIMAVM, limavm("other"))
    servicer = LimaVMServicer(
        registry, companions=None, driver="sim", lima_home=tmp_path, host_arch="x86_64"
    )
    gone = asyncio.Event()
    uid = created.metadata.uid
    task = asyncio.create_task(servicer._watch_until_gone("default", "watched", uid, gone))
    try:
        await writer.delete(LIMAVM, "default", "other")
        await asyncio.sleep(1.5)  # longer than any recheck interval
        assert not gone.is_set()
        assert registry.reads == 1  # the list the watch starts from; no polling
        await writer.delete(LIMAVM, "default", "watched")
        await asyncio.wait_for(gone.wait(), timeout=5)
        await asyncio.wait_for(task, timeout=5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_vm_replaced_under_the_same_name_is_gone(store: EtcdStore, tmp_path: Path) -> None:
    registry = Registry(store)
    servicer = LimaVMServicer(
        registry, companions=None, driver="sim", lima_home=tmp_path, host_arch="x86_64"
    )
    gone = asyncio.Event()
    await servicer._watch_until_gone("default", "never-there", "some-uid", gone)
    assert gone.is_set()
