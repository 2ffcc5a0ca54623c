"""Disk sizes across a template change: Lima cannot shrink an instance's disk.

`limactl edit` refuses a smaller `disk` (pkg/limayaml/validate.go
ValidateAgainstLatestConfig, v2.0+: "field `disk`: shrinking the disk (A -->
B) is not supported"), and `limactl start` of an instance whose lima.yaml asks
for less than its disk holds fails every time (pkg/instance/start.go:
"diffDisk: Shrinking is currently unavailable" v1.1..v2.0, "disk shrinking is
not supported" v2.1+). Used by admission (a template change for a LimaVM
whose instance exists) and by the lima driver (reconfigure).
"""

from __future__ import annotations

from typing import Any

import yaml

from rdd.templates.sizes import parse_size

#: Lima's default `disk` (pkg/limayaml/defaults.go).
DEFAULT_DISK_BYTES = 100 << 30


def disk_bytes(text: str) -> int | None:
    """The disk size a template asks for (Lima's default when unset); None
    when the text or its `disk` cannot be read (validation reports that). Pure."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("disk")
    if value is None:
        return DEFAULT_DISK_BYTES
    try:
        return parse_size(str(value))
    except ValueError:
        return None


def disk_shrink_problem(old_text: str, new_text: str) -> str:
    """Why going from template `old_text` to `new_text` is refused for an
    existing instance ("" when the disk does not shrink). Pure."""
    old, new = disk_bytes(old_text), disk_bytes(new_text)
    if old is None or new is None or new >= old:
        return ""
    return (
        f"field `disk`: disk shrinking is not supported (from {_show(old)} to {_show(new)}): "
        "Lima can only grow an instance's disk"
    )


def _show(size: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size} bytes"
