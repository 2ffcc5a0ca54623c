"""`python -m rdd.services.webhook`: the admission service process."""

from __future__ import annotations

import os

from rdd.services.webhook.servicer import AdmissionServicer, StoreLookup

from rdd.admission.limactl import LimactlValidator
from rdd.api.admission.v1 import admission_pb2, admission_pb2_grpc
from rdd.drivers import host_arch
from rdd.server.dependency import watch_store
from rdd.server.process import (
    MAX_REVIEW_BYTES,
    ServiceProcess,
    configure_logging,
    run_main,
)
from rdd.server.startup import start_service


async def main() -> None:
    startup = await start_service("webhook")
    args, settings, security, store = startup
    validator = LimactlValidator(lima_home=settings.lima_home)
    servicer = AdmissionServicer(StoreLookup(store, host_arch(os.environ), validator))
    process = ServiceProcess(
        "webhook",
        listen=args.listen,
        address_file=args.address_file,
        security=security,
        max_receive_bytes=MAX_REVIEW_BYTES,
    )
    process.add_service(
        lambda server: admission_pb2_grpc.add_AdmissionServiceServicer_to_server(servicer, server),
        admission_pb2.DESCRIPTOR.services_by_name["AdmissionService"].full_name,
    )
    process.add_component(watch_store(store, process.set_serving))
    try:
        await process.run()
    finally:
        await store.close()


if __name__ == "__main__":
    configure_logging("webhook")
    run_main(main)
