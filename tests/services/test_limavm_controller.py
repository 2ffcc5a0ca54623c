"""The LimaVM controller in-process, on a real etcd and the sim driver:
what brings its passes when the parts of a LimaVM arrive out of order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rdd.services.limavm.controller import LimaVMContext, LimaVMController
from rdd.services.limavm.templating import build_template_configmap

from rdd.drivers.sim import SimDriver
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import CLEANUP_FINALIZER
from rdd.runtime.events import EventRecorder
from rdd.runtime.informer import Informer
from rdd.store.etcdclient import EtcdStore
from rdd.store.registry import Registry
from rdd.templates.default import DEFAULT_TEMPLATE
from tests.support.objects import configmap, limavm
from tests.support.stack import has_condition
from tests.support.waiting import eventually


@pytest.fixture
async def controller(store: EtcdStore, tmp_path: Path) -> AsyncIterator[LimaVMController]:
    holder: list[LimaVMController] = []
    driver = SimDriver(
        tmp_path / "lima",
        lambda name: holder[0].notify(name) if holder else None,
        boot_seconds=0,
        prepare_seconds=0,
    )
    controller = LimaVMController(
        LimaVMContext(
            registry=Registry(store),
            vms=Informer(store, LIMAVM),
            configmaps=Informer(store, CONFIGMAP),
            driver=driver,
            recorder=EventRecorder(store, component="limavm-controller"),
            host_arch="x86_64",
        )
    )
    holder.append(controller)
    await controller.start()
    yield controller
    await controller.shutdown()


async def test_a_template_copy_that_comes_after_the_pass_brings_the_next_one(
    store: EtcdStore, controller: LimaVMController, caplog: pytest.LogCaptureFixture
):
    """A copy is written in its LimaVM's own transaction, so its ADDED
    brings no pass of its own; but a pass that found none in the cache
    waits for it, and its ADDED must bring that LimaVM back."""
    registry = Registry(store)
    vm = limavm("late")
    add_finalizer(vm, CLEANUP_FINALIZER)
    with caplog.at_level(logging.INFO, logger="rdd.services.limavm.controller"):
        vm = await registry.create(LIMAVM, vm)
        await eventually(lambda: "event=waiting_for_template key=default/late" in caplog.text)
    await registry.create(
        CONFIGMAP, build_template_configmap(vm, configmap("rd", template=DEFAULT_TEMPLATE))
    )

    async def is_created() -> bool:
        current = await registry.get(LIMAVM, "default", "late")
        return has_condition(current, "Created", "True")

    await eventually(is_created)
