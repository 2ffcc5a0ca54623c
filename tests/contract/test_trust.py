"""Only the person who started a stack can drive it: the default stack
listens on private unix sockets only; a TCP stack wants TLS and the token on
every call but Health; etcd wants a client certificate; and ownership is
released only by the owner's own service. Real stacks, real sockets, real TLS."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rdd.api.admission.v1 import admission_pb2, admission_pb2_grpc
from rdd.api.app.v1alpha1 import app_pb2_grpc
from rdd.api.core.v1 import core_pb2_grpc
from rdd.api.lima.v1alpha1 import limavm_pb2_grpc
from rdd.api.meta.v1 import meta_pb2
from rdd.clients import ResourceClient
from rdd.errors import ConflictError, ForbiddenError, UnavailableError
from rdd.kinds import LIMAVM
from rdd.meta.names import owned_finalizer
from rdd.stack.records import SERVICES
from rdd.store.etcdclient import EtcdStore
from rdd.transport.channels import Credentials, open_channel
from rdd.transport.clientconfig import read_config
from rdd.transport.pki import Pki
from rdd.transport.sockets import socket_path
from tests.support.fixtures import Session
from tests.support.grpcurl import grpcurl
from tests.support.processes import listens_on_tcp
from tests.support.stack import Api, Stack, env_without_rdd, new_app
from tests.support.waiting import eventually

# -- what listens ----------------------------------------------------------------


def stack_pids(stack: Stack) -> list[int]:
    return [stack.pid(name) for name in ("etcd", *SERVICES)] + stack.vm_processes()


def test_default_stack_listens_on_no_tcp_port_and_keeps_its_folders_private(
    stack: Stack, api_started_app: Any
) -> None:
    for pid in stack_pids(stack):
        assert not listens_on_tcp(pid), f"pid {pid} listens on TCP"
    assert stat.S_IMODE(stack.home.stat().st_mode) == 0o700
    run = stack.home / "run"
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    sockets = [p for p in run.iterdir() if p.is_socket()]
    assert {p.name for p in sockets} >= {"etcd:2379", "app.sock", "limavm.sock", "webhook.sock"}
    for sock in sockets:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600, sock
    for name in ("etcd", *SERVICES):
        assert stack.address(name).startswith(f"unix://{run}/")


@pytest.fixture
async def api_started_app(api: Api) -> Any:
    """An App whose VM runs, so its host agent is among the processes checked."""
    await api.apps.create(new_app(running=True))

    async def running() -> bool:
        vms = (await api.limavms.list()).items
        return bool(vms) and any(
            c.type == "Running" and c.status == "True" for c in vms[0].status.conditions
        )

    await eventually(running, timeout=30, message="the VM never ran")
    return None


@pytest.fixture
def world_readable_parent() -> Iterator[Path]:
    """A folder anyone may enter: the stack's own permissions must keep them out."""
    parent = Path(tempfile.mkdtemp(prefix="rddt", dir="/tmp"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def _as_nobody(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another account needs root")
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system python3 for nobody")
def test_another_account_can_neither_list_the_home_nor_connect(
    make_stack: Callable[..., Stack], world_readable_parent: Path
) -> None:
    stack = Stack(world_readable_parent / "h")
    stack.start()
    try:
        sockets = [str(socket_path(stack.address(n))) for n in ("etcd", *SERVICES)]
        probe = f"""
import os, socket, sys
results = []
try:
    os.listdir({str(world_readable_parent)!r}); results.append("parent:ok")
except OSError as e:
    results.append("parent:" + type(e).__name__)
try:
    os.listdir({str(stack.home)!r}); results.append("home:ok")
except OSError as e:
    results.append("home:" + type(e).__name__)
for path in {sockets!r}:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); results.append("sock:ok")
    except OSError as e:
        results.append("sock:" + type(e).__name__)
print(" ".join(results))
"""
        result = _as_nobody(probe)
        assert result.returncode == 0, result.stderr
        words = result.stdout.split()
        assert words[0] == "parent:ok"  # the check below is the stack's own permissions
        assert words[1] == "home:PermissionError"
        assert words[2:] == ["sock:PermissionError"] * len(sockets)
    finally:
        stack.stop()


def test_grpcurl_over_the_socket_lists_and_gets(stack: Stack) -> None:
    path = str(socket_path(stack.address("app")))
    listed = grpcurl("-unix", path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "rdd.app.v1alpha1.AppService" in listed.stdout.split()


def test_a_too_long_home_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / ("x" * 90)
    result = subprocess.run(
        [sys.executable, "-m", "rdd.cli", "svc", "start"],
        env={**env_without_rdd(), "RDD_HOME": str(home), "RDD_VM_DRIVER": "sim"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "too long for unix sockets" in result.stderr and "limit is" in result.stderr
    assert "--listen=tcp" in result.stderr and "Traceback" not in result.stderr
    assert not (home / "run" / "etcd.json").exists()


# -- TCP: TLS and the token ----------------------------------------------------------


@pytest.fixture
def tcp_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(RDD_LISTEN="tcp")


def _ca(stack: Stack) -> bytes:
    return Pki(stack.home / "pki").load_ca()


def _token(stack: Stack, name: str = "user") -> str:
    return Pki(stack.home / "pki").load_token(name)


def _calls(channel: grpc.aio.Channel) -> dict[str, Callable[[], Any]]:
    """One cheap call on every service, by name."""
    get = meta_pb2.GetRequest(name="app")
    listing = meta_pb2.ListRequest(namespace="default")
    return {
        "app": lambda: app_pb2_grpc.AppServiceStub(channel).Get(get, timeout=5),
        "limavm": lambda: limavm_pb2_grpc.LimaVMServiceStub(channel).List(listing, timeout=5),
        "configmaps": lambda: core_pb2_grpc.ConfigMapServiceStub(channel).List(listing, timeout=5),
        "events": lambda: core_pb2_grpc.EventServiceStub(channel).List(listing, timeout=5),
        "webhook": lambda: admission_pb2_grpc.AdmissionServiceStub(channel).Review(
            admission_pb2.AdmissionRequest(operation="CREATE", kind="App"), timeout=5
        ),
    }


def _service_of(call: str) -> str:
    return {"configmaps": "limavm", "events": "limavm"}.get(call, call)


async def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("call", ["app", "limavm", "configmaps", "events", "webhook"])
async def test_tcp_calls_need_tls_and_the_token(tcp_stack: Stack, call: str) -> None:
    address = tcp_stack.address(_service_of(call))
    assert not address.startswith("unix:")
    ca = _ca(tcp_stack)
    good = {
        "app": grpc.StatusCode.NOT_FOUND,
        "limavm": grpc.StatusCode.OK,
        "configmaps": grpc.StatusCode.OK,
        "events": grpc.StatusCode.OK,
        "webhook": grpc.StatusCode.INVALID_ARGUMENT,  # a review without an object
    }[call]
    async with grpc.aio.insecure_channel(address) as plaintext:
        assert await _code(_calls(plaintext)[call]) == grpc.StatusCode.UNAVAILABLE
    async with open_channel(address, Credentials(ca=ca)) as no_token:
        assert await _code(_calls(no_token)[call]) == grpc.StatusCode.UNAUTHENTICATED
    async with open_channel(address, Credentials(ca=ca, token="w" * 43)) as wrong:
        assert await _code(_calls(wrong)[call]) == grpc.StatusCode.UNAUTHENTICATED
    async with open_channel(address, Credentials(ca=ca, token=_token(tcp_stack))) as right:
        assert await _code(_calls(right)[call]) == good
    log = tcp_stack.log(_service_of(call))
    assert any(
        e["msg"] == "unauthenticated" and e["peer"].startswith("ipv4:127.0.0.1")
        for e in tcp_stack.log_events(_service_of(call))
    )
    assert _token(tcp_stack) not in log


@pytest.mark.parametrize("service", SERVICES)
async def test_tcp_health_needs_no_token(tcp_stack: Stack, service: str) -> None:
    async with open_channel(tcp_stack.address(service), Credentials(ca=_ca(tcp_stack))) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_tcp_etcd_wants_a_client_certificate(tcp_stack: Stack) -> None:
    endpoint = tcp_stack.address("etcd")
    assert endpoint.startswith("https://127.0.0.1:")
    with pytest.raises(UnavailableError):
        await EtcdStore.connect(endpoint, timeout=2, credentials=Credentials(ca=_ca(tcp_stack)))
    with pytest.raises(UnavailableError):
        await EtcdStore.connect(endpoint.replace("https://", "http://"), timeout=2)
    identity = Pki(tcp_stack.home / "pki").load_identity("client")
    certified = Credentials(ca=identity.ca, cert=identity.cert, key=identity.key)
    store = await EtcdStore.connect(endpoint, timeout=5, credentials=certified)
    try:
        assert await store.revision() > 0
    finally:
        await store.close()


def _rdd(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rdd.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_reaches_a_tcp_stack_through_rdd_config_from_elsewhere(
    tcp_stack: Stack, stack: Stack, tmp_path: Path
) -> None:
    """Two stacks side by side, one on unix sockets and one on TCP; the CLI
    reaches the TCP one from an unrelated folder with a copy of its config."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / "tcp-config"
    shutil.copy(tcp_stack.home / "config", copy)
    env = {**env_without_rdd(), "RDD_HOME": str(tmp_path / "unrelated"), "RDD_CONFIG": str(copy)}
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: over-tcp\ndata: {a: b}\n"
    applied = subprocess.run(
        [sys.executable, "-m", "rdd.cli", "ctl", "apply", "-f", "-"],
        env=env,
        cwd=elsewhere,
        input=manifest,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert applied.returncode == 0, applied.stderr
    got = _rdd("ctl", "get", "cm", "over-tcp", "-o", "name", env=env, cwd=elsewhere)
    assert got.stdout.strip() == "configmap/over-tcp", got.stderr
    # The unix-socket stack beside it does not have it, and still answers.
    local = {**env_without_rdd(), "RDD_HOME": str(stack.home)}
    missing = _rdd("ctl", "get", "cm", "over-tcp", env=local, cwd=elsewhere)
    assert missing.returncode == 1 and "NotFound" in missing.stderr
    view = _rdd("config", "view", env=env, cwd=elsewhere)
    assert view.returncode == 0 and "token: REDACTED" in view.stdout
    assert _token(tcp_stack) not in view.stdout
    deleted = _rdd("ctl", "delete", "cm", "over-tcp", env=env, cwd=elsewhere)
    assert deleted.returncode == 0, deleted.stderr
    status = _rdd(
        "svc", "status", env={**env_without_rdd(), "RDD_HOME": str(tcp_stack.home)}, cwd=elsewhere
    )
    assert _token(tcp_stack) not in status.stdout + status.stderr
    for name in ("etcd", *SERVICES):
        assert _token(tcp_stack) not in tcp_stack.log(name)


def test_a_damaged_rdd_config_is_a_clear_error(tmp_path: Path, tcp_stack: Stack) -> None:
    broken = tmp_path / "config"
    text = (tcp_stack.home / "config").read_text()
    broken.write_text(text.replace("BEGIN CERTIFICATE", "BEGIN NONSENSE"))
    env = {**env_without_rdd(), "RDD_HOME": str(tmp_path / "h"), "RDD_CONFIG": str(broken)}
    result = _rdd("ctl", "get", "app", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "certificateAuthorityData is not a PEM certificate" in result.stderr
    assert "Traceback" not in result.stderr and _token(tcp_stack) not in result.stderr
    missing = _rdd(
        "ctl", "get", "app", env={**env, "RDD_CONFIG": str(tmp_path / "nope")}, cwd=tmp_path
    )
    assert missing.returncode == 1 and "no such file" in missing.stderr


# -- damaged credentials ------------------------------------------------------------


def test_damaged_credentials_stop_a_start_and_are_never_replaced(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {**env_without_rdd(), "RDD_HOME": str(home), "RDD_VM_DRIVER": "sim"}
    assert _rdd("svc", "start", "--listen=tcp", env=env, cwd=tmp_path).returncode == 0
    assert _rdd("svc", "stop", env=env, cwd=tmp_path).returncode == 0
    pki = home / "pki"
    token = (pki / "token").read_text()
    (pki / "limavm.crt").write_text("not a certificate\n")
    failed = _rdd("svc", "start", "--listen=tcp", env=env, cwd=tmp_path)
    assert failed.returncode == 1
    assert "limavm.crt is not a PEM certificate" in failed.stderr
    assert "rotate-credentials" in failed.stderr and "Traceback" not in failed.stderr
    assert (pki / "limavm.crt").read_text() == "not a certificate\n"  # not regenerated
    assert (pki / "token").read_text() == token
    assert not list((home / "run").glob("*.json")), "nothing may start"
    (pki / "token").write_text("short\n")
    failed = _rdd("svc", "start", env=env, cwd=tmp_path)
    assert failed.returncode == 1 and "does not hold a valid token" in failed.stderr
    rotated = _rdd("svc", "rotate-credentials", env=env, cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert (pki / "token").read_text() not in ("short\n", token)
    started = _rdd("svc", "start", "--listen=tcp", env=env, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    running = _rdd("svc", "rotate-credentials", env=env, cwd=tmp_path)
    assert running.returncode == 1 and "stop it first" in running.stderr
    assert _rdd("svc", "stop", env=env, cwd=tmp_path).returncode == 0


# -- ownership is the owner's alone ---------------------------------------------------


async def _owned_vm(api: Api) -> Any:
    app = await api.apps.create(new_app(running=False))

    async def created() -> Any:
        vms = (await api.limavms.list()).items
        return vms[0] if vms and vms[0].status.template_config_map else None

    vm = await eventually(created, timeout=20, message="the App's LimaVM never came")
    assert vm.metadata.owner_references[0].uid == app.metadata.uid
    return vm


async def _assert_bypasses_refused(api: Api, vm: Any, limavms: ResourceClient) -> None:
    name, namespace = vm.metadata.name, vm.metadata.namespace
    owner_uid = vm.metadata.owner_references[0].uid
    for and_delete in (False, True):
        with pytest.raises(ForbiddenError, match="only the owner's service"):
            await limavms.release_ownership(
                name, namespace, owner_uid=owner_uid, and_delete=and_delete
            )
    await _refused_update(
        api.limavms, name, namespace, lambda o: o.metadata.finalizers.remove(owned_finalizer("App"))
    )
    await _refused_update(
        api.limavms, name, namespace, lambda o: o.metadata.ClearField("owner_references")
    )
    with pytest.raises(ForbiddenError, match="owned by App"):
        await api.limavms.delete(name, namespace)
    current = await api.limavms.get(name, namespace)
    template = await api.configmaps.get(f"{name}-template", namespace)
    with pytest.raises(ForbiddenError, match="only the owner's service"):
        await api.configmaps.release_ownership(
            template.metadata.name, namespace, owner_uid=current.metadata.uid
        )
    await _refused_update(
        api.configmaps,
        template.metadata.name,
        namespace,
        lambda o: o.metadata.ClearField("finalizers"),
    )
    survivor = await api.limavms.get(name, namespace)
    assert owned_finalizer("App") in survivor.metadata.finalizers
    assert survivor.metadata.owner_references[0].uid == owner_uid
    assert not survivor.metadata.deletion_timestamp


async def _refused_update(
    client: ResourceClient, name: str, namespace: str, change: Callable[[Any], Any]
) -> None:
    """`change` applied to the current object is refused by admission (a
    Conflict with a controller's status write is retried)."""
    for _ in range(20):
        obj = await client.get(name, namespace)
        change(obj)
        try:
            await client.update(obj)
        except ConflictError:
            continue
        except ForbiddenError as exc:
            assert "owner" in exc.message
            return
        raise AssertionError(f"the update of {name} was accepted")
    raise AssertionError("no attempt got past the conflicts")


async def test_ownership_bypasses_are_refused_over_the_socket(api: Api) -> None:
    vm = await _owned_vm(api)
    await _assert_bypasses_refused(api, vm, api.limavms)


async def test_ownership_bypasses_are_refused_over_tcp_even_with_another_services_token(
    make_session: Callable[..., Session],
) -> None:
    session = make_session(RDD_LISTEN="tcp")
    vm = await _owned_vm(session.api)
    await _assert_bypasses_refused(session.api, vm, session.api.limavms)
    # The LimaVM service's own token does not let it release what an App owns.
    stack = session.stack
    credentials = Credentials(ca=_ca(stack), token=_token(stack, "limavm"))
    async with open_channel(stack.address("limavm"), credentials) as channel:
        as_limavm = ResourceClient(LIMAVM, channel)
        for and_delete in (False, True):
            with pytest.raises(ForbiddenError, match="only the App controller's service"):
                await as_limavm.release_ownership(
                    vm.metadata.name,
                    vm.metadata.namespace,
                    owner_uid=vm.metadata.owner_references[0].uid,
                    and_delete=and_delete,
                )
    assert not (
        await session.api.limavms.get(vm.metadata.name, vm.metadata.namespace)
    ).metadata.deletion_timestamp


# -- the compose stack's init and health check ---------------------------------------


def test_compose_init_makes_credentials_once_and_a_host_config(tmp_path: Path) -> None:
    env = {**env_without_rdd(), "RDD_HOME": str(tmp_path / "rdd")}
    command = [sys.executable, "-m", "rdd.stack.compose", "init", "--app", "127.0.0.1:7"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    token = (tmp_path / "rdd" / "pki" / "token").read_text()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and (tmp_path / "rdd" / "pki" / "token").read_text() == token
    config = read_config(tmp_path / "rdd" / "config")
    assert config.endpoints["app"] == "127.0.0.1:7" and config.token == token.strip()
    for host in ("etcd", "webhook", "limavm", "app", "127.0.0.1"):
        Pki(tmp_path / "rdd" / "pki").ensure_tls([host])  # every compose name is covered


def test_compose_health_check_speaks_tls(tcp_stack: Stack) -> None:
    env = {**env_without_rdd(), "RDD_HOME": str(tcp_stack.home)}
    for service in SERVICES:
        probe = subprocess.run(
            [sys.executable, "-m", "rdd.stack.compose", "health", tcp_stack.address(service)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.returncode == 0, probe.stderr
