"""The compose deployment, checked on its files: one image built once, a
patched etcd, no obsolete keys, a build context without local clutter."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())


def test_the_image_is_built_once_and_reused() -> None:
    services = COMPOSE["services"]
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["init"]
    for name in ("init", "webhook", "limavm", "app"):
        assert services[name]["image"] == "rdd:local", name
    assert "version" not in COMPOSE


def test_etcd_is_a_patched_release() -> None:
    image = COMPOSE["services"]["etcd"]["image"]
    match = re.fullmatch(r"quay\.io/coreos/etcd:v3\.(\d+)\.(\d+)", image)
    assert match, image
    minor, patch = int(match[1]), int(match[2])
    assert minor >= 6 or (minor == 5 and patch >= 26), image  # 3.5.17 has known CVEs


def test_the_build_context_leaves_local_files_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "**/__pycache__", "rdd/api"} <= set(ignored)


def test_the_image_keeps_the_proto_comments_for_reflection() -> None:
    assert "--include_source_info" in (ROOT / "deploy" / "Dockerfile").read_text()
