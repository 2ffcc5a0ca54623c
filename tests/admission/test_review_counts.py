"""Each check runs once per review: the first LimaVM create reviews the
LimaVM (its template judged once, limactl asked once) and then the template
copy it is created with (once each again, at most: the same text is judged
from memory), and limactl itself is run once for the same template text."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rdd import admission
from rdd.admission import configmaps
from rdd.admission.limactl import LimactlValidator
from rdd.kinds import CONFIGMAP, LIMAVM
from tests.admission.reviewing import DictLookup, create, make_cm, make_vm


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every template rdd's own checks judged."""
    seen: list[str] = []
    real = configmaps.validate_template

    def counting(text: str, *, vm_arch: str | None) -> list[str]:
        seen.append(text)
        return real(text, vm_arch=vm_arch)

    monkeypatch.setattr(configmaps, "validate_template", counting)
    configmaps.judged_template.cache_clear()
    yield seen
    configmaps.judged_template.cache_clear()


async def test_a_limavm_create_judges_its_template_once_and_asks_limactl_once(
    judged: list[str],
) -> None:
    lookup = DictLookup()
    lookup.add(CONFIGMAP, make_cm(template_label=True))
    vm = await admission.admit(create(LIMAVM, make_vm()), lookup)
    assert vm.metadata.finalizers
    assert len(judged) == 1
    assert len(lookup.lima_asked) == 1


async def test_the_same_template_is_judged_from_memory_in_the_next_review(
    judged: list[str],
) -> None:
    lookup = DictLookup()
    lookup.add(CONFIGMAP, make_cm(template_label=True))
    await admission.admit(create(LIMAVM, make_vm()), lookup)
    await admission.admit(create(LIMAVM, make_vm("rd2")), lookup)
    assert len(judged) == 1


async def test_the_template_copy_of_a_new_limavm_is_judged_once_and_asked_once(
    judged: list[str],
) -> None:
    lookup = DictLookup()
    vm = make_vm(uid="uid-1")
    lookup.add(LIMAVM, vm)
    copy: Any = make_cm("rd-template", template_label=True, controller=LIMAVM.kind)
    await admission.admit(create(CONFIGMAP, copy), lookup)
    assert len(judged) == 1
    assert len(lookup.lima_asked) == 1


async def test_limactl_runs_once_for_the_same_template(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    limactl = tmp_path / "bin" / "limactl"
    limactl.parent.mkdir()
    limactl.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 0\n')
    limactl.chmod(limactl.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{limactl.parent}:{os.environ.get('PATH', '')}"}
    validator = LimactlValidator(lima_home=tmp_path / "lima", env=env)
    assert await validator.problems("images: []\n") == []
    assert await validator.problems("images: []\n") == []
    assert len(calls.read_text().splitlines()) == 1
    assert await validator.problems("cpus: 2\n") == []
    assert len(calls.read_text().splitlines()) == 2
