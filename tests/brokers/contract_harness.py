"""One harness per adapter: the same behaviours run against each through its fake."""

from __future__ import annotations

from decimal import Decimal as D

from brokers.core.ccxt_adapter import CcxtBroker, exchange_client_order_id
from brokers.core.errors import BrokerUnavailable
from brokers.core.paper import PaperBroker, PaperEngine, PaperState, Quote
from brokers.core.symbols import MarketType, parse_tradingview
from tests.brokers.fake_exchanges.binance import FakeBinance
from tests.brokers.fake_exchanges.bybit import FakeBybit
from tests.brokers.fake_exchanges.gate import FakeGate
from tests.brokers.fake_exchanges.okx import FakeOkx
from tests.brokers.fake_exchanges.server import FakeMarket, FakeServer, Venue

PRICE = D(20000)


class Harness:
    """What a contract test may ask of a venue besides the BrokerService interface."""

    def broker_with_wrong_secret(self):
        return None  # no credentials (paper)

    name: str
    broker = None
    symbol = None
    price = PRICE
    qty = D("0.01")  # a normal order size
    huge_qty = D(100)  # more than the account can pay
    odd_qty = D("0.0123")  # off the lot grid: must round down to 0.012
    odd_price = D("19000.04")  # off the tick grid: must round to 19000.0
    rounded_qty = D("0.012")
    rounded_price = D("19000.0")
    below_min_qty = D("0.0004")
    # (quantity, limit price, expected message when the venue publishes a min notional of 5)
    min_notional_case = (D("0.001"), D(1000), r"order value 1 \(0.001 x 1000\) is below the minimum notional 5")

    def close(self) -> None: ...


class CcxtHarness(Harness):
    FAKES = {"binance": FakeBinance, "gate": FakeGate, "bybit": FakeBybit, "okx": FakeOkx}
    NATIVE = {
        ("binance", "spot"): "BTCUSDT", ("binance", "swap"): "BTCUSDT",
        ("gate", "spot"): "BTC_USDT", ("gate", "swap"): "BTC_USDT",
        ("bybit", "spot"): "BTCUSDT", ("bybit", "swap"): "BTCUSDT",
        ("okx", "spot"): "BTC-USDT", ("okx", "swap"): "BTC-USDT-SWAP",
    }  # fmt: skip
    VENUE = {"binance": "BINANCE", "gate": "GATEIO", "bybit": "BYBIT", "okx": "OKX"}

    def __init__(self, exchange_id: str, kind: str, *, secret: str = "test-secret"):
        self.name = f"{exchange_id}-{kind}"
        self.exchange_id = exchange_id
        perp = kind == "swap"
        # Gate and OKX perpetuals count contracts of 0.001 BTC; Binance and Bybit count BTC
        contract = D("0.001") if perp and exchange_id in ("gate", "okx") else D(1)
        market = FakeMarket(
            self.NATIVE[exchange_id, kind], kind, "BTC", "USDT", tick=D("0.1"), step=D("0.001"), min_qty=D("0.001"),
            min_notional=D(5), contract_size=contract, price=PRICE,
        )
        self.venue = Venue([market], {"USDT": D(10_000), "BTC": D(1)})
        self.fake = self.FAKES[exchange_id](self.venue)
        self.server = FakeServer(self.fake).start()
        self.broker = CcxtBroker(
            exchange_id, api_key="test-key", secret=secret, password="pass",
            market_type=MarketType.PERP if perp else MarketType.SPOT,
            api_base_url=self.server.url, timeout_ms=600,
        )
        self.broker.retry_backoff = 0
        self.broker.exchange.enableRateLimit = False
        suffix = ".P" if perp else ""
        self.symbol = parse_tradingview(f"{self.VENUE[exchange_id]}:BTCUSDT{suffix}")

    def broker_with_wrong_secret(self):
        perp = self.broker.market_type is MarketType.PERP
        return CcxtBroker(
            self.exchange_id, api_key="test-key", secret="not-the-secret", password="pass",
            market_type=MarketType.PERP if perp else MarketType.SPOT, api_base_url=self.server.url, timeout_ms=600,
        )

    def venue_order(self, client_order_id: str):
        return self.venue.find(client_id=exchange_client_order_id(self.exchange_id, client_order_id))

    def orders_with_client_id(self, client_order_id: str) -> int:
        venue_id = exchange_client_order_id(self.exchange_id, client_order_id)
        return sum(1 for o in self.venue.orders.values() if o.client_id == venue_id)

    def lose_next_placement_response(self) -> None:
        self.fake.delay_next(*self.fake.place_route, seconds=1.2)

    def inject(self, kind: str, times: int = 1) -> None:
        if kind == "rate_limit":
            status, body = self.fake.rate_limit
            self.fake.fail_next(*self.fake.place_route, status, body, times=times)
        elif kind == "unavailable":
            page = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
            self.fake.fail_next(*self.fake.place_route, 503, page, times=times)
        else:
            self.fake.fail_next_placement(kind, times=times)

    def partial_fills(self, ratio: D) -> None:
        self.venue.fill_ratio = ratio

    def trade_through(self, client_order_id: str) -> None:
        self.venue.fill_open(self.venue_order(client_order_id).id)

    def close(self) -> None:
        self.server.stop()


