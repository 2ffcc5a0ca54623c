"""The App's default Lima template: what the App controller puts in the input
ConfigMap `rd` when it creates the LimaVM.

It carries an image for both x86_64 and aarch64 (never a hard-coded amd64),
so the LimaVM controller can build the instance for whichever arch the host
has. The images have no `digest`: the release's sha512 sums could not be
looked up when this was written, and a made-up digest would make every
download fail.
"""

from __future__ import annotations

_RELEASE = "https://github.com/rancher-sandbox/alpine-lima/releases/download/v0.2.43.rd1"

DEFAULT_TEMPLATE = f"""\
# Lima template for the Rancher Desktop VM (rdd's default).
images:
- location: {_RELEASE}/alpine-lima-rd-3.20.3-x86_64.iso
  arch: x86_64
- location: {_RELEASE}/alpine-lima-rd-3.20.3-aarch64.iso
  arch: aarch64
cpus: 2
memory: 6GiB
disk: 100GiB
mounts:
- location: "~"
  writable: true
ssh:
  # 0: Lima picks a free port.
  localPort: 0
  loadDotSSHPubKeys: false
containerd:
  system: false
  user: false
"""
