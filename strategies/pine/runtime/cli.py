"""Command line core: ``backtest FILE.pine --data FILE.csv [options]``.

    python -m strategies.pine.runtime.cli backtest strat.pine --data bars.csv --symbol BINANCE:ETHUSDT.P \\
        --mintick 0.01 --timeframe 60 --set length=20 --json out.json --trades-csv trades.csv

Prints the summary.  ``--json`` writes trades (ISO-8601 UTC), equity and summary; ``--trades-csv``
writes TradingView's "List of trades" export.  Compile errors print ``FILE:LINE:COL: error: MSG`` and
exit 1; runtime errors print ``FILE:LINE:COL: runtime error: MSG`` and exit 2.  The Django
``manage.py backtest`` command is a thin wrapper around :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

from ..compiler import compile_source
from .broker import SymbolInfo
from .engine import Bars, PineCompileError, run_backtest
from .errors import PineRuntimeError
from .report import result_to_dict, write_trades_csv
from .timeutil import exchange_timezone

_TYPE_BY_SUFFIX = {".P": "crypto"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pine", description="Pine Script v6 backtester")
    sub = parser.add_subparsers(dest="command", required=True)
    bt = sub.add_parser("backtest", help="run a Pine strategy over a CSV of bars")
    bt.add_argument("file", metavar="FILE.pine")
    bt.add_argument("--data", required=True, metavar="FILE.csv", help="CSV with time,open,high,low,close[,volume]")
    bt.add_argument("--symbol", default="SYMBOL", help="EXCHANGE:TICKER, e.g. BINANCE:ETHUSDT.P")
    bt.add_argument("--mintick", type=float, default=0.01)
    bt.add_argument("--pointvalue", type=float, default=1.0)
    bt.add_argument("--type", dest="symbol_type", default=None, help="crypto | forex | stock | futures | ...")
    bt.add_argument("--currency", default="USD")
    bt.add_argument("--timezone", default=None, help="exchange time zone (default from the exchange prefix)")
    bt.add_argument("--session-start", default=None, help="HHMM local time at which the trading day starts")
    bt.add_argument("--timeframe", default=None, help="chart timeframe (default: inferred from the bars)")
    bt.add_argument("--from", dest="date_from", default=None)
    bt.add_argument("--to", dest="date_to", default=None)
    bt.add_argument("--initial-capital", type=float, default=None)
    bt.add_argument("--max-bars", type=int, default=None)
    bt.add_argument("--set", dest="sets", action="append", default=[], metavar="INPUT=VALUE",
                    help="override an input by variable name or title (repeatable)")
    bt.add_argument("--json", dest="json_out", default=None, metavar="OUT.json")
    bt.add_argument("--trades-csv", dest="trades_csv", default=None, metavar="OUT.csv")
    return parser


def _default_type(ticker: str) -> str:
    exchange = ticker.split(":", 1)[0].upper() if ":" in ticker else ""
    if exchange in ("OANDA", "FX", "FXCM", "FOREXCOM"):
        return "forex"
    if exchange in ("NYSE", "NASDAQ", "AMEX", "TWSE", "TPEX", "ALPACA"):
        return "stock"
    if exchange in ("CME", "CME_MINI", "CBOT", "NYMEX", "NYMEX_MINI", "COMEX", "TAIFEX"):
        return "futures"
    return "crypto"


def build_symbol(args: argparse.Namespace) -> SymbolInfo:
    ticker = args.symbol
    symbol_type = args.symbol_type or _default_type(ticker)
    tz = args.timezone or exchange_timezone(ticker, symbol_type)
    session = args.session_start
    if session is None:
        session = "1700" if symbol_type == "forex" else "0000"
    return SymbolInfo(ticker=ticker, mintick=args.mintick, pointvalue=args.pointvalue, type=symbol_type,
                      timezone=tz, currency=args.currency, session_start=session)


def _parse_sets(sets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in sets:
        if "=" not in item:
            raise ValueError(f"--set expects INPUT=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.2f}"
    return str(v)


def print_summary(result: Any, out: TextIO) -> None:
    s = result.summary
    rows = [
        ("Bars processed", result.bars_processed),
        ("Initial capital", s.get("initial_capital")),
        ("Final equity", s.get("final_equity")),
        ("Net profit", s.get("net_profit")),
        ("Net profit %", s.get("net_profit_pct")),
        ("Gross profit", s.get("gross_profit")),
        ("Gross loss", s.get("gross_loss")),
        ("Max drawdown", s.get("max_drawdown")),
        ("Max drawdown %", s.get("max_drawdown_pct")),
        ("Total closed trades", s.get("total_closed_trades", len([t for t in result.trades if not t.is_open]))),
        ("Open trades", len([t for t in result.trades if t.is_open])),
        ("Percent profitable", s.get("percent_profitable")),
        ("Profit factor", s.get("profit_factor")),
        ("Avg trade", s.get("avg_trade")),
        ("Sharpe ratio", s.get("sharpe_ratio")),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        if value is None:
            continue
        out.write(f"{key.ljust(width)}  {_fmt(value)}\n")


def backtest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = args.file
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        err.write(f"{path}:0:0: error: cannot read file: {exc.strerror}\n")
        return 1
    compiled = compile_source(source, filename=path)
    if not compiled.ok:
        for diag in compiled.errors:
            err.write(diag.format(path) + "\n")
        return 1
    try:
        bars = Bars.from_csv(args.data)
    except (OSError, ValueError) as exc:
        err.write(f"{args.data}: error: {exc}\n")
        return 1
    try:
        inputs = _parse_sets(args.sets)
        symbol = build_symbol(args)
        result = run_backtest(compiled, bars, symbol, timeframe=args.timeframe, inputs=inputs,
                              date_from=args.date_from, date_to=args.date_to,
                              initial_capital=args.initial_capital, max_bars=args.max_bars)
    except PineCompileError as exc:
        err.write(exc.format(path) + "\n")
        return 1
    except PineRuntimeError as exc:
        err.write(f"{path}:{exc.line}:{exc.col}: runtime error: {exc.message}\n")
        return 2
    except ValueError as exc:
        err.write(f"error: {exc}\n")
        return 1
    print_summary(result, out)
    if args.json_out:
        doc = result_to_dict(result.backtest, include_equity=True, include_events=True)
        doc["inputs"] = result.inputs
        doc["bars_processed"] = result.bars_processed
        doc["engine_version"] = result.engine_version
        doc["alerts"] = [{k: v for k, v in a.items() if k != "site"} for a in result.alerts]
        Path(args.json_out).write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    if args.trades_csv:
        write_trades_csv(result.backtest, args.trades_csv)
    return 0


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "backtest":
        return backtest(args, out, err)
    return 2  # pragma: no cover - argparse enforces the sub-command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
