"""`rdd ctl VERB`: kubectl's verbs, each run by the module VERBS names."""

from __future__ import annotations

import argparse

from rdd.cli.parsing import Command, Words, add_commands

VERBS = (
    Command("get", "getting", "show resources"),
    Command("describe", "describing", "show objects in detail, with their events"),
    Command("apply", "applying", "create or update from YAML"),
    Command("patch", "patching", "patch one object (JSON merge or JSON patch)"),
    Command("annotate", "patching", "set (key=value) or remove (key-)"),
    Command("label", "labeling", "set (key=value) or remove (key-) labels"),
    Command("delete", "deleting", "delete objects by name, selector, --all or -f"),
    Command("diff", "diffing", "what apply would change: exit 0 none, 1 some, 2 error"),
    Command("api-resources", "resources", "the kinds served, like kubectl's"),
    Command("wait", "ctlwait", "wait until a condition holds (by watching)"),
)


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    verbs = parser.add_subparsers(dest="ctl_command", metavar="VERB", required=True)
    add_commands(verbs, VERBS, words)
