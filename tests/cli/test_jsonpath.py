"""The JSONPath subset `rdd ctl get -o jsonpath=` and `wait --for=jsonpath=` accept."""

from __future__ import annotations

import pytest

from rdd.cli.jsonpath import JsonPathError, execute, format_value, parse_template, values

OBJ = {
    "apiVersion": "lima.rancherdesktop.io/v1alpha1",
    "kind": "LimaVM",
    "metadata": {
        "name": "rd",
        "generation": 2,
        "finalizers": ["rdd.rancherdesktop.io/cleanup", "rdd.rancherdesktop.io/owned-by-App"],
        "annotations": {"lima.rancherdesktop.io/restartRequested": "x"},
        "labels": {},
    },
    "spec": {"running": False, "templateRef": {"name": "rd"}},
    "status": {
        "conditions": [
            {"type": "Created", "status": "True", "observedGeneration": 2},
            {"type": "Running", "status": "False", "reason": "Starting", "observedGeneration": 1},
        ],
        "restartCount": 0,
    },
}
LIST = {"apiVersion": "v1", "kind": "List", "items": [OBJ, {"metadata": {"name": "b"}}]}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.metadata.name}", "rd"),
        ("{.spec.running}", "false"),
        ("{.status.restartCount}", "0"),
        ("{.metadata.generation}", "2"),
        (
            "{.metadata.finalizers}",
            '["rdd.rancherdesktop.io/cleanup","rdd.rancherdesktop.io/owned-by-App"]',
        ),
        ("{.spec.templateRef}", '{"name":"rd"}'),
        ("{.metadata.finalizers[0]}", "rdd.rancherdesktop.io/cleanup"),
        ("{.metadata.finalizers[-1]}", "rdd.rancherdesktop.io/owned-by-App"),
        ("{.status.conditions[1].reason}", "Starting"),
        ('{.status.conditions[?(@.type=="Running")].status}', "False"),
        ("{.status.conditions[?(@.type=='Created')].status}", "True"),
        ('{.status.conditions[?(@.type!="Running")].type}', "Created"),
        ("{.status.conditions[?(@.observedGeneration>1)].type}", "Created"),
        ("{.status.conditions[?(@.reason)].type}", "Running"),
        ("{.status.conditions[*].type}", "Created Running"),
        ("{.status.conditions[0:1].type}", "Created"),
        ("{.metadata.annotations.lima\\.rancherdesktop\\.io/restartRequested}", "x"),
        ("{.metadata.annotations['lima.rancherdesktop.io/restartRequested']}", "x"),
        ("{$.metadata.name}", "rd"),
        ("name={.metadata.name}", "name=rd"),
        ('{.metadata.name}{"\\n"}', "rd\n"),
        ("{.metadata.missing}", ""),
        ("{.status.conditions[5].type}", ""),
        ('{.status.conditions[?(@.type=="Nope")].status}', ""),
        ("{.metadata.labels}", "{}"),
        ("no braces", "no braces"),
    ],
)
def test_execute(template: str, expected: str) -> None:
    assert execute(template, OBJ) == expected


def test_list_templates_fan_out() -> None:
    assert execute("{.items[*].metadata.name}", LIST) == "rd b"
    assert execute("{.kind}", LIST) == "List"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (3, "3"),
        (1.5, "1.5"),
        ([1, "a"], '[1,"a"]'),
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
    ],
)
def test_format_value(value: object, expected: str) -> None:
    assert format_value(value) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{.a",
        "}",
        "{}",
        "{..}",
        "{.a..}",
        "{end}",
        "{range .items[*]}{.metadata.name}",
        "{range}",
        "{metadata.name}",
        "{.a[x]}",
        "{.a[?(b==1)]}",
        "{.a[1:2:3:4]}",
        '{"unterminated}',
    ],
)
def test_rejects(template: str) -> None:
    with pytest.raises(JsonPathError):
        execute(template, OBJ)


def test_values_are_raw() -> None:
    assert values("{.spec.running}", OBJ) == [False]
    assert values("{.nothing}", OBJ) == []
    assert len(parse_template("a{.b}c")) == 3


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{range .items[*]}{.metadata.name}{"\\n"}{end}', "rd\nb\n"),
        ("{range .items[*]}[{.metadata.name}]{end}", "[rd][b]"),
        (
            "{range .items[*]}{range .metadata.finalizers[*]}<{@}>{end};{end}",
            "<rdd.rancherdesktop.io/cleanup><rdd.rancherdesktop.io/owned-by-App>;;",
        ),
        ("{range .items[5:]}{.x}{end}", ""),
        ("{..name}", "rd rd b"),
        ("{.items..type}", "Created Running"),
        ("{..conditions[0].type}", "Created"),
        ("{..[1].metadata.name}", "b"),
        ('{..conditions[?(@.status=="False")].reason}', "Starting"),
        ("{..*.templateRef.name}", "rd"),
        ("kind={.kind} {range .items[*]}{.metadata.name},{end}", "kind=List rd,b,"),
    ],
)
def test_range_and_recursive_descent(template: str, expected: str) -> None:
    assert execute(template, LIST) == expected
