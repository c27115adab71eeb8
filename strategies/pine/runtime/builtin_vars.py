"""Closures for Pine built-in variables (``close``, ``time``, ``barstate.*``, ``syminfo.*``, ``strategy.*`` ...)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ir
from . import ta_bridge
from .errors import PineRuntimeError
from .series import CALENDAR_FIELDS

if TYPE_CHECKING:
    from .evaluator import Fn, Script, _Env

NA = math.nan

# strategy.<name> built-in variables read from the emulator: Pine name -> emulator attribute
STRATEGY_VARS = {
    "strategy.position_size": "position_size",
    "strategy.position_avg_price": "position_avg_price",
    "strategy.position_entry_name": "position_entry_name",
    "strategy.equity": "equity",
    "strategy.netprofit": "netprofit",
    "strategy.netprofit_percent": "netprofit_percent",
    "strategy.grossprofit": "grossprofit",
    "strategy.grossprofit_percent": "grossprofit_percent",
    "strategy.grossloss": "grossloss",
    "strategy.grossloss_percent": "grossloss_percent",
    "strategy.openprofit": "openprofit",
    "strategy.openprofit_percent": "openprofit_percent",
    "strategy.max_drawdown": "max_drawdown",
    "strategy.max_drawdown_percent": "max_drawdown_percent",
    "strategy.max_runup": "max_runup",
    "strategy.max_runup_percent": "max_runup_percent",
    "strategy.avg_trade": "avg_trade",
    "strategy.avg_trade_percent": "avg_trade_percent",
    "strategy.avg_winning_trade": "avg_winning_trade",
    "strategy.avg_winning_trade_percent": "avg_winning_trade_percent",
    "strategy.avg_losing_trade": "avg_losing_trade",
    "strategy.avg_losing_trade_percent": "avg_losing_trade_percent",
    "strategy.margin_liquidation_price": "margin_liquidation_price",
    "strategy.max_contracts_held_all": "max_contracts_held_all",
    "strategy.max_contracts_held_long": "max_contracts_held_long",
    "strategy.max_contracts_held_short": "max_contracts_held_short",
    "strategy.opentrades.capital_held": "opentrades_capital_held",
    "strategy.opentrades": "opentrades",
    "strategy.closedtrades": "closedtrades",
    "strategy.wintrades": "wintrades",
    "strategy.losstrades": "losstrades",
    "strategy.eventrades": "eventrades",
    "strategy.closedtrades.first_index": "closedtrades_first_index",
    "strategy.initial_capital": "initial_capital",
}
_STRATEGY_ZERO = {"strategy.position_entry_name": None}


_TIMEFRAME_FLAGS = {
    "timeframe.isdaily": lambda tf: tf.isdaily,
    "timeframe.isweekly": lambda tf: tf.isweekly,
    "timeframe.ismonthly": lambda tf: tf.ismonthly,
    "timeframe.isintraday": lambda tf: tf.isintraday,
    "timeframe.isminutes": lambda tf: tf.isminutes,
    "timeframe.isseconds": lambda tf: tf.isseconds,
    "timeframe.isdwm": lambda tf: tf.isdwm,
}


def _pricescale(mintick: float) -> int:
    if mintick <= 0:
        return 100
    return round(1.0 / mintick) if mintick < 1 else 1


def static_builtin_value(script: Script, name: str) -> Any:
    sym = script.symbol
    ticker_full = getattr(sym, "ticker", "SYMBOL") or "SYMBOL"
    prefix, _, short = ticker_full.rpartition(":")
    currency = getattr(sym, "currency", "USD") or "USD"
    tf = script.tf
    mintick = float(getattr(sym, "mintick", 0.01) or 0.01)
    if name == "syminfo.mintick":
        return mintick
    if name == "syminfo.pointvalue":
        return float(getattr(sym, "pointvalue", 1.0) or 1.0)
    if name == "syminfo.ticker":
        return short
    if name in ("syminfo.tickerid", "syminfo.main_tickerid"):
        return ticker_full if prefix else short
    if name == "syminfo.prefix":
        return prefix
    if name == "syminfo.root":
        return short.rstrip("!0123456789") if short.endswith("!") else short
    if name == "syminfo.timezone":
        return script.tz
    if name == "syminfo.currency":
        return currency
    if name == "syminfo.basecurrency":
        base = short.removesuffix(".P")
        for q in (currency, "USDT", "USDC", "USD", "BUSD"):
            if base.endswith(q) and len(base) > len(q):
                return base[: -len(q)]
        return base
    if name == "syminfo.type":
        return getattr(sym, "type", "crypto")
    if name == "syminfo.pricescale":
        return _pricescale(mintick)
    if name == "syminfo.minmove":
        return 1
    if name in ("timeframe.period", "timeframe.main_period"):
        return tf.period
    if name == "timeframe.multiplier":
        return tf.multiplier
    if name in _TIMEFRAME_FLAGS:
        return _TIMEFRAME_FLAGS[name](tf)
    if name == "timeframe.isticks":
        return False
    if name == "strategy.initial_capital":
        emu = script.emu
        return float(getattr(emu, "initial_capital", NA)) if emu is not None else NA
    raise KeyError(name)


def compile_builtin_var(script: Script, node: ir.BuiltinVar, env: _Env) -> Fn:
    name = node.name
    IX = script.IX
    b = script.bars
    if name == "close":
        c = b.c
        return lambda: c[IX[0]]
    if name == "open":
        o = b.o
        return lambda: o[IX[0]]
    if name == "high":
        h = b.h
        return lambda: h[IX[0]]
    if name == "low":
        low = b.l
        return lambda: low[IX[0]]
    if name == "volume":
        v = b.v
        return lambda: v[IX[0]]
    if name in ("hl2", "hlc3", "ohlc4", "hlcc4"):
        get = script._series_array(name)
        return lambda: get(IX[0])
    if name == "time":
        t = b.t
        return lambda: t[IX[0]]
    if name == "time_close":
        t = b.t
        tf_ms = script.tf_ms
        return lambda: t[IX[0]] + tf_ms
    if name == "time_tradingday":
        from .series import day_start_ms

        dk = b.day_key
        tz = script.tz
        cache: dict[int, int] = {}

        def tradingday() -> int:
            k = dk[IX[0]]
            v = cache.get(k)
            if v is None:
                v = cache[k] = day_start_ms(k, tz)
            return v

        return tradingday
    if name == "bar_index":
        return lambda: IX[0]
    if name == "last_bar_index":
        if b.total is not None:
            last = b.total - 1
            return lambda: last
        return lambda: len(b.t) - 1
    if name in ("last_bar_time", "timenow"):
        t = b.t
        return lambda: t[-1] if t else NA
    if name in CALENDAR_FIELDS:
        arr = b.cal[name]
        return lambda: arr[IX[0]]
    if name.startswith("barstate."):
        return _barstate(script, name)
    if name.startswith("session."):
        return _session_var(script, name)
    if name in STRATEGY_VARS:
        emu = script.emu
        attr = STRATEGY_VARS[name]
        if emu is None:
            zero = _STRATEGY_ZERO.get(name, 0.0 if name != "strategy.initial_capital" else NA)
            return lambda: zero
        if not hasattr(type(emu), attr) and not hasattr(emu, attr):
            line, col = node.span.line, node.span.col
            raise PineRuntimeError(f"'{name}' is not supported by the strategy emulator", line, col)
        if name == "strategy.position_size":
            return lambda: emu.position_size
        if name == "strategy.position_avg_price":
            return lambda: emu.position_avg_price
        if name == "strategy.equity":
            return lambda: emu.equity

        def strategy_var() -> Any:
            v = getattr(emu, attr)
            return NA if v is None and name != "strategy.position_entry_name" else v

        return strategy_var
    if name in ta_bridge.VAR_SPECS:
        return _ta_var(script, name, env)
    try:
        v = static_builtin_value(script, name)
    except KeyError:
        pass
    else:
        return lambda: v
    if name.startswith("syminfo."):
        return lambda: NA
    if name == "strategy.account_currency":
        cur = getattr(script.symbol, "currency", "USD")
        return lambda: cur
    line, col = node.span.line, node.span.col
    raise PineRuntimeError(f"built-in variable '{name}' is not supported", line, col)


def _barstate(script: Script, name: str) -> Fn:
    IX = script.IX
    b = script.bars
    if name == "barstate.isfirst":
        return lambda: IX[0] == 0
    if name in ("barstate.islast", "barstate.islastconfirmedhistory"):
        if b.total is not None:
            last = b.total - 1
            return lambda: IX[0] == last
        return lambda: IX[0] == len(b.t) - 1
    if name in ("barstate.ishistory", "barstate.isconfirmed", "barstate.isnew"):
        return lambda: True
    if name == "barstate.isrealtime":
        return lambda: False
    return lambda: False


def _session_var(script: Script, name: str) -> Fn:
    IX = script.IX
    dk = script.bars.day_key
    b = script.bars
    if name in ("session.isfirstbar", "session.isfirstbar_regular"):
        return lambda: IX[0] == 0 or dk[IX[0]] != dk[IX[0] - 1]
    if name in ("session.islastbar", "session.islastbar_regular"):
        def islast() -> bool:
            i = IX[0]
            if i + 1 < len(dk):
                return dk[i + 1] != dk[i]
            if b.total is not None and i == b.total - 1:
                return False
            return False

        return islast
    if name == "session.ismarket":
        return lambda: True
    return lambda: False


def _ta_var(script: Script, name: str, env: _Env) -> Fn:
    IX = script.IX
    spec = ta_bridge.VAR_SPECS[name]
    if script.vectorize and name != "ta.vwap":
        arr = np.asarray(spec.vec(_np(script), []), dtype=np.float64).tolist()
        return lambda: arr[IX[0]]
    inst = spec.make([])
    script.state.append(inst)
    b = script.bars
    last = [-1, NA]
    script.state.append(last)
    dk = b.day_key

    def ta_var() -> Any:
        i = IX[0]
        if last[0] == i:
            return last[1]
        bar = (b.o[i], b.h[i], b.l[i], b.c[i], b.v[i])
        if name == "ta.vwap":
            anchor = i == 0 or dk[i] != dk[i - 1]
            v = inst.update(bar[4], (bar[1] + bar[2] + bar[3]) / 3.0, anchor)
        else:
            v = spec.step(inst, bar, [])
        last[0] = i
        last[1] = v
        return v

    # these variables are defined on every bar: update even when read conditionally
    script._always_update.append(ta_var)
    return ta_var


def _np(script: Script) -> ta_bridge.Bars:
    from .vectorize import _bars

    return _bars(script)
