"""`python -m rdd.services.limavm`: the LimaVM service process."""

from __future__ import annotations

import logging
import os
from typing import Any

from rdd.services.limavm.controller import LimaVMContext, LimaVMController
from rdd.services.limavm.servicer import LimaVMServicer
from rdd.services.limavm.templating import TemplateCompanion

from rdd.api.core.v1 import core_pb2, core_pb2_grpc
from rdd.api.lima.v1alpha1 import limavm_pb2, limavm_pb2_grpc
from rdd.config import ServiceSettings
from rdd.drivers import make_driver, select_driver
from rdd.kinds import CONFIGMAP, EVENT, LIMAVM
from rdd.runtime.collector import Collector
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
from rdd.server.resources import ResourceServicer
from rdd.server.startup import start_service
from rdd.store.etcdclient import Fence
from rdd.store.registry import Registry

log = logging.getLogger("rdd.services.limavm")


def _service_name(module: Any, service: str) -> str:
    return str(module.DESCRIPTOR.services_by_name[service].full_name)


async def main() -> None:
    startup = await start_service("limavm")
    args, settings, security, store = startup
    service = ServiceSettings.from_env()
    settings.lima_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    webhook = startup.webhook_channel()
    vm_informer, configmap_informer = Informer(store, LIMAVM), Informer(store, CONFIGMAP)
    registry = Registry(
        store,
        admit=AdmissionClient(webhook).admit,
        cache=cache_of(vm_informer, configmap_informer),
    )

    driver_name, reason = select_driver(service.vm_driver, os.environ)
    log.info("event=driver_selected driver=%s reason=%r", driver_name, reason)
    arch = service.host_arch

    def controller_for(fence: Fence) -> LimaVMController:
        """The LimaVM controller of one leader's term: only the leader starts,
        stops and supervises VM processes; a new leader adopts what runs."""
        controller: LimaVMController | None = None

        def notify(name: str) -> None:
            if controller is not None:
                controller.notify(name)

        controller = LimaVMController(
            LimaVMContext(
                registry=registry.fenced(fence),
                vms=vm_informer,
                configmaps=configmap_informer,
                driver=make_driver(
                    driver_name, settings.lima_home, notify, service, env=os.environ
                ),
                recorder=EventRecorder(store, component="limavm-controller"),
                host_arch=arch,
                stop_timeout=service.stop_timeout,
            )
        )
        return controller

    process = ServiceProcess(
        "limavm", listen=args.listen, address_file=args.address_file, security=security
    )
    limavms = LimaVMServicer(
        registry,
        companions=TemplateCompanion(store, configmap_informer.get),
        driver=driver_name,
        lima_home=settings.lima_home,
        host_arch=arch,
        authenticator=security.authenticator,
    )
    configmaps = ResourceServicer(
        CONFIGMAP,
        registry,
        list_message=CONFIGMAP.list_message,
        watch_event_message=CONFIGMAP.watch_event_message,
        authenticator=security.authenticator,
    )
    events = ResourceServicer(
        EVENT,
        registry,
        list_message=EVENT.list_message,
        watch_event_message=EVENT.watch_event_message,
    )
    process.add_service(
        lambda s: limavm_pb2_grpc.add_LimaVMServiceServicer_to_server(limavms, s),
        _service_name(limavm_pb2, "LimaVMService"),
    )
    process.add_service(
        lambda s: core_pb2_grpc.add_ConfigMapServiceServicer_to_server(configmaps, s),
        _service_name(core_pb2, "ConfigMapService"),
    )
    process.add_service(
        lambda s: core_pb2_grpc.add_EventServiceServicer_to_server(events, s),
        _service_name(core_pb2, "EventService"),
    )
    process.add_component(vm_informer)  # the API's caches, on every replica
    process.add_component(configmap_informer)
    process.add_component(Elected(store, "limavm-controller", controller_for))
    process.add_component(Collector(store))
    process.add_component(watch_store(store, process.set_serving))
    try:
        await process.run()
    finally:
        await webhook.close(None)
        await store.close()


if __name__ == "__main__":
    configure_logging("limavm")
    run_main(main)
