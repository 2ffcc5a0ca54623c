"""The App's default Lima template: what the App controller puts in the input
ConfigMap `rd` when it creates the LimaVM.

The images are the openSUSE-based distro images the original daemon used
(rancher-desktop-opensuse v0.2.2), one per arch with its digest: never a
hard-coded amd64, so the LimaVM controller can build the instance for
whichever arch the host has.
"""

from __future__ import annotations

_RELEASE = "https://github.com/rancher-sandbox/rancher-desktop-opensuse/releases/download/v0.2.2"

DEFAULT_TEMPLATE = f"""\
# Lima template for the Rancher Desktop VM (rdd's default).
images:
- location: {_RELEASE}/distro.v0.2.2.amd64.raw.xz
  arch: x86_64
  digest: "sha256:a1aaeb12beca92d4d0ca62c19322dc217035db766c694ca287d243d6878f255c"
- location: {_RELEASE}/distro.v0.2.2.arm64.raw.xz
  arch: aarch64
  digest: "sha256:dbd58f962e42d0b946929c9ab7f5126363d6b0d918e79cd6f2c24620d087e64a"
cpus: 2
memory: 6GiB
disk: 100GiB
mounts:
- location: "~"
  writable: true
ssh:
  # 0: Lima picks a free port (a fixed one collides).
  localPort: 0
  loadDotSSHPubKeys: false
containerd:
  system: false
  user: false
"""
