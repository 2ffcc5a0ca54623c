"""The packaging steps pyproject.toml cannot say: the generated gRPC stubs,
made from protos/ when the tree has none (so a wheel built from a clean
clone carries them; grpcio-tools is a build requirement), and the services,
kept in the repo's top-level services/ folder but installed as rdd.services
so that no top-level `services` package lands in site-packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
API = ROOT / "rdd" / "api"


def generate_stubs() -> None:
    """protoc into rdd/api, as `make protos` does (its stamp: up to date)."""
    if (API / ".generated").exists() or not (ROOT / "protos").is_dir():
        return
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "protos").rglob("*.proto"))
    protoc = [sys.executable, "-m", "grpc_tools.protoc", "-Iprotos"]
    subprocess.run(
        [*protoc, "--python_out=.", "--grpc_python_out=.", "--pyi_out=.", *protos],
        cwd=ROOT,
        check=True,
    )
    subprocess.run(
        [
            *protoc,
            "--include_source_info",
            f"--descriptor_set_out={API / 'descriptors.binpb'}",
            *protos,
        ],
        cwd=ROOT,
        check=True,
    )
    for folder in [API, *(p for p in API.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()


generate_stubs()

SERVICES = ["rdd.services", *(f"rdd.services.{p}" for p in find_packages(str(ROOT / "services")))]

setup(
    packages=[
        *find_packages(include=["rdd", "rdd.*"], exclude=["rdd.services", "rdd.services.*"]),
        *SERVICES,
    ],
    package_dir={"rdd.services": "services"},
    package_data={"rdd.api": ["descriptors.binpb"], "": ["*.pyi"]},
)
