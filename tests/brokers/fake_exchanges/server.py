"""Threaded HTTP server + shared venue state used by every fake exchange."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

D = Decimal


@dataclass
class Request:
    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def json(self):
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""


@dataclass
class Response:
    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)


class VenueError(Exception):
    """Raised by the venue state; each fake renders ``kind`` as its real error payload."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # insufficient | invalid | min_notional | precision | duplicate | not_found | closed
        self.message = message


@dataclass
class FakeMarket:
    native: str
    kind: str  # spot | swap | stock
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    min_notional: Decimal = D(0)  # noqa: RUF009 - Decimal is immutable
    contract_size: Decimal = D(1)  # noqa: RUF009 - Decimal is immutable
    price: Decimal = D(100)  # noqa: RUF009 - Decimal is immutable


@dataclass
class FakeOrder:
    id: str
    client_id: str
    market: FakeMarket
    side: str
    type: str
    qty: Decimal
    price: Decimal | None
    tif: str = "GTC"
    reduce_only: bool = False
    filled: Decimal = D(0)  # noqa: RUF009 - Decimal is immutable
    avg_price: Decimal | None = None
    status: str = "open"  # open | filled | cancelled | rejected
    created_ms: int = 0
    stop_price: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled


@dataclass
class Fault:
    method: str
    path_contains: str
    response: Response | None = None  # answer instead of processing
    delay_after: float = 0.0  # process normally, then sleep before answering (client times out)
    times: int = 1
    error_kind: str | None = None  # answer with the venue's own payload for this VenueError kind


class Venue:
    """In-memory account: balances, positions, orders. Deterministic fills at the market's price."""

    def __init__(self, markets: list[FakeMarket], balances: dict[str, Decimal]):
        self.markets = {m.native: m for m in markets}
        self.balances = dict(balances)
        self.locked: dict[str, Decimal] = {}
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # native -> (signed qty, entry)
        self.orders: dict[str, FakeOrder] = {}
        self.ids = itertools.count(1_000_001)
        self.fill_ratio: Decimal | None = None  # next market/marketable orders fill only this fraction
        self.lock = threading.RLock()
        self.market_closed = False

    def market(self, native: str) -> FakeMarket:
        try:
            return self.markets[native]
        except KeyError:
            raise VenueError("invalid", f"unknown symbol {native}") from None

    def find(self, *, order_id: str | None = None, client_id: str | None = None) -> FakeOrder:
        with self.lock:
            if order_id is not None and order_id in self.orders:
                return self.orders[order_id]
            if client_id is not None:
                for order in self.orders.values():
                    if order.client_id == client_id:
                        return order
        raise VenueError("not_found", "order does not exist")

    def place(
        self,
        native: str,
        side: str,
        type_: str,
        qty: Decimal,
        price: Decimal | None,
        client_id: str,
        *,
        tif: str = "GTC",
        reduce_only: bool = False,
        stop_price: Decimal | None = None,
    ) -> FakeOrder:
        with self.lock:
            market = self.market(native)
            if self.market_closed:
                raise VenueError("closed", "market is closed")
            if client_id and any(o.client_id == client_id for o in self.orders.values()):
                raise VenueError("duplicate", f"duplicate client order id {client_id}")
            if qty <= 0 or (qty / market.step) % 1 != 0:
                raise VenueError("precision", f"quantity {qty} is not a multiple of the step {market.step}")
            if price is not None and (price / market.tick) % 1 != 0:
                raise VenueError("precision", f"price {price} is not a multiple of the tick {market.tick}")
            if qty < market.min_qty:
                raise VenueError("invalid", f"quantity {qty} below minimum {market.min_qty}")
            ref = price or market.price
            if market.min_notional and qty * ref < market.min_notional:
                raise VenueError("min_notional", f"notional {qty * ref} below minimum {market.min_notional}")
            self._check_funds(market, side, qty, ref, reduce_only)
            order = FakeOrder(
                id=str(next(self.ids)),
                client_id=client_id,
                market=market,
                side=side,
                type=type_,
                qty=qty,
                price=price,
                tif=tif,
                reduce_only=reduce_only,
                created_ms=int(time.time() * 1000),
                stop_price=stop_price,
            )
            self.orders[order.id] = order
            marketable = type_ == "market" or (
                type_ == "limit" and ((side == "buy" and price >= market.price) or (side == "sell" and price <= market.price))
            )
            if marketable:
                fill_qty = qty
                if self.fill_ratio is not None:
                    fill_qty = (qty * self.fill_ratio / market.step).to_integral_value() * market.step
                self._fill(order, fill_qty, market.price if type_ == "market" else min(price, market.price) if side == "buy" else max(price, market.price))
            if order.status == "open" and tif in ("IOC", "FOK") and order.remaining > 0:
                order.status = "cancelled"
            return order

    def _check_funds(self, market: FakeMarket, side: str, qty: Decimal, price: Decimal, reduce_only: bool) -> None:
        if market.kind in ("swap", "future"):
            if reduce_only:
                held = self.positions.get(market.native, (D(0), D(0)))[0]
                if held == 0 or (held > 0) == (side == "buy"):
                    raise VenueError("invalid", "reduce only order would increase position")
                return
            needed = qty * price / 10  # 10x leverage
            if needed > self.balances.get(market.quote, D(0)):
                raise VenueError("insufficient", f"margin {needed} exceeds available balance")
            return
        if side == "buy":
            cost = qty * price
            if cost > self.balances.get(market.quote, D(0)):
                raise VenueError("insufficient", f"insufficient balance: need {cost} {market.quote}")
        elif qty > self.balances.get(market.base, D(0)):
            raise VenueError("insufficient", f"insufficient balance: need {qty} {market.base}")

    def _fill(self, order: FakeOrder, qty: Decimal, price: Decimal) -> None:
        if qty <= 0:
            return
        market = order.market
        before = order.filled
        order.filled += qty
        order.avg_price = price if order.avg_price is None else (order.avg_price * before + price * qty) / order.filled
        order.status = "filled" if order.remaining == 0 else "open"
        sign = 1 if order.side == "buy" else -1
        if market.kind in ("swap", "future"):
            held, entry = self.positions.get(market.native, (D(0), D(0)))
            new = held + sign * qty
            self.positions[market.native] = (new, price if held == 0 or (held > 0) != (new > 0) else entry)
            if new == 0:
                del self.positions[market.native]
        else:
            self.balances[market.base] = self.balances.get(market.base, D(0)) + sign * qty
            self.balances[market.quote] = self.balances.get(market.quote, D(0)) - sign * qty * price

    def fill_open(self, order_id: str, qty: Decimal | None = None) -> FakeOrder:
        """Test hook: the market trades through a resting order."""
        with self.lock:
            order = self.orders[order_id]
            self._fill(order, order.remaining if qty is None else qty, order.price or order.market.price)
            return order

    def cancel(self, order: FakeOrder) -> FakeOrder:
        with self.lock:
            if order.status != "open":
                raise VenueError("not_found", f"order {order.id} is already {order.status}")
            order.status = "cancelled"
            return order


