"""fetch_ohlcv through the real ccxt client against a local fake Binance on 127.0.0.1."""

import io

import pytest
from django.core.management import CommandError, call_command

from backtests.marketdata.models import MarketSeries
from backtests.marketdata.selectors import load_bars

from .fake_exchange import FakeBinance

pytestmark = pytest.mark.django_db

START = 1_704_067_200_000  # 2024-01-01T00:00Z


def minute_bars(count: int) -> list[list[float]]:
    return [[START + i * 60_000, 100 + i, 101 + i, 99 + i, 100.5 + i, 10.0] for i in range(count)]


def test_fetch_ohlcv_pages_through_the_history_and_stores_it():
    with FakeBinance(minute_bars(1200), page_limit=500) as exchange:
        out = io.StringIO()
        call_command("fetch_ohlcv", "binance", "BTC/USDT", "1", "--since", "2024-01-01", "--api-url", exchange.url,
                     stdout=out, stderr=io.StringIO())
        klines = [p for p in exchange.requests if p.endswith("/klines")]
    assert "1200 bars stored in BINANCE:BTCUSDT 1" in out.getvalue()
    assert len(klines) >= 3  # 500 + 500 + 200, then an empty page
    series = MarketSeries.objects.get(symbol="BINANCE:BTCUSDT", timeframe="1")
    bars = load_bars(series)
    assert bars["time"][0] == START and bars["time"][-1] == START + 1199 * 60_000
    assert bars["close"][10] == 110.5
    assert float(series.mintick) == 0.01 and series.source == "ccxt:binance"


def test_fetch_ohlcv_respects_until_and_refetching_does_not_duplicate():
    with FakeBinance(minute_bars(300)) as exchange:
        for _ in range(2):
            call_command("fetch_ohlcv", "binance", "BTC/USDT", "1", "--since", "2024-01-01T00:00:00Z",
                         "--until", "2024-01-01T02:00:00Z", "--api-url", exchange.url, "--series-symbol", "BINANCE:BTCUSDT",
                         stdout=io.StringIO(), stderr=io.StringIO())
    bars = load_bars(MarketSeries.objects.get(symbol="BINANCE:BTCUSDT", timeframe="1"))
    assert len(bars["time"]) == 120


def test_an_unknown_market_is_a_clear_error():
    with FakeBinance(minute_bars(10)) as exchange, pytest.raises(CommandError, match="binance has no market 'ETH/USDT'"):
        call_command("fetch_ohlcv", "binance", "ETH/USDT", "1", "--since", "2024-01-01", "--api-url", exchange.url,
                     stdout=io.StringIO(), stderr=io.StringIO())


def test_bad_bars_from_the_exchange_are_rejected_and_nothing_is_stored():
    bars = minute_bars(20)
    bars[5][2] = 1.0  # high below low
    with FakeBinance(bars) as exchange, pytest.raises(CommandError, match="row 6: high 1 is below low 104"):
        call_command("fetch_ohlcv", "binance", "BTC/USDT", "1", "--since", "2024-01-01", "--api-url", exchange.url,
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert not MarketSeries.objects.filter(symbol="BINANCE:BTCUSDT", bars__isnull=False).exists()
