"""`rdd completion bash|zsh|fish`: a shell completion script generated from
the argparse parser itself, so it offers exactly the commands and flags
`rdd` has (and the kinds where a `rdd ctl` verb takes a KIND).

Every shell gets the same logic in its own syntax: walk the words typed so
far to find the command path (`rdd ctl get`), then offer that path's
subcommands, flags and kinds; after `-f`, `--filename` and `--patch-file`,
file names. The scripts are pure text (`script(shell, parser)`)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from rdd.cli.arguments import UsageError
from rdd.cli.console import Console
from rdd.cli.parsing import Words
from rdd.kinds import ALL_KINDS

SHELLS = ("bash", "zsh", "fish")
#: Flags whose value is a file name: the shells complete files after them.
FILE_FLAGS = ("-f", "--filename", "--patch-file")


@dataclass(frozen=True)
class Node:
    """One command path and what may follow it."""

    path: str
    commands: tuple[str, ...]
    flags: tuple[str, ...]
    kinds: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return self.commands + (kind_words() if self.kinds else ()) + self.flags


def kind_words() -> tuple[str, ...]:
    """What a KIND argument may be: plurals, short names, and `all`."""
    words: list[str] = []
    for kind in ALL_KINDS:
        words += [kind.plural, *kind.short_names]
    return (*words, "all")


def command_tree(parser: argparse.ArgumentParser, path: str = "rdd") -> list[Node]:
    """Every command path of the parser, depth first (pure)."""
    commands: list[str] = []
    children: list[Node] = []
    flags: list[str] = []
    takes_kind = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands.append(name)
                children += command_tree(sub, f"{path} {name}")
        elif action.option_strings:
            flags += action.option_strings
        elif "KIND" in str(action.metavar or ""):
            takes_kind = True
    return [Node(path, tuple(commands), tuple(flags), takes_kind), *children]


def _words(node: Node) -> str:
    return " ".join(shlex.quote(w) for w in node.words)


def _parents(nodes: Sequence[Node]) -> str:
    """The paths that have subcommands: `"rdd svc"|"rdd ctl"`."""
    return "|".join(f'"{n.path}"' for n in nodes if n.path != "rdd")


def bash(nodes: Sequence[Node]) -> str:
    cases = "\n".join(f'        "{n.path}") words={shlex.quote(_words(n))} ;;' for n in nodes)
    return f"""# bash completion for rdd: eval "$(rdd completion bash)", e.g. in ~/.bashrc
_rdd() {{
    local cur word words i cmdpath="rdd"
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        case "$cmdpath $word" in
            {_parents(nodes)}) cmdpath="$cmdpath $word" ;;
        esac
    done
    case "$cmdpath" in
{cases}
        *) words="" ;;
    esac
    case "${{COMP_WORDS[COMP_CWORD-1]}}" in
        {"|".join(FILE_FLAGS)}) COMPREPLY=(); return ;;  # -o default: file names
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _rdd rdd
"""


def zsh(nodes: Sequence[Node]) -> str:
    cases = "\n".join(f'        ("{n.path}") candidates=({_words(n)}) ;;' for n in nodes)
    return f"""#compdef rdd
# zsh completion for rdd: eval "$(rdd completion zsh)" after compinit, e.g. in ~/.zshrc
_rdd() {{
    local cmdpath="rdd" word i
    local -a candidates
    case "${{words[CURRENT-1]}}" in
        ({"|".join(FILE_FLAGS)}) _files; return ;;
    esac
    for ((i = 2; i < CURRENT; i++)); do
        word="${{words[i]}}"
        case "$cmdpath $word" in
            ({_parents(nodes)}) cmdpath="$cmdpath $word" ;;
        esac
    done
    case "$cmdpath" in
{cases}
    esac
    compadd -- "${{candidates[@]}}"
}}
if [[ "${{funcstack[1]}}" == "_rdd" ]]; then
    _rdd "$@"
else
    compdef _rdd rdd
fi
"""


def fish(nodes: Sequence[Node]) -> str:
    parents = " ".join(f'"{n.path}"' for n in nodes if n.path != "rdd")
    cases = "\n".join(
        f'        case "{n.path}"\n            printf "%s\\n" {_words(n)}' for n in nodes
    )
    return f"""# fish completion for rdd: rdd completion fish | source
function __rdd_candidates
    set -l cmdpath rdd
    for word in (commandline -opc)[2..-1]
        if contains -- "$cmdpath $word" {parents}
            set cmdpath "$cmdpath $word"
        end
    end
    switch "$cmdpath"
{cases}
    end
end
complete -c rdd -f -a "(__rdd_candidates)"
complete -c rdd -s f -l filename -r -F
complete -c rdd -l patch-file -r -F
"""


GENERATORS = {"bash": bash, "zsh": zsh, "fish": fish}


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for `shell` (pure)."""
    generate = GENERATORS.get(shell)
    if generate is None:
        raise UsageError(f'unsupported shell type "{shell}": use {", ".join(SHELLS)}')
    return generate(command_tree(parser))


def completion(args: argparse.Namespace, console: Console) -> int:
    from rdd.cli.main import build_parser  # the whole parser: every command configured

    console.write(script(args.shell, build_parser()))
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("shell", metavar="bash|zsh|fish")
    parser.set_defaults(run=completion)
