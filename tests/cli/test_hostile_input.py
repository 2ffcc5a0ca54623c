"""Hostile input to `rdd` (no stack needed: all of it is refused before a
connection): each is one clear `error: ...` line, fast, never "unexpected"."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest

from rdd.cli import main as cli_main
from rdd.cli.arguments import UsageError
from rdd.cli.limavm.editing import read_edited
from tests.support.objects import billion_laughs


def rdd(argv: list[str], home: Path, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        started = time.monotonic()
        code = cli_main.run(argv, out=out, err=err, env={"RDD_HOME": str(home)})
        assert time.monotonic() - started < 5, "the CLI took too long to refuse"
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def refused(argv: list[str], home: Path, stdin: bytes | None = None) -> str:
    code, out, err = rdd(argv, home, stdin)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert "unexpected" not in err and "Traceback" not in err
    return err


def test_billion_laughs_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "lol.yaml"
    manifest.write_text(billion_laughs())
    assert len(manifest.read_bytes()) < 500
    err = refused(["ctl", "apply", "-f", str(manifest)], tmp_path)
    assert err.startswith(f"error: error parsing {manifest}: yaml: document contains excessive")


def test_duplicate_keys_in_a_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "dup.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata: {}\n"
    )
    assert refused(["ctl", "apply", "-f", str(manifest)], tmp_path) == (
        f'error: error parsing {manifest}: yaml: line 5: mapping key "name" already defined '
        "at line 4\n"
    )


def test_binary_on_stdin(tmp_path: Path) -> None:
    err = refused(["ctl", "apply", "-f", "-"], tmp_path, stdin=b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    assert (
        err
        == "error: error reading STDIN: not UTF-8 text (byte 0x89 at offset 0): is it a binary file?\n"
    )


def test_dev_zero_is_refused_at_the_size_limit(tmp_path: Path) -> None:
    err = refused(["ctl", "apply", "-f", "/dev/zero"], tmp_path)
    assert err == "error: error reading /dev/zero: input is larger than 8 MiB\n"


def test_stdin_is_read_up_to_the_limit(tmp_path: Path) -> None:
    err = refused(["ctl", "apply", "-f", "-"], tmp_path, stdin=b"#" * (9 << 20))
    assert err == "error: error reading STDIN: input is larger than 8 MiB\n"


@pytest.mark.parametrize("depth", [101, 5000])
def test_deep_patch(depth: int, tmp_path: Path) -> None:
    patch = '{"a":' * depth + "1" + "}" * depth
    err = refused(["ctl", "patch", "cm", "x", "-p", patch], tmp_path)
    assert err.startswith('error: unable to parse "{"a":{"a":')
    assert err.endswith("nested too deeply (more than 100 levels)\n")  # patches are YAML too


def test_deep_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "deep.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 1000 + "]" * 1000)
    err = refused(["ctl", "apply", "-f", str(manifest)], tmp_path)
    assert err == (
        f"error: error parsing {manifest}: yaml: line 3: nested too deeply (more than 100 levels)\n"
    )


def test_binary_template_file(tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_bytes(b"images:\xff\n")
    err = refused(["limavm", "create", "vm", str(template)], tmp_path)
    assert err == (
        f"error: cannot read the template {template}: not UTF-8 text (byte 0xff at offset 7): "
        "is it a binary file?\n"
    )


def test_a_binary_editor_buffer_is_a_clear_error(tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    edited.write_bytes(b"cpus: \xff\n")
    with pytest.raises(UsageError) as info:
        read_edited(edited)
    assert info.value.message == (
        f"cannot read the edited file {edited}: not UTF-8 text (byte 0xff at offset 6): "
        "is it a binary file?"
    )
