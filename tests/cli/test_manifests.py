"""Manifests for `rdd ctl apply`: document splitting, List expansion, client-side
checks and namespaces, with the error texts people see."""

from __future__ import annotations

import pytest

from rdd.cli.arguments import UsageError
from rdd.cli.manifests import load_manifests, split_documents, to_manifest
from rdd.kinds import APP, CONFIGMAP

TWO = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  k: v
---
# a comment-only document is skipped
---
apiVersion: app.rancherdesktop.io/v1alpha1
kind: App
metadata:
  name: app
  namespace: ignored
spec:
  running: true
"""


def test_multi_document_yaml() -> None:
    manifests = load_manifests(TWO, "f.yaml", namespace=None)
    assert [(m.kind, m.name, m.namespace) for m in manifests] == [
        (CONFIGMAP, "a", "default"),
        (APP, "app", ""),
    ]
    assert manifests[1].data["spec"] == {"running": True}


def test_json_is_yaml() -> None:
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}'
    assert load_manifests(text, "f.json", namespace="ns")[0].namespace == "ns"


def test_list_documents_are_expanded() -> None:
    text = """\
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
"""
    assert [d["metadata"]["name"] for d in split_documents(text, "f")] == ["a", "b"]


def test_timestamps_stay_strings() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  creationTimestamp: 2024-01-02T03:04:05Z\n"
    doc = split_documents(text, "f")[0]
    assert doc["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [\n", "error parsing f.yaml: yaml: line 2: "),
        ("a: b: c\n", "error parsing f.yaml: yaml: line 1: mapping values are not allowed"),
        ("- 1\n- 2\n", "error parsing f.yaml: expected an object"),
        ("just text\n", "error parsing f.yaml: expected an object"),
    ],
)
def test_malformed_yaml(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        split_documents(text, "f.yaml")
    assert info.value.message.startswith(message)
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "error parsing f.yaml: yaml: line 1: an alias refers to a node that"),
        ("a: &a {b: *a}\n", "error parsing f.yaml: yaml: line 1: an alias refers to a node that"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "error parsing f.yaml: yaml: line 1: nested too"),
    ],
)
def test_yaml_that_json_cannot_hold(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        split_documents(text, "f.yaml")
    assert info.value.message.startswith(message)


def test_shared_aliases_are_fine() -> None:
    text = "kind: ConfigMap\nx: &x [1]\ny: [*x, *x]\n"
    assert split_documents(text, "f.yaml") == [{"kind": "ConfigMap", "x": [1], "y": [[1], [1]]}]


def test_events_are_read_only() -> None:
    document = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}}
    with pytest.raises(UsageError) as info:
        to_manifest(document, "f", namespace=None)
    assert info.value.message == "events are read-only: they are recorded by the controllers"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
            'resource mapping not found for name: "p" namespace: "" from "f": '
            'no matches for kind "Pod" in version "v1"',
        ),
        ({"apiVersion": "v1", "metadata": {"name": "p"}}, "Object 'Kind' is missing"),
        ({"kind": "ConfigMap"}, "Object 'apiVersion' is missing"),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": 1}},
            'error validating "f": error validating data: invalid type for "data.k" in '
            'ConfigMap: got "integer", expected "string"',
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "bogus": 1},
            'error validating "f": error validating data: unknown field "bogus" in ConfigMap',
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"},
            'error validating "f": metadata must be an object',
        ),
    ],
)
def test_client_side_checks(document: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        to_manifest(document, "f", namespace=None)
    assert message in info.value.message


@pytest.mark.parametrize(
    ("in_manifest", "flag", "result"),
    [
        (None, None, "default"),
        (None, "ns", "ns"),
        ("a", None, "a"),
        ("a", "a", "a"),
    ],
)
def test_namespaces(in_manifest: str | None, flag: str | None, result: str) -> None:
    meta = {"name": "x"} | ({"namespace": in_manifest} if in_manifest else {})
    document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    assert to_manifest(document, "f", namespace=flag).namespace == result


def test_namespace_mismatch_is_kubectls_error() -> None:
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "a"},
    }
    with pytest.raises(UsageError, match='does not match the namespace "b"'):
        to_manifest(document, "f", namespace="b")


def test_resource_version_is_kept_for_compare_and_swap() -> None:
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "resourceVersion": "12"},
    }
    assert to_manifest(document, "f", namespace=None).resource_version == "12"
