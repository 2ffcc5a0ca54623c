"""Safe YAML/JSON loading: aliases bounded, duplicate keys refused, nesting
and size bounded, binary input a clear error — all fast."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from rdd.meta.loading import (
    MAX_INPUT_BYTES,
    LoadError,
    load_json,
    load_yaml,
    load_yaml_documents,
    read_text,
)
from tests.support.objects import billion_laughs


def refused(load, text: str) -> str:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(LoadError) as info:
        load(text)
    assert time.monotonic() - started < 1.0, "refusing took too long"
    return str(info.value)


def test_plain_yaml_loads() -> None:
    assert load_yaml("a: 1\nb: [x, {c: d}]\n") == {"a": 1, "b": ["x", {"c": "d"}]}
    assert load_yaml("") is None
    assert load_yaml_documents("a: 1\n---\n---\nb: 2\n") == [{"a": 1}, None, {"b": 2}]


def test_modest_aliases_and_merge_keys_still_work() -> None:
    text = "base: &b {cpus: 2, memory: 4GiB}\nvm:\n  <<: *b\n  cpus: 4\nagain: *b\n"
    assert load_yaml(text) == {
        "base": {"cpus": 2, "memory": "4GiB"},
        "vm": {"cpus": 4, "memory": "4GiB"},
        "again": {"cpus": 2, "memory": "4GiB"},
    }


@pytest.mark.parametrize("levels", [5, 9, 10, 30])
def test_alias_expansion_is_bounded(levels: int) -> None:
    text = billion_laughs(levels)
    assert len(text) < 2000
    assert "excessive aliasing" in refused(load_yaml, text)


def test_self_containing_alias() -> None:
    assert refused(load_yaml, "a: &a [*a]\n") == (
        "line 1: an alias refers to a node that contains it"
    )


def test_aliases_cannot_stack_nesting_past_the_limit() -> None:
    text = "x0: &x0 " + "[" * 90 + "1" + "]" * 90 + "\nx1: " + "[" * 90 + "*x0" + "]" * 90 + "\n"
    assert "aliases nest it too deeply" in refused(load_yaml, text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\na: 2\n", 'line 2: mapping key "a" already defined at line 1'),
        ("{a: 1, a: 2}", 'line 1: mapping key "a" already defined at line 1'),
        ("top:\n  x: 1\n  'x': 2\n", 'line 3: mapping key "x" already defined at line 2'),
    ],
)
def test_duplicate_keys(text: str, line: str) -> None:
    assert refused(load_yaml, text) == line


def test_different_types_are_different_keys() -> None:
    assert load_yaml("1: a\n'1': b\n") == {1: "a", "1": "b"}


@pytest.mark.parametrize("depth", [101, 1000, 100_000])
def test_yaml_nesting_is_bounded(depth: int) -> None:
    assert "nested too deeply (more than 100 levels)" in refused(
        load_yaml, "[" * depth + "]" * depth
    )


def test_unclosed_deep_yaml_is_refused_not_recursed() -> None:
    assert "nested too deeply" in refused(load_yaml, "a: " + "[" * 500_000)


def test_yaml_nesting_at_the_limit_loads() -> None:
    assert load_yaml("[" * 100 + "]" * 100) is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 1" + "1" * 5000, "cannot read a value: Exceeds the limit (4300 digits)"),
        ("a: 2020-13-45\n", "cannot read a value: month must be in 1..12"),
        ("a: \x00\n", "unacceptable character #x0000"),
    ],
)
def test_values_python_cannot_build(text: str, problem: str) -> None:
    assert problem in refused(load_yaml, text)
    assert "sys.set_int_max_str_digits" not in refused(load_yaml, text)


def test_yaml_size_is_bounded() -> None:
    assert "larger than 8 MiB" in refused(load_yaml, "#" * (MAX_INPUT_BYTES + 1))


def test_json_loads_and_is_bounded() -> None:
    assert load_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert load_json("[" * 100 + "]" * 100) is not None
    for depth in (101, 1000, 100_000):
        assert refused(load_json, "[" * depth + "]" * depth) == (
            "nested too deeply (more than 100 levels)"
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": NaN}', "invalid JSON: NaN is not a JSON number"),
        ('{"a": Infinity}', "invalid JSON: Infinity is not a JSON number"),
        ('{"a": 1', "line 1: invalid JSON: Expecting ',' delimiter"),
        (
            "1" * 5000,
            "invalid JSON: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits",
        ),
    ],
)
def test_bad_json(text: str, problem: str) -> None:
    assert refused(load_json, text) == problem


def test_read_text_stops_at_the_limit() -> None:
    with Path("/dev/zero").open("rb") as zero:
        assert "larger than 1 MiB" in refused(lambda _: read_text(zero, limit=1 << 20), "")


def test_read_text_default_limit() -> None:
    with Path("/dev/zero").open("rb") as zero:
        assert "larger than 8 MiB" in refused(lambda _: read_text(zero), "")


def test_read_text_of_binary() -> None:
    stream = io.BytesIO(b"kind: \xff\xfe\x00")
    assert refused(lambda _: read_text(stream), "") == (
        "not UTF-8 text (byte 0xff at offset 6): is it a binary file?"
    )


def test_read_text_of_utf8() -> None:
    assert read_text(io.BytesIO("\ufeffname: café\n".encode())) == "name: café\n"
