"""A fake broker whose state lives in the real Redis, so every worker process sees the same orders.

It implements the brokers layer's ``BrokerService`` (so rounding, guards and the idempotent retry logic
of the real base class run). Accounts are registered per tenant schema; the execution core reaches them
through ``FOURPASS_ACCOUNT_PROVIDER=tests.execution.fake_broker:FakeAccounts``. Accounts of kind "ccxt"
are real ``CcxtBroker`` adapters pointed at a fake exchange HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import redis
from django.conf import settings
from django.db import connection

from brokers.core.base import BrokerService
from brokers.core.errors import BrokerUnavailable, DuplicateOrder, InsufficientFunds, OrderNotFound
from brokers.core.instruments import default_instrument
from brokers.core.models import (
    AccountInfo,
    Balance,
    Fill,
    Instrument,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from brokers.core.symbols import NormalizedSymbol, parse_tradingview
from execution.brokerage import AccountUnavailable, LinkedAccount

D = Decimal


_clients: dict[int, redis.Redis] = {}


def client() -> redis.Redis:
    """One connection pool per process (dramatiq forks worker processes)."""
    pid = os.getpid()
    if pid not in _clients:
        _clients[pid] = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return _clients[pid]


def prefix() -> str:
    return f"{settings.DRAMATIQ_NAMESPACE}:fakebroker"


def register_account(schema: str, account_id: int, owner_id: int, *, name: str = "", kind: str = "fake",
                     equity: Decimal = D(100_000), **options) -> None:
    r = client()
    r.hset(f"{prefix()}:{schema}:accounts", str(account_id),
           json.dumps({"owner_id": owner_id, "name": name or f"Fake {account_id}", "kind": kind, **options}))
    r.set(f"{prefix()}:{schema}:{account_id}:equity", str(equity))


def set_price(symbol: str, price: Decimal) -> None:
    client().hset(f"{prefix()}:prices", symbol.upper(), str(price))


def set_position(schema: str, account_id: int, symbol: str, quantity: Decimal) -> None:
    client().hset(f"{prefix()}:{schema}:{account_id}:positions", symbol.upper(), str(quantity))


def fail_next(schema: str, account_id: int, times: int = 1, *, after_send: bool = False) -> None:
    """The next `times` sends raise BrokerUnavailable; with after_send the order is placed first (lost reply)."""
    key = "fail_after" if after_send else "fail_before"
    client().set(f"{prefix()}:{schema}:{account_id}:{key}", times)


def fail_lookups(schema: str, account_id: int, times: int) -> None:
    """The next `times` order look-ups raise BrokerUnavailable (the broker's API is down)."""
    client().set(f"{prefix()}:{schema}:{account_id}:fail_lookup", times)


def orders_of(schema: str, account_id: int) -> list[dict]:
    return [json.loads(v) for v in client().hvals(f"{prefix()}:{schema}:{account_id}:orders")]


def submissions(schema: str, account_id: int) -> int:
    """How many times an order was really accepted (a duplicate send would show up here)."""
    return int(client().get(f"{prefix()}:{schema}:{account_id}:accepted") or 0)


def reset() -> None:
    r = client()
    for key in r.scan_iter(f"{prefix()}:*", count=1000):
        r.delete(key)


class RedisFakeBroker(BrokerService):
    broker_name = "fake"
    retry_backoff = 0.01

    def __init__(self, schema: str, account_id: int):
        super().__init__()
        self.schema = schema
        self.account_id = account_id
        self.r = client()
        self.key = f"{prefix()}:{schema}:{account_id}"

    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        return default_instrument(symbol)

    def reference_price(self, symbol: NormalizedSymbol) -> Decimal | None:
        value = self.r.hget(f"{prefix()}:prices", str(symbol))
        return D(value) if value else None

    def account_info(self) -> AccountInfo:
        return AccountInfo(equity=D(self.r.get(f"{self.key}:equity") or "0"))

    def balances(self) -> list[Balance]:
        return [Balance("USDT", D(self.r.get(f"{self.key}:equity") or "0"))]

    def positions(self) -> list[Position]:
        return [Position(parse_tradingview(sym), D(qty)) for sym, qty in self.r.hgetall(f"{self.key}:positions").items()
                if D(qty) != 0]

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None) -> OrderResult:
        if self._take_fault("fail_lookup"):
            raise BrokerUnavailable("fake broker: look-up timed out")
        raw = self.r.hget(f"{self.key}:orders", client_order_id or "")
        if raw is None:
            raise OrderNotFound(f"order {client_order_id} not found")
        return _order_from_json(json.loads(raw))

    def open_orders(self, symbol=None) -> list[OrderResult]:
        orders = [_order_from_json(json.loads(v)) for v in self.r.hvals(f"{self.key}:orders")]
        return [o for o in orders if not o.is_terminal and (symbol is None or o.symbol == symbol)]

    def _take_fault(self, name: str) -> bool:
        left = self.r.decr(f"{self.key}:{name}")
        if left >= 0:
            return True
        self.r.delete(f"{self.key}:{name}")
        return False

    def _send_order(self, request: OrderRequest) -> OrderResult:
        if self._take_fault("fail_before"):
            raise BrokerUnavailable("fake broker: connection reset")
        with self.r.lock(f"{self.key}:lock", timeout=10):
            if self.r.hexists(f"{self.key}:orders", request.client_order_id):
                raise DuplicateOrder(f"duplicate client order id {request.client_order_id}")  # as real exchanges do
            price = self.reference_price(request.symbol)
            number = self.r.incr(f"{prefix()}:order-ids")
            now = dt.datetime.now(dt.UTC)
            order = OrderResult(
                client_order_id=request.client_order_id, broker_order_id=f"F{number}", symbol=request.symbol,
                side=request.side, order_type=request.order_type, status=OrderStatus.OPEN, quantity=request.quantity,
                price=request.price, stop_price=request.stop_price, reduce_only=request.reduce_only,
                created_at=now, updated_at=now,
            )
            marketable = request.order_type is OrderType.MARKET or (
                request.order_type is OrderType.LIMIT and price is not None
                and ((request.side is Side.BUY and request.price >= price) or (request.side is Side.SELL and request.price <= price))
            )
            if marketable:
                if price is None:
                    raise InsufficientFunds("fake broker: no price")
                fill_price = price if request.order_type is OrderType.MARKET else request.price
                order.status = OrderStatus.FILLED
                order.filled_quantity = request.quantity
                order.average_price = fill_price
                order.fills = [Fill(f"F{number}-1", fill_price, request.quantity, D(0), "USDT", now)]
                signed = request.quantity if request.side is Side.BUY else -request.quantity
                held = D(self.r.hget(f"{self.key}:positions", str(request.symbol)) or "0")
                self.r.hset(f"{self.key}:positions", str(request.symbol), str(held + signed))
            self.r.hset(f"{self.key}:orders", request.client_order_id, json.dumps(_order_to_json(order)))
            self.r.incr(f"{self.key}:accepted")
        if self._take_fault("fail_after"):
            raise BrokerUnavailable("fake broker: timeout after sending")
        return order

    def _cancel(self, *, client_order_id, broker_order_id, symbol) -> OrderResult:
        order = self.get_order(client_order_id=client_order_id)
        if not order.is_terminal:
            order.status = OrderStatus.CANCELLED
            self.r.hset(f"{self.key}:orders", client_order_id, json.dumps(_order_to_json(order)))
        return order


