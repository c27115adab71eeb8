"""TradingView parity report: compare a run's trades with TradingView's "List of trades" export."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd


class ParityFileError(ValueError):
    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass
class ReferenceTrade:
    """One trade, from TradingView's export or from our run (times in epoch ms, UTC)."""

    number: int
    direction: str
    entry_time: int
    entry_price: float
    entry_signal: str = ""
    exit_time: int | None = None
    exit_price: float | None = None
    exit_signal: str = ""
    quantity: float | None = None
    profit: float | None = None
    is_open: bool = False


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


def _find(header: dict[str, int], *candidates: str, prefix: bool = False) -> int | None:
    for candidate in candidates:
        if candidate in header:
            return header[candidate]
    if prefix:
        for candidate in candidates:
            for name, index in header.items():
                if name.startswith(candidate):
                    return index
    return None


def _time_ms(text: str, line: int) -> int:
    value = text.strip()
    if not value:
        raise ParityFileError(line, "the date/time is empty")
    try:
        if value.replace(".", "", 1).isdigit():
            number = float(value)
            return int(number if number > 1e11 else number * 1000)
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ParityFileError(line, f"'{value}' is not a date/time") from error
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp() * 1000)


def _number(text: str, line: int, what: str) -> float | None:
    value = (text or "").strip().replace(",", "").replace("\u2212", "-")
    if value in ("", "NaN", "—"):
        return None
    try:
        return float(value)
    except ValueError as error:
        raise ParityFileError(line, f"{what} '{text}' is not a number") from error


