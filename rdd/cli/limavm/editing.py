"""`rdd limavm edit NAME`: the LimaVM's template (`data.template` of its
`<name>-template` ConfigMap) in $EDITOR (default vi), written back as a
compare-and-swap on the version read; admission validates it and the
controller rebuilds and restarts the VM with it. By default it then waits
until the VM runs (or not, as spec.running says) from the new template.

As kubectl edit does: an unchanged file cancels quietly; an emptied one
aborts; when the server refuses the edit its error is printed and the edited
file is kept, its path printed, so the work is not lost."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from rdd.cli.arguments import UsageError, parse_duration
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.limavm.common import find_vm, named_flags, wait_for
from rdd.cli.limavm.vms import is_blank_template, is_template_applied, seen_conditions
from rdd.cli.manifests import read_file
from rdd.cli.output import name_form
from rdd.cli.parsing import Words
from rdd.errors import ApiError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.conditions import ConditionType
from rdd.meta.names import TEMPLATE_KEY, template_configmap_name
from rdd.meta.serialization import to_dict

DEFAULT_EDITOR = "vi"


def editor_command(env: Mapping[str, str]) -> list[str]:
    """$EDITOR split as a shell would (`code --wait` is two words), else vi (pure)."""
    words = shlex.split(env.get("EDITOR", "").strip() or DEFAULT_EDITOR)
    if not words:
        raise UsageError("EDITOR is empty")
    return words


def run_editor(editor: list[str], path: Path, env: Mapping[str, str]) -> None:
    """Run the editor on `path` in this terminal; UsageError when it cannot."""
    shown = " ".join(editor)
    try:
        result = subprocess.run([*editor, str(path)], env=dict(env), check=False)
    except OSError as exc:
        raise UsageError(f'unable to launch the editor "{shown}": {exc.strerror or exc}') from None
    if result.returncode != 0:
        raise UsageError(f'there was a problem with the editor "{shown}"')


def _temp_file(name: str, text: str) -> Path:
    fd, path = tempfile.mkstemp(prefix=f"rdd-edit-{name}-", suffix=".yaml")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return Path(path)


def read_edited(path: Path) -> str:
    """The edited buffer: UTF-8 text within the loader's size limit."""
    return read_file(path, f"cannot read the edited file {path}")


async def edit(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    parse_duration(args.timeout)
    editor = editor_command(console.env)
    vms, cms = conn.client(LIMAVM), conn.client(CONFIGMAP)
    vm = await find_vm(vms, args)
    cm_name = vm.status.template_config_map or template_configmap_name(vm.metadata.name)
    cm = await cms.get(cm_name, vm.metadata.namespace)
    original = cm.data.get(TEMPLATE_KEY, "")
    path = _temp_file(vm.metadata.name, original)
    keep = False
    try:
        run_editor(editor, path, console.env)
        edited = read_edited(path)
        if edited == original:
            console.line("Edit cancelled, no changes made.")
            return 0
        if is_blank_template(edited):
            raise UsageError("edit cancelled, the template is empty")
        cm.data[TEMPLATE_KEY] = edited  # resourceVersion as read: a compare-and-swap
        try:
            written = await cms.update(cm)
        except ApiError as error:
            console.api_error(error)
            console.warn(f'A copy of your changes has been stored to "{path}"')
            keep = True
            return 1
    finally:
        if not keep:
            with contextlib.suppress(OSError):
                path.unlink()
    console.line(f"{name_form(CONFIGMAP, cm_name)} edited")
    if not args.wait:
        return 0
    version = written.metadata.resource_version
    current = await vms.get(vm.metadata.name, vm.metadata.namespace)
    await wait_for(
        vms,
        current,
        lambda state: is_template_applied(state, template_version=version),
        goal="running from the new template" if current.spec.running else "rebuilt",
        timeout=args.timeout,
        console=console,
        seen=seen_conditions(to_dict(current)),
        generation=current.metadata.generation,
        awaited=ConditionType.RUNNING if current.spec.running else ConditionType.CREATED,
    )
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    named_flags(parser, until="it runs the new template")
    parser.set_defaults(run_async=edit)
