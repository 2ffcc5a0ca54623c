"""`python -m rdd.services.app`: the App service process."""

from __future__ import annotations

from rdd.services.app.controller import AppContext, AppController

from rdd.api.app.v1alpha1 import app_pb2, app_pb2_grpc
from rdd.clients import ResourceClient
from rdd.kinds import APP, CONFIGMAP, LIMAVM
from rdd.runtime.events import EventRecorder
from rdd.runtime.informer import Informer, cache_of
from rdd.runtime.leadership import Elected
from rdd.server.admission_client import AdmissionClient
from rdd.server.dependency import watch_store
from rdd.server.process import (
    ServiceProcess,
    configure_logging,
    run_main,
)
from rdd.server.resources import FENCE_HEADER, ResourceServicer
from rdd.server.startup import start_service
from rdd.store.etcdclient import Fence
from rdd.store.registry import Registry
from rdd.templates.default import DEFAULT_TEMPLATE
from rdd.transport.channels import open_channel, with_metadata


async def main() -> None:
    startup = await start_service("app")
    args, settings, security, store = startup
    webhook = startup.webhook_channel()
    limavm_channel = open_channel(settings.limavm_address, security.credentials)
    apps = Informer(store, APP)  # the API's cache, on every replica
    registry = Registry(store, admit=AdmissionClient(webhook).admit, cache=cache_of(apps))

    def controller_for(fence: Fence) -> AppController:
        """The App controller of one leader's term: its writes, here and
        through the LimaVM service, carry the term."""
        fenced = with_metadata(limavm_channel, ((FENCE_HEADER, fence.header()),))
        return AppController(
            AppContext(
                registry=registry.fenced(fence),
                apps=apps,
                limavms=Informer(store, LIMAVM),
                configmaps=Informer(store, CONFIGMAP),
                limavm_client=ResourceClient(LIMAVM, fenced, timeout=settings.rpc_timeout),
                configmap_client=ResourceClient(CONFIGMAP, fenced, timeout=settings.rpc_timeout),
                recorder=EventRecorder(store, component="app-controller"),
                default_template=DEFAULT_TEMPLATE,
            )
        )

    servicer = ResourceServicer(
        APP,
        registry,
        list_message=APP.list_message,
        watch_event_message=APP.watch_event_message,
        authenticator=security.authenticator,
    )
    process = ServiceProcess(
        "app", listen=args.listen, address_file=args.address_file, security=security
    )
    process.add_service(
        lambda s: app_pb2_grpc.add_AppServiceServicer_to_server(servicer, s),
        app_pb2.DESCRIPTOR.services_by_name["AppService"].full_name,
    )
    process.add_component(apps)
    process.add_component(Elected(store, "app-controller", controller_for))
    process.add_component(watch_store(store, process.set_serving))
    try:
        await process.run()
    finally:
        await limavm_channel.close(None)
        await webhook.close(None)
        await store.close()


if __name__ == "__main__":
    configure_logging("app")
    run_main(main)
