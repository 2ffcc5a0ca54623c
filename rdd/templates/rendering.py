"""lima.yaml for one VM: its template with the top-level `arch` set.

The LimaVM controller writes the result to `$RDD_LIMA_HOME/<name>/lima.yaml`,
and asks `is_built_from` whether an instance still matches its template.
The template's own text (comments, order, quoting) is kept and only the
`arch` line changes or is added; where that cannot be done safely (flow
style, anchors) the template is serialised afresh instead.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from rdd.meta.loading import LoadError, load_yaml
from rdd.templates.arches import ARCHES
from rdd.templates.loading import load_template

#: Renderings remembered: the controller renders a VM's template on every
#: reconcile, and parsing YAML is most of a reconcile's cost at scale.
_REMEMBERED = 128


@functools.lru_cache(maxsize=_REMEMBERED)
def render_for_arch(text: str, arch: str) -> str:
    """`text` with top-level `arch: <arch>`. Pure (so remembered by its arguments).

    Raises ValueError for an arch Lima does not know and TemplateSyntaxError
    for text that is not a YAML mapping.
    """
    if arch not in ARCHES:
        raise ValueError(f"arch must be one of {list(ARCHES)}; got {arch!r}")
    data = load_template(text)
    wanted = {**data, "arch": arch}
    edited = _edit_arch_line(text, arch)
    # The edit is only a nicety: keep it only when it means exactly `wanted`.
    if edited is not None and _loads(edited) == wanted:
        return edited
    dumped: str = yaml.safe_dump(wanted, sort_keys=False, default_flow_style=False)
    return dumped


def is_built_from(lima_yaml: str, rendered: str) -> bool:
    """Whether an instance's lima.yaml holds the template `rendered`. Pure.

    Compares what the YAML means, not its text: limactl rewrites the file it
    is given (`create --arch` sets `arch: "x86_64"`, Lima's yq edits reformat
    it). Text that does not parse is compared as text."""
    if lima_yaml == rendered:
        return True
    built, wanted = _loads(lima_yaml), _loads(rendered)
    return built is not None and built == wanted


def _edit_arch_line(text: str, arch: str) -> str | None:
    """Replace the value of a block mapping's `arch`, or add an `arch` line
    before the first key; None when the mapping is not a plain block."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or root.flow_style or not root.value:
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "arch":
            if not isinstance(value, yaml.ScalarNode):
                return None
            start, end = value.start_mark.index, value.end_mark.index
            spacer = " " if start == end else ""  # `arch:` with no value
            return f"{text[:start]}{spacer}{arch}{text[end:]}"
    first = root.value[0][0].start_mark
    line_start = first.index - first.column
    return f"{text[:line_start]}{' ' * first.column}arch: {arch}\n{text[line_start:]}"


def _loads(text: str) -> Any:
    try:
        return load_yaml(text)
    except LoadError:
        return None
