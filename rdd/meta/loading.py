"""Loading YAML and JSON that people and peers send, within limits: the one
home for how much text is read, how deep it may nest, how far YAML aliases
may expand, and that a mapping key appears once.

Used by the CLI (manifests, `patch -p`, template files, editor buffers),
admission (objects travel as JSON) and the templates (a Lima template is
YAML). Every refusal is a `LoadError` with one line a person can act on;
callers add where the text came from.

Why these limits: PyYAML expands aliases into shared objects, so a 425-byte
"billion laughs" is cheap to load and explodes in whatever walks it next
(JSON, protobuf, the template checks); Python's parsers and walkers recurse,
so nesting beyond about a thousand levels is a RecursionError somewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

import yaml

#: What one input may hold: well above a message (1 MiB objects, 8 MiB reviews).
MAX_INPUT_BYTES = 8 * 1024 * 1024
#: Collections inside collections; real manifests and templates nest about ten.
MAX_DEPTH = 100
#: Aliases may add this many nodes to a document, or as many as it has, whichever
#: is more (go-yaml's "excessive aliasing" rule has the same spirit).
ALIAS_BUDGET_NODES = 10_000

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class LoadError(ValueError):
    """Text that cannot be loaded; `line` and `column` (1-based) when known."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem, line)
        self.problem = problem
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return self.problem if self.line is None else f"line {self.line}: {self.problem}"


def read_text(stream: IO[bytes], *, limit: int = MAX_INPUT_BYTES) -> str:
    """At most `limit` bytes of UTF-8 text from `stream`: reading stops there
    (`/dev/zero` is refused, not slurped), and bytes that are not UTF-8 are a
    LoadError naming the first bad byte."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise LoadError(f"input is larger than {_size(limit)}")
    return decode_text(data)


def decode_text(data: bytes) -> str:
    """UTF-8 text (a BOM allowed), or a LoadError naming the first bad byte. Pure."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            "is it a binary file?"
        ) from None


def load_yaml_documents(text: str) -> list[Any]:
    """Every document of a YAML stream (None for an empty one), built by the
    safe loader after the limits are checked. Pure."""
    _check_size(text)
    _check_depth(text)
    loader = _LOADER(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            _check_node(node)
            documents.append(_construct(loader, node))
        return documents
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None
    finally:
        loader.dispose()


def load_yaml(text: str) -> Any:
    """The single document of `text` (None when empty). Pure."""
    documents = load_yaml_documents(text)
    if len(documents) > 1:
        raise LoadError("expected a single YAML document, found more")
    return documents[0] if documents else None


def load_json(text: str) -> Any:
    """A JSON value, with the same size and depth limits; NaN and Infinity,
    which JSON does not have, are refused. Pure."""
    _check_size(text)
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise LoadError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise LoadError(_too_deep()) from None
    except LoadError:
        raise
    except ValueError as exc:  # an integer of more digits than Python converts
        raise LoadError(f"invalid JSON: {_first_clause(exc)}") from None
    if _deeper_than(data, MAX_DEPTH):
        raise LoadError(_too_deep())
    return data


def _no_constant(name: str) -> Any:
    raise LoadError(f"invalid JSON: {name} is not a JSON number")


def _check_size(text: str) -> None:
    if len(text) > MAX_INPUT_BYTES:
        raise LoadError(f"input is larger than {_size(MAX_INPUT_BYTES)}")


def _too_deep() -> str:
    return f"nested too deeply (more than {MAX_DEPTH} levels)"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _check_depth(text: str) -> None:
    """Nesting measured on the parser's events, before anything recurses
    (composing a deep document recurses in C and in Python)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LoadError(_too_deep(), _line(event.start_mark))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None


def _check_node(root: yaml.Node) -> None:
    """One walk of a composed document: duplicate keys, an alias inside its
    own anchor, and how far aliases expand it (nesting included) — counted
    once per node, so the walk is as cheap as the text is long."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, depth)
    open_nodes: set[int] = set()
    composed = 0

    def walk(node: yaml.Node) -> tuple[int, int]:
        nonlocal composed
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise LoadError("an alias refers to a node that contains it", _line(node.start_mark))
        composed += 1
        children = list(_children(node))
        open_nodes.add(id(node))
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = walk(child)
            size += child_size
            depth = max(depth, child_depth)
        open_nodes.discard(id(node))
        result = (size, depth + (0 if isinstance(node, yaml.ScalarNode) else 1))
        sizes[id(node)] = result
        return result

    expanded, depth = walk(root)
    if depth > MAX_DEPTH:
        raise LoadError(f"aliases nest it too deeply (more than {MAX_DEPTH} levels)")
    if expanded - composed > max(ALIAS_BUDGET_NODES, composed):
        raise LoadError(
            f"document contains excessive aliasing ({composed} nodes expand to {expanded})"
        )


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    """A node's children in document order; a mapping key twice is a LoadError
    (as kubectl's strict YAML: a second value would silently win)."""
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, str], int | None] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                where = (key.tag, key.value)
                if where in seen:
                    raise LoadError(
                        f"mapping key {json.dumps(key.value)} already defined at line {seen[where]}",
                        _line(key.start_mark),
                    )
                seen[where] = _line(key.start_mark)
            yield key
            yield value


def _construct(loader: Any, node: yaml.Node) -> Any:
    try:
        return loader.construct_document(node)
    except (ValueError, OverflowError) as exc:  # `1e9999`-like ints, impossible dates
        raise LoadError(f"cannot read a value: {_first_clause(exc)}") from None


def _first_clause(exc: Exception) -> str:
    """Python's message without its advice to programmers (`; use sys...`)."""
    return str(exc).split(";")[0]


def _line(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


def _yaml_error(exc: yaml.YAMLError) -> LoadError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = (
        getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc).splitlines()[0]
    )
    column = None if mark is None else int(mark.column) + 1
    return LoadError(str(problem), _line(mark), column)


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether a loaded JSON value nests more than `limit` collections (no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)
            )
    return False
