"""The client configuration: everything a client needs to reach one stack.

`rdd svc start` writes `$RDD_HOME/config` (0600); the CLI reads it, or the
file `RDD_CONFIG` names (a compose stack, another machine). It is the only
place a client learns endpoints and credentials:

    apiVersion: rdd.rancherdesktop.io/v1
    kind: Config
    endpoints: {app: TARGET, limavm: TARGET, webhook: TARGET, etcd: URL}
    certificateAuthorityData: PEM      # TCP only: the stack's CA
    token: TOKEN                       # TCP only: the user's bearer token

Targets are gRPC targets: `unix:///abs/path.sock` or `HOST:PORT` (TLS)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rdd.transport.files import write_private
from rdd.transport.sockets import is_unix_target

API_VERSION = "rdd.rancherdesktop.io/v1"
KIND = "Config"
#: Endpoints a client configuration must have.
CLIENT_ENDPOINTS: tuple[str, ...] = ("app", "limavm", "webhook")
REDACTED = "REDACTED"
OMITTED = "DATA+OMITTED"
_MAX_BYTES = 1024 * 1024
_HEADER = (
    "# rdd client configuration, written by `rdd svc start`.\n"
    "# It holds the stack's token: keep it private (0600).\n"
)


class ConfigError(ValueError):
    """A client configuration that cannot be used; says which file and why."""


@dataclass(frozen=True)
class ClientConfig:
    endpoints: dict[str, str]
    #: PEM of the CA that signed the servers' certificates ("" over unix sockets).
    ca: str = ""
    #: The user's bearer token ("" over unix sockets).
    token: str = ""
    #: Where it was read from, for messages.
    source: Path | None = field(default=None, compare=False)

    @property
    def uses_tls(self) -> bool:
        return any(not is_unix_target(self.endpoints[n]) for n in CLIENT_ENDPOINTS)

    def document(self, *, redact: bool = True) -> dict[str, Any]:
        """The file's content as a mapping; `redact` hides the token and the CA."""
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "endpoints": dict(self.endpoints),
        }
        if self.ca:
            doc["certificateAuthorityData"] = OMITTED if redact else self.ca
        if self.token:
            doc["token"] = REDACTED if redact else self.token
        return doc


def render(config: ClientConfig, *, redact: bool) -> str:
    """The YAML text of a configuration (pure)."""
    return yaml.safe_dump(config.document(redact=redact), sort_keys=False)


def write_config(path: Path, config: ClientConfig) -> None:
    """Atomically, 0600 from the first byte."""
    write_private(path, (_HEADER + render(config, redact=False)).encode())


def read_config(path: Path) -> ClientConfig:
    """The configuration in `path`; ConfigError naming the file and the problem."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    if len(raw) > _MAX_BYTES:
        raise ConfigError(f"{path}: larger than {_MAX_BYTES} bytes; not a client configuration")
    try:
        data = yaml.safe_load(raw.decode())
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError):
        raise ConfigError(f"{path}: not valid YAML") from None
    return parse_config(data, source=path)


def parse_config(data: Any, *, source: Path | None = None) -> ClientConfig:
    """A configuration from its parsed YAML; ConfigError when it is unusable (pure)."""
    where = str(source) if source else "client configuration"
    if not isinstance(data, Mapping) or data.get("kind") != KIND:
        raise ConfigError(f"{where}: not an rdd client configuration (kind: {KIND})")
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, Mapping):
        raise ConfigError(f"{where}: endpoints: Required value")
    found = {str(k): str(v) for k, v in endpoints.items() if isinstance(v, str) and v}
    missing = [name for name in CLIENT_ENDPOINTS if name not in found]
    if missing:
        raise ConfigError(f"{where}: endpoints.{missing[0]}: Required value")
    ca = data.get("certificateAuthorityData") or ""
    token = data.get("token") or ""
    if not isinstance(ca, str) or not isinstance(token, str):
        raise ConfigError(f"{where}: certificateAuthorityData and token must be strings")
    config = ClientConfig(endpoints=found, ca=ca, token=token.strip(), source=source)
    if config.uses_tls:
        if not config.ca:
            raise ConfigError(f"{where}: certificateAuthorityData: Required value for TCP")
        if not config.token:
            raise ConfigError(f"{where}: token: Required value for TCP")
        from cryptography import x509  # TCP only: the CLI over unix sockets skips its import

        try:
            x509.load_pem_x509_certificate(config.ca.encode())
        except ValueError:
            raise ConfigError(
                f"{where}: certificateAuthorityData is not a PEM certificate"
            ) from None
        if any(c.isspace() or not c.isprintable() for c in config.token):
            raise ConfigError(f"{where}: token holds characters a token cannot have")
    return config
