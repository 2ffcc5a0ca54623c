"""Contract-test fixtures: one shared real stack (sim driver), per-test
clients, and a check that every test leaves nothing behind (tests.support.fixtures)."""

from tests.support.fixtures import api, make_session, make_stack, stack

__all__ = ["api", "make_session", "make_stack", "stack"]
