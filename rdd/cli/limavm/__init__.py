"""`rdd limavm VERB`: LimaVMs for people who run them directly
(docs/limavm.md). A NAME is looked up in every namespace unless -n is given.

lifecycle: list, create, start, stop, restart, delete; editing: edit;
access: logs, shell; common: what they share; vms: the pure parts."""

from __future__ import annotations

import argparse

from rdd.cli.parsing import Command, Words, add_commands

VERBS = (
    Command("list", "lifecycle", "LimaVMs of every namespace (-n: of one)"),
    Command("create", "lifecycle", "create a LimaVM from a template file or ConfigMap"),
    Command("start", "lifecycle", "set spec.running=true"),
    Command("stop", "lifecycle", "set spec.running=false"),
    Command("restart", "lifecycle", "stop and start a running VM"),
    Command("delete", "lifecycle", "delete a LimaVM and its instance"),
    Command("edit", "editing", "edit the template in $EDITOR"),
    Command("logs", "access", "the host agent's logs (ha.stderr.log, ha.stdout.log)"),
    Command("shell", "access", "limactl shell NAME [CMD...] (lima driver only)"),
)


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    verbs = parser.add_subparsers(dest="limavm_command", metavar="VERB", required=True)
    add_commands(verbs, VERBS, words, package="rdd.cli.limavm")
