"""The strategy side of a native deployment, free of Django: the compiled Pine ``Runner`` plus the
bookkeeping that turns the emulator's order events into broker commands.

Which emulator events become broker orders (mirrors TradingView's strategy alerts, which fire on fills):

* A market order the script places on a bar's close fills in the emulator at the NEXT bar's open. Live, that
  open is "now", right after the close, so the fill is predicted at once: a copy of the emulator fills the
  pending market orders at the last close, and those fills are sent as market orders immediately (instead of
  one bar late). When the next bar arrives, the emulator's real fills of those orders are matched to the
  predictions and not sent again.
* Every other fill (stop/limit/exit orders along a bar's price path, ``process_orders_on_close`` fills,
  margin-call liquidations) is only known once the bar closed: it is sent as a market order at that close.
* "new"/"modify"/"cancel" events of resting orders are recorded, not sent: the broker only ever holds the
  position the strategy holds, never the strategy's pending stop/limit orders.
* ``alert()`` calls are notifications to the user, not orders.

Position bookkeeping: ``strategy_position`` follows the emulator; ``traded_position`` is what this deployment
actually asked the broker to hold. A position the script already held at the end of the warm-up (history) was
never traded, so the fills that close it are not sent (FIFO: inherited contracts are closed first).
"""

from __future__ import annotations

import math
import pickle
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import Bars, Runner
from strategies.pine.runtime.timeutil import parse_timeframe

EPS = 1e-9
_COMPRESSED = b"zlib:"  # a plain snapshot is a pickle, which starts with b"\x80"


def to_decimal(value: float) -> Decimal:
    """Floats from the emulator as Decimals without binary noise (12 significant decimals)."""
    return Decimal(repr(round(float(value), 12))).normalize() + Decimal(0)


@dataclass(frozen=True, slots=True)
class BrokerCommand:
    """One order for the execution core: buy/sell to open or add, exit to reduce or close."""

    action: str  # buy | sell | exit
    quantity: Decimal | None  # None on exit: close the deployment's whole position
    reference_price: Decimal
    event_index: int  # position of the emulator event within the bar, for the idempotency key
    order_id: str
    comment: str | None
    alert_message: str | None
    predicted: bool  # sent at the close for a fill the emulator books at the next open
    position_before: Decimal  # traded position (signed) before / after this command
    position_after: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "quantity": None if self.quantity is None else str(self.quantity),
            "reference_price": str(self.reference_price),
            "event_index": self.event_index,
            "order_id": self.order_id,
            "comment": self.comment,
            "alert_message": self.alert_message,
            "predicted": self.predicted,
            "position_before": str(self.position_before),
            "position_after": str(self.position_after),
        }


@dataclass
class BarOutcome:
    time_ms: int
    commands: list[BrokerCommand] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # raw order events of the emulator (JSON-able)
    alerts: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # anomalies worth a log line


@dataclass
class Book:
    """Bookkeeping persisted with the runner state."""

    strategy_position: float = 0.0
    traded_position: float = 0.0
    pending: list[dict] = field(default_factory=list)  # predicted open fills: {"id", "side", "qty"}


