"""Fake Bybit v5 (Unified Trading Account): spot and linear perpetuals.

Signature (Bybit v5): X-BAPI-SIGN = hex(HMAC-SHA256(secret, timestamp + api_key + recv_window + payload)),
payload = query string (GET) or JSON body (POST).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal

from tests.brokers.fake_exchanges.server import FakeExchange, FakeOrder, Request, Response, VenueError, num

ERRORS = {
    "insufficient": {"spot": (170131, "Balance insufficient"), "linear": (110007, "ab not enough for new order")},
    "precision": {"spot": (170137, "Order volume decimal too long"), "linear": (10001, "Qty invalid")},
    "min_notional": {"spot": (170140, "Transaction amount lower than the minimum."), "linear": (110094, "Order notional value below the lower limit")},
    "invalid": {"spot": (170136, "Order quantity lower than the minimum."), "linear": (10001, "params error")},
    "duplicate": {"spot": (110072, "OrderLinkedID is duplicate"), "linear": (110072, "OrderLinkedID is duplicate")},
    "not_found": {"spot": (170213, "Order does not exist."), "linear": (110001, "Order does not exist")},
    "closed": {"spot": (170130, "Data sent for paramter '%s' is out of range."), "linear": (10001, "symbol not trading")},
}
STATUS = {"open": "New", "filled": "Filled", "cancelled": "Cancelled"}


class FakeBybit(FakeExchange):
    name = "bybit"
    place_route = ("POST", "/v5/order/create")
    rate_limit = (200, {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 0})

    def verify(self, request: Request) -> Response | None:
        if request.header("X-BAPI-API-KEY") != self.api_key:
            return Response(200, {"retCode": 10003, "retMsg": "API key is invalid.", "result": {}, "retExtInfo": {}, "time": 0})
        timestamp = request.header("X-BAPI-TIMESTAMP")
        recv_window = request.header("X-BAPI-RECV-WINDOW")
        if abs(int(timestamp or 0) - time.time() * 1000) > int(recv_window or 5000):
            return Response(200, {"retCode": 10002, "retMsg": "invalid request, please check your server timestamp or recv_window param", "result": {}})
        payload = request.raw_query if request.method == "GET" else request.body.decode()
        expected = hmac.new(self.secret.encode(), (timestamp + self.api_key + recv_window + payload).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.header("X-BAPI-SIGN"), expected):
            return Response(200, {"retCode": 10004, "retMsg": "error sign! origin_string[...]", "result": {}, "retExtInfo": {}, "time": 0})
        return None

    def error(self, error: VenueError) -> Response:
        code, msg = ERRORS[error.kind][self._category]
        return Response(200, {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": int(time.time() * 1000)})

    def _ok(self, result) -> Response:
        return Response(200, {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": int(time.time() * 1000)})

    def context(self, request: Request) -> None:
        body = request.json if request.body else {}
        self._category = request.query.get("category") or (body or {}).get("category", "spot")

    def route(self, request: Request) -> Response:
        path = request.path
        q = request.query
        if path == "/v5/market/instruments-info":
            kind = "swap" if q["category"] == "linear" else "spot"
            rows = [self._instrument(m) for m in self.venue.markets.values() if m.kind == kind]
            return self._ok({"category": q["category"], "list": rows, "nextPageCursor": ""})
        denied = self.verify(request)
        if denied is not None:
            return denied
        if path == "/v5/order/create":
            order = self._place(request.json)
            return self._ok({"orderId": order.id, "orderLinkId": order.client_id})
        if path in ("/v5/order/realtime", "/v5/order/history"):
            if q.get("orderId") or q.get("orderLinkId"):
                try:
                    orders = [self.venue.find(order_id=q.get("orderId"), client_id=q.get("orderLinkId"))]
                except VenueError:
                    orders = []
            else:
                want_open = path == "/v5/order/realtime"
                orders = [o for o in self.venue.orders.values() if (o.status == "open") == want_open]
            kind = "swap" if self._category == "linear" else "spot"
            orders = [o for o in orders if o.market.kind == kind and (not q.get("symbol") or o.market.native == q["symbol"])]
            return self._ok({"category": self._category, "list": [self._order_json(o) for o in orders], "nextPageCursor": ""})
        if path == "/v5/order/cancel":
            body = request.json
            order = self.venue.find(order_id=body.get("orderId"), client_id=body.get("orderLinkId"))
            self.venue.cancel(order)
            return self._ok({"orderId": order.id, "orderLinkId": order.client_id})
        if path == "/v5/account/wallet-balance":
            coins = [{"coin": a, "walletBalance": num(v), "locked": "0", "equity": num(v), "availableToWithdraw": num(v),
                      "totalOrderIM": "0", "totalPositionIM": "0", "usdValue": num(v), "unrealisedPnl": "0"}
                     for a, v in self.venue.balances.items()]
            return self._ok({"list": [{"accountType": "UNIFIED", "totalEquity": "0", "coin": coins}]})
        if path == "/v5/position/list":
            rows = []
            for native, (qty, entry) in self.venue.positions.items():
                m = self.venue.markets[native]
                rows.append({"symbol": native, "side": "Buy" if qty > 0 else "Sell", "size": num(abs(qty)), "avgPrice": num(entry),
                             "positionValue": num(abs(qty) * entry), "unrealisedPnl": num((m.price - entry) * qty),
                             "markPrice": num(m.price), "leverage": "10", "positionIdx": 0, "tradeMode": 0,
                             "createdTime": "0", "updatedTime": str(int(time.time() * 1000)), "liqPrice": "",
                             "positionStatus": "Normal", "category": "linear"})
            return self._ok({"category": "linear", "list": rows, "nextPageCursor": ""})
        return Response(404, {"retCode": 10001, "retMsg": f"fake bybit: no route {request.method} {path}", "result": {}})

    def _place(self, body: dict) -> FakeOrder:
        link = body.get("orderLinkId", "")
        if len(link) > 36:
            raise VenueError("invalid", "orderLinkId too long")
        if body["category"] == "spot" and body["orderType"] == "Market" and body["side"] == "Buy" and body.get("marketUnit") != "baseCoin":
            raise VenueError("invalid", "fake bybit only supports base-denominated market buys")
        return self.venue.place(
            body["symbol"], body["side"].lower(), body["orderType"].lower(), Decimal(body["qty"]),
            Decimal(body["price"]) if body.get("price") else None, link, tif=body.get("timeInForce", "GTC"),
            reduce_only=bool(body.get("reduceOnly")),
        )

    def _order_json(self, order: FakeOrder) -> dict:
        status = STATUS[order.status]
        if order.status == "open" and order.filled > 0:
            status = "PartiallyFilled"
        extra = {"tpslMode": "Full"} if order.market.kind == "swap" else {}  # only contract orders carry it
        return extra | {
            "orderId": order.id, "orderLinkId": order.client_id, "symbol": order.market.native,
            "price": num(order.price) if order.price else "0", "qty": num(order.qty), "side": order.side.capitalize(),
            "orderStatus": status, "avgPrice": num(order.avg_price) if order.avg_price else "",
            "cumExecQty": num(order.filled), "cumExecValue": num((order.avg_price or 0) * order.filled), "cumExecFee": "0",
            "timeInForce": order.tif, "orderType": order.type.capitalize(), "reduceOnly": order.reduce_only,
            "createdTime": str(order.created_ms), "updatedTime": str(order.created_ms), "leavesQty": num(order.remaining),
            "triggerPrice": "", "stopOrderType": "", "positionIdx": 0, "marketUnit": "baseCoin" if order.market.kind == "spot" else "",
        }

    @staticmethod
    def _instrument(m) -> dict:
        if m.kind == "spot":
            return {"symbol": m.native, "baseCoin": m.base, "quoteCoin": m.quote, "status": "Trading", "innovation": "0",
                    "marginTrading": "none",
                    "lotSizeFilter": {"basePrecision": num(m.step), "quotePrecision": "0.00000001", "minOrderQty": num(m.min_qty),
                                      "maxOrderQty": "1000", "minOrderAmt": num(m.min_notional), "maxOrderAmt": "2000000"},
                    "priceFilter": {"tickSize": num(m.tick)}}
        return {"symbol": m.native, "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": m.base,
                "quoteCoin": m.quote, "settleCoin": m.quote, "launchTime": "1585526400000", "deliveryTime": "0",
                "deliveryFeeRate": "", "priceScale": "2",
                "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                "priceFilter": {"minPrice": num(m.tick), "maxPrice": "1999999", "tickSize": num(m.tick)},
                "lotSizeFilter": {"maxOrderQty": "1000", "minOrderQty": num(m.min_qty), "qtyStep": num(m.step),
                                  "postOnlyMaxOrderQty": "1000", "maxMktOrderQty": "1000", "minNotionalValue": num(m.min_notional)},
                "unifiedMarginTrade": True, "fundingInterval": 480, "copyTrading": "both"}
