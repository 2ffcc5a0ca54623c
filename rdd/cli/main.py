"""`rdd` entry point: the command table, dispatch, and the one place that
turns failures into kubectl-shaped messages and exit codes (never a
traceback): `error: ...` for problems on this side, `Error from server
(<reason>): ...` for the server's; 1 on any error, 3 when admission denied
`rdd set/start/stop`, 2 on any error of `rdd ctl diff` (whose 1 means
"differences"), 130 on Ctrl-C.

A new command is a line in COMMANDS and a module with `configure(name,
parser, words)` that adds its flags and `run` (sync) or `run_async`
(given a Connection)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from rdd.cli.arguments import UsageError
from rdd.cli.console import Console, usage_error_line
from rdd.cli.interrupt import run_interruptible
from rdd.cli.parsing import Command, Parser, Words, add_commands, positional_words
from rdd.config import SettingsError
from rdd.errors import ApiError, ForbiddenError, UnavailableError

if TYPE_CHECKING:
    from rdd.cli.connection import Connection

AsyncCommand = Callable[["Connection", argparse.Namespace, Console], Awaitable[int]]
SyncCommand = Callable[[argparse.Namespace, Console], int]

#: Every command, in the order `rdd --help` lists them; each module fills
#: its own sub-parser (rdd.cli.parsing.add_commands).
COMMANDS = (
    Command("svc", "svc", "run the stack (etcd and the three services)"),
    Command("config", "svc", "the client configuration"),
    Command("ctl", "ctl", "read and write resources, like kubectl"),
    Command("set", "setting", "set running=true|false on the App"),
    Command("start", "setting", "same as: rdd set running=true"),
    Command("stop", "setting", "same as: rdd set running=false"),
    Command("limavm", "limavm", "run LimaVMs directly: list, create, start, ..."),
    Command("version", "versions", "the client's and each service's version"),
    Command("completion", "completion", "print a shell completion script"),
)


class _VersionShown(Exception):
    """`rdd --version` was given: print the version instead of running."""


class _ShowVersion(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        raise _VersionShown


def build_parser(words: Words = None) -> argparse.ArgumentParser:
    """The parser; configured only for the command `words` names (None: all)."""
    parser = Parser(prog="rdd", description="Keep a Lima VM in the state you declare.")
    parser.add_argument(
        "--version", action=_ShowVersion, nargs=0, help="print the client's version and exit"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(commands, COMMANDS, words)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, letting names follow flags (`get cm -n x NAME`) as kubectl does."""
    parser = build_parser(positional_words(argv if argv is not None else sys.argv[1:]))
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
    from rdd.cli.connection import Connection

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
        from rdd.cli.versions import version_line

        console.line(version_line())
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
        from rdd.cli.connection import explain_unavailable
        from rdd.config import Settings

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
