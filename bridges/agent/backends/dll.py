"""Generic broker-DLL backend (ctypes). Per broker only a `DllMapping` changes.

The backend expects the broker library to offer these operations (names come from the mapping; the C shapes are
fixed — a broker whose signatures differ gets a small subclass overriding the method concerned):

    int Login(const char* login, const char* password, const char* server);
    int Logout(void);
    int IsConnected(void);                                   /* 1 connected, 0 not */
    int SendOrder(const char* client_id, const char* symbol, int side, int order_type, double volume,
                  double price, double stop_price, char* broker_order_id_out, int out_len);
    int CancelOrder(const char* broker_order_id);
    int QueryOrder(const char* client_id, char* broker_order_id_out, int out_len, int* state,
                   double* filled_volume, double* average_price);
    int GetAccount(double* balance, double* equity, double* margin, double* free_margin, int* leverage,
                   char* currency_out, int out_len);
    int GetPositionCount(void);
    int GetPosition(int index, char* symbol_out, int out_len, double* volume, double* average_price,
                    double* profit);                           /* volume signed: negative = short */
    int GetSymbol(const char* symbol, double* contract_size, double* min_volume, double* max_volume,
                  double* volume_step, double* tick_size, int* digits, double* bid, double* ask);

Every function returns a code; the mapping's `return_codes` says what each means: `("ok", "")`,
`("reject", <reject_reason>)` (the order exists and is rejected), or `("error", <protocol error code>)`
(nothing happened, e.g. `terminal_disconnected`). An unmapped code from SendOrder is treated as an unknown
outcome (`internal_error`, retryable), so 4pass looks the order up by client id before anything else.

The mapping is node configuration (`--dll-mapping mapping.json`), never part of a request:

    {"library": "C:/Broker/api.dll", "calling_convention": "stdcall",
     "functions": {"login": "BrkLogin", "send_order": "BrkSend", ...},
     "sides": {"buy": 1, "sell": 2}, "order_types": {"market": 0, "limit": 1},
     "states": {"0": "open", "1": "filled", "2": "cancelled", "3": "rejected"},
     "return_codes": {"0": ["ok", ""], "101": ["reject", "insufficient_margin"], "900": ["error", "terminal_disconnected"]},
     "symbols": ["EURUSD"], "encoding": "utf-8"}
"""

from __future__ import annotations

import ctypes
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from bridges.protocol.errors import ERRORS, AgentError

from .base import TerminalBackend, decimal_to_wire, same_order_request, utc_now_iso

