"""Label and field selectors: apimachinery's syntax, matching and messages."""

from __future__ import annotations

import pytest

from rdd.api.core.v1 import core_pb2
from rdd.kinds import CONFIGMAP
from rdd.meta.selection import FIELDS, filtered_event_type, selection_for
from rdd.meta.selectors import SelectorError, parse_field_selector, parse_label_selector

LABELS = {"app": "rd", "tier": "web", "n": "5"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=rd", True),
        ("app==rd", True),
        ("app=other", False),
        ("app!=other", True),
        ("missing!=x", True),  # != matches objects without the label
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app in (rd,x)", True),
        ("app in (x,y)", False),
        ("app notin (x,y)", True),
        ("missing notin (x)", True),
        ("app in (rd),tier=web", True),
        ("app in (rd),tier=db", False),
        ("  app = rd , tier  ", True),
        ("n>3", True),
        ("n<3", False),
        ("tier>3", False),  # not a number: no match
        ("missing=", False),
        ("example.com/role=x", False),
        ("in=x", False),  # `in` is a key where a key is expected
    ],
)
def test_label_selector_matches(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


def test_empty_values_are_values() -> None:
    assert parse_label_selector("a in (,x)").matches({"a": ""})
    assert parse_label_selector("a=").matches({"a": ""})
    assert not parse_label_selector("a notin ()").matches({"a": ""})


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a in x", "unable to parse requirement: found 'x' expected: '('"),
        ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        (
            "a>x",
            "unable to parse requirement: values: Invalid value: ['x']: for 'Gt', 'Lt' "
            "operators, the value must be an integer",
        ),
        ("-a=b", 'unable to parse requirement: <nil>: Invalid value: "-a": name part must'),
        ("Bad_Prefix/a", 'unable to parse requirement: <nil>: Invalid value: "Bad_Prefix/a"'),
        ("a=-x", 'unable to parse requirement: values[0][a]: Invalid value: "-x"'),
    ],
)
def test_label_selector_errors(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector(selector)
    assert str(caught.value).startswith(message)


FIELDS_OF = {"metadata.name": "rd", "metadata.namespace": "default"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("metadata.name=rd", True),
        ("metadata.name==rd", True),
        ("metadata.name!=rd", False),
        ("metadata.name=rd,metadata.namespace=default", True),
        ("metadata.name=rd,metadata.namespace!=default", False),
        ("metadata.name=x", False),
    ],
)
def test_field_selector_matches(selector: str, matches: bool) -> None:
    assert parse_field_selector(selector, FIELDS["ConfigMap"]).matches(FIELDS_OF) is matches


def test_field_selector_escapes() -> None:
    parsed = parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert parsed.matches({"metadata.name": "a,b=c\\d"})


@pytest.mark.parametrize(
    ("kind", "selector", "message"),
    [
        ("ConfigMap", "foo=bar", "field label not supported: foo"),
        ("ConfigMap", "type=Normal", "field label not supported: type"),
        ("ConfigMap", "metadata.name", "invalid selector: 'metadata.name'; can't understand"),
        ("Event", "reason", "invalid selector: 'reason'; can't understand 'reason'"),
        ("Event", r"reason=a\x", "invalid field selector value"),
    ],
)
def test_field_selector_errors(kind: str, selector: str, message: str) -> None:
    with pytest.raises(SelectorError, match="^" + message.replace("\\", "\\\\")):
        parse_field_selector(selector, FIELDS[kind])


def test_event_fields() -> None:
    event = core_pb2.Event(type="Warning", reason="Failed")
    event.metadata.name = "e1"
    event.involved_object.kind = "LimaVM"
    event.involved_object.name = "rd"
    selection = selection_for(
        "Event", "", "involvedObject.kind=LimaVM,involvedObject.name=rd,type=Warning,reason=Failed"
    )
    assert selection.matches(event)
    assert not selection_for("Event", "", "type=Normal").matches(event)


def test_selection_reads_labels_from_the_message() -> None:
    cm = CONFIGMAP.new()
    cm.metadata.name = "a"
    cm.metadata.labels["app"] = "rd"
    assert selection_for("ConfigMap", "app=rd", "metadata.name=a").matches(cm)
    assert not selection_for("ConfigMap", "app=rd", "metadata.name=b").matches(cm)
    assert selection_for("ConfigMap", "", "").everything


@pytest.mark.parametrize(
    ("event_type", "now", "before", "told"),
    [
        ("ADDED", True, False, "ADDED"),
        ("ADDED", False, False, None),
        ("MODIFIED", True, True, "MODIFIED"),
        ("MODIFIED", True, False, "ADDED"),  # entered the selection
        ("MODIFIED", False, True, "DELETED"),  # left it
        ("MODIFIED", False, False, None),
        ("DELETED", True, False, "DELETED"),
        ("DELETED", False, False, None),
    ],
)
def test_filtered_watch_events(event_type: str, now: bool, before: bool, told: str | None):
    assert filtered_event_type(event_type, now, before) == told
