"""Fake Binance: spot (/api/v3) and USDⓈ-M futures (/fapi). HMAC-SHA256 signatures over
``query string + body`` exactly as Binance verifies them (header X-MBX-APIKEY)."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal

from tests.brokers.fake_exchanges.server import FakeExchange, FakeOrder, Request, Response, VenueError, num

STATUS = {"open": "NEW", "filled": "FILLED", "cancelled": "CANCELED", "rejected": "REJECTED"}
ERRORS = {
    "insufficient": (400, -2010, "Account has insufficient balance for requested action."),
    "precision": (400, -1111, "Precision is over the maximum defined for this asset."),
    "min_notional": (400, -1013, "Filter failure: NOTIONAL"),
    "invalid": (400, -1013, "Invalid quantity."),
    "duplicate": (400, -2010, "Duplicate order sent."),
    "not_found": (400, -2013, "Order does not exist."),
    "closed": (400, -1013, "Market is closed."),
}


def _strip_signature(raw: str) -> tuple[str, str | None]:
    parts, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            parts.append(part)
    return "&".join(parts), signature


class FakeBinance(FakeExchange):
    name = "binance"
    place_route = ("POST", "/order")
    rate_limit = (429, {"code": -1003, "msg": "Too many requests; current limit is 1200 request weight per 1 MINUTE."})

    def verify(self, request: Request) -> Response | None:
        if request.header("X-MBX-APIKEY") != self.api_key:
            return Response(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
        query, sig_q = _strip_signature(request.raw_query)
        body, sig_b = _strip_signature(request.body.decode())
        signature = sig_q or sig_b
        payload = query + body
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(signature, expected):
            return Response(400, {"code": -1022, "msg": "Signature for this request is not valid."})
        params = dict(request.query) | request.form
        if abs(int(params.get("timestamp", 0)) - time.time() * 1000) > int(params.get("recvWindow", 5000)):
            return Response(400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
        return None

    def error(self, error: VenueError) -> Response:
        status, code, msg = ERRORS[error.kind]
        if error.kind == "min_notional" and self._futures:
            code, msg = -4164, "Order's notional must be no smaller than 5 (unless you choose reduce only)."
        return Response(status, {"code": code, "msg": msg})

    def context(self, request: Request) -> None:
        self._futures = request.path.startswith("/fapi")

    def route(self, request: Request) -> Response:
        path = request.path
        if path in ("/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo"):
            return Response(200, self._exchange_info(futures=self._futures))
        denied = self.verify(request)
        if denied is not None:
            return denied
        params = dict(request.query) | request.form
        if path in ("/api/v3/order", "/fapi/v1/order"):
            if request.method == "POST":
                return Response(200, self._order_json(self._place(params)))
            order = self.venue.find(order_id=params.get("orderId"), client_id=params.get("origClientOrderId"))
            if request.method == "DELETE":
                if order.status != "open":
                    return Response(400, {"code": -2011, "msg": "Unknown order sent."})
                self.venue.cancel(order)
            return Response(200, self._order_json(order))
        if path in ("/api/v3/openOrders", "/fapi/v1/openOrders"):
            orders = [
                o for o in self.venue.orders.values()
                if o.status == "open" and (not params.get("symbol") or o.market.native == params["symbol"])
                and (o.market.kind == "swap") == self._futures
            ]
            return Response(200, [self._order_json(o) for o in orders])
        if path == "/api/v3/account":
            return Response(200, {
                "canTrade": True, "accountType": "SPOT", "updateTime": int(time.time() * 1000),
                "balances": [{"asset": a, "free": num(v), "locked": "0"} for a, v in self.venue.balances.items()],
            })
        if path in ("/fapi/v2/account", "/fapi/v3/account"):
            usdt = self.venue.balances.get("USDT", Decimal(0))
            return Response(200, {
                "totalWalletBalance": num(usdt), "availableBalance": num(usdt),
                "assets": [{"asset": "USDT", "walletBalance": num(usdt), "availableBalance": num(usdt),
                            "marginBalance": num(usdt), "crossWalletBalance": num(usdt),
                            "unrealizedProfit": "0", "maxWithdrawAmount": num(usdt), "initialMargin": "0",
                            "updateTime": int(time.time() * 1000)}],
                "positions": [],
            })
        if path in ("/fapi/v2/positionRisk", "/fapi/v3/positionRisk"):
            rows = []
            for native, (qty, entry) in self.venue.positions.items():
                market = self.venue.markets[native]
                rows.append({
                    "symbol": native, "positionAmt": num(qty), "entryPrice": num(entry),
                    "markPrice": num(market.price), "unRealizedProfit": num((market.price - entry) * qty),
                    "liquidationPrice": "0", "leverage": "10", "marginType": "cross", "isolatedMargin": "0",
                    "positionSide": "BOTH", "notional": num(qty * market.price), "updateTime": 0,
                })
            return Response(200, rows)
        if path == "/fapi/v1/leverageBracket":
            return Response(200, [
                {"symbol": m.native, "brackets": [{"bracket": 1, "initialLeverage": 125, "notionalCap": 50000,
                                                   "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0}]}
                for m in self.venue.markets.values() if m.kind == "swap"
            ])
        return Response(404, {"code": -1, "msg": f"fake binance: no route {request.method} {path}"})

    def _place(self, params: dict) -> FakeOrder:
        type_ = params["type"].lower()
        if type_ in ("stop_loss", "stop_market", "stop", "stop_loss_limit", "take_profit"):
            type_ = "limit" if "limit" in type_ or type_ == "stop" else "market"
        return self.venue.place(
            params["symbol"],
            params["side"].lower(),
            type_,
            Decimal(params["quantity"]),
            Decimal(params["price"]) if params.get("price") else None,
            params.get("newClientOrderId", ""),
            tif=params.get("timeInForce", "GTC"),
            reduce_only=params.get("reduceOnly") == "true",
            stop_price=Decimal(params["stopPrice"]) if params.get("stopPrice") else None,
        )

    def _order_json(self, order: FakeOrder) -> dict:
        status = STATUS[order.status]
        if order.status == "open" and order.filled > 0:
            status = "PARTIALLY_FILLED"
        if order.status == "cancelled" and order.tif in ("IOC", "FOK"):
            status = "EXPIRED"
        data = {
            "symbol": order.market.native, "orderId": int(order.id), "clientOrderId": order.client_id,
            "price": num(order.price), "origQty": num(order.qty), "executedQty": num(order.filled),
            "status": status, "timeInForce": order.tif, "type": order.type.upper(), "side": order.side.upper(),
            "time": order.created_ms, "updateTime": order.created_ms, "stopPrice": num(order.stop_price),
        }
        if order.market.kind == "swap":
            data |= {"avgPrice": num(order.avg_price), "cumQuote": num((order.avg_price or 0) * order.filled),
                     "reduceOnly": order.reduce_only, "positionSide": "BOTH", "origType": order.type.upper()}
        else:
            data |= {"cummulativeQuoteQty": num((order.avg_price or 0) * order.filled), "orderListId": -1,
                     "transactTime": order.created_ms, "workingTime": order.created_ms, "isWorking": True}
        return data

    def _exchange_info(self, *, futures: bool) -> dict:
        symbols = []
        for m in self.venue.markets.values():
            if (m.kind == "swap") != futures:
                continue
            filters = [
                {"filterType": "PRICE_FILTER", "minPrice": num(m.tick), "maxPrice": "1000000", "tickSize": num(m.tick)},
                {"filterType": "LOT_SIZE", "minQty": num(m.min_qty), "maxQty": "9000", "stepSize": num(m.step)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": num(m.min_qty), "maxQty": "9000", "stepSize": num(m.step)},
            ]
            entry = {
                "symbol": m.native, "status": "TRADING", "baseAsset": m.base, "quoteAsset": m.quote,
                "baseAssetPrecision": 8, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET", "STOP_LOSS_LIMIT"], "filters": filters,
            }
            if futures:
                filters.append({"filterType": "MIN_NOTIONAL", "notional": num(m.min_notional)})
                entry |= {"contractType": "PERPETUAL", "marginAsset": m.quote, "pricePrecision": 2,
                          "quantityPrecision": 3, "underlyingType": "COIN", "deliveryDate": 4133404800000,
                          "onboardDate": 1569398400000, "contractStatus": "TRADING"}
            else:
                filters.append({"filterType": "NOTIONAL", "minNotional": num(m.min_notional), "applyMinToMarket": True})
                entry |= {"isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
                          "permissions": ["SPOT"], "permissionSets": [["SPOT"]]}
            symbols.append(entry)
        return {"timezone": "UTC", "serverTime": int(time.time() * 1000), "symbols": symbols, "rateLimits": []}
