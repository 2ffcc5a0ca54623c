"""`limactl validate` in admission: parsing its verdict (pure), and the
validator against the limactl stand-in (both command forms, no limactl, a
limactl that cannot judge or hangs)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rdd.admission.limactl import LimactlValidator
from rdd.drivers.limactl import Result, ValidateVerdict, parse_validate_result
from tests.support.standin import STANDIN

PATH = "/tmp/rdd-validate-x1/template.yaml"


def fatal(msg: str) -> str:
    """A logrus text line as limactl writes it (msg Go-quoted)."""
    quoted = msg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'time="2025-01-02T03:04:05Z" level=fatal msg="{quoted}"\n'


@pytest.mark.parametrize(
    ("code", "stderr", "verdict"),
    [
        (0, 'time="t" level=info msg="\\"/tmp/x/template.yaml\\": OK"\n', ValidateVerdict()),
        (
            1,
            'time="t" level=warning msg="`limactl template` is experimental"\n'
            + fatal(
                f'failed to validate YAML file "{PATH}": field `ssh.localPort` must not be 22\n'
                "field `cpus` must be set"
            ),
            ValidateVerdict(
                problems=("field `ssh.localPort` must not be 22", "field `cpus` must be set")
            ),
        ),
        (
            1,
            fatal(f"failed to validate YAML file `{PATH}`: field `images` must be set"),
            ValidateVerdict(problems=("field `images` must be set",)),
        ),
        (  # Lima v1.0 wraps what it cannot load
            1,
            fatal(f'failed to load YAML file "{PATH}": field `images` must be set'),
            ValidateVerdict(problems=("field `images` must be set",)),
        ),
        (
            1,
            fatal("failed to unmarshal YAML (YAML): yaml: line 3: did not find expected key"),
            ValidateVerdict(
                problems=(
                    "failed to unmarshal YAML (YAML): yaml: line 3: did not find expected key",
                )
            ),
        ),
        (1, fatal('unknown command "template" for "limactl"'), ValidateVerdict(unsupported=True)),
        (
            1,
            fatal("limactl: must not run as the root user"),
            ValidateVerdict(failure="limactl: must not run as the root user"),
        ),
        (2, "panic: runtime error\n", ValidateVerdict(failure="panic: runtime error")),
    ],
)
def test_validate_verdicts(code: int, stderr: str, verdict: ValidateVerdict) -> None:
    assert parse_validate_result(Result(code, "", stderr), PATH) == verdict


GOOD = "images:\n- location: https://example.invalid/a.img\nssh:\n  localPort: 0\n"
BAD = "images:\n- location: https://example.invalid/a.img\nssh:\n  localPort: 22\n"


def env_with(path: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMACTL_STANDIN_")}
    env["PATH"] = path
    env.update(extra)
    return env


@pytest.mark.parametrize("version", ["1.0.3", "1.2.1", "2.2.0"])
async def test_validator_reports_what_limactl_says(tmp_path: Path, version: str) -> None:
    env = env_with(f"{STANDIN}{os.pathsep}{os.environ['PATH']}", LIMACTL_STANDIN_VERSION=version)
    validator = LimactlValidator(lima_home=tmp_path / "lima", env=env)
    assert await validator.problems(BAD) == ["field `ssh.localPort` must not be 22"]
    assert await validator.problems(GOOD) == []
    # v1.0 has no `template validate`: the validator falls back, then remembers.
    expected_forms = [("validate",)] if version == "1.0.3" else [("template", "validate")]
    assert list(validator._forms) == expected_forms


async def test_validator_without_limactl_says_nothing(tmp_path: Path) -> None:
    validator = LimactlValidator(lima_home=tmp_path, env=env_with(str(tmp_path / "empty")))
    assert await validator.problems(BAD) == []


def fake_limactl(directory: Path, script: str) -> None:
    directory.mkdir()
    path = directory / "limactl"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


async def test_a_limactl_that_cannot_judge_lets_our_checks_decide(tmp_path: Path) -> None:
    fake_limactl(
        tmp_path / "bin",
        'echo \'time="t" level=fatal msg="limactl: must not run as the root user"\' >&2; exit 1',
    )
    validator = LimactlValidator(lima_home=tmp_path, env=env_with(str(tmp_path / "bin")))
    assert await validator.problems(BAD) == []


async def test_a_hung_limactl_is_killed_after_the_timeout(tmp_path: Path) -> None:
    fake_limactl(tmp_path / "bin", "exec sleep 30")
    validator = LimactlValidator(
        lima_home=tmp_path, env=env_with(str(tmp_path / "bin")), timeout=0.3
    )
    assert await validator.problems(BAD) == []


async def test_limactl_runs_with_lima_home(tmp_path: Path) -> None:
    fake_limactl(
        tmp_path / "bin",
        "for last; do :; done; "
        'echo "time=t level=fatal msg=\\"failed to validate YAML file \\\\\\"$last\\\\\\": '
        'home=$LIMA_HOME\\"" >&2; exit 1',
    )
    validator = LimactlValidator(lima_home=tmp_path / "lh", env=env_with(str(tmp_path / "bin")))
    assert await validator.problems(BAD) == [f"home={tmp_path / 'lh'}"]
