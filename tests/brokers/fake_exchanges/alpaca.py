"""Fake Alpaca Trading API v2 (the subset alpaca-py's TradingClient calls).

Auth: APCA-API-KEY-ID / APCA-API-SECRET-KEY headers. Account fields include the day-trading
facts (``pattern_day_trader``, ``daytrade_count``, ``daytrading_buying_power``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

from tests.brokers.fake_exchanges.server import FakeExchange, FakeOrder, Request, Response, VenueError, num

ERRORS = {
    "insufficient": (403, 40310000, "insufficient buying power"),
    "precision": (422, 42210000, "invalid limit_price 190.004. sub-penny increment does not fulfill minimum pricing criteria"),
    "min_notional": (422, 40010001, "cost basis must be >= 1"),
    "invalid": (422, 40010001, "qty must be > 0"),
    "duplicate": (422, 40010001, "client_order_id must be unique"),
    "not_found": (404, 40410000, "order not found"),
    "closed": (403, 40310000, "market is closed"),
    "pdt": (403, 40310100, "trade denied due to pattern day trading protection"),
}
STATUS = {"open": "new", "filled": "filled", "cancelled": "canceled"}
NAMESPACE = uuid.UUID("6f1c1d2e-0000-4000-8000-000000000000")


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


class FakeAlpaca(FakeExchange):
    name = "alpaca"
    place_route = ("POST", "/v2/orders")
    rate_limit = (429, {"code": 42910000, "message": "rate limit exceeded"})

    def __init__(self, venue, **kwargs):
        super().__init__(venue, **kwargs)
        self.account = {
            "pattern_day_trader": False,
            "daytrade_count": 0,
            "daytrading_buying_power": "40000",
            "multiplier": "2",
        }

    def error(self, error: VenueError) -> Response:
        status, code, message = ERRORS[error.kind]
        return Response(status, {"code": code, "message": message})

    def route(self, request: Request) -> Response:
        if request.header("APCA-API-KEY-ID") != self.api_key or request.header("APCA-API-SECRET-KEY") != self.secret:
            return Response(401, {"code": 40110000, "message": "request is not authorized"})
        path, q = request.path, request.query
        if path == "/v2/orders" and request.method == "POST":
            return Response(200, self._order_json(self._place(request.json)))
        if path == "/v2/orders" and request.method == "GET":
            symbols = set(filter(None, q.get("symbols", "").split(",")))
            orders = [o for o in self.venue.orders.values() if o.status == "open" and (not symbols or o.market.native in symbols)]
            return Response(200, [self._order_json(o) for o in orders])
        if path == "/v2/orders:by_client_order_id":
            return Response(200, self._order_json(self.venue.find(client_id=q["client_order_id"])))
        match = re.fullmatch(r"/v2/orders/([^/]+)", path)
        if match:
            order = self._by_uuid(match[1])
            if request.method == "DELETE":
                if order.status != "open":
                    return Response(422, {"code": 42210000, "message": f"order is already in \"{STATUS[order.status]}\" state"})
                self.venue.cancel(order)
                return Response(204, b"")
            return Response(200, self._order_json(order))
        match = re.fullmatch(r"/v2/assets/([^/]+)", path)
        if match:
            market = self.venue.markets.get(match[1])
            if market is None:
                return Response(404, {"code": 40410000, "message": "asset not found"})
            return Response(200, {"id": str(uuid.uuid5(NAMESPACE, market.native)), "class": "us_equity",
                                  "exchange": "NASDAQ", "symbol": market.native, "name": market.native,
                                  "status": "active", "tradable": True, "marginable": True, "shortable": True,
                                  "easy_to_borrow": True, "fractionable": True, "attributes": []})
        if path == "/v2/positions":
            rows = []
            for market in self.venue.markets.values():
                qty = self.venue.balances.get(market.native, Decimal(0))
                if qty:
                    rows.append({"asset_id": str(uuid.uuid5(NAMESPACE, market.native)), "symbol": market.native,
                                 "exchange": "NASDAQ", "asset_class": "us_equity", "avg_entry_price": num(market.price),
                                 "qty": num(abs(qty)), "side": "long" if qty > 0 else "short",
                                 "market_value": num(qty * market.price), "cost_basis": num(qty * market.price),
                                 "unrealized_pl": "0", "current_price": num(market.price), "qty_available": num(abs(qty))})
            return Response(200, rows)
        if path == "/v2/account":
            cash = self.venue.balances.get("USD", Decimal(0))
            equity = cash + sum(self.venue.balances.get(m.native, Decimal(0)) * m.price for m in self.venue.markets.values())
            return Response(200, {"id": str(uuid.uuid5(NAMESPACE, "account")), "account_number": "PA1234567",
                                  "status": "ACTIVE", "currency": "USD", "cash": num(cash), "buying_power": num(cash * 2),
                                  "regt_buying_power": num(cash * 2), "non_marginable_buying_power": num(cash),
                                  "equity": num(equity), "last_equity": num(equity), "portfolio_value": num(equity),
                                  "trading_blocked": False, "transfers_blocked": False, "account_blocked": False,
                                  "shorting_enabled": True, "created_at": "2024-01-02T15:04:05Z", **self.account})
        return Response(404, {"code": 40410000, "message": f"fake alpaca: no route {request.method} {path}"})

    def _by_uuid(self, ident: str) -> FakeOrder:
        for order in self.venue.orders.values():
            if str(uuid.uuid5(NAMESPACE, order.id)) == ident:
                return order
        raise VenueError("not_found", "order not found")

    def _place(self, body: dict) -> FakeOrder:
        if self.account["pattern_day_trader"] and self.account["daytrade_count"] >= 3:
            raise VenueError("pdt", "pattern day trading protection")
        type_ = body["type"]
        price = body.get("limit_price")
        return self.venue.place(
            body["symbol"], body["side"], "market" if type_ in ("market", "stop") else "limit", Decimal(str(body["qty"])),
            Decimal(str(price)) if price is not None else None, body.get("client_order_id", ""),
            tif=body["time_in_force"].upper(),
            stop_price=Decimal(str(body["stop_price"])) if body.get("stop_price") is not None else None,
        )

    def _order_json(self, order: FakeOrder) -> dict:
        status = STATUS[order.status]
        if order.status == "open" and order.filled > 0:
            status = "partially_filled"
        if order.status == "cancelled" and order.tif in ("IOC", "FOK"):
            status = "canceled"
        created = _iso(order.created_ms)
        return {
            "id": str(uuid.uuid5(NAMESPACE, order.id)), "client_order_id": order.client_id, "created_at": created,
            "updated_at": created, "submitted_at": created, "filled_at": created if order.status == "filled" else None,
            "expired_at": None, "canceled_at": created if order.status == "cancelled" else None, "failed_at": None,
            "replaced_at": None, "replaced_by": None, "replaces": None,
            "asset_id": str(uuid.uuid5(NAMESPACE, order.market.native)), "symbol": order.market.native,
            "asset_class": "us_equity", "notional": None, "qty": num(order.qty), "filled_qty": num(order.filled),
            "filled_avg_price": num(order.avg_price) if order.avg_price is not None else None, "order_class": "",
            "order_type": order.type if not order.stop_price else ("stop_limit" if order.price else "stop"),
            "type": order.type if not order.stop_price else ("stop_limit" if order.price else "stop"),
            "side": order.side, "time_in_force": order.tif.lower(),
            "limit_price": num(order.price) if order.price is not None else None,
            "stop_price": num(order.stop_price) if order.stop_price is not None else None, "status": status,
            "extended_hours": False, "legs": None, "trail_percent": None, "trail_price": None, "hwm": None,
        }
