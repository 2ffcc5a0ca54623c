"""The fuzz suite uses the contract tests' stack fixtures."""

from tests.contract.conftest import make_stack

__all__ = ["make_stack"]
