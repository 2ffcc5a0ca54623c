"""What the lima driver does to folders in LIMA_HOME besides limactl's
own: the `.preparing` sentinel mirrored into a new instance directory,
folders Lima cannot inspect set aside, a template limactl would rewrite
refused, the host agent's last words read. Called by rdd.drivers.lima."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from rdd.drivers.base import HA_STDERR, LIMA_YAML, SENTINEL, DriverError, remove_tree
from rdd.drivers.limactl import logrus_json_msg, outer_marker
from rdd.templates.embedding import unembedded_problems
from rdd.templates.loading import TemplateSyntaxError, load_template

log = logging.getLogger("rdd.drivers.lima")

#: Where folders Lima cannot inspect (no lima.yaml) are moved to (Lima skips
#: names starting with "_" or ".", pkg/store/store.go).
SET_ASIDE = "_rdd-set-aside"


def strays(lima_home: Path) -> list[str]:
    """Folders of `lima_home` Lima takes for instances but cannot inspect:
    no lima.yaml (pkg/store/store.go Instances skips names starting with "."
    or "_", and files)."""
    try:
        entries = list(lima_home.iterdir())
    except OSError:
        return []
    return sorted(
        entry.name
        for entry in entries
        if not entry.name.startswith((".", "_"))
        and entry.is_dir()
        and not (entry / LIMA_YAML).exists()
    )


async def set_aside_strays(lima_home: Path, *, skip: Callable[[str], bool]) -> None:
    """Move folders Lima cannot inspect out of LIMA_HOME (see strays()).

    Up to v2.1.4 `start`, `stop`, `stop -f` and `delete` inspect every
    instance and exit 1 on the first folder without lima.yaml, so one
    such folder breaks every other instance. A folder our own interrupted
    preparation left (a `.preparing` marker) is removed; any other is
    renamed into SET_ASIDE, so nothing a person may want is lost. `skip`:
    names the caller deals with itself."""
    for name in strays(lima_home):
        if skip(name):
            continue
        inst, marker = lima_home / name, outer_marker(lima_home, name)
        try:
            if marker.exists() or (inst / SENTINEL).exists():
                log.warning("event=partial_instance_removed name=%s", name)
                await asyncio.to_thread(remove_tree, inst)
                marker.unlink(missing_ok=True)
            else:
                target = _set_aside_path(lima_home, name)
                target.parent.mkdir(exist_ok=True)
                inst.rename(target)
                log.warning("event=stray_folder_set_aside name=%s to=%s", name, target)
        except OSError as err:
            log.warning("event=stray_folder_left name=%s error=%r", name, str(err))


def _set_aside_path(lima_home: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return lima_home / SET_ASIDE / f"{name}-{stamp}-{os.getpid()}"


def mirror_sentinel(inst: Path) -> None:
    """Write the `.preparing` sentinel into a directory `limactl create` just
    made. Lima v2.2+ removes that directory itself when the create fails
    (pkg/instance/create.go): a directory gone under us is no error."""
    if inst.is_dir() and not (inst / SENTINEL).exists():
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            (inst / SENTINEL).write_text(f"{os.getpid()}\n")


def refuse_unembedded(name: str, template_yaml: str) -> None:
    """A template `limactl create` would rewrite is never built or written
    (rdd.templates.embedding; admission refuses it first)."""
    try:
        data = load_template(template_yaml)
    except TemplateSyntaxError:
        return  # limactl reports it in its own words
    problems = unembedded_problems(data)
    if problems:
        raise DriverError(f"instance {name!r}: {problems[0]}")


def last_words(inst: Path) -> str:
    """ ": <msg of the host agent's last stderr line>", or "" when it wrote none."""
    last = ""
    with contextlib.suppress(OSError):
        lines = (inst / HA_STDERR).read_text(errors="replace").splitlines()
        last = lines[-1] if lines else ""
    return f": {logrus_json_msg(last)}" if last else ""


def age(path: Path) -> float | None:
    """Seconds since `path` was last written, or None when it is absent."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None
