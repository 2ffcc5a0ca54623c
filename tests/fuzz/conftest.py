"""The fuzz suite uses the stack fixtures (tests.support.fixtures)."""

from tests.support.fixtures import make_stack

__all__ = ["make_stack"]
