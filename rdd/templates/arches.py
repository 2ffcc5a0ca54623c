"""The architectures Lima knows, shared by template validation and rendering."""

from __future__ import annotations

#: Lima's ArchTypes, in Lima's order (messages list them this way).
ARCHES = ("x86_64", "aarch64", "armv7l", "ppc64le", "riscv64", "s390x")
#: Top-level `arch` may also say "default": the host's architecture.
DEFAULT_ARCH = "default"
