"""What admission may read besides the review itself.

The admission service backs this with etcd reads; tests back it with a dict.
"""

from __future__ import annotations

from typing import Any, Protocol

from rdd.kinds import Kind


class Lookup(Protocol):
    """Read-only access to stored objects and facts about the host (its arch, its Lima)."""

    @property
    def host_arch(self) -> str:
        """`x86_64` or `aarch64`: the arch a new VM is built for."""
        ...

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        """The stored object, or None when there is none."""
        ...

    async def claimed_namespace(self, kind: Kind, name: str) -> str | None:
        """The namespace holding `name` for a kind whose names are unique
        across namespaces (LimaVM), or None when the name is free."""
        ...

    async def lima_problems(self, template: str) -> list[str]:
        """What the installed Lima says is wrong with a template (`limactl
        validate`), one item per error; empty when it accepts it or when there
        is no limactl to ask."""
        ...
