"""The App's default template: valid for both host arches, sized as promised."""

from __future__ import annotations

import pytest
import yaml

from rdd.templates.default import DEFAULT_TEMPLATE
from rdd.templates.validation import images_for_arch, parse_size, validate_template

TEMPLATE = yaml.safe_load(DEFAULT_TEMPLATE)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_default_template_has_its_own_image_for_each_host_arch(arch: str) -> None:
    assert validate_template(DEFAULT_TEMPLATE, vm_arch=arch) == []
    (location,) = images_for_arch(DEFAULT_TEMPLATE, arch)
    assert location.startswith(
        "https://github.com/rancher-sandbox/rancher-desktop-opensuse/releases/download/"
    )
    assert location.endswith({"x86_64": ".amd64.raw.xz", "aarch64": ".arm64.raw.xz"}[arch])


def test_default_template_does_not_pin_an_arch() -> None:
    assert "arch" not in TEMPLATE


def test_default_template_resources() -> None:
    assert TEMPLATE["cpus"] == 2
    assert parse_size(TEMPLATE["memory"]) == 6 << 30
    assert parse_size(TEMPLATE["disk"]) == 100 << 30


def test_default_template_mounts_home_and_leaves_containerd_off() -> None:
    assert [m["location"] for m in TEMPLATE["mounts"]] == ["~"]
    assert TEMPLATE["ssh"]["localPort"] == 0
    assert TEMPLATE["containerd"] == {"system": False, "user": False}
