"""Which Lima templates Lima itself would accept, so a template we admit also
works in `limactl create`.

Admission calls `validate_template` for template ConfigMaps (field checks
only) and for a new LimaVM's template (also: an image for the VM's arch).
The LimaVM controller calls `images_for_arch` and `render_for_arch`.
"""

from __future__ import annotations

import re
from typing import Any

from rdd.templates.arches import ARCHES, DEFAULT_ARCH
from rdd.templates.embedding import unembedded_problems
from rdd.templates.loading import TemplateSyntaxError, load_template, show
from rdd.templates.rendering import render_for_arch
from rdd.templates.sizes import parse_size

__all__ = [
    "ARCHES",
    "DEFAULT_ARCH",
    "VM_TYPES",
    "TemplateSyntaxError",
    "images_for_arch",
    "load_template",
    "parse_size",
    "render_for_arch",
    "validate_template",
]

VM_TYPES = ("qemu", "vz", "wsl2")

#: go-digest: `algorithm:encoded`; Lima accepts the algorithms below.
_DIGEST = re.compile(r"(?P<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<encoded>[a-zA-Z0-9=_-]+)")
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX = re.compile(r"[0-9a-f]+")


def validate_template(text: str, *, vm_arch: str | None) -> list[str]:
    """Everything Lima's validation would reject in `text`; empty means valid.

    With `vm_arch`, the template must also have an image for that arch (an
    image without `arch` serves any arch). Unknown keys are allowed, as Lima
    only warns about them. `base:` and `file:` references are refused
    (rdd.templates.embedding). Pure.
    """
    if vm_arch is not None and vm_arch not in ARCHES:
        raise ValueError(f"vm_arch must be one of {_listed(ARCHES)}; got {vm_arch!r}")
    try:
        data = load_template(text)
    except TemplateSyntaxError as exc:
        return [str(exc)]
    problems = unembedded_problems(data)
    problems += _image_problems(data.get("images"))
    if vm_arch is not None and not problems:
        problems += _vm_arch_problems(data["images"], vm_arch)
    problems += _arch_problems("arch", data.get("arch"), allowed=(DEFAULT_ARCH, *ARCHES))
    problems += _choice_problems("vmType", data.get("vmType"), VM_TYPES)
    problems += _cpus_problems(data.get("cpus"))
    for field in ("memory", "disk"):
        problems += _size_problems(field, data.get(field))
    return problems


def images_for_arch(text: str, arch: str) -> list[str]:
    """Locations of the images that can boot a VM of `arch`, in the order Lima
    tries them: images for exactly that arch and images without an arch. Pure.

    Meant for a template `validate_template` accepted; anything it cannot read
    as an image is skipped (malformed YAML raises TemplateSyntaxError).
    """
    images = load_template(text).get("images")
    if not isinstance(images, list):
        return []
    return [
        image["location"]
        for image in images
        if isinstance(image, dict)
        and isinstance(image.get("location"), str)
        and image.get("arch") in (None, arch)
    ]


def _image_problems(images: Any) -> list[str]:
    if images is None or images == []:
        return ["images: must be set (a non-empty list of images)"]
    if not isinstance(images, list):
        return [f"images: must be a list; got {show(images)}"]
    problems: list[str] = []
    for index, image in enumerate(images):
        path = f"images[{index}]"
        if not isinstance(image, dict):
            problems.append(f"{path}: must be a mapping with a location; got {show(image)}")
            continue
        problems += _location_problems(f"{path}.location", image.get("location"))
        problems += _arch_problems(f"{path}.arch", image.get("arch"), allowed=ARCHES)
        problems += _digest_problems(f"{path}.digest", image.get("digest"))
    return problems


def _location_problems(path: str, location: Any) -> list[str]:
    if location is None or location == "":
        return [f"{path}: must be set"]
    if not isinstance(location, str):
        return [f'{path}: must be a URL with "://" or a local path; got {show(location)}']
    if "://" in location:
        return []
    # Lima expands only "~" and "~/...", never "~user".
    if location.startswith("~") and location != "~" and not location.startswith("~/"):
        return [f'{path}: invalid local path {show(location)}: only "~" and "~/" expand']
    return []


def _arch_problems(path: str, arch: Any, *, allowed: tuple[str, ...]) -> list[str]:
    if arch is None or arch in allowed:
        return []
    prefix = f'"{DEFAULT_ARCH}" or ' if DEFAULT_ARCH in allowed else ""
    return [f"{path}: must be {prefix}one of {_listed(ARCHES)}; got {show(arch)}"]


def _choice_problems(path: str, value: Any, choices: tuple[str, ...]) -> list[str]:
    if value is None or value in choices:
        return []
    return [f"{path}: must be one of {_listed(choices)}; got {show(value)}"]


def _digest_problems(path: str, digest: Any) -> list[str]:
    if digest is None or digest == "":
        return []
    wanted = f'must be "algorithm:hex" with algorithm {_listed(tuple(_DIGEST_HEX_LENGTHS))}'
    if not isinstance(digest, str):
        return [f"{path}: {wanted}; got {show(digest)}"]
    match = _DIGEST.fullmatch(digest)
    if match is None or match["algorithm"] not in _DIGEST_HEX_LENGTHS:
        return [f"{path}: {wanted}; got {show(digest)}"]
    length = _DIGEST_HEX_LENGTHS[match["algorithm"]]
    encoded = match["encoded"]
    if len(encoded) != length or not _HEX.fullmatch(encoded):
        return [
            f"{path}: {match['algorithm']} needs {length} lowercase hex digits; "
            f"got {len(encoded)} characters in {show(digest)}"
        ]
    return []


def _cpus_problems(cpus: Any) -> list[str]:
    if cpus is None:
        return []
    if isinstance(cpus, int) and not isinstance(cpus, bool) and cpus > 0:
        return []
    return [f"cpus: must be a positive integer; got {show(cpus)}"]


def _size_problems(path: str, size: Any) -> list[str]:
    if size is None:
        return []
    # Lima's field is a string; YAML numbers decode into it as their text.
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        text = str(size)
    elif isinstance(size, str):
        text = size
    else:
        return [f'{path}: must be a size such as "4GiB"; got {show(size)}']
    try:
        parse_size(text)
    except ValueError:
        return [
            f"{path}: invalid size {show(size)}: want a number with an optional "
            f'k/m/g/t/p and an optional b or ib, such as "4GiB" or "4G"'
        ]
    return []


def _vm_arch_problems(images: list[Any], vm_arch: str) -> list[str]:
    if any(image.get("arch") in (None, vm_arch) for image in images):
        return []
    have = sorted({image["arch"] for image in images})
    return [
        f'images: no image for arch "{vm_arch}" (the template has images for: {", ".join(have)})'
    ]


def _listed(values: tuple[str, ...]) -> str:
    """Go's `%v` of a string slice: `[x86_64 aarch64]`."""
    return f"[{' '.join(values)}]"
