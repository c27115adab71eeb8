"""Builders for native deployment tests: market series with bars, strategy versions, paper accounts."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import numpy as np
from backtesting.test import GOOG

from backtests.marketdata.models import MarketSeries
from backtests.marketdata.services import Bar, upsert_bars
from brokers.models import BrokerAccount
from brokers.services import create_broker_account
from execution.native import services
from execution.signals import AccountRoute, SizingMode, SizingRule
from strategies.models import Strategy, StrategyVersion
from strategies.pine.runtime.engine import Bars

PERP = "BINANCE:BTCUSDT.P"
HOUR_MS = 3_600_000
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
_numbers = itertools.count(1)

CROSS_STRATEGY = """//@version=6
strategy("Native cross", overlay=true, initial_capital=100000, default_qty_type=strategy.fixed, default_qty_value=2)
fast = ta.ema(close, 8)
slow = ta.ema(close, 21)
if ta.crossover(fast, slow)
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.entry("S", strategy.short, qty=1)
if strategy.position_size > 0
    strategy.exit("LX", from_entry="L", stop=strategy.position_avg_price * 0.97, limit=strategy.position_avg_price * 1.05)
if bar_index % 97 == 0
    strategy.close_all(comment="periodic flat")
"""

# a fill on every bar: long on even bars, flat on odd bars
EVERY_BAR_STRATEGY = """//@version=6
strategy("Every bar", overlay=true, default_qty_type=strategy.fixed, default_qty_value=1)
if bar_index % 2 == 0
    strategy.entry("L", strategy.long)
else
    strategy.close("L")
"""


def goog_bars_hourly(count: int | None = None) -> Bars:
    """GOOG's daily prices on an hourly grid from 2024-01-01 (a crypto symbol trades around the clock)."""
    frame = GOOG if count is None else GOOG.iloc[:count]
    n = len(frame)
    times = np.int64(START.timestamp() * 1000) + np.arange(n, dtype=np.int64) * HOUR_MS
    return Bars(time_ms=times, open=frame.Open.to_numpy(float), high=frame.High.to_numpy(float),
                low=frame.Low.to_numpy(float), close=frame.Close.to_numpy(float), volume=frame.Volume.to_numpy(float))


def make_series(symbol: str = PERP, timeframe: str = "60", bars: Bars | None = None) -> MarketSeries:
    series, _ = MarketSeries.objects.get_or_create(symbol=symbol, timeframe=timeframe,
                                                   defaults={"mintick": Decimal("0.01"), "source": "replay"})
    if bars is not None and len(bars):
        store(series, bars)
    return series


def store(series: MarketSeries, bars: Bars) -> None:
    upsert_bars(series, [Bar(dt.datetime.fromtimestamp(int(bars.time_ms[i]) / 1000, tz=dt.UTC), float(bars.open[i]),
                             float(bars.high[i]), float(bars.low[i]), float(bars.close[i]), float(bars.volume[i]))
                         for i in range(len(bars))])


def make_version(owner, source: str = CROSS_STRATEGY) -> StrategyVersion:
    strategy = Strategy.objects.create(owner=owner, name=f"Strategy {next(_numbers)}")
    return StrategyVersion.objects.create(strategy=strategy, number=1, source=source)


def make_paper_account(owner, name: str = "Paper perp", market_type: str = "perp") -> BrokerAccount:
    return create_broker_account(owner, name=name, kind=BrokerAccount.Kind.PAPER, market_type=market_type,
                                 validate=False)


def route(account: BrokerAccount, mode: SizingMode = SizingMode.AS_ALERT, value: str = "1") -> AccountRoute:
    return AccountRoute(account_id=account.pk, sizing=SizingRule(mode=mode, value=Decimal(value)))


def deploy(owner, version: StrategyVersion, series: MarketSeries, accounts: list[BrokerAccount], **options):
    spec = services.DeploymentSpec(name=options.pop("name", "test deployment"), strategy_version_id=version.pk,
                                   series_id=series.pk, routes=tuple(route(a) for a in accounts), **options)
    deployment = services.create_deployment(owner, spec, start=False)
    return services.start_deployment(deployment.pk)
