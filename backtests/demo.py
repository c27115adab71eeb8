"""Demo rows per tenant: two ready-to-run Pine strategies for the demo user."""

from django.core.exceptions import ValidationError

from strategies import services as strategy_services
from strategies.models import Strategy

DEMO_STRATEGIES = {
    "RSI Strategy (demo)": """//@version=6
strategy("RSI Strategy", overlay=true)
length = input.int(14, "Length", minval=2, maxval=50, step=1)
overSold = input.int(30, "Oversold", minval=5, maxval=50, step=5)
overBought = input.int(70, "Overbought", minval=50, maxval=95, step=5)
vrsi = ta.rsi(close, length)
co = ta.crossover(vrsi, overSold)
cu = ta.crossunder(vrsi, overBought)
if not na(vrsi)
    if co
        strategy.entry("RsiLE", strategy.long, comment="RsiLE")
    if cu
        strategy.entry("RsiSE", strategy.short, comment="RsiSE")
plot(vrsi, "RSI")
""",
    "MA cross (demo)": """//@version=6
strategy("MA cross", overlay=true, initial_capital=10000, default_qty_type=strategy.percent_of_equity, default_qty_value=100)
fast = input.int(10, "Fast", minval=2, maxval=50, step=2)
slow = input.int(30, "Slow", minval=10, maxval=200, step=10)
fastMA = ta.sma(close, fast)
slowMA = ta.sma(close, slow)
if ta.crossover(fastMA, slowMA)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fastMA, slowMA)
    strategy.close("Long")
plot(fastMA, "Fast MA")
plot(slowMA, "Slow MA")
""",
}


def seed_demo_tenant(tenant, user) -> None:
    for name, source in DEMO_STRATEGIES.items():
        strategy = Strategy.objects.filter(owner=user, name=name).first()
        if strategy is None:
            strategy = Strategy.objects.create(owner=user, name=name, description="Demo strategy")
        if not strategy.versions.exists():
            try:
                strategy_services.save_version(strategy, source)
            except ValidationError:
                strategy.delete()  # the compiler of this build rejects it: leave no half-made demo row
