"""Where commands write, and the two error shapes people and tests match:
`Error from server (<reason>): <message>` and `error: <message>`.

Every command gets a Console (stdout, stderr, environment) from rdd.cli.main."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from rdd.errors import ApiError


def api_error_line(error: ApiError) -> str:
    """kubectl's shape for an error the server returned (pure)."""
    return f"Error from server ({error.reason}): {error.message}"


def usage_error_line(message: str) -> str:
    """kubectl's shape for an error found on this side (pure)."""
    return f"error: {message}"


@dataclass
class Console:
    out: TextIO
    err: TextIO
    env: Mapping[str, str]

    def write(self, text: str) -> None:
        """Text as is (already newline-terminated, or JSONPath output)."""
        if text:
            self.out.write(text)
            self.out.flush()

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def api_error(self, error: ApiError) -> None:
        self.warn(api_error_line(error))
