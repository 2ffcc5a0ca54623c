"""The parser's building blocks (rdd.cli.main puts them together): the
argparse subclass whose usage errors are kubectl's, the shared flags
(-n/-A, --dry-run, --wait/--timeout, -l/--field-selector), and the lazy
command table.

A `Command` names the module that fills its sub-parser (`configure(name,
parser, words)`); only the command being run is imported and configured,
the others get a bare sub-parser with their help line, so `rdd ctl get` does
not import what `svc start`, `apply` or `completion` need. `words` (the
command line's remaining positional words) lets a group (`ctl`, `svc`,
`limavm`) do the same for its verbs; None configures everything (help,
completion)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from rdd.cli.arguments import UsageError, parse_bool, parse_dry_run

#: The command line's positional words after a command, or None: all of them.
Words = Sequence[str] | None


class Parser(argparse.ArgumentParser):
    """Usage problems exit 1 with `error: ...`, like kubectl (argparse uses 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\nSee '{self.prog} --help' for usage.")


@dataclass(frozen=True)
class Command:
    """One (sub)command: its word, the module that configures it, its help line."""

    name: str
    module: str
    help: str


def add_commands(
    subparsers: Any, commands: Sequence[Command], words: Words, *, package: str = "rdd.cli"
) -> None:
    """A sub-parser per command; the one `words` starts with (all when None)
    is configured by its module."""
    chosen = None if words is None else next(iter(words), "")
    rest = None if words is None else list(words)[1:]
    for command in commands:
        parser = subparsers.add_parser(command.name, help=command.help)
        if chosen is None or chosen == command.name:
            module = importlib.import_module(f"{package}.{command.module}")
            module.configure(command.name, parser, rest)


def positional_words(argv: Sequence[str]) -> list[str]:
    """The words that may name commands: those not starting with `-`."""
    return [word for word in argv if not word.startswith("-")]


def typed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type` from one of our parsers (its message, not argparse's)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = parse.__name__
    return convert


def namespace_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    parser.add_argument("-n", "--namespace", help="namespace (default: default)")
    if all_namespaces:
        parser.add_argument(
            "-A", "--all-namespaces", action="store_true", help="list across all namespaces"
        )


def dry_run_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        nargs="?",
        const="client",
        default="none",
        type=typed(parse_dry_run),
        metavar="none|server|client",
        help="server: run admission, persist nothing; client: only print",
    )


def bool_flag(parser: argparse.ArgumentParser, flag: str, *, default: Any, help: str) -> None:
    """`--flag`, `--flag=true|false` (Go's booleans)."""
    parser.add_argument(
        flag,
        nargs="?",
        const=True,
        default=default,
        type=typed(parse_bool),
        metavar="true|false",
        help=help,
    )


def wait_flags(parser: argparse.ArgumentParser, *, timeout: str, what: str) -> None:
    bool_flag(parser, "--wait", default=True, help=f"wait until {what} (default true)")
    parser.add_argument("--timeout", default=timeout, help=f"e.g. 30s, 5m (default {timeout})")


def selector_flags(parser: argparse.ArgumentParser) -> None:
    """`-l` and `--field-selector`, evaluated by the server."""
    parser.add_argument(
        "-l", "--selector", help="label selector: k=v, k!=v, k, !k, k in (a,b), k notin (a,b)"
    )
    parser.add_argument(
        "--field-selector",
        help="field selector: metadata.name=x, metadata.namespace!=y (events: "
        "involvedObject.name, involvedObject.kind, type, reason)",
    )
