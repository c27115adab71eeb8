"""Backtest entry points: ``run_backtest`` (whole history) and ``Runner`` (live, bar by bar).

Both drive the same compiled program and the same TradingView broker emulator with the protocol
``emulator.process_bar(i, ...)`` -> script on bar i -> ``emulator.after_script(i)``.
"""

from __future__ import annotations

import csv
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .. import ir
from ..compiler import CompileResult, compile_source, validate_input_overrides
from .broker import BacktestResult, OrderEvent, StrategyConfig, StrategyEmulator, SymbolInfo, Trade
from .errors import PineCancelled, PineRuntimeError
from .evaluator import Limits, Script
from .series import BarData
from .timeutil import infer_timeframe, parse_timeframe

ENGINE_VERSION = "pine-runtime/1.0"
PROGRESS_EVERY = 2048


class PineCompileError(Exception):
    """The source did not compile; ``diagnostics`` holds the front end's errors."""

    def __init__(self, result: CompileResult) -> None:
        self.result = result
        self.diagnostics = result.errors
        first = self.diagnostics[0] if self.diagnostics else None
        msg = f"{first.line}:{first.col}: {first.message}" if first else "compile failed"
        super().__init__(msg)

    def format(self, filename: str | None = None) -> str:
        name = filename or self.result.filename
        return "\n".join(d.format(name) for d in self.diagnostics)


# ------------------------------------------------------------------------------------------------ bars


@dataclass
class Bars:
    """OHLCV bars as numpy arrays; ``time_ms`` is the bar OPEN time in Unix epoch milliseconds (UTC)."""

    time_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        self.time_ms = np.asarray(self.time_ms, dtype=np.int64)
        for name in ("open", "high", "low", "close", "volume"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        n = len(self.time_ms)
        if any(len(getattr(self, k)) != n for k in ("open", "high", "low", "close", "volume")):
            raise ValueError("all bar arrays must have the same length")
        if n > 1 and np.any(np.diff(self.time_ms) <= 0):
            raise ValueError("bar times must be strictly increasing")

    def __len__(self) -> int:
        return len(self.time_ms)

    def slice(self, start: int, stop: int) -> Bars:
        return Bars(self.time_ms[start:stop], self.open[start:stop], self.high[start:stop],
                    self.low[start:stop], self.close[start:stop], self.volume[start:stop])

    @classmethod
    def from_dataframe(cls, df: Any) -> Bars:
        """From a pandas DataFrame with a DatetimeIndex (naive = UTC) or a ``time`` column."""
        cols = {str(c).lower(): c for c in df.columns}
        if "time" in cols:
            times = _parse_times([str(x) if not isinstance(x, int | float | np.integer | np.floating) else x
                                  for x in df[cols["time"]].tolist()])
        else:
            idx = df.index
            if getattr(idx, "tz", None) is None:
                idx = idx.tz_localize("UTC")
            times = idx.tz_convert("UTC").as_unit("ms").asi8.astype(np.int64)
        vol = df[cols["volume"]].to_numpy(dtype=np.float64) if "volume" in cols else np.zeros(len(df))
        return cls(times, df[cols["open"]].to_numpy(dtype=np.float64), df[cols["high"]].to_numpy(dtype=np.float64),
                   df[cols["low"]].to_numpy(dtype=np.float64), df[cols["close"]].to_numpy(dtype=np.float64),
                   np.nan_to_num(vol))

    @classmethod
    def from_csv(cls, path: str) -> Bars:
        """CSV with columns time,open,high,low,close[,volume] (case-insensitive); time as ISO-8601 (with
        offset; naive = UTC) or epoch seconds/milliseconds."""
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path}: empty CSV")
            names = [h.strip().lower() for h in header]
            required = ("time", "open", "high", "low", "close")
            alias = {"date": "time", "datetime": "time", "timestamp": "time"}
            names = [alias.get(n, n) for n in names]
            missing = [c for c in required if c not in names]
            if missing:
                raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (have {', '.join(header)})")
            idx = {n: names.index(n) for n in (*required, "volume") if n in names}
            rows = [r for r in reader if r and any(x.strip() for x in r)]
        times = _parse_times([r[idx["time"]].strip() for r in rows])

        def col(name: str) -> np.ndarray:
            if name not in idx:
                return np.zeros(len(rows))
            out = np.empty(len(rows))
            for k, r in enumerate(rows):
                s = r[idx[name]].strip()
                out[k] = float(s) if s not in ("", "NaN", "nan", "null") else math.nan
            return out

        return cls(times, col("open"), col("high"), col("low"), col("close"), np.nan_to_num(col("volume")))


