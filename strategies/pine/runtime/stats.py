"""Strategy Tester summary statistics (TradingView's "Performance Summary" and "Trades analysis").

``compute_summary(result, ...)`` returns a plain dict:

* top level: ``net_profit``, ``net_profit_pct``, ``gross_profit(_pct)``, ``gross_loss(_pct)``,
  ``max_drawdown(_pct)``, ``max_runup(_pct)``, ``buy_and_hold_return(_pct)``, ``sharpe_ratio``,
  ``sortino_ratio``, ``profit_factor``, ``commission_paid``, ``open_pl(_pct)``, ``max_contracts_held``,
  ``total_closed_trades`` ... (the "All" figures), and
* ``all`` / ``long`` / ``short``: the same per-direction figures (trade-based ones split by direction).

Methods (documented because TradingView does not publish every detail):

* Net/gross profit, win/loss counts, averages and largest trades use closed trades only; ``open_pl`` is the
  open trades' profit at the last close. Percentages of money figures are relative to initial capital;
  per-trade percentages (avg trade %, largest win %) use each trade's ``profit_pct``.
* Max drawdown: largest fall from a running peak of equity to a later trough, where each bar's equity is
  evaluated at the bar's best and worst price for the open position (high/low), i.e. intrabar, as
  TradingView does for open positions; % is relative to the peak. Max run-up mirrors it (trough to peak,
  % relative to the trough).
* Sharpe/Sortino: TradingView's method — returns of equity per calendar month (symbol time zone), a 2%
  annual risk-free rate (2/12 % per month); Sharpe = (mean - rf) / stdev (population); Sortino =
  (mean - rf) / downside deviation, downside deviation = sqrt(mean(min(0, r - rf)^2)).
* Buy & hold: the initial capital invested at the first bar's open and marked at the last close.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

if TYPE_CHECKING:
    from strategies.pine.runtime.broker import BacktestResult, Trade

RISK_FREE_ANNUAL = 0.02


def _safe_div(a: float, b: float) -> float:
    return a / b if b else math.nan


def trade_stats(trades: list[Trade], initial_capital: float) -> dict[str, Any]:
    """Trade-based figures for one group of closed trades."""
    wins = [t for t in trades if t.profit > 0]
    losses = [t for t in trades if t.profit < 0]
    even = [t for t in trades if t.profit == 0]
    gross_profit = float(sum(t.profit for t in wins))
    gross_loss = float(-sum(t.profit for t in losses))
    net = gross_profit - gross_loss
    n = len(trades)
    avg_win = _safe_div(gross_profit, len(wins))
    avg_loss = _safe_div(gross_loss, len(losses))

    def avg_bars(ts: list[Trade]) -> float:
        return _safe_div(float(sum(t.bars_held for t in ts)), len(ts))

    largest_win = max(wins, key=lambda t: t.profit) if wins else None
    largest_loss = min(losses, key=lambda t: t.profit) if losses else None
    return {
        "net_profit": net,
        "net_profit_pct": _safe_div(net, initial_capital) * 100,
        "gross_profit": gross_profit,
        "gross_profit_pct": _safe_div(gross_profit, initial_capital) * 100,
        "gross_loss": gross_loss,
        "gross_loss_pct": _safe_div(gross_loss, initial_capital) * 100,
        "profit_factor": _safe_div(gross_profit, gross_loss),
        "commission_paid": float(sum(t.commission for t in trades)),
        "total_closed_trades": n,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "even_trades": len(even),
        "percent_profitable": _safe_div(len(wins), n) * 100,
        "avg_trade": _safe_div(net, n),
        "avg_trade_pct": _safe_div(float(sum(t.profit_pct for t in trades)), n),
        "avg_winning_trade": avg_win,
        "avg_winning_trade_pct": _safe_div(float(sum(t.profit_pct for t in wins)), len(wins)),
        "avg_losing_trade": avg_loss,
        "avg_losing_trade_pct": _safe_div(float(-sum(t.profit_pct for t in losses)), len(losses)),
        "ratio_avg_win_avg_loss": _safe_div(avg_win, avg_loss),
        "largest_winning_trade": largest_win.profit if largest_win else math.nan,
        "largest_winning_trade_pct": max((t.profit_pct for t in wins), default=math.nan),
        "largest_losing_trade": -largest_loss.profit if largest_loss else math.nan,
        "largest_losing_trade_pct": -min((t.profit_pct for t in losses), default=math.nan),
        "avg_bars_in_trades": avg_bars(trades),
        "avg_bars_in_winning_trades": avg_bars(wins),
        "avg_bars_in_losing_trades": avg_bars(losses),
        "max_contracts_held": max((t.qty for t in trades), default=0.0),
    }


def max_drawdown(equity_hi: np.ndarray, equity_lo: np.ndarray, start: float) -> tuple[float, float]:
    """Largest peak-to-trough fall (abs, % of the peak) using per-bar best/worst equity."""
    peak = start
    best = 0.0
    best_pct = 0.0
    for hi, lo in zip(equity_hi, equity_lo, strict=True):
        dd = peak - lo
        if dd > best:
            best = dd
            best_pct = _safe_div(dd, peak) * 100
        if hi > peak:
            peak = hi
    return best, best_pct


def max_runup(equity_hi: np.ndarray, equity_lo: np.ndarray, start: float) -> tuple[float, float]:
    trough = start
    best = 0.0
    best_pct = 0.0
    for hi, lo in zip(equity_hi, equity_lo, strict=True):
        ru = hi - trough
        if ru > best:
            best = ru
            best_pct = _safe_div(ru, trough) * 100
        if lo < trough:
            trough = lo
    return best, best_pct


def monthly_returns(times_ms: np.ndarray, equity: np.ndarray, initial_capital: float,
                    tz: str = "Etc/UTC") -> np.ndarray:
    """Equity return of each calendar month (last equity of the month vs the previous month's)."""
    if len(equity) == 0:
        return np.array([])
    zone = ZoneInfo(tz)
    prev = initial_capital
    out: list[float] = []
    cur_key = None
    last = prev
    for t, e in zip(times_ms, equity, strict=True):
        d = datetime.fromtimestamp(int(t) / 1000.0, tz=UTC).astimezone(zone)
        key = (d.year, d.month)
        if cur_key is not None and key != cur_key:
            out.append(last / prev - 1.0 if prev else 0.0)
            prev = last
        cur_key = key
        last = float(e)
    out.append(last / prev - 1.0 if prev else 0.0)
    return np.asarray(out, dtype=float)


def sharpe_sortino(returns: np.ndarray) -> tuple[float, float]:
    if len(returns) < 2:
        return math.nan, math.nan
    rf = RISK_FREE_ANNUAL / 12.0
    excess = float(np.mean(returns)) - rf
    sd = float(np.std(returns))
    downside = np.minimum(returns - rf, 0.0)
    dd = math.sqrt(float(np.mean(downside**2)))
    return _safe_div(excess, sd), _safe_div(excess, dd)


def compute_summary(result: BacktestResult, closes: np.ndarray, first_open: float,
                    equity_hi: np.ndarray, equity_lo: np.ndarray,
                    max_contracts: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> dict[str, Any]:
    cfg = result.config
    initial = float(cfg.initial_capital) if cfg else 0.0
    closed = result.closed_trades
    groups = {
        "all": closed,
        "long": [t for t in closed if t.direction == "long"],
        "short": [t for t in closed if t.direction == "short"],
    }
    out: dict[str, Any] = {}
    open_pl = {
        "all": float(sum(t.profit for t in result.open_trades)),
        "long": float(sum(t.profit for t in result.open_trades if t.direction == "long")),
        "short": float(sum(t.profit for t in result.open_trades if t.direction == "short")),
    }
    for (name, trades), held in zip(groups.items(), max_contracts, strict=True):
        s = trade_stats(trades, initial)
        s["open_pl"] = open_pl[name]
        s["open_pl_pct"] = _safe_div(open_pl[name], initial) * 100
        s["max_contracts_held"] = max(held, s["max_contracts_held"])
        out[name] = s
    dd, dd_pct = max_drawdown(equity_hi, equity_lo, initial)
    ru, ru_pct = max_runup(equity_hi, equity_lo, initial)
    bh = math.nan
    bh_pct = math.nan
    if len(closes) and first_open and not math.isnan(first_open):
        bh_pct = (float(closes[-1]) / first_open - 1.0) * 100
        bh = initial * bh_pct / 100
    tz = result.symbol.timezone if result.symbol else "Etc/UTC"
    times = result.times if result.times is not None else np.array([], dtype=np.int64)
    rets = monthly_returns(times, result.equity, initial, tz)
    sharpe, sortino = sharpe_sortino(rets)
    for name in out:
        out[name].update({
            "max_drawdown": dd, "max_drawdown_pct": dd_pct, "max_runup": ru, "max_runup_pct": ru_pct,
            "buy_and_hold_return": bh, "buy_and_hold_return_pct": bh_pct,
            "sharpe_ratio": sharpe, "sortino_ratio": sortino,
        })
    summary: dict[str, Any] = dict(out["all"])
    summary.update(out)
    summary["initial_capital"] = initial
    summary["final_equity"] = float(result.equity[-1]) if len(result.equity) else initial
    return summary
