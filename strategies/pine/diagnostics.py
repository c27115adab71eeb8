"""Diagnostics reported by the Pine front end (TradingView style: ``line:col: message``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .ir import Span


@dataclass(slots=True)
class Diagnostic:
    severity: str  # "error" | "warning"
    line: int
    col: int
    end_line: int
    end_col: int
    message: str
    code: str = "error"

    def format(self, filename: str = "<input>") -> str:
        return f"{filename}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def to_json(self) -> dict:
        return asdict(self)


class PineSyntaxError(Exception):
    """Raised inside the parser for one logical line; turned into a Diagnostic and parsing resyncs."""

    def __init__(self, message: str, span: Span, code: str = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code


class DiagnosticSink:
    """Collects diagnostics; caps their number so hostile input cannot flood the output."""

    MAX = 200

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self._seen: set[tuple[int, int, str]] = set()
        # lines where the tokenizer already reported an error: parse errors there are cascades
        self.lexical_error_lines: set[int] = set()

    def error(self, message: str, span: Span, code: str = "error") -> None:
        self._add("error", message, span, code)

    def warning(self, message: str, span: Span, code: str = "warning") -> None:
        self._add("warning", message, span, code)

    def _add(self, severity: str, message: str, span: Span, code: str) -> None:
        key = (span.line, span.col, message)
        if key in self._seen or len(self.items) >= self.MAX:
            return
        self._seen.add(key)
        self.items.append(
            Diagnostic(severity, span.line, span.col, span.end_line, span.end_col, message, code)
        )

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)
