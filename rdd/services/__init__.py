"""The three service processes (webhook, limavm, app), as `rdd.services`.

In a checkout they live in the top-level `services/` folder and this file
points the package there; in an installed wheel setup.py's package_dir puts
that folder's files here instead, so no top-level `services` package is
installed."""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent.parent / "services"
if (_CHECKOUT / "app" / "__main__.py").is_file():
    __path__ = [str(_CHECKOUT)]
