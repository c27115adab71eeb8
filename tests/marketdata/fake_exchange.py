"""A tiny Binance-compatible HTTP server on 127.0.0.1: exchangeInfo and klines, from an in-memory bar list."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MARKET = {
    "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8, "quoteAsset": "USDT",
    "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
    "orderTypes": ["LIMIT", "MARKET"], "icebergAllowed": True, "ocoAllowed": True, "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False, "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0", "stepSize": "0.00001"},
    ],
}


class FakeBinance:
    def __init__(self, bars: list[list[float]], page_limit: int = 500):
        self.bars = bars  # [open time ms, o, h, l, c, v]
        self.page_limit = page_limit
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                fake.requests.append(url.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path.endswith("/exchangeInfo"):
                    body = {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": [MARKET]}
                elif url.path.endswith("/klines"):
                    start = int(query.get("startTime", 0))
                    limit = min(int(query.get("limit", 500)), fake.page_limit)
                    rows = [b for b in fake.bars if b[0] >= start][:limit]
                    body = [[r[0], str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), r[0] + 59_999, "0", 1, "0", "0", "0"]
                            for r in rows]
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
