"""Leases and leader terms in etcd (used by rdd.runtime.leadership): a term
is the election key's create revision, and a write that carries it (a
`Fence`) commits only while that key is still the one its leader created.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from aetcd import rpc

from rdd.errors import ConflictError
from rdd.store.connection import EtcdConnection, store_error


@dataclass(frozen=True)
class Fence:
    """One leader's term: a write that carries it commits only while the
    election key is still the one this leader created, at `revision`. An
    ex-leader that wakes after its lease expired cannot write (the compare
    fails in the same transaction), which a lock alone does not ensure."""

    key: bytes
    revision: int

    def header(self) -> str:
        """How a fence travels in call metadata (`rdd-fence`) (pure)."""
        return f"{self.revision}:{self.key.decode()}"

    @classmethod
    def parse(cls, text: str) -> Fence | None:
        revision, _, key = text.partition(":")
        if not revision.isdigit() or not key:
            return None
        return cls(key=key.encode(), revision=int(revision))

    def compare(self) -> rpc.Compare:
        """The transaction compare that holds while this term lasts."""
        return created_at(self.key, self.revision)


class FencedError(ConflictError):
    """A write carried a fence whose term has ended: its leader lost the lease."""


def created_at(key: bytes, revision: int) -> rpc.Compare:
    """Compare: `key` was created at `revision` (0: it does not exist)."""
    return rpc.Compare(
        key=key,
        result=rpc.Compare.EQUAL,
        target=rpc.Compare.CREATE,
        create_revision=revision,
    )


class Leadership(EtcdConnection):
    """Leases, campaigns and terms, on the store's connection."""

    def leader_key(self, name: str) -> bytes:
        return f"{self._layout.prefix}/leaders/{name}".encode()

    async def grant_lease(self, ttl: int) -> int:
        response = await self._lease_call("LeaseGrant", rpc.LeaseGrantRequest(TTL=ttl))
        return int(response.ID)

    async def keep_alive(self, lease: int) -> int:
        """Renew the lease; its remaining TTL in seconds, 0 when it expired."""
        await self._client.connect()
        try:
            async for reply in self._client.leasestub.LeaseKeepAlive(
                iter([rpc.LeaseKeepAliveRequest(ID=lease)]), timeout=self._timeout
            ):
                return max(0, int(reply.TTL))
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc) from None
        return 0

    async def revoke_lease(self, lease: int) -> None:
        await self._lease_call("LeaseRevoke", rpc.LeaseRevokeRequest(ID=lease))

    async def campaign(self, name: str, identity: str, lease: int) -> Fence | None:
        """Become the leader of `name` when nobody is: the key is created on
        `lease` (it goes when the lease expires). The term, or None."""
        key = self.leader_key(name)
        put = rpc.RequestOp(
            request_put=rpc.PutRequest(key=key, value=identity.encode(), lease=lease)
        )
        response = await self._call(
            "Txn", rpc.TxnRequest(compare=[created_at(key, 0)], success=[put])
        )
        return (
            Fence(key=key, revision=int(response.header.revision)) if response.succeeded else None
        )

    async def leader(self, name: str) -> tuple[str, int] | None:
        """(identity, term revision) of the current leader of `name`, if any."""
        response = await self._call("Range", rpc.RangeRequest(key=self.leader_key(name)))
        if not response.kvs:
            return None
        kv = response.kvs[0]
        return kv.value.decode(errors="replace"), int(kv.create_revision)

    async def resign(self, fence: Fence) -> None:
        """End the term early (a clean step-down), only if it is still ours."""
        delete = rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=fence.key))
        await self._call("Txn", rpc.TxnRequest(compare=[fence.compare()], success=[delete]))

    async def term_ended(self, fence: Fence) -> bool:
        current = await self._call("Range", rpc.RangeRequest(key=fence.key))
        return not current.kvs or int(current.kvs[0].create_revision) != fence.revision

    async def fenced_error(self, fence: Fence) -> FencedError | None:
        """The error for a failed fenced transaction when the term is why."""
        if not await self.term_ended(fence):
            return None
        return FencedError(
            f"not the leader any more (term {fence.revision} of "
            f"{fence.key.decode()} ended): the write was not made"
        )
