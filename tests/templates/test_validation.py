"""Template validation, image choice and rendering: plain data in, problems out."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from rdd.templates.rendering import is_built_from
from rdd.templates.validation import (
    ARCHES,
    TemplateSyntaxError,
    images_for_arch,
    parse_size,
    render_for_arch,
    validate_template,
)

GiB = 1 << 30
X86 = "https://example.com/x86_64.iso"
ARM = "https://example.com/aarch64.iso"
BOTH = f"images:\n- location: {X86}\n  arch: x86_64\n- location: {ARM}\n  arch: aarch64\n"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4GiB", 4 * GiB),
        ("4G", 4 * GiB),
        ("4gb", 4 * GiB),
        ("4g", 4 * GiB),
        ("4gIb", 4 * GiB),
        ("4 GiB", 4 * GiB),
        ("4096", 4096),
        ("0", 0),
        ("10b", 10),
        ("10B", 10),
        ("1k", 1024),
        ("1.5k", 1536),
        (".5KiB", 512),
        ("2.", 2),
        ("1m", 1 << 20),
        ("2TiB", 2 << 40),
        ("1p", 1 << 50),
        ("0.1k", 102),  # fractions truncate, as go-units does
    ],
)
def test_parse_size_accepts_go_units_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text",
    ["4Gi", "4ib", "", "GiB", "-1", "-1G", "4x", "4  G", "4 GiBs", "4bb", " 4G", "4G ", "1,5G"],
)
def test_parse_size_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


@given(
    number=st.integers(min_value=0, max_value=1 << 40),
    unit=st.sampled_from(sorted(_UNITS)),
    tail=st.sampled_from(["", "b", "ib"]),
    space=st.booleans(),
    upper=st.booleans(),
)
def test_parse_size_round_trips_integers(
    number: int, unit: str, tail: str, space: bool, upper: bool
) -> None:
    suffix = unit + (tail if unit not in ("", "b") else "")
    text = f"{number}{' ' if space and suffix else ''}{suffix}"
    assert parse_size(text.upper() if upper else text) == number * _UNITS[unit]


@pytest.mark.parametrize(
    "text",
    [
        BOTH,
        "images: [{location: /var/images/alpine.iso}]",
        "images: [{location: '~/images/alpine.iso'}]",
        "images: [{location: '~'}]",
        "images: [{location: relative/alpine.iso, arch: riscv64}]",
        f"images: [{{location: {X86}, digest: 'sha256:{'a' * 64}'}}]",
        f"images: [{{location: {X86}, digest: 'sha512:{'0' * 128}'}}]",
        f"arch: default\n{BOTH}",
        f"arch: aarch64\n{BOTH}",
        f"vmType: vz\n{BOTH}",
        f"cpus: 4\nmemory: 4GiB\ndisk: 100G\n{BOTH}",
        f"memory: 6442450944\n{BOTH}",
        f"cpus: null\nmemory: null\narch: null\n{BOTH}",
        f"someFutureKey: {{nested: true}}\n{BOTH}",
    ],
)
def test_valid_templates_have_no_problems(text: str) -> None:
    assert validate_template(text, vm_arch=None) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("cpus: 2", "images: must be set"),
        ("images: []", "images: must be set"),
        ("images: ~", "images: must be set"),
        ("images: {location: x}", 'images: must be a list; got {"location": "x"}'),
        (
            "images: [just-a-string]",
            'images[0]: must be a mapping with a location; got "just-a-string"',
        ),
        ("images: [{arch: x86_64}]", "images[0].location: must be set"),
        ("images: [{location: ''}]", "images[0].location: must be set"),
        (
            "images: [{location: 42}]",
            'images[0].location: must be a URL with "://" or a local path; got 42',
        ),
        (
            "images: [{location: '~bob/a.iso'}]",
            'images[0].location: invalid local path "~bob/a.iso"',
        ),
        (
            f"images: [{{location: {X86}}}, {{location: {ARM}, arch: amd64}}]",
            'images[1].arch: must be one of [x86_64 aarch64 armv7l ppc64le riscv64 s390x]; got "amd64"',
        ),
        (
            "images: [{location: x, arch: default}]",
            'images[0].arch: must be one of [x86_64 aarch64 armv7l ppc64le riscv64 s390x]; got "default"',
        ),
        ("images: [{location: x, digest: nocolon}]", 'images[0].digest: must be "algorithm:hex"'),
        ("images: [{location: x, digest: 'md5:abcd'}]", 'got "md5:abcd"'),
        (
            "images: [{location: x, digest: 'sha256:abcd'}]",
            "images[0].digest: sha256 needs 64 lowercase hex digits",
        ),
        (
            f"images: [{{location: x, digest: 'sha256:{'A' * 64}'}}]",
            "sha256 needs 64 lowercase hex digits",
        ),
        (
            f"images: [{{location: x, digest: 'sha512:{'a' * 64}'}}]",
            "sha512 needs 128 lowercase hex digits",
        ),
        (
            f"arch: amd64\n{BOTH}",
            'arch: must be "default" or one of [x86_64 aarch64 armv7l ppc64le riscv64 s390x]; got "amd64"',
        ),
        (f"arch: 64\n{BOTH}", 'arch: must be "default" or one of [x86_64'),
        (f"vmType: krunkit\n{BOTH}", 'vmType: must be one of [qemu vz wsl2]; got "krunkit"'),
        (f"cpus: 0\n{BOTH}", "cpus: must be a positive integer; got 0"),
        (f"cpus: -2\n{BOTH}", "cpus: must be a positive integer; got -2"),
        (f"cpus: '2'\n{BOTH}", 'cpus: must be a positive integer; got "2"'),
        (f"cpus: 1.5\n{BOTH}", "cpus: must be a positive integer; got 1.5"),
        (f"cpus: true\n{BOTH}", "cpus: must be a positive integer; got true"),
        (f"memory: 4Gi\n{BOTH}", 'memory: invalid size "4Gi"'),
        (f"memory: -1\n{BOTH}", "memory: invalid size -1"),
        (f"disk: lots\n{BOTH}", 'disk: invalid size "lots"'),
        (f"disk: [100GiB]\n{BOTH}", 'disk: must be a size such as "4GiB"; got ["100GiB"]'),
    ],
)
def test_invalid_templates_name_the_field_and_the_value(text: str, problem: str) -> None:
    problems = validate_template(text, vm_arch=None)
    assert any(problem in p for p in problems), problems


def test_every_problem_is_reported() -> None:
    text = "images: [{location: x, arch: amd64}]\ncpus: 0\nmemory: 4Gi\nvmType: kvm\n"
    problems = validate_template(text, vm_arch=None)
    assert [p.split(":")[0] for p in problems] == ["images[0].arch", "vmType", "cpus", "memory"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"{BOTH}cpus: 2\n  memory: 4GiB: x\n", "line 7, column"),
        ("images: [\n", "template is not valid YAML: line 2"),
        ("a: b: c\n", '"a: b: c"'),
        ("- a\n- b\n", "template: must be a YAML mapping; got a list"),
        ("just text", "template: must be a YAML mapping; got a string"),
        ("", "template: must be a YAML mapping; got an empty document"),
        ("a: 1\n---\nb: 2\n", "template is not valid YAML"),
    ],
)
def test_unreadable_yaml_is_one_problem_naming_the_line(text: str, problem: str) -> None:
    problems = validate_template(text, vm_arch="x86_64")
    assert len(problems) == 1, problems
    assert problem in problems[0]


@pytest.mark.parametrize(
    ("text", "vm_arch", "ok"),
    [
        (BOTH, "x86_64", True),
        (BOTH, "aarch64", True),
        (f"images: [{{location: {X86}, arch: x86_64}}]", "aarch64", False),
        (f"images: [{{location: {ARM}, arch: aarch64}}]", "x86_64", False),
        (f"images: [{{location: {X86}}}]", "aarch64", True),  # no arch: serves any
        (f"images: [{{location: {X86}, arch: riscv64}}, {{location: {ARM}}}]", "aarch64", True),
    ],
)
def test_vm_arch_needs_an_image(text: str, vm_arch: str, ok: bool) -> None:
    problems = validate_template(text, vm_arch=vm_arch)
    if ok:
        assert problems == []
    else:
        assert len(problems) == 1
        assert f'no image for arch "{vm_arch}"' in problems[0]


def test_no_image_for_arch_lists_what_the_template_has() -> None:
    text = f"images: [{{location: {X86}, arch: x86_64}}, {{location: y, arch: s390x}}]"
    assert validate_template(text, vm_arch="aarch64") == [
        'images: no image for arch "aarch64" (the template has images for: s390x, x86_64)'
    ]


def test_vm_arch_must_be_a_lima_arch() -> None:
    with pytest.raises(ValueError, match="amd64"):
        validate_template(BOTH, vm_arch="amd64")


@pytest.mark.parametrize(
    ("text", "arch", "locations"),
    [
        (BOTH, "x86_64", [X86]),
        (BOTH, "aarch64", [ARM]),
        (BOTH, "riscv64", []),
        (
            "images: [{location: a}, {location: b, arch: aarch64}, {location: c}]",
            "aarch64",
            ["a", "b", "c"],
        ),
        ("images: [{location: a, arch: x86_64}, nonsense, {arch: aarch64}]", "aarch64", []),
        ("cpus: 2", "x86_64", []),
    ],
)
def test_images_for_arch_keeps_lima_order(text: str, arch: str, locations: list[str]) -> None:
    assert images_for_arch(text, arch) == locations


def test_images_for_arch_refuses_unreadable_yaml() -> None:
    with pytest.raises(TemplateSyntaxError):
        images_for_arch("images: [", "x86_64")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Added before the first key, after leading comments.
        (f"# mine\n{BOTH}", f"# mine\narch: aarch64\n{BOTH}"),
        # Replaced in place, comment and order kept.
        (f"cpus: 2\narch: x86_64  # was\n{BOTH}", f"cpus: 2\narch: aarch64  # was\n{BOTH}"),
        (f"arch: default\n{BOTH}", f"arch: aarch64\n{BOTH}"),
        (f"arch: 'x86_64'\n{BOTH}", f"arch: aarch64\n{BOTH}"),
        (f"arch:\n{BOTH}", f"arch: aarch64\n{BOTH}"),
        (f"---\n{BOTH}", f"---\narch: aarch64\n{BOTH}"),
    ],
)
def test_render_keeps_the_template_text(text: str, expected: str) -> None:
    assert render_for_arch(text, "aarch64") == expected


@pytest.mark.parametrize(
    "text",
    [
        "{images: [{location: a}], cpus: 2}",
        "{}",
        "base: &a {arch: x86_64}\narch: *a\nimages: [{location: a}]\n",
        "x: &a x86_64\narch: *a\nimages: [{location: a}]\n",
    ],
)
def test_render_falls_back_to_serialising(text: str) -> None:
    rendered = render_for_arch(text, "aarch64")
    assert yaml.safe_load(rendered) == {**yaml.safe_load(text), "arch": "aarch64"}


@pytest.mark.parametrize("arch", ARCHES)
def test_rendered_template_is_valid_and_names_the_arch(arch: str) -> None:
    rendered = render_for_arch(f"cpus: 2\n{BOTH}", arch)
    assert yaml.safe_load(rendered)["arch"] == arch
    assert validate_template(rendered, vm_arch=None) == []


@pytest.mark.parametrize(("text", "arch"), [(BOTH, "amd64"), (BOTH, "default"), ("[1]", "x86_64")])
def test_render_refuses_unknown_arch_and_non_mappings(text: str, arch: str) -> None:
    with pytest.raises(ValueError):
        render_for_arch(text, arch)


@pytest.mark.parametrize(
    ("lima_yaml", "built"),
    [
        (f"arch: aarch64\ncpus: 2\n{BOTH}", True),
        # What `limactl create --arch` and Lima's yq edits leave behind.
        (f'arch: "aarch64"\ncpus: 2 # two\n{BOTH}', True),
        (f"arch: x86_64\ncpus: 2\n{BOTH}", False),
        (f"arch: aarch64\ncpus: 4\n{BOTH}", False),
        ("arch: [aarch64\n", False),
    ],
)
def test_is_built_from_compares_what_the_yaml_means(lima_yaml: str, built: bool) -> None:
    rendered = render_for_arch(f"cpus: 2\n{BOTH}", "aarch64")
    assert is_built_from(lima_yaml, rendered) is built
