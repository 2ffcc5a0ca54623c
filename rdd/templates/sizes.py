"""Memory and disk sizes as Lima reads them (go-units `RAMInBytes`).

Used by template validation and by anything that reports a VM's size.
"""

from __future__ import annotations

import re
from decimal import Decimal

#: A number, one optional space, then `b`, or k/m/g/t/p with an optional `b` or `ib`.
_SIZE = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+) ?(?P<suffix>[kmgtp](?:b|ib)?|b)?",
    re.IGNORECASE,
)
_MULTIPLIERS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(text: str) -> int:
    """Bytes in `text`, always binary: `4GiB` = `4G` = `4gb`; a bare number is
    bytes; `4Gi` is invalid. Fractions truncate, as in go-units. Pure.

    Raises ValueError with go-units' wording: `invalid size: '4Gi'`.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid size: '{text}'")
    suffix = (match["suffix"] or "").lower()
    multiplier = _MULTIPLIERS.get(suffix[:1], 1)
    # Decimal, not float: exact for integers of any size, truncates fractions.
    return int(Decimal(match["number"]) * multiplier)