class AlpacaHarness(Harness):
    name = "alpaca"
    price = D(200)
    qty = D(10)
    huge_qty = D(100_000)
    odd_qty = D("10.7")
    odd_price = D("190.004")
    rounded_qty = D(10)
    rounded_price = D("190.00")
    below_min_qty = D("0.4")
    min_notional_case = None  # US stocks have no minimum order value

    def __init__(self):
        from brokers.core.alpaca_adapter import AlpacaBroker
        from tests.brokers.fake_exchanges.alpaca import FakeAlpaca

        market = FakeMarket("AAPL", "stock", "AAPL", "USD", tick=D("0.01"), step=D(1), min_qty=D(1), price=self.price)
        self.venue = Venue([market], {"USD": D(100_000), "AAPL": D(10)})
        self.fake = FakeAlpaca(self.venue, api_key="alpaca-key", secret="alpaca-secret")
        self.server = FakeServer(self.fake).start()
        self.broker = AlpacaBroker(api_key="alpaca-key", secret="alpaca-secret", url_override=self.server.url, timeout_seconds=0.6)
        self.broker.retry_backoff = 0
        self.symbol = parse_tradingview("NASDAQ:AAPL")

    def broker_with_wrong_secret(self):
        from brokers.core.alpaca_adapter import AlpacaBroker

        return AlpacaBroker(api_key="alpaca-key", secret="nope", url_override=self.server.url, timeout_seconds=0.6)

    def venue_order(self, client_order_id: str):
        return self.venue.find(client_id=client_order_id)

    def orders_with_client_id(self, client_order_id: str) -> int:
        return sum(1 for o in self.venue.orders.values() if o.client_id == client_order_id)

    lose_next_placement_response = CcxtHarness.lose_next_placement_response
    inject = CcxtHarness.inject
    partial_fills = CcxtHarness.partial_fills
    close = CcxtHarness.close

    def trade_through(self, client_order_id: str) -> None:
        self.venue.fill_open(self.venue_order(client_order_id).id)


