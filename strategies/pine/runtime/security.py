"""``request.security`` for the chart symbol at a higher timeframe, without repainting.

The whole program is evaluated a second time in a *security context* on higher-timeframe (HTF) bars
that are aggregated from the chart bars as they arrive; each ``request.security`` site with that
timeframe records its expression value per HTF bar.  With ``lookahead_off`` a chart bar sees the value
of the last CONFIRMED HTF bar: an HTF bar is confirmed on the chart bar whose close time reaches the
HTF bar's end (or when the next HTF bar starts).  ``lookahead_on`` exposes the value of the HTF bar
that contains the chart bar (known in backtests only; TradingView's historical behaviour).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .. import ir
from .errors import PineRuntimeError
from .series import BarData
from .timeutil import Timeframe, next_bucket_start, parse_timeframe
from .vectorize import NotStatic, static_value

if TYPE_CHECKING:
    from .evaluator import Fn, Script, _Env

NA = math.nan


def _same_symbol(script: Script, value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return True
    ticker = str(getattr(script.symbol, "ticker", "") or "")
    short = ticker.rpartition(":")[2]
    v = str(value)
    return v in (ticker, short) or v.rpartition(":")[2] == short


def _static_arg(script: Script, node: ir.BuiltinCall, k: int, env: _Env, default: Any) -> Any:
    if k >= len(node.args) or node.args[k] is None:
        return default
    return static_value(script, node.args[k], env)


def security_params(script: Script, node: ir.BuiltinCall, env: _Env) -> tuple[Timeframe, bool, bool]:
    line, col = node.span.line, node.span.col
    try:
        symbol = _static_arg(script, node, 0, env, None)
        tf_text = _static_arg(script, node, 1, env, "")
        gaps = _static_arg(script, node, 3, env, "gaps_off")
        lookahead = _static_arg(script, node, 4, env, "lookahead_off")
    except NotStatic:
        raise PineRuntimeError("request.security: symbol, timeframe, gaps and lookahead must be constants or "
                               "inputs in this runtime", line, col) from None
    if not _same_symbol(script, symbol):
        raise PineRuntimeError(
            f"request.security: only the chart symbol ({getattr(script.symbol, 'ticker', '?')}) is available; "
            f"data for '{symbol}' cannot be requested", line, col)
    if tf_text is None or (isinstance(tf_text, float) and tf_text != tf_text) or tf_text == "":
        tf = script.tf
    else:
        try:
            tf = parse_timeframe(str(tf_text))
        except ValueError as exc:
            raise PineRuntimeError(f"request.security: {exc}", line, col) from None
    if tf.in_seconds < script.tf.in_seconds and script.context == "chart":
        raise PineRuntimeError(
            f"request.security: timeframe '{tf.period}' is lower than the chart timeframe "
            f"'{script.tf.period}' (use a higher timeframe)", line, col)
    return tf, str(gaps).endswith("gaps_on"), str(lookahead).endswith("lookahead_on")


class SecurityFeed:
    """Incremental HTF aggregation + the security-context script for one timeframe."""

    def __init__(self, main: Script, tf: Timeframe) -> None:
        from .evaluator import Script

        self.main = main
        self.tf = tf
        self.capture: dict[int, list] = {}
        bars = BarData(main.bars.tz, tf.nominal_ms, main.bars.session_start_min)
        self.bars = bars
        self.sub = Script(
            main.program,
            inputs_specs=main.inputs_specs,
            input_values=main.input_values,
            symbol=main.symbol,
            timeframe=tf.period,
            bars=bars,
            emulator=None,
            vectorize=False,
            limits=main.limits,
            context="security",
            security_capture=self.capture,
        )
        # [bucket_start, bucket_end, evaluated?, last evaluated HTF index, bar of last confirmation, o, h, l, c, v]
        # [bucket start, bucket end, evaluated?, last evaluated HTF index, chart bar of last confirmation,
        #  o, h, l, c, v of the HTF bar being built, ordinal of the current bucket]
        self.st: list[Any] = [None, None, False, -1, -1, NA, NA, NA, NA, 0.0, -1]
        self.confirmed_at: list[int] = []  # chart bar index at which each HTF bar was confirmed
        main.state.append(self.st)
        main.state.append(self.confirmed_at)
        for lst in (bars.t, bars.o, bars.h, bars.l, bars.c, bars.v, bars.day_key, *bars.cal.values()):
            main.state.append(lst)
        main.state.extend(self.sub.state)
        # the capture lists themselves (closures hold them), not the dict, so a restore refills them in place
        for site in sorted(self.capture):
            main.state.append(self.capture[site])

    def _evaluate_bucket(self, chart_i: int) -> None:
        st = self.st
        self.bars.append(st[0], st[5], st[6], st[7], st[8], st[9])
        k = len(self.bars) - 1
        self.sub.run_bar(k)
        st[2] = True
        st[3] = k
        st[4] = chart_i
        self.confirmed_at.append(chart_i)

    def on_chart_bar(self, i: int) -> None:
        from .builtin_calls import bucket_start_scalar

        b = self.main.bars
        t = b.t[i]
        st = self.st
        start = bucket_start_scalar(t, self.tf, b.tz, b.session_start_min)
        if st[0] is None or start != st[0]:
            if st[0] is not None and not st[2]:
                self._evaluate_bucket(i)  # the previous HTF bar ended without a bar reaching its end time
            st[0] = start
            st[10] += 1
            st[1] = next_bucket_start(start, self.tf, b.tz)
            st[2] = False
            st[5], st[6], st[7], st[8], st[9] = b.o[i], b.h[i], b.l[i], b.c[i], b.v[i]
        else:
            st[6] = max(st[6], b.h[i])
            st[7] = min(st[7], b.l[i])
            st[8] = b.c[i]
            st[9] = st[9] + b.v[i]
        if t + self.main.tf_ms >= st[1] and not st[2]:
            self._evaluate_bucket(i)

    def value(self, site: int, gaps: bool) -> Any:
        k = self.st[3]
        if k < 0:
            return NA
        if gaps and self.st[4] != self.main.IX[0]:
            return NA
        vals = self.capture.get(site)
        if vals is None or k >= len(vals):
            return NA
        return vals[k]


    def value_shifted(self, site: int, shift: int) -> Any:
        """``lookahead_on`` with ``expr[shift]``: the value of ``expr`` ``shift`` HTF bars before the bucket
        of the current chart bar (already confirmed, so available bar by bar)."""
        k = self.st[10] - shift
        vals = self.capture.get(site)
        if k < 0 or vals is None or k >= len(vals):
            return NA
        return vals[k]


def _lookahead_shift(node: ir.BuiltinCall) -> int | None:
    expr = node.args[2] if len(node.args) > 2 else None
    if isinstance(expr, ir.Index) and isinstance(expr.offset, ir.Const) and isinstance(expr.offset.value, int) \
            and not isinstance(expr.offset.value, bool) and expr.offset.value >= 1:
        return expr.offset.value
    return None


def _lookahead_values(main: Script, tf: Timeframe, site: int) -> list:
    """Batch-only: value of the HTF bar containing each chart bar (lookahead_on)."""
    from .builtin_calls import bucket_start_scalar
    from .evaluator import Script

    b = main.bars
    starts = [bucket_start_scalar(t, tf, b.tz, b.session_start_min) for t in b.t]
    htf = BarData(b.tz, tf.nominal_ms, b.session_start_min)
    bucket_of: list[int] = []
    cur = None
    agg: list[Any] = []
    rows = []
    for i, s in enumerate(starts):
        if s != cur:
            if cur is not None:
                rows.append((cur, *agg))
            cur = s
            agg = [b.o[i], b.h[i], b.l[i], b.c[i], b.v[i]]
        else:
            agg[1] = max(agg[1], b.h[i])
            agg[2] = min(agg[2], b.l[i])
            agg[3] = b.c[i]
            agg[4] += b.v[i]
        bucket_of.append(len(rows))
    if cur is not None:
        rows.append((cur, *agg))
    import numpy as np

    arr = np.array(rows, dtype=np.float64).reshape(-1, 6) if rows else np.zeros((0, 6))
    htf = BarData.from_arrays(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5],
                              b.tz, tf.nominal_ms, b.session_start_min)
    capture: dict[int, list] = {}
    sub = Script(main.program, inputs_specs=main.inputs_specs, input_values=main.input_values, symbol=main.symbol,
                 timeframe=tf.period, bars=htf, emulator=None, vectorize=True, limits=main.limits,
                 context="security", security_capture=capture)
    for k in range(len(htf)):
        sub.run_bar(k)
    vals = capture.get(site, [])
    return [vals[k] if k < len(vals) else NA for k in bucket_of]


def compile_security(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    line, col = node.span.line, node.span.col
    tf, gaps, lookahead = security_params(script, node, env)
    if len(node.args) < 3 or node.args[2] is None:
        raise PineRuntimeError("request.security: missing expression", line, col)
    site = node.site
    shift = _lookahead_shift(node) if lookahead else None
    if script.context == "security":
        if script.security_capture is None or tf.period != script.tf.period:
            return script._expr(node.args[2], env)
        # for lookahead_on with expr[n] the HTF script records expr itself; the chart side shifts by n
        capture_node = node.args[2].target if shift is not None else node.args[2]  # type: ignore[union-attr]
        expr = script._expr(capture_node, env)
        values = script.security_capture.setdefault(site, [])
        IX = script.IX
        back = shift or 0

        def capture() -> Any:
            v = expr()
            i = IX[0]
            while len(values) < i:
                values.append(NA)
            if len(values) == i:
                values.append(v)
            else:
                values[i] = v
            if back:
                return values[i - back] if i >= back else NA
            return v

        return capture
    if tf.period == script.tf.period:
        return script._expr(node.args[2], env)  # same timeframe: plain evaluation
    IX = script.IX
    if lookahead and shift is None:
        if script.bars.total is None:
            raise PineRuntimeError("request.security with lookahead_on needs future bars and cannot run "
                                   "bar by bar (live); use an expression with [1] and lookahead_off", line, col)
        vals = _lookahead_values(script, tf, site)
        return lambda: vals[IX[0]]
    feed = script._security_feeds.get(tf.period)
    if feed is None:
        feed = SecurityFeed(script, tf)
        script._security_feeds[tf.period] = feed
        script._pre_bar.append(feed.on_chart_bar)

    if shift is not None:
        def security_shifted() -> Any:
            return feed.value_shifted(site, shift)

        return security_shifted

    def security() -> Any:
        return feed.value(site, gaps)

    return security
