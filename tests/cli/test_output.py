"""What `rdd ctl get` prints: names, ages, tables, JSON/YAML lists, JSONPath."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from rdd.cli.arguments import OutputFormat
from rdd.cli.output import (
    human_duration,
    name_form,
    no_resources_message,
    plural_form,
    quoted_form,
    sort_objects,
)
from rdd.cli.printing import render, render_table, table_rows
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def configmap(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": stamp(42)},
        "data": data,
    }


LIMAVM_RD = {
    "apiVersion": "lima.rancherdesktop.io/v1alpha1",
    "kind": "LimaVM",
    "metadata": {"name": "rd", "namespace": "default", "creationTimestamp": stamp(300)},
    "spec": {"running": True, "templateRef": {"name": "rd"}},
    "status": {
        "conditions": [
            {"type": "Created", "status": "True", "reason": "Created"},
            {"type": "Running", "status": "False", "reason": "Starting"},
        ],
        "arch": "aarch64",
        "restartCount": 2,
        "templateConfigMap": "rd-template",
    },
}
APP_OBJ = {
    "apiVersion": "app.rancherdesktop.io/v1alpha1",
    "kind": "App",
    "metadata": {"name": "app", "creationTimestamp": stamp(7200)},
    "spec": {"running": False, "namespace": "default"},
    "status": {"conditions": [{"type": "Settled", "status": "True", "reason": "Settled"}]},
}


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        (LIMAVM, "rd", "limavm.lima.rancherdesktop.io/rd"),
        (APP, "app", "app.app.rancherdesktop.io/app"),
        (CONFIGMAP, "rd-template", "configmap/rd-template"),
        (EVENT, "e1", "event/e1"),
    ],
)
def test_name_form(kind: Any, name: str, expected: str) -> None:
    assert name_form(kind, name) == expected


def test_message_forms() -> None:
    assert quoted_form(LIMAVM, "rd") == 'limavm.lima.rancherdesktop.io "rd"'
    assert quoted_form(CONFIGMAP, "rd") == 'configmap "rd"'
    assert plural_form(LIMAVM, "rd") == "limavms/rd"
    assert plural_form(CONFIGMAP, "x") == "configmaps/x"


@pytest.mark.parametrize(
    ("kind", "namespace", "expected"),
    [
        (CONFIGMAP, "default", "No resources found in default namespace."),
        (CONFIGMAP, "", "No resources found"),
        (APP, "", "No resources found"),
    ],
)
def test_no_resources_message(kind: Any, namespace: str, expected: str) -> None:
    assert no_resources_message(kind, namespace) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60 * 20, "3h20m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (10 * 86400, "10d"),
        (800 * 86400, "2y70d"),
        (365 * 86400 * 9, "9y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_render_table_pads_like_kubectl() -> None:
    text = render_table([["NAME", "DATA", "AGE"], ["a-long-name", "1", "5s"], ["b", "10", "1m"]])
    assert text.splitlines() == [
        "NAME          DATA   AGE",
        "a-long-name   1      5s",
        "b             10     1m",
    ]


def test_configmap_table() -> None:
    rows = table_rows(
        CONFIGMAP,
        [configmap("a", x="1", y="2")],
        now=NOW,
        wide=False,
        all_namespaces=False,
    )
    assert rows == [["NAME", "DATA", "AGE"], ["a", "2", "42s"]]


def test_all_namespaces_puts_namespace_first() -> None:
    rows = table_rows(CONFIGMAP, [configmap("a", "ns1")], now=NOW, wide=False, all_namespaces=True)
    assert rows[0][:2] == ["NAMESPACE", "NAME"]
    assert rows[1][:2] == ["ns1", "a"]


def test_cluster_scoped_never_shows_namespace() -> None:
    rows = table_rows(APP, [APP_OBJ], now=NOW, wide=False, all_namespaces=True)
    assert rows == [["NAME", "RUNNING", "SETTLED", "AGE"], ["app", "false", "True", "120m"]]


def test_limavm_table_and_wide() -> None:
    rows = table_rows(LIMAVM, [LIMAVM_RD], now=NOW, wide=False, all_namespaces=False)
    assert rows == [
        ["NAME", "RUNNING", "CREATED", "RUNNING-STATUS", "AGE"],
        ["rd", "true", "True", "False", "5m"],
    ]
    wide = table_rows(LIMAVM, [LIMAVM_RD], now=NOW, wide=True, all_namespaces=False)
    assert wide[0][5:] == ["REASON", "ARCH", "RESTARTS", "TEMPLATE"]
    assert wide[1][5:] == ["Starting", "aarch64", "2", "rd-template"]


def test_missing_values_show_none() -> None:
    bare = {"metadata": {"name": "rd"}}
    rows = table_rows(LIMAVM, [bare], now=NOW, wide=False, all_namespaces=False)
    assert rows[1] == ["rd", "false", "<none>", "<none>", "<none>"]


def _event(name: str, last: float, count: int = 1, first: float | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": "LimaVM", "name": "rd"},
        "type": "Normal",
        "reason": "Started",
        "message": "Lima instance is running",
        "count": count,
        "firstTimestamp": stamp(last if first is None else first),
        "lastTimestamp": stamp(last),
    }


def test_events_newest_last() -> None:
    events = [_event("new", 1), _event("old", 100), _event("mid", 50)]
    assert [e["metadata"]["name"] for e in sort_objects(EVENT, events)] == ["old", "mid", "new"]


def test_event_table() -> None:
    rows = table_rows(
        EVENT, [_event("e", 5, count=3, first=300)], now=NOW, wide=False, all_namespaces=False
    )
    assert rows == [
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        ["5s (x3 over 5m)", "Normal", "Started", "limavm/rd", "Lima instance is running"],
    ]


def test_sort_by_namespace_then_name() -> None:
    objects = [configmap("b", "y"), configmap("a", "y"), configmap("z", "x")]
    assert [
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in sort_objects(CONFIGMAP, objects)
    ] == [("x", "z"), ("y", "a"), ("y", "b")]


def test_render_nothing_for_nothing() -> None:
    for fmt in ("table", "name", "wide"):
        assert render(CONFIGMAP, [], OutputFormat(fmt), single=False, now=NOW) == ""


def test_render_an_empty_list_for_json_and_yaml() -> None:
    empty = {"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}}
    as_json = render(CONFIGMAP, [], OutputFormat("json"), single=False, now=NOW)
    assert json.loads(as_json) == empty
    as_yaml = render(CONFIGMAP, [], OutputFormat("yaml"), single=False, now=NOW)
    assert yaml.safe_load(as_yaml) == empty


def test_render_name() -> None:
    text = render(
        CONFIGMAP, [configmap("a"), configmap("b")], OutputFormat("name"), single=False, now=NOW
    )
    assert text == "configmap/a\nconfigmap/b\n"


def test_render_json_list_and_single() -> None:
    listed = json.loads(
        render(CONFIGMAP, [configmap("a")], OutputFormat("json"), single=False, now=NOW)
    )
    assert listed["apiVersion"] == "v1" and listed["kind"] == "List"
    assert listed["items"][0]["metadata"]["name"] == "a"
    single = json.loads(
        render(CONFIGMAP, [configmap("a")], OutputFormat("json"), single=True, now=NOW)
    )
    assert single["kind"] == "ConfigMap"


def test_render_yaml_keeps_multiline_strings_readable() -> None:
    text = render(
        CONFIGMAP,
        [configmap("a", template="images:\n- location: x\n")],
        OutputFormat("yaml"),
        single=True,
        now=NOW,
    )
    assert "template: |\n" in text
    assert text.startswith("apiVersion: v1\nkind: ConfigMap\n")
    assert yaml.safe_load(text)["data"]["template"] == "images:\n- location: x\n"


def test_render_yaml_list() -> None:
    text = render(
        CONFIGMAP, [configmap("a"), configmap("b")], OutputFormat("yaml"), single=False, now=NOW
    )
    data = yaml.safe_load(text)
    assert data["kind"] == "List" and len(data["items"]) == 2


def test_render_jsonpath_over_a_list() -> None:
    fmt = OutputFormat("jsonpath", "{.items[*].metadata.name}")
    text = render(CONFIGMAP, [configmap("a"), configmap("b")], fmt, single=False, now=NOW)
    assert text == "a b"