class ShioajiHarness(Harness):
    """TWSE 2330 through the real adapter + ShioajiGateway over a fake ``sj.Shioaji`` API."""

    name = "shioaji"
    price = D(580)
    qty = D(2000)  # shares = 2 common lots
    huge_qty = D(1_000_000)
    odd_qty = D("2000.7")
    odd_price = D("580.4")
    rounded_qty = D(2000)
    rounded_price = D(580)
    below_min_qty = D("0.4")
    min_notional_case = None

    def __init__(self):
        from brokers.core.shioaji_adapter import ShioajiBroker, ShioajiGateway
        from tests.brokers.fake_exchanges.shioaji_api import FakeShioajiApi

        market = FakeMarket("2330", "stock", "2330", "TWD", tick=D(1), step=D(1), min_qty=D(1), price=self.price)
        self.venue = Venue([market], {"TWD": D(2_000_000), "2330": D(2000)})
        self.api = FakeShioajiApi(self.venue)
        self.gateway = ShioajiGateway("sj-key", "sj-secret", simulation=True, api=self.api)
        self.broker = ShioajiBroker(self.gateway)
        self.broker.retry_backoff = 0
        self.symbol = parse_tradingview("TWSE:2330")

    def broker_with_wrong_secret(self):
        from brokers.core.shioaji_adapter import ShioajiBroker, ShioajiGateway

        return ShioajiBroker(ShioajiGateway("sj-key", "nope", api=self.api))

    def _trade_id(self, client_order_id: str) -> str:
        from brokers.core.shioaji_adapter import custom_field_for

        custom = custom_field_for(client_order_id)
        return next(t.order.id for t in self.api.trades.values() if t.order.custom_field == custom)

    def venue_order(self, client_order_id: str):
        return self.venue.find(client_id=self._trade_id(client_order_id))

    def orders_with_client_id(self, client_order_id: str) -> int:
        from brokers.core.shioaji_adapter import custom_field_for

        custom = custom_field_for(client_order_id)
        return sum(1 for t in self.api.trades.values() if t.order.custom_field == custom and t.venue_order is not None)

    def lose_next_placement_response(self) -> None:
        self.api.lose_next = 1

    def inject(self, kind: str, times: int = 1) -> None:
        import shioaji as sj

        if kind == "rate_limit":
            self.api.raise_next.extend([sj.ServerError("rate limit exceeded: 25 orders per second")] * times)
        elif kind == "unavailable":
            self.api.raise_next.extend([sj.SystemMaintenance("system maintenance")] * times)
        else:
            self.api.reject_next.extend([kind] * times)

    def partial_fills(self, ratio: D) -> None:
        self.venue.fill_ratio = ratio

    def trade_through(self, client_order_id: str) -> None:
        self.api.trade_through(self._trade_id(client_order_id))
        self.api.deliver_events()


class _LosingEngine(PaperEngine):
    """Paper engine whose next answer is lost after the order was stored (a dropped DB response)."""

    lose_next = 0
    fail_next: list = []

    def submit(self, request):
        if self.fail_next:
            raise self.fail_next.pop(0)
        result = super().submit(request)
        if self.lose_next:
            self.lose_next -= 1
            raise BrokerUnavailable("connection lost after the order was stored")
        return result


class PaperHarness(Harness):
    name = "paper"

    def __init__(self):
        self.symbol = parse_tradingview("BINANCE:BTCUSDT")
        self.quotes = {self.symbol: Quote(bid=PRICE, ask=PRICE, last=PRICE)}
        engine = _LosingEngine(state=PaperState(cash={"USDT": D(10_000)}), price_source=self.quotes.get)
        engine.fail_next = []
        from brokers.core.models import Instrument

        engine.instruments[self.symbol] = Instrument(
            self.symbol, "BTCUSDT", tick_size=D("0.1"), qty_step=D("0.001"), min_qty=D("0.001"), min_notional=D(5)
        )
        self.engine = engine
        self.broker = PaperBroker(engine)
        self.broker.retry_backoff = 0

    def venue_order(self, client_order_id: str):
        order = self.engine.state.orders[client_order_id]
        return type("Seen", (), {"qty": order.quantity, "price": order.price})

    def orders_with_client_id(self, client_order_id: str) -> int:
        return 1 if client_order_id in self.engine.state.orders else 0

    def lose_next_placement_response(self) -> None:
        self.engine.lose_next = 1

    def inject(self, kind: str, times: int = 1) -> None:
        from brokers.core.errors import InsufficientFunds, InvalidOrder, MarketClosed, RateLimited

        error_class = {
            "insufficient": InsufficientFunds,
            "rate_limit": RateLimited,
            "unavailable": BrokerUnavailable,
            "closed": MarketClosed,
            "invalid": InvalidOrder,
        }[kind]
        error = error_class(f"paper: {kind}", broker_message=f"injected {kind}")
        self.engine.fail_next.extend([error] * times)

    def partial_fills(self, ratio: D) -> None:
        self.quotes[self.symbol] = Quote(bid=PRICE, ask=PRICE, last=PRICE, ask_size=self.qty * ratio, bid_size=self.qty * ratio)

    def trade_through(self, client_order_id: str) -> None:
        self.broker.process_quote(self.symbol, Quote(bid=PRICE, ask=PRICE, last=PRICE))


HARNESSES = {
    "paper": PaperHarness,
    "alpaca": AlpacaHarness,
    "shioaji": ShioajiHarness,
    **{
        f"{ex}-{kind}": (lambda ex=ex, kind=kind: CcxtHarness(ex, kind))
        for ex in ("binance", "gate", "bybit", "okx")
        for kind in ("spot", "swap")
    },
}
