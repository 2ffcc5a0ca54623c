"""The pki, the client configuration, tokens and socket paths, on plain
data and temporary folders (no stack)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rdd.config import Listen, SettingsError, parse_listen
from rdd.server.auth import USER, Authenticator
from rdd.transport.clientconfig import (
    ClientConfig,
    ConfigError,
    parse_config,
    read_config,
    render,
    write_config,
)
from rdd.transport.pki import CERTIFICATE_IDENTITIES, Pki, PkiError
from rdd.transport.sockets import SUN_PATH_MAX, socket_path, socket_path_problem, unix_target


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    made = Pki(tmp_path / "pki")
    made.ensure_tokens()
    made.ensure_tls(["10.0.0.7"])
    return made


def test_pki_files_are_private_and_complete(pki: Pki) -> None:
    assert stat.S_IMODE(pki.folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in pki.folder.iterdir())
    assert "token" in files and "ca.crt" in files and "app.token" in files
    for name in CERTIFICATE_IDENTITIES:
        assert f"{name}.crt" in files and f"{name}.key" in files
        pki.load_identity(name)
    for path in pki.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    tokens = pki.load_tokens()
    assert len(tokens.user) >= 32 and len(set([tokens.user, *tokens.services.values()])) == 4


def test_ensure_never_replaces_what_exists(pki: Pki) -> None:
    before = {p.name: p.read_bytes() for p in pki.folder.iterdir()}
    pki.ensure_tokens()
    pki.ensure_tls(["10.0.0.7"])
    assert {p.name: p.read_bytes() for p in pki.folder.iterdir()} == before


def test_a_host_the_certificates_do_not_name_is_an_error(pki: Pki) -> None:
    with pytest.raises(PkiError, match="not valid for 192.168.9.9.*rotate-credentials"):
        pki.ensure_tls(["192.168.9.9"])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p.folder / "app.crt").write_text("junk"), "app.crt is not a PEM certificate"),
        (lambda p: (p.folder / "app.key").unlink(), "app.key is missing"),
        (
            lambda p: (p.folder / "app.key").write_bytes((p.folder / "webhook.key").read_bytes()),
            "is not the key of",
        ),
        (
            lambda p: (p.folder / "limavm.token").write_text("x y"),
            "limavm.token does not hold a valid token",
        ),
    ],
)
def test_damaged_files_are_named_never_replaced(pki: Pki, damage, message: str) -> None:
    damage(pki)
    with pytest.raises(PkiError, match=message):
        pki.ensure_tokens()
        pki.ensure_tls()


def test_a_certificate_from_another_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    other = Pki(tmp_path / "other")
    other.ensure_tls()
    (pki.folder / "app.crt").write_bytes((other.folder / "app.crt").read_bytes())
    (pki.folder / "app.key").write_bytes((other.folder / "app.key").read_bytes())
    with pytest.raises(PkiError, match="was not signed by"):
        pki.load_identity("app")


def test_an_interrupted_creation_is_completed(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    pki.folder.mkdir()
    (pki.folder / "app.token").write_text("left over by a killed start")
    tokens = pki.ensure_tokens()  # no marker: the group was never complete
    assert tokens.services["app"] != "left over by a killed start"


def test_rotate_replaces_everything(pki: Pki) -> None:
    before = pki.load_tokens()
    pki.rotate(tls=True)
    after = pki.load_tokens()
    assert after.user != before.user and after.services["app"] != before.services["app"]
    pki.load_identity("etcd")


def test_tokens_say_whose_they_are(pki: Pki) -> None:
    tokens = pki.load_tokens()
    assert tokens.caller(tokens.user) == "user"
    assert tokens.caller(tokens.services["limavm"]) == "limavm"
    assert tokens.caller("nope") is None and tokens.caller("") is None


@pytest.mark.parametrize("require", [True, False])
def test_authenticator(pki: Pki, require: bool) -> None:
    tokens = pki.load_tokens()
    auth = Authenticator(tokens, require_token=require)
    assert auth.caller([]) == (None if require else USER)
    assert auth.caller([("authorization", f"Bearer {tokens.user}")]) == "user"
    assert auth.caller([("authorization", f"bearer {tokens.services['app']}")]) == "app"
    assert auth.caller([("authorization", "Bearer wrong")]) is None
    assert auth.caller([("authorization", tokens.user)]) is None  # no scheme


def test_client_config_round_trip_and_redaction(pki: Pki, tmp_path: Path) -> None:
    endpoints = {"app": "127.0.0.1:1", "limavm": "127.0.0.1:2", "webhook": "127.0.0.1:3"}
    config = ClientConfig(endpoints, ca=pki.load_ca().decode(), token=pki.load_token("user"))
    path = tmp_path / "config"
    write_config(path, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config(path) == config
    shown = render(config, redact=True)
    assert config.token not in shown and "REDACTED" in shown and "BEGIN" not in shown


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not an rdd client configuration"),
        ({"kind": "Config"}, "endpoints: Required value"),
        ({"kind": "Config", "endpoints": {"app": "a:1", "limavm": "b:1"}}, "endpoints.webhook"),
        (
            {"kind": "Config", "endpoints": {"app": "a:1", "limavm": "b:1", "webhook": "c:1"}},
            "certificateAuthorityData: Required value for TCP",
        ),
    ],
)
def test_unusable_client_configs(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_unix_client_config_needs_no_credentials() -> None:
    unix = {n: f"unix:///r/{n}.sock" for n in ("app", "limavm", "webhook")}
    assert not parse_config({"kind": "Config", "endpoints": unix}).uses_tls


def test_unreadable_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        read_config(tmp_path / "none")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config(tmp_path / "bin")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", Listen()),
        ("unix", Listen()),
        ("tcp", Listen(tcp=True)),
        ("tcp://0.0.0.0", Listen(tcp=True, host="0.0.0.0")),
        ("tcp://[::1]", Listen(tcp=True, host="::1")),
        ("tcp://myhost", Listen(tcp=True, host="myhost")),
    ],
)
def test_parse_listen(raw: str, expected: Listen) -> None:
    assert parse_listen(raw) == expected


@pytest.mark.parametrize("raw", ["udp", "tcp://", "tcp://host:80", "tcp://a/b"])
def test_parse_listen_refuses(raw: str) -> None:
    with pytest.raises(SettingsError, match="RDD_LISTEN"):
        parse_listen(raw)


def test_wildcard_listen_is_reached_on_loopback() -> None:
    assert Listen(tcp=True, host="0.0.0.0").client_host == "127.0.0.1"


def test_socket_paths() -> None:
    assert socket_path_problem(Path("/" + "a" * (SUN_PATH_MAX - 1))) is None
    problem = socket_path_problem(Path("/" + "a" * SUN_PATH_MAX))
    assert problem is not None and f"limit is {SUN_PATH_MAX}" in problem
    assert socket_path(unix_target(Path("/r/run/etcd:2379"))) == Path("/r/run/etcd:2379")
