"""What every service does first, in one place: read its command line and
settings, load its credentials, connect to etcd (and, for the services
that write, open the admission webhook's channel)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import NamedTuple

import grpc

from rdd.config import SERVICE_WIRING, Settings, SettingsError
from rdd.server.process import MAX_REVIEW_BYTES, ServerSecurity, parse_args
from rdd.store.etcdclient import EtcdStore
from rdd.transport.channels import open_channel


class Startup(NamedTuple):
    """What a service main starts from; unpacks as (args, settings, security, store)."""

    args: argparse.Namespace
    settings: Settings
    security: ServerSecurity
    store: EtcdStore

    def webhook_channel(self) -> grpc.aio.Channel:
        """The channel admission reviews go over (they may be large)."""
        return open_channel(
            self.settings.webhook_address,
            self.security.credentials,
            max_send_bytes=MAX_REVIEW_BYTES,
        )


def missing_addresses(name: str, env: Mapping[str, str]) -> list[str]:
    """What service `name` cannot start without and was not told, one line
    each (pure): a service started by hand needs what `svc start` sets."""
    return [
        f"{variable}: not set; the {name} service needs the address of {peer}"
        " (`rdd svc start` sets it for the services it starts)"
        for variable, peer in SERVICE_WIRING.get(name, {}).items()
        if not env.get(variable)
    ]


async def start_service(name: str) -> Startup:
    args = parse_args(name)
    settings = Settings.from_env()
    missing = missing_addresses(name, os.environ)
    if missing:
        raise SettingsError(*missing)
    security = ServerSecurity(settings.home, name, args.listen)
    store = await EtcdStore.connect(
        settings.etcd_endpoints,
        prefix=settings.etcd_prefix,
        timeout=settings.rpc_timeout,
        credentials=security.etcd_credentials,
    )
    return Startup(args, settings, security, store)
