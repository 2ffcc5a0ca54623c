"""Health follows etcd: with the stack's etcd frozen, every service reports
NOT_SERVING within a few seconds (and `rdd svc status` shows it, the log
says why); once etcd answers again, SERVING."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable

from rdd.stack.health import service_health
from rdd.stack.records import SERVICES
from tests.support.cli import run_rdd
from tests.support.fixtures import Session
from tests.support.stack import Stack
from tests.support.waiting import eventually


def svc_status(stack: Stack) -> dict[str, str]:
    result = run_rdd("svc", "status", "-o", "json", env=stack.env, timeout=30)
    assert "Traceback" not in result.stderr
    components = json.loads(result.stdout)["components"]
    return {name: components[name]["health"] for name in SERVICES}


async def test_services_are_not_serving_while_etcd_is_unreachable(
    make_session: Callable[..., Session],
):
    session = make_session()
    stack = session.stack
    assert svc_status(stack) == dict.fromkeys(SERVICES, "SERVING")
    etcd = stack.pid("etcd")
    os.kill(etcd, signal.SIGSTOP)
    try:

        def all_health(expected: str) -> bool:
            return all(service_health(stack.address(s)) == expected for s in SERVICES)

        await eventually(
            lambda: all_health("NOT_SERVING"),
            timeout=10,
            interval=0.5,
            message="services kept SERVING with etcd down",
        )
        assert svc_status(stack) == dict.fromkeys(SERVICES, "NOT_SERVING")
        for name in SERVICES:
            assert stack.has_logged(name, "dependency_down", dependency="etcd")
    finally:
        os.kill(etcd, signal.SIGCONT)
    await eventually(
        lambda: svc_status(stack) == dict.fromkeys(SERVICES, "SERVING"),
        timeout=30,
        interval=0.5,
        message="services did not come back to SERVING with etcd",
    )
    assert (await session.api.configmaps.list()).items == []
