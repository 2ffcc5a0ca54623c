"""etcd key layout (pure).

<prefix>/registry/<plural>/<namespace>/<name>   the object (cluster scope: no namespace)
<prefix>/owners/<owner-uid>/<plural>/<ns>/<name> index: what a uid owns, no scan of every kind
<prefix>/names/<plural>/<name>                   claim: a name unique across namespaces
"""

from __future__ import annotations

from dataclasses import dataclass

from rdd.kinds import ALL_KINDS, Kind


def prefix_end(prefix: bytes) -> bytes:
    """The etcd range_end that covers every key starting with `prefix`."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


@dataclass(frozen=True)
class ObjectRef:
    """Which object, without its content."""

    kind: Kind
    namespace: str
    name: str


@dataclass(frozen=True)
class KeyLayout:
    prefix: str = "/rdd"

    def object_key(self, kind: Kind, namespace: str, name: str) -> bytes:
        if kind.namespaced:
            return f"{self.prefix}/registry/{kind.plural}/{namespace}/{name}".encode()
        return f"{self.prefix}/registry/{kind.plural}/{name}".encode()

    def list_prefix(self, kind: Kind, namespace: str = "") -> bytes:
        """All objects of a kind, or of one namespace when given."""
        if kind.namespaced and namespace:
            return f"{self.prefix}/registry/{kind.plural}/{namespace}/".encode()
        return f"{self.prefix}/registry/{kind.plural}/".encode()

    def owner_index_key(self, owner_uid: str, kind: Kind, namespace: str, name: str) -> bytes:
        return f"{self.prefix}/owners/{owner_uid}/{kind.plural}/{namespace}/{name}".encode()

    def owner_index_prefix(self, owner_uid: str) -> bytes:
        return f"{self.prefix}/owners/{owner_uid}/".encode()

    def parse_owner_index_key(self, key: bytes) -> ObjectRef:
        *_, plural, namespace, name = key.decode().split("/")
        kind = next(k for k in ALL_KINDS if k.plural == plural)
        return ObjectRef(kind=kind, namespace=namespace, name=name)

    def section_prefix(self, section: str) -> bytes:
        """Every key of one section: "registry", "owners" or "names"."""
        return f"{self.prefix}/{section}/".encode()

    def name_claim_key(self, kind: Kind, name: str) -> bytes:
        return f"{self.prefix}/names/{kind.plural}/{name}".encode()
