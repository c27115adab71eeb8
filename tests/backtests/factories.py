"""Factories and sample Pine strategies for backtest tests."""

from pathlib import Path

import factory

from accounts.models import Plan
from backtests.marketdata import imports
from strategies.models import Strategy
from strategies.services import save_version
from tests.factories import UserFactory

TV_REFERENCE = Path("/work/shared/tv-reference/strategies")

RSI_STRATEGY = """//@version=6
strategy("RSI Strategy", overlay=true)
length = input.int(14, "Length", minval=2, maxval=50, step=1)
overSold = input.int(30, "Oversold", minval=5, maxval=50, step=5)
overBought = input.int(70, "Overbought", minval=50, maxval=95, step=5)
price = close
vrsi = ta.rsi(price, length)
co = ta.crossover(vrsi, overSold)
cu = ta.crossunder(vrsi, overBought)
if (not na(vrsi))
    if (co)
        strategy.entry("RsiLE", strategy.long, comment="RsiLE")
    if (cu)
        strategy.entry("RsiSE", strategy.short, comment="RsiSE")
plot(vrsi, "RSI")
"""

MA_CROSS_STRATEGY = """//@version=6
strategy("MA cross", overlay=true, initial_capital=10000)
fast = input.int(10, "Fast", minval=2, maxval=50, step=2)
slow = input.int(30, "Slow", minval=10, maxval=100, step=10)
fastMA = ta.sma(close, fast)
slowMA = ta.sma(close, slow)
if ta.crossover(fastMA, slowMA)
    strategy.entry("L", strategy.long)
if ta.crossunder(fastMA, slowMA)
    strategy.entry("S", strategy.short)
plot(fastMA, "Fast MA")
plot(slowMA, "Slow MA")
"""

FAILING_STRATEGY = """//@version=6
strategy("Breaks at runtime")
arr = array.new_float(0)
x = array.get(arr, 5)
plot(x)
"""


class TraderFactory(UserFactory):
    plan = factory.LazyFunction(lambda: Plan.objects.get(code=Plan.Code.PRO))


def import_reference_bars(name: str = "ohlcv.csv", symbol: str = "FX:EURUSD", timeframe: str = "60"):
    """TradingView's EURUSD 1-hour reference bars as a stored series (forex, US/Eastern, 17:00 sessions)."""
    with open(TV_REFERENCE / name, "rb") as handle:
        return imports.import_csv(
            handle, symbol=symbol, timeframe=timeframe, timezone="America/New_York", mintick="0.00001",
            asset_type="forex", session_start="1700",
        ).series


def strategy_version(owner, source: str = RSI_STRATEGY, name: str | None = None):
    strategy = Strategy.objects.create(owner=owner, name=name or f"S{Strategy.objects.count() + 1}")
    return save_version(strategy, source)
