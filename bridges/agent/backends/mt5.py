"""MetaTrader 5 backend (Windows only), through the official `MetaTrader5` Python package.

The package keeps ONE global terminal connection per Python process, so every terminal instance gets its
own worker process (multiprocessing, spawn) that imports `MetaTrader5`, starts its own terminal copy in
portable mode (`<instances_dir>/<instance_id>/terminal64.exe /portable`, so data folders never collide)
and serves calls over a pipe. Calls to one worker are serialized: the MT5 API is not re-entrant.

Credentials travel parent -> worker through the pipe and are passed to `mt5.initialize()`; they are never
written to disk by us (portable mode: start the terminal without "save password").

Client order ids: MT5 has no client order id field, so the order's `comment` carries a compact tag derived
from it (`4p` + 24 base32 chars of SHA-256, inside MT5's 31-character comment limit) and the Expert `magic`
marks orders placed by 4pass. Before any order_send the worker searches open orders and recent history for
the tag, which makes a retried or reconciled place idempotent.

MT5 return codes (TRADE_RETCODE_*) are passed through unchanged: `broker_code` is the numeric retcode and
`broker_message` its name plus the server comment.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import multiprocessing
import shutil
import sys
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridges.protocol.errors import AgentError

from .base import TerminalBackend, decimal_to_wire, same_order_request, utc_now_iso

MAGIC = 4_040_404
HISTORY_LOOKBACK = timedelta(days=30)
CALL_TIMEOUT_SECONDS = 30.0

# (side, order_type) -> MT5 ORDER_TYPE_* name; market orders use TRADE_ACTION_DEAL, others PENDING.
ORDER_TYPE_NAMES = {
    ("buy", "market"): "ORDER_TYPE_BUY",
    ("sell", "market"): "ORDER_TYPE_SELL",
    ("buy", "limit"): "ORDER_TYPE_BUY_LIMIT",
    ("sell", "limit"): "ORDER_TYPE_SELL_LIMIT",
    ("buy", "stop"): "ORDER_TYPE_BUY_STOP",
    ("sell", "stop"): "ORDER_TYPE_SELL_STOP",
    ("buy", "stop_limit"): "ORDER_TYPE_BUY_STOP_LIMIT",
    ("sell", "stop_limit"): "ORDER_TYPE_SELL_STOP_LIMIT",
}
# MT5 numeric ORDER_TYPE_* -> (side, order_type), for orders read back from the terminal.
ORDER_TYPES_BY_CODE = {
    0: ("buy", "market"), 1: ("sell", "market"), 2: ("buy", "limit"), 3: ("sell", "limit"),
    4: ("buy", "stop"), 5: ("sell", "stop"), 6: ("buy", "stop_limit"), 7: ("sell", "stop_limit"),
}
TIME_IN_FORCE_NAMES = {"gtc": "ORDER_TIME_GTC", "day": "ORDER_TIME_DAY"}
FILLING_NAMES = {"ioc": "ORDER_FILLING_IOC", "fok": "ORDER_FILLING_FOK"}
# ORDER_STATE_* numeric -> normalized status.
ORDER_STATES = {
    0: "open", 1: "open", 2: "cancelled", 3: "partially_filled", 4: "filled", 5: "rejected", 6: "expired",
    7: "open", 8: "open", 9: "cancelled",
}
RETCODE_NAMES = {
    10004: "TRADE_RETCODE_REQUOTE", 10006: "TRADE_RETCODE_REJECT", 10007: "TRADE_RETCODE_CANCEL",
    10008: "TRADE_RETCODE_PLACED", 10009: "TRADE_RETCODE_DONE", 10010: "TRADE_RETCODE_DONE_PARTIAL",
    10011: "TRADE_RETCODE_ERROR", 10012: "TRADE_RETCODE_TIMEOUT", 10013: "TRADE_RETCODE_INVALID",
    10014: "TRADE_RETCODE_INVALID_VOLUME", 10015: "TRADE_RETCODE_INVALID_PRICE",
    10016: "TRADE_RETCODE_INVALID_STOPS", 10017: "TRADE_RETCODE_TRADE_DISABLED",
    10018: "TRADE_RETCODE_MARKET_CLOSED", 10019: "TRADE_RETCODE_NO_MONEY",
    10020: "TRADE_RETCODE_PRICE_CHANGED", 10021: "TRADE_RETCODE_PRICE_OFF",
    10022: "TRADE_RETCODE_INVALID_EXPIRATION", 10023: "TRADE_RETCODE_ORDER_CHANGED",
    10024: "TRADE_RETCODE_TOO_MANY_REQUESTS", 10026: "TRADE_RETCODE_SERVER_DISABLES_AT",
    10027: "TRADE_RETCODE_CLIENT_DISABLES_AT", 10030: "TRADE_RETCODE_INVALID_FILL",
    10031: "TRADE_RETCODE_CONNECTION", 10033: "TRADE_RETCODE_LIMIT_ORDERS", 10034: "TRADE_RETCODE_LIMIT_VOLUME",
}
SUCCESS_RETCODES = {10008, 10009, 10010}
REJECT_REASONS = {
    10013: "broker_rejected", 10014: "invalid_volume", 10015: "invalid_price", 10016: "invalid_price",
    10017: "trading_disabled", 10018: "market_closed", 10019: "insufficient_margin",
    10026: "trading_disabled", 10027: "trading_disabled", 10030: "broker_rejected", 10034: "invalid_volume",
}
# Retcodes that mean "the order did not reach a decision": answered as errors, not as rejected orders.
ERROR_RETCODES = {10031: "terminal_disconnected", 10012: "terminal_disconnected", 10024: "rate_limited"}


def client_order_tag(client_order_id: str) -> str:
    digest = hashlib.sha256(client_order_id.encode()).digest()
    return "4p" + base64.b32encode(digest).decode()[:24].lower()


def retcode_message(retcode: int, comment: str = "") -> str:
    name = RETCODE_NAMES.get(retcode, f"RETCODE_{retcode}")
    return f"{name}: {comment}" if comment else name


SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC = 1, 2  # bits of SymbolInfo.filling_mode


def market_filling(time_in_force: str, filling_mode: int) -> str:
    """The filling policy for a market order that the symbol allows (brokers differ: 10030 otherwise)."""
    if time_in_force == "fok" and filling_mode & SYMBOL_FILLING_FOK:
        return "ORDER_FILLING_FOK"
    if filling_mode & SYMBOL_FILLING_IOC:
        return "ORDER_FILLING_IOC"
    if filling_mode & SYMBOL_FILLING_FOK:
        return "ORDER_FILLING_FOK"
    return "ORDER_FILLING_RETURN"


def build_order_send_request(
    request: dict[str, Any], tick: dict[str, Any], deviation: int = 20, filling_mode: int = SYMBOL_FILLING_IOC
) -> dict[str, Any]:
    """Normalized order request -> MT5 order_send dict with constant NAMES (resolved in the worker)."""
    side, order_type = request["side"], request["order_type"]
    mt5_request: dict[str, Any] = {
        "action": "TRADE_ACTION_DEAL" if order_type == "market" else "TRADE_ACTION_PENDING",
        "symbol": request["symbol"],
        "volume": float(Decimal(request["quantity"])),
        "type": ORDER_TYPE_NAMES[(side, order_type)],
        "magic": MAGIC,
        "comment": client_order_tag(request["client_order_id"]),
        "deviation": deviation,
    }
    time_in_force = request.get("time_in_force", "gtc")
    if order_type == "market":
        mt5_request["price"] = float(tick["ask"] if side == "buy" else tick["bid"])
        mt5_request["type_filling"] = market_filling(time_in_force, filling_mode)
    else:
        if order_type == "limit":
            mt5_request["price"] = float(Decimal(request["limit_price"]))
        else:
            mt5_request["price"] = float(Decimal(request["stop_price"]))
        if order_type == "stop_limit":
            mt5_request["stoplimit"] = float(Decimal(request["limit_price"]))
        mt5_request["type_time"] = TIME_IN_FORCE_NAMES.get(time_in_force, "ORDER_TIME_GTC")
        mt5_request["type_filling"] = FILLING_NAMES.get(time_in_force, "ORDER_FILLING_RETURN")
    return mt5_request


def _wire_price(value: float | None, digits: int) -> str | None:
    if not value:
        return None
    return decimal_to_wire(Decimal(str(round(value, digits))))


def order_from_mt5(
    request: dict[str, Any] | None, mt5_order: dict[str, Any], deals: list[dict[str, Any]], digits: int
) -> dict[str, Any]:
    """MT5 order (+ its deals) -> wire order. `request` supplies the client order id and original fields."""
    side, order_type = ORDER_TYPES_BY_CODE.get(mt5_order.get("type", 0), ("buy", "market"))
    volume_initial = Decimal(str(mt5_order.get("volume_initial", 0)))
    volume_current = Decimal(str(mt5_order.get("volume_current", 0)))
    filled = sum((Decimal(str(deal["volume"])) for deal in deals), Decimal(0))
    if not deals:
        filled = volume_initial - volume_current if mt5_order.get("state") == 4 else Decimal(0)
    notional = sum((Decimal(str(deal["volume"])) * Decimal(str(deal["price"])) for deal in deals), Decimal(0))
    average = (notional / filled).quantize(Decimal(1).scaleb(-digits)) if deals and filled else None
    status = ORDER_STATES.get(mt5_order.get("state", 1), "open")
    if status == "open" and filled > 0:
        status = "partially_filled"
    created = datetime.fromtimestamp(mt5_order.get("time_setup", 0), UTC).isoformat().replace("+00:00", "Z")
    updated = datetime.fromtimestamp(
        mt5_order.get("time_done") or mt5_order.get("time_setup", 0), UTC
    ).isoformat().replace("+00:00", "Z")
    return {
        "client_order_id": (request or {}).get("client_order_id") or mt5_order.get("comment", ""),
        "broker_order_id": str(mt5_order["ticket"]),
        "symbol": mt5_order["symbol"],
        "side": side,
        "order_type": order_type,
        "quantity": decimal_to_wire(volume_initial),
        "limit_price": (request or {}).get("limit_price") or (
            _wire_price(mt5_order.get("price_open"), digits) if order_type == "limit" else None
        ),
        "stop_price": (request or {}).get("stop_price") or (
            _wire_price(mt5_order.get("price_open"), digits) if order_type in ("stop", "stop_limit") else None
        ),
        "time_in_force": (request or {}).get("time_in_force", "gtc"),
        "status": status,
        "filled_quantity": decimal_to_wire(filled),
        "average_fill_price": decimal_to_wire(average),
        "fills": [
            {
                "fill_id": str(deal["ticket"]),
                "quantity": decimal_to_wire(Decimal(str(deal["volume"]))),
                "price": decimal_to_wire(Decimal(str(deal["price"]))),
                "commission": decimal_to_wire(Decimal(str(deal.get("commission", 0)))),
                "filled_at": datetime.fromtimestamp(deal["time"], UTC).isoformat().replace("+00:00", "Z"),
            }
            for deal in deals
        ],
        "reject_reason": "broker_rejected" if status == "rejected" else None,
        "broker_code": None,
        "broker_message": None,
        "created_at": created,
        "updated_at": updated,
    }


# -- worker process ---------------------------------------------------------------------------------------
def _resolve_constants(mt5: Any, request: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for key, value in request.items():
        if isinstance(value, str) and value.isupper() and value.startswith(("TRADE_", "ORDER_")):
            resolved[key] = getattr(mt5, value)
        else:
            resolved[key] = value
    return resolved


def _as_dict(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "_asdict"):
        return value._asdict()
    if isinstance(value, tuple | list):
        return [_as_dict(item) for item in value]
    return value


def mt5_worker_main(connection: Any, module_name: str = "MetaTrader5") -> None:
    """Body of the per-terminal worker process: one MetaTrader5 connection, calls served in order."""
    mt5 = importlib.import_module(module_name)
    while True:
        try:
            operation, arguments = connection.recv()
        except EOFError:
            break
        try:
            if operation == "initialize":
                ok = mt5.initialize(**arguments)
                answer: Any = {"ok": bool(ok), "error": None if ok else list(mt5.last_error())}
            elif operation == "order_send":
                result = mt5.order_send(_resolve_constants(mt5, arguments["request"]))
                answer = {"result": _as_dict(result), "error": None if result else list(mt5.last_error())}
            elif operation == "find_by_comment":
                answer = _find_by_comment(mt5, arguments["comment"], arguments["lookback_seconds"])
            elif operation == "shutdown":
                mt5.shutdown()
                connection.send({"ok": True})
                break
            else:
                function = getattr(mt5, operation)
                answer = {"result": _as_dict(function(*arguments.get("args", ()), **arguments.get("kwargs", {})))}
            connection.send(answer)
        except Exception as error:  # the parent must always get an answer, never a hung pipe
            connection.send({"exception": f"{type(error).__name__}: {error}"})


def _find_by_comment(mt5: Any, comment: str, lookback_seconds: float) -> dict[str, Any]:
    for order in mt5.orders_get() or ():
        if order.comment == comment and order.magic == MAGIC:
            return {"order": order._asdict(), "deals": [], "open": True}
    now = datetime.now(UTC)
    history = mt5.history_orders_get(now - timedelta(seconds=lookback_seconds), now + timedelta(days=1)) or ()
    for order in history:
        if order.comment == comment and order.magic == MAGIC:
            deals = mt5.history_deals_get(position=order.position_id) or ()
            own = [deal._asdict() for deal in deals if deal.order == order.ticket]
            return {"order": order._asdict(), "deals": own, "open": False}
    return {"order": None}


class MetaTrader5Terminal(TerminalBackend):
    name = "mt5"
    template_dir: Path | None = None
    instances_dir: Path | None = None
    sdk_module = "MetaTrader5"

    @classmethod
    def configure(cls, *, template_dir: str | None, instances_dir: str | None) -> None:
        cls.template_dir = Path(template_dir) if template_dir else None
        cls.instances_dir = Path(instances_dir) if instances_dir else None

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if sys.platform != "win32":
            return False, "MetaTrader 5 terminals only run on Windows"
        if importlib.util.find_spec("MetaTrader5") is None:
            return False, "the MetaTrader5 package is not installed (pip install MetaTrader5)"
        if cls.template_dir is None or cls.instances_dir is None:
            return False, "start the agent with --mt5-template and --mt5-instances"
        return True, ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._process: Any = None
        self._pipe: Any = None
        self._call_lock = threading.Lock()
        self._connected = False
        self._requests: dict[str, dict[str, Any]] = {}
        self._digits: dict[str, int] = {}
        self._filling_modes: dict[str, int] = {}

    def _terminal_path(self) -> Path:
        assert self.template_dir is not None and self.instances_dir is not None
        directory = self.instances_dir / self.instance_id
        if not directory.exists():
            shutil.copytree(self.template_dir, directory)
        return directory / "terminal64.exe"

    def _call(self, operation: str, **arguments: Any) -> Any:
        with self._call_lock:
            if self._pipe is None:
                raise AgentError("terminal_disconnected", "terminal worker is not running", broker_code="10031")
            self._pipe.send((operation, arguments))
            if not self._pipe.poll(CALL_TIMEOUT_SECONDS):
                raise AgentError("terminal_disconnected", f"terminal did not answer {operation} in time")
            answer = self._pipe.recv()
        if "exception" in answer:
            raise AgentError("internal_error", f"MetaTrader5.{operation} failed: {answer['exception']}")
        return answer

    def connect(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=mt5_worker_main, args=(child, self.sdk_module), daemon=True)
        self._process.start()
        answer = self._call(
            "initialize",
            path=str(self._terminal_path()),
            login=int(self._credentials["login"]),
            password=self._credentials["password"],
            server=self._credentials.get("server", ""),
            portable=True,
            timeout=60_000,
        )
        if not answer["ok"]:
            code, text = (answer["error"] or [0, "unknown"])[:2]
            self.close()
            # -6 is RES_E_AUTH_FAILED in the MetaTrader5 package.
            error_code = "broker_authentication_failed" if code == -6 else "terminal_start_failed"
            raise AgentError(error_code, f"mt5.initialize failed ({code}): {text}", broker_code=str(code))
        self._connected = True

    def close(self) -> None:
        if self._pipe is not None:
            try:
                self._call("shutdown")
            except (AgentError, OSError, EOFError):
                pass
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
        self._process, self._pipe, self._connected = None, None, False

    @property
    def connected(self) -> bool:
        if not self._connected:
            return False
        info = self._call("terminal_info")["result"]
        return bool(info and info.get("connected"))

    def _digits_of(self, symbol: str) -> int:
        if symbol not in self._digits:
            info = self._call("symbol_info", args=(symbol,))["result"]
            if info is None:
                raise AgentError("invalid_request", f"unknown symbol {symbol!r}", http_status=404)
            self._digits[symbol] = int(info["digits"])
            self._filling_modes[symbol] = int(info.get("filling_mode", SYMBOL_FILLING_IOC))
        return self._digits[symbol]

    def _lookup(self, client_order_id: str) -> dict[str, Any] | None:
        found = self._call(
            "find_by_comment",
            comment=client_order_tag(client_order_id),
            lookback_seconds=HISTORY_LOOKBACK.total_seconds(),
        )
        if found["order"] is None:
            return None
        request = self._requests.get(client_order_id, {"client_order_id": client_order_id})
        digits = self._digits_of(found["order"]["symbol"])
        return order_from_mt5(request, found["order"], found["deals"], digits)

    def place_order(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        existing = self._lookup(request["client_order_id"])
        if existing is not None:
            if not same_order_request(existing, request):
                raise AgentError("order_conflict", "client order id already names a different order")
            return existing, False
        tick = self._call("symbol_info_tick", args=(request["symbol"],))["result"]
        if tick is None:
            return self._rejected(request, 10013, "unknown symbol"), True
        self._digits_of(request["symbol"])
        order_send_request = build_order_send_request(
            request, tick, filling_mode=self._filling_modes.get(request["symbol"], SYMBOL_FILLING_IOC)
        )
        answer = self._call("order_send", request=order_send_request)
        result = answer["result"]
        if result is None:
            raise AgentError("terminal_disconnected", f"order_send returned nothing: {answer['error']}")
        retcode = int(result["retcode"])
        if retcode in ERROR_RETCODES:
            raise AgentError(
                ERROR_RETCODES[retcode], retcode_message(retcode, result.get("comment", "")),
                broker_code=str(retcode),
            )
        if retcode not in SUCCESS_RETCODES:
            return self._rejected(request, retcode, result.get("comment", "")), True
        self._requests[request["client_order_id"]] = dict(request)
        order = self._lookup(request["client_order_id"]) or self._rejected(request, retcode, "order not visible")
        order["broker_code"] = str(retcode)
        order["broker_message"] = retcode_message(retcode, result.get("comment", ""))
        self.emit({"type": "order_update", "order": order})
        for fill in order["fills"]:
            self.emit({"type": "fill", "client_order_id": order["client_order_id"], "fill": fill})
        return order, True

    @staticmethod
    def _rejected(request: dict[str, Any], retcode: int, comment: str) -> dict[str, Any]:
        now = utc_now_iso()
        return {
            "client_order_id": request["client_order_id"], "broker_order_id": None,
            "symbol": request["symbol"], "side": request["side"], "order_type": request["order_type"],
            "quantity": request["quantity"], "limit_price": request.get("limit_price"),
            "stop_price": request.get("stop_price"), "time_in_force": request.get("time_in_force", "gtc"),
            "status": "rejected", "filled_quantity": "0", "average_fill_price": None, "fills": [],
            "reject_reason": REJECT_REASONS.get(retcode, "broker_rejected"),
            "broker_code": str(retcode), "broker_message": retcode_message(retcode, comment),
            "created_at": now, "updated_at": now,
        }

    def cancel_order(self, client_order_id: str) -> dict[str, Any]:
        order = self.get_order(client_order_id)
        if order["status"] not in ("open", "partially_filled"):
            raise AgentError("order_not_cancellable", f"order is already {order['status']}")
        answer = self._call(
            "order_send", request={"action": "TRADE_ACTION_REMOVE", "order": int(order["broker_order_id"])}
        )
        retcode = int((answer["result"] or {}).get("retcode", 0))
        if retcode not in SUCCESS_RETCODES:
            raise AgentError(
                "order_not_cancellable", retcode_message(retcode), broker_code=str(retcode) if retcode else None
            )
        cancelled = self.get_order(client_order_id)
        self.emit({"type": "order_update", "order": cancelled})
        return cancelled

    def get_order(self, client_order_id: str) -> dict[str, Any]:
        order = self._lookup(client_order_id)
        if order is None:
            raise AgentError("order_not_found", f"no order tagged for client order id {client_order_id!r}")
        return order

    def list_orders(self, *, open_only: bool) -> list[dict[str, Any]]:
        orders = []
        for client_order_id in list(self._requests):
            order = self._lookup(client_order_id)
            if order is not None and (not open_only or order["status"] in ("open", "partially_filled")):
                orders.append(order)
        return orders

    def positions(self) -> list[dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for position in self._call("positions_get")["result"] or []:
            signed = Decimal(str(position["volume"])) * (1 if position["type"] == 0 else -1)
            entry = result.setdefault(position["symbol"], {"quantity": Decimal(0), "cost": Decimal(0),
                                                           "pnl": Decimal(0), "price": position["price_current"]})
            entry["quantity"] += signed
            entry["cost"] += signed * Decimal(str(position["price_open"]))
            entry["pnl"] += Decimal(str(position["profit"]))
        return [
            {
                "symbol": symbol,
                "quantity": decimal_to_wire(entry["quantity"]),
                "average_price": decimal_to_wire((entry["cost"] / entry["quantity"]).quantize(Decimal("1e-8")))
                if entry["quantity"] else "1",
                "market_price": _wire_price(entry["price"], self._digits_of(symbol)),
                "unrealized_pnl": decimal_to_wire(entry["pnl"]),
            }
            for symbol, entry in sorted(result.items())
            if entry["quantity"]
        ]

    def account(self) -> dict[str, Any]:
        info = self._call("account_info")["result"]
        if info is None:
            raise AgentError("terminal_disconnected", "account_info unavailable", broker_code="10031")

        def money(value: float) -> str:
            return decimal_to_wire(Decimal(str(value)).quantize(Decimal("0.01"))) or "0"

        return {
            "login": str(info["login"]), "currency": info["currency"], "balance": money(info["balance"]),
            "equity": money(info["equity"]), "margin_used": money(info["margin"]),
            "margin_free": money(info["margin_free"]), "leverage": int(info["leverage"]),
            "trade_allowed": bool(info["trade_allowed"]),
        }

    def symbols(self) -> list[dict[str, Any]]:
        infos = self._call("symbols_get")["result"] or []
        return [self._symbol_from_mt5(info) for info in infos if info.get("visible")]

    def symbol(self, name: str) -> dict[str, Any]:
        info = self._call("symbol_info", args=(name,))["result"]
        if info is None:
            raise AgentError("invalid_request", f"unknown symbol {name!r}", http_status=404)
        return self._symbol_from_mt5(info)

    @staticmethod
    def _symbol_from_mt5(info: dict[str, Any]) -> dict[str, Any]:
        digits = int(info["digits"])

        def positive(value: float) -> str:
            return decimal_to_wire(Decimal(str(value))) or "1"

        return {
            "symbol": info["name"], "description": info.get("description", "")[:256],
            "base_currency": info.get("currency_base", ""), "quote_currency": info.get("currency_profit", ""),
            "contract_size": positive(info["trade_contract_size"]), "min_volume": positive(info["volume_min"]),
            "max_volume": positive(info["volume_max"]), "volume_step": positive(info["volume_step"]),
            "tick_size": positive(info["trade_tick_size"] or info["point"]), "digits": digits,
            "bid": _wire_price(info.get("bid"), digits), "ask": _wire_price(info.get("ask"), digits),
            "trade_allowed": info.get("trade_mode", 0) == 4,
        }
