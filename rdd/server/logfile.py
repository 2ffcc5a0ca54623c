"""Where a service's log lines go: stderr (in a container, for its runtime to
collect), or with `--log-file` (the supervisor's `$RDD_HOME/logs/NAME.log`)
a file rotated by size.

The process's stdout and stderr are pointed at the current file too, and
again after each rotation, so what does not go through logging (a traceback
that ends the process, a child's output) lands in the same, current file
instead of a rotated one."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from rdd.config import LOG_LEVELS, log_level
from rdd.logs import JsonFormatter

#: A log file is rotated once it would grow past this many bytes ...
MAX_BYTES = 10 * 1024 * 1024
#: ... keeping this many rotated files (NAME.log.1 is the newest).
BACKUPS = 3


class FollowingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose file is also the process's fd 1 and 2."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._follow()

    def doRollover(self) -> None:
        super().doRollover()
        self._follow()

    def _follow(self) -> None:
        if self.stream is None:
            return
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        for fd in (1, 2):
            os.dup2(self.stream.fileno(), fd)


def configure(component: str, env: Mapping[str, str] | None = None) -> None:
    """JSON lines on stderr at RDD_LOG_LEVEL (any case; INFO when unset or
    unusable: `svc start` refuses a bad one before spawning anything)."""
    level = log_level(os.environ if env is None else env)
    _install(logging.StreamHandler(sys.stderr), component, level if level in LOG_LEVELS else "INFO")


def log_to_file(path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
    """From now on, log to `path`, rotated by size (keeps the component and level)."""
    root = logging.getLogger()
    old = root.handlers[0] if root.handlers else None
    component = old.formatter.component if old and isinstance(old.formatter, JsonFormatter) else ""
    _install(
        FollowingFileHandler(path, max_bytes=max_bytes, backups=backups),
        component,
        logging.getLevelName(root.level),
    )


def _install(handler: logging.Handler, component: str, level: str) -> None:
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()  # a StreamHandler leaves its stream open
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aetcd").setLevel(logging.WARNING)
