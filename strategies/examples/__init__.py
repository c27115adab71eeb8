"""Built-in example strategies offered by "New strategy from template" (TradingView's built-in strategy
templates and a few classic systems, all Pine v6 and covered by the compiler's corpus tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class StrategyTemplate:
    key: str
    name: str
    description: str

    @property
    def source(self) -> str:
        return (HERE / f"{self.key}.pine").read_text(encoding="utf-8")


TEMPLATES: dict[str, StrategyTemplate] = {
    t.key: t
    for t in [
        StrategyTemplate("ma_cross_sl_tp", "EMA cross with stop loss / take profit",
                         "Fast/slow EMA crossover, percent stop and target, optional shorts."),
        StrategyTemplate("tv_ma_2line_cross", "Moving average 2-line cross", "TradingView's two-SMA crossover template."),
        StrategyTemplate("tv_rsi_strategy", "RSI", "Enters when RSI crosses back from oversold / overbought."),
        StrategyTemplate("tv_bollinger_strategy", "Bollinger Bands", "Stop orders at the bands after a re-entry cross."),
        StrategyTemplate("tv_macd_strategy", "MACD", "MACD histogram crosses zero."),
        StrategyTemplate("tv_supertrend_strategy", "Supertrend", "Reverses on Supertrend direction changes."),
        StrategyTemplate("tv_channelbreakout_strategy", "Channel breakout", "Stop orders at the highest high / lowest low."),
        StrategyTemplate("tv_stochastic_slow_strategy", "Stochastic slow", "%K/%D crosses in the overbought/oversold zones."),
        StrategyTemplate("donchian_turtle", "Donchian turtle", "Donchian breakout with pyramiding, turtle style."),
        StrategyTemplate("tv_parabolic_sar_strategy", "Parabolic SAR", "Stop-and-reverse on the SAR."),
        StrategyTemplate("atr_trailing_exit", "ATR trailing stop", "Trend entry with an ATR trailing exit."),
    ]
}
