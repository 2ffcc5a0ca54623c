"""Command-line values: durations, booleans, kinds, KIND/NAME, annotations, -o."""

from __future__ import annotations

import pytest

from rdd.cli.arguments import (
    OutputFormat,
    UsageError,
    one_object,
    parse_annotations,
    parse_bool,
    parse_dry_run,
    parse_duration,
    parse_kind,
    parse_output,
    split_kind_name,
)
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("90", 90),
        ("0", 0),
        ("1.5", 1.5),
        ("1m30s", 90),
        ("500ms", 0.5),
        ("1h2m3s", 3723),
        (".5s", 0.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "5x", "-1s", "1 m", "m5", "5m junk"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("1", True), ("false", False), ("F", False), ("0", False)],
)
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_parse_bool_rejects() -> None:
    with pytest.raises(UsageError, match='invalid boolean "maybe"'):
        parse_bool("maybe")


@pytest.mark.parametrize("mode", ["none", "server", "client"])
def test_parse_dry_run(mode: str) -> None:
    assert parse_dry_run(mode) == mode


def test_parse_dry_run_rejects() -> None:
    with pytest.raises(UsageError, match="Invalid dry-run value"):
        parse_dry_run("all")


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("app", APP),
        ("apps", APP),
        ("App", APP),
        ("apps.app.rancherdesktop.io", APP),
        ("limavm", LIMAVM),
        ("limavms", LIMAVM),
        ("LimaVM", LIMAVM),
        ("limavms.lima.rancherdesktop.io", LIMAVM),
        ("limavm.lima.rancherdesktop.io", LIMAVM),
        ("configmap", CONFIGMAP),
        ("configmaps", CONFIGMAP),
        ("cm", CONFIGMAP),
        ("event", EVENT),
        ("events", EVENT),
        ("ev", EVENT),
    ],
)
def test_parse_kind(word: str, kind: object) -> None:
    assert parse_kind(word) == kind


def test_parse_kind_unknown_is_kubectls_message() -> None:
    with pytest.raises(UsageError) as info:
        parse_kind("pods")
    assert info.value.message == 'the server doesn\'t have a resource type "pods"'


@pytest.mark.parametrize(
    ("words", "kind", "names"),
    [
        (["cm"], CONFIGMAP, []),
        (["cm", "a", "b"], CONFIGMAP, ["a", "b"]),
        (["cm/a"], CONFIGMAP, ["a"]),
        (["cm/a", "configmap/b"], CONFIGMAP, ["a", "b"]),
        (["limavms.lima.rancherdesktop.io/rd"], LIMAVM, ["rd"]),
    ],
)
def test_split_kind_name(words: list[str], kind: object, names: list[str]) -> None:
    assert split_kind_name(words) == (kind, names)


@pytest.mark.parametrize("words", [[], ["cm/a", "b"], ["cm/a", "app/app"], ["cm/"]])
def test_split_kind_name_rejects(words: list[str]) -> None:
    with pytest.raises(UsageError):
        split_kind_name(words)


def test_one_object() -> None:
    assert one_object(["limavm", "rd"]) == (LIMAVM, "rd")
    assert one_object(["app/app"]) == (APP, "app")
    with pytest.raises(UsageError, match="exactly one NAME"):
        one_object(["cm", "a", "b"])


def test_parse_annotations() -> None:
    assert parse_annotations(["a=1", "b=", "c-", "d=x=y"]) == {
        "a": "1",
        "b": "",
        "c": None,
        "d": "x=y",
    }


@pytest.mark.parametrize("pairs", [[], ["=v"], ["novalue"], ["-"]])
def test_parse_annotations_rejects(pairs: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_annotations(pairs)


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (None, OutputFormat()),
        ("json", OutputFormat("json")),
        ("yaml", OutputFormat("yaml")),
        ("name", OutputFormat("name")),
        ("wide", OutputFormat("wide")),
        ("jsonpath={.a}", OutputFormat("jsonpath", "{.a}")),
        ("jsonpath=", OutputFormat("jsonpath", "")),
    ],
)
def test_parse_output(text: str | None, fmt: OutputFormat) -> None:
    assert parse_output(text) == fmt


def test_parse_output_rejects() -> None:
    with pytest.raises(UsageError, match="unable to match a printer"):
        parse_output("table")
