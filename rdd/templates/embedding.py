"""Templates that `limactl create` would rewrite: `base:` and `file:` references.

From Lima v1.1.0 `limactl create` embeds a template before writing it as the
instance's lima.yaml (pkg/limatmpl/embed.go): `base:` templates are merged
in (their lists appended or prepended) and the key removed, and
`provision[].file` / `probes[].file` scripts are inlined as `script:`. The
instance's lima.yaml is then not the template rdd rendered, so the LimaVM
controller's "built from this template" check could never hold (it would
rebuild or rewrite the instance forever), and writing the template back
un-embedded (a template change) gives Lima a lima.yaml its validation
rejects ("field `base` must be empty for YAML validation").

rdd therefore takes embedded templates only: admission refuses the others
(rdd.templates.validation) and the lima driver refuses to build or write
them (rdd.drivers.lima). The message says how to embed one.
"""

from __future__ import annotations

from typing import Any

#: How a person turns a template into one rdd takes (Lima v1.1+).
EMBED_HINT = (
    "embed it first with `limactl template copy --embed TEMPLATE FILE` and use the resulting FILE"
)


def unembedded_fields(data: dict[Any, Any]) -> list[str]:
    """The fields of a parsed template that `limactl create` would embed:
    `base`, `provision[N].file`, `probes[N].file`. Pure."""
    found = ["base"] if data.get("base") not in (None, "", []) else []
    for section in ("provision", "probes"):
        entries = data.get(section)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get("file") not in (None, "", {}):
                found.append(f"{section}[{index}].file")
    return found


def unembedded_problems(data: dict[Any, Any]) -> list[str]:
    """One problem naming the fields `limactl create` would embed, or none. Pure."""
    fields = unembedded_fields(data)
    if not fields:
        return []
    named = ", ".join(f"`{field}`" for field in fields)
    return [
        f"field {named}: templates that refer to other files are not supported, because "
        f"limactl create rewrites them (the instance's lima.yaml would never match the "
        f"template): {EMBED_HINT}"
    ]
