"""The layering DESIGN.md fixes, checked on the source: a lower layer never
imports a higher one, services never import one another, and the CLI never
talks to etcd; and the source rules that keep modules small and tasks
cancellable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Lower number = lower layer. Peers share a number.
LAYERS: dict[str, int] = {
    "rdd.api": 0,
    "rdd.errors": 1,
    "rdd.kinds": 1,
    "rdd.meta": 1,
    "rdd.config": 1,
    "rdd.limaroot": 1,
    "rdd.logs": 1,
    "rdd.rpc_status": 1,
    "rdd.retry": 1,
    "rdd.procs": 1,
    "rdd.version": 1,
    "rdd.transport": 1,
    "rdd.store": 2,
    "rdd.runtime": 3,
    "rdd.templates": 4,
    "rdd.admission": 4,
    "rdd.drivers": 4,
    "rdd.clients": 5,
    "rdd.server": 5,
    "rdd.stack": 6,
    "rdd.services": 6,
    "rdd.cli": 7,
    "rdd.__main__": 7,
}


def layer_of(module: str) -> tuple[str, int] | None:
    if module == "rdd":
        return ("rdd", 0)  # the package docstring only
    best = None
    for prefix, rank in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, rank)
    return best


def module_name(path: Path) -> str:
    """The module a file is imported as (services/ is installed as rdd.services)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "services":
        parts.insert(0, "rdd")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


SOURCES = sorted(
    p
    for base in ("rdd", "services")
    for p in (ROOT / base).rglob("*.py")
    if "rdd/api" not in p.as_posix()
)


def test_there_are_sources_to_check():
    assert len(SOURCES) > 30


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_respect_the_layers(path: Path):
    importer = module_name(path)
    own = layer_of(importer)
    assert own is not None, f"{importer} belongs to no layer: add it to LAYERS"
    for imported in imports_of(path):
        target = layer_of(imported)
        if target is None:
            continue  # third-party or standard library
        assert target[1] <= own[1], f"{importer} (layer {own[0]}) imports higher layer {imported}"
        if importer.startswith("rdd.services.") and imported.startswith("rdd.services."):
            assert imported.split(".")[2] == importer.split(".")[2], (
                f"services never import one another: {importer} imports {imported}"
            )
        if importer.startswith(("rdd.cli", "rdd.stack")):
            assert not imported.startswith("rdd.store"), f"{importer} must talk gRPC, not etcd"


TESTS = sorted((ROOT / "tests").rglob("*.py"))


@pytest.mark.parametrize("path", TESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_tests_share_helpers_through_tests_support(path: Path):
    """Test modules import tests.support, never one another."""
    for imported in imports_of(path):
        if imported.startswith("tests.") and imported.rpartition(".")[2].startswith("test_"):
            raise AssertionError(
                f"{module_name(path)} imports the test module {imported}: "
                "move what it shares to tests/support"
            )


#: Past this a module holds more than one concern: split it along a seam.
MAX_MODULE_LINES = 400
CODE = sorted(
    path
    for folder in ("rdd", "services")
    for path in (ROOT / folder).rglob("*.py")
    if "api" not in path.relative_to(ROOT).parts[1:2]
)


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_400_lines(path: Path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_timeouts_use_asyncio_timeout_not_wait_for(path: Path):
    """Python 3.11's asyncio.wait_for loses a cancellation that arrives as
    the awaited call completes, so a task told to stop runs on (a watch,
    a lease renewal loop); `async with asyncio.timeout(...)` does not."""
    assert "asyncio.wait_for(" not in path.read_text(), (
        f"{path.relative_to(ROOT)}: use `async with asyncio.timeout(...)`"
    )