def _order_to_json(order: OrderResult) -> dict:
    return {
        "client_order_id": order.client_order_id, "broker_order_id": order.broker_order_id,
        "symbol": str(order.symbol), "side": order.side.value, "order_type": order.order_type.value,
        "status": order.status.value, "quantity": str(order.quantity), "filled_quantity": str(order.filled_quantity),
        "average_price": None if order.average_price is None else str(order.average_price),
        "price": None if order.price is None else str(order.price), "reduce_only": order.reduce_only,
        "fills": [[f.fill_id, str(f.price), str(f.quantity)] for f in order.fills],
    }


def _order_from_json(data: dict) -> OrderResult:
    return OrderResult(
        client_order_id=data["client_order_id"], broker_order_id=data["broker_order_id"],
        symbol=parse_tradingview(data["symbol"]), side=Side(data["side"]), order_type=OrderType(data["order_type"]),
        status=OrderStatus(data["status"]), quantity=D(data["quantity"]), filled_quantity=D(data["filled_quantity"]),
        average_price=D(data["average_price"]) if data["average_price"] else None,
        price=D(data["price"]) if data["price"] else None, reduce_only=data["reduce_only"],
        fills=[Fill(fid, D(p), D(q)) for fid, p, q in data["fills"]],
    )


class FakeAccounts:
    """Account provider for tests: fake Redis brokers and ccxt adapters against fake exchanges."""

    def _entry(self, account_id: int) -> dict:
        raw = client().hget(f"{prefix()}:{connection.schema_name}:accounts", str(account_id))
        if raw is None:
            raise AccountUnavailable(f"broker account {account_id} does not exist")
        return json.loads(raw)

    def get(self, account_id: int) -> LinkedAccount:
        entry = self._entry(account_id)
        return LinkedAccount(account_id, entry["owner_id"], entry["name"], entry["kind"], entry["kind"] == "fake")

    def service(self, account_id: int) -> BrokerService:
        entry = self._entry(account_id)
        if entry["kind"] == "ccxt":
            from brokers.core.ccxt_adapter import CcxtBroker

            return CcxtBroker(entry["exchange"], api_key=entry["api_key"], secret=entry["secret"],
                              api_base_url=entry["base_url"], timeout_ms=3000)
        return RedisFakeBroker(connection.schema_name, account_id)

    def owned_by(self, owner_id: int) -> list[LinkedAccount]:
        result = []
        for account_id, raw in client().hgetall(f"{prefix()}:{connection.schema_name}:accounts").items():
            entry = json.loads(raw)
            if entry["owner_id"] == owner_id:
                result.append(LinkedAccount(int(account_id), owner_id, entry["name"], entry["kind"]))
        return sorted(result, key=lambda a: a.id)
