"""What the supervisor reports: the outcome of start/stop for each
component, the status of a stack, and the error of a start that failed.

Formatted for people by rdd.cli.svc."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdd.stack.health import SERVING
from rdd.transport.sockets import join_targets


class StackError(RuntimeError):
    """A component could not be started; carries the tail of its log."""

    def __init__(self, message: str, *, log_tail: str = "", log_path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail
        self.log_path = log_path

    def __str__(self) -> str:
        if not self.log_tail:
            return self.message
        return f"{self.message}; last lines of {self.log_path}:\n{self.log_tail}"


@dataclass(frozen=True)
class Outcome:
    """What start/stop did to one component."""

    component: str
    #: started, restarted, running, external, stopped, killed, not running.
    action: str
    pid: int | None = None
    address: str = ""


@dataclass(frozen=True)
class ComponentStatus:
    pid: int | None
    address: str
    health: str
    #: etcd: the member is the cluster's leader; app/limavm: the replica runs the controller.
    leader: bool = False
    #: The Prometheus endpoint of a service started with metrics, else "".
    metrics: str = ""


@dataclass(frozen=True)
class StackStatus:
    #: The first replica (member) of each component.
    components: dict[str, ComponentStatus] = field(default_factory=dict)
    #: Every replica (member) of each component, in order.
    replicas: dict[str, list[ComponentStatus]] = field(default_factory=dict)

    @property
    def endpoints(self) -> dict[str, str]:
        """Each component's target: every replica's address, comma separated."""
        found = {}
        for name, first in self.components.items():
            members = self.replicas.get(name) or [first]
            addresses = [m.address for m in members if m.address]
            if addresses:
                found[name] = join_targets(addresses)
        return found

    @property
    def serving(self) -> bool:
        every = [
            m
            for name in self.components
            for m in self.replicas.get(name) or [self.components[name]]
        ]
        return all(c.health == SERVING for c in every)
