"""Fake Gate.io APIv4: spot and USDT-settled perpetual futures.

Signature (Gate APIv4): SIGN = hex(HMAC-SHA512(secret, METHOD\\nPATH\\nQUERY\\nhex(SHA512(body))\\nTIMESTAMP))
with headers KEY, Timestamp, SIGN. Futures sizes are signed integers of ``quanto_multiplier`` base units.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.parse
from decimal import Decimal

from tests.brokers.fake_exchanges.server import FakeExchange, FakeOrder, Request, Response, VenueError, num

ERRORS = {
    "insufficient": (400, "BALANCE_NOT_ENOUGH", "Not enough balance"),
    "precision": (400, "INVALID_PRECISION", "Invalid precision"),
    "min_notional": (400, "INVALID_PARAM_VALUE", "Your order size 1 USDT is too small. The minimum is 3 USDT"),
    "invalid": (400, "INVALID_PARAM_VALUE", "Invalid amount"),
    "duplicate": (400, "DUPLICATE_REQUEST", "duplicate text in a live order"),
    "not_found": (404, "ORDER_NOT_FOUND", "Order not found"),
    "closed": (400, "TRADE_RESTRICTED", "market is closed"),
}


def _decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)


class FakeGate(FakeExchange):
    name = "gate"
    place_route = ("POST", "/orders")
    rate_limit = (429, {"label": "TOO_MANY_REQUESTS", "message": "Request Rate limit Exceeded (007)"})

    def verify(self, request: Request) -> Response | None:
        if request.header("KEY") != self.api_key:
            return Response(401, {"label": "INVALID_KEY", "message": "Invalid key provided"})
        timestamp = request.header("Timestamp")
        if abs(int(timestamp or 0) - time.time()) > 60:
            return Response(401, {"label": "REQUEST_EXPIRED", "message": "gap between request Timestamp and server time exceeds 60"})
        payload = "\n".join([
            request.method,
            request.path,
            urllib.parse.unquote(request.raw_query),
            hashlib.sha512(request.body).hexdigest(),
            timestamp,
        ])
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha512).hexdigest()
        if not hmac.compare_digest(request.header("SIGN"), expected):
            return Response(401, {"label": "INVALID_SIGNATURE", "message": "Signature mismatch"})
        return None

    def error(self, error: VenueError) -> Response:
        status, label, message = ERRORS[error.kind]
        if error.kind == "insufficient" and self._futures:
            label = "INSUFFICIENT_AVAILABLE"
        return Response(status, {"label": label, "message": message})

    def context(self, request: Request) -> None:
        self._futures = request.path.startswith("/api/v4/futures")

    def route(self, request: Request) -> Response:
        path = request.path.removeprefix("/api/v4")
        q = request.query
        if path == "/spot/currency_pairs":
            return Response(200, [self._pair(m) for m in self.venue.markets.values() if m.kind == "spot"])
        if path == "/margin/currency_pairs":
            return Response(200, [])
        if path == "/futures/usdt/contracts":
            return Response(200, [self._contract(m) for m in self.venue.markets.values() if m.kind == "swap"])
        if path == "/spot/tickers":
            m = self.venue.market(q["currency_pair"])
            return Response(200, [{"currency_pair": m.native, "last": num(m.price), "lowest_ask": num(m.price),
                                   "highest_bid": num(m.price - m.tick)}])
        denied = self.verify(request)
        if denied is not None:
            return denied
        if path == "/spot/accounts":
            return Response(200, [{"currency": a, "available": num(v), "locked": "0"} for a, v in self.venue.balances.items()])
        if path == "/futures/usdt/accounts":
            usdt = self.venue.balances.get("USDT", Decimal(0))
            return Response(200, {"total": num(usdt), "available": num(usdt), "currency": "USDT", "unrealised_pnl": "0",
                                  "position_margin": "0", "order_margin": "0", "point": "0", "in_dual_mode": False})
        if path == "/futures/usdt/positions":
            rows = []
            for native, (qty, entry) in self.venue.positions.items():
                m = self.venue.markets[native]
                rows.append({"contract": native, "size": int(qty / m.contract_size), "entry_price": num(entry),
                             "mark_price": num(m.price), "unrealised_pnl": num((m.price - entry) * qty),
                             "leverage": "10", "mode": "single", "value": num(qty * m.price), "margin": "0",
                             "liq_price": "0", "realised_pnl": "0", "update_time": int(time.time())})
            return Response(200, rows)
        if path in ("/spot/orders", "/futures/usdt/orders") and request.method == "POST":
            return Response(201, self._order_json(self._place(request.json)))
        if path == "/spot/open_orders":
            grouped = {}
            for o in self.venue.orders.values():
                if o.status == "open" and o.market.kind == "spot":
                    grouped.setdefault(o.market.native, []).append(self._order_json(o))
            return Response(200, [{"currency_pair": k, "total": len(v), "orders": v} for k, v in grouped.items()])
        if path in ("/spot/orders", "/futures/usdt/orders") and request.method == "GET":
            native = q.get("currency_pair") or q.get("contract")
            orders = [o for o in self.venue.orders.values() if o.status == "open"
                      and (o.market.kind == "swap") == self._futures and (not native or o.market.native == native)]
            return Response(200, [self._order_json(o) for o in orders])
        match = re.fullmatch(r"/(spot|futures/usdt)/orders/([^/]+)", path)
        if match:
            ident = match[2]
            order = self.venue.find(client_id=ident) if ident.startswith("t-") else self.venue.find(order_id=ident)
            if request.method == "DELETE":
                self.venue.cancel(order)
            return Response(200, self._order_json(order))
        return Response(404, {"label": "NOT_FOUND", "message": f"fake gate: no route {request.method} {path}"})

    def _place(self, body: dict) -> FakeOrder:
        text = body.get("text", "")
        if text and not (text.startswith("t-") and len(text) <= 28):
            raise VenueError("invalid", "text must start with t- and be at most 28 characters")
        if "contract" in body:
            market = self.venue.market(body["contract"])
            size = Decimal(str(body["size"]))
            price = Decimal(str(body.get("price") or "0"))
            return self.venue.place(
                market.native, "buy" if size > 0 else "sell", "market" if price == 0 else "limit",
                abs(size) * market.contract_size, price or None, text, tif=body.get("tif", "gtc").upper(),
                reduce_only=bool(body.get("reduce_only")),
            )
        price = Decimal(body["price"]) if body.get("price") else None
        return self.venue.place(
            body["currency_pair"], body["side"], body.get("type", "limit"), Decimal(body["amount"]), price, text,
            tif=body.get("time_in_force", "gtc").upper(),
        )

    def _order_json(self, order: FakeOrder) -> dict:
        m = order.market
        created = order.created_ms
        if m.kind == "swap":
            sign = 1 if order.side == "buy" else -1
            finished = order.status != "open"
            return {
                "id": int(order.id), "contract": m.native, "create_time": created / 1000,
                "size": sign * int(order.qty / m.contract_size), "left": sign * int(order.remaining / m.contract_size),
                "price": num(order.price) if order.price else "0", "fill_price": num(order.avg_price),
                "tif": order.tif.lower(), "is_reduce_only": order.reduce_only, "text": order.client_id,
                "status": "finished" if finished else "open",
                "finish_as": {"filled": "filled", "cancelled": "ioc" if order.tif == "IOC" else "cancelled", "open": ""}[order.status]
                if finished else "", "finish_time": created / 1000 if finished else None,
            }
        return {
            "id": order.id, "text": order.client_id, "create_time_ms": created, "update_time_ms": created,
            "status": {"open": "open", "filled": "closed", "cancelled": "cancelled"}[order.status],
            "currency_pair": m.native, "type": order.type, "account": "spot", "side": order.side,
            "amount": num(order.qty), "price": num(order.price) if order.price else "0",
            "time_in_force": order.tif.lower(), "left": num(order.remaining), "filled_amount": num(order.filled),
            "filled_total": num((order.avg_price or 0) * order.filled), "avg_deal_price": num(order.avg_price),
            "fee": "0", "fee_currency": m.base, "finish_as": "filled" if order.status == "filled" else order.status,
        }

    @staticmethod
    def _pair(m) -> dict:
        return {"id": m.native, "base": m.base, "quote": m.quote, "fee": "0.2", "min_base_amount": num(m.min_qty),
                "min_quote_amount": num(m.min_notional), "amount_precision": _decimals(m.step),
                "precision": _decimals(m.tick), "trade_status": "tradable", "sell_start": 0, "buy_start": 0,
                "type": "normal"}

    @staticmethod
    def _contract(m) -> dict:
        return {"name": m.native, "type": "direct", "quanto_multiplier": num(m.contract_size),
                "order_price_round": num(m.tick), "mark_price_round": num(m.tick), "order_size_min": 1,
                "order_size_max": 1000000, "leverage_min": "1", "leverage_max": "100", "in_delisting": False,
                "mark_price": num(m.price), "last_price": num(m.price), "index_price": num(m.price),
                "maintenance_rate": "0.005", "maker_fee_rate": "-0.0001", "taker_fee_rate": "0.00075",
                "funding_rate": "0.0001", "funding_interval": 28800, "funding_next_apply": 0,
                "status": "trading", "launch_time": 1609459200, "create_time": 1609459200}
