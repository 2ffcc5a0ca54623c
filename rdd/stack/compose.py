"""`python -m rdd.stack.compose init|health`: the two things the compose
stack (deploy/docker-compose.yml) needs that `rdd svc start` does elsewhere.

- `init`, the one-shot service every other one waits for: creates the pki in
  the shared RDD_HOME volume once (certificates name the compose services
  and loopback), and writes `$RDD_HOME/config`, the client configuration a
  CLI on the host uses (endpoints are the ports published on the host's
  loopback: `--app`, `--limavm`, `--webhook`). Existing credentials are
  kept and checked, never replaced.
- `health TARGET`: exit 0 when the service at TARGET (TLS, the stack's CA)
  reports SERVING; the compose health check."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rdd.config import Settings
from rdd.stack.health import SERVING, service_health
from rdd.transport.channels import Credentials
from rdd.transport.clientconfig import ClientConfig, write_config
from rdd.transport.pki import Pki, PkiError


def init(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki = Pki(settings.home / "pki")
    pki.ensure_tokens()
    pki.ensure_tls(args.host)
    endpoints = {"app": args.app, "limavm": args.limavm, "webhook": args.webhook}
    config = ClientConfig(endpoints, ca=pki.load_ca().decode(), token=pki.load_token("user"))
    write_config(settings.home / "config", config)
    print(f"credentials in {pki.folder}; client configuration in {settings.home / 'config'}")
    return 0


def health(args: argparse.Namespace) -> int:
    pki = Pki(Settings.from_env().home / "pki")
    status = service_health(args.target, credentials=Credentials(ca=pki.load_ca()))
    return 0 if status == SERVING else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rdd.stack.compose")
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("init", help="credentials and the host's client configuration")
    made.add_argument("--app", default="127.0.0.1:50051")
    made.add_argument("--limavm", default="127.0.0.1:50052")
    made.add_argument("--webhook", default="127.0.0.1:50053")
    made.add_argument(
        "--host",
        action="append",
        default=[],
        help="another name the certificates must cover (the members of an etcd cluster)",
    )
    made.set_defaults(run=init)
    probe = commands.add_parser("health", help="exit 0 when TARGET is SERVING")
    probe.add_argument("target")
    probe.set_defaults(run=health)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except PkiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
