"""Trade-list export in TradingView's "List of trades" CSV layout, and a JSON-ready dict.

* ``trades_csv_rows(result)`` / ``trades_csv(result)`` / ``write_trades_csv(result, path)``: the layout
  of TradingView's "Export data" of the List of trades (the layout of the files in
  ``/work/shared/tv-reference/strategies``): two rows per trade, entry row first, then the exit row
  (signal ``Open`` for a trade still open); ``Date/Time`` in the symbol's time zone with its UTC
  offset (``2022-01-02T19:00:00-0500``); money cells rounded like TradingView (2 decimals, values
  that would round to 0 keep one significant digit), percent cells to 2 decimals.
* ``layout="new"``: the Strategy Tester's newer export (2024+): ``Date and time`` as
  ``YYYY-MM-DD HH:MM`` in the symbol's time zone, ``Size (qty)``/``Size (value)``, run-up/drawdown named
  ``Favorable excursion``/``Adverse excursion``, and the exit row before the entry row of each trade.
  This layout is reproduced from public descriptions of such exports; no reference export of it was
  available to test against, unlike the classic layout.
* ``result_to_dict(result)``: trades (ISO-8601 UTC times), summary, equity curve and order events,
  JSON-serialisable (NaN/inf become None).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from strategies.pine.runtime.broker import BacktestResult, Trade


def csv_header(currency: str = "USD", layout: str = "classic") -> list[str]:
    c = currency
    if layout == "new":
        return ["Trade #", "Type", "Date and time", "Signal", f"Price {c}", "Size (qty)", "Size (value)",
                f"Net P&L {c}", "Net P&L %", f"Favorable excursion {c}", "Favorable excursion %",
                f"Adverse excursion {c}", "Adverse excursion %", f"Cumulative P&L {c}",
                "Cumulative P&L %"]
    if layout != "classic":
        raise ValueError(f"unknown trade-list layout {layout!r}; expected 'classic' or 'new'")
    return ["Trade #", "Type", "Date/Time", "Signal", f"Price {c}", "Position size (qty)",
            "Position size (value)", f"Net P&L {c}", "Net P&L %", f"Run-up {c}", "Run-up %",
            f"Drawdown {c}", "Drawdown %", f"Cumulative P&L {c}", "Cumulative P&L %"]


def _num(x: float) -> str:
    """Shortest round-trip text of a float, integers without a trailing .0 (TradingView's cells)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _money(x: float) -> str:
    """2 decimals; a value that would show as 0 gets more decimals until it does not (0.0009 -> 0.001,
    0.00006 -> 0.0001), as TradingView's export does."""
    if x is None or math.isnan(x):
        return ""
    r = round(x, 2)
    digits = 2
    while r == 0 and x != 0 and digits < 12:
        digits += 1
        r = round(x, digits)
    return _num(r)


def _pct(x: float) -> str:
    if x is None or math.isnan(x):
        return ""
    return _num(round(x, 2))


def _price(x: float | None) -> str:
    if x is None or math.isnan(x):
        return ""
    return _num(round(x, 10))


def format_time(ms: int | None, tz: str, layout: str = "classic") -> str:
    if ms is None:
        return ""
    d = datetime.fromtimestamp(ms / 1000.0, tz=UTC).astimezone(ZoneInfo(tz))
    return d.strftime("%Y-%m-%d %H:%M" if layout == "new" else "%Y-%m-%dT%H:%M:%S%z")


def _trade_rows(t: Trade, tz: str, initial_capital: float, layout: str = "classic") -> list[list[str]]:
    direction = t.direction
    value = t.qty * t.entry_price * (1.0 if t.qty else 0.0)
    shared = [_money(t.profit), _pct(t.profit_pct), _money(t.runup), _pct(t.runup_pct),
              _money(t.drawdown), _pct(t.drawdown_pct), _money(t.cum_profit),
              _pct(t.cum_profit / initial_capital * 100 if initial_capital else math.nan)]
    qty = _num(round(t.qty, 10))
    entry = [str(t.trade_num), f"Entry {direction}", format_time(t.entry_time, tz, layout),
             t.entry_signal, _price(t.entry_price), qty, _num(value), *shared]
    exit_ = [str(t.trade_num), f"Exit {direction}", format_time(t.exit_time, tz, layout), t.exit_signal,
             _price(t.exit_price), qty, _num(value), *shared]
    return [exit_, entry] if layout == "new" else [entry, exit_]


def trades_csv_rows(result: BacktestResult, layout: str = "classic") -> list[list[str]]:
    """Header + two rows per trade, TradingView's "List of trades" export layout."""
    sym = result.symbol
    tz = sym.timezone if sym else "Etc/UTC"
    currency = sym.currency if sym else "USD"
    initial = float(result.config.initial_capital) if result.config else 0.0
    rows = [csv_header(currency, layout)]
    for t in result.trades:
        rows.extend(_trade_rows(t, tz, initial, layout))
    return rows


def trades_csv(result: BacktestResult, layout: str = "classic") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(trades_csv_rows(result, layout))
    return buf.getvalue()


def write_trades_csv(result: BacktestResult, path: str | Path, layout: str = "classic") -> None:
    Path(path).write_text(trades_csv(result, layout), encoding="utf-8")


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).isoformat().replace("+00:00", "Z")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalar
        return _clean(v.item())
    return v


def trade_to_dict(t: Trade) -> dict[str, Any]:
    return {
        "trade_num": t.trade_num, "direction": t.direction, "is_open": t.is_open,
        "entry_id": t.entry_id, "entry_signal": t.entry_signal, "entry_time": _iso(t.entry_time),
        "entry_bar": t.entry_bar, "entry_price": t.entry_price,
        "exit_id": t.exit_id, "exit_signal": t.exit_signal, "exit_time": _iso(t.exit_time),
        "exit_bar": t.exit_bar, "exit_price": t.exit_price, "qty": t.qty,
        "profit": t.profit, "profit_pct": t.profit_pct, "runup": t.runup, "runup_pct": t.runup_pct,
        "drawdown": t.drawdown, "drawdown_pct": t.drawdown_pct, "cum_profit": t.cum_profit,
        "commission": t.commission, "bars_held": t.bars_held,
    }


def result_to_dict(result: BacktestResult, include_equity: bool = True,
                   include_events: bool = False) -> dict[str, Any]:
    """JSON-ready dict of a backtest: trades, summary, optionally the equity curve and order events."""
    out: dict[str, Any] = {
        "symbol": result.symbol.ticker if result.symbol else None,
        "currency": result.symbol.currency if result.symbol else None,
        "initial_capital": float(result.config.initial_capital) if result.config else None,
        "trades": [trade_to_dict(t) for t in result.trades],
        "summary": result.summary,
    }
    if include_equity:
        times = result.times.tolist() if result.times is not None else []
        out["equity"] = [{"time": _iso(int(t)), "equity": float(e), "drawdown": float(d)}
                         for t, e, d in zip(times, result.equity.tolist(), result.drawdown.tolist(),
                                            strict=False)]
    if include_events:
        out["events"] = [{"bar_index": e.bar_index, "time": _iso(e.time), "kind": e.kind, "id": e.id,
                          "side": e.side, "qty": e.qty, "price": e.price, "comment": e.comment,
                          "alert_message": e.alert_message} for e in result.events]
    return _clean(out)
