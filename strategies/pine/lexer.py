"""Line/block layer and tokenizer for Pine Script.

Pine's layout rules: a block is indented by exactly one more level (4 spaces or one tab) than its
header; a physical line indented by a non-multiple of 4 continues the previous logical line; inside
open brackets every line continues the current one.  The lexer returns *logical lines*, each with its
indentation level and tokens.  The tokenizer is a single compiled regex (fast, linear time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .diagnostics import DiagnosticSink
from .ir import Span

KEYWORDS = frozenset(
    {
        "and", "or", "not", "if", "else", "for", "to", "by", "in", "while", "switch", "break",
        "continue", "var", "varip", "import", "export", "as", "type", "enum", "method", "true",
        "false",
    }
)  # fmt: skip

MAX_LINE_TOKENS = 20000


@dataclass(slots=True)
class Token:
    kind: str  # NUM STR COLOR ID KW OP EOL
    value: str
    line: int
    col: int
    end_col: int
    text: str = ""
    continuation: bool = False  # first token of a wrapped (continuation) physical line

    @property
    def span(self) -> Span:
        return Span(self.line, self.col, self.line, self.end_col)

    def describe(self) -> str:
        if self.kind == "EOL":
            return "end of line without line continuation"
        return self.text or self.value


@dataclass(slots=True)
class LogicalLine:
    level: int
    tokens: list[Token]
    line: int
    indent_ok: bool = True


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v\u00a0\u2000-\u200b\u3000\ufeff]+)
  | (?P<comment>//.*)
  | (?P<num>(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<ustr>["'])
  | (?P<color>\#[0-9a-fA-F]{8}\b|\#[0-9a-fA-F]{6}\b)
  | (?P<badcolor>\#\w*)
  | (?P<id>[^\W\d]\w*)
  | (?P<op>:=|\+=|-=|\*=|/=|%=|==|!=|<=|>=|=>|[-+*/%<>=?:.,()\[\]])
  | (?P<bad>.)
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


def unescape(body: str) -> str:
    if "\\" not in body:
        return body
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6] or ""):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _indent_width(raw: str) -> tuple[int, int]:
    """Return (width in columns with tab=4, number of leading whitespace chars)."""
    width = 0
    n = 0
    for ch in raw:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4
        else:
            break
        n += 1
    return width, n


def tokenize_line(text: str, lineno: int, start: int, sink: DiagnosticSink) -> tuple[list[Token], int]:
    """Tokenize one physical line from ``start``; returns tokens and the net bracket depth change."""
    tokens: list[Token] = []
    depth = 0
    pos = start
    match = _TOKEN_RE.match
    n = len(text)
    while pos < n:
        m = match(text, pos)
        if m is None:  # pragma: no cover - the regex always matches one char
            break
        kind = m.lastgroup
        val = m.group()
        col = pos + 1
        pos = m.end()
        if kind == "ws" or kind == "comment":
            continue
        if kind == "id":
            tokens.append(Token("KW" if val in KEYWORDS else "ID", val, lineno, col, pos + 1, val))
        elif kind == "num":
            tokens.append(Token("NUM", val, lineno, col, pos + 1, val))
        elif kind == "op":
            if val in "([":
                depth += 1
            elif val in ")]":
                depth -= 1
            tokens.append(Token("OP", val, lineno, col, pos + 1, val))
        elif kind == "str":
            tokens.append(Token("STR", unescape(val[1:-1]), lineno, col, pos + 1, val))
        elif kind == "color":
            tokens.append(Token("COLOR", val.upper(), lineno, col, pos + 1, val))
        elif kind == "ustr":
            sink.error("Unterminated string literal", Span(lineno, col, lineno, n + 1), "syntax")
            sink.lexical_error_lines.add(lineno)
            tokens.append(Token("STR", unescape(text[pos:].rstrip("\\")), lineno, col, n + 1, text[col - 1 :]))
            pos = n
        elif kind == "badcolor":
            sink.error(
                f"Invalid color literal '{val[:20]}': expected #RRGGBB or #RRGGBBAA with hexadecimal digits",
                Span(lineno, col, lineno, pos + 1),
                "syntax",
            )
            sink.lexical_error_lines.add(lineno)
            tokens.append(Token("COLOR", "#00000000", lineno, col, pos + 1, val))
        else:
            shown = val if val.isprintable() else repr(val)
            sink.error(f"Syntax error: unexpected character '{shown}'", Span(lineno, col, lineno, col + 1), "syntax")
            sink.lexical_error_lines.add(lineno)
        if len(tokens) > MAX_LINE_TOKENS:
            sink.error("Line is too long", Span(lineno, 1, lineno, col), "limit")
            break
    return tokens, depth


_VERSION_RE = re.compile(r"^\s*//\s*@version\s*=\s*(\d+)")


def split_logical_lines(source: str, sink: DiagnosticSink) -> tuple[list[LogicalLine], int | None]:
    """Split source into logical lines, joining continuation lines.  Also returns ``//@version``."""
    version: int | None = None
    lines: list[LogicalLine] = []
    current: LogicalLine | None = None
    depth = 0
    for lineno, raw in enumerate(source.split("\n"), start=1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        width, nlead = _indent_width(raw)
        stripped = raw[nlead:]
        if not stripped or stripped.startswith("//"):
            if version is None and stripped.startswith("//"):
                m = _VERSION_RE.match(stripped)
                if m:
                    version = int(m.group(1)[:4])
            continue
        tokens, delta = tokenize_line(raw, lineno, nlead, sink)
        if not tokens:
            continue
        if depth > 0 and width == 0 and tokens[0].value not in (")", "]"):
            # an unindented line inside open brackets: almost certainly a missing ')' -- resync here
            depth = 0
        if current is not None and (depth > 0 or width % 4 != 0):
            if depth == 0:
                tokens[0].continuation = True
            current.tokens.extend(tokens)
        else:
            current = LogicalLine(width // 4, tokens, lineno)
            lines.append(current)
        depth = max(0, depth + delta)
    for ll in lines:
        last = ll.tokens[-1]
        ll.tokens.append(Token("EOL", "", last.line, last.end_col, last.end_col + 1))
    return lines, version
