"""`pip install` of the wheel built from a clean clone (committed files
only) gives a working `rdd` in a fresh virtual environment: every runtime
dependency declared, the generated stubs inside, the services as
rdd.services and no top-level `services` package, `python -m rdd`,
`rdd version` of client and services, and a whole lifecycle run with the
installed command, away from the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def run(
    *command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> str:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel of a clean clone installed; its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    clone = work / "clone"
    run("git", "clone", "--quiet", "--no-hardlinks", ROOT, clone, cwd=work)
    assert not (clone / "rdd" / "api").exists(), "a clean clone has no generated stubs"
    dist = work / "dist"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        dist,
        clone,
        cwd=work,
    )
    wheels = list(dist.glob("rdd-*.whl"))
    assert len(wheels) == 1
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=work)
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        wheels[0],
        "-c",
        ROOT / "constraints.txt",
        cwd=work,
        timeout=600,
    )
    return venv / "bin"


@pytest.mark.timeout(900)
def test_the_wheel_holds_stubs_and_services_but_no_top_level_services(installed: Path) -> None:
    site = run(
        installed / "python",
        "-c",
        "import rdd, pathlib; print(pathlib.Path(rdd.__file__).parent.parent)",
        cwd=installed,
    ).strip()
    packages = {p.name for p in Path(site).iterdir()}
    assert "rdd" in packages and "services" not in packages
    assert (Path(site) / "rdd" / "api" / "app" / "v1alpha1" / "app_pb2.py").is_file()
    assert (Path(site) / "rdd" / "services" / "limavm" / "__main__.py").is_file()
    assert "usage: rdd" in run(installed / "python", "-m", "rdd", "--help", cwd=installed)


@pytest.mark.timeout(900)
def test_a_whole_lifecycle_with_the_installed_command(installed: Path, tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RDD_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(RDD_HOME=str(tmp_path / "h"), RDD_VM_DRIVER="sim", RDD_SIM_BOOT_SECONDS="0.3")
    env["PATH"] = f"{installed}:{env.get('PATH', '')}"
    rdd = installed / "rdd"
    try:
        run(rdd, "svc", "start", cwd=tmp_path, env=env)
        assert run(rdd, "--version", cwd=tmp_path, env=env).strip()
        versions = json.loads(run(rdd, "version", "-o", "json", cwd=tmp_path, env=env))
        assert set(versions["serverVersions"]) == {"app", "limavm", "webhook"}
        assert versions["clientVersion"]
        out = run(rdd, "set", "running=true", "--timeout=2m", cwd=tmp_path, env=env)
        assert "Settled=True" in out
        run(rdd, "ctl", "delete", "app", "app", cwd=tmp_path, env=env)
        assert run(rdd, "ctl", "get", "limavm", "-A", "-o", "name", cwd=tmp_path, env=env) == ""
    finally:
        run(rdd, "svc", "stop", cwd=tmp_path, env=env)
