"""Which objects a List or Watch selects: a request's label and field
selectors (rdd.meta.selectors) for one kind, the fields each kind offers,
and what a selecting watcher is told about a change (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdd.meta.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)

FieldGetter = Callable[[Any], str]

_COMMON: dict[str, FieldGetter] = {
    "metadata.name": lambda obj: str(obj.metadata.name),
    "metadata.namespace": lambda obj: str(obj.metadata.namespace),
}

#: The fields each kind (by name) can be selected on, read from its message.
FIELDS: dict[str, dict[str, FieldGetter]] = {
    "App": dict(_COMMON),
    "LimaVM": dict(_COMMON),
    "ConfigMap": dict(_COMMON),
    "Event": {
        **_COMMON,
        "involvedObject.name": lambda obj: str(obj.involved_object.name),
        "involvedObject.kind": lambda obj: str(obj.involved_object.kind),
        "involvedObject.namespace": lambda obj: str(obj.involved_object.namespace),
        "involvedObject.uid": lambda obj: str(obj.involved_object.uid),
        "type": lambda obj: str(obj.type),
        "reason": lambda obj: str(obj.reason),
    },
}


@dataclass(frozen=True)
class Selection:
    """A List's or Watch's label and field selectors for one kind."""

    labels: LabelSelector = field(default_factory=LabelSelector)
    fields: FieldSelector = field(default_factory=FieldSelector)
    getters: Mapping[str, FieldGetter] = field(default_factory=dict)

    @property
    def everything(self) -> bool:
        return not self.labels.requirements and not self.fields.terms

    def matches(self, obj: Any) -> bool:
        """Whether the message `obj` is selected."""
        if not self.labels.matches(obj.metadata.labels):
            return False
        if not self.fields.terms:
            return True
        values = {t.field: self.getters[t.field](obj) for t in self.fields.terms}
        return self.fields.matches(values)


def selection_for(kind_name: str, label_selector: str, field_selector: str) -> Selection:
    """Both selectors of a request, parsed for `kind_name`; SelectorError
    (the caller's INVALID_ARGUMENT) for either that does not parse."""
    getters = FIELDS.get(kind_name, _COMMON)
    return Selection(
        labels=parse_label_selector(label_selector),
        fields=parse_field_selector(field_selector, getters),
        getters=getters,
    )


def filtered_event_type(event_type: str, matches_now: bool, matched_before: bool) -> str | None:
    """What a selecting watcher is told about one change, as Kubernetes'
    filtered watch: entering the selection is ADDED, leaving it DELETED (the
    watcher's view of the set stays right), changes outside it nothing."""
    if event_type == "DELETED":
        return "DELETED" if matched_before or matches_now else None
    if event_type == "ADDED":
        return "ADDED" if matches_now else None
    if matches_now and matched_before:
        return "MODIFIED"
    if matches_now:
        return "ADDED"
    return "DELETED" if matched_before else None