class DeploymentRunner:
    """A ``Runner`` for one deployment, with the fill -> command conversion."""

    # a new base snapshot once the delta would hold this many bars or closed trades more than the base
    REBASE_BARS = 128
    REBASE_TRADES = 64

    def __init__(self, runner: Runner, book: Book, base: tuple[int, int] | None = None) -> None:
        self.runner = runner
        self.book = book
        self.tf_ms = parse_timeframe(runner.timeframe).nominal_ms
        self.base = base  # (bars, closed trades) in the persisted base snapshot; None: there is none

    # -------------------------------------------------------------------------- creation / state
    @classmethod
    def start(cls, compiled: Any, symbol: SymbolInfo, timeframe: str, inputs: dict | None, history: Bars,
              initial_capital: float | None = None) -> DeploymentRunner:
        runner = Runner(compiled, symbol, timeframe, inputs, initial_capital=initial_capital, keep_plots=False)
        runner.warmup(history)
        book = Book(strategy_position=float(runner.emu.position_size), traded_position=0.0)
        deployment_runner = cls(runner, book)
        deployment_runner.trim()
        # market orders placed on the last history bar fill at the next open: they belong to history
        # (they were never sent) and must not be mistaken for new fills on the first live bar
        for fill in deployment_runner._predict_open_fills():
            book.pending.append({"id": fill["id"], "side": fill["side"], "qty": fill["qty"], "inherited": True})
            book.strategy_position += _signed(fill["side"], fill["qty"])
        return deployment_runner

    @classmethod
    def from_state(cls, compiled: Any, symbol: SymbolInfo, timeframe: str, inputs: dict | None, state: bytes,
                   book: dict, initial_capital: float | None = None, base: bytes | None = None) -> DeploymentRunner:
        """From ``get_state`` (whole, or a delta with the ``take_base`` snapshot it was taken against)."""
        state = _decompress(state)
        base = None if base is None else _decompress(base)
        runner = Runner.from_state(compiled, symbol, timeframe, inputs, state, initial_capital=initial_capital,
                                   keep_plots=False, base=base)
        return cls(runner, Book(**book), base=runner.restored_since)

    def get_state(self) -> bytes:
        """The whole runner snapshot, zlib-compressed (fast level): 4-5x fewer bytes cost less to send and to
        store than PostgreSQL's own compression of the plain pickle (and less WAL). ``from_state`` still reads
        plain snapshots written before."""
        return _COMPRESSED + zlib.compress(self.runner.get_state(), 1)

    def get_delta(self) -> tuple[bytes, bytes | None]:
        """What a live deployment writes after every bar: the state without the bars and closed trades of the
        base snapshot (a few KB, however long the history), and a new base snapshot when the delta has grown
        past ``REBASE_BARS``/``REBASE_TRADES`` (None otherwise: the persisted base still holds). Rewriting the
        whole history with every bar cost ~10 ms of CPU and ~190 KB per bar after a 5,000-bar warm-up."""
        runner = self.runner
        base = None
        if self.base is None or len(runner.data.t) - self.base[0] > self.REBASE_BARS or \
                len(runner.emu.closed) - self.base[1] > self.REBASE_TRADES:
            self.base, raw = runner.get_base()
            base = _COMPRESSED + zlib.compress(raw, 1)
        return _COMPRESSED + zlib.compress(runner.get_state(since=self.base), 1), base

    def book_json(self) -> dict:
        return {"strategy_position": self.book.strategy_position, "traded_position": self.book.traded_position,
                "pending": list(self.book.pending)}

    @property
    def last_time_ms(self) -> int | None:
        t = self.runner.data.t
        return int(t[-1]) if t else None

    # -------------------------------------------------------------------------- stepping
    def step(self, bar: tuple) -> BarOutcome:
        """Advance by one closed bar ``(time_ms, open, high, low, close, volume)``."""
        time_ms = int(bar[0])
        close = float(bar[4])
        out = BarOutcome(time_ms=time_ms)
        produced = self.runner.step(bar)
        index = 0
        for event in produced:
            if event["type"] == "alert":
                out.alerts.append({k: _plain(v) for k, v in event.items()})
                continue
            out.events.append({k: _plain(v) for k, v in event.items()})
            if event["kind"] != "fill":
                continue
            index += 1
            if self.book.pending and self._matches(self.book.pending[0], event):
                predicted = self.book.pending.pop(0)
                self.book.strategy_position += _signed(event["side"], event["qty"]) - \
                    _signed(predicted["side"], predicted["qty"])
                if not predicted.get("inherited") and abs(float(predicted["qty"]) - float(event["qty"])) > EPS:
                    out.notes.append(
                        f"order {event['id']} filled {event['qty']} at the open; {predicted['qty']} was sent at the "
                        "close (the size depends on the fill price)")
                continue
            if self.book.pending:
                out.notes.append(f"predicted fill of order {self.book.pending[0]['id']} did not happen; "
                                 f"got {event['side']} {event['qty']} of {event['id']}")
                self.book.pending.clear()
            self._apply_fill(event, close, index, out)
        if self.book.pending:
            out.notes.append(f"{len(self.book.pending)} predicted fill(s) did not happen at the open")
            self.book.pending.clear()
        self.book.strategy_position = float(self.runner.emu.position_size)
        for offset, fill in enumerate(self._predict_open_fills(), start=1):
            self._apply_fill(fill, close, 1000 + offset, out, predicted=True)
            self.book.pending.append({"id": fill["id"], "side": fill["side"], "qty": fill["qty"]})
        self.trim()
        return out

    def trim(self) -> None:
        """Drop what only a backtest report reads, so the persisted state stops growing with every bar: the
        order events and alerts already returned by ``step``, the script's log lines, and the per-bar equity
        lists (the drawdown/run-up figures the script can read are kept incrementally by the emulator; the
        trades keep their own high/low). Lists are emptied in place: the runtime's closures hold them. The
        runner keeps no ``plot()`` values (``keep_plots=False``); a state saved before that may still have some.

        Still growing, and only trimmable inside the runtime: the bar arrays (``bar_index`` is their length)
        and the closed trades (``strategy.closedtrades.*(n)``)."""
        runner = self.runner
        emu = runner.emu
        del emu.events[:]
        for series in (emu._equity, emu._equity_hi, emu._equity_lo, emu._times, emu._closes):
            del series[:-1]  # the last value: a report (Runner.result) still has a final equity and close
        outputs = runner.script.outputs
        del outputs.alerts[:]
        del outputs.logs[:]
        for values in outputs.plots.values():
            del values[:]
        runner._seen[:] = [0, 0]  # what Runner.step has returned so far: indexes into the lists emptied above

    @staticmethod
    def _matches(predicted: dict, event: dict) -> bool:
        return predicted["id"] == event["id"] and predicted["side"] == event["side"]

    def _apply_fill(self, fill: dict, close: float, index: int, out: BarOutcome, *, predicted: bool = False) -> None:
        """Book one fill: split it into the part that reduces the position and the part that opens/adds."""
        side = 1 if fill["side"] == "buy" else -1
        qty = float(fill["qty"])
        before_e = self.book.strategy_position
        self.book.strategy_position = before_e + side * qty
        traded = self.book.traded_position
        reducing = min(qty, abs(before_e)) if before_e * side < 0 else 0.0
        opening = qty - reducing
        price = to_decimal(close)
        if reducing > EPS and abs(traded) > EPS and traded * before_e > 0:
            # FIFO: contracts inherited from history (|E| - |P| of them) are closed first
            keep = min(abs(traded), abs(before_e) - reducing)
            close_qty = abs(traded) - keep
            if close_qty > EPS:
                after = math.copysign(keep, traded) if keep > EPS else 0.0
                out.commands.append(BrokerCommand(
                    action="exit", quantity=None if after == 0.0 else to_decimal(close_qty),
                    reference_price=price, event_index=index * 2, order_id=fill["id"], comment=fill.get("comment"),
                    alert_message=fill.get("alert_message"), predicted=predicted,
                    position_before=to_decimal(traded), position_after=to_decimal(after)))
                traded = after
        if opening > EPS:
            after = traded + side * opening
            out.commands.append(BrokerCommand(
                action="buy" if side > 0 else "sell", quantity=to_decimal(opening), reference_price=price,
                event_index=index * 2 + 1, order_id=fill["id"], comment=fill.get("comment"),
                alert_message=fill.get("alert_message"), predicted=predicted,
                position_before=to_decimal(traded), position_after=to_decimal(after)))
            traded = after
        self.book.traded_position = traded

    def _predict_open_fills(self) -> list[dict]:
        """Fills of the pending market orders at the next bar's open, priced at the last close."""
        emu = self.runner.emu
        if emu.config.process_orders_on_close:
            return []
        if not any(o.is_market and o.kind != "exit" for o in emu.orders.values()):
            return []
        market_ids = {o.id for o in emu.orders.values() if o.is_market and o.kind != "exit"}
        # a pickle round trip is a deep copy several times faster than copy.deepcopy for the emulator. The closed
        # trades (thousands after a long warm-up: most of the emulator's bytes) are left out of the copy: closed
        # trades are never changed again, so the shadow gets a new list of the same records to append its own to
        closed = emu.closed
        emu.closed = []
        try:
            shadow = pickle.loads(pickle.dumps(emu, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own object
        finally:
            emu.closed = closed
        shadow.closed = list(closed)
        before = len(shadow.events)
        data = self.runner.data
        close = float(data.c[-1])
        shadow.process_bar(len(data), int(data.t[-1]) + self.tf_ms, close, close, close, close, 0.0)
        fills = []
        for e in shadow.events[before:]:
            if e.kind == "fill" and e.id in market_ids:
                fills.append({"id": e.id, "side": e.side, "qty": e.qty, "price": e.price, "comment": e.comment,
                              "alert_message": e.alert_message, "kind": "fill"})
            elif e.kind == "fill":
                break  # only the opening market fills are certain; the rest depends on the real bar
        return fills


def _decompress(state: bytes) -> bytes:
    return zlib.decompress(state[len(_COMPRESSED):]) if state.startswith(_COMPRESSED) else state


def _signed(side: str, qty: Any) -> float:
    return float(qty) if side == "buy" else -float(qty)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
