"""JSON merge patch (RFC 7386) and the three-way merge behind `rdd ctl apply`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rdd.cli.mergepatch import (
    LAST_APPLIED,
    apply_patch,
    desired,
    diff,
    last_applied,
    last_applied_text,
    merge_patch,
    three_way,
    with_annotation,
)


# RFC 7386, Appendix A, every example.
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc7386_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_does_not_change_its_inputs() -> None:
    target = {"a": {"b": 1}}
    patch = {"a": {"c": 2}}
    merge_patch(target, patch)
    assert target == {"a": {"b": 1}} and patch == {"a": {"c": 2}}


@pytest.mark.parametrize(
    ("original", "modified"),
    [
        ({"a": 1}, {"a": 2}),
        ({"a": 1, "b": {"c": 1, "d": 2}}, {"b": {"c": 1}}),
        ({}, {"x": [1, 2]}),
        ({"x": [1, 2]}, {"x": [2]}),
    ],
)
def test_diff_is_the_patch_between_two_documents(
    original: dict[str, Any], modified: dict[str, Any]
) -> None:
    assert merge_patch(original, diff(original, modified)) == modified


def test_three_way_deletes_only_what_the_last_apply_set() -> None:
    original = {"data": {"a": "1", "b": "2"}}
    modified = {"data": {"a": "9"}}
    current = {"data": {"a": "1", "b": "2", "other": "kept"}}
    patch = three_way(original, modified, current)
    assert merge_patch(current, patch) == {"data": {"a": "9", "other": "kept"}}


def test_three_way_without_history_never_deletes() -> None:
    current = {"data": {"a": "1", "b": "2"}}
    assert merge_patch(current, three_way({}, {"data": {"a": "1"}}, current)) == current


def test_desired_drops_status_and_server_metadata() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "x",
            "uid": "u",
            "resourceVersion": "7",
            "generation": 1,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "annotations": {LAST_APPLIED: "{}"},
        },
        "status": {"conditions": []},
    }
    assert desired(manifest) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def _live(data: dict[str, str], applied: dict[str, Any] | None) -> dict[str, Any]:
    live: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "x",
            "namespace": "default",
            "resourceVersion": "5",
            "finalizers": ["keep/me"],
        },
        "data": data,
    }
    if applied is not None:
        live = with_annotation(live, LAST_APPLIED, last_applied_text(applied))
    return live


def _manifest(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "default"},
        "data": data,
    }


def test_apply_patch_unchanged_when_the_manifest_is_the_same() -> None:
    manifest = _manifest(a="1")
    live = _live({"a": "1"}, desired(manifest))
    assert apply_patch(live, manifest) == live


def test_apply_patch_keeps_what_others_set_and_records_the_manifest() -> None:
    previous = _manifest(a="1", b="2")
    live = _live({"a": "1", "b": "2", "c": "3"}, desired(previous))
    updated = apply_patch(live, _manifest(a="9"))
    assert updated["data"] == {"a": "9", "c": "3"}
    assert updated["metadata"]["finalizers"] == ["keep/me"]
    assert updated["metadata"]["resourceVersion"] == "5"
    assert last_applied(updated) == desired(_manifest(a="9"))


def test_last_applied_tolerates_garbage() -> None:
    live = with_annotation(_live({}, None), LAST_APPLIED, "not json")
    assert last_applied(live) == {}


def test_last_applied_text_is_kubectls_shape() -> None:
    text = last_applied_text({"b": 1, "a": {"d": 1, "c": 2}})
    assert text == '{"a":{"c":2,"d":1},"b":1}\n'
    assert json.loads(text)["b"] == 1
