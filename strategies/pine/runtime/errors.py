"""Runtime errors raised while a compiled Pine program runs."""

from __future__ import annotations


class PineRuntimeError(Exception):
    """An error in a running Pine script, located at ``line:col`` of the script source."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        self.message = message
        self.line = line
        self.col = col
        super().__init__(f"{line}:{col}: {message}")

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.message}"


class PineCancelled(PineRuntimeError):
    """The run was cancelled by the caller (``should_cancel`` returned true)."""
