"""Pure parts of diff, api-resources, completion, svc logs, delete, patch
input and version."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rdd.cli import completion, diffing, resources, stacklogs, versions
from rdd.cli.arguments import UsageError
from rdd.cli.deleting import check_arguments, ignores_not_found
from rdd.cli.main import build_parser, parse
from rdd.cli.manifests import to_manifest
from rdd.cli.patching import parse_patch
from rdd.kinds import ALL_KINDS, APP, EVENT, LIMAVM
from rdd.version import version_info


def test_diff_names_and_text() -> None:
    manifest = to_manifest(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, "f", namespace="n"
    )
    assert diffing.object_name(manifest) == "v1.ConfigMap.n.a"
    assert diffing.unified("x", "a: 1\n", "a: 1\n") == ""
    text = diffing.unified("x", "", "a: 1\n")
    assert text.splitlines() == [
        "diff -u -N LIVE/x MERGED/x",
        "--- LIVE/x",
        "+++ MERGED/x",
        "@@ -0,0 +1 @@",
        "+a: 1",
    ]
    assert diffing.shown(None) == ""
    assert "managedFields" not in diffing.shown({"metadata": {"name": "a", "managedFields": [1]}})


def test_api_resources_order_and_filters() -> None:
    ordered = resources.selected(ALL_KINDS)
    assert [k.plural for k in ordered] == ["configmaps", "events", "apps", "limavms"]
    assert resources.selected(ALL_KINDS, namespaced=False) == [APP]
    assert resources.selected(ALL_KINDS, api_group="lima.rancherdesktop.io") == [LIMAVM]
    assert [k.kind for k in resources.selected(ALL_KINDS, sort_by="kind")] == [
        "App",
        "ConfigMap",
        "Event",
        "LimaVM",
    ]
    assert resources.verbs(EVENT) == ["get", "list", "watch"]
    assert resources.rows([APP])[1] == [
        "apps",
        "",
        "app.rancherdesktop.io/v1alpha1",
        "false",
        "App",
    ]


def test_completion_tree_comes_from_the_parser() -> None:
    nodes = {n.path: n for n in completion.command_tree(build_parser())}
    assert {"svc", "ctl", "version", "completion"} <= set(nodes["rdd"].commands)
    assert "--version" in nodes["rdd"].flags
    assert "logs" in nodes["rdd svc"].commands
    assert nodes["rdd ctl get"].kinds and "cm" in nodes["rdd ctl get"].words
    assert not nodes["rdd ctl apply"].kinds
    with pytest.raises(UsageError):
        completion.script("tcsh", build_parser())


def test_log_component_names(tmp_path: Path) -> None:
    assert stacklogs.component_order("app-2") > stacklogs.component_order("app")
    assert stacklogs.component_order("app") > stacklogs.component_order("etcd")
    with pytest.raises(UsageError):
        stacklogs.check_component("app-x")
    for name in ("app-1.log", "etcd.log", "app.log", "app.log.1", "other.log"):
        (tmp_path / name).write_text("")
    assert stacklogs.components_with_logs(tmp_path) == ["etcd", "app", "app-1"]
    assert stacklogs.log_files(tmp_path / "app.log") == [
        tmp_path / "app.log.1",
        tmp_path / "app.log",
    ]
    assert stacklogs.last_lines([b"1\n", b"2\n", b"3\n"], 2) == [b"2\n", b"3\n"]
    assert stacklogs.last_lines([b"1\n"], -1) == [b"1\n"]
    assert stacklogs.last_lines([b"1\n"], 0) == []


def test_follower_reads_complete_lines_and_survives_rotation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntw")
    follower = stacklogs.Follower("app", log)
    assert follower.poll() == [b"one\n"]
    with open(log, "ab") as handle:
        handle.write(b"o\n")
    assert follower.poll() == [b"two\n"]
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(b"three\n")
    assert follower.poll() == [b"three\n"]
    follower.close()


def _delete_args(*argv: str) -> argparse.Namespace:
    return parse(["ctl", "delete", *argv])


def test_delete_arguments() -> None:
    check_arguments(_delete_args("cm", "a"))
    check_arguments(_delete_args("-f", "x.yaml"))
    for argv, message in [
        (("cm", "a", "-f", "x"), "when paths, URLs, or stdin is provided"),
        (("cm", "--all", "-l", "a"), "cannot set --all and --selector"),
        (("cm", "a", "--all"), "name cannot be provided when a selector is specified"),
        (("cm",), "resource(s) were provided, but no name was specified"),
        ((), "You must provide one or more resources"),
    ]:
        with pytest.raises(UsageError) as info:
            check_arguments(_delete_args(*argv))
        assert info.value.message.startswith(message)
    assert ignores_not_found(_delete_args("cm", "--all"))
    assert not ignores_not_found(_delete_args("cm", "--all", "--ignore-not-found=false"))
    assert not ignores_not_found(_delete_args("cm", "a"))


def test_patches_are_read_as_yaml_or_json() -> None:
    assert parse_patch('{"data": {"a": "1"}}') == {"data": {"a": "1"}}
    assert parse_patch("data:\n  a: '1'\n") == {"data": {"a": "1"}}
    assert parse_patch("- {op: remove, path: /a}", "json") == [{"op": "remove", "path": "/a"}]
    with pytest.raises(UsageError) as info:
        parse_patch("[1]")
    assert info.value.message == 'unable to parse "[1]": a merge patch must be a JSON object'


def test_version_documents() -> None:
    info = version_info("1.2.3")
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "2", "v1.2.3")
    assert info["platform"].count("/") == 1
    assert versions.document(info, {}) == {"clientVersion": info}
    assert versions.text(info, {"app": info}) == (
        "Client Version: v1.2.3\nServer Version (app): v1.2.3\n"
    )
