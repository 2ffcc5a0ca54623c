"""Objects and inputs the tests build: store objects by name, a key prefix
no other test uses, and a YAML alias bomb."""

from __future__ import annotations

import uuid
from typing import Any

from rdd.kinds import CONFIGMAP, LIMAVM


def unique_prefix() -> str:
    return f"/test-{uuid.uuid4().hex[:12]}"


def configmap(name: str, namespace: str = "default", **data: str) -> Any:
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data.update(data)
    return cm


def limavm(name: str, namespace: str = "default") -> Any:
    vm = LIMAVM.new()
    vm.metadata.name = name
    vm.metadata.namespace = namespace
    vm.spec.template_ref.name = "rd"
    return vm


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """Each level a list of `width` aliases to the level before."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ",".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"
