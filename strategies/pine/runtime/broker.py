"""TradingView Strategy Tester broker emulator.

Reproduces the order, fill, position and trade bookkeeping of TradingView's Strategy Tester so that a
Pine strategy run here yields the same "List of trades" as TradingView (verified trade by trade against
12 TradingView exports in tests/pine/test_tv_trades.py).

Driving protocol (what the Pine runtime does for every bar ``i``)::

    emu = StrategyEmulator(StrategyConfig(...), SymbolInfo(...))
    for i, bar in enumerate(bars):
        emu.process_bar(i, time_ms, o, h, l, c, v)   # BEFORE the script runs on bar i: fills pending
                                                      # orders on bar i along TV's intrabar path
        ... the script runs at the close of bar i; strategy.* built-ins call
            emu.entry / order / exit / close / close_all / cancel / cancel_all / risk_* and read
            the properties (position_size, equity, ...) ...
        emu.after_script(i)                           # AFTER the script: process_orders_on_close fills,
                                                      # risk rules, equity bookkeeping for bar i
    result = emu.finish()                             # BacktestResult (trades, equity, summary)

Public API of ``StrategyEmulator``:

* orders: ``entry(id, direction, qty, limit, stop, oca_name, oca_type, comment, alert_message)``,
  ``order(...)`` (same arguments), ``exit(id, from_entry, qty, qty_percent, profit, limit, loss, stop,
  trail_price, trail_points, trail_offset, oca_name, comment, comment_profit, comment_loss,
  comment_trailing, alert_message)``, ``close(id, comment, qty, qty_percent, alert_message,
  immediately)``, ``close_all(comment, alert_message, immediately)``, ``cancel(id)``, ``cancel_all()``;
  ``direction`` is "long"/"short" (also "buy"/"sell"); na prices/quantities are passed as None or NaN.
* risk: ``risk_allow_entry_in(direction)``, ``risk_max_position_size(contracts)``,
  ``risk_max_intraday_loss(value, type)``, ``risk_max_intraday_filled_orders(count)``,
  ``risk_max_cons_loss_days(count)``, ``risk_max_drawdown(value, type)``.
* strategy.* variables as properties: ``position_size``, ``position_avg_price``, ``position_entry_name``,
  ``equity``, ``initial_capital``, ``netprofit(_percent)``, ``grossprofit(_percent)``,
  ``grossloss(_percent)``, ``openprofit(_percent)``, ``max_drawdown(_percent)``, ``max_runup(_percent)``,
  ``avg_trade(_percent)``, ``avg_winning_trade(_percent)``, ``avg_losing_trade(_percent)``,
  ``opentrades``, ``closedtrades``, ``wintrades``, ``losstrades``, ``eventrades``,
  ``max_contracts_held_all/long/short``, ``margin_liquidation_price``, ``opentrades_capital_held``,
  ``closedtrades_first_index``; ``default_entry_qty(fill_price)``.
* ``closedtrades_<field>(n)`` / ``opentrades_<field>(n)`` for Pine's strategy.closedtrades.* and
  strategy.opentrades.* (entry_price, exit_price, profit, profit_percent, size, entry/exit_bar_index,
  entry/exit_time, entry/exit_id, entry/exit_comment, commission, max_runup(_percent),
  max_drawdown(_percent)); ``closedtrade(n)``/``opentrade(n)`` return the record.
* ``events``: list of ``OrderEvent`` (new / modify / fill / cancel, with the reason of a rejection in
  ``comment``) appended as orders change, for alerts and live execution.

Semantics (TradingView's broker emulator):

* Market orders created on bar ``i`` fill at the open of bar ``i+1`` (``process_orders_on_close`` or
  ``immediately=True``: at the close of bar ``i``). Market and stop fills get ``slippage`` ticks in the
  adverse direction, limit fills none.
* Intrabar path: open -> high -> low -> close when the high is closer to the open than the low,
  otherwise open -> low -> high -> close. Stop/limit orders fill where the path crosses their price, or
  at the current path price when it is already beyond the price (gap at the open: fill at the open).
  Orders are evaluated in path order, so an entry filled intrabar can be exited later on the same bar.
  Order prices snap to the tick grid at the first tick that triggers them (buy stop / sell limit up,
  sell stop / buy limit down).
* ``entry`` reverses an opposite position. Its quantity is fixed when it is placed: quantity + the
  opposite position at that moment; at the fill it closes the opposite trades it finds (signal = the
  entry's comment or id) and opens what is left as one trade -- nothing when it was placed flat and a
  position appeared meanwhile (TradingView's slippage_limit export shows both cases).
  ``pyramiding`` caps same-direction open entries (0 behaves as 1); an entry placed while the cap is
  reached is ignored (the channel-breakout and slippage_limit exports depend on it), and one that meets
  the cap at its fill is cancelled. ``order`` nets (FIFO) and ignores
  pyramiding. Re-using a pending order id modifies that order.
* ``exit`` brackets are attached per open trade of ``from_entry`` (all entries when omitted); levels from
  ``profit``/``loss`` ticks are relative to each trade's entry price (the nearer of profit/limit and of
  loss/stop wins); limit and stop legs of one exit are one order (a fill of one leg consumes the other);
  a partial exit (qty/qty_percent) splits the trade and does not re-apply to the remainder; exits
  placed before their entry wait for it; exits whose trades are all closed are removed.
* ``close_entries_rule="FIFO"`` (default): an exit or ``close`` sized for one entry closes the oldest
  open trades of the position first; ``"ANY"`` closes the trades of the entry it names.
* OCA: ``cancel`` removes the other orders of the group when one fills, ``reduce`` lowers their
  quantity by the filled quantity.
* Commission is charged on every fill and included in the trade's profit: ``percent`` of the traded value,
  ``cash_per_contract`` per contract, ``cash_per_order`` per order fill (split across the trades that
  fill touches in proportion to quantity). The cumulative P&L column counts the entry commission of
  trades still open; profit % is relative to the entry's value plus its commission.
* ``percent_of_equity``/``cash`` quantities are computed when the order is created, from the close of that
  bar and the equity at that close (open profit net of entry commissions included); for
  percent_of_equity a percent commission is reserved out of the amount; the result is floored to
  ``SymbolInfo.mincontract``.
* Trade run-up/drawdown are the best/worst excursion of the price along the intrabar path while the
  trade is open (entry fill to exit fill, slipped fill prices included), net of the entry commission.
* Margin (``margin_long``/``margin_short`` > 0): an order that increases exposure is rejected when the
  equity does not cover the new position's margin; once per bar, at the worst price for the position
  (low for longs, high for shorts), a margin deficit triggers TradingView's margin call: loss to cover
  = -available funds / margin rate, cover = loss in contracts at that price (floored to the quantity
  step, at least one step), 4x the cover is liquidated (capped at the position), signal "Margin call".
* Risk rules are checked at each bar's close; the "intraday" day is the exchange trading day in the
  symbol's time zone starting at ``SymbolInfo.session_start`` (17:00 New York for forex).

Money is kept in float64 like TradingView's own engine, whose rounding this emulator has to reproduce;
the live order layer (brokers/execution) is where Decimal applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

LONG = "long"
SHORT = "short"

_DEFAULT_MINCONTRACT = {"futures": 1.0, "stock": 1.0, "fund": 1.0, "dr": 1.0, "forex": 0.1}
_EPS = 1e-12


def _dir_sign(direction: str | int | bool) -> int:
    if isinstance(direction, bool):
        return 1 if direction else -1
    if isinstance(direction, int):
        return 1 if direction > 0 else -1
    d = str(direction).lower()
    if d in ("long", "buy", "strategy.long"):
        return 1
    if d in ("short", "sell", "strategy.short"):
        return -1
    raise ValueError(f"unknown direction {direction!r}; expected 'long' or 'short'")


@dataclass
class SymbolInfo:
    """What the emulator needs to know about the traded symbol.

    ``mincontract`` is the quantity step used to floor computed quantities (``None``: 1 for
    futures/stocks, 0.1 for forex as on TradingView's FX feeds, no rounding otherwise).
    ``session_start`` is the local time ("HHMM") at which the exchange trading day starts; forex and
    CME-style sessions start the day at 17:00 New York time. It defines "intraday" for the risk rules.
    """

    ticker: str = "SYMBOL"
    mintick: float = 0.01
    pointvalue: float = 1.0
    type: str = "crypto"
    timezone: str = "Etc/UTC"
    currency: str = "USD"
    mincontract: float | None = None
    session_start: str = "0000"

    @property
    def qty_step(self) -> float | None:
        if self.mincontract is not None:
            return self.mincontract if self.mincontract > 0 else None
        return _DEFAULT_MINCONTRACT.get(self.type)


@dataclass
class StrategyConfig:
    """The ``strategy()`` declaration arguments that drive the emulator."""

    initial_capital: float = 1_000_000.0
    default_qty_type: str = "fixed"  # "fixed" | "percent_of_equity" | "cash"
    default_qty_value: float = 1.0
    pyramiding: int = 1
    commission_type: str = "percent"  # "percent" | "cash_per_contract" | "cash_per_order"
    commission_value: float = 0.0
    slippage: int = 0  # ticks
    process_orders_on_close: bool = False
    close_entries_rule: str = "FIFO"  # "FIFO" | "ANY"
    margin_long: float = 100.0  # percent; Pine v6 default 100, v5 default 0 (= no margin checks)
    margin_short: float = 100.0
    currency: str = "USD"


@dataclass
class OrderEvent:
    """One order state change: ``kind`` is "new", "modify", "fill" or "cancel"."""

    bar_index: int
    time: int
    kind: str
    id: str
    side: str  # "buy" | "sell"
    qty: float
    price: float | None
    comment: str | None = None
    alert_message: str | None = None


@dataclass
class Trade:
    """One row pair of TradingView's "List of trades" (an open trade has ``is_open=True``)."""

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

    @property
    def entry_signal(self) -> str:
        return self.entry_comment if self.entry_comment else self.entry_id

    @property
    def exit_signal(self) -> str:
        if self.is_open:
            return "Open"
        return self.exit_comment if self.exit_comment else (self.exit_id or "")

    @property
    def bars_held(self) -> int:
        end = self.exit_bar if self.exit_bar is not None else self.entry_bar
        return end - self.entry_bar


@dataclass
class BacktestResult:
    trades: list[Trade]
    equity: np.ndarray  # equity at each bar's close
    drawdown: np.ndarray  # peak equity - equity, per bar (>= 0)
    events: list[OrderEvent]
    summary: dict[str, Any] = field(default_factory=dict)
    times: np.ndarray | None = None
    config: StrategyConfig | None = None
    symbol: SymbolInfo | None = None

    @property
    def closed_trades(self) -> list[Trade]:
        return [t for t in self.trades if not t.is_open]

    @property
    def open_trades(self) -> list[Trade]:
        return [t for t in self.trades if t.is_open]


@dataclass
class _Order:
    id: str
    kind: str  # "entry" | "order" | "close" | "exit"
    side: int  # +1 buy / -1 sell (exits/closes: resolved at fill)
    qty: float | None
    limit: float | None = None
    stop: float | None = None
    oca_name: str | None = None
    oca_type: str | None = None
    comment: str | None = None
    alert_message: str | None = None
    bar: int = 0
    seq: int = 0
    # close orders
    close_all: bool = False
    qty_percent: float | None = None
    # exit orders
    from_entry: str | None = None
    profit: float | None = None
    loss: float | None = None
    trail_price: float | None = None
    trail_points: float | None = None
    trail_offset: float | None = None
    comment_profit: str | None = None
    comment_loss: str | None = None
    comment_trailing: str | None = None
    qty_left: float | None = None  # absolute exit qty still to be filled across trades
    stop_triggered: bool = False  # stop-limit order whose stop has been hit
    reverse_qty: float = 0.0  # entry: opposite position size when the order was placed
    was_active: bool = False  # exit that has been attached to an open trade

    @property
    def is_market(self) -> bool:
        return self.limit is None and self.stop is None

    @property
    def side_name(self) -> str:
        return "buy" if self.side > 0 else "sell"


@dataclass
class _OpenTrade:
    uid: int
    entry_id: str
    entry_comment: str | None
    sign: int
    qty: float
    entry_price: float
    entry_bar: int
    entry_time: int
    entry_commission: float
    hi: float
    lo: float
    exits_done: set[str] = field(default_factory=set)


@dataclass
class _Candidate:
    dist: float
    seq: int
    order: _Order
    trade: _OpenTrade | None
    fill_price: float
    leg: str  # "market" | "stop" | "limit" | "trail" | "stoplimit-trigger"
    trigger: float


class StrategyEmulator:
    """TradingView Strategy Tester broker emulator (see the module docstring for the protocol)."""


    def __init__(self, config: StrategyConfig, symbol: SymbolInfo) -> None:
        self.config = config
        self.symbol = symbol
        self.mintick = float(symbol.mintick)
        self.pointvalue = float(symbol.pointvalue)
        self.pyramiding = max(1, int(config.pyramiding or 0))
        self._tz = ZoneInfo(symbol.timezone) if symbol.timezone else UTC
        s = str(symbol.session_start).replace(":", "").zfill(4)
        self._session_offset_min = int(s[:2]) * 60 + int(s[2:])

        self.orders: dict[str, _Order] = {}  # pending orders by id (exits keyed "exit:<id>:<from>")
        self.open: list[_OpenTrade] = []
        self._pos = 0.0  # signed position size, kept in step with self.open
        self.closed: list[Trade] = []
        self.events: list[OrderEvent] = []
        self._seq = 0
        self._uid = 0
        self._trail: dict[tuple[str, int], list[float]] = {}  # (exit key, trade uid) -> [active, extreme]

        self.netprofit = 0.0
        self.grossprofit = 0.0
        self.grossloss = 0.0
        self.commission_paid = 0.0
        self.margin_calls = 0
        self.max_contracts_held_all = 0.0
        self.max_contracts_held_long = 0.0
        self.max_contracts_held_short = 0.0

        self.bar_index = -1
        self.time = 0
        self.o = self.h = self.lo = self.c = math.nan
        self._equity: list[float] = []
        self._equity_hi: list[float] = []
        self._equity_lo: list[float] = []
        self._times: list[int] = []
        self._closes: list[float] = []
        self._first_open = math.nan
        self._path_price = math.nan

        self.max_drawdown = 0.0
        self.max_runup = 0.0
        self._max_drawdown_pct = 0.0
        self._max_runup_pct = 0.0
        self._peak_equity = float(config.initial_capital)
        self._trough_equity = float(config.initial_capital)

        # risk management
        self._allow_entry_in: int | None = None  # None both, +1 long only, -1 short only
        self._max_position_size: float | None = None
        self._max_intraday_loss: tuple[float, str] | None = None
        self._max_intraday_filled: int | None = None
        self._max_cons_loss_days: int | None = None
        self._max_drawdown_rule: tuple[float, str] | None = None
        self._day_key: int | None = None
        self._day_start_equity = float(config.initial_capital)
        self._day_fills = 0
        self._halted_day: int | None = None
        self._halted_forever = False
        self._loss_days = 0
        self._day_had_loss = False

    # ------------------------------------------------------------------ script-facing properties
    @property
    def initial_capital(self) -> float:
        return float(self.config.initial_capital)

    @property
    def position_size(self) -> float:
        return self._pos

    @property
    def position_avg_price(self) -> float:
        q = sum(t.qty for t in self.open)
        if q <= _EPS:
            return math.nan
        return sum(t.qty * t.entry_price for t in self.open) / q

    @property
    def position_entry_name(self) -> str:
        return self.open[0].entry_id if self.open else ""

    @property
    def openprofit(self) -> float:
        return self._open_profit_at(self.c)

    @property
    def equity(self) -> float:
        return self.initial_capital + self.netprofit + self.openprofit

    @property
    def opentrades(self) -> int:
        return len(self.open)

    @property
    def closedtrades(self) -> int:
        return len(self.closed)

    @property
    def wintrades(self) -> int:
        return sum(1 for t in self.closed if t.profit > 0)

    @property
    def losstrades(self) -> int:
        return sum(1 for t in self.closed if t.profit < 0)

    @property
    def eventrades(self) -> int:
        return sum(1 for t in self.closed if t.profit == 0)

    # strategy.* summary variables
    @property
    def netprofit_percent(self) -> float:
        return _pct(self.netprofit, self.initial_capital)

    @property
    def grossprofit_percent(self) -> float:
        return _pct(self.grossprofit, self.initial_capital)

    @property
    def grossloss_percent(self) -> float:
        return _pct(self.grossloss, self.initial_capital)

    @property
    def openprofit_percent(self) -> float:
        return _pct(self.openprofit, self.initial_capital + self.netprofit)

    @property
    def max_drawdown_percent(self) -> float:
        return self._max_drawdown_pct

    @property
    def max_runup_percent(self) -> float:
        return self._max_runup_pct

    @property
    def avg_trade(self) -> float:
        return self.netprofit / len(self.closed) if self.closed else math.nan

    @property
    def avg_trade_percent(self) -> float:
        return sum(t.profit_pct for t in self.closed) / len(self.closed) if self.closed else math.nan

    @property
    def avg_winning_trade(self) -> float:
        n = self.wintrades
        return self.grossprofit / n if n else math.nan

    @property
    def avg_winning_trade_percent(self) -> float:
        wins = [t.profit_pct for t in self.closed if t.profit > 0]
        return sum(wins) / len(wins) if wins else math.nan

    @property
    def avg_losing_trade(self) -> float:
        n = self.losstrades
        return self.grossloss / n if n else math.nan

    @property
    def avg_losing_trade_percent(self) -> float:
        losses = [-t.profit_pct for t in self.closed if t.profit < 0]
        return sum(losses) / len(losses) if losses else math.nan

    @property
    def closedtrades_first_index(self) -> int:
        return 0

    @property
    def opentrades_capital_held(self) -> float:
        """Capital tied up by the open trades: their entry value times the margin rate (1 without margin)."""
        held = 0.0
        for t in self.open:
            rate = self._margin_rate(t.sign) or 1.0
            held += t.qty * t.entry_price * self.pointvalue * rate
        return held

    @property
    def margin_liquidation_price(self) -> float:
        """Price at which equity would equal the position's margin requirement (na when not applicable)."""
        pos = self.position_size
        if abs(pos) <= _EPS:
            return math.nan
        sign = 1 if pos > 0 else -1
        rate = self._margin_rate(sign)
        if rate <= 0:
            return math.nan
        q = abs(pos) * self.pointvalue
        base = self.initial_capital + self.netprofit - sum(t.entry_commission for t in self.open)
        cost = sum(t.qty * t.entry_price for t in self.open) * self.pointvalue
        if sign > 0:
            if rate >= 1.0:
                return math.nan  # a fully funded long cannot be margin-called
            price = (cost - base) / (q * (1.0 - rate))
            if price <= 0:
                return math.nan
            return math.floor(price / self.mintick + 1e-9) * self.mintick if self.mintick else price
        price = (base + cost) / (q * (1.0 + rate))
        return math.ceil(price / self.mintick - 1e-9) * self.mintick if self.mintick else price

    def default_entry_qty(self, fill_price: float) -> float:
        """``strategy.default_entry_qty``: the default order quantity if it filled at ``fill_price``."""
        q = self._default_qty(price=float(fill_price))
        return math.nan if q is None else q

    # strategy.closedtrades.* / strategy.opentrades.*
    def closedtrade(self, n: int) -> Trade | None:
        return self.closed[n] if 0 <= n < len(self.closed) else None

    def opentrade(self, n: int) -> _OpenTrade | None:
        return self.open[n] if 0 <= n < len(self.open) else None

    def _closed_field(self, n: int, attr: str) -> Any:
        t = self.closedtrade(n)
        if t is None:
            return None if attr.endswith(("_id", "_comment")) else math.nan
        v = getattr(t, attr)
        return math.nan if v is None and not attr.endswith(("_id", "_comment")) else v

    def closedtrades_entry_price(self, n: int) -> float:
        return self._closed_field(n, "entry_price")

    def closedtrades_exit_price(self, n: int) -> float:
        return self._closed_field(n, "exit_price")

    def closedtrades_profit(self, n: int) -> float:
        return self._closed_field(n, "profit")

    def closedtrades_profit_percent(self, n: int) -> float:
        return self._closed_field(n, "profit_pct")

    def closedtrades_size(self, n: int) -> float:
        t = self.closedtrade(n)
        return (t.qty if t.direction == LONG else -t.qty) if t else math.nan

    def closedtrades_entry_bar_index(self, n: int) -> float:
        return self._closed_field(n, "entry_bar")

    def closedtrades_exit_bar_index(self, n: int) -> float:
        return self._closed_field(n, "exit_bar")

    def closedtrades_entry_time(self, n: int) -> float:
        return self._closed_field(n, "entry_time")

    def closedtrades_exit_time(self, n: int) -> float:
        return self._closed_field(n, "exit_time")

    def closedtrades_entry_id(self, n: int) -> str | None:
        return self._closed_field(n, "entry_id")

    def closedtrades_exit_id(self, n: int) -> str | None:
        return self._closed_field(n, "exit_id")

    def closedtrades_entry_comment(self, n: int) -> str | None:
        return self._closed_field(n, "entry_comment")

    def closedtrades_exit_comment(self, n: int) -> str | None:
        return self._closed_field(n, "exit_comment")

    def closedtrades_commission(self, n: int) -> float:
        return self._closed_field(n, "commission")

    def closedtrades_max_runup(self, n: int) -> float:
        return self._closed_field(n, "runup")

    def closedtrades_max_runup_percent(self, n: int) -> float:
        return self._closed_field(n, "runup_pct")

    def closedtrades_max_drawdown(self, n: int) -> float:
        return self._closed_field(n, "drawdown")

    def closedtrades_max_drawdown_percent(self, n: int) -> float:
        return self._closed_field(n, "drawdown_pct")

    def _open_field(self, n: int, attr: str) -> Any:
        t = self.opentrade(n)
        if t is None:
            return None if attr.endswith(("_id", "_comment")) else math.nan
        return getattr(t, attr)

    def opentrades_entry_price(self, n: int) -> float:
        return self._open_field(n, "entry_price")

    def opentrades_entry_bar_index(self, n: int) -> float:
        return self._open_field(n, "entry_bar")

    def opentrades_entry_time(self, n: int) -> float:
        return self._open_field(n, "entry_time")

    def opentrades_entry_id(self, n: int) -> str | None:
        return self._open_field(n, "entry_id")

    def opentrades_entry_comment(self, n: int) -> str | None:
        return self._open_field(n, "entry_comment")

    def opentrades_size(self, n: int) -> float:
        t = self.opentrade(n)
        return t.sign * t.qty if t else math.nan

    def opentrades_commission(self, n: int) -> float:
        return self._open_field(n, "entry_commission")

    def opentrades_profit(self, n: int) -> float:
        """Open P&L at the current close, net of the entry commission."""
        t = self.opentrade(n)
        if t is None:
            return math.nan
        return (self.c - t.entry_price) * t.sign * t.qty * self.pointvalue - t.entry_commission

    def opentrades_profit_percent(self, n: int) -> float:
        t = self.opentrade(n)
        if t is None:
            return math.nan
        return _pct(self.opentrades_profit(n), t.entry_price * t.qty * self.pointvalue + t.entry_commission)

    def opentrades_max_runup(self, n: int) -> float:
        t = self.opentrade(n)
        return self._excursions(t)[0] if t else math.nan

    def opentrades_max_drawdown(self, n: int) -> float:
        t = self.opentrade(n)
        return self._excursions(t)[1] if t else math.nan

    def opentrades_max_runup_percent(self, n: int) -> float:
        t = self.opentrade(n)
        if t is None:
            return math.nan
        return _pct(self._excursions(t)[0], t.entry_price * t.qty * self.pointvalue + t.entry_commission)

    def opentrades_max_drawdown_percent(self, n: int) -> float:
        t = self.opentrade(n)
        if t is None:
            return math.nan
        return _pct(self._excursions(t)[1], t.entry_price * t.qty * self.pointvalue + t.entry_commission)

    # ------------------------------------------------------------------ risk rules
    def risk_allow_entry_in(self, direction: str | None) -> None:
        """``strategy.risk.allow_entry_in``: "long", "short" or None/"all"."""
        if direction is None or str(direction).lower() in ("all", "both", "strategy.direction.all"):
            self._allow_entry_in = None
        else:
            self._allow_entry_in = _dir_sign(str(direction).lower().replace("strategy.direction.", ""))

    def risk_max_position_size(self, contracts: float) -> None:
        self._max_position_size = abs(float(contracts))

    def risk_max_intraday_loss(self, value: float, type: str = "percent_of_equity") -> None:
        """``type``: "percent_of_equity" or "cash" (strategy.percent_of_equity / strategy.cash)."""
        self._max_intraday_loss = (float(value), _norm_qty_type(type))

    def risk_max_intraday_filled_orders(self, count: int) -> None:
        self._max_intraday_filled = int(count)

    def risk_max_cons_loss_days(self, count: int) -> None:
        self._max_cons_loss_days = int(count)

    def risk_max_drawdown(self, value: float, type: str = "percent_of_equity") -> None:
        self._max_drawdown_rule = (float(value), _norm_qty_type(type))

    # ------------------------------------------------------------------ order placement API
    def entry(self, id: str, direction: str, qty: float | None = None, limit: float | None = None,
              stop: float | None = None, oca_name: str | None = None, oca_type: str | None = None,
              comment: str | None = None, alert_message: str | None = None,
              disable_alert: bool = False) -> None:
        """``strategy.entry``: reversing, pyramiding-limited entry order."""
        self._place("entry", id, _dir_sign(direction), qty, limit, stop, oca_name, oca_type, comment,
                    alert_message)

    def order(self, id: str, direction: str, qty: float | None = None, limit: float | None = None,
              stop: float | None = None, oca_name: str | None = None, oca_type: str | None = None,
              comment: str | None = None, alert_message: str | None = None,
              disable_alert: bool = False) -> None:
        """``strategy.order``: netting order, ignores pyramiding."""
        self._place("order", id, _dir_sign(direction), qty, limit, stop, oca_name, oca_type, comment,
                    alert_message)

    def exit(self, id: str, from_entry: str | None = None, qty: float | None = None,
             qty_percent: float | None = None, profit: float | None = None, limit: float | None = None,
             loss: float | None = None, stop: float | None = None, trail_price: float | None = None,
             trail_points: float | None = None, trail_offset: float | None = None,
             oca_name: str | None = None, comment: str | None = None, comment_profit: str | None = None,
             comment_loss: str | None = None, comment_trailing: str | None = None,
             alert_message: str | None = None, disable_alert: bool = False) -> None:
        """``strategy.exit``: bracket (limit/stop/trailing) exit attached to ``from_entry`` trades."""
        if self._trading_halted():
            return
        profit = _clean(profit)
        loss = _clean(loss)
        limit = _clean(limit)
        stop = _clean(stop)
        trail_price = _clean(trail_price)
        trail_points = _clean(trail_points)
        trail_offset = _clean(trail_offset)
        has_trail = trail_offset is not None and (trail_price is not None or trail_points is not None)
        if profit is None and loss is None and limit is None and stop is None and not has_trail:
            # TV: an exit without any price level is a no-op (and warns in the editor)
            return
        from_entry = from_entry or None
        key = f"exit:{id}:{from_entry or ''}"
        abs_qty = _clean(qty)
        if qty_percent is None and abs_qty is None:
            qty_percent = 100.0
        prev = self.orders.get(key)
        o = _Order(id=id, kind="exit", side=0, qty=abs_qty, limit=limit, stop=stop, oca_name=oca_name,
                   comment=comment, alert_message=alert_message, bar=self.bar_index, seq=self._next_seq(),
                   from_entry=from_entry, qty_percent=_clean(qty_percent), profit=profit, loss=loss,
                   trail_price=trail_price, trail_points=trail_points, trail_offset=trail_offset,
                   comment_profit=comment_profit, comment_loss=comment_loss,
                   comment_trailing=comment_trailing, qty_left=abs_qty)
        if prev is not None:
            if _same_order(prev, o):
                return
            o.seq = prev.seq  # a modification keeps its place in the queue
            o.was_active = prev.was_active
            if prev.qty == o.qty:
                o.qty_left = prev.qty_left
        self.orders[key] = o
        self._event("modify" if prev else "new", o, 0.0 if abs_qty is None else abs_qty, None)

    def close(self, id: str, comment: str | None = None, qty: float | None = None,
              qty_percent: float | None = None, alert_message: str | None = None,
              immediately: bool = False, disable_alert: bool = False) -> None:
        """``strategy.close``: market exit of every open trade entered by ``id``."""
        if not any(t.entry_id == id for t in self.open):
            return
        o = _Order(id=id, kind="close", side=0, qty=_clean(qty), comment=comment,
                   alert_message=alert_message, bar=self.bar_index, seq=self._next_seq(),
                   qty_percent=_clean(qty_percent), from_entry=id)
        self._submit_close(o, immediately)

    def close_all(self, comment: str | None = None, alert_message: str | None = None,
                  immediately: bool = False, disable_alert: bool = False) -> None:
        """``strategy.close_all``: market exit of the whole position."""
        if not self.open:
            return
        o = _Order(id="Close position order", kind="close", side=0, qty=None, comment=comment,
                   alert_message=alert_message, bar=self.bar_index, seq=self._next_seq(), close_all=True)
        self._submit_close(o, immediately)

    def cancel(self, id: str) -> None:
        """``strategy.cancel``: cancel pending entry/order/exit orders with this id."""
        for key in [k for k, o in self.orders.items() if o.id == id]:
            o = self.orders.pop(key)
            self._event("cancel", o, o.qty or 0.0, None)

    def cancel_all(self) -> None:
        for key in list(self.orders):
            o = self.orders.pop(key)
            self._event("cancel", o, o.qty or 0.0, None)

    # ------------------------------------------------------------------ bar processing
    def process_bar(self, i: int, time_ms: int, open: float, high: float, low: float, close: float,
                    volume: float = 0.0) -> None:
        """Fill pending orders on bar ``i`` along TradingView's intrabar path (before the script runs)."""
        self.bar_index = i
        self.time = int(time_ms)
        self.o, self.h, self.lo, self.c = float(open), float(high), float(low), float(close)
        if math.isnan(self._first_open):
            self._first_open = self.o
        self._new_day_check()
        if high - open < open - low:
            path = [self.o, self.h, self.lo, self.c]
        else:
            path = [self.o, self.lo, self.h, self.c]
        self._path_price = self.o
        self._skip: set[int] = set()
        # market orders: at the open, in creation order (a trade closed here never sees the raw open,
        # only its slipped fill price)
        for o in sorted((o for o in self.orders.values() if o.is_market and o.kind != "exit"),
                        key=lambda o: o.seq):
            if self.orders.get(self._key(o)) is o:
                self._fill(o, None, self.o, market=True)
        self._mark_price(self.o, self.o)
        # stop / limit / exit orders along the path
        cur = self.o
        for target in path[1:]:
            self._run_segment(cur, target)
            cur = target
        self._path_price = self.c
        self._check_margin_call()

    def after_script(self, i: int) -> None:
        """Bookkeeping after the script ran on bar ``i``: on-close fills, risk rules, equity."""
        if self.config.process_orders_on_close:
            for o in sorted((o for o in self.orders.values() if o.is_market and o.kind != "exit"),
                            key=lambda o: o.seq):
                if self.orders.get(self._key(o)) is o:
                    self._fill(o, None, self.c, market=True)
        self._check_risk_at_close()
        self._record_equity()

    def finish(self) -> BacktestResult:
        """Close the books: open trades are reported with the last close, statistics computed."""
        from strategies.pine.runtime.stats import compute_summary

        trades = list(self.closed)
        cum = self.netprofit
        num = len(trades)
        for t in self.open:
            num += 1
            pv = self.pointvalue
            gross = (self.c - t.entry_price) * t.sign * t.qty * pv
            # an open trade is valued as if closed at the last close, exit commission included
            exit_comm = self._commission(t.qty, self.c)
            profit = gross - t.entry_commission - exit_comm
            # percentages are relative to the cost of the entry: its value plus its commission
            value = t.entry_price * t.qty * pv + t.entry_commission
            runup, dd = self._excursions(t)
            trades.append(Trade(
                trade_num=num, direction=LONG if t.sign > 0 else SHORT, entry_id=t.entry_id,
                entry_comment=t.entry_comment, entry_time=t.entry_time, entry_price=t.entry_price,
                entry_bar=t.entry_bar, qty=t.qty, exit_time=self.time, exit_price=self.c,
                exit_bar=self.bar_index, profit=profit, profit_pct=_pct(profit, value), runup=runup,
                runup_pct=_pct(runup, value), drawdown=dd, drawdown_pct=_pct(dd, value),
                cum_profit=cum + profit, commission=t.entry_commission + exit_comm, is_open=True))
            cum += profit
        equity = np.asarray(self._equity, dtype=float)
        peak = np.maximum.accumulate(equity) if len(equity) else equity
        result = BacktestResult(trades=trades, equity=equity, drawdown=peak - equity, events=self.events,
                                times=np.asarray(self._times, dtype=np.int64), config=self.config,
                                symbol=self.symbol)
        result.summary = compute_summary(
            result, closes=np.asarray(self._closes, dtype=float), first_open=self._first_open,
            equity_hi=np.asarray(self._equity_hi, dtype=float),
            equity_lo=np.asarray(self._equity_lo, dtype=float),
            max_contracts=(self.max_contracts_held_all, self.max_contracts_held_long,
                           self.max_contracts_held_short))
        return result

    # ------------------------------------------------------------------ internals: placement
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @staticmethod
    def _key(o: _Order) -> str:
        if o.kind == "exit":
            return f"exit:{o.id}:{o.from_entry or ''}"
        if o.kind == "close":
            return "close:__all__" if o.close_all else f"close:{o.id}"
        return o.id

    def _event(self, kind: str, o: _Order, qty: float, price: float | None, side: int | None = None,
               comment: str | None = None) -> None:
        s = o.side if side is None else side
        self.events.append(OrderEvent(
            bar_index=self.bar_index, time=self.time, kind=kind, id=o.id,
            side="buy" if s > 0 else ("sell" if s < 0 else ""), qty=qty, price=price,
            comment=comment if comment is not None else o.comment, alert_message=o.alert_message))

    def _place(self, kind: str, id: str, side: int, qty: float | None, limit: float | None,
               stop: float | None, oca_name: str | None, oca_type: str | None, comment: str | None,
               alert_message: str | None) -> None:
        if self._trading_halted():
            return
        limit = _clean(limit)
        stop = _clean(stop)
        q = _clean(qty)
        if q is None:
            q = self._default_qty()
        if q is None or q <= 0:
            return
        if kind == "entry" and self.position_size * side > 0 and \
                sum(1 for t in self.open if t.sign == side) >= self.pyramiding:
            # TradingView ignores an entry that would exceed pyramiding at the moment it is placed
            # (a limit entry placed while already in position never fills later once flat)
            return
        limit = self._tick_round(limit, side, is_stop=False)
        stop = self._tick_round(stop, side, is_stop=True)
        o = _Order(id=id, kind=kind, side=side, qty=q, limit=limit, stop=stop, oca_name=oca_name or None,
                   oca_type=_norm_oca(oca_type) if oca_name else None, comment=comment,
                   alert_message=alert_message, bar=self.bar_index, seq=self._next_seq())
        if kind == "entry":
            pos = self.position_size
            if pos * side < 0:
                o.reverse_qty = abs(pos)
        prev = self.orders.get(id)
        if prev is not None and _same_order(prev, o):
            return  # re-placing an unchanged order (typical every-bar calls) is not a modification
        self.orders[id] = o
        self._event("modify" if prev is not None else "new", o, q, limit if limit is not None else stop)

    def _submit_close(self, o: _Order, immediately: bool) -> None:
        if immediately:
            self._fill(o, None, self.c, market=True)
            return
        key = self._key(o)
        prev = self.orders.get(key)
        if prev is not None:
            if _same_order(prev, o) and prev.close_all == o.close_all:
                return
            o.seq = prev.seq
        self.orders[key] = o
        self._event("modify" if prev is not None else "new", o, o.qty or 0.0, None)

    def _default_qty(self, price: float | None = None) -> float | None:
        cfg = self.config
        t = _norm_qty_type(cfg.default_qty_type)
        v = float(cfg.default_qty_value)
        if t == "fixed":
            return v
        price = self.c if price is None else price
        if math.isnan(price) or price <= 0:
            return None
        if t == "percent_of_equity":
            amount = self.equity * v / 100.0
        else:
            amount = v
        unit = price * self.pointvalue
        if t == "percent_of_equity" and _norm_comm(cfg.commission_type) == "percent":
            # TradingView keeps room for the entry commission (slippage_pyramiding export: 884.4)
            unit *= 1.0 + cfg.commission_value / 100.0
        return self._floor_qty(amount / unit)

    def _floor_qty(self, q: float) -> float:
        step = self.symbol.qty_step
        if not step:
            return q
        n = math.floor(q / step + 1e-9)
        return round(n * step, 10)

    # ------------------------------------------------------------------ internals: path
    def _mark_price(self, a: float, b: float) -> None:
        hi, lo = max(a, b), min(a, b)
        for t in self.open:
            if hi > t.hi:
                t.hi = hi
            if lo < t.lo:
                t.lo = lo
        if self._trail:
            for t in self.open:
                for k in [k for k in self._trail if k[1] == t.uid]:
                    st = self._trail[k]
                    o = self.orders.get(k[0])
                    if o is None:
                        continue
                    act = self._trail_activation(o, t)
                    if not st[0]:
                        reached = (hi >= act - _EPS) if t.sign > 0 else (lo <= act + _EPS)
                        if reached:
                            st[0] = 1.0
                            st[1] = hi if t.sign > 0 else lo
                    else:
                        st[1] = max(st[1], hi) if t.sign > 0 else min(st[1], lo)

    def _run_segment(self, start: float, end: float) -> None:
        cur = start
        guard = 0
        while True:
            guard += 1
            if guard > 10_000:
                raise RuntimeError("broker emulator: order loop did not converge")
            cand = self._next_candidate(cur, end)
            if cand is None:
                break
            if cand.trigger != cur:
                self._mark_price(cur, cand.trigger)
                cur = cand.trigger
            self._path_price = cur
            if cand.leg == "stoplimit-trigger":
                cand.order.stop_triggered = True
                continue
            if not self._fill(cand.order, cand.trade, cand.fill_price, market=False, leg=cand.leg):
                self._skip.add(id(cand.order))
        self._mark_price(cur, end)

    def _next_candidate(self, cur: float, end: float) -> _Candidate | None:
        """The order that triggers first on the move cur -> end (ties: the older order)."""
        up = end > cur
        best: tuple[float, int, _Order, _OpenTrade | None, float, str] | None = None
        stop_hit = self._stop_hit
        limit_hit = self._limit_hit
        skip = self._skip
        for o in list(self.orders.values()):
            if o.kind == "close" or (skip and id(o) in skip):
                continue
            hits: list[tuple[float, float, str, _OpenTrade | None]] = []
            if o.kind != "exit":
                if o.limit is None and o.stop is None:
                    continue
                if o.stop is not None and not o.stop_triggered:
                    hit = stop_hit(o.side, o.stop, cur, end, up)
                    if hit is not None:
                        hits.append((hit[0], hit[1], "stoplimit-trigger" if o.limit is not None else "stop",
                                     None))
                else:
                    hit = limit_hit(o.side, o.limit, cur, end, up)
                    if hit is not None:
                        hits.append((hit[0], hit[1], "limit", None))
            else:
                for t in self._exit_trades(o):
                    side = -t.sign
                    lim, stp = self._exit_levels(o, t)
                    if lim is not None:
                        hit = limit_hit(side, lim, cur, end, up)
                        if hit is not None:
                            hits.append((hit[0], hit[1], "limit", t))
                    if stp is not None:
                        hit = stop_hit(side, stp, cur, end, up)
                        if hit is not None:
                            hits.append((hit[0], hit[1], "stop", t))
                    if self._trail:
                        st = self._trail.get((self._key(o), t.uid))
                        if st is not None and st[0]:
                            level = st[1] - t.sign * o.trail_offset * self.mintick
                            hit = stop_hit(side, level, cur, end, up)
                            if hit is not None:
                                hits.append((hit[0], hit[1], "trail", t))
            for dist, trig, leg, trade in hits:
                if best is None or dist < best[0] - _EPS or (abs(dist - best[0]) <= _EPS and o.seq < best[1]):
                    best = (dist, o.seq, o, trade, trig, leg)
        if best is None:
            return None
        dist, seq, order, trade, trig, leg = best
        return _Candidate(dist, seq, order, trade, trig, leg, trig)

    @staticmethod
    def _stop_hit(side: int, level: float, cur: float, end: float, up: bool) -> tuple[float, float] | None:
        if side > 0:
            if cur >= level - _EPS:
                return 0.0, cur
            if up and end >= level - _EPS:
                return level - cur, level
        else:
            if cur <= level + _EPS:
                return 0.0, cur
            if not up and end <= level + _EPS:
                return cur - level, level
        return None

    @staticmethod
    def _limit_hit(side: int, level: float | None, cur: float, end: float, up: bool) -> tuple[float, float] | None:
        if level is None:
            return None
        if side > 0:
            if cur <= level + _EPS:
                return 0.0, cur
            if not up and end <= level + _EPS:
                return cur - level, level
        else:
            if cur >= level - _EPS:
                return 0.0, cur
            if up and end >= level - _EPS:
                return level - cur, level
        return None

    def _exit_trades(self, o: _Order) -> list[_OpenTrade]:
        key = self._key(o)
        out = [t for t in self.open
               if (o.from_entry is None or t.entry_id == o.from_entry) and key not in t.exits_done]
        if out and not o.was_active:
            o.was_active = True
        if o.trail_offset is not None and (o.trail_price is not None or o.trail_points is not None):
            for t in out:
                if (key, t.uid) not in self._trail:
                    self._trail[(key, t.uid)] = [0.0, t.entry_price]
        return out

    def _exit_levels(self, o: _Order, t: _OpenTrade) -> tuple[float | None, float | None]:
        tick = self.mintick
        lim = o.limit
        if o.profit is not None:
            p = t.entry_price + t.sign * o.profit * tick
            lim = p if lim is None else (min(lim, p) if t.sign > 0 else max(lim, p))
        stp = o.stop
        if o.loss is not None:
            s = t.entry_price - t.sign * o.loss * tick
            stp = s if stp is None else (max(stp, s) if t.sign > 0 else min(stp, s))
        side = -t.sign
        return self._tick_round(lim, side, is_stop=False), self._tick_round(stp, side, is_stop=True)

    def _tick_round(self, price: float | None, side: int, is_stop: bool) -> float | None:
        """Snap an order price to the tick grid at the first tick that can trigger it.

        TradingView fills a buy stop at 1.1339334 at 1.13394 and a sell stop at 1.0857252 at 1.08572:
        prices move on the tick grid, so a buy stop / sell limit rounds up and a sell stop / buy limit
        rounds down.
        """
        if price is None or not self.mintick:
            return price
        n = price / self.mintick
        up = (side > 0) == is_stop
        k = math.ceil(n - 1e-7) if up else math.floor(n + 1e-7)
        return round(k * self.mintick, 12)

    def _trail_activation(self, o: _Order, t: _OpenTrade) -> float:
        if o.trail_price is not None:
            return o.trail_price
        return t.entry_price + t.sign * (o.trail_points or 0.0) * self.mintick

    # ------------------------------------------------------------------ internals: fills
    def _slip(self, price: float, side: int) -> float:
        if self.config.slippage:
            return price + side * self.config.slippage * self.mintick
        return price

    def _commission(self, qty: float, price: float) -> float:
        cfg = self.config
        v = float(cfg.commission_value or 0.0)
        if v == 0.0 or qty <= 0:
            return 0.0
        t = _norm_comm(cfg.commission_type)
        if t == "percent":
            return qty * price * self.pointvalue * v / 100.0
        if t == "cash_per_contract":
            return qty * v
        return v

    def _fill(self, o: _Order, trade: _OpenTrade | None, price: float, market: bool, leg: str = "market") -> bool:
        """Execute ``o``; False when the order could not fill now (it stays pending)."""
        if o.kind == "close":
            if self.orders.get(self._key(o)) is o:  # margin calls / risk closes are not queued orders
                del self.orders[self._key(o)]
            targets = list(self.open) if o.close_all else [t for t in self.open if t.entry_id == o.id]
            if not targets:
                return False
            total = sum(t.qty for t in targets)
            q = total
            if o.qty is not None:
                q = min(o.qty, total)
            elif o.qty_percent is not None:
                q = self._floor_qty(total * o.qty_percent / 100.0)
            if q <= _EPS:
                return False
            side = -targets[0].sign
            fill = self._slip(price, side)
            if o.close_all:
                comment = o.comment or "Close position order"
            else:
                comment = o.comment or f"Close entry(s) order {o.id}"
            self._close_qty(self._closing_pool(targets), q, fill, o.id, comment, order_commission=True)
            self._event("fill", o, q, fill, side=side, comment=comment)
            self._after_fill(o, q)
            return True

        if o.kind == "exit":
            assert trade is not None
            side = -trade.sign
            fill = price if leg == "limit" else self._slip(price, side)
            key = self._key(o)
            if o.qty is not None:
                q = min(o.qty_left if o.qty_left is not None else o.qty, trade.qty)
            else:
                q = trade.qty if (o.qty_percent or 0) >= 100 else self._floor_qty(
                    trade.qty * (o.qty_percent or 0) / 100.0)
            if q <= _EPS:
                trade.exits_done.add(key)
                return False
            if leg == "limit":
                comment = o.comment_profit or o.comment
            elif leg == "trail":
                comment = o.comment_trailing or o.comment
            else:
                comment = o.comment_loss or o.comment
            self._trail.pop((key, trade.uid), None)
            self._close_qty(self._closing_pool([trade]), q, fill, o.id, comment, order_commission=True)
            # this entry's exit order has filled (under FIFO it may have closed an older trade)
            trade.exits_done.add(key)
            if o.qty_left is not None:
                o.qty_left -= q
            self._event("fill", o, q, fill, side=side, comment=comment)
            if (o.qty_left is not None and o.qty_left <= _EPS) or not self._exit_trades_any(o):
                self.orders.pop(key, None)  # completely filled
            self._after_fill(o, q)
            return True

        # entry / order
        side = o.side
        pos = self.position_size
        q = o.qty or 0.0
        reverse = o.reverse_qty if o.kind == "entry" else 0.0
        if o.kind == "entry":
            if self._allow_entry_in is not None and side != self._allow_entry_in:
                # entries against the allowed direction only close the opposite position
                if pos * side < 0:
                    self.orders.pop(o.id, None)
                    fill = price if leg == "limit" else self._slip(price, side)
                    self._close_qty(list(self.open), abs(pos), fill, o.id, o.comment,
                                    order_commission=True)
                    self._event("fill", o, abs(pos), fill, comment=o.comment)
                    self._after_fill(o, abs(pos))
                    return True
                self._drop(o, "entry direction not allowed by strategy.risk.allow_entry_in")
                return False
            if pos * side > 0:
                same = sum(1 for t in self.open if t.sign == side)
                if same >= self.pyramiding:
                    # the position grew to the cap after this order was placed: it is cancelled
                    # (an assumption: the exports never show this case)
                    self._drop(o, "pyramiding limit reached")
                    return False
            if self._max_position_size is not None:
                room = self._max_position_size - (abs(pos) if pos * side > 0 else 0.0)
                q = min(q, max(room, 0.0))
                if q + reverse <= _EPS:
                    return False
        self.orders.pop(self._key(o), None)
        fill = price if leg == "limit" else self._slip(price, side)
        # TradingView sizes a reversing entry when it is placed: quantity + the opposite position at
        # that moment. At the fill the order nets against the position it finds: it closes the
        # opposite trades first and opens what is left as one trade (nothing, when the order was
        # placed flat and an opposite position appeared meanwhile; quantity + reverse part, when the
        # position it was meant to reverse has gone).
        total = q + reverse
        closing = min(abs(pos), total) if pos * side < 0 else 0.0
        new_size = abs(pos + side * total)
        if new_size > abs(pos) + _EPS and not self._margin_allows(new_size, side if pos + side * total > 0
                                                                   else -1, fill, total):
            self._drop(o, "insufficient margin")
            return False
        if closing > _EPS:
            self._close_qty(list(self.open), closing, fill, o.id, o.comment, order_commission=False,
                            shared_order=total)
        opening = total - closing
        if opening > _EPS:
            self._open_trade(o, side, opening, fill, share=opening / total)
        self._event("fill", o, total, fill)
        self._after_fill(o, total)
        return True

    def _closing_pool(self, targets: list[_OpenTrade]) -> list[_OpenTrade]:
        """Trades an exit of ``targets`` actually closes, in order.

        ``close_entries_rule="FIFO"`` (TradingView's default): the oldest open trades of the position
        are closed first whatever entry the exit refers to; ``"ANY"``: the targeted trades.
        """
        if str(self.config.close_entries_rule).upper() != "FIFO" or not targets:
            return targets
        sign = targets[0].sign
        return [t for t in self.open if t.sign == sign]

    def _margin_rate(self, sign: int) -> float:
        m = self.config.margin_long if sign > 0 else self.config.margin_short
        return max(float(m or 0.0), 0.0) / 100.0

    def _margin_allows(self, new_size: float, new_sign: int, fill: float, order_qty: float) -> bool:
        """An order that increases exposure fills only if equity covers the margin of the new position."""
        rate = self._margin_rate(new_sign)
        if rate <= 0:
            return True
        equity = self.equity_at(fill) - self._commission(order_qty, fill)
        return new_size * fill * self.pointvalue * rate <= equity + 1e-9

    def _check_margin_call(self) -> None:
        """TradingView's margin call, evaluated once per bar at the worst price for the position.

        Available funds = equity - position value x margin rate; when negative, the loss to cover is
        available funds / margin rate, the cover amount is that loss in contracts at the current price
        (floored to the quantity step, at least one step), and the emulator liquidates 4x the cover
        amount (capped at the position) at that price, signal "Margin call".
        """
        if not self.open:
            return
        pos = self.position_size
        sign = 1 if pos > 0 else -1
        rate = self._margin_rate(sign)
        if rate <= 0:
            return
        price = self.lo if sign > 0 else self.h
        unit = price * self.pointvalue
        if unit <= 0:
            return
        available = self.equity_at(price) - abs(pos) * unit * rate
        if available >= 0:
            return
        loss = -available / rate
        cover = self._floor_qty(loss / unit)
        if cover <= _EPS:
            cover = self.symbol.qty_step or 1.0
        qty = min(cover * 4.0, abs(pos))
        o = _Order(id="Margin call", kind="close", side=-sign, qty=qty, comment="Margin call",
                   bar=self.bar_index, seq=self._next_seq(), close_all=True)
        self.margin_calls += 1
        self._fill(o, None, price, market=True)

    def _drop(self, o: _Order, reason: str) -> None:
        if self.orders.get(self._key(o)) is o:
            del self.orders[self._key(o)]
        self._event("cancel", o, o.qty or 0.0, None, comment=reason)

    def _exit_trades_any(self, o: _Order) -> bool:
        key = self._key(o)
        return any((o.from_entry is None or t.entry_id == o.from_entry) and key not in t.exits_done
                   for t in self.open)

    def _after_fill(self, o: _Order, q: float) -> None:
        self._day_fills += 1
        if o.oca_name and o.kind in ("entry", "order"):
            for key, other in list(self.orders.items()):
                if other is o or other.oca_name != o.oca_name or other.kind not in ("entry", "order"):
                    continue
                if o.oca_type == "cancel":
                    self.orders.pop(key)
                    self._event("cancel", other, other.qty or 0.0, None)
                elif o.oca_type == "reduce":
                    other.qty = (other.qty or 0.0) - q
                    if other.qty <= _EPS:
                        self.orders.pop(key)
                        self._event("cancel", other, 0.0, None)
        # exits that were attached to trades which are all closed now die with them (a later entry
        # with the same id needs a new strategy.exit call)
        for key in [k for k, x in self.orders.items()
                    if x.kind == "exit" and x.was_active and not self._exit_trades_any(x)]:
            gone = self.orders.pop(key)
            self._event("cancel", gone, gone.qty or 0.0, None, comment="no open trade left to exit")
        if not self.open:
            for key in [k for k, x in self.orders.items() if x.kind == "close"]:
                gone = self.orders.pop(key)
                self._event("cancel", gone, gone.qty or 0.0, None, comment="position already closed")
            self._trail.clear()
        pos = self.position_size
        self.max_contracts_held_all = max(self.max_contracts_held_all, abs(pos))
        if pos > 0:
            self.max_contracts_held_long = max(self.max_contracts_held_long, pos)
        elif pos < 0:
            self.max_contracts_held_short = max(self.max_contracts_held_short, -pos)

    def _open_trade(self, o: _Order, side: int, q: float, fill: float, share: float) -> None:
        if q <= _EPS:
            return
        cfg = self.config
        if _norm_comm(cfg.commission_type) == "cash_per_order":
            comm = self._commission(q, fill) * share
        else:
            comm = self._commission(q, fill)
        self.commission_paid += comm
        self._uid += 1
        self.open.append(_OpenTrade(
            uid=self._uid, entry_id=o.id, entry_comment=o.comment, sign=side, qty=q, entry_price=fill,
            entry_bar=self.bar_index, entry_time=self.time, entry_commission=comm, hi=fill, lo=fill))
        self._pos = sum(x.sign * x.qty for x in self.open)

    def _close_qty(self, targets: list[_OpenTrade], q: float, fill: float, exit_id: str,
                   comment: str | None, order_commission: bool,
                   shared_order: float | None = None) -> list[_OpenTrade]:
        """Close ``q`` contracts out of ``targets`` (FIFO); returns the trades left partially open."""
        remaining_partial: list[_OpenTrade] = []
        order_total = shared_order if shared_order is not None else q
        cash_per_order = _norm_comm(self.config.commission_type) == "cash_per_order"
        left = q
        for t in list(targets):
            if left <= _EPS:
                break
            take = min(t.qty, left)
            left -= take
            t.hi = max(t.hi, fill)
            t.lo = min(t.lo, fill)
            if cash_per_order:
                exit_comm = self._commission(take, fill) * (take / order_total if order_total else 1.0)
            else:
                exit_comm = self._commission(take, fill)
            self.commission_paid += exit_comm
            frac = take / t.qty
            entry_comm = t.entry_commission * frac
            pv = self.pointvalue
            gross = (fill - t.entry_price) * t.sign * take * pv
            profit = gross - entry_comm - exit_comm
            value = t.entry_price * take * pv + entry_comm  # cost of the entry, as TradingView
            runup, dd = self._excursions(t, take)
            self.netprofit += profit
            if profit > 0:
                self.grossprofit += profit
            elif profit < 0:
                self.grossloss += -profit
            self.closed.append(Trade(
                trade_num=len(self.closed) + 1, direction=LONG if t.sign > 0 else SHORT,
                entry_id=t.entry_id, entry_comment=t.entry_comment, entry_time=t.entry_time,
                entry_price=t.entry_price, entry_bar=t.entry_bar, qty=take, exit_id=exit_id,
                exit_comment=comment, exit_time=self.time, exit_price=fill, exit_bar=self.bar_index,
                profit=profit, profit_pct=_pct(profit, value), runup=runup, runup_pct=_pct(runup, value),
                drawdown=dd, drawdown_pct=_pct(dd, value), cum_profit=math.nan,
                commission=entry_comm + exit_comm, is_open=False))
            if take >= t.qty - _EPS:
                self.open.remove(t)
                self._pos = sum(x.sign * x.qty for x in self.open)
                for k in [k for k in self._trail if k[1] == t.uid]:
                    del self._trail[k]
            else:
                t.qty -= take
                self._pos = sum(x.sign * x.qty for x in self.open)
                t.entry_commission -= entry_comm
                remaining_partial.append(t)
            # TradingView's cumulative P&L counts commission as soon as it is paid, so the entry
            # commission of trades still open at that moment is already in it
            self.closed[-1].cum_profit = self.netprofit - sum(x.entry_commission for x in self.open)
        return remaining_partial

    def _excursions(self, t: _OpenTrade, qty: float | None = None) -> tuple[float, float]:
        """Max run-up / drawdown of a trade: best/worst price excursion minus the entry commission
        (TradingView's figures are net of the commission already paid; run-up floors at 0)."""
        q = t.qty if qty is None else qty
        pv = self.pointvalue
        comm = t.entry_commission * (q / t.qty if t.qty else 1.0)
        if t.sign > 0:
            runup = (t.hi - t.entry_price) * q * pv
            dd = (t.lo - t.entry_price) * q * pv
        else:
            runup = (t.entry_price - t.lo) * q * pv
            dd = (t.entry_price - t.hi) * q * pv
        return max(runup - comm, 0.0), min(dd - comm, 0.0)

    def _open_profit_at(self, price: float) -> float:
        if not self.open or math.isnan(price):
            return 0.0
        pv = self.pointvalue
        return sum((price - t.entry_price) * t.sign * t.qty * pv - t.entry_commission for t in self.open)

    # ------------------------------------------------------------------ internals: equity & risk
    def _record_equity(self) -> None:
        base = self.initial_capital + self.netprofit
        eq = base + self._open_profit_at(self.c)
        if self.open:
            e_h = base + self._open_profit_at(self.h)
            e_l = base + self._open_profit_at(self.lo)
            hi, lo = max(e_h, e_l, eq), min(e_h, e_l, eq)
        else:
            hi = lo = eq
        self._equity.append(eq)
        self._equity_hi.append(hi)
        self._equity_lo.append(lo)
        self._times.append(self.time)
        self._closes.append(self.c)
        if self._peak_equity - lo > self.max_drawdown:
            self.max_drawdown = self._peak_equity - lo
            self._max_drawdown_pct = _pct(self.max_drawdown, self._peak_equity)
        if hi > self._peak_equity:
            self._peak_equity = hi
        if hi - self._trough_equity > self.max_runup:
            self.max_runup = hi - self._trough_equity
            self._max_runup_pct = _pct(self.max_runup, self._trough_equity)
        if lo < self._trough_equity:
            self._trough_equity = lo

    def _trading_day(self) -> int:
        local = datetime.fromtimestamp(self.time / 1000.0, tz=UTC).astimezone(self._tz)
        minutes = local.hour * 60 + local.minute - self._session_offset_min
        day = local.toordinal()
        if self._session_offset_min >= 12 * 60:
            # the trading day starting in the evening is named after the next calendar day
            return day + 1 if minutes >= 0 else day
        return day if minutes >= 0 else day - 1

    def _new_day_check(self) -> None:
        if self._max_intraday_loss is None and self._max_intraday_filled is None and \
                self._max_cons_loss_days is None:
            return
        day = self._trading_day()
        if day != self._day_key:
            if self._day_key is not None and self._max_cons_loss_days is not None:
                day_pnl = self.equity_at(self.o) - self._day_start_equity
                self._loss_days = self._loss_days + 1 if day_pnl < 0 else 0
                if self._loss_days >= self._max_cons_loss_days:
                    self._halted_forever = True
            self._day_key = day
            self._day_start_equity = self.equity_at(self.o) if self.bar_index > 0 else self.initial_capital
            self._day_fills = 0

    def equity_at(self, price: float) -> float:
        return self.initial_capital + self.netprofit + self._open_profit_at(price)

    def _trading_halted(self) -> bool:
        if self._halted_forever:
            return True
        return self._halted_day is not None and self._halted_day == self._day_key

    def _halt(self, reason: str, forever: bool = False) -> None:
        for key in list(self.orders):
            o = self.orders.pop(key)
            self._event("cancel", o, o.qty or 0.0, None)
        if self.open:
            o = _Order(id=reason, kind="close", side=0, qty=None, comment=reason, bar=self.bar_index,
                       seq=self._next_seq(), close_all=True)
            self._fill(o, None, self.c, market=True)
        if forever:
            self._halted_forever = True
        else:
            self._halted_day = self._day_key

    def _check_risk_at_close(self) -> None:
        if self._trading_halted():
            return
        if self._max_intraday_loss is not None:
            value, kind = self._max_intraday_loss
            loss = self._day_start_equity - self.equity
            limit = value if kind == "cash" else self._day_start_equity * value / 100.0
            if loss >= limit > 0:
                self._halt("Close Position (Max intraday loss)")
                return
        if self._max_intraday_filled is not None and self._day_fills >= self._max_intraday_filled:
            self._halt("Close Position (Max number of filled orders in one day)")
            return
        if self._max_drawdown_rule is not None:
            value, kind = self._max_drawdown_rule
            peak = max(self._equity) if self._equity else self.initial_capital
            peak = max(peak, self.initial_capital)
            dd = peak - self.equity
            limit = value if kind == "cash" else peak * value / 100.0
            if dd >= limit > 0:
                self._halt("Close Position (Max drawdown)", forever=True)


_ORDER_FIELDS = ("kind", "side", "qty", "limit", "stop", "oca_name", "oca_type", "comment", "alert_message",
                 "from_entry", "qty_percent", "profit", "loss", "trail_price", "trail_points",
                 "trail_offset", "comment_profit", "comment_loss", "comment_trailing", "reverse_qty")


_order_signature = attrgetter(*_ORDER_FIELDS)


def _same_order(a: _Order, b: _Order) -> bool:
    return _order_signature(a) == _order_signature(b)


def _clean(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _pct(v: float, base: float) -> float:
    return v / base * 100.0 if base else 0.0


def _norm_qty_type(t: str) -> str:
    t = str(t).lower().replace("strategy.", "")
    if t in ("percent_of_equity", "percent"):
        return "percent_of_equity"
    if t == "cash":
        return "cash"
    return "fixed"


def _norm_comm(t: str) -> str:
    t = str(t).lower().replace("strategy.commission.", "")
    return t if t in ("percent", "cash_per_contract", "cash_per_order") else "percent"


def _norm_oca(t: str | None) -> str:
    t = str(t or "none").lower().replace("strategy.oca.", "")
    return t if t in ("cancel", "reduce", "none") else "none"
