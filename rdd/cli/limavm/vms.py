"""How `rdd limavm` reads a LimaVM (pure): the list table (a view of the
LimaVM kind's columns; the STATUS word is rdd.cli.printing.vm_status), where a template comes from, what each wait waits for, and the line
printed when a wait times out.

Functions take dicts from rdd.meta.serialization.to_dict; the commands are
in the other modules of rdd.cli.limavm."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from rdd.cli.arguments import UsageError
from rdd.cli.output import find_condition, plural_form
from rdd.cli.printing import view_rows
from rdd.cli.setting import Seen
from rdd.kinds import LIMAVM
from rdd.meta.conditions import ConditionType, Reason
from rdd.meta.loading import LoadError, read_text
from rdd.meta.names import RESTART_ANNOTATION

CREATED, RUNNING = ConditionType.CREATED, ConditionType.RUNNING

# -- status and list ---------------------------------------------------------------


#: `rdd limavm list`: these of the LimaVM kind's columns (rdd.kinds), in this order.
LIST_VIEW = ("NAME", "NAMESPACE", "RUNNING", "STATUS", "ARCH", "RESTARTS", "AGE")


def list_rows(objects: Sequence[dict[str, Any]], *, now: datetime) -> list[list[str]]:
    """Header then one row per LimaVM; RUNNING is what spec.running asks for."""
    return view_rows(LIMAVM, LIST_VIEW, objects, now=now)


def seen_conditions(obj: dict[str, Any]) -> Seen:
    """The conditions as they are, so that only later changes are printed."""
    return {
        str(c.get("type")): (
            str(c.get("status", "")),
            str(c.get("reason", "")),
            str(c.get("message", "")),
        )
        for c in obj.get("status", {}).get("conditions", [])
    }


def managing_app(obj: dict[str, Any]) -> str | None:
    """The name of the App that controls this LimaVM, if one does."""
    for ref in obj.get("metadata", {}).get("ownerReferences", []):
        if ref.get("controller") and ref.get("kind") == "App":
            return str(ref.get("name", ""))
    return None


# -- templates ------------------------------------------------------------------------

TEMPLATE_HELP = (
    "a Lima template: a file path (- for stdin), or the name of a ConfigMap in the "
    "namespace with a 'template' entry (configmap/NAME when a file has the same name). "
    "A file is stored in a ConfigMap NAME-input that is deleted again once the LimaVM "
    "holds its own copy (NAME-template)."
)


@dataclass(frozen=True)
class TemplateSource:
    """Exactly one of: a file to read (`-` for stdin), or an existing ConfigMap."""

    path: str = ""
    configmap: str = ""


def parse_template_source(text: str, *, exists: Callable[[str], bool]) -> TemplateSource:
    """`-`, `configmap/NAME` (or `cm/NAME`), an existing path, or a ConfigMap
    name. Something that looks like a path but does not exist is an error, not
    a ConfigMap name (pure but for `exists`)."""
    if text == "-":
        return TemplateSource(path="-")
    kind_word, sep, name = text.partition("/")
    if sep and kind_word in ("configmap", "configmaps", "cm"):
        if not name:
            raise UsageError(f'"{text}" names no ConfigMap')
        return TemplateSource(configmap=name)
    if exists(text):
        return TemplateSource(path=text)
    if os.sep in text or "/" in text or text.startswith(".") or text.endswith((".yaml", ".yml")):
        raise UsageError(f'the path "{text}" does not exist')
    return TemplateSource(configmap=text)


def input_configmap_name(vm_name: str) -> str:
    """The ConfigMap that carries a template file to the LimaVM create."""
    return f"{vm_name}-input"


def is_blank_template(text: str) -> bool:
    """Nothing but blank lines and YAML comments."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def read_template_file(path: str, *, stdin: IO[bytes]) -> str:
    """The template text of a file (or stdin for `-`): UTF-8 within the loader's
    size limit (rdd.meta.loading); an empty one is an error."""
    where = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = read_text(stdin)
        else:
            with Path(path).open("rb") as stream:
                text = read_text(stream)
    except (OSError, LoadError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read the template {where}: {reason}") from None
    if is_blank_template(text):
        raise UsageError(f"the template {where} is empty")
    return text


# -- what waits wait for -------------------------------------------------------------


def condition_at(obj: dict[str, Any], type_: str, *, generation: int) -> dict[str, Any] | None:
    """The condition, when it was written for `generation` or later."""
    cond = find_condition(obj, type_)
    if cond is None or int(cond.get("observedGeneration") or 0) < generation:
        return None
    return cond


def is_running_as_wanted(obj: dict[str, Any], *, running: bool, generation: int) -> bool:
    """Running=True (running) or Running=False/Stopped, for `generation` or later."""
    cond = condition_at(obj, RUNNING, generation=generation)
    if cond is None:
        return False
    if running:
        return cond.get("status") == "True"
    return cond.get("status") == "False" and cond.get("reason") == Reason.STOPPED


def is_created(obj: dict[str, Any], *, running: bool, generation: int) -> bool:
    """Created=True, and Running=True too when it was created running."""
    cond = condition_at(obj, CREATED, generation=generation)
    if cond is None or cond.get("status") != "True":
        return False
    return not running or is_running_as_wanted(obj, running=True, generation=generation)


def is_restarted(obj: dict[str, Any], *, restarts_before: int, went_down: bool) -> bool:
    """The controller took the restart request (annotation gone) and the VM
    is Running again after having been down (or its restartCount grew)."""
    if RESTART_ANNOTATION in obj.get("metadata", {}).get("annotations", {}):
        return False
    generation = int(obj.get("metadata", {}).get("generation") or 0)
    if not is_running_as_wanted(obj, running=True, generation=generation):
        return False
    return went_down or int(obj.get("status", {}).get("restartCount") or 0) > restarts_before


def is_down(obj: dict[str, Any]) -> bool:
    cond = find_condition(obj, RUNNING)
    return cond is None or cond.get("status") != "True"


def _version(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def is_template_applied(obj: dict[str, Any], *, template_version: str) -> bool:
    """The instance is built from the template ConfigMap at `template_version`
    (or later), no restart is pending, and it runs (or not) as spec.running says."""
    status = obj.get("status", {})
    if _version(status.get("observedTemplateResourceVersion")) < _version(template_version):
        return False
    if status.get("restartNeeded"):
        return False
    generation = int(obj.get("metadata", {}).get("generation") or 0)
    running = bool(obj.get("spec", {}).get("running"))
    return is_running_as_wanted(obj, running=running, generation=generation)


def timeout_message(name: str, goal: str, last: Mapping[str, Any] | None, timeout: str) -> str:
    """`timed out after 30s waiting for limavms/vm1 to be running (now: Running=False: ...)`."""
    now = ""
    if last is not None:
        cond = find_condition(dict(last), RUNNING)
        if cond is not None:
            now = (
                f" (now: Running={cond.get('status')}: {cond.get('message', '')} "
                f"({cond.get('reason', '')}))"
            )
        finalizers = last.get("metadata", {}).get("finalizers", [])
        if last.get("metadata", {}).get("deletionTimestamp") and finalizers:
            now = f" (finalizers left: {', '.join(finalizers)})"
    return f"timed out after {timeout} waiting for {plural_form(LIMAVM, name)} to be {goal}{now}"


# -- shell ----------------------------------------------------------------------------


def shell_invocation(
    limactl: str, name: str, command: Sequence[str], *, lima_home: str, env: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """argv and environment for `limactl shell -- NAME [CMD...]` on the
    service's LIMA_HOME. The `--` keeps the command's own flags (`uname -a`)
    away from limactl's flag parser: Lima stops parsing flags at the instance
    name, but a parser that reads flags anywhere still stops at `--`."""
    environment = dict(env)
    environment["LIMA_HOME"] = lima_home
    return [limactl, "shell", "--", name, *command], environment
