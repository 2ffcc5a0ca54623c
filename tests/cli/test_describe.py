"""`rdd ctl describe`'s layout (pure): kubectl's headings, field names,
tabwriter alignment, the Conditions and Events tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rdd.cli.describing import align, describe_object, events_section, timestamp, title
from rdd.kinds import CONFIGMAP, LIMAVM

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

VM = {
    "apiVersion": "lima.rancherdesktop.io/v1alpha1",
    "kind": "LimaVM",
    "metadata": {
        "name": "rd",
        "namespace": "default",
        "labels": {"b": "2", "a": "1"},
        "finalizers": ["one", "two"],
        "ownerReferences": [{"kind": "App", "name": "app", "controller": True}],
        "creationTimestamp": "2026-01-01T11:00:00Z",
    },
    "spec": {"running": True, "templateRef": {"name": "rd"}},
    "status": {
        "arch": "x86_64",
        "conditions": [
            {
                "type": "Running",
                "status": "True",
                "reason": "Started",
                "message": "up",
                "lastTransitionTime": "2026-01-01T11:30:00Z",
            }
        ],
    },
}
EVENT = {
    "type": "Normal",
    "reason": "Started",
    "message": "Lima instance is running",
    "count": 3,
    "firstTimestamp": "2026-01-01T11:50:00Z",
    "lastTimestamp": "2026-01-01T11:55:00Z",
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [("running", "Running"), ("templateRef", "Template Ref"), ("restartCount", "Restart Count")],
)
def test_title(key: str, expected: str) -> None:
    assert title(key) == expected


def test_timestamp() -> None:
    assert timestamp("2026-01-01T11:00:00Z") == "Thu, 01 Jan 2026 11:00:00 +0000"
    assert timestamp("") == ""


def test_align_pads_each_run_of_cells() -> None:
    text = align(["A:\t1", "Longer:\t2", "\tcont", "Break", "  x:\ty", "  yy:\tz"])
    assert text == "A:       1\nLonger:  2\n         cont\nBreak\n  x:   y\n  yy:  z\n"


def test_describe_limavm() -> None:
    lines = describe_object(LIMAVM, VM, [EVENT], now=NOW).splitlines()
    assert lines[:9] == [
        "Name:               rd",
        "Namespace:          default",
        "Labels:             a=1",
        "                    b=2",
        "Annotations:        <none>",
        "Finalizers:         one",
        "                    two",
        "Controlled By:      App/app",
        "API Version:        lima.rancherdesktop.io/v1alpha1",
    ]
    assert lines[9:12] == [
        "Kind:               LimaVM",
        "CreationTimestamp:  Thu, 01 Jan 2026 11:00:00 +0000",
        "Spec:",
    ]
    assert lines[12:15] == ["  Running:  true", "  Template Ref:", "    Name:  rd"]
    assert lines[15:17] == ["Status:", "  Arch:  x86_64"]
    assert lines[17:21] == [
        "Conditions:",
        "  Type     Status  LastTransitionTime               Reason   Message",
        "  ----     ------  ------------------               ------   -------",
        "  Running  True    Thu, 01 Jan 2026 11:30:00 +0000  Started  up",
    ]
    assert lines[21:] == [
        "Events:",
        "  Type    Reason   Age               Message",
        "  ----    ------   ---               -------",
        "  Normal  Started  5m (x3 over 10m)  Lima instance is running",
    ]


def test_describe_configmap_without_events() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"},
        "data": {"k": "v"},
    }
    text = describe_object(CONFIGMAP, cm, [], now=NOW)
    assert "\nData\n====\nk:\n----\nv\n" in text
    assert text.endswith("\nEvents:  <none>\n")


def test_events_section_is_oldest_first() -> None:
    newer = {**EVENT, "reason": "Later", "lastTimestamp": "2026-01-01T11:59:00Z"}
    rows = events_section([newer, EVENT], NOW)
    assert [row.split("\t")[1] for row in rows[3:]] == ["Started", "Later"]
