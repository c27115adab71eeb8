"""Backtest runs: starting (plan limits), executing as a job (progress, cancel, lease), storing results,
parameter sweeps, and the stale-run sweeper."""

from __future__ import annotations

import itertools
import logging
import math
import os
import socket
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from accounts.services import check_plan_limit
from backtests.marketdata import selectors as market
from backtests.marketdata.timeframes import UnknownTimeframe, normalize_timeframe
from fourpass.realtime import push_to_user
from strategies.models import StrategyVersion
from strategies.pine import compile_source, validate_input_overrides

from . import engine
from .models import ACTIVE_STATUSES, BacktestResult, BacktestRun, BacktestTrade, ParameterSweep, RunStatus

logger = logging.getLogger(__name__)

LEASE_SECONDS = 90  # a running job renews its heartbeat at least this often; older means the worker died
PROGRESS_INTERVAL_S = 0.3  # heartbeat + progress write + push at most this often
MAX_SWEEP_CELLS = 400


class BacktestRequestError(ValueError):
    """The request cannot start a backtest (no data, bad inputs...); the message is for the user."""


# ---------------------------------------------------------------- starting


def _count_bars(symbol: str, timeframe: str, date_from: datetime | None, date_to: datetime | None) -> int:
    """How many bars the run will process (resampled timeframes counted from their buckets)."""
    try:
        series = market.source_series_for(symbol, timeframe)
    except market.NoDataError as missing:
        raise BacktestRequestError(str(missing)) from missing
    from backtests.marketdata.models import OHLCVBar

    stored = OHLCVBar.objects.filter(series=series)
    if date_from:
        stored = stored.filter(time__gte=date_from)
    if date_to:
        stored = stored.filter(time__lte=date_to)
    count = stored.count()
    if series.timeframe != normalize_timeframe(timeframe):
        from backtests.marketdata.timeframes import parse_timeframe

        ratio = parse_timeframe(timeframe).seconds / parse_timeframe(series.timeframe).seconds
        count = math.ceil(count / max(ratio, 1))
    return count


def _check_inputs(version: StrategyVersion, inputs: dict[str, Any], compiled=None) -> dict[str, Any]:
    known = {spec.get("name") or spec.get("title") for spec in version.inputs}
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise BacktestRequestError(f"Unknown input(s): {', '.join(unknown)}.")
    compiled = compiled or compile_source(version.source)
    coerced = {}
    for spec in version.inputs:
        name = spec.get("name") or spec.get("title")
        if name not in inputs:
            continue
        coerced[name] = _coerce(spec, inputs[name])
    errors = validate_input_overrides(compiled, coerced)
    if errors:
        raise BacktestRequestError("; ".join(errors))
    return coerced


def _coerce(spec: dict, value: Any) -> Any:
    kind = spec.get("kind")
    try:
        if kind == "int" and not isinstance(value, bool):
            number = float(value)
            return int(number) if number.is_integer() else number
        if kind in ("float", "price"):
            return float(value)
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "on", "yes")
    except (TypeError, ValueError) as error:
        raise BacktestRequestError(f"Input {spec.get('title') or spec.get('name')}: '{value}' is not a number.") from error
    return value


def _declared_pine_strategy(version: StrategyVersion) -> None:
    if (version.declaration or {}).get("kind") != "strategy":
        raise BacktestRequestError(
            f"{version} is an {version.declaration.get('kind', 'unknown')}() script; only strategy() scripts can be backtested."
        )


def start_backtest(
    user: User,
    version: StrategyVersion,
    *,
    symbol: str,
    timeframe: str,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    inputs: dict[str, Any] | None = None,
    initial_capital: Decimal | None = None,
    sweep: ParameterSweep | None = None,
    enqueue: bool = True,
    _prepared: dict | None = None,
) -> BacktestRun:
    """Validate and record a run, then queue it; returns at once (the job does the work).

    Raises BacktestRequestError for bad requests and accounts.services.PlanLimitExceeded past the plan's
    bar or concurrency limits (a sweep counts as one concurrent job).
    """
    if version.strategy.owner_id != user.pk:
        raise BacktestRequestError("That strategy version is not yours.")
    _declared_pine_strategy(version)
    try:
        timeframe = normalize_timeframe(timeframe)
    except UnknownTimeframe as error:
        raise BacktestRequestError(str(error)) from error
    if date_from and date_to and date_from >= date_to:
        raise BacktestRequestError("The start date must be before the end date.")
    if initial_capital is not None and initial_capital <= 0:
        raise BacktestRequestError("Initial capital must be positive.")
    prepared = _prepared or {}
    inputs = _check_inputs(version, inputs or {}, prepared.get("compiled"))
    bars = prepared["bars"] if "bars" in prepared else _count_bars(symbol, timeframe, date_from, date_to)
    if bars == 0:
        raise BacktestRequestError(f"No {symbol} bars in the chosen date range.")
    check_plan_limit(user, "max_backtest_bars", bars)
    if sweep is None:
        active = BacktestRun.objects.filter(owner=user, status__in=ACTIVE_STATUSES, sweep__isnull=True).count()
        active_sweeps = (
            ParameterSweep.objects.filter(owner=user, runs__status__in=ACTIVE_STATUSES).distinct().count()
        )
        check_plan_limit(user, "max_concurrent_backtests", active + active_sweeps + 1)
    series = market.source_series_for(symbol, timeframe)
    run = BacktestRun.objects.create(
        owner=user,
        strategy_version=version,
        series_id=series.pk,
        sweep=sweep,
        symbol=symbol,
        timeframe=timeframe,
        date_from=date_from,
        date_to=date_to,
        inputs=inputs,
        initial_capital=initial_capital,
        bars_total=bars,
    )
    if enqueue:
        _enqueue(run)
    return run


