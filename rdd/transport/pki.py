"""The credentials of one stack, under `$RDD_HOME/pki/` (folder 0700, files 0600).

    token                      the user's bearer token (TCP mode): random, 43 characters
    app.token, limavm.token,   each service's own token: how a service proves who it
    webhook.token              is (ReleaseOwnership), over unix sockets and TCP alike
    ca.crt, ca.key             the stack's CA (TCP mode)
    <component>.crt/.key       etcd, webhook, limavm, app: server certificate, also the
                               component's client certificate for etcd
    client.crt/.key            `rdd svc`'s client certificate (etcd health probes)

Two groups, each created once and never silently replaced: the tokens on
the first `svc start`, the TLS files on the first start in TCP mode. Each
group is written file by file with its marker (`token`, `ca.crt`) last, so a
group whose marker exists is complete; files without their marker are what
an interrupted creation left and are written anew. A group that is there but
damaged is a PkiError that names the file; `rdd svc rotate-credentials`
(rotate) is the only way to new credentials. No message ever holds a token.

Keys are ECDSA P-256: quick to make, taken by grpc and etcd alike."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rdd.transport.files import write_private

#: Services with a token of their own.
SERVICE_IDENTITIES: tuple[str, ...] = ("webhook", "limavm", "app")
#: Components with a certificate (etcd, the services, `rdd svc`).
CERTIFICATE_IDENTITIES: tuple[str, ...] = ("etcd", *SERVICE_IDENTITIES, "client")
#: Names every server certificate answers to: loopback and the compose services.
DEFAULT_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1", "etcd", *SERVICE_IDENTITIES)
USER_TOKEN = "token"
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,256}")
_CA_DAYS = 3650
_LEAF_DAYS = 825
_ROTATE_HINT = "create new ones with 'rdd svc rotate-credentials'"


class PkiError(RuntimeError):
    """Credentials missing or damaged; the message names the file, never its content."""


@dataclass(frozen=True)
class Tokens:
    user: str
    #: service name -> its token.
    services: dict[str, str]

    def caller(self, presented: str) -> str | None:
        """Whose token `presented` is ("user" or a service name), or None.
        Every known token is compared, each in constant time."""
        found = None
        for name, token in (("user", self.user), *self.services.items()):
            if secrets.compare_digest(presented.encode(), token.encode()):
                found = name
        return found


@dataclass(frozen=True)
class Identity:
    """A component's certificate and key, and the CA that signed it (PEM)."""

    cert: bytes
    key: bytes
    ca: bytes


