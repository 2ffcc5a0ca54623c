"""Kubernetes' identifier rules, matched against the whole string, and the
messages `validate_object` gives for names, namespaces, labels and annotations."""

from __future__ import annotations

import json

import pytest

from rdd.errors import InvalidError
from rdd.kinds import APP, CONFIGMAP
from rdd.meta.names import (
    ANNOTATIONS_MAX_BYTES,
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    qualified_name_error,
)
from rdd.store.rules import validate_object


@pytest.mark.parametrize("name", ["nl\n", "a\n", "a.b\n", "-a", "a-", "A", "a_b", "", "a..b"])
def test_bad_subdomains(name: str) -> None:
    assert dns1123_subdomain_error(name) is not None


@pytest.mark.parametrize("name", ["a", "a.b", "a-b.c-d", "0", "x" * 253])
def test_good_subdomains(name: str) -> None:
    assert dns1123_subdomain_error(name) is None


def test_subdomain_length() -> None:
    assert dns1123_subdomain_error("x" * 254) == "must be no more than 253 characters"


@pytest.mark.parametrize("name", ["nl\n", "a.b", "A", "", "x" * 64])
def test_bad_labels(name: str) -> None:
    assert dns1123_label_error(name) is not None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "name part must be non-empty"),
        (" ", "name part must consist of"),
        ("a b", "name part must consist of"),
        ("a\0", "name part must consist of"),
        ("a\n", "name part must consist of"),
        ("-a", "name part must consist of"),
        ("x" * 64, "name part must be no more than 63 characters"),
        ("/a", "prefix part must be non-empty"),
        ("a/", "name part must be non-empty"),
        ("Example.com/a", "prefix part a lowercase RFC 1123 subdomain"),
        ("a/b/c", "a qualified name must consist of"),
        ("x" * 254 + "/a", "prefix part must be no more than 253 characters"),
    ],
)
def test_bad_qualified_names(key: str, problem: str) -> None:
    found = qualified_name_error(key)
    assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(
    "key", ["a", "A_b.c-D", "example.com/MyName", "lima.rancherdesktop.io/template-configmap"]
)
def test_good_qualified_names(key: str) -> None:
    assert qualified_name_error(key) is None


@pytest.mark.parametrize("value", ["", "a", "A-b_c.D", "x" * 63])
def test_good_label_values(value: str) -> None:
    assert label_value_error(value) is None


@pytest.mark.parametrize("value", ["a\n", " ", "-a", "a/b", "x" * 64])
def test_bad_label_values(value: str) -> None:
    assert label_value_error(value) is not None


def _configmap(name: str = "cm", namespace: str = "default"):  # type: ignore[no-untyped-def]
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    return cm


def _problem(obj, kind=CONFIGMAP) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidError) as info:
        validate_object(kind, obj)
    return info.value.message


def test_a_name_with_a_trailing_newline_is_refused_and_shown() -> None:
    assert _problem(_configmap("nl\n")) == (
        'The ConfigMap "nl\\n" is invalid: metadata.name: Invalid value: "nl\\n": a lowercase '
        "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character"
    )


def test_a_namespace_with_a_trailing_newline_is_refused() -> None:
    assert 'metadata.namespace: Invalid value: "nl\\n"' in _problem(_configmap(namespace="nl\n"))


@pytest.mark.parametrize("key", ["", " ", "\0", "a b"])
def test_label_keys_kubernetes_rejects(key: str) -> None:
    cm = _configmap()
    cm.metadata.labels[key] = "v"
    assert f"metadata.labels: Invalid value: {json.dumps(key)}: name part must" in _problem(cm)


def test_label_values_are_checked() -> None:
    cm = _configmap()
    cm.metadata.labels["ok"] = "not ok"
    assert 'metadata.labels: Invalid value: "not ok": a valid label must be' in _problem(cm)


def test_annotation_keys_are_qualified_names_any_case() -> None:
    cm = _configmap()
    cm.metadata.annotations["Example.com/Upper"] = "fine"
    validate_object(CONFIGMAP, cm)
    cm.metadata.annotations["bad key"] = "v"
    assert 'metadata.annotations: Invalid value: "bad key"' in _problem(cm)


def test_annotations_total_size() -> None:
    cm = _configmap()
    cm.metadata.annotations["a"] = "x" * (ANNOTATIONS_MAX_BYTES - 1)
    validate_object(CONFIGMAP, cm)
    cm.metadata.annotations["b"] = ""
    assert "metadata.annotations: Too long: must have at most 262144 bytes" in _problem(cm)


def test_a_long_bad_key_is_cut_short_in_the_message() -> None:
    cm = _configmap()
    cm.metadata.labels["x" * 100_000] = "v"
    assert len(_problem(cm)) < 500


def test_every_problem_is_named() -> None:
    app = APP.new()
    app.metadata.name = "app"
    app.metadata.labels[""] = "x y"
    message = _problem(app, APP)
    assert message.count("metadata.labels: Invalid value:") == 2