def _enqueue(run: BacktestRun) -> None:
    from .actors import run_backtest_job

    schema = connection.schema_name
    transaction.on_commit(lambda: run_backtest_job.send(schema, run.pk))


def request_cancel(run: BacktestRun) -> BacktestRun:
    """Ask a run to stop: a queued run is cancelled at once, a running one at its next progress check."""
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.CANCELLED
            run.finished_at = timezone.now()
            run.cancel_requested = True
            run.save(update_fields=["status", "finished_at", "cancel_requested"])
        elif run.status == RunStatus.RUNNING:
            run.cancel_requested = True
            run.save(update_fields=["cancel_requested"])
    _push(run)
    return run


def rerun(user: User, run: BacktestRun) -> BacktestRun:
    return start_backtest(
        user, run.strategy_version, symbol=run.symbol, timeframe=run.timeframe, date_from=run.date_from,
        date_to=run.date_to, inputs=run.inputs, initial_capital=run.initial_capital,
    )


# ---------------------------------------------------------------- executing (the job body)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(run_id: int) -> BacktestRun | None:
    """Move a queued run to running under this worker; None when it was cancelled or already taken."""
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.QUEUED:
            return None
        now = timezone.now()
        run.status = RunStatus.RUNNING
        run.started_at = now
        run.heartbeat_at = now
        run.worker = _worker_id()
        run.bars_done = 0
        run.save(update_fields=["status", "started_at", "heartbeat_at", "worker", "bars_done"])
        return run


def _finish(run: BacktestRun, status: str, error: str = "", line: int | None = None, column: int | None = None) -> bool:
    """Record the outcome unless the sweeper already failed the run (a stale worker must not resurrect it)."""
    updated = BacktestRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=status, error=error, error_line=line, error_column=column, finished_at=timezone.now(),
        heartbeat_at=timezone.now(), bars_done=run.bars_done,
    )
    run.refresh_from_db()
    _push(run)
    return bool(updated)


def _push(run: BacktestRun) -> None:
    if run.sweep_id:
        return  # sweep cells report through the sweep page
    try:
        push_to_user(connection.schema_name, run.owner_id, "backtest.progress",
                     {"run": run.pk, "status": run.status, "done": run.bars_done, "total": run.bars_total},
                     html=lambda: render_to_string("backtests/partials/run_status.html", {"run": run, "oob": True}))
    except Exception:  # a dead channel layer must not fail the backtest itself
        logger.exception("could not push progress of run %s", run.pk)


class _Lease(RuntimeError):
    """The run was taken away from this worker (marked failed by the sweeper)."""