class FakeExchange:
    """Base class: subclasses implement ``route`` and ``verify``."""

    name = "fake"

    def __init__(self, venue: Venue, *, api_key: str = "test-key", secret: str = "test-secret", passphrase: str = "pass"):
        self.venue = venue
        self.api_key = api_key
        self.secret = secret
        self.passphrase = passphrase
        self.faults: list[Fault] = []
        self.log: list[Request] = []
        self.lock = threading.Lock()

    # fault injection ---------------------------------------------------------------
    place_route: tuple[str, str] = ("POST", "/order")  # (method, path fragment) of order placement

    def fail_next_placement(self, kind: str, times: int = 1) -> None:
        """Answer the next placement(s) with this venue's real error payload for ``kind``."""
        self.faults.append(Fault(*self.place_route, error_kind=kind, times=times))

    def fail_next(self, method: str, path_contains: str, status: int, body: object, times: int = 1) -> None:
        self.faults.append(Fault(method, path_contains, Response(status, body), times=times))

    def delay_next(self, method: str, path_contains: str, seconds: float) -> None:
        self.faults.append(Fault(method, path_contains, delay_after=seconds))

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == request.method and fault.path_contains in request.path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def handle(self, request: Request) -> Response:
        self.log.append(request)
        fault = self._take_fault(request)
        self.context(request)
        if fault is not None and fault.response is not None:
            return fault.response
        if fault is not None and fault.error_kind is not None:
            return self.error(VenueError(fault.error_kind, fault.error_kind))
        try:
            response = self.route(request)
        except VenueError as error:
            response = self.error(error)
        if fault is not None and fault.delay_after:
            time.sleep(fault.delay_after)
        return response

    def requests_to(self, method: str, path_contains: str) -> list[Request]:
        return [r for r in self.log if r.method == method and path_contains in r.path]

    def context(self, request: Request) -> None:
        """Remember per-request facts (market family) that error payloads depend on."""

    def route(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def error(self, error: VenueError) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


class FakeServer:
    def __init__(self, exchange: FakeExchange):
        self.exchange = exchange
        fake = exchange

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parsed.path,
                    raw_query=parsed.query,
                    query=dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
                    headers=dict(self.headers.items()),
                    body=body,
                )
                response = fake.handle(request)
                if isinstance(response.body, bytes):
                    payload = response.body  # e.g. a load balancer's HTML error page
                else:
                    payload = json.dumps(response.body, default=str).encode()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in response.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (simulated timeout)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def num(value: Decimal | None) -> str:
    if value is None:
        return "0"
    return format(value.normalize(), "f")