def _parse_times(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        out[k] = _parse_time(v)
    return out


def _parse_time(v: Any) -> int:
    if isinstance(v, int | np.integer):
        x = int(v)
        return x if abs(x) >= 100_000_000_000 else x * 1000
    if isinstance(v, float | np.floating):
        x = float(v)
        return int(x) if abs(x) >= 1e11 else round(x * 1000)
    s = str(v).strip()
    try:
        x = float(s)
    except ValueError:
        pass
    else:
        return int(x) if abs(x) >= 1e11 else round(x * 1000)
    s = s.replace("Z", "+00:00")
    if " " in s and "T" not in s:
        s = s.replace(" ", "T", 1)
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_date(value: Any) -> int | None:
    """``date_from``/``date_to`` as epoch ms (datetime, ISO string, epoch s/ms)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return _parse_time(value)


# ------------------------------------------------------------------------------------------------ results


@dataclass
class RunResult:
    trades: list[Trade]
    equity: np.ndarray
    drawdown: np.ndarray
    summary: dict[str, Any]
    plots: dict[str, np.ndarray]
    alerts: list[dict]
    events: list[OrderEvent]
    inputs: dict[str, Any]
    bars_processed: int
    engine_version: str = ENGINE_VERSION
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    logs: list[dict] = field(default_factory=list)
    backtest: BacktestResult | None = None


# ------------------------------------------------------------------------------------------------ setup


def ensure_compiled(source_or_compiled: str | CompileResult, filename: str = "<input>") -> CompileResult:
    compiled = compile_source(source_or_compiled, filename) if isinstance(source_or_compiled, str) \
        else source_or_compiled
    if not compiled.ok or compiled.program is None:
        raise PineCompileError(compiled)
    return compiled


def resolve_inputs(compiled: CompileResult, inputs: dict[str, Any] | None) -> tuple[dict[int, Any], dict[str, Any]]:
    """Map ``{input variable name or title: value}`` to ``{input index: value}``; values are coerced
    from strings (CLI) to the input's kind.  Returns (by index, effective values by name)."""
    inputs = dict(inputs or {})
    specs = compiled.inputs
    by_key: dict[str, Any] = {}
    for spec in specs:
        if spec.title:
            by_key.setdefault(spec.title, spec)
        if spec.name:
            by_key[spec.name] = spec
    coerced: dict[str, Any] = {}
    for key, value in inputs.items():
        spec = by_key.get(key)
        coerced[key] = _coerce_input(spec, value) if spec is not None else value
    errors = validate_input_overrides(compiled, coerced)
    if errors:
        raise ValueError("; ".join(errors))
    by_index: dict[int, Any] = {}
    for key, value in coerced.items():
        by_index[by_key[key].index] = value
    effective: dict[str, Any] = {}
    for spec in specs:
        name = spec.name or spec.title or f"input{spec.index}"
        v = by_index.get(spec.index, spec.defval)
        effective[name] = f"{v.enum}.{v.member}" if isinstance(v, ir.EnumValue) else v
    return by_index, effective


def _coerce_input(spec: Any, value: Any) -> Any:
    if not isinstance(value, str):
        if spec.kind in ("float", "price") and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    kind = spec.kind
    s = value.strip()
    if kind in ("int", "time"):
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
                return int(f) if f.is_integer() else f
            except ValueError:
                return value
    if kind in ("float", "price"):
        try:
            return float(s)
        except ValueError:
            return value
    if kind == "bool":
        if s.lower() in ("true", "1", "yes", "on"):
            return True
        if s.lower() in ("false", "0", "no", "off"):
            return False
    return value


def strategy_config(compiled: CompileResult, initial_capital: float | None = None) -> StrategyConfig:
    decl = compiled.declaration
    cfg = StrategyConfig()
    if decl is not None and decl.kind == "strategy":
        def get(name: str, default: Any) -> Any:
            v = decl.get(name, default)
            return default if v is None or (isinstance(v, float) and v != v) else v

        cfg = StrategyConfig(
            initial_capital=float(get("initial_capital", 1_000_000.0)),
            default_qty_type=str(get("default_qty_type", "fixed")),
            default_qty_value=float(get("default_qty_value", 1.0)),
            pyramiding=int(get("pyramiding", 0)),
            commission_type=str(get("commission_type", "percent")),
            commission_value=float(get("commission_value", 0.0)),
            slippage=int(get("slippage", 0)),
            process_orders_on_close=bool(get("process_orders_on_close", False)),
            close_entries_rule=str(get("close_entries_rule", "FIFO")),
            margin_long=float(get("margin_long", 0.0)),
            margin_short=float(get("margin_short", 0.0)),
            currency=str(get("currency", "USD")),
        )
    if initial_capital is not None:
        cfg.initial_capital = float(initial_capital)
    return cfg


def _session_start_min(symbol: SymbolInfo) -> int:
    s = str(getattr(symbol, "session_start", "0000") or "0000").replace(":", "").zfill(4)
    try:
        return int(s[:2]) * 60 + int(s[2:])
    except ValueError:
        return 0


def _event_dict(e: OrderEvent) -> dict:
    return {"kind": e.kind, "bar_index": e.bar_index, "time": e.time, "id": e.id, "side": e.side, "qty": e.qty,
            "price": e.price, "comment": e.comment, "alert_message": e.alert_message}


def _plots(script: Script, n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for title, values in script.outputs.plots.items():
        kind = script.outputs.plot_kinds.get(title)
        vals = list(values) + [None if kind in ("bgcolor", "barcolor", "fill") else math.nan] * (n - len(values))
        if kind in ("bgcolor", "barcolor", "fill", "plotcandle", "plotbar"):
            out[title] = np.array([None if isinstance(v, float) and v != v else v for v in vals], dtype=object)
        else:
            try:
                out[title] = np.array([math.nan if v is None else v for v in vals], dtype=np.float64)
            except (TypeError, ValueError):
                out[title] = np.array(vals, dtype=object)
    return out


# ------------------------------------------------------------------------------------------------ backtest


def run_backtest(
    source_or_compiled: str | CompileResult,
    bars: Bars,
    symbol: SymbolInfo,
    *,
    timeframe: str | None = None,
    inputs: dict[str, Any] | None = None,
    date_from: Any = None,
    date_to: Any = None,
    initial_capital: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    max_bars: int | None = None,
    limits: Limits | None = None,
    vectorize: bool = True,
) -> RunResult:
    """Run a Pine strategy over ``bars`` with TradingView's broker emulation and return the results.

    ``date_from``/``date_to`` restrict the bars the script sees; ``max_bars`` keeps only the most recent
    bars (like TradingView's limited chart history).  Raises ``PineCompileError`` for a source that does
    not compile, ``PineRuntimeError`` (``line:col: message``) when the script fails, ``PineCancelled`` when
    ``should_cancel`` returns true, ``ValueError`` for invalid inputs.
    """
    compiled = ensure_compiled(source_or_compiled)
    bars = _select_bars(bars, date_from, date_to, max_bars)
    tf = timeframe or infer_timeframe(bars.time_ms)
    parse_timeframe(tf)
    by_index, effective = resolve_inputs(compiled, inputs)
    cfg = strategy_config(compiled, initial_capital)
    emu = StrategyEmulator(cfg, symbol)
    tz = symbol.timezone or "Etc/UTC"
    tf_ms = parse_timeframe(tf).nominal_ms
    data = BarData.from_arrays(bars.time_ms, bars.open, bars.high, bars.low, bars.close, bars.volume, tz, tf_ms,
                               _session_start_min(symbol))
    script = Script(compiled.program, inputs_specs=compiled.inputs, input_values=by_index, symbol=symbol,
                    timeframe=tf, bars=data, emulator=emu, vectorize=vectorize, limits=limits)
    n = len(bars)
    t, o, h, low, c, v = data.t, data.o, data.h, data.l, data.c, data.v
    process_bar = emu.process_bar
    run_bar = script.run_bar
    after_script = emu.after_script
    for start in range(0, n, PROGRESS_EVERY):
        if should_cancel is not None and should_cancel():
            raise PineCancelled("backtest cancelled", 0, 0)
        script.check_wall_clock()
        for i in range(start, min(n, start + PROGRESS_EVERY)):
            process_bar(i, t[i], o[i], h[i], low[i], c[i], v[i])
            run_bar(i)
            after_script(i)
        if progress is not None:
            progress(min(n, start + PROGRESS_EVERY), n)
    bt = emu.finish()
    return _result(script, bt, effective, n)


def _result(script: Script, bt: BacktestResult, effective: dict[str, Any], n: int) -> RunResult:
    return RunResult(
        trades=bt.trades, equity=bt.equity, drawdown=bt.drawdown, summary=bt.summary, plots=_plots(script, n),
        alerts=list(script.outputs.alerts), events=list(bt.events), inputs=effective, bars_processed=n,
        times=np.asarray(script.bars.t, dtype=np.int64), logs=list(script.outputs.logs), backtest=bt)


def _select_bars(bars: Bars, date_from: Any, date_to: Any, max_bars: int | None) -> Bars:
    start, stop = 0, len(bars)
    f = parse_date(date_from)
    t = parse_date(date_to)
    if f is not None:
        start = int(np.searchsorted(bars.time_ms, f, side="left"))
    if t is not None:
        stop = int(np.searchsorted(bars.time_ms, t, side="right"))
    if max_bars is not None and max_bars > 0 and stop - start > max_bars:
        start = stop - max_bars
    if start == 0 and stop == len(bars):
        return bars
    return bars.slice(start, max(start, stop))


# ------------------------------------------------------------------------------------------------ live


STATE_VERSION = 1


class Runner:
    """Bar-by-bar execution for live trading; gives exactly the trades ``run_backtest`` gives.

    ``warmup(bars)`` runs the history, ``step(bar)`` one new CONFIRMED bar and returns the order events
    and alerts it produced.  ``get_state()`` returns a picklable snapshot; ``Runner.from_state`` resumes.
    All ``ta.*`` run in streaming mode here (there is no future data to vectorize over).
    """

    def __init__(self, compiled: str | CompileResult, symbol: SymbolInfo, timeframe: str,
                 inputs: dict[str, Any] | None = None, *, initial_capital: float | None = None,
                 limits: Limits | None = None, keep_plots: bool = True) -> None:
        """``keep_plots=False``: ``plot()`` values are not kept (``result()`` has empty plots); a live runner whose
        state is saved on every bar would otherwise carry one value per bar and plot forever."""
        self.compiled = ensure_compiled(compiled)
        self.symbol = symbol
        self.timeframe = timeframe
        self.inputs = dict(inputs or {})
        self.initial_capital = initial_capital
        self.by_index, self.effective = resolve_inputs(self.compiled, self.inputs)
        self.emu = StrategyEmulator(strategy_config(self.compiled, initial_capital), symbol)
        tf = parse_timeframe(timeframe)
        self.data = BarData(symbol.timezone or "Etc/UTC", tf.nominal_ms, _session_start_min(symbol))
        self.script = Script(self.compiled.program, inputs_specs=self.compiled.inputs, input_values=self.by_index,
                             symbol=symbol, timeframe=timeframe, bars=self.data, emulator=self.emu,
                             vectorize=False, limits=limits, keep_plots=keep_plots)
        d = self.data
        self._state_objects = [d.t, d.o, d.h, d.l, d.c, d.v, d.day_key, *d.cal.values(), self.emu, self.script.state]
        self._seen = [0, 0]  # events, alerts already returned
        self.restored_since: tuple[int, int] | None = None  # the ``since`` of the delta state restored from

    @property
    def bars_processed(self) -> int:
        return len(self.data)

    def warmup(self, bars: Bars) -> None:
        """Run historical bars (order events and alerts they produce are not returned)."""
        if not len(bars):
            return
        if self.data.t and int(bars.time_ms[0]) <= self.data.t[-1]:
            raise ValueError(f"bar time {int(bars.time_ms[0])} is not after the last processed bar {self.data.t[-1]}")
        d = self.data
        start = len(d)
        d.extend(bars.time_ms, bars.open, bars.high, bars.low, bars.close, bars.volume)
        process_bar, run_bar, after_script = self.emu.process_bar, self.script.run_bar, self.emu.after_script
        t, o, h, low, c, v = d.t, d.o, d.h, d.l, d.c, d.v
        for i in range(start, len(d)):
            process_bar(i, t[i], o[i], h[i], low[i], c[i], v[i])
            run_bar(i)
            after_script(i)
        self._seen = [len(self.emu.events), len(self.script.outputs.alerts)]

    def step(self, bar: Any) -> list[dict]:
        """Run one confirmed bar: ``(time_ms, open, high, low, close, volume)`` or a dict with those keys."""
        if isinstance(bar, dict):
            bar = (bar.get("time_ms", bar.get("time")), bar["open"], bar["high"], bar["low"], bar["close"],
                   bar.get("volume", 0.0))
        t, o, h, low, c, v = bar
        t = int(t)
        if self.data.t and t <= self.data.t[-1]:
            raise ValueError(f"bar time {t} is not after the last processed bar {self.data.t[-1]}")
        self.data.append(t, o, h, low, c, v)
        i = len(self.data) - 1
        self.emu.process_bar(i, t, float(o), float(h), float(low), float(c), float(v))
        self.script.run_bar(i)
        self.emu.after_script(i)
        out: list[dict] = []
        events = self.emu.events
        for e in events[self._seen[0]:]:
            d = _event_dict(e)
            d["type"] = "order"
            out.append(d)
        self._seen[0] = len(events)
        alerts = self.script.outputs.alerts
        for a in alerts[self._seen[1]:]:
            d = dict(a)
            d["type"] = "alert"
            out.append(d)
        self._seen[1] = len(alerts)
        return out

    def result(self) -> RunResult:
        import copy

        emu = copy.deepcopy(self.emu)
        bt = emu.finish()
        return _result(self.script, bt, self.effective, len(self.data))

    def get_state(self, since: tuple[int, int] | None = None) -> bytes:
        """The picklable snapshot. ``since=(bars, closed trades)``: a delta that leaves out the first that many bars
        and closed trades, which ``get_base`` returned at that point (they never change again); ``from_state``
        then needs that base."""
        bars, closed_count = since or (0, 0)
        emu = self.emu
        closed = emu.closed
        if closed_count:
            emu.closed = closed[closed_count:]
        d = self.data
        payload = {
            "version": STATE_VERSION,
            "engine_version": ENGINE_VERSION,
            "n_state": len(self.script.state),
            "bars": [x[bars:] for x in (d.t, d.o, d.h, d.l, d.c, d.v, d.day_key)],
            "cal": {k: v[bars:] for k, v in d.cal.items()},
            "emulator": emu,
            # the live state list, not Script.snapshot()'s deep copy (which cost more than the pickling): pickling
            # copies it anyway. The only objects it shares with the rest of the payload are the plot value lists
            # (also in "outputs"), restored into the same lists either way; the format is unchanged.
            "script": self.script.state,
            "outputs": self.script.outputs,
            "seen": list(self._seen),
        }
        if since is not None:
            payload["since"] = (bars, closed_count)
        try:
            return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            emu.closed = closed

    def get_base(self) -> tuple[tuple[int, int], bytes]:
        """What no later bar changes: the bars so far and the closed trades, with their counts (``since`` for
        ``get_state``). A live runner writes it now and then instead of rewriting it with every bar's state."""
        d = self.data
        closed = list(self.emu.closed)
        payload = {"version": STATE_VERSION, "bars": [list(x) for x in (d.t, d.o, d.h, d.l, d.c, d.v, d.day_key)],
                   "cal": {k: list(v) for k, v in d.cal.items()}, "closed": closed}
        return (len(d.t), len(closed)), pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_state(cls, compiled: str | CompileResult, symbol: SymbolInfo, timeframe: str,
                   inputs: dict[str, Any] | None, state: bytes, *, initial_capital: float | None = None,
                   limits: Limits | None = None, keep_plots: bool = True, base: bytes | None = None) -> Runner:
        """``base``: the ``get_base`` snapshot a delta state (``get_state(since=...)``) was taken against."""
        payload = pickle.loads(state)  # noqa: S301 - our own snapshot, produced by get_state
        if payload.get("version") != STATE_VERSION:
            raise ValueError("runner state was produced by an incompatible engine version")
        since = payload.get("since")
        prefix = None
        if since is not None:
            if base is None:
                raise ValueError("runner state is a delta: its base snapshot is needed")
            prefix = pickle.loads(base)  # noqa: S301 - our own snapshot, produced by get_base
            if (len(prefix["bars"][0]), len(prefix["closed"])) != tuple(since):
                raise ValueError("runner state does not match its base snapshot")
        runner = cls(compiled, symbol, timeframe, inputs, initial_capital=initial_capital, limits=limits,
                     keep_plots=keep_plots)
        if payload["n_state"] != len(runner.script.state):
            raise ValueError("runner state does not match this program")
        d = runner.data
        targets = (d.t, d.o, d.h, d.l, d.c, d.v, d.day_key)
        for index, (target, saved) in enumerate(zip(targets, payload["bars"], strict=True)):
            target[:] = saved if prefix is None else prefix["bars"][index] + saved
        for k, saved in payload["cal"].items():
            d.cal[k][:] = saved if prefix is None else prefix["cal"][k] + saved
        emulator = payload["emulator"]
        if prefix is not None:
            emulator.closed = prefix["closed"] + emulator.closed
        runner.emu.__dict__.clear()
        runner.emu.__dict__.update(emulator.__dict__)
        # freshly unpickled and used once: no defensive copy
        runner.script.restore(payload["script"], copy=False)
        outs = payload["outputs"]
        runner.script.outputs.alerts[:] = outs.alerts
        runner.script.outputs.logs[:] = outs.logs
        for title, vals in outs.plots.items():
            if title in runner.script.outputs.plots:
                runner.script.outputs.plots[title][:] = vals
        runner._seen = list(payload["seen"])
        runner.restored_since = None if since is None else tuple(since)
        return runner


__all__ = [
    "ENGINE_VERSION",
    "Bars",
    "PineCompileError",
    "PineRuntimeError",
    "RunResult",
    "Runner",
    "SymbolInfo",
    "ensure_compiled",
    "resolve_inputs",
    "run_backtest",
    "strategy_config",
]
