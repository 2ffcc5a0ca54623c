"""`rdd` entry point: the argument parser, dispatch, and the one place that
turns failures into kubectl-shaped messages and exit codes (never a
traceback): `error: ...` for problems on this side, `Error from server
(<reason>): ...` for the server's; 1 on any error, 3 when admission denied
`rdd set/start/stop`, 2 on any error of `rdd ctl diff` (whose 1 means
"differences"), 130 on Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn, TextIO

from rdd.cli import (
    applying,
    completion,
    ctl,
    deleting,
    describing,
    diffing,
    editing,
    getting,
    labeling,
    limavm,
    logs_cmd,
    patching,
    resources,
    setting,
    svc,
    versions,
)
from rdd.cli.arguments import UsageError, parse_bool, parse_dry_run
from rdd.cli.connection import Connection, explain_unavailable
from rdd.cli.console import Console, usage_error_line
from rdd.cli.interrupt import run_interruptible
from rdd.cli.vms import TEMPLATE_HELP
from rdd.config import Settings, SettingsError
from rdd.errors import ApiError, ForbiddenError, UnavailableError

AsyncCommand = Callable[[Connection, argparse.Namespace, Console], Awaitable[int]]
SyncCommand = Callable[[argparse.Namespace, Console], int]


class _Parser(argparse.ArgumentParser):
    """Usage problems exit 1 with `error: ...`, like kubectl (argparse uses 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\nSee '{self.prog} --help' for usage.")


def _typed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type` from one of our parsers (its message, not argparse's)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = parse.__name__
    return convert


def _namespace_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    parser.add_argument("-n", "--namespace", help="namespace (default: default)")
    if all_namespaces:
        parser.add_argument(
            "-A", "--all-namespaces", action="store_true", help="list across all namespaces"
        )


def _dry_run_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        nargs="?",
        const="client",
        default="none",
        type=_typed(parse_dry_run),
        metavar="none|server|client",
        help="server: run admission, persist nothing; client: only print",
    )


def _wait_flags(parser: argparse.ArgumentParser, *, timeout: str, what: str) -> None:
    parser.add_argument(
        "--wait",
        nargs="?",
        const=True,
        default=True,
        type=_typed(parse_bool),
        metavar="true|false",
        help=f"wait until {what} (default true)",
    )
    parser.add_argument("--timeout", default=timeout, help=f"e.g. 30s, 5m (default {timeout})")


def _limavm_parser(commands: Any) -> None:
    """`rdd limavm VERB`: a NAME is looked up in every namespace unless -n is given."""
    parser = commands.add_parser("limavm", help="run LimaVMs directly: list, create, start, ...")
    verbs = parser.add_subparsers(dest="limavm_command", metavar="VERB", required=True)

    listing = verbs.add_parser("list", help="LimaVMs of every namespace (-n: of one)")
    _namespace_flags(listing)
    listing.add_argument("-o", "--output", help="json|yaml|name (default: a table)")
    listing.set_defaults(run_async=limavm.list_vms)

    create = verbs.add_parser("create", help="create a LimaVM from a template file or ConfigMap")
    create.add_argument("name", metavar="NAME")
    create.add_argument("template", metavar="TEMPLATE", help=TEMPLATE_HELP)
    create.add_argument("--start", action="store_true", help="create it running")
    _namespace_flags(create)
    _wait_flags(create, timeout="10m", what="it is created (and running, with --start)")
    create.set_defaults(run_async=limavm.create)

    for verb, command, summary, until in (
        ("start", limavm.start, "set spec.running=true", "it is Running"),
        ("stop", limavm.stop, "set spec.running=false", "it is Stopped"),
        ("restart", limavm.restart, "stop and start a running VM", "it is Running again"),
        ("delete", limavm.delete, "delete a LimaVM and its instance", "it is gone"),
        ("edit", editing.edit, "edit the template in $EDITOR", "it runs the new template"),
    ):
        each = verbs.add_parser(verb, help=summary)
        each.add_argument("name", metavar="NAME")
        _namespace_flags(each)
        _wait_flags(each, timeout="10m", what=f"{until}; 0 for no time limit")
        each.set_defaults(run_async=command)

    logs = verbs.add_parser("logs", help="the host agent's logs (ha.stderr.log, ha.stdout.log)")
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    _namespace_flags(logs)
    logs.set_defaults(run_async=limavm.logs)

    shell = verbs.add_parser("shell", help="limactl shell NAME [CMD...] (lima driver only)")
    _namespace_flags(shell)
    shell.add_argument("name", metavar="NAME")
    shell.add_argument("shell_command", nargs=argparse.REMAINDER, metavar="CMD")
    shell.set_defaults(run=limavm.shell)


def _selector_flags(parser: argparse.ArgumentParser) -> None:
    """`-l` and `--field-selector`, evaluated by the server."""
    parser.add_argument(
        "-l", "--selector", help="label selector: k=v, k!=v, k, !k, k in (a,b), k notin (a,b)"
    )
    parser.add_argument(
        "--field-selector",
        help="field selector: metadata.name=x, metadata.namespace!=y (events: "
        "involvedObject.name, involvedObject.kind, type, reason)",
    )


def _get_parser(commands: Any) -> None:
    get = commands.add_parser("get", help="show resources")
    get.add_argument("resources", nargs="+", metavar="KIND[,KIND...]|all [NAME...]")
    _namespace_flags(get, all_namespaces=True)
    get.add_argument(
        "-o",
        "--output",
        help="json|yaml|name|wide|jsonpath=TEMPLATE|custom-columns=HEADER:PATH,...",
    )
    get.add_argument(
        "--chunk-size", type=int, default=500, help="list in pages of this many (0: no limit)"
    )
    _selector_flags(get)
    get.add_argument(
        "-w", "--watch", action="store_true", help="after the list, print every change"
    )
    get.add_argument(
        "--watch-only", action="store_true", help="print every change, not the list first"
    )
    get.add_argument("--show-labels", action="store_true", help="a LABELS column")
    get.add_argument("--no-headers", action="store_true", help="tables without the header")
    get.add_argument("--sort-by", metavar="JSONPATH", help="e.g. .metadata.creationTimestamp")
    get.set_defaults(run_async=getting.get, rest="resources")


def _describe_parser(commands: Any) -> None:
    describe = commands.add_parser("describe", help="show objects in detail, with their events")
    describe.add_argument("resources", nargs="+", metavar="KIND [NAME...]")
    _namespace_flags(describe, all_namespaces=True)
    _selector_flags(describe)
    describe.set_defaults(run_async=describing.describe, rest="resources")


def _delete_parser(commands: Any) -> None:
    delete = commands.add_parser("delete", help="delete objects by name, selector, --all or -f")
    delete.add_argument("resources", nargs="*", metavar="KIND [NAME...]")
    delete.add_argument(
        "-f", "--filename", action="append", help="every object of a file, folder or - (stdin)"
    )
    delete.add_argument(
        "--all", action="store_true", help="every object of KIND in the namespace (-A: in all)"
    )
    delete.add_argument(
        "--ignore-not-found",
        nargs="?",
        const=True,
        default=None,
        type=_typed(parse_bool),
        metavar="true|false",
        help="a missing object is no error (default true with --all, -l, --field-selector)",
    )
    _selector_flags(delete)
    _namespace_flags(delete, all_namespaces=True)
    _dry_run_flag(delete)
    _wait_flags(delete, timeout="0", what="the objects are gone (0: no time limit)")
    delete.set_defaults(run_async=deleting.delete, rest="resources")


def _patch_parser(commands: Any) -> None:
    patch = commands.add_parser("patch", help="patch one object (JSON merge or JSON patch)")
    patch.add_argument("resource", nargs="+", metavar="KIND NAME")
    patch.add_argument(
        "--type", default="merge", help="merge (RFC 7386, the default) or json (RFC 6902)"
    )
    patch.add_argument("-p", "--patch", help="the patch: a JSON (or YAML) object, or list for json")
    patch.add_argument("--patch-file", metavar="FILE", help="read the patch from FILE")
    _namespace_flags(patch)
    _dry_run_flag(patch)
    patch.set_defaults(run_async=patching.patch, rest="resource")


def _label_parser(commands: Any) -> None:
    label = commands.add_parser("label", help="set (key=value) or remove (key-) labels")
    label.add_argument("args", nargs="+", metavar="KIND NAME KEY=VALUE|KEY-")
    label.add_argument("--overwrite", action="store_true", help="replace existing values")
    _namespace_flags(label)
    _dry_run_flag(label)
    label.set_defaults(run_async=labeling.label, rest="args")


def _diff_parser(commands: Any) -> None:
    diff = commands.add_parser("diff", help="what apply would change: exit 0 none, 1 some, 2 error")
    diff.add_argument(
        "-f", "--filename", action="append", required=True, help="file, folder or - for stdin"
    )
    _namespace_flags(diff)
    diff.set_defaults(run_async=diffing.diff, error_exit=diffing.ERROR_EXIT)


def _api_resources_parser(commands: Any) -> None:
    listing = commands.add_parser("api-resources", help="the kinds served, like kubectl's")
    listing.add_argument("-o", "--output", help="wide|name")
    listing.add_argument(
        "--namespaced",
        nargs="?",
        const=True,
        default=None,
        type=_typed(parse_bool),
        metavar="true|false",
        help="only namespaced kinds (false: only cluster-scoped ones)",
    )
    listing.add_argument("--api-group", help='only this group ("" for the core group)')
    listing.add_argument("--sort-by", help="name|kind")
    listing.add_argument("--no-headers", action="store_true", help="no header row")
    listing.set_defaults(run=resources.api_resources)


def _svc_logs_parser(commands: Any) -> None:
    logs = commands.add_parser("logs", help="a component's log lines (none named: all of them)")
    logs.add_argument(
        "component", nargs="?", metavar="COMPONENT", help="etcd|webhook|limavm|app|app-1..."
    )
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument(
        "--tail", type=int, default=-1, metavar="N", help="the last N lines of each (-1: all)"
    )
    logs.set_defaults(run=logs_cmd.logs)


def _version_parser(commands: Any) -> None:
    version = commands.add_parser("version", help="the client's and each service's version")
    version.add_argument("-o", "--output", help="json|yaml")
    version.add_argument("--client", action="store_true", help="only the client's version")
    version.set_defaults(run_async=versions.version)


def _completion_parser(commands: Any) -> None:
    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", metavar="bash|zsh|fish")
    completion.set_defaults(run=_completion)


def _completion(args: argparse.Namespace, console: Console) -> int:
    console.write(completion.script(args.shell, build_parser()))
    return 0


class _VersionShown(Exception):
    """`rdd --version` was given: print the version instead of running."""


class _ShowVersion(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        raise _VersionShown


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rdd", description="Keep a Lima VM in the state you declare.")
    parser.add_argument(
        "--version", action=_ShowVersion, nargs=0, help="print the client's version and exit"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    svc_parser = commands.add_parser("svc", help="run the stack (etcd and the three services)")
    svc_commands = svc_parser.add_subparsers(dest="svc_command", metavar="ACTION", required=True)
    start = svc_commands.add_parser("start", help="start what is not running")
    start.add_argument("--timeout", default="60s", help="per component (default 60s)")
    start.add_argument(
        "--listen",
        metavar="unix|tcp[://ADDRESS]",
        help="unix sockets in $RDD_HOME/run (default), or TCP with TLS and a token "
        "(on 127.0.0.1, or ADDRESS); also RDD_LISTEN",
    )
    start.add_argument(
        "--etcd-members",
        metavar="N",
        help="run an etcd cluster of N members: 1, 3 or 5 (default 1)",
    )
    start.add_argument(
        "--replicas", metavar="M", help="run M processes of each service (default 1)"
    )
    start.add_argument(
        "--metrics",
        action="store_true",
        help="each service serves Prometheus metrics on a loopback port; also RDD_METRICS=1",
    )
    start.set_defaults(run=svc.start)
    rotate = svc_commands.add_parser(
        "rotate-credentials", help="new token, CA and certificates for a stopped stack"
    )
    rotate.set_defaults(run=svc.rotate_credentials)
    stop = svc_commands.add_parser("stop", help="stop everything this RDD_HOME started")
    stop.set_defaults(run=svc.stop)
    status = svc_commands.add_parser("status", help="pid, address and health of each component")
    status.add_argument("-o", "--output", help="json")
    status.set_defaults(run=svc.status)
    _svc_logs_parser(svc_commands)

    config_parser = commands.add_parser("config", help="the client configuration")
    config_commands = config_parser.add_subparsers(
        dest="config_command", metavar="ACTION", required=True
    )
    view = config_commands.add_parser(
        "view", help="print the client configuration, the token and CA redacted"
    )
    view.add_argument("--raw", action="store_true", help="print the token and CA too")
    view.set_defaults(run=svc.config_view)

    ctl_parser = commands.add_parser("ctl", help="read and write resources, like kubectl")
    ctl_commands = ctl_parser.add_subparsers(dest="ctl_command", metavar="VERB", required=True)

    _get_parser(ctl_commands)
    _describe_parser(ctl_commands)

    apply = ctl_commands.add_parser("apply", help="create or update from YAML")
    apply.add_argument(
        "-f", "--filename", action="append", required=True, help="file, folder or - for stdin"
    )
    _namespace_flags(apply)
    _dry_run_flag(apply)
    apply.set_defaults(run_async=applying.apply)

    _patch_parser(ctl_commands)

    annotate = ctl_commands.add_parser("annotate", help="set (key=value) or remove (key-)")
    annotate.add_argument("args", nargs="+", metavar="KIND NAME KEY=VALUE|KEY-")
    annotate.add_argument("--overwrite", action="store_true", help="replace existing values")
    _namespace_flags(annotate)
    _dry_run_flag(annotate)
    annotate.set_defaults(run_async=patching.annotate, rest="args")

    _label_parser(ctl_commands)
    _delete_parser(ctl_commands)
    _diff_parser(ctl_commands)
    _api_resources_parser(ctl_commands)

    wait = ctl_commands.add_parser("wait", help="wait until a condition holds (by watching)")
    wait.add_argument("resources", nargs="+", metavar="KIND/NAME")
    wait.add_argument(
        "--for",
        dest="wait_for",
        help="create|delete|condition=TYPE[=STATUS]|jsonpath='{.path}'=VALUE",
    )
    wait.add_argument("--timeout", default="30s", help="default 30s; 0: check once")
    _namespace_flags(wait)
    wait.set_defaults(run_async=ctl.wait, rest="resources")

    for name, command, summary in (
        ("set", setting.set_command, "set running=true|false on the App"),
        ("start", setting.start, "same as: rdd set running=true"),
        ("stop", setting.stop, "same as: rdd set running=false"),
    ):
        shortcut = commands.add_parser(name, help=summary)
        if name == "set":
            shortcut.add_argument("assignment", metavar="running=true|false")
        shortcut.add_argument(
            "--dry-run",
            nargs="?",
            const=True,
            default=False,
            type=_typed(lambda text: parse_dry_run(text) != "none"),
            metavar="server",
            help="run admission, persist nothing",
        )
        _wait_flags(shortcut, timeout="10m", what="the App is Settled")
        shortcut.set_defaults(run_async=command, forbidden_exit=3)

    _limavm_parser(commands)
    _version_parser(commands)
    _completion_parser(commands)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, letting names follow flags (`get cm -n x NAME`) as kubectl does."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    rest = getattr(args, "rest", None)
    if extra:
        unknown = [word for word in extra if word.startswith("-") and word != "-"]
        if unknown or rest is None:
            parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
        getattr(args, rest).extend(extra)
    if hasattr(args, "namespace"):
        args.namespace_given = args.namespace is not None
        args.namespace = args.namespace or "default"
    return args


async def _run_connected(command: AsyncCommand, args: argparse.Namespace, console: Console) -> int:
    async with Connection.from_env(console.env) as conn:
        return await command(conn, args, console)


def run(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run one command; returns the exit status."""
    console = Console(out or sys.stdout, err or sys.stderr, os.environ if env is None else env)
    forbidden_exit = error_exit = 1
    try:
        args = parse(argv)
        forbidden_exit = getattr(args, "forbidden_exit", 1)
        error_exit = getattr(args, "error_exit", 1)
        if hasattr(args, "run_async"):
            return run_interruptible(_run_connected(args.run_async, args, console))
        command: SyncCommand = args.run
        return command(args, console)
    except _VersionShown:
        console.line(versions.version_line())
        return 0
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:
        console.warn(usage_error_line(exc.message))
        return error_exit if exc.exit_code == 1 else exc.exit_code
    except SettingsError as exc:
        console.warn(usage_error_line(str(exc)))
        return error_exit
    except UnavailableError as exc:
        reason = explain_unavailable(Settings.from_env(console.env))
        if reason:
            console.warn(usage_error_line(reason))
        else:
            console.api_error(exc)
        return error_exit
    except ApiError as exc:
        console.api_error(exc)
        return forbidden_exit if isinstance(exc, ForbiddenError) else error_exit
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the contract: never a traceback
        if console.env.get("RDD_DEBUG"):
            raise
        console.warn(usage_error_line(f"unexpected {type(exc).__name__}: {exc}"))
        return error_exit


def main() -> NoReturn:
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`rdd ctl get ... | head`): say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
