"""TradingView Strategy Tester broker emulator (skeleton; implementation in progress).

Public API (called by the Pine runtime, see the class docstrings):

    emu = StrategyEmulator(StrategyConfig(...), SymbolInfo(...))
    for i, bar in enumerate(bars):
        emu.process_bar(i, time_ms, o, h, l, c, v)   # BEFORE the script runs on bar i
        ... script runs; strategy.* calls -> emu.entry/order/exit/close/close_all/cancel/cancel_all
        emu.after_script(i)                           # AFTER the script ran on bar i
    result = emu.finish()                             # BacktestResult
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LONG = "long"
SHORT = "short"


@dataclass
class SymbolInfo:
    ticker: str = "SYMBOL"
    mintick: float = 0.01
    pointvalue: float = 1.0
    type: str = "crypto"
    timezone: str = "Etc/UTC"
    currency: str = "USD"
    qty_step: float | None = None


@dataclass
class StrategyConfig:
    initial_capital: float = 1_000_000.0
    default_qty_type: str = "fixed"  # "fixed" | "percent_of_equity" | "cash"
    default_qty_value: float = 1.0
    pyramiding: int = 1
    commission_type: str = "percent"  # "percent" | "cash_per_contract" | "cash_per_order"
    commission_value: float = 0.0
    slippage: int = 0
    process_orders_on_close: bool = False
    close_entries_rule: str = "FIFO"  # "FIFO" | "ANY"
    margin_long: float = 0.0
    margin_short: float = 0.0
    currency: str = "USD"


@dataclass
class OrderEvent:
    bar_index: int
    time: int
    kind: str  # "new" | "fill" | "cancel"
    id: str
    side: str  # "buy" | "sell"
    qty: float
    price: float | None
    comment: str | None = None
    alert_message: str | None = None


@dataclass
class Trade:
    trade_num: int
    direction: str
    entry_id: str
    entry_comment: str | None
    entry_time: int
    entry_price: float
    entry_bar: int
    qty: float
    exit_id: str | None = None
    exit_comment: str | None = None
    exit_time: int | None = None
    exit_price: float | None = None
    exit_bar: int | None = None
    profit: float = 0.0
    profit_pct: float = 0.0
    runup: float = 0.0
    runup_pct: float = 0.0
    drawdown: float = 0.0
    drawdown_pct: float = 0.0
    cum_profit: float = 0.0
    commission: float = 0.0
    is_open: bool = True


@dataclass
class BacktestResult:
    trades: list[Trade]
    equity: np.ndarray
    drawdown: np.ndarray
    events: list[OrderEvent]
    summary: dict = field(default_factory=dict)


class StrategyEmulator:
    def __init__(self, config: StrategyConfig, symbol: SymbolInfo) -> None:
        raise NotImplementedError

    def process_bar(self, i: int, time_ms: int, open: float, high: float, low: float, close: float,
                    volume: float = 0.0) -> None:
        raise NotImplementedError

    def entry(self, id: str, direction: str, qty: float | None = None, limit: float | None = None,
              stop: float | None = None, oca_name: str | None = None, oca_type: str | None = None,
              comment: str | None = None, alert_message: str | None = None,
              disable_alert: bool = False) -> None:
        raise NotImplementedError

    def order(self, id: str, direction: str, qty: float | None = None, limit: float | None = None,
              stop: float | None = None, oca_name: str | None = None, oca_type: str | None = None,
              comment: str | None = None, alert_message: str | None = None,
              disable_alert: bool = False) -> None:
        raise NotImplementedError

    def exit(self, id: str, from_entry: str | None = None, qty: float | None = None,
             qty_percent: float | None = None, profit: float | None = None, limit: float | None = None,
             loss: float | None = None, stop: float | None = None, trail_price: float | None = None,
             trail_points: float | None = None, trail_offset: float | None = None,
             oca_name: str | None = None, comment: str | None = None, comment_profit: str | None = None,
             comment_loss: str | None = None, comment_trailing: str | None = None,
             alert_message: str | None = None, disable_alert: bool = False) -> None:
        raise NotImplementedError

    def close(self, id: str, comment: str | None = None, qty: float | None = None,
              qty_percent: float | None = None, alert_message: str | None = None,
              immediately: bool = False, disable_alert: bool = False) -> None:
        raise NotImplementedError

    def close_all(self, comment: str | None = None, alert_message: str | None = None,
                  immediately: bool = False, disable_alert: bool = False) -> None:
        raise NotImplementedError

    def cancel(self, id: str) -> None:
        raise NotImplementedError

    def cancel_all(self) -> None:
        raise NotImplementedError

    def after_script(self, i: int) -> None:
        raise NotImplementedError

    def finish(self) -> BacktestResult:
        raise NotImplementedError