@dataclass(frozen=True)
class Pki:
    """The folder of one stack's credentials."""

    folder: Path

    def token_file(self, name: str) -> Path:
        return self.folder / (USER_TOKEN if name == "user" else f"{name}.token")

    def cert_file(self, component: str) -> Path:
        return self.folder / f"{component}.crt"

    def key_file(self, component: str) -> Path:
        return self.folder / f"{component}.key"

    @property
    def ca_file(self) -> Path:
        return self.folder / CA_CERT

    @property
    def has_tokens(self) -> bool:
        return self.token_file("user").exists()

    @property
    def has_tls(self) -> bool:
        return self.ca_file.exists()

    # -- creating -----------------------------------------------------------

    def ensure_tokens(self) -> Tokens:
        """The tokens, created when the group has never been made."""
        if not self.has_tokens:
            self._prepare_folder()
            for name in SERVICE_IDENTITIES:
                write_private(self.token_file(name), new_token().encode())
            write_private(self.token_file("user"), new_token().encode())
        return self.load_tokens()

    def ensure_tls(self, hosts: Iterable[str] = ()) -> None:
        """The CA and certificates, created when the group has never been
        made; PkiError when they exist and do not cover `hosts`."""
        wanted = _unique([*DEFAULT_HOSTS, *hosts])
        if not self.has_tls:
            self._prepare_folder()
            ca_key, ca_cert = _new_ca()
            for component in CERTIFICATE_IDENTITIES:
                key, cert = _new_leaf(component, ca_key, ca_cert, wanted)
                write_private(self.key_file(component), _key_pem(key))
                write_private(self.cert_file(component), _cert_pem(cert))
            write_private(self.folder / CA_KEY, _key_pem(ca_key))
            write_private(self.ca_file, _cert_pem(ca_cert))
        for component in CERTIFICATE_IDENTITIES:
            identity = self.load_identity(component)
            if component == "client":
                continue
            missing = [h for h in wanted if not _covers(identity.cert, h)]
            if missing:
                raise PkiError(
                    f"{self.cert_file(component)} is not valid for {', '.join(missing)}; "
                    f"{_ROTATE_HINT}"
                )

    def rotate(self, *, tls: bool, hosts: Iterable[str] = ()) -> None:
        """New tokens (and, with `tls`, a new CA and certificates) in place of
        whatever is there: every client configuration made before stops working."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.ensure_tokens()
        if tls:
            self.ensure_tls(hosts)

    def _prepare_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    # -- loading ------------------------------------------------------------

    def load_tokens(self) -> Tokens:
        user = self._read_token("user")
        return Tokens(user=user, services={s: self._read_token(s) for s in SERVICE_IDENTITIES})

    def load_token(self, name: str) -> str:
        """One token ("user" or a service's)."""
        return self._read_token(name)

    def load_ca(self) -> bytes:
        return _load_cert(self.ca_file)[1]

    def load_identity(self, component: str) -> Identity:
        """A component's certificate and key, checked: both parse, the key is
        the certificate's, the CA signed it, and it has not expired."""
        ca, ca_pem = _load_cert(self.ca_file)
        cert, cert_pem = _load_cert(self.cert_file(component))
        key_path = self.key_file(component)
        key_pem = _read(key_path)
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise PkiError(f"{key_path} is not a PEM private key; {_ROTATE_HINT}") from None
        if key.public_key() != cert.public_key():
            raise PkiError(f"{key_path} is not the key of {self.cert_file(component)}")
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            raise PkiError(
                f"{self.cert_file(component)} was not signed by {self.ca_file}; {_ROTATE_HINT}"
            ) from None
        return Identity(cert=cert_pem, key=key_pem, ca=ca_pem)

    def _read_token(self, name: str) -> str:
        path = self.token_file(name)
        text = _read(path).decode(errors="replace").strip()
        if not _TOKEN_PATTERN.fullmatch(text):
            raise PkiError(f"{path} does not hold a valid token; {_ROTATE_HINT}")
        return text


def new_token() -> str:
    """43 URL-safe characters: 256 random bits."""
    return secrets.token_urlsafe(32)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PkiError(f"{path} is missing; restore it, or {_ROTATE_HINT}") from None
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror}") from None


def _load_cert(path: Path) -> tuple[x509.Certificate, bytes]:
    pem = _read(path)
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise PkiError(f"{path} is not a PEM certificate; {_ROTATE_HINT}") from None
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise PkiError(
            f"{path} is valid from {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, not now; {_ROTATE_HINT}"
        )
    return cert, pem


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(h.strip("[]") for h in items if h))


def _general_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _covers(cert_pem: bytes, host: str) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return _general_names([host])[0] in list(sans)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rdd"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return builder.not_valid_before(now - timedelta(minutes=5)).not_valid_after(
        now + timedelta(days=days)
    )


def _new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("rdd stack CA")
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return key, _validity(builder, _CA_DAYS).sign(key, hashes.SHA256())


def _new_leaf(
    component: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    hosts: Sequence[str],
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if component != "client":
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"rdd {component}"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if component != "client":
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_general_names(hosts)), critical=False
        )
    return key, _validity(builder, _LEAF_DAYS).sign(ca_key, hashes.SHA256())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
