"""Asking the installed Lima whether it accepts a template: `limactl template
validate` (Lima v1.1+), else `limactl validate`, on a temporary file.

Called by the admission service for a template rdd's own checks accepted, so
a template we admit is one Lima takes too. Asynchronous and bounded: limactl
runs as an asyncio subprocess with LIMA_HOME=<lima_home> and a timeout. With
no limactl on PATH, or one that cannot judge (run as root, hung), it answers
"no problems" and admission goes on with rdd's own checks (said in the log).

Verdicts are remembered by template text (a few dozen): creating a LimaVM
reviews its template twice (the LimaVM's review, then the copy it is created
with), and the same limactl gives the same answer for the same text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from rdd.drivers.lima_calls import kill
from rdd.drivers.limactl import Result, ValidateVerdict, parse_validate_result

log = logging.getLogger(__name__)

#: Well inside the deadline of the admission RPC that waits for it.
VALIDATE_TIMEOUT_SECONDS = 5.0
#: The command forms to try, newest first.
FORMS: tuple[tuple[str, ...], ...] = (("template", "validate"), ("validate",))
#: The file's base name must be a valid instance name (limactl derives one from it).
FILE_NAME = "template.yaml"
#: Verdicts remembered (by template digest); the oldest is forgotten first.
REMEMBERED_VERDICTS = 64


class LimactlValidator:
    """`problems(template)`: what limactl says is wrong with a template."""

    def __init__(
        self,
        *,
        lima_home: Path,
        timeout: float = VALIDATE_TIMEOUT_SECONDS,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._lima_home = lima_home
        self._timeout = timeout
        self._base_env = env
        self._forms = FORMS
        self._said: set[str] = set()
        self._verdicts: dict[bytes, list[str]] = {}

    async def problems(self, template: str) -> list[str]:
        """Lima's complaints about `template`, one per error; empty when it
        accepts it, or when there is no limactl that can say."""
        digest = hashlib.sha256(template.encode()).digest()
        known = self._verdicts.get(digest)
        if known is not None:
            return list(known)
        verdict = await self._judge(template)
        if verdict is not None:
            if len(self._verdicts) >= REMEMBERED_VERDICTS:
                del self._verdicts[next(iter(self._verdicts))]
            self._verdicts[digest] = verdict
        return list(verdict or [])

    async def _judge(self, template: str) -> list[str] | None:
        """limactl's verdict; None when no limactl could judge (not remembered)."""
        env = dict(os.environ if self._base_env is None else self._base_env)
        limactl = shutil.which("limactl", path=env.get("PATH"))
        if limactl is None:
            self._say_once("no limactl on PATH: templates get rdd's own checks only")
            return None
        env["LIMA_HOME"] = str(self._lima_home)
        with tempfile.TemporaryDirectory(prefix="rdd-validate-") as tmp:
            path = Path(tmp) / FILE_NAME
            path.write_text(template)
            for form in self._forms:
                verdict = await self._ask(limactl, [*form, "--tty=false", str(path)], env)
                if verdict is None:
                    return None
                if verdict.unsupported:
                    continue
                self._forms = (form,)
                if verdict.failure:
                    self._say_once(f"limactl cannot validate templates: {verdict.failure}")
                    return None
                return list(verdict.problems)
        self._say_once("limactl has neither `template validate` nor `validate`")
        return None

    async def _ask(
        self, limactl: str, args: Sequence[str], env: dict[str, str]
    ) -> ValidateVerdict | None:
        """One limactl call; None when it had to be given up on (timeout, cannot run)."""
        try:
            proc = await asyncio.create_subprocess_exec(
                limactl,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except OSError as err:
            self._say_once(f"cannot run {limactl}: {err}")
            return None
        try:
            async with asyncio.timeout(self._timeout):
                stdout, stderr = await proc.communicate()
        except TimeoutError:
            log.warning(
                "event=limactl_validate_timeout args=%r timeout=%s", " ".join(args), self._timeout
            )
            await kill(proc)
            return None
        except BaseException:
            await kill(proc)
            raise
        result = Result(
            proc.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")
        )
        verdict = parse_validate_result(result, args[-1])
        log.info(
            "event=limactl_validate args=%r code=%s problems=%d",
            " ".join(args[:-1]),
            result.code,
            len(verdict.problems),
        )
        return verdict

    def _say_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            log.warning("event=limactl_validate_unavailable reason=%r", message)
