"""`rdd ctl label`'s pure parts: spec parsing and validation, the
overwrite refusal, and kubectl's labeled/unlabeled/not labeled choice."""

from __future__ import annotations

import pytest

from rdd.cli.arguments import UsageError
from rdd.cli.labeling import (
    LabelChanges,
    label_patch,
    outcome,
    overwrite_refusals,
    parse_labels,
    relabeled,
    split_words,
)
from rdd.meta.names import label_value_error, qualified_name_error


def test_split_words() -> None:
    assert split_words(["cm", "x", "a=b", "c-"]) == (["cm", "x"], ["a=b", "c-"])
    assert split_words(["cm/x", "a="]) == (["cm/x"], ["a="])


def test_parse_labels() -> None:
    changes = parse_labels(["a=1", "example.com/b=", "c-"])
    assert changes == LabelChanges({"a": "1", "example.com/b": ""}, ("c",))
    assert label_patch(changes) == {
        "metadata": {"labels": {"c": None, "a": "1", "example.com/b": ""}}
    }


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["a=b=c"], "invalid label spec: a=b=c"),
        (["-a=b"], "invalid label spec: -a=b, name part must consist of"),
        (["a/b/c=d"], "invalid label spec: a/b/c=d, a qualified name must consist of"),
        (["/a=b"], "invalid label spec: /a=b, prefix part must be non-empty"),
        (["a=b c"], 'invalid label value: "a=b c": a valid label must be an empty string'),
        (["what"], "unknown label spec: what"),
        ([], "at least one label update is required"),
        (["a=1", "a-"], "can not both modify and remove a label in the same command"),
    ],
)
def test_bad_specs(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_labels(specs)
    assert info.value.message.startswith(message)


def test_validators() -> None:
    """label uses the API server's own validators (rdd.meta.names)."""
    assert qualified_name_error("app.kubernetes.io/name") is None
    assert qualified_name_error("a" * 64) == "name part must be no more than 63 characters"
    assert (qualified_name_error("UPPER.example/x") or "").startswith("prefix part ")
    assert qualified_name_error("x\n") is not None
    assert label_value_error("") is None
    assert label_value_error("My_value-1.2") is None
    assert label_value_error("v" * 64) == "must be no more than 63 characters"


def test_overwrite_refusals_name_the_current_value() -> None:
    changes = LabelChanges({"env": "prod", "new": "x", "same": "1"}, ())
    assert overwrite_refusals(changes, {"env": "dev", "same": "1"}) == [
        "'env' already has a value (dev), and --overwrite is false"
    ]


def test_outcomes() -> None:
    before = {"a": "1"}
    assert outcome(before, relabeled(LabelChanges({"a": "1"}, ()), before), overwrite=False) == (
        "not labeled"
    )
    assert outcome(before, {"a": "1", "b": "2"}, overwrite=False) == "labeled"
    assert outcome(before, {}, overwrite=False) == "unlabeled"
    assert outcome(before, {}, overwrite=True) == "labeled"  # kubectl's quirk, kept