OPERATIONS = (
    "login", "logout", "is_connected", "send_order", "cancel_order", "query_order", "get_account",
    "get_position_count", "get_position", "get_symbol",
)
_BUFFER = 128
_c_double_p = ctypes.POINTER(ctypes.c_double)
_c_int_p = ctypes.POINTER(ctypes.c_int)
SIGNATURES: dict[str, tuple[list[Any], Any]] = {
    "login": ([ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
    "logout": ([], ctypes.c_int),
    "is_connected": ([], ctypes.c_int),
    "send_order": ([ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_double,
                    ctypes.c_double, ctypes.c_double, ctypes.c_char_p, ctypes.c_int], ctypes.c_int),
    "cancel_order": ([ctypes.c_char_p], ctypes.c_int),
    "query_order": ([ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, _c_int_p, _c_double_p, _c_double_p], ctypes.c_int),
    "get_account": ([_c_double_p, _c_double_p, _c_double_p, _c_double_p, _c_int_p, ctypes.c_char_p, ctypes.c_int], ctypes.c_int),
    "get_position_count": ([], ctypes.c_int),
    "get_position": ([ctypes.c_int, ctypes.c_char_p, ctypes.c_int, _c_double_p, _c_double_p, _c_double_p], ctypes.c_int),
    "get_symbol": ([ctypes.c_char_p, _c_double_p, _c_double_p, _c_double_p, _c_double_p, _c_double_p, _c_int_p,
                    _c_double_p, _c_double_p], ctypes.c_int),
}
REJECT_REASONS = {"invalid_volume", "invalid_price", "insufficient_margin", "market_closed", "unknown_symbol",
                  "trading_disabled", "broker_rejected"}


@dataclass(frozen=True)
class DllMapping:
    library: str
    functions: dict[str, str]
    sides: dict[str, int]
    order_types: dict[str, int]
    states: dict[int, str]
    return_codes: dict[int, tuple[str, str]]
    symbols: list[str] = field(default_factory=list)
    calling_convention: str = "cdecl"
    encoding: str = "utf-8"

    @classmethod
    def from_json(cls, path: str | Path) -> DllMapping:
        raw = json.loads(Path(path).read_text())
        mapping = cls(
            library=raw["library"],
            functions=raw["functions"],
            sides=raw["sides"],
            order_types=raw["order_types"],
            states={int(code): status for code, status in raw["states"].items()},
            return_codes={int(code): (kind, value) for code, (kind, value) in raw["return_codes"].items()},
            symbols=list(raw.get("symbols", [])),
            calling_convention=raw.get("calling_convention", "cdecl"),
            encoding=raw.get("encoding", "utf-8"),
        )
        mapping.check()
        return mapping

    def check(self) -> None:
        missing = [operation for operation in OPERATIONS if operation not in self.functions]
        if missing:
            raise ValueError(f"DLL mapping lacks functions for: {', '.join(missing)}")
        for code, (kind, value) in self.return_codes.items():
            if kind == "reject" and value not in REJECT_REASONS:
                raise ValueError(f"return code {code}: unknown reject reason {value!r}")
            if kind == "error" and value not in ERRORS:
                raise ValueError(f"return code {code}: unknown protocol error {value!r}")
            if kind not in ("ok", "reject", "error"):
                raise ValueError(f"return code {code}: kind must be ok, reject or error")


class _Library:
    """The loaded DLL with typed functions, called one at a time (broker APIs are rarely re-entrant)."""

    def __init__(self, mapping: DllMapping) -> None:
        loader = ctypes.WinDLL if mapping.calling_convention == "stdcall" else ctypes.CDLL  # type: ignore[attr-defined]
        self._dll = loader(mapping.library)
        self._lock = threading.Lock()
        self.functions = {}
        for operation, exported in mapping.functions.items():
            function = getattr(self._dll, exported)
            function.argtypes, function.restype = SIGNATURES[operation]
            self.functions[operation] = function

    def call(self, operation: str, *args: Any) -> int:
        with self._lock:
            return int(self.functions[operation](*args))


class GenericDllTerminal(TerminalBackend):
    name = "dll"
    mapping: ClassVar[DllMapping | None] = None
    _libraries: ClassVar[dict[str, _Library]] = {}

    @classmethod
    def configure(cls, mapping_path: str | None) -> None:
        cls.mapping = DllMapping.from_json(mapping_path) if mapping_path else None

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if cls.mapping is None:
            return False, "no DLL mapping configured (start the agent with --dll-mapping)"
        return True, ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert self.mapping is not None
        self._map = self.mapping
        library = self._libraries.get(self._map.library)
        if library is None:
            library = self._libraries[self._map.library] = _Library(self._map)
        self._lib = library
        self._requests: dict[str, dict[str, Any]] = {}
        self._created: dict[str, str] = {}

    def _encode(self, text: str) -> bytes:
        return text.encode(self._map.encoding)

    def _meaning(self, code: int) -> tuple[str, str]:
        return self._map.return_codes.get(code, ("error", "internal_error"))

    def _check(self, operation: str, code: int) -> None:
        kind, value = self._meaning(code)
        if kind == "ok":
            return
        if kind == "reject":
            raise AgentError("invalid_request", f"{operation} refused: {value}", broker_code=str(code))
        raise AgentError(value, f"broker DLL {operation} returned {code}", broker_code=str(code))

    # -- session ---------------------------------------------------------------------------------------
    def connect(self) -> None:
        code = self._lib.call(
            "login",
            self._encode(self._credentials.get("login", "")),
            self._encode(self._credentials.get("password", "")),
            self._encode(self._credentials.get("server", "")),
        )
        self._check("login", code)

    def close(self) -> None:
        self._lib.call("logout")

    @property
    def connected(self) -> bool:
        return self._lib.call("is_connected") == 1

    # -- orders ----------------------------------------------------------------------------------------
    def _query(self, client_order_id: str) -> dict[str, Any] | None:
        broker_id = ctypes.create_string_buffer(_BUFFER)
        state, filled, average = ctypes.c_int(), ctypes.c_double(), ctypes.c_double()
        code = self._lib.call(
            "query_order", self._encode(client_order_id), broker_id, _BUFFER,
            ctypes.byref(state), ctypes.byref(filled), ctypes.byref(average),
        )
        kind, value = self._meaning(code)
        if kind == "error" and value == "order_not_found":
            return None
        self._check("query_order", code)
        request = self._requests.get(client_order_id)
        if request is None:
            raise AgentError(
                "internal_error", f"order {client_order_id!r} exists at the broker but this terminal session "
                "did not place it; the DLL API cannot describe it"
            )
        filled_quantity = Decimal(str(filled.value))
        status = self._map.states.get(state.value, "open")
        if status == "open" and filled_quantity > 0:
            status = "partially_filled"
        order = self._wire(request, status=status, broker_order_id=broker_id.value.decode(self._map.encoding))
        order["filled_quantity"] = decimal_to_wire(filled_quantity)
        if filled_quantity > 0:
            order["average_fill_price"] = decimal_to_wire(Decimal(str(average.value)))
            order["fills"] = [{
                "fill_id": f"{order['broker_order_id']}-filled",
                "quantity": order["filled_quantity"],
                "price": order["average_fill_price"],
                "commission": "0",
                "filled_at": order["updated_at"],
            }]
        return order

    def _wire(self, request: dict[str, Any], *, status: str, broker_order_id: str | None) -> dict[str, Any]:
        created = self._created.setdefault(request["client_order_id"], utc_now_iso())
        return {
            "client_order_id": request["client_order_id"], "broker_order_id": broker_order_id or None,
            "symbol": request["symbol"], "side": request["side"], "order_type": request["order_type"],
            "quantity": request["quantity"], "limit_price": request.get("limit_price"),
            "stop_price": request.get("stop_price"), "time_in_force": request.get("time_in_force", "gtc"),
            "status": status, "filled_quantity": "0", "average_fill_price": None, "fills": [],
            "reject_reason": None, "broker_code": None, "broker_message": None,
            "created_at": created, "updated_at": utc_now_iso(),
        }

    def place_order(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        client_order_id = request["client_order_id"]
        known = self._requests.get(client_order_id)
        if known is not None and not same_order_request(known, request):
            raise AgentError("order_conflict", f"client order id {client_order_id!r} already names a different order")
        self._requests.setdefault(client_order_id, dict(request))
        existing = self._query(client_order_id)
        if existing is not None:
            return existing, False
        if request["side"] not in self._map.sides or request["order_type"] not in self._map.order_types:
            raise AgentError("invalid_request", f"this broker DLL does not support {request['order_type']} orders")
        broker_id = ctypes.create_string_buffer(_BUFFER)
        code = self._lib.call(
            "send_order", self._encode(client_order_id), self._encode(request["symbol"]),
            self._map.sides[request["side"]], self._map.order_types[request["order_type"]],
            float(Decimal(request["quantity"])), float(Decimal(request.get("limit_price") or 0)),
            float(Decimal(request.get("stop_price") or 0)), broker_id, _BUFFER,
        )
        kind, value = self._meaning(code)
        if kind == "error":
            raise AgentError(value, f"broker DLL send_order returned {code}", broker_code=str(code))
        if kind == "reject":
            order = self._wire(request, status="rejected", broker_order_id=None)
            order.update(reject_reason=value, broker_code=str(code), broker_message=f"broker DLL code {code}")
        else:
            order = self._query(client_order_id) or self._wire(
                request, status="open", broker_order_id=broker_id.value.decode(self._map.encoding)
            )
            order["broker_code"] = str(code)
        self.emit({"type": "order_update", "order": order})
        for fill in order["fills"]:
            self.emit({"type": "fill", "client_order_id": client_order_id, "fill": fill})
        return order, True

    def cancel_order(self, client_order_id: str) -> dict[str, Any]:
        order = self.get_order(client_order_id)
        if order["status"] not in ("open", "partially_filled"):
            raise AgentError("order_not_cancellable", f"order is already {order['status']}")
        code = self._lib.call("cancel_order", self._encode(order["broker_order_id"]))
        self._check("cancel_order", code)
        cancelled = self.get_order(client_order_id)
        self.emit({"type": "order_update", "order": cancelled})
        return cancelled

    def get_order(self, client_order_id: str) -> dict[str, Any]:
        order = self._query(client_order_id)
        if order is None:
            raise AgentError("order_not_found", f"no order with client order id {client_order_id!r}")
        return order

    def list_orders(self, *, open_only: bool) -> list[dict[str, Any]]:
        orders = [order for order in map(self._query, list(self._requests)) if order is not None]
        return [order for order in orders if not open_only or order["status"] in ("open", "partially_filled")]

    # -- account ---------------------------------------------------------------------------------------
    def positions(self) -> list[dict[str, Any]]:
        count = self._lib.call("get_position_count")
        result = []
        for index in range(max(count, 0)):
            symbol = ctypes.create_string_buffer(_BUFFER)
            volume, average, profit = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
            self._check("get_position", self._lib.call(
                "get_position", index, symbol, _BUFFER, ctypes.byref(volume), ctypes.byref(average), ctypes.byref(profit)
            ))
            if volume.value == 0:
                continue
            result.append({
                "symbol": symbol.value.decode(self._map.encoding),
                "quantity": decimal_to_wire(Decimal(str(volume.value))),
                "average_price": decimal_to_wire(Decimal(str(average.value))),
                "market_price": None,
                "unrealized_pnl": decimal_to_wire(Decimal(str(profit.value)).quantize(Decimal("0.01"))),
            })
        return result

    def account(self) -> dict[str, Any]:
        balance, equity, margin, free = (ctypes.c_double() for _ in range(4))
        leverage, currency = ctypes.c_int(), ctypes.create_string_buffer(16)
        self._check("get_account", self._lib.call(
            "get_account", ctypes.byref(balance), ctypes.byref(equity), ctypes.byref(margin), ctypes.byref(free),
            ctypes.byref(leverage), currency, 16,
        ))

        def money(value: ctypes.c_double) -> str:
            return decimal_to_wire(Decimal(str(value.value)).quantize(Decimal("0.01"))) or "0"

        return {
            "login": self.account_id, "currency": currency.value.decode(self._map.encoding) or "USD",
            "balance": money(balance), "equity": money(equity), "margin_used": money(margin),
            "margin_free": money(free), "leverage": max(leverage.value, 1), "trade_allowed": self.connected,
        }

    def symbols(self) -> list[dict[str, Any]]:
        return [self.symbol(name) for name in self._map.symbols]

    def symbol(self, name: str) -> dict[str, Any]:
        values = [ctypes.c_double() for _ in range(5)]
        digits, bid, ask = ctypes.c_int(), ctypes.c_double(), ctypes.c_double()
        code = self._lib.call(
            "get_symbol", self._encode(name), *(ctypes.byref(value) for value in values), ctypes.byref(digits),
            ctypes.byref(bid), ctypes.byref(ask),
        )
        if self._meaning(code) != ("ok", ""):
            raise AgentError("invalid_request", f"unknown symbol {name!r}", http_status=404, broker_code=str(code))
        contract, minimum, maximum, step, tick = (decimal_to_wire(Decimal(str(value.value))) for value in values)
        return {
            "symbol": name, "description": name, "base_currency": name[:3], "quote_currency": name[3:6],
            "contract_size": contract, "min_volume": minimum, "max_volume": maximum, "volume_step": step,
            "tick_size": tick, "digits": digits.value,
            "bid": decimal_to_wire(Decimal(str(round(bid.value, digits.value)))) if bid.value else None,
            "ask": decimal_to_wire(Decimal(str(round(ask.value, digits.value)))) if ask.value else None,
            "trade_allowed": self.connected,
        }