def read_tradingview_trades(data: bytes | str) -> list[ReferenceTrade]:
    """Parse TradingView's trade list export: the two-rows-per-trade layouts ("Date/Time" or "Date and time",
    entry or exit row first) and the one-row-per-trade layout (Entry time/Exit time/Entry price...)."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ParityFileError(1, "the file is empty")
    header = {_norm(name): index for index, name in enumerate(rows[0])}
    number_col = _find(header, "trade #", "trade", "#", "trade number")
    if number_col is None:
        raise ParityFileError(1, "no 'Trade #' column: is this TradingView's List of trades export?")
    if _find(header, "entry time", "entry date/time", "entry date and time") is not None:
        return _one_row_layout(rows, header, number_col)
    type_col = _find(header, "type")
    time_col = _find(header, "date/time", "date and time", "time", "date")
    signal_col = _find(header, "signal")
    price_col = _find(header, "price usd", "price", prefix=True)
    qty_col = _find(header, "position size (qty)", "contracts", "quantity", "qty", prefix=True)
    profit_col = _find(header, "net p&l usd", "net p&l", "profit usd", "profit", prefix=True)
    missing = [n for n, c in (("Type", type_col), ("Date/Time", time_col), ("Price", price_col)) if c is None]
    if missing:
        raise ParityFileError(1, f"missing column(s): {', '.join(missing)}")
    trades: dict[int, ReferenceTrade] = {}
    pending_exit: dict[int, tuple] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        try:
            number = int(float(row[number_col]))
        except (ValueError, IndexError) as error:
            raise ParityFileError(line, f"trade number '{row[number_col] if row else ''}' is not a number") from error
        kind = row[type_col].strip().lower()
        direction = "long" if "long" in kind else "short" if "short" in kind else None
        if direction is None or not (kind.startswith("entry") or kind.startswith("exit")):
            raise ParityFileError(line, f"type '{row[type_col]}' is not Entry/Exit long/short")
        when = _time_ms(row[time_col], line)
        price = _number(row[price_col], line, "price")
        signal = row[signal_col].strip() if signal_col is not None else ""
        qty = _number(row[qty_col], line, "quantity") if qty_col is not None else None
        profit = _number(row[profit_col], line, "profit") if profit_col is not None else None
        if kind.startswith("entry"):
            trade = ReferenceTrade(number, direction, when, price, signal, quantity=qty, profit=profit)
            trades[number] = trade
            if number in pending_exit:
                _apply_exit(trade, *pending_exit.pop(number))
        else:
            if number in trades:
                _apply_exit(trades[number], when, price, signal)
            else:
                pending_exit[number] = (when, price, signal)
    if pending_exit:
        number = next(iter(pending_exit))
        raise ParityFileError(1, f"trade {number} has an exit row but no entry row")
    return sorted(trades.values(), key=lambda t: (t.entry_time, t.number))


def _apply_exit(trade: ReferenceTrade, when: int, price: float | None, signal: str) -> None:
    if signal.lower() == "open":
        trade.is_open = True
        return
    trade.exit_time, trade.exit_price, trade.exit_signal = when, price, signal


def _one_row_layout(rows: list[list[str]], header: dict[str, int], number_col: int) -> list[ReferenceTrade]:
    cols = {
        "direction": _find(header, "direction", "side", "type"),
        "entry_time": _find(header, "entry time", "entry date/time", "entry date and time"),
        "exit_time": _find(header, "exit time", "exit date/time", "exit date and time"),
        "entry_price": _find(header, "entry price", prefix=True),
        "exit_price": _find(header, "exit price", prefix=True),
        "entry_signal": _find(header, "entry signal"),
        "exit_signal": _find(header, "exit signal"),
        "qty": _find(header, "position size (qty)", "quantity", "qty", "contracts", prefix=True),
        "profit": _find(header, "net p&l usd", "net p&l", "profit", prefix=True),
    }
    trades = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        kind = row[cols["direction"]].lower() if cols["direction"] is not None else ""
        direction = "short" if "short" in kind or "sell" in kind else "long"
        exit_signal = row[cols["exit_signal"]].strip() if cols["exit_signal"] is not None else ""
        exit_text = row[cols["exit_time"]].strip() if cols["exit_time"] is not None else ""
        is_open = exit_signal.lower() == "open" or not exit_text
        trades.append(ReferenceTrade(
            number=int(float(row[number_col])), direction=direction,
            entry_time=_time_ms(row[cols["entry_time"]], line),
            entry_price=_number(row[cols["entry_price"]], line, "entry price"),
            entry_signal=row[cols["entry_signal"]].strip() if cols["entry_signal"] is not None else "",
            exit_time=None if is_open else _time_ms(exit_text, line),
            exit_price=None if is_open or cols["exit_price"] is None else _number(row[cols["exit_price"]], line, "exit price"),
            exit_signal="" if is_open else exit_signal,
            quantity=_number(row[cols["qty"]], line, "quantity") if cols["qty"] is not None else None,
            profit=_number(row[cols["profit"]], line, "profit") if cols["profit"] is not None else None,
            is_open=is_open,
        ))
    return sorted(trades, key=lambda t: (t.entry_time, t.number))


# ---------------------------------------------------------------- comparison


@dataclass
class ParityRow:
    status: str  # matched | different | missing | extra
    tradingview: ReferenceTrade | None
    ours: ReferenceTrade | None
    differences: list[str] = field(default_factory=list)

    @property
    def time(self) -> int:
        trade = self.tradingview or self.ours
        return trade.entry_time


@dataclass
class Divergence:
    time: int
    price: float | None
    what: str
    reason: str

    @property
    def when(self) -> datetime:
        return pd.Timestamp(self.time, unit="ms", tz="UTC").to_pydatetime()


@dataclass
class ParityReport:
    rows: list[ParityRow]
    matched: int
    different: int
    missing: int
    extra: int
    first_divergence: Divergence | None

    @property
    def total(self) -> int:
        return self.matched + self.different + self.missing + self.extra

    @property
    def match_rate(self) -> float:
        """Share of trades (union of both lists) that match exactly: 1.0 means identical trade lists."""
        return self.matched / self.total if self.total else 1.0


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance


def _profit_tolerance(tv_profit: float) -> float:
    """TradingView rounds money to 2 decimals (smaller values to one significant digit)."""
    if tv_profit == 0:
        return 0.006
    digits = max(2, -math.floor(math.log10(abs(tv_profit))) if abs(tv_profit) < 0.01 else 2)
    return 0.5 * 10 ** (-digits) + 1e-9


def _fmt_time(ms: int | None) -> str:
    return "—" if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def compare_trades(tradingview: list[ReferenceTrade], ours: list[ReferenceTrade], mintick: float) -> ParityReport:
    """Match trades by entry time (and direction), then compare prices, exit, quantity and profit."""
    price_tol = max(mintick / 2, 1e-12)
    by_time: dict[int, list[ReferenceTrade]] = {}
    for trade in ours:
        by_time.setdefault(trade.entry_time, []).append(trade)
    used: set[int] = set()
    rows: list[ParityRow] = []
    for tv in tradingview:
        candidates = [t for t in by_time.get(tv.entry_time, []) if id(t) not in used]
        candidate = next((t for t in candidates if t.direction == tv.direction), None) or (candidates[0] if candidates else None)
        if candidate is None:
            rows.append(ParityRow("missing", tv, None))
            continue
        used.add(id(candidate))
        diffs = []
        if candidate.direction != tv.direction:
            diffs.append(f"direction {candidate.direction} vs {tv.direction}")
        if not _close(candidate.entry_price, tv.entry_price, price_tol):
            diffs.append(f"entry price {candidate.entry_price:g} vs {tv.entry_price:g}")
        if not tv.is_open:
            if candidate.is_open:
                diffs.append(f"still open here; TradingView exits {_fmt_time(tv.exit_time)}")
            else:
                if candidate.exit_time != tv.exit_time:
                    diffs.append(f"exit time {_fmt_time(candidate.exit_time)} vs {_fmt_time(tv.exit_time)}")
                if not _close(candidate.exit_price, tv.exit_price, price_tol):
                    diffs.append(f"exit price {candidate.exit_price:g} vs {tv.exit_price:g}")
        elif not candidate.is_open:
            diffs.append(f"exits {_fmt_time(candidate.exit_time)} here; still open on TradingView")
        if tv.quantity is not None and candidate.quantity is not None and not math.isclose(
            candidate.quantity, tv.quantity, rel_tol=1e-6, abs_tol=1e-9
        ):
            diffs.append(f"quantity {candidate.quantity:g} vs {tv.quantity:g}")
        if (
            not diffs and tv.profit is not None and candidate.profit is not None
            and not _close(candidate.profit, tv.profit, _profit_tolerance(tv.profit))
        ):
            diffs.append(f"net P&L {candidate.profit:.6g} vs {tv.profit:g}")
        rows.append(ParityRow("different" if diffs else "matched", tv, candidate, diffs))
    for trade in ours:
        if id(trade) not in used:
            rows.append(ParityRow("extra", None, trade))
    rows.sort(key=lambda r: (r.time, 0 if r.tradingview else 1))
    counts = {status: sum(1 for r in rows if r.status == status) for status in ("matched", "different", "missing", "extra")}
    return ParityReport(rows=rows, first_divergence=_first_divergence(rows), **counts)


def _first_divergence(rows: list[ParityRow]) -> Divergence | None:
    for row in rows:
        if row.status == "matched":
            continue
        if row.status == "missing":
            tv = row.tradingview
            return Divergence(tv.entry_time, tv.entry_price, f"TradingView enters {tv.direction} ({tv.entry_signal}) here; 4pass does not",
                              "The entry condition did not fire here: check inputs, the date range, the data (bar times, "
                              "session) and the strategy() settings (pyramiding, margin).")
        if row.status == "extra":
            ours = row.ours
            return Divergence(ours.entry_time, ours.entry_price, f"4pass enters {ours.direction} ({ours.entry_signal}) here; TradingView does not",
                              "An extra entry: often a different data history (TradingView loads fewer/more bars) or a "
                              "position still open on TradingView, or pyramiding/margin settings.")
        tv, ours = row.tradingview, row.ours
        text = "; ".join(row.differences)
        if any(d.startswith("entry price") for d in row.differences):
            reason = "Same bar, different fill price: slippage, the order type (stop/limit price) or tick rounding differ."
            return Divergence(tv.entry_time, ours.entry_price, text, reason)
        if any(d.startswith("quantity") for d in row.differences):
            reason = "Position sizing differs: initial capital, default_qty_type/value, or equity after commission."
            return Divergence(tv.entry_time, ours.entry_price, text, reason)
        if any(d.startswith("exit") or "open" in d for d in row.differences):
            reason = ("The exit differs: an exit rule (stop/limit levels, intrabar order of high/low) or the next "
                      "entry signal fired at a different bar.")
            return Divergence(tv.exit_time or tv.entry_time, ours.exit_price, text, reason)
        if any(d.startswith("net P&L") for d in row.differences):
            reason = "Same trade, different profit: commission settings or the symbol's point value differ."
            return Divergence(tv.entry_time, ours.entry_price, text, reason)
        return Divergence(tv.entry_time, ours.entry_price, text, "Direction differs: check the entry conditions.")
    return None


def run_trades_as_reference(rows: list[dict]) -> list[ReferenceTrade]:
    return [
        ReferenceTrade(
            number=r["number"], direction=r["direction"], entry_time=r["entry_time"], entry_price=r["entry_price"],
            entry_signal=r["entry_signal"], exit_time=None if r["is_open"] else r["exit_time"],
            exit_price=None if r["is_open"] else r["exit_price"], exit_signal=r["exit_signal"],
            quantity=r["quantity"], profit=r["profit"], is_open=r["is_open"],
        )
        for r in rows
    ]
