from strategies.models import Strategy

GOOD_SOURCE = """//@version=6
strategy("Cross", overlay = true)
fastLength = input.int(9, "Fast length", minval = 1, maxval = 200, group = "MA")
slowLength = input.int(21, "Slow length", minval = 1)
useShorts = input.bool(false, "Shorts")
fast = ta.ema(close, fastLength)
slow = ta.ema(close, slowLength)
if ta.crossover(fast, slow)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("Long")
plot(fast, "Fast")
"""

BROKEN_SOURCE = GOOD_SOURCE.replace("slow = ta.ema(close, slowLength)", "slow = ta.ema(close, slowLenght)")


def make_strategy(owner, name: str = "Cross") -> Strategy:
    return Strategy.objects.create(owner=owner, name=name)
