"""Manifest dicts -> objects: an unknown or mistyped field is named in
plain words with its kind, never protobuf's "Available Fields" text."""

from __future__ import annotations

from typing import Any

import pytest

from rdd.errors import InvalidError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.serialization import field_problem, from_dict, json_type, to_dict

VM = {"apiVersion": "lima.rancherdesktop.io/v1alpha1", "kind": "LimaVM", "metadata": {"name": "x"}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**VM, "spec": {"runing": True}}, 'unknown field "spec.runing" in LimaVM'),
        ({**VM, "sepc": {}}, 'unknown field "sepc" in LimaVM'),
        (
            {**VM, "spec": {"templateRef": {"nmae": "t"}}},
            'unknown field "spec.templateRef.nmae" in LimaVM',
        ),
        (
            {**VM, "spec": {"running": "yes"}},
            'invalid type for "spec.running" in LimaVM: got "string", expected "boolean"',
        ),
        (
            {**VM, "metadata": {"name": "x", "generation": "two"}},
            'invalid type for "metadata.generation" in LimaVM: got "string", expected "integer"',
        ),
        (
            {**VM, "metadata": {"name": "x", "generation": True}},
            'invalid type for "metadata.generation" in LimaVM: got "boolean", expected "integer"',
        ),
        (
            {**CM, "metadata": {"name": "x", "labls": {}}},
            'unknown field "metadata.labls" in ConfigMap',
        ),
        (
            {**CM, "data": {"a": 1}},
            'invalid type for "data.a" in ConfigMap: got "integer", expected "string"',
        ),
        (
            {**CM, "data": ["a"]},
            'invalid type for "data" in ConfigMap: got "array", expected "object"',
        ),
        (
            {**CM, "metadata": {"name": "x", "finalizers": "a"}},
            'invalid type for "metadata.finalizers" in ConfigMap: got "string", expected "array"',
        ),
        (
            {**CM, "metadata": {"name": "x", "ownerReferences": [{"nme": "o"}]}},
            'unknown field "metadata.ownerReferences[0].nme" in ConfigMap',
        ),
        (
            {**CM, "metadata": "x"},
            'invalid type for "metadata" in ConfigMap: got "string", expected "object"',
        ),
    ],
)
def test_bad_fields_are_named_with_their_kind(data: dict[str, Any], message: str) -> None:
    kind = LIMAVM if data["kind"] == "LimaVM" else CONFIGMAP
    with pytest.raises(InvalidError) as info:
        from_dict(kind, data)
    assert info.value.message == f"error validating data: {message}"
    assert "Available Fields" not in info.value.message


def test_good_manifests_parse_with_json_or_proto_names_and_nulls() -> None:
    vm = from_dict(LIMAVM, {**VM, "spec": {"template_ref": {"name": "t"}, "running": None}})
    assert vm.spec.template_ref.name == "t"  # type: ignore[attr-defined]
    cm = from_dict(CONFIGMAP, {**CM, "data": {"a": "1"}})
    assert to_dict(cm)["data"] == {"a": "1"}


def test_a_value_out_of_range_still_says_which_field() -> None:
    with pytest.raises(InvalidError) as info:
        from_dict(LIMAVM, {**VM, "metadata": {"name": "x", "generation": 2**40}})
    assert "generation" in info.value.message


def test_field_problem_is_none_for_a_fitting_shape() -> None:
    assert field_problem(CONFIGMAP.message.DESCRIPTOR, {**CM, "data": {"a": "b"}}) is None


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (1, "integer"),
        (1.5, "number"),
        ({}, "object"),
        ([], "array"),
        ("s", "string"),
    ],
)
def test_json_type(value: Any, name: str) -> None:
    assert json_type(value) == name
