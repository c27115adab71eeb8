"""Fake OKX v5: SPOT and USDT-margined SWAP.

Signature (OKX v5): OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath[?query] + body)),
with OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE and OK-ACCESS-TIMESTAMP (ISO 8601, ms) headers.
SWAP sizes are contracts of ``ctVal`` base units.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time
from decimal import Decimal

from tests.brokers.fake_exchanges.server import FakeExchange, FakeOrder, Request, Response, VenueError, num

ERRORS = {
    "insufficient": ("51008", "Order failed. Insufficient USDT balance in account."),
    "precision": ("51121", "Order quantity must be a multiple of the lot size."),
    "min_notional": ("51020", "Your order should meet or exceed the minimum order amount."),
    "invalid": ("51000", "Parameter sz error"),
    "duplicate": ("51016", "Duplicated clOrdId"),
    "not_found": ("51603", "Order does not exist"),
    "closed": ("51001", "Instrument ID does not exist."),
}
STATE = {"open": "live", "filled": "filled", "cancelled": "canceled"}


class FakeOkx(FakeExchange):
    name = "okx"
    place_route = ("POST", "/trade/batch-orders")
    rate_limit = (429, {"code": "50011", "msg": "Rate limit reached. Please refer to API documentation and throttle requests accordingly.", "data": []})

    def verify(self, request: Request) -> Response | None:
        if request.header("OK-ACCESS-KEY") != self.api_key:
            return Response(401, {"code": "50111", "msg": "Invalid OK-ACCESS-KEY.", "data": []})
        if request.header("OK-ACCESS-PASSPHRASE") != self.passphrase:
            return Response(401, {"code": "50105", "msg": "Invalid OK-ACCESS-PASSPHRASE.", "data": []})
        timestamp = request.header("OK-ACCESS-TIMESTAMP")
        sent = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
        if abs(sent - time.time()) > 30:
            return Response(401, {"code": "50102", "msg": "Timestamp request expired.", "data": []})
        path = request.path + ("?" + request.raw_query if request.raw_query else "")
        payload = timestamp + request.method + path + request.body.decode()
        expected = base64.b64encode(hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(request.header("OK-ACCESS-SIGN"), expected):
            return Response(401, {"code": "50113", "msg": "Invalid Sign.", "data": []})
        return None

    def error(self, error: VenueError) -> Response:
        code, msg = ERRORS[error.kind]
        if error.kind == "not_found":
            return Response(200, {"code": code, "msg": msg, "data": []})
        return Response(200, {"code": "1", "msg": "Operation failed.", "data": [{"sCode": code, "sMsg": msg, "ordId": "", "clOrdId": ""}]})

    def route(self, request: Request) -> Response:
        path = request.path.removeprefix("/api/v5")
        q = request.query
        if path == "/public/instruments":
            kind = {"SPOT": "spot", "SWAP": "swap"}[q["instType"]]
            return Response(200, {"code": "0", "msg": "", "data": [self._instrument(m) for m in self.venue.markets.values() if m.kind == kind]})
        if path == "/market/ticker":
            m = self.venue.market(q["instId"])
            return Response(200, {"code": "0", "msg": "", "data": [{"instId": m.native, "last": num(m.price), "askPx": num(m.price), "bidPx": num(m.price), "ts": str(int(time.time() * 1000))}]})
        denied = self.verify(request)
        if denied is not None:
            return denied
        ok = lambda data: Response(200, {"code": "0", "msg": "", "data": data})  # noqa: E731
        if path == "/trade/batch-orders":
            results = []
            for item in request.json:
                try:
                    order = self._place(item)
                    results.append({"ordId": order.id, "clOrdId": order.client_id, "tag": "", "sCode": "0", "sMsg": "Order placed"})
                except VenueError as error:
                    code, msg = ERRORS[error.kind]
                    results.append({"ordId": "", "clOrdId": item.get("clOrdId", ""), "tag": "", "sCode": code, "sMsg": msg})
            if all(r["sCode"] != "0" for r in results):
                return Response(200, {"code": "1", "msg": "All operations failed", "data": results})
            return ok(results)
        if path == "/trade/order" and request.method == "POST":
            order = self._place(request.json)
            return ok([{"ordId": order.id, "clOrdId": order.client_id, "tag": "", "sCode": "0", "sMsg": "Order placed"}])
        if path == "/trade/order":
            order = self.venue.find(order_id=q.get("ordId"), client_id=q.get("clOrdId"))
            return ok([self._order_json(order)])
        if path == "/trade/cancel-order":
            body = request.json
            order = self.venue.find(order_id=body.get("ordId"), client_id=body.get("clOrdId"))
            if order.status != "open":
                return Response(200, {"code": "1", "msg": "", "data": [{"sCode": "51400", "sMsg": "Cancellation failed as the order has been filled, canceled or does not exist.", "ordId": order.id, "clOrdId": order.client_id}]})
            self.venue.cancel(order)
            return ok([{"ordId": order.id, "clOrdId": order.client_id, "sCode": "0", "sMsg": ""}])
        if path == "/trade/orders-pending":
            kind = {"SPOT": "spot", "SWAP": "swap"}.get(q.get("instType", ""), None)
            return ok([self._order_json(o) for o in self.venue.orders.values() if o.status == "open"
                       and (kind is None or o.market.kind == kind) and (not q.get("instId") or o.market.native == q["instId"])])
        if path == "/account/balance":
            details = [{"ccy": a, "availBal": num(v), "frozenBal": "0", "cashBal": num(v), "eq": num(v), "availEq": num(v),
                        "uTime": str(int(time.time() * 1000))} for a, v in self.venue.balances.items()]
            return ok([{"totalEq": "0", "details": details, "uTime": str(int(time.time() * 1000))}])
        if path == "/account/positions":
            rows = []
            for native, (qty, entry) in self.venue.positions.items():
                m = self.venue.markets[native]
                rows.append({"instId": native, "instType": "SWAP", "pos": num(qty / m.contract_size), "posSide": "net",
                             "avgPx": num(entry), "upl": num((m.price - entry) * qty), "lever": "10", "mgnMode": "cross",
                             "markPx": num(m.price), "notionalUsd": num(abs(qty) * m.price), "ccy": "USDT",
                             "cTime": "0", "uTime": str(int(time.time() * 1000)), "liqPx": "", "margin": "", "imr": "", "mmr": ""})
            return ok(rows)
        return Response(404, {"code": "50000", "msg": f"fake okx: no route {request.method} {path}", "data": []})

    def _place(self, body: dict) -> FakeOrder:
        cl = body.get("clOrdId", "")
        if cl and not re.fullmatch(r"[A-Za-z0-9]{1,32}", cl):
            raise VenueError("invalid", "clOrdId must be up to 32 alphanumerics")
        m = self.venue.market(body["instId"])
        size = Decimal(body["sz"])
        qty = size * m.contract_size if m.kind == "swap" else size
        ord_type = body["ordType"]
        tif = {"ioc": "IOC", "fok": "FOK"}.get(ord_type, "GTC")
        type_ = "market" if ord_type == "market" else "limit"
        return self.venue.place(m.native, body["side"], type_, qty, Decimal(body["px"]) if body.get("px") else None, cl,
                                tif=tif, reduce_only=str(body.get("reduceOnly", "")).lower() == "true")

    def _order_json(self, order: FakeOrder) -> dict:
        m = order.market
        factor = m.contract_size if m.kind == "swap" else Decimal(1)
        state = STATE[order.status]
        if order.status == "open" and order.filled > 0:
            state = "partially_filled"
        ord_type = order.type if order.tif == "GTC" else order.tif.lower()
        return {
            "instType": "SWAP" if m.kind == "swap" else "SPOT", "instId": m.native, "ordId": order.id,
            "clOrdId": order.client_id, "px": num(order.price) if order.price else "", "sz": num(order.qty / factor),
            "ordType": ord_type, "side": order.side, "posSide": "net", "tdMode": "cross" if m.kind == "swap" else "cash",
            "accFillSz": num(order.filled / factor), "avgPx": num(order.avg_price) if order.avg_price else "",
            "fillPx": num(order.avg_price) if order.avg_price else "", "state": state, "fee": "0", "feeCcy": "USDT",
            "cTime": str(order.created_ms), "uTime": str(order.created_ms), "reduceOnly": "true" if order.reduce_only else "false",
            "tgtCcy": "", "lever": "10" if m.kind == "swap" else "", "tag": "", "category": "normal",
        }

    @staticmethod
    def _instrument(m) -> dict:
        swap = m.kind == "swap"
        return {
            "instType": "SWAP" if swap else "SPOT", "instId": m.native, "uly": f"{m.base}-{m.quote}" if swap else "",
            "instFamily": f"{m.base}-{m.quote}" if swap else "", "baseCcy": "" if swap else m.base,
            "quoteCcy": "" if swap else m.quote, "settleCcy": m.quote if swap else "",
            "ctVal": num(m.contract_size) if swap else "", "ctMult": "1" if swap else "", "ctValCcy": m.base if swap else "",
            "ctType": "linear" if swap else "", "tickSz": num(m.tick), "lotSz": num(m.step / m.contract_size if swap else m.step),
            "minSz": num(m.min_qty / m.contract_size if swap else m.min_qty), "state": "live", "listTime": "1606468572000",
            "expTime": "", "lever": "100" if swap else "", "maxMktSz": "1000000", "maxLmtSz": "1000000", "alias": "",
            "optType": "", "stk": "", "ruleType": "normal",
        }
