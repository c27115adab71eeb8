"""Market-data feeds: closed bars only, stored through upsert_bars, then the deployments are triggered."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from backtests.marketdata.models import OHLCVBar
from backtests.marketdata.selectors import load_bars
from execution.native import selectors, services
from execution.native.feeds.ccxt_poll import CcxtPollingFeed
from execution.native.feeds.demo import DemoFeed
from execution.native.feeds.replay import ReplayFeed
from execution.native.feeds.shioaji_bars import ShioajiBarFeed
from execution.native.models import DeploymentSignal
from tests.brokers.fake_exchanges.binance import FakeBinance
from tests.brokers.fake_exchanges.server import FakeMarket, FakeServer, Request, Response, Venue
from tests.native.conftest import run_pending_executions
from tests.native.factories import (
    EVERY_BAR_STRATEGY,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
)

HOUR = 3_600_000
T0 = int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp() * 1000)


class FakeBinanceWithKlines(FakeBinance):
    """The fake Binance plus a public klines endpoint serving ``candles`` ([open ms, o, h, l, c, v])."""

    candles: list[list] = []

    def route(self, request: Request) -> Response:
        if request.path == "/api/v3/klines":
            start = int(request.query.get("startTime", 0))
            limit = int(request.query.get("limit", 500))
            rows = [c for c in self.candles if c[0] >= start][:limit]
            return Response(200, [[c[0], str(c[1]), str(c[2]), str(c[3]), str(c[4]), str(c[5]), c[0] + HOUR - 1,
                                   "0", 1, "0", "0", "0"] for c in rows])
        return super().route(request)


@pytest.fixture
def fake_binance():
    venue = Venue([FakeMarket("BTCUSDT", "spot", "BTC", "USDT", Decimal("0.01"), Decimal("0.0001"),
                              Decimal("0.0001"))], {"USDT": Decimal(10_000)})
    exchange = FakeBinanceWithKlines(venue)
    exchange.candles = [[T0 + i * HOUR, 100 + i, 101 + i, 99 + i, 100.5 + i, 10 + i] for i in range(5)]
    server = FakeServer(exchange).start()
    yield exchange, server
    server.stop()


def test_the_ccxt_feed_stores_only_closed_candles_and_triggers_the_deployments(db, fake_binance):
    exchange, server = fake_binance
    series = make_series(symbol="BINANCE:BTCUSDT", timeframe="60")
    triggered = []
    feed = CcxtPollingFeed(series, exchange_id="binance", market="BTC/USDT", api_base_url=server.url,
                           notify=triggered.append, backfill_bars=10)
    now = dt.datetime.fromtimestamp((T0 + 4 * HOUR + 30 * 60_000) / 1000, tz=dt.UTC)  # the 5th candle is open

    assert feed.poll(now) == 4
    stored = load_bars(series)
    assert list(stored["time"]) == [T0 + i * HOUR for i in range(4)]
    assert list(stored["close"]) == [100.5, 101.5, 102.5, 103.5]
    assert exchange.requests_to("GET", "/api/v3/klines")

    later = now + dt.timedelta(hours=1)
    assert feed.poll(later) == 1  # only the candle that has closed since
    assert OHLCVBar.objects.filter(series=series).count() == 5


def test_shioaji_ticks_are_aggregated_into_bars_at_the_sdk_callback(db):
    series = make_series(symbol="TWSE:2330", timeframe="1")
    feed = ShioajiBarFeed(series, code="2330", notify=None)

    def tick(h, m, s, price, volume, code="2330", simtrade=0):
        # the fields of shioaji's TickSTKv1 the aggregator reads, at the callback boundary (exchange, tick)
        return SimpleNamespace(code=code, datetime=dt.datetime(2026, 3, 2, h, m, s), close=Decimal(str(price)),
                               volume=volume, simtrade=simtrade, tick_type=1)

    for t in (tick(8, 59, 50, 590, 5, simtrade=1), tick(9, 0, 1, 600, 3), tick(9, 0, 20, 604, 2),
              tick(9, 0, 40, 598, 1), tick(9, 0, 50, 601, 4, code="2317"), tick(9, 1, 5, 602, 7)):
        feed.on_tick_stk_v1("TSE", t)
    bars = load_bars(series)
    assert len(bars["time"]) == 1  # 09:00 closed when the 09:01 tick arrived; 09:01 is still open
    assert bars["time"][0] == int(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC).timestamp() * 1000)  # 09:00 Taipei
    assert (bars["open"][0], bars["high"][0], bars["low"][0], bars["close"][0], bars["volume"][0]) == \
        (600.0, 604.0, 598.0, 598.0, 6.0)
    assert feed.ticks_ignored == 2  # the trial match and the other contract

    feed.flush(dt.datetime(2026, 3, 2, 1, 2, tzinfo=dt.UTC))  # a quiet market still closes its bar
    feed.on_tick_stk_v1("TSE", tick(9, 1, 59, 650, 1))  # late tick of a bar already stored: ignored
    bars = load_bars(series)
    assert list(bars["close"]) == [598.0, 602.0]


def test_the_demo_feed_fills_closed_bars_up_to_now_deterministically(db):
    series = make_series(symbol="BINANCE:DEMOUSDT", timeframe="60")
    now = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)
    feed = DemoFeed(series, notify=None)
    assert feed.poll(now) == 1  # starts with the last closed bar
    assert feed.poll(now + dt.timedelta(hours=3)) == 3
    first = load_bars(series)
    again = DemoFeed(make_series(symbol="BINANCE:DEMOUSDT", timeframe="60"), notify=None).bar_at(
        int(first["time"][1]), float(first["close"][0]))
    assert again.close == pytest.approx(first["close"][1])
    assert all(first["low"] <= first["close"]) and all(first["close"] <= first["high"])


def test_the_replay_feed_drives_a_deployment_through_the_bar_stored_trigger(
        in_retail, trader, django_capture_on_commit_callbacks):
    bars = goog_bars_hourly(70)
    series = make_series(bars=bars.slice(0, 60))
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)])
    stepped = []

    def step_now(stored_series):  # what the step actor does, in process
        for deployment_id in selectors.active_deployment_ids_for_series(stored_series.pk):
            stepped.append(services.advance_deployment(deployment_id).bars)

    feed = ReplayFeed(series, bars.slice(60, 70), notify=step_now)
    while feed.remaining:
        with django_capture_on_commit_callbacks(execute=True):
            feed.poll()  # the trigger runs after the bars are committed
        run_pending_executions()

    deployment.refresh_from_db()
    assert stepped == [1] * 10
    assert deployment.bars_processed == 70
    assert DeploymentSignal.objects.filter(deployment=deployment, status="dispatched").count() == 10


def test_the_registry_polls_the_feed_named_by_the_series_source(in_retail, trader, fake_binance):
    from execution.native.feeds.registry import feed_for

    _, server = fake_binance
    series = make_series(symbol="BINANCE:BTCUSDT", timeframe="60")
    series.source = "ccxt:binance:BTC/USDT"
    series.save(update_fields=["source"])
    feed = feed_for(series, api_base_url=server.url, notify=None)
    assert isinstance(feed, CcxtPollingFeed) and feed.market == "BTC/USDT"
    series.source = "demo"
    assert isinstance(feed_for(series, notify=None), DemoFeed)
    series.source = "csv upload"
    assert feed_for(series) is None


def test_live_series_are_those_with_a_running_deployment(in_retail, trader):
    bars = goog_bars_hourly(70)
    series = make_series(bars=bars)
    idle = make_series(symbol="BINANCE:ETHUSDT.P", bars=bars)
    deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)])
    live = services.live_series_ids()
    assert series.pk in live and idle.pk not in live
