"""RFC 6902 patches through the jsonpatch library: the messages that name
the failing operation, and that a failed patch changes nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rdd.cli.arguments import UsageError
from rdd.cli.jsonpatching import apply_json_patch

DOC: dict[str, Any] = {"data": {"a": "1"}, "items": [1, 2]}


def test_operations_apply_in_order_to_a_copy() -> None:
    original = copy.deepcopy(DOC)
    patched = apply_json_patch(
        DOC,
        [
            {"op": "add", "path": "/data/b", "value": "2"},
            {"op": "move", "from": "/data/a", "path": "/data/c"},
            {"op": "copy", "from": "/data/b", "path": "/data/d"},
            {"op": "remove", "path": "/items/0"},
            {"op": "add", "path": "/items/-", "value": 3},
            {"op": "test", "path": "/data/c", "value": "1"},
        ],
    )
    assert patched == {"data": {"b": "2", "c": "1", "d": "2"}, "items": [2, 3]}
    assert original == DOC


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "a JSON patch must be a list of operations"),
        ([1], "invalid JSON patch operation 0: not an object"),
        ([{"op": "nope", "path": "/a"}], 'invalid JSON patch operation 0: unknown op "nope"'),
        ([{"op": "add", "value": 1}], "invalid JSON patch operation 0: add needs a 'path'"),
        (
            [{"op": "replace", "path": "/a"}],
            "invalid JSON patch operation 0: replace needs a 'value'",
        ),
        ([{"op": "move", "path": "/a"}], "invalid JSON patch operation 0: move needs a 'from'"),
        ([{"op": "remove", "path": "data"}], 'invalid JSON patch operation 0: path "data": '),
        (
            [{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/x"}],
            "jsonpatch remove operation does not apply: doc is missing path: /x",
        ),
        (
            [{"op": "replace", "path": "/data/z", "value": "2"}],
            "jsonpatch replace operation does not apply: doc is missing path: /data/z",
        ),
        (
            [{"op": "add", "path": "/nope/z", "value": "2"}],
            "jsonpatch add operation does not apply: doc is missing path: /nope/z",
        ),
        (
            [{"op": "copy", "from": "/nope", "path": "/z"}],
            "jsonpatch copy operation does not apply: doc is missing from path: /nope",
        ),
        (
            [{"op": "add", "path": "/items/9", "value": 1}],
            "jsonpatch add operation does not apply: can't insert outside of list: /items/9",
        ),
        (
            [{"op": "test", "path": "/data/a", "value": "2"}],
            "testing value /data/a failed: test failed",
        ),
        ([{"op": "replace", "path": "", "value": 1}], "the JSON patch replaced the object"),
    ],
)
def test_bad_patches(patch: Any, message: str) -> None:
    original = copy.deepcopy(DOC)
    with pytest.raises(UsageError) as info:
        apply_json_patch(DOC, patch)
    assert info.value.message.startswith(message)
    assert original == DOC
