"""Simulated terminal: behaves like a broker for tests and demos.

The broker's side (balances, orders, positions, prices) lives in a *store* that plays the broker server:
in memory for a single agent, or a directory of per-account JSON files shared by several agent processes,
so a terminal restarted on another node sees the same orders — exactly what happens with a real broker,
where the terminal is only a client. Credentials are never written to the store.

Behaviour mirrors MetaTrader 5 trade server answers, and native return codes are reported the MT5 way
(`broker_code` = the numeric TRADE_RETCODE_*, `broker_message` = its name):
market orders fill at the ask (buy) / bid (sell); limit and stop orders rest until the price crosses;
bad volume, bad price, unknown symbol, closed market and insufficient margin are rejected; the terminal
can be disconnected and reconnected on command.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from bridges.protocol.errors import AgentError

from .base import TerminalBackend, decimal_to_wire, same_order_request, utc_now_iso

RETCODES = {
    10008: "TRADE_RETCODE_PLACED",
    10009: "TRADE_RETCODE_DONE",
    10013: "TRADE_RETCODE_INVALID",
    10014: "TRADE_RETCODE_INVALID_VOLUME",
    10015: "TRADE_RETCODE_INVALID_PRICE",
    10017: "TRADE_RETCODE_TRADE_DISABLED",
    10018: "TRADE_RETCODE_MARKET_CLOSED",
    10019: "TRADE_RETCODE_NO_MONEY",
    10031: "TRADE_RETCODE_CONNECTION",
}
REJECT_REASON_RETCODE = {
    "unknown_symbol": 10013,
    "invalid_volume": 10014,
    "invalid_price": 10015,
    "trading_disabled": 10017,
    "market_closed": 10018,
    "insufficient_margin": 10019,
}

SIM_SYMBOLS: dict[str, dict[str, Any]] = {
    "EURUSD": {"description": "Euro vs US Dollar", "base": "EUR", "quote": "USD", "contract": "100000",
               "min": "0.01", "max": "100", "step": "0.01", "tick": "0.00001", "digits": 5,
               "bid": "1.08500", "ask": "1.08510"},
    "GBPUSD": {"description": "Pound Sterling vs US Dollar", "base": "GBP", "quote": "USD",
               "contract": "100000", "min": "0.01", "max": "100", "step": "0.01", "tick": "0.00001",
               "digits": 5, "bid": "1.26400", "ask": "1.26415"},
    "XAUUSD": {"description": "Gold vs US Dollar", "base": "XAU", "quote": "USD", "contract": "100",
               "min": "0.01", "max": "50", "step": "0.01", "tick": "0.01", "digits": 2,
               "bid": "2350.10", "ask": "2350.40"},
    "US500": {"description": "S&P 500 index CFD", "base": "US500", "quote": "USD", "contract": "1",
              "min": "0.1", "max": "500", "step": "0.1", "tick": "0.1", "digits": 1,
              "bid": "5200.0", "ask": "5200.5"},
}

FINAL_STATUSES = {"filled", "cancelled", "rejected", "expired"}


def _new_book(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "currency": str(options.get("currency", "USD")),
        "balance": str(Decimal(str(options.get("initial_balance", "10000")))),
        "leverage": int(options.get("leverage", 100)),
        "next_ticket": 100001,
        "market_open": True,
        "prices": {name: {"bid": spec["bid"], "ask": spec["ask"]} for name, spec in SIM_SYMBOLS.items()},
        "orders": {},
        "positions": {},
    }


class InMemoryBrokerStore:
    """Broker server state for one agent process."""

    def __init__(self) -> None:
        self._books: dict[str, dict[str, Any]] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def transaction(self, account_key: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
        with self._guard:
            lock = self._locks.setdefault(account_key, threading.RLock())
        with lock:
            book = self._books.setdefault(account_key, _new_book(options))
            yield book

    def check_password(self, login: str, password: str) -> bool:
        return bool(password)


class _FileLock:
    """Cross-process exclusive lock on a file (fcntl on POSIX, msvcrt on Windows)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock, open(self._path, "a+b") as handle:
            if os.name == "nt":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
                try:
                    yield
                finally:
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class FileBrokerStore:
    """Broker server state shared by every agent process pointed at the same directory.

    An optional `accounts.json` ({login: sha256(password) hex}) provisioned by the operator makes the
    simulated server check passwords; without it any non-empty password is accepted.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, _FileLock] = {}
        self._guard = threading.Lock()

    def _paths(self, account_key: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(account_key.encode()).hexdigest()[:32]
        return self._directory / f"book-{digest}.json", self._directory / f"book-{digest}.lock"

    @contextlib.contextmanager
    def transaction(self, account_key: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
        book_path, lock_path = self._paths(account_key)
        with self._guard:
            lock = self._locks.setdefault(account_key, _FileLock(lock_path))
        with lock.hold():
            book = json.loads(book_path.read_text()) if book_path.exists() else _new_book(options)
            before = json.dumps(book, sort_keys=True)
            yield book
            after = json.dumps(book, sort_keys=True)
            if after != before:
                temporary = book_path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
                temporary.write_text(after)
                os.replace(temporary, book_path)

    def check_password(self, login: str, password: str) -> bool:
        registry = self._directory / "accounts.json"
        if not registry.exists():
            return bool(password)
        expected = json.loads(registry.read_text()).get(login)
        return expected is not None and expected == hashlib.sha256(password.encode()).hexdigest()


_default_store = InMemoryBrokerStore()
_configured_store: InMemoryBrokerStore | FileBrokerStore | None = None


def configure_store(directory: str | Path | None) -> None:
    """Point the simulated broker server at a shared directory (None: in-memory, per process)."""
    global _configured_store
    _configured_store = FileBrokerStore(Path(directory)) if directory else None


def _store() -> InMemoryBrokerStore | FileBrokerStore:
    return _configured_store or _default_store


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


class SimulatedTerminal(TerminalBackend):
    name = "sim"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._connected = False
        self._crash_after_next_submit = False
        self._account_key = ""

    # -- session ---------------------------------------------------------------------------------------
    def connect(self) -> None:
        login = self._credentials.get("login", "")
        server = self._credentials.get("server", "SimBroker-Demo")
        if not _store().check_password(login, self._credentials.get("password", "")):
            raise AgentError(
                "broker_authentication_failed",
                f"simulated server {server!r} refused login {login!r}",
                broker_code="10004",
            )
        self._account_key = f"{server}:{login}"
        self._connected = True

    def close(self) -> None:
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    def _require_connection(self) -> None:
        if not self._connected:
            raise AgentError(
                "terminal_disconnected",
                "terminal has no connection to the trade server",
                broker_code="10031",
                details={"broker_message": RETCODES[10031]},
            )

    @contextlib.contextmanager
    def _book(self) -> Iterator[dict[str, Any]]:
        with _store().transaction(self._account_key, self.options) as book:
            yield book

    # -- orders ----------------------------------------------------------------------------------------
    def place_order(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        self._require_connection()
        client_order_id = request["client_order_id"]
        with self._book() as book:
            existing = book["orders"].get(client_order_id)
            if existing is not None:
                if not same_order_request(existing, request):
                    raise AgentError(
                        "order_conflict",
                        f"client order id {client_order_id!r} already names a different order",
                        details={"existing": existing},
                    )
                return copy.deepcopy(existing), False
            order = self._new_order(book, request)
            book["orders"][client_order_id] = order
            if order["status"] != "rejected":
                self._execute(book, order)
            events = copy.deepcopy(self._order_events(order))
        for event in events:
            self.emit(event)
        if self._crash_after_next_submit:
            # The order reached the broker but the node dies before answering: the case 4pass must
            # reconcile by client order id after failover.
            os._exit(17)
        return copy.deepcopy(order), True

    def _new_order(self, book: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        now = utc_now_iso()
        order: dict[str, Any] = {
            "client_order_id": request["client_order_id"],
            "broker_order_id": None,
            "symbol": request["symbol"],
            "side": request["side"],
            "order_type": request["order_type"],
            "quantity": request["quantity"],
            "limit_price": request.get("limit_price"),
            "stop_price": request.get("stop_price"),
            "time_in_force": request.get("time_in_force", "gtc"),
            "status": "open",
            "filled_quantity": "0",
            "average_fill_price": None,
            "fills": [],
            "reject_reason": None,
            "broker_code": None,
            "broker_message": None,
            "created_at": now,
            "updated_at": now,
        }
        reason, detail = self._validate(book, order)
        if reason is not None:
            retcode = REJECT_REASON_RETCODE[reason]
            order.update(status="rejected", reject_reason=reason, broker_code=str(retcode))
            order["broker_message"] = f"{RETCODES[retcode]}: {detail}"
            return order
        order["broker_order_id"] = str(book["next_ticket"])
        book["next_ticket"] += 1
        return order

    def _validate(self, book: dict[str, Any], order: dict[str, Any]) -> tuple[str | None, str]:
        spec = SIM_SYMBOLS.get(order["symbol"])
        if spec is None:
            return "unknown_symbol", f"symbol {order['symbol']} is not offered"
        if not book["market_open"]:
            return "market_closed", "market is closed"
        quantity = _dec(order["quantity"])
        minimum, maximum, step = _dec(spec["min"]), _dec(spec["max"]), _dec(spec["step"])
        if quantity < minimum or quantity > maximum or quantity % step != 0:
            return "invalid_volume", f"volume {quantity} outside [{minimum}, {maximum}] or not a multiple of {step}"
        tick = _dec(spec["tick"])
        for field in ("limit_price", "stop_price"):
            if order[field] is not None and _dec(order[field]) % tick != 0:
                return "invalid_price", f"{field} {order[field]} is not a multiple of tick {tick}"
        if self._margin_increase(book, order) > self._free_margin(book):
            return "insufficient_margin", "not enough free margin"
        return None, ""

    def _reference_price(self, book: dict[str, Any], order: dict[str, Any]) -> Decimal:
        prices = book["prices"][order["symbol"]]
        if order["order_type"] in ("limit", "stop_limit") and order["limit_price"] is not None:
            return _dec(order["limit_price"])
        if order["order_type"] == "stop" and order["stop_price"] is not None:
            return _dec(order["stop_price"])
        return _dec(prices["ask"] if order["side"] == "buy" else prices["bid"])

    def _margin_increase(self, book: dict[str, Any], order: dict[str, Any]) -> Decimal:
        spec = SIM_SYMBOLS[order["symbol"]]
        signed = _dec(order["quantity"]) * (1 if order["side"] == "buy" else -1)
        current = _dec(book["positions"].get(order["symbol"], {}).get("quantity", "0"))
        added_exposure = abs(current + signed) - abs(current)
        if added_exposure <= 0:
            return Decimal(0)
        return added_exposure * _dec(spec["contract"]) * self._reference_price(book, order) / book["leverage"]

    def _unrealized(self, book: dict[str, Any], symbol: str, position: dict[str, Any]) -> Decimal:
        quantity = _dec(position["quantity"])
        prices = book["prices"][symbol]
        mark = _dec(prices["bid"] if quantity > 0 else prices["ask"])
        return quantity * _dec(SIM_SYMBOLS[symbol]["contract"]) * (mark - _dec(position["average_price"]))

    def _margin_used(self, book: dict[str, Any]) -> Decimal:
        total = Decimal(0)
        for symbol, position in book["positions"].items():
            prices = book["prices"][symbol]
            mid = (_dec(prices["bid"]) + _dec(prices["ask"])) / 2
            total += abs(_dec(position["quantity"])) * _dec(SIM_SYMBOLS[symbol]["contract"]) * mid / book["leverage"]
        return total

    def _equity(self, book: dict[str, Any]) -> Decimal:
        unrealized = sum(
            (self._unrealized(book, symbol, position) for symbol, position in book["positions"].items()),
            Decimal(0),
        )
        return _dec(book["balance"]) + unrealized

    def _free_margin(self, book: dict[str, Any]) -> Decimal:
        return self._equity(book) - self._margin_used(book)

    def _execute(self, book: dict[str, Any], order: dict[str, Any]) -> None:
        """Fill the order now if it is marketable; otherwise it rests (or expires for IOC/FOK)."""
        prices = book["prices"][order["symbol"]]
        bid, ask = _dec(prices["bid"]), _dec(prices["ask"])
        fill_price = self._marketable_price(order, bid, ask)
        if fill_price is not None:
            self._fill(book, order, fill_price)
            order["broker_code"], order["broker_message"] = "10009", RETCODES[10009]
        elif order["time_in_force"] in ("ioc", "fok"):
            order.update(status="expired", broker_code="10009", broker_message=RETCODES[10009])
        else:
            order["broker_code"], order["broker_message"] = "10008", RETCODES[10008]

    @staticmethod
    def _marketable_price(order: dict[str, Any], bid: Decimal, ask: Decimal) -> Decimal | None:
        buy = order["side"] == "buy"
        market_price = ask if buy else bid
        order_type = order["order_type"]
        if order_type in ("stop", "stop_limit") and order["stop_price"] is not None:
            stop = _dec(order["stop_price"])
            if (buy and ask < stop) or (not buy and bid > stop):
                return None
            if order_type == "stop":
                return market_price
            order_type = "limit"
        if order_type == "market":
            return market_price
        limit = _dec(order["limit_price"])
        if buy:
            return min(limit, ask) if ask <= limit else None
        return max(limit, bid) if bid >= limit else None

    def _fill(self, book: dict[str, Any], order: dict[str, Any], price: Decimal) -> None:
        spec = SIM_SYMBOLS[order["symbol"]]
        price = price.quantize(_dec(spec["tick"]), rounding=ROUND_HALF_UP)
        quantity = _dec(order["quantity"])
        signed = quantity if order["side"] == "buy" else -quantity
        position = book["positions"].get(order["symbol"], {"quantity": "0", "average_price": str(price)})
        current, average = _dec(position["quantity"]), _dec(position["average_price"])
        contract = _dec(spec["contract"])
        new_quantity = current + signed
        if current == 0 or (current > 0) == (signed > 0):
            average = (current * average + signed * price) / new_quantity
        else:
            closed = min(abs(current), abs(signed))
            realized = closed * contract * (price - average) * (1 if current > 0 else -1)
            book["balance"] = str(_dec(book["balance"]) + realized)
            if abs(signed) > abs(current):
                average = price
        if new_quantity == 0:
            book["positions"].pop(order["symbol"], None)
        else:
            book["positions"][order["symbol"]] = {
                "quantity": decimal_to_wire(new_quantity),
                "average_price": decimal_to_wire(average.quantize(Decimal("1e-8"))),
            }
        now = utc_now_iso()
        order["fills"].append({
            "fill_id": f"{order['broker_order_id']}-{len(order['fills']) + 1}",
            "quantity": order["quantity"],
            "price": decimal_to_wire(price),
            "commission": "0",
            "filled_at": now,
        })
        order.update(
            status="filled",
            filled_quantity=order["quantity"],
            average_fill_price=decimal_to_wire(price),
            updated_at=now,
        )

    @staticmethod
    def _order_events(order: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [{"type": "order_update", "order": order}]
        events.extend(
            {"type": "fill", "client_order_id": order["client_order_id"], "fill": fill} for fill in order["fills"]
        )
        return events

    def cancel_order(self, client_order_id: str) -> dict[str, Any]:
        self._require_connection()
        with self._book() as book:
            order = book["orders"].get(client_order_id)
            if order is None:
                raise AgentError("order_not_found", f"no order with client order id {client_order_id!r}")
            if order["status"] in FINAL_STATUSES:
                raise AgentError(
                    "order_not_cancellable",
                    f"order {client_order_id!r} is already {order['status']}",
                    details={"order": order},
                )
            order.update(status="cancelled", updated_at=utc_now_iso(), broker_code="10009",
                         broker_message=RETCODES[10009])
            order = copy.deepcopy(order)
        self.emit({"type": "order_update", "order": order})
        return order

    def get_order(self, client_order_id: str) -> dict[str, Any]:
        self._require_connection()
        with self._book() as book:
            order = copy.deepcopy(book["orders"].get(client_order_id))
        if order is None:
            raise AgentError("order_not_found", f"no order with client order id {client_order_id!r}")
        return order

    def list_orders(self, *, open_only: bool) -> list[dict[str, Any]]:
        self._require_connection()
        with self._book() as book:
            orders = copy.deepcopy(list(book["orders"].values()))
        return [order for order in orders if not open_only or order["status"] not in FINAL_STATUSES]

    # -- account ---------------------------------------------------------------------------------------
    def positions(self) -> list[dict[str, Any]]:
        self._require_connection()
        with self._book() as book:
            result = []
            for symbol, position in sorted(book["positions"].items()):
                prices = book["prices"][symbol]
                mark = prices["bid"] if _dec(position["quantity"]) > 0 else prices["ask"]
                result.append({
                    "symbol": symbol,
                    "quantity": position["quantity"],
                    "average_price": position["average_price"],
                    "market_price": mark,
                    "unrealized_pnl": decimal_to_wire(self._unrealized(book, symbol, position).quantize(Decimal("0.01"))),
                })
        return result

    def account(self) -> dict[str, Any]:
        self._require_connection()
        cents = Decimal("0.01")
        with self._book() as book:
            equity = self._equity(book)
            used = self._margin_used(book)
            return {
                "login": self._account_key.split(":", 1)[-1],
                "currency": book["currency"],
                "balance": decimal_to_wire(_dec(book["balance"]).quantize(cents)),
                "equity": decimal_to_wire(equity.quantize(cents)),
                "margin_used": decimal_to_wire(used.quantize(cents)),
                "margin_free": decimal_to_wire((equity - used).quantize(cents)),
                "leverage": book["leverage"],
                "trade_allowed": bool(book["market_open"]),
            }

    def symbols(self) -> list[dict[str, Any]]:
        self._require_connection()
        with self._book() as book:
            prices = {name: dict(value) for name, value in book["prices"].items()}
            market_open = book["market_open"]
        return [
            {
                "symbol": name,
                "description": spec["description"],
                "base_currency": spec["base"],
                "quote_currency": spec["quote"],
                "contract_size": spec["contract"],
                "min_volume": spec["min"],
                "max_volume": spec["max"],
                "volume_step": spec["step"],
                "tick_size": spec["tick"],
                "digits": spec["digits"],
                "bid": prices[name]["bid"],
                "ask": prices[name]["ask"],
                "trade_allowed": market_open,
            }
            for name, spec in SIM_SYMBOLS.items()
        ]

    # -- simulator control -----------------------------------------------------------------------------
    def sim_command(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command["command"]
        if name == "disconnect":
            self._connected = False
            self.emit({"type": "terminal_status", "status": "disconnected", "detail": "disconnected on command"})
            return {"ok": True}
        if name == "reconnect":
            self._connected = True
            self.emit({"type": "terminal_status", "status": "running", "detail": "reconnected"})
            return {"ok": True}
        if name == "crash_after_next_submit":
            self._crash_after_next_submit = True
            return {"ok": True}
        self._require_connection()
        if name == "set_market_open":
            with self._book() as book:
                book["market_open"] = bool(command.get("open", True))
            return {"ok": True}
        return {"ok": True, "filled": self._set_price(command)}

    def _set_price(self, command: dict[str, Any]) -> list[str]:
        symbol = command["symbol"]
        if symbol not in SIM_SYMBOLS:
            raise AgentError("invalid_request", f"unknown symbol {symbol!r}")
        bid, ask = _dec(command["bid"]), _dec(command["ask"])
        if bid > ask:
            raise AgentError("invalid_request", "bid must not exceed ask")
        filled: list[str] = []
        events: list[dict[str, Any]] = []
        with self._book() as book:
            book["prices"][symbol] = {"bid": command["bid"], "ask": command["ask"]}
            for order in book["orders"].values():
                if order["symbol"] != symbol or order["status"] != "open":
                    continue
                price = self._marketable_price(order, bid, ask)
                if price is not None:
                    self._fill(book, order, price)
                    order["broker_code"], order["broker_message"] = "10009", RETCODES[10009]
                    filled.append(order["client_order_id"])
                    events.append({"type": "order_update", "order": copy.deepcopy(order)})
                    events.append({
                        "type": "fill",
                        "client_order_id": order["client_order_id"],
                        "fill": dict(order["fills"][-1]),
                    })
        for event in events:
            self.emit(event)
        return filled