def execute_run(run_id: int) -> BacktestRun | None:
    """Run a queued backtest to completion: load bars, run the engine with progress/cancel, store results."""
    run = _claim(run_id)
    if run is None:
        return None
    _push(run)
    started = time.perf_counter()
    try:
        series, bars = market.load_series_bars(run.symbol, run.timeframe, run.date_from, run.date_to)
        data_hash = market.bars_hash(bars)
        _renew_lease(run)
        loaded = time.perf_counter()
        plan_bars = _plan_max_bars(run)
        if len(bars["time"]) == 0:
            _finish(run, RunStatus.FAILED, f"No {run.symbol} bars in the chosen date range.")
            return run
        state = {"last_write": 0.0}

        def progress(done: int, total: int) -> None:
            run.bars_done, run.bars_total = done, total
            now = time.monotonic()
            if now - state["last_write"] < PROGRESS_INTERVAL_S and done < total:
                return  # the engine reports every 2048 bars; the page needs a few updates a second at most
            state["last_write"] = now
            renewed = BacktestRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=run.worker).update(
                bars_done=done, bars_total=total, heartbeat_at=timezone.now()
            )
            if not renewed:
                raise _Lease()
            _push(run)

        def should_cancel() -> bool:
            return BacktestRun.objects.filter(pk=run.pk, cancel_requested=True).exists()

        result = engine.run_strategy(
            run.strategy_version.source,
            bars,
            engine.symbol_info_for(series, run.symbol),
            timeframe=run.timeframe,
            inputs=run.inputs,
            initial_capital=float(run.initial_capital) if run.initial_capital is not None else None,
            progress=progress,
            should_cancel=should_cancel,
            max_bars=plan_bars,
        )
        ran = time.perf_counter()
        _renew_lease(run)
        with transaction.atomic():
            if not BacktestRun.objects.select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING).exists():
                raise _Lease()
            store_result(run, result, bars, series_id=series.pk)
            run.data_hash = data_hash
            run.engine_version = result.engine_version
            run.bars_done = run.bars_total = result.bars_processed
            run.load_seconds = loaded - started
            run.run_seconds = ran - loaded
            run.store_seconds = time.perf_counter() - ran
            run.save(update_fields=[
                "data_hash", "engine_version", "bars_done", "bars_total", "load_seconds", "run_seconds", "store_seconds"
            ])
            _finish(run, RunStatus.SUCCEEDED)
    except engine.RunCancelled:
        _finish(run, RunStatus.CANCELLED, "Cancelled by the user.")
    except engine.EngineFailure as failure:
        _finish(run, RunStatus.FAILED, str(failure), failure.line, failure.column)
    except market.NoDataError as missing:
        _finish(run, RunStatus.FAILED, str(missing))
    except _Lease:
        logger.warning("run %s was taken over while running; dropping this worker's result", run.pk)
    except Exception as error:
        logger.exception("backtest %s crashed", run.pk)
        _finish(run, RunStatus.FAILED, f"Internal error: {error.__class__.__name__}: {error}")
    return run


def _renew_lease(run: BacktestRun) -> None:
    """Heartbeat between long phases (loading, storing); the engine's progress callback renews it while running."""
    if not BacktestRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=run.worker).update(
        heartbeat_at=timezone.now()
    ):
        raise _Lease()


def _plan_max_bars(run: BacktestRun) -> int:
    from accounts.selectors import effective_plan

    return effective_plan(run.owner).max_backtest_bars


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


TRADE_COLUMNS = (
    "run_id", "number", "direction", "entry_time", "entry_price", "entry_signal", "exit_time", "exit_price",
    "exit_signal", "quantity", "profit", "profit_percent", "run_up", "run_up_percent", "drawdown", "drawdown_percent",
    "cumulative_profit", "commission", "bars_held", "is_open",
)


def store_result(run: BacktestRun, result, bars: dict[str, np.ndarray], series_id: int | None = None) -> BacktestResult:
    """Persist a RunResult: summary, per-bar series and numeric plots (one .npz blob), trade rows (COPY)."""
    BacktestTrade.objects.filter(run=run).delete()
    BacktestResult.objects.filter(run=run).delete()
    times = np.asarray(result.times, dtype=np.int64)
    start = int(np.searchsorted(bars["time"], times[0])) if len(times) else 0
    opens = bars["open"][start : start + len(times)]
    closes = bars["close"][start : start + len(times)]
    capital = float(result.summary.get("initial_capital") or (run.initial_capital or 0) or 0)
    buy_and_hold = closes / opens[0] * capital if len(opens) and opens[0] else np.zeros(len(times))
    arrays = {
        "time": times,
        "equity": np.asarray(result.equity, dtype=np.float64),
        "drawdown": np.asarray(result.drawdown, dtype=np.float64),
        "buy_and_hold": np.asarray(buy_and_hold, dtype=np.float64),
    }
    for title, values in result.plots.items():
        array = np.asarray(values)
        if array.dtype != object:
            arrays[f"{BacktestResult.PLOT_PREFIX}{title}"] = array.astype(np.float64)
    stored = BacktestResult.objects.create(
        run=run, summary=_clean(result.summary), arrays=BacktestResult.pack(arrays), trade_count=len(result.trades)
    )
    table = BacktestTrade._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {table} ({', '.join(TRADE_COLUMNS)}) FROM STDIN"
    ) as copy:
        for t in result.trades:
            copy.write_row((
                run.pk, t.trade_num, t.direction, int(t.entry_time), float(t.entry_price), str(t.entry_signal or "")[:200],
                None if t.exit_time is None else int(t.exit_time), None if t.exit_price is None else float(t.exit_price),
                str(t.exit_signal or "")[:200], float(t.qty), float(t.profit), _finite(t.profit_pct), _finite(t.runup),
                _finite(t.runup_pct), _finite(t.drawdown), _finite(t.drawdown_pct), _finite(t.cum_profit),
                _finite(t.commission), int(t.bars_held), bool(t.is_open),
            ))
    return stored


