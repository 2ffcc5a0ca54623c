"""The pure parts of `rdd ctl get`: which kinds and names a command line
asks for, custom columns, --sort-by, --show-labels, --no-headers, kind/name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rdd.cli.arguments import OutputFormat, UsageError, parse_output
from rdd.cli.getting import ALL, parse_request
from rdd.cli.jsonpath import JsonPathError
from rdd.cli.printing import (
    TableOptions,
    custom_rows,
    labels_text,
    parse_custom_columns,
    relaxed_template,
    render,
    sort_by,
)
from rdd.kinds import APP, CONFIGMAP, LIMAVM

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cm(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels}, "data": {}}


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["cm"], [(CONFIGMAP, ())]),
        (["cm", "a", "b"], [(CONFIGMAP, ("a", "b"))]),
        (["app,limavm"], [(APP, ()), (LIMAVM, ())]),
        (["configmap,cm"], [(CONFIGMAP, ())]),
        (["all"], [(k, ()) for k in ALL]),
        (["all,cm"], [(k, ()) for k in ALL]),
        (["cm/a", "limavm/rd", "cm/b"], [(CONFIGMAP, ("a", "b")), (LIMAVM, ("rd",))]),
    ],
)
def test_parse_request(words: list[str], expected: list[tuple[Any, tuple[str, ...]]]) -> None:
    assert list(parse_request(words).kinds) == expected


@pytest.mark.parametrize("words", [[], ["nope"], ["cm,nope"], ["cm/a", "b"]])
def test_parse_request_rejects(words: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_request(words)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (".metadata.name", "{.metadata.name}"),
        ("metadata.name", "{.metadata.name}"),
        ("{.metadata.name}", "{.metadata.name}"),
        ("{metadata.name}", "{.metadata.name}"),
    ],
)
def test_relaxed_paths(path: str, template: str) -> None:
    assert relaxed_template(path) == template


def test_relaxed_path_rejects_braces_inside() -> None:
    with pytest.raises(JsonPathError):
        relaxed_template("{a}{b}")


def test_custom_columns() -> None:
    columns = parse_custom_columns(
        "NAME:.metadata.name,APP:metadata.labels.app,L:.metadata.labels.*"
    )
    rows = custom_rows(columns, [cm("a", app="rd", x="1"), cm("b")])
    assert rows == [["NAME", "APP", "L"], ["a", "rd", "rd,1"], ["b", "<none>", "<none>"]]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "custom-columns format specified but no custom columns given"),
        ("NAME", "unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>"),
        ("NAME:", "unexpected custom-columns spec: NAME:, expected <header>:<json-path-expr>"),
        (":.a", "unexpected custom-columns spec: :.a, expected <header>:<json-path-expr>"),
    ],
)
def test_bad_custom_columns(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        parse_custom_columns(spec)


def test_parse_output_custom_columns() -> None:
    assert parse_output("custom-columns=A:.a") == OutputFormat("custom-columns", "A:.a")
    with pytest.raises(UsageError, match="custom-columns,json,jsonpath,name,wide,yaml"):
        parse_output("go-template")


def test_sort_by_orders_missing_first_numbers_numerically() -> None:
    objects = [
        {"metadata": {"name": "ten"}, "n": 10},
        {"metadata": {"name": "none"}},
        {"metadata": {"name": "nine"}, "n": 9},
        {"metadata": {"name": "text"}, "n": "a"},
    ]
    assert [o["metadata"]["name"] for o in sort_by(objects, ".n")] == [
        "none",
        "nine",
        "ten",
        "text",
    ]
    assert [o["metadata"]["name"] for o in sort_by(objects, "{.metadata.name}")] == [
        "nine",
        "none",
        "ten",
        "text",
    ]


@pytest.mark.parametrize(
    ("labels", "text"), [({}, "<none>"), ({"b": "2", "a": "1"}, "a=1,b=2"), ({"k": ""}, "k=")]
)
def test_labels_text(labels: dict[str, str], text: str) -> None:
    assert labels_text(cm("x", **labels)) == text


def test_table_options() -> None:
    objects = [cm("a", app="rd")]
    options = TableOptions(show_labels=True, no_headers=True, with_kind=True)
    text = render(CONFIGMAP, objects, OutputFormat(), single=False, now=NOW, options=options)
    assert text.split() == ["configmap/a", "0", "<none>", "app=rd"]
    headed = render(
        CONFIGMAP, objects, OutputFormat(), single=False, now=NOW, options=TableOptions()
    )
    assert headed.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    columns = render(
        CONFIGMAP,
        objects,
        OutputFormat("custom-columns", "N:.metadata.name"),
        single=False,
        now=NOW,
        options=TableOptions(no_headers=True),
    )
    assert columns == "a\n"