def _finite(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


# ---------------------------------------------------------------- stale runs


def fail_stale_runs(lease_seconds: int = LEASE_SECONDS) -> list[int]:
    """Mark running jobs whose worker stopped renewing the lease as failed (worker crash, OOM kill...).

    Runs in the current schema; the periodic actor calls it for every tenant schema."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds)
    stale = list(
        BacktestRun.objects.filter(status=RunStatus.RUNNING)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
        .values_list("pk", flat=True)
    )
    failed = []
    for pk in stale:
        updated = BacktestRun.objects.filter(pk=pk, status=RunStatus.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
        ).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"The worker running this backtest stopped responding (no heartbeat for {lease_seconds} s). Run it again.",
        )
        if updated:
            failed.append(pk)
            _push(BacktestRun.objects.get(pk=pk))
    return failed


def fail_stale_runs_in_every_schema(lease_seconds: int = LEASE_SECONDS) -> dict[str, list[int]]:
    from django.conf import settings
    from django_tenants.utils import get_tenant_model, schema_context

    failed = {}
    schemas = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list("schema_name", flat=True)
    for schema_name in list(schemas):
        with schema_context(schema_name):
            failed[schema_name] = fail_stale_runs(lease_seconds)
    return failed


# ---------------------------------------------------------------- parameter sweeps


def sweep_values(spec: dict, start: Any, stop: Any, step: Any) -> list:
    """Values of one swept input from start to stop (inclusive) by step, within the input's min/max."""
    kind = spec.get("kind")
    if kind == "bool":
        return [False, True]
    if spec.get("options"):
        return list(spec["options"])
    try:
        start, stop, step = float(start), float(stop), float(step)
    except (TypeError, ValueError) as error:
        raise BacktestRequestError(f"{spec.get('title') or spec.get('name')}: from, to and step must be numbers.") from error
    if step <= 0:
        raise BacktestRequestError(f"{spec.get('title') or spec.get('name')}: the step must be positive.")
    if stop < start:
        start, stop = stop, start
    lo, hi = spec.get("minval"), spec.get("maxval")
    values = []
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 100:
        raise BacktestRequestError(f"{spec.get('title') or spec.get('name')}: more than 100 values; use a larger step.")
    for k in range(count):
        value = start + k * step
        value = round(value, 10)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            continue
        values.append(int(value) if kind == "int" else value)
    if not values:
        raise BacktestRequestError(f"{spec.get('title') or spec.get('name')}: no value lies within the input's limits.")
    return values


def start_sweep(
    user: User,
    version: StrategyVersion,
    *,
    symbol: str,
    timeframe: str,
    parameters: list[dict],
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    base_inputs: dict | None = None,
    initial_capital: Decimal | None = None,
    metric: str = "net_profit",
) -> ParameterSweep:
    """Queue one run per combination of the swept inputs' values; they run in parallel on the workers."""
    if not parameters:
        raise BacktestRequestError("Choose at least one input to sweep.")
    names = [p["name"] for p in parameters]
    if len(set(names)) != len(names):
        raise BacktestRequestError("Each input can be swept only once.")
    cells = math.prod(len(p["values"]) for p in parameters)
    if cells > MAX_SWEEP_CELLS:
        raise BacktestRequestError(f"{cells} combinations is more than {MAX_SWEEP_CELLS}; narrow the ranges.")
    active_singles = BacktestRun.objects.filter(owner=user, status__in=ACTIVE_STATUSES, sweep__isnull=True).count()
    active_sweeps = ParameterSweep.objects.filter(owner=user, runs__status__in=ACTIVE_STATUSES).distinct().count()
    check_plan_limit(user, "max_concurrent_backtests", active_singles + active_sweeps + 1)
    base_inputs = dict(base_inputs or {})
    with transaction.atomic():
        sweep = ParameterSweep.objects.create(
            owner=user, strategy_version=version, symbol=symbol, timeframe=normalize_timeframe(timeframe),
            date_from=date_from, date_to=date_to, initial_capital=initial_capital, base_inputs=base_inputs,
            parameters=parameters, metric=metric,
        )
        # every cell shares the data range and the program: count and compile once, not once per cell
        prepared = {
            "bars": _count_bars(symbol, timeframe, date_from, date_to),
            "compiled": compile_source(version.source),
        }
        for combination in itertools.product(*(p["values"] for p in parameters)):
            inputs = {**base_inputs, **dict(zip(names, combination, strict=True))}
            start_backtest(
                user, version, symbol=symbol, timeframe=timeframe, date_from=date_from, date_to=date_to,
                inputs=inputs, initial_capital=initial_capital, sweep=sweep, _prepared=prepared,
            )
    return sweep
